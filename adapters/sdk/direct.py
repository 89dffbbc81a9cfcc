"""The direct path: new events in acceptance order, to the producer or behind the spool.

:class:`DirectSender` owns the direct producer. It sends new events while the
mode is DIRECT and writes them to the spool behind everything already there
when it is not (:func:`adapters.sdk.mode.on_accept` decides), and it turns the
producer's delivery reports into outcomes (:class:`DeliveryTracker`) and mode
events (:class:`ModeController`): a retriable failure takes the record back
into the spool, in report order.

A lost link purges nothing: before a new event is spooled, what is still in
the producer gets sequence numbers reserved ahead of it
(:meth:`DirectSender.reserve_ahead`), and the producer keeps retrying those
records (idempotently: a broker writes each once). Only when one comes back
failed (the cluster stayed away past the delivery timeout) is the rest taken
back behind it, so that nothing overtakes it; each takes the next reserved
number and is forwarded before the new events, in per-partition order.

Two locks, each with one job: the send lock is held while new events are
produced or spooled (their order is their acceptance order); the poll lock
lets one thread at a time serve the producer's reports (failures get their
sequence numbers in report order, which is the per-partition order). Report
callbacks never take the send lock.
"""

from __future__ import annotations

import collections
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from adapters.sdk.builder import EventBuilder
from adapters.sdk.codec import EventCodec
from adapters.sdk.delivery import ACKED, DeliveryTracker, TakenBack, Waiter, retriable
from adapters.sdk.exceptions import PublisherClosedError, PublishTimeoutError
from adapters.sdk.mode import Accept, Action, BrokerLost, ModeController, SendFailed
from adapters.sdk.signer import BatchSigner
from adapters.spool import Spool, SpoolRecord
from bus.kafka import connectivity

log = logging.getLogger("egov.adapters.publisher")

_CHUNK = 256  # new events per spool transaction while spooling
_PURGED = (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT)  # reports of records this sender took back


#: Events per signature on the streaming path: one Ed25519 signature (~40 us) per this many records.
SIGN_BATCH = 512

