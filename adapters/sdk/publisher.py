"""The publisher SDK: typed events in, acknowledged (or durably spooled) records out.

Delivery model
--------------
Every accepted event gets a sequence number. While the link to the broker is
healthy, events go straight to an idempotent ``acks=all`` producer (DIRECT).
When a send fails retriably, or librdkafka reports that every broker is down,
the publisher switches to SPOOLING: records still in the producer are purged
and written to the SQLite spool under their original sequence numbers, and new
events are written to the spool behind them. A background thread probes the
broker, drains the spool oldest-first and switches back to DIRECT once the
spool is empty, so the events of one region keep their order across an
outage. Nothing accepted is lost by a crash either: what is in the spool is
on disk, and the next publisher on the same spool file sends it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from adapters.metrics import REGISTRY_ERRORS
from adapters.privacy import NIK_FIELD, PERSON_FIELDS, Pseudonymizer
from adapters.privacy.exceptions import InvalidNikError
from adapters.sdk.codec import EventCodec
from adapters.sdk.exceptions import PublisherClosedError, PublishFailedError, PublishTimeoutError
from adapters.spool import Spool, SpoolRecord
from bus.kafka import EgovProducer
from bus.serde import AvroSerializer, RegistryError, make_registry_client
from schemas import EventType, SchemaValidationError, event_type as lookup_event_type
from schemas.base import EventModel

log = logging.getLogger("egov.adapters.publisher")

ACKED, SPOOLED, FAILED = "acked", "spooled", "failed"
_DIRECT, _SPOOLING = "direct", "spooling"
_CHUNK = 256

# Errors that mean the record itself can never be accepted: spooling it would
# block its region forever. Everything else (timeouts, purges, lost brokers,
# leader changes, a fenced idempotent producer) is worth retrying from the spool.
_RECORD_ERRORS = frozenset(
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


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What happened to one event handed to :meth:`Publisher.publish_many` with ``wait=True``."""

    event_id: str
    outcome: str  # acked | spooled | failed
    error: str | None = None


class _Waiter:
    """Collects the outcomes of one ``wait=True`` call; callbacks may run on any thread."""

    __slots__ = ("results", "event_ids", "left", "done", "lock")

    def __init__(self, event_ids: list[str]) -> None:
        self.event_ids = event_ids
        self.results: list[PublishResult | None] = [None] * len(event_ids)
        self.left = len(event_ids)
        self.done = threading.Event()
        self.lock = threading.Lock()
        if not event_ids:
            self.done.set()

    def resolve(self, index: int, outcome: str, error: str | None = None) -> None:
        with self.lock:
            if self.results[index] is not None:
                return
            self.results[index] = PublishResult(self.event_ids[index], outcome, error)
            self.left -= 1
            if self.left == 0:
                self.done.set()


