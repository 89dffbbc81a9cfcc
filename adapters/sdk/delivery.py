"""The delivery tracker: what each caller waits for, resolved from delivery reports.

A call that wants its events' outcomes (``Publisher.publish_many_acked``) gets a
:class:`Waiter` of its own. Delivery reports resolve it from whichever thread
serves them; the waiting thread only waits on its own waiter, never on a lock
held across a broker round trip, so concurrent calls each return when their own
events are done. ``Waiter(on_done=...)`` is called once, on the resolving
thread, when the last event is resolved: an asyncio caller resolves a future
from it with ``loop.call_soon_threadsafe``.

The tracker also keeps what came back from the broker for the publisher to act
on: records to take back into the spool (retriable failures), errors of records
refused for good (raised by the next ``flush``), and the counts behind
acknowledgements that are never reported one by one (failure-only reports).

Reports may arrive at any time, also after the publisher closed: resolving a
waiter twice, or one nobody waits for any more, does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from confluent_kafka import KafkaError

from adapters.metrics import ACKED, FAILED, SPOOLED
from adapters.sdk.exceptions import PublishFailedError
from adapters.spool import SpoolRecord
from schemas.cloudevents import HEADER_ID, header_text

log = logging.getLogger("egov.adapters.publisher")

__all__ = ["ACKED", "SPOOLED", "FAILED", "PublishResult", "Waiter", "TakenBack", "DeliveryTracker", "retriable"]

# Errors that mean the record itself can never be accepted: spooling it would
# block its region forever. Everything else (timeouts, purges, lost brokers,
# leader changes, a fenced idempotent producer) is worth retrying from the spool.
RECORD_ERRORS = frozenset(
    code
    for code in (
        getattr(KafkaError, name, None)
        for name in (
            "MSG_SIZE_TOO_LARGE",
            "_MSG_SIZE_TOO_LARGE",
            "INVALID_RECORD",
            "CORRUPT_MESSAGE",
            "TOPIC_AUTHORIZATION_FAILED",
            "INVALID_TOPIC_EXCEPTION",
            "POLICY_VIOLATION",
            "_INVALID_ARG",
        )
    )
    if code is not None
)


def retriable(err: KafkaError | None) -> bool:
    """False for an error that refuses the record for good (``err=None``: no error code known, retry)."""
    return err is None or err.code() not in RECORD_ERRORS


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What happened to one event handed to :meth:`Publisher.publish_many_acked`."""

    event_id: str
    outcome: str  # acked | spooled | failed
    error: str | None = None


class Waiter:
    """The outcomes of one call's events; :meth:`resolve` may run on any thread.

    ``results[i]`` is ``None`` until event ``i`` is resolved; ``done`` is set
    when every event is. The first outcome of an event wins.
    """

    __slots__ = ("event_ids", "results", "left", "done", "_lock", "_on_done")

    def __init__(self, event_ids: Sequence[str], on_done: Callable[["Waiter"], None] | None = None) -> None:
        self.event_ids = list(event_ids)
        self.results: list[PublishResult | None] = [None] * len(self.event_ids)
        self.left = len(self.event_ids)
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._on_done = on_done
        if not self.event_ids:
            self._finish()

    def resolve(self, index: int, outcome: str, error: str | None = None) -> None:
        """Record event ``index``'s outcome (ignored if it already has one)."""
        with self._lock:
            if self.results[index] is not None:
                return
            self.results[index] = PublishResult(self.event_ids[index], outcome, error)
            self.left -= 1
            last = self.left == 0
        if last:
            self._finish()

    def resolve_rest(self, outcome: str) -> None:
        """Every event not resolved yet gets ``outcome`` (the queue emptied without reporting them)."""
        with self._lock:
            if self.left == 0:
                return
            for index, result in enumerate(self.results):
                if result is None:
                    self.results[index] = PublishResult(self.event_ids[index], outcome)
            self.left = 0
        self._finish()

    def wait(self, timeout: float | None) -> bool:
        """Wait until every event is resolved; True if they are."""
        return self.done.wait(timeout)

    def _finish(self) -> None:
        # Outside the lock: the callback may take its own locks (an event loop's).
        self.done.set()
        if self._on_done is not None:
            self._on_done(self)


class TakenBack(NamedTuple):
    """A record that came back from a retriable failure, to be spooled under a new sequence number."""

    record: SpoolRecord
    waiter: Waiter | None
    index: int
    codec: Any  # EventCodec: its counters


