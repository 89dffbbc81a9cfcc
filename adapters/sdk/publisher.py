"""The publisher SDK: typed events in, acknowledged (or durably spooled) records out.

Delivery model
--------------
Every accepted event gets a sequence number. While the link to the broker is
healthy, events go straight to an idempotent ``acks=all`` producer (DIRECT).
When a send fails retriably, or librdkafka reports that every broker is down,
the publisher switches to SPOOLING: new events are written to the SQLite
spool, behind sequence numbers reserved for the records still in the
producer. Those are not purged (one the broker wrote may have lost only its
acknowledgement): the producer retries them until the delivery timeout
(``EGOV_DELIVERY_TIMEOUT_S``, 300 s); when one fails, it and everything behind
it are spooled in their reserved places. A background thread waits until nothing is in flight, drains
the spool oldest-first and switches back to DIRECT once it is empty, so the
events of one region keep their order across an outage. What is in the spool
is on disk: after a crash, the next publisher on the same spool file sends it.

The parts
---------
:class:`Publisher` wires four classes with one job each:
:class:`~adapters.sdk.builder.EventBuilder` (fields -> validated,
pseudonymized, encoded record), :class:`~adapters.sdk.delivery.DeliveryTracker`
(what each caller waits for), :class:`~adapters.sdk.forwarder.SpoolForwarder`
(replays the spool) and :class:`~adapters.sdk.mode.ModeController` (direct or
spooling; its transitions are plain functions). What stays here is the direct
producer and its hot path, and the background loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from confluent_kafka import KafkaException

from adapters.privacy import Pseudonymizer
from adapters.sdk.signer import BatchSigner
from adapters.sdk.builder import EventBuilder
from adapters.sdk.codec import EventCodec
from adapters.sdk.delivery import ACKED, FAILED, SPOOLED, DeliveryTracker, PublishResult, Waiter
from adapters.sdk.direct import DirectSender
from adapters.sdk.exceptions import PublisherClosedError, PublishTimeoutError
from adapters.sdk.forwarder import SpoolForwarder
from adapters.sdk.mode import Action, Close, DrainRequested, Forwarded, ModeController, SpoolClosed
from adapters.spool import Spool
from bus.kafka import EgovProducer
from bus.retry import RetryPolicy
from schemas import EventType
from schemas.base import EventModel

log = logging.getLogger("egov.adapters.publisher")

__all__ = ["Publisher", "PublishResult", "ACKED", "SPOOLED", "FAILED"]

_PUMP_INTERVAL_S = 0.05
# How long the reports thread blocks in one poll when nothing arrives; a report wakes it at once.
# Short, because others (flush, a full queue) wait for the poll lock meanwhile.
_REPORTS_POLL_S = 0.05

#: ``factory(error_cb, **librdkafka config) -> producer``: a confluent-kafka ``Producer`` or a fake of one.
ProducerFactory = Callable[..., Any]


class Publisher:
    """Publishes typed events of :mod:`schemas.models` to their theme topics.

    ``publish``/``publish_many`` return the event ids once the events are
    queued; ``publish_acked``/``publish_many_acked`` return a
    :class:`PublishResult` per event once each is acknowledged by the broker,
    durably spooled or refused (that is what the HTTP gateway does before its
    202). ``flush`` waits for everything accepted so far; ``close`` flushes,
    stops the drainer and keeps what is still spooled on disk for the next run.

    Parameters worth knowing: ``component`` names the spool file
    (``<settings.spool_dir>/<component>.sqlite``); ``spool=None`` turns
    store-and-forward off (the outbox relay, whose table is its own spool);
    ``topic_for`` maps an :class:`~schemas.EventType` to a topic (tests
    redirect to private topics). ``confirm=True`` asks librdkafka for a report
    per event, so that concurrent acked calls each return as soon as their own
    events are done (servers: the gateway, the outbox relay); the default
    reports failures only, which is faster, and an acked call then returns when
    the producer's whole queue is empty. With ``confirm=True`` a thread of its
    own serves the reports as they arrive (blocked in librdkafka's poll, woken
    by each report), so a caller of :meth:`submit` hears of its events within
    about a broker round trip and no caller has to wait in a thread for it to
    happen. The broker probe backs off from
    ``probe_interval_s`` up to ``max_backoff_s`` (:mod:`bus.retry`: full
    jitter). ``producer_factory`` replaces the confluent-kafka producers (tests).
    """

    def __init__(
        self,
        settings: Any,
        *,
        source_system: str = "egov-bus",
        component: str = "publisher",
        spool: Spool | None | str = "default",
        registry: Any = None,
        pseudonymizer: Pseudonymizer | None = None,
        auto_register: bool | None = None,
        topic_for: Any = None,
        confirm: bool = False,
        drain_batch: int = 1000,
        probe_interval_s: float = 1.0,
        max_backoff_s: float = 30.0,
        producer_overrides: Mapping[str, Any] | None = None,
        producer_factory: ProducerFactory | None = None,
        signer: BatchSigner | None | str = "settings",
    ) -> None:
        self._settings = settings
        #: Signs every batch with the key of the region its events speak for (None: unsigned).
        self.signer: BatchSigner | None = BatchSigner.from_settings(settings) if signer == "settings" else signer  # type: ignore[assignment]
        #: Builds and encodes events; usable on its own (no producer needed).
        self.builder = EventBuilder(settings, source_system=source_system, registry=registry,
                                    pseudonymizer=pseudonymizer, auto_register=auto_register, topic_for=topic_for)
        if spool == "default":
            spool = Spool(Path(settings.spool_dir) / f"{component}.sqlite", settings.spool_max_events,
                          min_free_bytes=settings.spool_min_free_mb << 20)
        self._spool: Spool | None = spool  # type: ignore[assignment]
        self._tracker = DeliveryTracker()
        self._mode = ModeController(
            spool=self._spool is not None, spooling=bool(self._spool is not None and self._spool.depth),
            policy=RetryPolicy(initial_s=probe_interval_s, cap_s=max(max_backoff_s, probe_interval_s),
                               floor_s=min(_PUMP_INTERVAL_S, probe_interval_s)),
        )
        make = producer_factory or (lambda error_cb, **conf: EgovProducer(settings, error_cb=error_cb, **conf).raw)
        overrides = dict(producer_overrides or {})
        # Sequence numbers only grow, also across restarts: spooled leftovers go first.
        start = max((self._spool.max_seq + 1) if self._spool else 0, time.time_ns() // 1000)
        self._direct = DirectSender(settings, make, builder=self.builder, tracker=self._tracker, mode=self._mode,
                                    spool=self._spool, confirm=confirm, signer=self.signer,
                                    next_seq=iter(range(start, 1 << 62)).__next__, overrides=overrides)
        self._forwarder = None if self._spool is None else SpoolForwarder(
            self._spool, lambda error_cb: make(error_cb, **overrides), batch=drain_batch,
            metadata_timeout_s=min(2.0, settings.request_timeout_s), delivery_timeout_s=settings.delivery_timeout_s,
        )
        self._stop = threading.Event()
        self._pump = threading.Thread(target=self._run, name=f"egov-publisher-{component}", daemon=True)
        # Servers only: the streaming hot path (failure-only reports) has nobody to answer promptly.
        self._reports = threading.Thread(target=self._direct.serve_reports, args=(self._stop, _REPORTS_POLL_S),
                                         name=f"egov-reports-{component}", daemon=True) if confirm else None
        self._pump.start()
        if self._reports is not None:
            self._reports.start()

    # -- building events (the builder's) ----------------------------------------------------

    @property
    def source_system(self) -> str:
        """The envelope's default ``source_system``."""
        return self.builder.source_system

    def codec(self, event_type: EventType | str) -> EventCodec:
        """The (cached) codec of an event type; registers/looks up its schema on first use."""
        return self.builder.codec(event_type)

    def warm(self, event_types: Iterable[EventType | str]) -> None:
        """Prepare codecs (and registry ids) now, so the first events do not wait on the registry."""
        self.builder.warm(event_types)

    def build(self, event_type: EventType | str, fields: Mapping[str, Any], *, region_code: str | None = None,
              source_system: str | None = None, occurred_at: datetime | str | None = None,
              event_id: str | None = None) -> EventModel:
        """A validated typed event from plain fields: :meth:`EventBuilder.build`."""
        return self.builder.build(event_type, fields, region_code=region_code, source_system=source_system,
                                  occurred_at=occurred_at, event_id=event_id)

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, event: EventModel, *, traceparent: str | None = None) -> str:
        """Queue one typed event; returns its ``event_id``."""
        return self.publish_many([event], traceparents=[traceparent] if traceparent else None)[0]

    def publish_acked(self, event: EventModel, *, timeout: float | None = None,
                      traceparent: str | None = None) -> PublishResult:
        """Publish one typed event and wait: its :class:`PublishResult` (acked, spooled or failed)."""
        return self.publish_many_acked([event], timeout=timeout, traceparents=[traceparent] if traceparent else None)[0]

    def publish_many(self, events: Iterable[EventModel], *, traceparents: Sequence[str | None] | None = None,
                     ) -> list[str]:
        """Queue typed events in order; returns their event ids without waiting.

        Events stream out one by one: an invalid one (raw NIK in a text field,
        value outside its Avro type) raises after the events before it were
        queued. Refusals show in the next :meth:`flush`.
        """
        if self._mode.state.closed:
            raise PublisherClosedError("publisher is closed")
        return self._direct.stream(events, traceparents)

    def publish_many_acked(self, events: Iterable[EventModel], *, timeout: float | None = None,
                           traceparents: Sequence[str | None] | None = None) -> list[PublishResult]:
        """Publish typed events in order and wait: one :class:`PublishResult` per event.

        Every event is encoded before any is sent, so an invalid one raises
        without publishing any. Returns once each event is acknowledged,
        spooled or refused (``failed``, with the broker's reason); raises
        :class:`PublishTimeoutError` if that takes longer than ``timeout``
        (default: the delivery timeout plus 10 s).
        """
        waiter = self.submit(events, traceparents=traceparents)
        self._wait(waiter, timeout)
        return list(waiter.results)  # type: ignore[arg-type]

    def submit(self, events: Iterable[EventModel], *, traceparents: Sequence[str | None] | None = None,
               on_done: Callable[[Waiter], None] | None = None) -> Waiter:
        """Encode and send events without waiting; their :class:`Waiter` resolves as reports arrive.

        ``on_done(waiter)`` runs once, on the thread that resolves the last
        event (a delivery report, or the background loop): an asyncio caller
        completes a future from it. :meth:`publish_many_acked` is ``submit``
        plus waiting in the calling thread.
        """
        if self._mode.state.closed:
            raise PublisherClosedError("publisher is closed")
        codec_of = self.builder.codec_of
        encoded = []
        for index, event in enumerate(events):
            codec = codec_of(event)
            key, value, headers = codec.encode_record(event, traceparents[index] if traceparents else None)
            encoded.append((codec, key, value, headers))
        if self.signer is not None and encoded:
            self.signer.sign(encoded)
        waiter = self._tracker.waiter([item[3][0][1] for item in encoded], on_done)
        self._direct.send(encoded, waiter)
        return waiter

    # -- the background loop: reports, probes, the forwarder -----------------------------------

    def _run(self) -> None:
        direct = self._direct
        while not self._stop.wait(_PUMP_INTERVAL_S):
            try:
                # Serve reports in batches: polling with a timeout here would wake this thread
                # for every report and fight the publishing thread for the GIL. With a reports
                # thread, it serves them (and the errors that change the mode).
                if self._reports is None:
                    direct.poll()
                direct.settle(blocking=False)
                if not self._mode.direct and not self._mode.state.closed:
                    self._probe()
            except Exception:  # the loop must survive anything; logged, and the next round retries
                log.exception("publisher background loop error")
                self._stop.wait(1.0)

    def _probe(self) -> None:
        assert self._spool is not None and self._forwarder is not None
        direct = self._direct
        # Decide under the send lock: no new event is spooled or sent while the mode may change.
        if not direct.send_lock.acquire(timeout=0.5):
            return
        try:
            actions = self._mode.tick(in_flight=len(direct.raw), taken_back=self._tracker.pending_take_backs(),
                                      spool_depth=self._spool.depth)
            if Action.RESERVE_AHEAD in actions:
                direct.reserve_ahead()
        finally:
            direct.send_lock.release()
        if Action.RESET_BACKOFF in actions:
            direct.lost_said = False
            log.info("spool empty: publishing directly again")
        if Action.FORWARD in actions:
            complete = False
            try:
                complete = self._forwarder.forward(self._stop).complete
            finally:
                self._mode.handle(Forwarded(complete))

    @property
    def ack_timeout_s(self) -> float:
        """The default wait of an acked call: the delivery timeout plus 10 s (by then each event
        was acknowledged, refused, or came back failed and was spooled)."""
        return self._settings.delivery_timeout_s + 10

    def _wait(self, waiter: Waiter, timeout: float | None) -> None:
        timeout = self.ack_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not waiter.done.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublishTimeoutError(
                    f"{waiter.left} of {len(waiter.results)} events neither acknowledged nor spooled within {timeout}s",
                    pending=waiter.left,
                )
            # Serve reports here rather than waiting for the loop: lower latency.
            self._direct.serve(waiter, min(0.05, left))

    # -- state, flush, close -----------------------------------------------------------------

    @property
    def mode(self) -> str:
        """``direct`` or ``spooling``."""
        return self._mode.mode.value

    @property
    def closed(self) -> bool:
        """True once :meth:`close` began: new events are refused."""
        return self._mode.state.closed

    @property
    def spool(self) -> Spool | None:
        """The store-and-forward spool (``None``: off)."""
        return self._spool

    def in_flight(self) -> int:
        """Records handed to librdkafka and not yet reported."""
        return len(self._direct.raw)

    def broker_reachable(self, timeout: float = 2.0) -> bool:
        """True if a broker answers a metadata request within ``timeout``."""
        try:
            self._direct.raw.list_topics(timeout=timeout)
            return True
        except KafkaException:
            return False

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every accepted event is acknowledged or spooled.

        Raises :class:`PublishFailedError` (with ``count``) if events were
        refused since the last flush, :class:`PublishTimeoutError` if records
        are still in flight after ``timeout``.
        """
        timeout = self._settings.delivery_timeout_s + 5 if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            remaining = self._direct.flush(max(0.0, min(1.0, deadline - time.monotonic())))
            if remaining == 0 and self._direct.idle():
                self._direct.settle()
                break
            if time.monotonic() >= deadline:
                raise PublishTimeoutError(f"{remaining} record(s) still in flight after {timeout}s",
                                          pending=remaining)
        error = self._tracker.pop_error()
        if error is not None:
            raise error

    def drain(self, timeout: float) -> int:
        """Try to empty the spool within ``timeout``; returns the events still spooled."""
        if self._spool is None:
            return 0
        deadline = time.monotonic() + timeout
        asked = 0.0
        while self._spool.depth and time.monotonic() < deadline:
            # Direct: spooled leftovers while new events flow directly. Spooling: probe now, not after
            # the backoff (asked once a second, so a cluster still away is not probed in a tight loop).
            if self._mode.direct or time.monotonic() - asked >= 1.0:
                self._mode.handle(DrainRequested())
                asked = time.monotonic()
            self._stop.wait(0.05)  # the background loop forwards; look again then
        return self._spool.depth

    def close(self, timeout: float | None = None, drain_timeout: float = 0.0) -> None:
        """Flush, optionally drain the spool, stop the loop; spooled events stay on disk.

        With a spool the flush waits up to ``timeout`` (default: the request timeout) and what is
        still unacknowledged then is spooled for the next run, not lost (one the broker did write
        is sent again; the centre drops the copy by ``event_id``). Without one it waits up to the
        delivery timeout and raises :class:`PublishTimeoutError` for what is left.
        """
        if self._mode.state.closed:
            return
        try:
            if drain_timeout > 0:
                self.drain(drain_timeout)
            if self._spool is None:
                self.flush(timeout)
            else:
                try:
                    self.flush(self._settings.request_timeout_s if timeout is None else timeout)
                except PublishTimeoutError as exc:
                    log.warning("%s at close: they are spooled for the next run", exc)
        finally:
            actions = self._mode.handle(Close())
            self._stop.set()  # also interrupts a forward batch
            self._pump.join(timeout=5)
            if self._reports is not None:
                self._reports.join(timeout=5)
            if Action.PURGE_DIRECT in actions:
                self._direct.close()  # records still queued after a timed-out flush are spooled, not lost
            if self._forwarder is not None:
                self._forwarder.close()  # its records were never deleted from the spool
            if self._spool is not None:
                self._spool.close()
                self._mode.handle(SpoolClosed())

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