class Publisher:
    """Publishes typed events of :mod:`schemas.models` to their theme topics.

    ``publish``/``publish_many`` return once the events are queued; use
    ``wait=True`` to return only after each one is acknowledged by the broker
    or durably spooled (that is what the HTTP gateway does before its 202).
    ``flush`` waits for everything accepted so far; ``close`` flushes, stops
    the drainer and keeps what is still spooled on disk for the next run.

    Parameters worth knowing: ``component`` names the spool file
    (``<settings.spool_dir>/<component>.sqlite``); ``spool=None`` turns
    store-and-forward off (the outbox relay, whose table is its own spool);
    ``topic_for`` maps an :class:`~schemas.EventType` to a topic (tests
    redirect to private topics). ``confirm=True`` asks librdkafka for a report
    per event, so that concurrent ``wait=True`` calls each return as soon as
    their own events are done (servers: the gateway, the outbox relay); the
    default reports failures only, which is faster, and ``wait=True`` then
    waits for the producer's whole queue.
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
        auto_register: bool = True,
        topic_for: Any = None,
        confirm: bool = False,
        drain_batch: int = 1000,
        probe_interval_s: float = 1.0,
        max_backoff_s: float = 30.0,
        producer_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self.source_system = source_system
        self._registry = registry or make_registry_client(settings)
        self._auto_register = auto_register
        self._topic_for = topic_for or (lambda et: et.topic)
        self._pseudonymizer = pseudonymizer
        self._codecs: dict[type, EventCodec] = {}
        self._codec_lock = threading.Lock()
        if spool == "default":
            spool = Spool(Path(settings.spool_dir) / f"{component}.sqlite", settings.spool_max_events)
        self._spool: Spool | None = spool  # type: ignore[assignment]
        self._drain_batch = drain_batch
        self._probe_interval_s = probe_interval_s
        self._max_backoff_s = max_backoff_s
        self._pump_interval_s = 0.05
        self._confirm = confirm
        self._overrides = dict(producer_overrides or {})
        overrides = dict(self._overrides)
        if not confirm:
            # Failures only, through one producer-wide callback: a success costs no Python
            # object and no call (a per-record callback object kept alive until its report
            # costs ~5 us per event, see docs/benchmarks.md); flush() returning is the confirmation.
            overrides.setdefault("delivery.report.only.error", True)
            overrides.setdefault("on_delivery", self._failure_report)
        self._producer = EgovProducer(settings, error_cb=self._on_error, **overrides)
        self._raw = self._producer.raw
        # Replays the spool; separate so that settling the direct path never touches it.
        self._drain_producer: EgovProducer | None = None
        self._drain_purge = False
        self._codec_by_wire: dict[tuple[str, bytes], EventCodec] = {}
        # One thread at a time serves reports of the direct producer: failures get their
        # sequence numbers in report order, which is the per-partition order.
        self._poll_lock = threading.Lock()
        # Sequence numbers only grow, also across restarts: spooled leftovers go first.
        start = max((self._spool.max_seq + 1) if self._spool else 0, time.time_ns() // 1000)
        self._seq = iter(range(start, 1 << 62)).__next__
        self._lock = threading.RLock()  # mode decisions and spool writes of new events
        self._mode = _SPOOLING if self._spool is not None and self._spool.depth else _DIRECT
        self._failed_records: list[tuple[SpoolRecord, _Waiter | None, int, EventCodec | None]] = []
        self._failed_lock = threading.Lock()
        self._errors: list[PublishFailedError] = []
        self._purge_requested = False
        self._next_probe = 0.0
        self._backoff_s = probe_interval_s
        self._closed = False
        self._stop = threading.Event()
        self._pump = threading.Thread(target=self._run, name=f"egov-publisher-{component}", daemon=True)
        self._pump.start()

    # -- building events --------------------------------------------------------------

    def codec(self, event_type: EventType | str) -> EventCodec:
        """The (cached) codec of an event type; registers/looks up its schema on first use."""
        et = lookup_event_type(event_type) if isinstance(event_type, str) else event_type
        codec = self._codecs.get(et.model)
        if codec is not None:
            return codec
        with self._codec_lock:
            codec = self._codecs.get(et.model)
            if codec is None:
                serializer = AvroSerializer(self._registry, et.avro_schema, auto_register=self._auto_register)
                try:
                    codec = EventCodec(et, serializer, self._topic_for(et))
                except RegistryError:
                    REGISTRY_ERRORS.labels("register" if self._auto_register else "lookup").inc()
                    raise
                self._codecs[et.model] = codec
                self._codec_by_wire[codec.wire_key] = codec
        return codec

    def warm(self, event_types: Iterable[EventType | str]) -> None:
        """Prepare codecs (and registry ids) now, so the first events do not wait on the registry."""
        for et in event_types:
            self.codec(et)

    def build(
        self,
        event_type: EventType | str,
        fields: Mapping[str, Any],
        *,
        region_code: str | None = None,
        source_system: str | None = None,
        occurred_at: datetime | str | None = None,
        event_id: str | None = None,
    ) -> EventModel:
        """A validated typed event from plain fields (JSON-like values are fine).

        Envelope values come from the keyword arguments or from same-named keys
        in ``fields``. A ``nik`` key is replaced by ``nik_pseudonym`` and the
        derived fields the schema declares; building such an event without a
        pseudonym key raises :class:`MissingPseudonymKeyError`. Raises
        :class:`schemas.SchemaValidationError` naming each bad field.
        """
        et = lookup_event_type(event_type) if isinstance(event_type, str) else event_type
        data = dict(fields)
        data.pop("event_type", None)  # the path or the caller already says which type
        not_inputs = sorted(k for k in ("envelope", "produced_at", "schema_version") if k in data)
        if not_inputs:
            # The publisher fills these; a caller's value would be silently wrong.
            raise SchemaValidationError(et.name, [
                {"loc": (k,), "msg": "is set by the publisher, not an input", "rule": "extra_forbidden"}
                for k in not_inputs
            ])
        given = {name: data.pop(name, None) for name in ("region_code", "source_system", "occurred_at", "event_id")}
        region_code = region_code or given["region_code"]
        source_system = source_system or given["source_system"] or self.source_system
        occurred_at = occurred_at or given["occurred_at"]
        event_id = event_id or given["event_id"]
        if NIK_FIELD in data:
            data = self._pseudonymize(et, data, occurred_at)
        return et.model.new(
            region_code=region_code,
            source_system=source_system,
            occurred_at=occurred_at,
            event_id=event_id,
            **data,
        )

    def _pseudonymize(self, et: EventType, data: dict[str, Any], occurred_at: Any) -> dict[str, Any]:
        wanted = [f for f in PERSON_FIELDS if f in et.model.model_fields]
        if "nik_pseudonym" not in wanted:
            raise SchemaValidationError(
                et.name, [{"loc": (NIK_FIELD,), "msg": f"{et.name} carries no person; remove the nik",
                           "rule": "extra_forbidden"}]
            )
        if self._pseudonymizer is None:
            self._pseudonymizer = Pseudonymizer.from_settings(self._settings, purpose=f"publishing {et.name} with a nik")
        when = occurred_at
        if isinstance(when, str):
            try:
                when = datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                when = None  # the model reports the bad occurred_at
        try:
            return self._pseudonymizer.scrub(data, wanted, on=when if isinstance(when, datetime) else None)
        except InvalidNikError as exc:
            raise SchemaValidationError(
                et.name, [{"loc": (NIK_FIELD,), "msg": exc.message, "rule": str(exc.fields.get("rule", "nik"))}]
            ) from None

    # -- publishing ---------------------------------------------------------------------

    def publish(self, event: EventModel, *, wait: bool = False, timeout: float | None = None,
                traceparent: str | None = None) -> str:
        """Publish one typed event; returns its ``event_id``.

        With ``wait=True`` returns only after the broker acknowledged it or it
        was spooled, and raises :class:`PublishFailedError` if it was refused.
        """
        if wait:
            result = self.publish_many([event], wait=True, timeout=timeout, traceparents=[traceparent])[0]
            if result.outcome == FAILED:
                raise PublishFailedError(f"event {result.event_id} was not published: {result.error}",
                                         event_id=result.event_id)
            return result.event_id
        return self.publish_many([event], traceparents=[traceparent])[0]

    def publish_many(
        self,
        events: Iterable[EventModel],
        *,
        wait: bool = False,
        timeout: float | None = None,
        traceparents: Sequence[str | None] | None = None,
    ) -> list[Any]:
        """Publish typed events in order; returns their event ids.

        With ``wait=True`` every event is encoded before any is sent, so an
        invalid one (raw NIK in a text field, value outside its Avro type)
        raises without publishing any; the call returns one
        :class:`PublishResult` per event once each is acknowledged, spooled or
        refused. Without ``wait``, events stream out in chunks and an invalid
        one raises after the events before it were queued.
        """
        if self._closed:
            raise PublisherClosedError("publisher is closed")
        codecs = self._codecs
        if wait:
            encoded = []
            for index, event in enumerate(events):
                codec = codecs.get(event.__class__) or self._codec_of(event)
                key, value, headers = codec.encode_record(event, traceparents[index] if traceparents else None)
                encoded.append((codec, key, value, headers))
            waiter = _Waiter([item[3][0][1] for item in encoded])
            self._send(encoded, waiter)
            self._wait(waiter, timeout)
            return list(waiter.results)
        return self._stream(events, traceparents)

    def _stream(self, events: Iterable[EventModel], traceparents: Sequence[str | None] | None) -> list[str]:
        # The hot path: encode and produce one event at a time, nothing kept per event except
        # its id (objects kept per event would survive into older GC generations and get
        # rescanned). Falls back to chunked spool writes while spooling.
        codecs = self._codecs
        produce = self._raw.produce
        confirm = self._confirm
        delivered = self._delivered
        event_ids: list[str] = []
        append = event_ids.append
        iterator = iter(enumerate(events))
        with self._lock:
            for index, event in iterator:
                codec = codecs.get(event.__class__) or self._codec_of(event)
                key, value, headers = codec.encode_record(event, traceparents[index] if traceparents else None)
                append(headers[0][1])
                if self._mode == _SPOOLING:
                    self._settle_in_flight()
                    self._spool_new([(codec, key, value, headers)], None)
                    break
                callback = functools.partial(delivered, codec, None, 0, headers) if confirm else None
                try:
                    # Positional (measurably cheaper than keywords): topic, value, key, partition,
                    # callback, on_delivery (alias), timestamp (0: now), headers.
                    produce(codec.topic, value, key, -1, callback, None, 0, headers)
                except BufferError:
                    self._produce_when_room(codec, key, value, headers, callback, None, 0)
                except KafkaException as exc:
                    self._refused(exc, codec, key, value, headers, None, 0)
                    continue
                if not confirm:
                    codec.unsettled += 1
            else:
                return event_ids
        # Spooling: the rest goes to the spool in chunks (one transaction each).
        chunk: list[tuple] = []
        for index, event in iterator:
            codec = codecs.get(event.__class__) or self._codec_of(event)
            key, value, headers = codec.encode_record(event, traceparents[index] if traceparents else None)
            chunk.append((codec, key, value, headers))
            append(headers[0][1])
            if len(chunk) == _CHUNK:
                self._send(chunk, None)
                chunk = []
        if chunk:
            self._send(chunk, None)
        return event_ids

    def _codec_of(self, event: Any) -> EventCodec:
        if not isinstance(event, EventModel):
            raise TypeError(
                f"publish() takes typed events from schemas.models, got {type(event).__name__}; "
                "build one with Publisher.build(event_type, fields)"
            )
        return self.codec(event.__class__.__name__)

    def _send(self, encoded: list[tuple], waiter: _Waiter | None) -> None:
        produce = self._raw.produce
        delivered = self._delivered
        with self._lock:
            if self._mode == _SPOOLING:
                self._settle_in_flight()
                self._spool_new(encoded, waiter)
                return
            for index, (codec, key, value, headers) in enumerate(encoded):
                # A per-record callback here: wait=True needs each record's outcome.
                callback = functools.partial(delivered, codec, waiter, index, headers)
                try:
                    produce(codec.topic, value, key, -1, callback, None, 0, headers)
                except BufferError:
                    self._produce_when_room(codec, key, value, headers, callback, waiter, index)
                except KafkaException as exc:
                    self._refused(exc, codec, key, value, headers, waiter, index)
                    continue
                if not self._confirm:
                    codec.unsettled += 1
                if self._mode == _SPOOLING:
                    # A failure arrived mid-batch: the rest goes behind it into the spool.
                    self._settle_in_flight()
                    self._spool_new(encoded[index + 1 :], waiter, offset=index + 1)
                    return

    def _settle_in_flight(self) -> None:
        """Before a new event is spooled (caller holds ``_lock``): records still in the direct
        producer are taken back and spooled first, so they keep their place ahead of it."""
        if len(self._raw) == 0 and not self._failed_records:
            return
        self._raw.purge(in_queue=True, in_flight=True, blocking=True)
        deadline = time.monotonic() + self._settings.request_timeout_s
        while len(self._raw) > 0 and time.monotonic() < deadline:
            with self._poll_lock:
                self._raw.flush(0.1)
        self._after_poll()

    def _refused(self, exc: KafkaException, codec: EventCodec, key: bytes, value: bytes, headers: list,
                 waiter: _Waiter | None, index: int) -> None:
        """``produce`` raised at once (e.g. the topic does not exist yet): spool unless it can never work."""
        err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if self._spool is not None and (err is None or err.code() not in _RECORD_ERRORS):
            self._take_back(codec, codec.topic, key, value, headers, time.time(), waiter, index)
            log.warning("produce to %s refused (%s): spooling", codec.topic, exc)
            return
        self._record_failure(codec, waiter, index, headers[0][1], f"produce refused: {exc}")

    def _produce_when_room(self, codec: EventCodec, key: bytes, value: bytes, headers: list, callback: Any,
                           waiter: _Waiter | None, index: int) -> None:
        # The local queue is full: serve reports to make room. Bounded by the delivery timeout,
        # after which queued records fail (and get spooled), which makes room too.
        deadline = time.monotonic() + self._settings.delivery_timeout_s + 5
        while True:
            with self._poll_lock:
                self._raw.poll(0.05)
            self._after_poll()
            try:
                self._raw.produce(codec.topic, value, key, -1, callback, None, 0, headers)
                return
            except BufferError:
                if time.monotonic() > deadline:
                    raise PublishTimeoutError(
                        f"the producer queue stayed full for {self._settings.delivery_timeout_s + 5:.0f}s"
                    ) from None

    def _spool_new(self, encoded: Sequence[tuple], waiter: _Waiter | None, offset: int = 0) -> None:
        assert self._spool is not None
        now = time.time()
        records = [
            SpoolRecord(self._seq(), codec.topic, key, value, [(k, v.encode()) for k, v in headers], codec.theme, now)
            for codec, key, value, headers in encoded
        ]
        self._spool.put(records)  # SpoolFullError propagates: the caller must know
        for index, (codec, *_rest) in enumerate(encoded):
            codec.spooled.inc()
            if waiter is not None:
                waiter.resolve(offset + index, SPOOLED)

    def _settle(self) -> None:
        """Count acknowledgements when only failures are reported: everything produced
        before the queue emptied and not reported failed was acknowledged."""
        if self._confirm:
            return
        with self._lock:
            if len(self._raw) or self._failed_records:
                return
            with self._failed_lock:
                for codec in self._codecs.values():
                    acked = codec.unsettled - codec.failed_unsettled
                    if acked > 0:
                        codec.acked.inc(acked)
                    codec.unsettled = codec.failed_unsettled = 0

    # -- delivery reports (run in whichever thread polls; they never take ``_lock``) -----------

    def _delivered(self, codec: EventCodec, waiter: _Waiter | None, index: int, headers: list,
                   err: KafkaError | None, msg: Any) -> None:
        # ``headers`` rides along because delivery reports do not carry the record's headers.
        if err is None:
            if waiter is not None:
                waiter.resolve(index, ACKED)
            codec.acked.inc()
            return
        self._failure(err, msg, codec, headers, waiter, index)

    def _failure_report(self, err: KafkaError | None, msg: Any) -> None:
        """Producer-wide report of the streaming path (failures only)."""
        if err is None:
            return
        value = msg.value()
        codec = self._codec_by_wire.get((msg.topic(), value[:5] if value else b""))
        if codec is None:  # cannot happen for records this publisher encoded; say so if it does
            log.error("failure report for an unknown record on %s: %s", msg.topic(), err.str())
            return
        self._failure(err, msg, codec, codec.headers_from_value(value), None, 0)

    def _failure(self, err: KafkaError, msg: Any, codec: EventCodec, headers: list, waiter: _Waiter | None,
                 index: int) -> None:
        if not self._confirm:
            with self._failed_lock:
                codec.failed_unsettled += 1  # reported: not an implicit acknowledgement
        if self._spool is not None and err.code() not in _RECORD_ERRORS:
            _ts_type, ts_ms = msg.timestamp()
            accepted_at = (ts_ms / 1000.0) if ts_ms and ts_ms > 0 else time.time()
            self._take_back(codec, msg.topic(), msg.key(), msg.value(), headers, accepted_at, waiter, index)
            return
        self._record_failure(codec, waiter, index, headers[0][1], f"{err.name()}: {err.str()}")

    def _take_back(self, codec: EventCodec, topic: str, key: bytes, value: bytes, headers: list,
                   accepted_at: float, waiter: _Waiter | None, index: int) -> None:
        # The sequence number is taken now: reports of one partition arrive in produce order,
        # and no new event is spooled before every record in flight has reported.
        record = SpoolRecord(self._seq(), topic, key, value,
                             [(k, v.encode() if isinstance(v, str) else v) for k, v in headers], codec.theme,
                             accepted_at)
        with self._failed_lock:
            self._failed_records.append((record, waiter, index, codec))
        self._mode = _SPOOLING

    def _record_failure(self, codec: EventCodec, waiter: _Waiter | None, index: int, event_id: str | None,
                        reason: str) -> None:
        codec.failed.inc()
        log.error("event %s (%s) not published: %s", event_id, codec.event_type.name, reason)
        error = PublishFailedError(f"event {event_id} ({codec.event_type.name}) not published: {reason}",
                                   event_id=event_id, event_type=codec.event_type.name)
        with self._failed_lock:
            self._errors.append(error)
        if waiter is not None:
            waiter.resolve(index, FAILED, reason)

    def _on_error(self, err: KafkaError) -> None:
        self._producer._on_error(err)  # keeps EgovProducer's fatal-state tracking
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            log.warning("lost every broker (%s); %s", err.str(),
                        "spooling new events" if self._spool is not None else "retrying")
            if self._spool is not None:
                self._mode = _SPOOLING
            self._purge_requested = True

    def _on_drain_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._drain_purge = True

    def _after_poll(self) -> None:
        """Persist records that came back failed; act on a lost link. Safe from any thread."""
        if self._purge_requested:
            self._purge_requested = False
            # Records waiting in librdkafka would sit there until the delivery timeout:
            # take them back now (their reports say _PURGE_*), spool or fail them.
            self._raw.purge(in_queue=True, in_flight=True, blocking=False)
            with self._poll_lock:
                self._raw.poll(0)
        if not self._failed_records:
            return
        with self._failed_lock:
            batch, self._failed_records = self._failed_records, []
        if not batch:
            return
        assert self._spool is not None
        try:
            # force: these were accepted already; the limit applies to new events only.
            self._spool.put([item[0] for item in batch], force=True)
        except Exception as exc:  # disk full, I/O error: the events are lost unless reported
            for record, waiter, index, codec in batch:
                self._record_failure(codec, waiter, index, _header_value(record.headers, "ce_id"),
                                     f"could not spool after a failed send: {exc}")
            return
        for _record, waiter, index, codec in batch:
            codec.spooled.inc()
            if waiter is not None:
                waiter.resolve(index, SPOOLED)

    # -- the background pump: reports, spool drain ----------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self._pump_interval_s):
            try:
                # Serve reports in batches: polling with a timeout here would wake this thread
                # for every report and fight the publishing thread for the GIL.
                with self._poll_lock:
                    self._raw.poll(0)
                self._after_poll()
                self._settle()
                if self._mode == _SPOOLING:
                    self._drain_step()
            except Exception:  # the pump must survive anything; the next round retries
                log.exception("publisher background loop error")
                self._stop.wait(self._probe_interval_s)

    def _drainer(self) -> EgovProducer:
        if self._drain_producer is None:
            self._drain_producer = EgovProducer(self._settings, error_cb=self._on_drain_error, **self._overrides)
        return self._drain_producer

    def _drain_step(self) -> None:
        assert self._spool is not None
        now = time.monotonic()
        if now < self._next_probe or self._failed_records:
            return
        if len(self._raw) > 0:
            # Records of the direct path are still in flight: they go ahead of the spool's tail.
            if self._lock.acquire(timeout=0.5):
                try:
                    self._settle_in_flight()
                finally:
                    self._lock.release()
            return
        if self._spool.depth == 0:
            with self._lock:
                if self._spool.depth == 0 and not self._failed_records and len(self._raw) == 0:
                    self._mode = _DIRECT
                    self._backoff_s = self._probe_interval_s
                    log.info("spool empty: publishing directly again")
            return
        drainer = self._drainer()
        raw = drainer.raw
        batch = self._spool.peek(self._drain_batch)
        try:
            # Ask for the batch's topics by name: this also refreshes librdkafka's view of a topic
            # it had cached as missing (created since), instead of waiting for the next refresh.
            for topic in dict.fromkeys(record.topic for record in batch):
                metadata = raw.list_topics(topic=topic, timeout=min(2.0, self._settings.request_timeout_s))
                if metadata.topics[topic].error is not None:
                    raise KafkaException(metadata.topics[topic].error)
        except KafkaException as exc:
            log.info("spool drain waits: %s", exc)
            self._defer_probe()
            return
        self._drain_purge = False
        acked: list[int] = []
        settled: list[int] = []  # leave the spool although not acknowledged (refused for good)
        failed: list[tuple[int, str]] = []
        for record in batch:
            callback = functools.partial(self._drained, record, acked, settled, failed)
            while True:
                try:
                    raw.produce(record.topic, record.value, record.key, -1, callback, None, 0, record.headers)
                    break
                except BufferError:
                    raw.poll(0.05)
                except KafkaException as exc:
                    failed.append((record.seq, str(exc)))
                    break
            if failed:
                break
        # Wait for the reports, but let close() or a lost link interrupt: the records stay spooled.
        deadline = time.monotonic() + self._settings.delivery_timeout_s + 5
        while len(raw) > 0 and time.monotonic() < deadline:
            if self._stop.is_set() or self._drain_purge:
                raw.purge(in_queue=True, in_flight=True, blocking=True)
            raw.flush(0.5)
        self._spool.delete([*acked, *settled])
        if failed or len(acked) + len(settled) < len(batch):
            reason = failed[-1][1] if failed else "interrupted"
            log.warning("spool drain stopped after %d of %d records: %s", len(acked), len(batch), reason)
            self._defer_probe()
        else:
            self._backoff_s = self._probe_interval_s
            log.info("sent %d spooled events; %d left", len(acked), self._spool.depth)

    def _drained(self, record: SpoolRecord, acked: list[int], settled: list[int], failed: list[tuple[int, str]],
                 err: KafkaError | None, msg: Any) -> None:
        counters = _theme_counters(record.theme)
        if err is None:
            acked.append(record.seq)
            counters[0].inc()
            return
        if err.code() in _RECORD_ERRORS:
            # Can never be sent: keep the region moving, but say so loudly.
            settled.append(record.seq)
            counters[1].inc()
            log.error("spooled event %s removed from the spool, the broker refuses it for good: %s",
                      _header_value(record.headers, "ce_id"), err.str())
            return
        failed.append((record.seq, f"{err.name()}: {err.str()}"))

    def _defer_probe(self) -> None:
        self._next_probe = time.monotonic() + self._backoff_s
        self._backoff_s = min(self._backoff_s * 2, self._max_backoff_s)

    def _wait(self, waiter: _Waiter, timeout: float | None) -> None:
        timeout = self._settings.delivery_timeout_s + 10 if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not waiter.done.is_set() and time.monotonic() < deadline:
            step = min(0.05, max(0.0, deadline - time.monotonic()))
            with self._poll_lock:
                if self._confirm:
                    # Serve reports here rather than waiting for the pump: lower latency.
                    self._raw.poll(step)
                    remaining = -1
                else:
                    remaining = self._raw.flush(step)
            self._after_poll()
            if remaining < 0:
                continue
            if remaining == 0 and not self._failed_records:
                # Queue empty and every failure handled: the rest was acknowledged.
                for index, result in enumerate(waiter.results):
                    if result is None:
                        waiter.resolve(index, ACKED)
                self._settle()
        if not waiter.done.is_set():
            raise PublishTimeoutError(
                f"{waiter.left} of {len(waiter.results)} events neither acknowledged nor spooled within {timeout}s",
                pending=waiter.left,
            )

    # -- state, flush, close ---------------------------------------------------------------

    @property
    def mode(self) -> str:
        """``direct`` or ``spooling``."""
        return self._mode

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def spool(self) -> Spool | None:
        return self._spool

    def in_flight(self) -> int:
        """Records handed to librdkafka and not yet reported."""
        return len(self._raw)

    def broker_reachable(self, timeout: float = 2.0) -> bool:
        """True if a broker answers a metadata request within ``timeout``."""
        try:
            self._raw.list_topics(timeout=timeout)
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
            with self._poll_lock:
                remaining = self._raw.flush(max(0.0, min(1.0, deadline - time.monotonic())))
            self._after_poll()
            if remaining == 0 and not self._failed_records:
                self._settle()
                break
            if time.monotonic() >= deadline:
                raise PublishTimeoutError(f"{remaining} record(s) still in flight after {timeout}s",
                                          pending=remaining)
        with self._failed_lock:
            errors, self._errors = self._errors, []
        if errors:
            first = errors[0]
            first.fields["count"] = len(errors)
            raise first

    def drain(self, timeout: float) -> int:
        """Try to empty the spool within ``timeout``; returns the events still spooled."""
        if self._spool is None:
            return 0
        deadline = time.monotonic() + timeout
        while self._spool.depth and time.monotonic() < deadline:
            if self._mode == _DIRECT:  # spooled leftovers while new events flow directly
                self._mode = _SPOOLING
            self._stop.wait(0.05)
        return self._spool.depth

    def close(self, timeout: float | None = None, drain_timeout: float = 0.0) -> None:
        """Flush, optionally drain the spool, stop the pump; spooled events stay on disk."""
        if self._closed:
            return
        try:
            if drain_timeout > 0:
                self.drain(drain_timeout)
            self.flush(timeout)
        finally:
            self._closed = True
            self._stop.set()
            self._pump.join(timeout=5)
            # Records still queued after a timed-out flush become spooled, not lost.
            self._raw.purge(in_queue=True, in_flight=True, blocking=True)
            with self._poll_lock:
                self._raw.flush(1.0)
            self._after_poll()
            if self._drain_producer is not None:
                # Its records were never deleted from the spool: dropping them loses nothing.
                self._drain_producer.raw.purge(in_queue=True, in_flight=True, blocking=True)
                self._drain_producer.raw.flush(1.0)
            if self._spool is not None:
                self._spool.close()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _header_value(headers: Iterable[tuple[str, Any]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode() if isinstance(value, bytes) else value
    return None


@functools.lru_cache(maxsize=64)
def _theme_counters(theme: str) -> tuple[Any, Any]:
    from adapters.metrics import PUBLISHED

    return PUBLISHED.labels(theme, ACKED), PUBLISHED.labels(theme, FAILED)