class DeliveryTracker:
    """Reports in, outcomes out: waiters, records to take back, errors, implicit acknowledgements.

    One lock over the lists below; it is held for list operations only,
    never while waiting or producing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken_back: list[TakenBack] = []
        self._in_hand = 0  # taken back, handed to spool_taken_back, not settled yet
        self._errors: list[PublishFailedError] = []
        # Waiters whose records were produced without a report of success: resolved by settle().
        self._implicit: list[Waiter] = []

    # -- waiters --------------------------------------------------------------------------

    @staticmethod
    def waiter(event_ids: Sequence[str], on_done: Callable[[Waiter], None] | None = None) -> Waiter:
        """A new waiter for one call's events."""
        return Waiter(event_ids, on_done)

    # -- outcomes -------------------------------------------------------------------------

    def acked(self, codec: Any, waiter: Waiter | None, index: int) -> None:
        """The broker acknowledged a record that was produced with its own report."""
        if waiter is not None:
            waiter.resolve(index, ACKED)
        codec.acked.inc()

    def take_back(self, item: TakenBack) -> None:
        """A record failed retriably: keep it until the publisher spools it (:meth:`spool_taken_back`)."""
        with self._lock:
            self._taken_back.append(item)

    def pending_take_backs(self) -> int:
        """Records taken back whose outcome is not settled yet (they go ahead of anything spooled later)."""
        return len(self._taken_back) + self._in_hand

    def spool_taken_back(self, put: Callable[[list[SpoolRecord]], Any]) -> int:
        """Write the records taken back so far with ``put`` (one transaction), in report order.

        Their callers hear ``spooled``; if ``put`` raises (disk full, spool
        closed, anything) they hear ``failed`` with the reason, which the next
        ``flush`` raises too: the events are lost, so they must be reported.
        Until then they count as pending, so nobody takes the emptied list for
        "every report handled". Returns how many were handled.
        """
        if not self._taken_back:
            return 0
        with self._lock:
            batch, self._taken_back = self._taken_back, []
            self._in_hand += len(batch)
        try:
            try:
                put([item.record for item in batch])
            except Exception as exc:  # noqa: BLE001 - reported per event below, not swallowed
                for item in batch:
                    self.failed(item.codec, item.waiter, item.index, header_text(item.record.headers, HEADER_ID),
                                f"could not spool after a failed send: {exc}")
                return len(batch)
            for item in batch:
                item.codec.spooled.inc()
                if item.waiter is not None:
                    item.waiter.resolve(item.index, SPOOLED)
            return len(batch)
        finally:
            with self._lock:
                self._in_hand -= len(batch)

    def spooled(self, items: Iterable[tuple[Any, Waiter | None, int]]) -> None:
        """``(codec, waiter, index)`` of new records written to the spool."""
        for codec, waiter, index in items:
            codec.spooled.inc()
            if waiter is not None:
                waiter.resolve(index, SPOOLED)

    def failed(self, codec: Any, waiter: Waiter | None, index: int, event_id: str | None, reason: str) -> None:
        """A record was refused for good (or could not be spooled): counted, logged, raised by ``flush``."""
        codec.failed.inc()
        name = codec.event_type.name
        log.error("event %s (%s) not published: %s", event_id, name, reason)
        error = PublishFailedError(f"event {event_id} ({name}) not published: {reason}",
                                   event_id=event_id, event_type=name)
        with self._lock:
            self._errors.append(error)
        if waiter is not None:
            waiter.resolve(index, FAILED, reason)

    def pop_error(self) -> PublishFailedError | None:
        """The first error since the last call, with ``count`` of all of them; ``None`` if there were none."""
        if not self._errors:
            return None
        with self._lock:
            errors, self._errors = self._errors, []
        first = errors[0]
        first.fields["count"] = len(errors)
        return first

    # -- acknowledgements that are never reported (failure-only reports) -------------------

    def expect_implicit(self, waiter: Waiter) -> None:
        """``waiter``'s records are all produced, and success is not reported: :meth:`settle` acks the rest."""
        with self._lock:
            self._implicit.append(waiter)

    def report_failed(self, codec: Any) -> None:
        """A failure report of a record produced without its own report: not an implicit ack."""
        with self._lock:
            codec.failed_unsettled += 1

    def settle(self, codecs: Iterable[Any]) -> None:
        """Count what the producer sent since the last settle as acknowledged, minus what was reported failed.

        Call only when the producer's queue is empty and no taken-back record
        is pending, with the publishing side held off (the caller's send lock):
        everything produced before that moment has had its report, so the
        events of :meth:`expect_implicit` waiters that are not resolved yet
        were acknowledged. ``codec.unsettled`` is counted up on the publishing
        hot path.
        """
        with self._lock:
            for codec in codecs:
                acked = codec.unsettled - codec.failed_unsettled
                if acked > 0:
                    codec.acked.inc(acked)
                codec.unsettled = codec.failed_unsettled = 0
            waiters, self._implicit = self._implicit, []
        for waiter in waiters:  # outside the lock: on_done callbacks
            waiter.resolve_rest(ACKED)
