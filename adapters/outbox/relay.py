"""The relay loop: read unsent outbox rows in order, publish, mark sent after the ack.

At-least-once: a row is marked sent only after the broker acknowledged its
event, so a crash between the ack and the mark re-sends that row after the
restart, with the same ``event_id`` (consumers drop the duplicate). A row that
is not a valid event is marked rejected with the reason (it stays in the
table, visible, and counts in ``egov_outbox_rows_relayed_total{outcome="invalid"}``);
the rows after it go on.

A failed batch (broker or database trouble) is tried again after a delay of the
one retry policy (:mod:`bus.retry`: exponential, full jitter, capped), so the
relays of many regions that lost the cluster together do not come back in lockstep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.metrics import OUTBOX_RELAYED
from adapters.outbox.sources import OutboxRow, OutboxSource
from adapters.sdk import ACKED, Publisher
from bus.errors import EgovBusError
from bus.retry import RetryPolicy

log = logging.getLogger("egov.adapters.outbox")


@dataclass
class RelayStats:
    """What the relay did so far."""

    sent: int = 0
    invalid: int = 0
    failed_attempts: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


class OutboxRelay:
    """Moves rows of one outbox table onto the bus.

    ``publisher`` should be created with ``spool=None`` (the outbox table is
    the durable buffer; a spooled event would be marked sent before the broker
    had it) and ``confirm=True`` (per-event acknowledgements).

    After a failed batch :meth:`run` waits a delay of ``retry`` (default: from
    ``poll_interval_s`` doubling up to ``max_backoff_s``, full jitter) and tries
    the same rows again; a successful batch starts the delays over.
    """

    def __init__(
        self,
        source: OutboxSource,
        publisher: Publisher,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        ack_timeout_s: float | None = None,
        max_backoff_s: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        if publisher.spool is not None:
            raise EgovBusError("the outbox relay needs a publisher without spool (spool=None)")
        self.source = source
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.ack_timeout_s = ack_timeout_s
        self.max_backoff_s = max_backoff_s
        self.retry = retry or RetryPolicy(initial_s=poll_interval_s, cap_s=max(max_backoff_s, poll_interval_s))
        self.stats = RelayStats()

    def relay_once(self) -> int:
        """Relay one batch; returns the rows handled (sent or rejected). Raises on publish failures."""
        rows = self.source.fetch(self.batch_size)
        if not rows:
            return 0
        self.stats.batches += 1
        events = []
        valid_rows: list[OutboxRow] = []
        for row in rows:
            try:
                events.append(self._event(row))
                valid_rows.append(row)
            except EgovBusError as exc:
                self.source.mark_rejected(row.id, str(exc))
                self.stats.invalid += 1
                OUTBOX_RELAYED.labels("invalid").inc()
                log.error("outbox row %s (%s) rejected: %s", row.id, row.event_type, exc)
        if not events:
            return len(rows)
        results = self.publisher.publish_many_acked(events, timeout=self.ack_timeout_s)
        sent = [row.id for row, result in zip(valid_rows, results) if result.outcome == ACKED]
        failed = [(row, result) for row, result in zip(valid_rows, results) if result.outcome != ACKED]
        self.source.mark_sent(sent)
        self.stats.sent += len(sent)
        if sent:
            OUTBOX_RELAYED.labels("sent").inc(len(sent))
        if failed:
            reason = failed[0][1].error or failed[0][1].outcome
            self.source.record_failure([row.id for row, _ in failed], reason)
            self.stats.failed_attempts += len(failed)
            OUTBOX_RELAYED.labels("failed").inc(len(failed))
            raise EgovBusError(
                f"{len(failed)} of {len(valid_rows)} outbox rows not acknowledged (will retry): {reason}",
                failed=len(failed),
            )
        return len(rows)

    def _event(self, row: OutboxRow):
        if not isinstance(row.payload, dict):
            raise EgovBusError(f"payload is not a JSON object but {type(row.payload).__name__}")
        return self.publisher.build(
            row.event_type,
            row.payload,
            region_code=row.region_code,
            source_system=row.source_system,
            occurred_at=row.occurred_at,
            event_id=row.event_id,
        )

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        exit_when_empty: bool = False,
        on_batch: Callable[[RelayStats], None] | None = None,
    ) -> RelayStats:
        """Relay until ``stop`` is set (or, with ``exit_when_empty``, until no row is pending)."""
        stop = stop or threading.Event()
        backoff = self.retry.backoff()
        while not stop.is_set():
            try:
                handled = self.relay_once()
                backoff.reset()
            except EgovBusError as exc:
                # Broker or database trouble: wait and retry the same rows (they are still unsent).
                self.stats.errors.append(str(exc))
                del self.stats.errors[:-20]
                delay = backoff.next_delay()
                log.warning("outbox relay: %s; retrying in %.1fs", exc, delay)
                stop.wait(delay)  # an Event, not a sleep: a stop request ends the wait at once
                continue
            if on_batch is not None:
                on_batch(self.stats)
            if handled == 0:
                if exit_when_empty:
                    break
                stop.wait(self.poll_interval_s)
        return self.stats