class DirectSender:
    """Sends new events and serves the direct producer's reports (see the module doc).

    ``make_producer(error_cb, **config)`` builds the producer; ``confirm``
    asks for a report per record (else failures only, and an empty queue is
    the confirmation of the rest); ``next_seq`` numbers spooled records.
    """

    def __init__(self, settings: Any, make_producer: Callable[..., Any], *, builder: EventBuilder,
                 tracker: DeliveryTracker, mode: ModeController, spool: Spool | None, confirm: bool,
                 next_seq: Callable[[], int], overrides: dict[str, Any] | None = None,
                 signer: BatchSigner | None = None) -> None:
        self.lost_said = False  # the outage was logged (once, until the publisher is direct again)
        self._settings = settings
        self._signer = signer
        self._builder = builder
        self._tracker = tracker
        self._mode = mode
        self._spool = spool
        self._confirm = confirm
        self._seq = next_seq
        conf = dict(overrides or {})
        if not confirm:
            # Failures only, through one producer-wide callback: a success costs no Python
            # object and no call (a per-record callback object kept alive until its report
            # costs ~5 us per event, see docs/benchmarks.md); an empty queue is the confirmation.
            conf.setdefault("delivery.report.only.error", True)
            conf.setdefault("on_delivery", self._failure_report)
        self.raw = make_producer(self._on_error, **conf)
        self.poll_lock = threading.Lock()
        self.send_lock = threading.RLock()
        # Set by the first record back failed (or a lost link without a spool): the next poller purges.
        self._purge = threading.Event()
        # Sequence numbers held for the records in the producer when new events were spooled behind
        # them, lowest first: one that fails later takes the next (reports of a partition come in
        # produce order). Appended under the send lock, taken under the mode lock (deque: atomic).
        self._ahead: collections.deque[int] = collections.deque()
        # librdkafka's "all brokers down" means every broker it was connected to: in a cluster that
        # can be the one node that led this publisher's partitions while the others serve. The next
        # poller asks the cluster before taking it for an outage (see after_poll).
        self._lost_suspected = threading.Event()
        self._lost_reason = ""
        # The broker refused this principal for good (a fatal authorization error of the producer):
        # what fails from now on is failed, not spooled, since no retry can succeed.
        self.refusal: str | None = None

    # -- sending ------------------------------------------------------------------------------

    def stream(self, events: Iterable[Any], traceparents: Sequence[str | None] | None) -> list[str]:
        """Encode and send events one at a time; returns their ids (the hot path of ``publish_many``)."""
        if self._signer is not None:
            return self._stream_signed(events, traceparents)
        # Nothing kept per event except its id (objects kept per event would survive into older
        # GC generations and get rescanned). It inlines on_accept's DIRECT row; anything else
        # goes through send().
        codecs = self._builder.codecs
        codec_of = self._builder.codec_of
        produce = self.raw.produce
        confirm = self._confirm
        delivered = self._delivered
        mode = self._mode
        event_ids: list[str] = []
        append = event_ids.append
        iterator = iter(enumerate(events))
        with self.send_lock:
            for index, event in iterator:
                codec = codecs.get(event.__class__) or codec_of(event)
                key, value, headers = codec.encode_record(event, traceparents[index] if traceparents else None)
                append(headers[0][1])
                if not mode.direct:
                    self.send([(codec, key, value, headers)], None)
                    break
                callback = functools.partial(delivered, codec, None, 0, headers) if confirm else None
                try:
                    # Positional (measurably cheaper than keywords): topic, value, key, partition,
                    # callback, on_delivery (alias), timestamp (0: now), headers.
                    produce(codec.topic, value, key, -1, callback, None, 0, headers)
                except BufferError:
                    self._produce_when_room(codec, key, value, headers, callback)
                except KafkaException as exc:
                    self._refused(exc, codec, key, value, headers, None, 0)
                    continue
                if not confirm:
                    codec.unsettled += 1
            else:
                return event_ids
        # Spooling: the rest goes in chunks (one spool transaction each, or direct again).
        chunk: list[tuple] = []
        for index, event in iterator:
            codec = codecs.get(event.__class__) or codec_of(event)
            key, value, headers = codec.encode_record(event, traceparents[index] if traceparents else None)
            chunk.append((codec, key, value, headers))
            append(headers[0][1])
            if len(chunk) == _CHUNK:
                self.send(chunk, None)
                chunk = []
        if chunk:
            self.send(chunk, None)
        return event_ids

    def _stream_signed(self, events: Iterable[Any], traceparents: Sequence[str | None] | None) -> list[str]:
        """:meth:`stream` with signatures: encoded in batches of :data:`SIGN_BATCH`, each signed once, then sent."""
        codecs = self._builder.codecs
        codec_of = self._builder.codec_of
        event_ids: list[str] = []
        batch: list[tuple] = []
        for index, event in enumerate(events):
            codec = codecs.get(event.__class__) or codec_of(event)
            key, value, headers = codec.encode_record(event, traceparents[index] if traceparents else None)
            batch.append((codec, key, value, headers))
            event_ids.append(headers[0][1])
            if len(batch) == SIGN_BATCH:
                self._send_signed(batch)
                batch = []
        if batch:
            self._send_signed(batch)
        return event_ids

    def _send_signed(self, batch: list[tuple]) -> None:
        self._signer.sign(batch)  # type: ignore[union-attr]
        if self._confirm:
            self.send(batch, None)
            return
        produce = self.raw.produce
        with self.send_lock:
            for index, (codec, key, value, headers) in enumerate(batch):
                if not self._mode.direct:
                    self.send(batch, None, index)
                    return
                try:
                    produce(codec.topic, value, key, -1, None, None, 0, headers)
                except BufferError:
                    self._produce_when_room(codec, key, value, headers, None)
                except KafkaException as exc:
                    self._refused(exc, codec, key, value, headers, None, 0)
                    continue
                codec.unsettled += 1

    def send(self, encoded: Sequence[tuple], waiter: Waiter | None, start: int = 0) -> None:
        """Send ``(codec, key, value, headers)`` items from ``start``; ``waiter`` indexes are the items'."""
        produce = self.raw.produce
        delivered = self._delivered
        mode = self._mode
        with self.send_lock:
            for index in range(start, len(encoded)):
                if not mode.direct:
                    # Spooling from the start, or a failure arrived mid-batch: the rest goes behind it.
                    self._accept_spooling(encoded, waiter, index)
                    break
                codec, key, value, headers = encoded[index]
                # A per-record callback here: an acked call needs each record's outcome.
                callback = functools.partial(delivered, codec, waiter, index, headers)
                try:
                    produce(codec.topic, value, key, -1, callback, None, 0, headers)
                except BufferError:
                    self._produce_when_room(codec, key, value, headers, callback)
                except KafkaException as exc:
                    self._refused(exc, codec, key, value, headers, waiter, index)
                    continue
                if not self._confirm:
                    codec.unsettled += 1
            if waiter is not None and not self._confirm and start == 0:
                self._tracker.expect_implicit(waiter)

    def _accept_spooling(self, encoded: Sequence[tuple], waiter: Waiter | None, start: int) -> None:
        """``encoded[start:]`` met a non-direct mode (caller holds the send lock): on_accept decides."""
        actions = self._mode.handle(Accept())
        if Action.REFUSE in actions:
            raise PublisherClosedError("publisher is closed")
        if Action.PRODUCE in actions:  # direct again (cannot happen under the send lock; harmless if it did)
            self.send(encoded, waiter, start)
            return
        if Action.RESERVE_AHEAD in actions:
            self.reserve_ahead()
        assert self._spool is not None
        now = time.time()
        records = [
            SpoolRecord(self._seq(), codec.topic, key, value, [(k, v.encode() if isinstance(v, str) else v)
                                                               for k, v in headers], codec.theme, now)
            for codec, key, value, headers in encoded[start:]
        ]
        self._spool.put(records)  # SpoolFullError propagates: the caller must know
        self._tracker.spooled((encoded[i][0], waiter, i) for i in range(start, len(encoded)))

    def reserve_ahead(self) -> None:
        """Before a new event is spooled (caller holds the send lock): hold a sequence number
        for each record still in the producer, so one that fails later is spooled ahead of it.

        While the publisher spools nothing new enters the producer, so the count only falls;
        numbers left over (records that were acknowledged) are gaps, which the spool allows.
        """
        in_producer = len(self.raw)
        if in_producer == 0 and not self._tracker.pending_take_backs():
            self._ahead.clear()  # nothing can fail any more
            return
        self._ahead.extend(self._seq() for _ in range(in_producer - len(self._ahead)))
        self.after_poll()

    def _next_seq(self) -> int:
        """The sequence number of a record taken back: a reserved one while any is left."""
        try:
            return self._ahead.popleft()
        except IndexError:
            return self._seq()

    def _refused(self, exc: KafkaException, codec: EventCodec, key: bytes, value: bytes, headers: list,
                 waiter: Waiter | None, index: int) -> None:
        """``produce`` raised at once (e.g. the topic does not exist yet): spool unless it can never work."""
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        record = self._record(codec.topic, key, value, headers, time.time(), codec.theme)
        if Action.SPOOL in self._mode.handle(SendFailed(self._retriable(err)),
                                             self._taking_back(record, waiter, index, codec)):
            log.warning("produce to %s refused (%s): spooling", codec.topic, exc)
            return
        self._tracker.failed(codec, waiter, index, headers[0][1], self.refusal or f"produce refused: {exc}")

    def _retriable(self, err: KafkaError | None) -> bool:
        """Worth spooling: not a record the broker refuses for good, nor a refused principal."""
        if err is not None and (connectivity.is_authorization(err)
                                or (self.refusal is not None and err.code() == KafkaError._FATAL)):
            return False
        return retriable(err)

    def _poll_failed(self, exc: KafkaException) -> None:
        """A poll raised (librdkafka raises a producer's fatal error there): a refused principal is kept."""
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if err is None or not connectivity.is_authorization(err):
            raise exc
        if self.refusal is None:
            self.refusal = str(connectivity.connection_error(self._settings, connectivity.Problem.AUTHORIZATION,
                                                             err.str(), code=err.name()))
            log.error("%s; events fail from now on instead of being spooled", self.refusal)

    def _produce_when_room(self, codec: EventCodec, key: bytes, value: bytes, headers: list, callback: Any) -> None:
        # The local queue is full: serve reports to make room. Bounded by the delivery timeout,
        # after which queued records fail (and get spooled), which makes room too.
        limit = self._settings.delivery_timeout_s + 5
        deadline = time.monotonic() + limit
        while True:
            with self.poll_lock:
                self.raw.poll(0.05)
            self.after_poll()
            try:
                self.raw.produce(codec.topic, value, key, -1, callback, None, 0, headers)
                return
            except BufferError:
                if time.monotonic() > deadline:
                    raise PublishTimeoutError(f"the producer queue stayed full for {limit:.0f}s") from None

    # -- reports (run in whichever thread polls; they never take the send lock) ------------------

    def _delivered(self, codec: EventCodec, waiter: Waiter | None, index: int, headers: list,
                   err: KafkaError | None, msg: Any) -> None:
        # ``headers`` rides along because delivery reports do not carry the record's headers.
        if err is None:
            self._tracker.acked(codec, waiter, index)
            return
        self._failure(err, msg, codec, headers, waiter, index)

    def _failure_report(self, err: KafkaError | None, msg: Any) -> None:
        """Producer-wide report of the streaming path (failures only)."""
        if err is None:
            return
        value = msg.value()
        codec = self._builder.codec_for_wire(msg.topic(), value)
        if codec is None:  # cannot happen for records this publisher encoded; say so if it does
            log.error("failure report for an unknown record on %s: %s", msg.topic(), err.str())
            return
        headers = codec.headers_from_value(value)
        if self._signer is not None:
            # Reports carry no headers: a failed record goes back to the spool signed anew (a batch of one).
            self._signer.sign([(codec, msg.key(), value, headers)])
        self._failure(err, msg, codec, headers, None, 0)

    def _failure(self, err: KafkaError, msg: Any, codec: EventCodec, headers: list, waiter: Waiter | None,
                 index: int) -> None:
        if not self._confirm:
            self._tracker.report_failed(codec)  # reported: not an implicit acknowledgement
        _ts_type, ts_ms = msg.timestamp()
        record = self._record(msg.topic(), msg.key(), msg.value(), headers,
                              (ts_ms / 1000.0) if ts_ms and ts_ms > 0 else time.time(), codec.theme)
        actions = self._mode.handle(SendFailed(self._retriable(err)), self._taking_back(record, waiter, index, codec))
        if Action.SPOOL in actions and err.code() not in _PURGED:
            # The first record back from the producer (its delivery timeout ran out): what is still
            # there is behind it, and the producer would deliver it before this one is sent again
            # from the spool. Taken back too, everything keeps its order; one the broker had written
            # (on the wire when the link went) is written twice, which the centre drops by event_id.
            self._purge.set()
        if Action.SPOOL not in actions:
            reason = self.refusal if self.refusal and err.code() == KafkaError._FATAL else f"{err.name()}: {err.str()}"
            self._tracker.failed(codec, waiter, index, headers[0][1], reason)

    def _record(self, topic: str, key: bytes | None, value: bytes, headers: list, accepted_at: float,
                theme: str) -> Callable[[], SpoolRecord]:
        return lambda: SpoolRecord(self._next_seq(), topic, key, value,
                                   [(k, v.encode() if isinstance(v, str) else v) for k, v in headers], theme,
                                   accepted_at)

    def _taking_back(self, record: Callable[[], SpoolRecord], waiter: Waiter | None, index: int,
                     codec: EventCodec) -> Callable[[tuple[Action, ...]], None]:
        # Runs under the mode lock, before SPOOLING is visible: the record takes its sequence
        # number and its place in line now (reports of one partition arrive in produce order,
        # and a new event spooled before it reported is behind the number reserved for it).
        def before(actions: tuple[Action, ...]) -> None:
            if Action.SPOOL in actions:
                self._tracker.take_back(TakenBack(record(), waiter, index, codec))

        return before

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            log.error("producer in a fatal state: %s", err.str())
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._lost_reason = err.str()
            self._lost_suspected.set()

    def _confirm_lost(self) -> None:
        """A reported loss of every broker: an outage only if no broker of the cluster answers now.

        When one answers, the publisher stays direct: the producer retries its records at the
        partitions' new leaders. Either way the records stay in the producer, under the same
        producer id and sequence numbers, so each is written once; taken back and sent again from
        the spool, a record the broker had written (its acknowledgement lost) would be written
        twice. A confirmed outage only sends new events to the spool (see :meth:`reserve_ahead`).
        """
        try:
            self.raw.list_topics(timeout=min(2.0, self._settings.request_timeout_s))
        except KafkaException:
            pass
        else:
            log.debug("librdkafka lost the brokers it was connected to (%s); the cluster answers, so the "
                      "producer retries its records at the new leaders", self._lost_reason)
            return
        # librdkafka repeats this while no broker answers: said once per outage (publisher: "spool empty").
        (log.debug if self.lost_said else log.warning)(
            "lost every broker (%s); %s", self._lost_reason,
            "spooling new events; the producer keeps retrying what is in flight" if self._spool is not None
            else "failing what is in flight")
        self.lost_said = True
        if Action.PURGE_DIRECT in self._mode.handle(BrokerLost()):
            self._purge.set()

    # -- serving reports ----------------------------------------------------------------------

    def after_poll(self) -> None:
        """Act on a lost link; spool records that came back failed. Safe from any thread."""
        if self._lost_suspected.is_set():
            self._lost_suspected.clear()
            self._confirm_lost()
        if self._purge.is_set():
            self._purge.clear()
            if len(self.raw) > 0:
                # Spooled behind the record that failed (see _failure), or, without a spool, failed
                # now rather than at their own delivery timeout (the reports say _PURGE_*).
                self.raw.purge(in_queue=True, in_flight=True, blocking=False)
                with self.poll_lock:
                    self.raw.poll(0)
        if self._spool is not None and self._tracker.pending_take_backs():
            # force: these were accepted already; the limit applies to new events only.
            self._tracker.spool_taken_back(functools.partial(self._spool.put, force=True))

    def serve_reports(self, stop: threading.Event, timeout: float) -> None:
        """Serve reports as they arrive until ``stop`` is set (the reports thread of a server).

        Blocks in librdkafka's poll, which returns as soon as a report (or an error) is there,
        so a waiting caller hears of its events within about a broker round trip. The poll lock
        is dropped between polls: flush, a full queue and the purge after a lost link take turns.
        """
        poll = self.raw.poll
        while not stop.is_set():
            try:
                try:
                    with self.poll_lock:
                        poll(timeout)
                except KafkaException as exc:
                    self._poll_failed(exc)  # a refused principal: noted once, the reports still come
                self.after_poll()
            except Exception:  # the thread must survive anything; logged, and the next poll retries
                log.exception("publisher reports thread error")
                stop.wait(1.0)

    def poll(self) -> None:
        """Serve the reports that are there (no waiting)."""
        try:
            with self.poll_lock:
                self.raw.poll(0)
        except KafkaException as exc:
            self._poll_failed(exc)
        self.after_poll()

    def flush(self, timeout: float) -> int:
        """Serve reports up to ``timeout`` or until the queue is empty; returns what is still in it."""
        try:
            with self.poll_lock:
                remaining = self.raw.flush(timeout)
        except KafkaException as exc:
            self._poll_failed(exc)
            remaining = len(self.raw)
        self.after_poll()
        return remaining

    def idle(self) -> bool:
        """Nothing in the producer and no taken-back record unsettled: every report is handled."""
        return len(self.raw) == 0 and not self._tracker.pending_take_backs()

    def serve(self, waiter: Waiter, timeout: float) -> None:
        """Serve reports for up to ``timeout`` on behalf of ``waiter``, or wait on it while another thread does."""
        if not self.poll_lock.acquire(blocking=False):
            waiter.done.wait(min(timeout, 0.005))  # another thread serves the reports, ours included
            return
        try:
            if self._confirm:
                self.raw.poll(timeout)
                remaining = -1  # outcomes come one by one; the queue says nothing about this call
            else:
                remaining = self.raw.flush(timeout)
        except KafkaException as exc:
            self._poll_failed(exc)
            remaining = -1
        finally:
            self.poll_lock.release()
        self.after_poll()
        if remaining == 0 and not self._tracker.pending_take_backs():
            # Queue empty and every failure handled: the rest of this call was acknowledged.
            waiter.resolve_rest(ACKED)
            self.settle(blocking=False)

    def settle(self, blocking: bool = True) -> None:
        """Count acknowledgements when only failures are reported (see DeliveryTracker.settle)."""
        if self._confirm or not self.send_lock.acquire(blocking):
            return
        try:
            if self.idle():
                self._tracker.settle(self._builder.codecs.values())
        finally:
            self.send_lock.release()

    def close(self) -> None:
        """Take back what is still queued (a timed-out flush): it is spooled, not lost."""
        self.raw.purge(in_queue=True, in_flight=True, blocking=True)
        self.flush(1.0)
