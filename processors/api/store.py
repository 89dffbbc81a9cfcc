"""An in-memory copy of the central views, kept current from their compacted topics.

A background thread assigns every partition of the view topics from the
beginning (no consumer group offsets: every API process reads the whole
compacted history), decodes each record with the registry serde, and keeps the
last row per key; a tombstone deletes the key. The store is *ready* once it
has read up to the end offsets the topics had when it started, so the API
never serves a half-loaded view as if it were complete.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaException, TopicPartition

from bus.kafka.connectivity import outages
from bus.serde import AvroDeserializer, make_registry_client
from bus.retry import RetryPolicy
from bus.serde.exceptions import RegistryError, SerdeError
from processors.api.exceptions import ViewStoreError
from processors.views.aggregates import VIEWS
from schemas.topic_names import view_topic

log = logging.getLogger("egov.views.store")

# The reader's waits while the view topics are missing or the registry is away (then it decodes the
# same record again): the one retry policy, capped at 2 s so the API is ready soon after either is back.
_RETRY = RetryPolicy(initial_s=0.25, cap_s=2.0, floor_s=0.05)
# Records taken per consume() call.
_BATCH = 500


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    # timestamp-millis fields decode to datetimes; the API speaks ISO 8601 UTC.
    out = {}
    for name, item in value.items():
        if isinstance(item, datetime):
            item = item.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        out[name] = item
    return out


class ViewStore:
    """The current rows of the central views, read from their compacted topics.

    Thread-safe: one background thread writes, any thread reads. Start with
    :meth:`start`, stop with :meth:`stop`; :attr:`ready` turns true once the
    store has caught up with the topics' end offsets at start.
    """

    def __init__(
        self,
        settings: Any,
        *,
        prefix: str | None = None,
        views: tuple[str, ...] = VIEWS,
        poll_timeout_s: float = 0.5,
    ) -> None:
        self._settings = settings
        self.topics: dict[str, str] = {view: view_topic(view, prefix) for view in views}
        self._view_of = {topic: view for view, topic in self.topics.items()}
        self._poll_timeout_s = poll_timeout_s
        self._rows: dict[str, dict[str, dict[str, Any]]] = {view: {} for view in views}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: dict[tuple[str, int], int] = {}
        self._error: str | None = None
        self._decode_errors = 0
        self._last_decode_error: str | None = None
        self._records = 0
        self._updated_at: float | None = None
        # Per view: the broker timestamp (s) of the newest row read, i.e. when a worker last changed it.
        self._view_updated: dict[str, float | None] = dict.fromkeys(views)

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        """Start the background reader (returns at once; see :meth:`wait_ready`)."""
        if self._thread is not None:
            raise ViewStoreError("view store already started")
        self._thread = threading.Thread(target=self._run, name="egov-view-store", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop the reader and close its consumer; True if it ended within ``timeout``."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def ready(self) -> bool:
        """True once every view topic has been read up to its end offset at start."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        """Block until :attr:`ready` or ``timeout`` seconds; return :attr:`ready`."""
        return self._ready.wait(timeout)

    # -- reading -------------------------------------------------------------------

    def rows(self, view: str) -> list[dict[str, Any]]:
        """Copies of the current rows of ``view``, ordered by view key."""
        with self._lock:
            table = self._rows[view]
            return [dict(table[key]) for key in sorted(table)]

    def view_updated(self) -> dict[str, float | None]:
        """Per view, when its topic last got a row (epoch seconds of the broker timestamp; ``None``: never)."""
        with self._lock:
            return dict(self._view_updated)

    def status(self) -> dict[str, Any]:
        """Readiness and counters, for ``/healthz``."""
        with self._lock:
            return {
                "ready": self.ready,
                "topics": dict(self.topics),
                "rows": {view: len(table) for view, table in self._rows.items()},
                "records_read": self._records,
                "partitions_loading": len(self._pending),
                "decode_errors": self._decode_errors,
                "last_decode_error": self._last_decode_error,
                "error": self._error,
                "updated_at": None
                if self._updated_at is None
                else datetime.fromtimestamp(self._updated_at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }

    # -- the reader thread ---------------------------------------------------------

    def _run(self) -> None:
        conf = self._settings.librdkafka_config(
            **{
                "group.id": f"egov-views-api-{uuid.uuid4().hex}",  # never commits; needed by librdkafka
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # View rows come from transactional workers: never show aborted or open ones.
                "isolation.level": "read_committed",
                "logger": logging.getLogger("egov.kafka.consumer"),
            }
        )
        decode = AvroDeserializer(make_registry_client(self._settings))
        consumer = Consumer(conf)
        try:
            topics_wait = _RETRY.backoff()
            said: str | None = None
            while not self._stopping.is_set():
                try:
                    self._assign(consumer)
                    break
                except (ViewStoreError, KafkaException) as exc:
                    self._set_error(str(exc))
                    # Said once, not every retry: a lost broker is the outage log's (once, and its end).
                    if isinstance(exc, ViewStoreError) and str(exc) != said:
                        log.warning("view store waiting for topics: %s", exc)
                        said = str(exc)
                    else:
                        log.debug("view store waiting for topics: %s", exc)
                    self._stopping.wait(topics_wait.next_delay())
            registry_wait = _RETRY.backoff()
            checked = time.monotonic()
            while not self._stopping.is_set():
                batch = consumer.consume(_BATCH, self._poll_timeout_s)
                for i, msg in enumerate(batch):
                    if msg.error():
                        self._set_error(msg.error().str())
                        continue
                    outages.up(self._settings)
                    if not self._apply(msg, decode):
                        # Registry unreachable: read from here again later, never skip a record.
                        self._rewind(consumer, batch[i:])
                        self._stopping.wait(registry_wait.next_delay())
                        break
                    self._caught_up_to(msg.topic(), msg.partition(), msg.offset() + 1)
                else:
                    registry_wait.reset()  # the whole batch decoded: the registry answers again
                # Not only when idle: under steady traffic a partition whose end is a
                # transaction marker would otherwise never count as caught up.
                if not batch or time.monotonic() - checked > self._poll_timeout_s:
                    self._check_positions(consumer)
                    checked = time.monotonic()
        except Exception:  # the thread must say why it died; /healthz shows it
            log.exception("view store reader failed")
            self._set_error("view store reader failed; see the log")
            raise
        finally:
            consumer.close()

    def _assign(self, consumer: Consumer) -> None:
        timeout = self._settings.request_timeout_s
        parts: list[TopicPartition] = []
        ends: dict[tuple[str, int], int] = {}
        for topic in self.topics.values():
            md = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
            if md is None or md.error is not None or not md.partitions:
                raise ViewStoreError(f"view topic {topic} does not exist (yet)", topic=topic)
            for p in md.partitions:
                # With read_committed this is the last stable offset: open transactions do not block readiness.
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
                if high > 0:
                    ends[(topic, p)] = high
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
        with self._lock:
            self._pending = ends
            self._error = None
        consumer.assign(parts)
        if not ends:
            self._ready.set()
        log.info("view store assigned %d partitions, %d to load", len(parts), len(ends))

    def _apply(self, msg: Any, decode: AvroDeserializer) -> bool:
        """Apply one record; False when it must be retried (registry unreachable)."""
        topic, view = msg.topic(), self._view_of[msg.topic()]
        raw_key = msg.key()
        where = f"{topic}[{msg.partition()}]@{msg.offset()}"
        if raw_key is None:
            self._decode_error(f"{where}: record without a key")
            return True
        key = raw_key.decode("utf-8", errors="replace")
        if msg.value() is None:
            row = None  # tombstone: the key left the view
        else:
            try:
                row = _jsonable(decode(msg.value(), topic).value)
            except RegistryError as exc:
                if self._error is None:  # the first failure of an outage, not every retry
                    log.warning("view store: %s; retrying", exc)
                self._set_error(f"{where}: {exc}")
                return False
            except SerdeError as exc:
                self._decode_error(f"{where}: {type(exc).__name__}: {exc}")
                return True
        with self._lock:
            if row is None:
                self._rows[view].pop(key, None)
            else:
                self._rows[view][key] = row
            self._records += 1
            self._updated_at = time.time()
            kind, stamp = msg.timestamp()
            at = stamp / 1000 if kind != TIMESTAMP_NOT_AVAILABLE and stamp > 0 else self._updated_at
            if self._view_updated[view] is None or at > self._view_updated[view]:
                self._view_updated[view] = at
            self._error = None
        return True

    @staticmethod
    def _rewind(consumer: Consumer, unapplied: list[Any]) -> None:
        """Seek each partition back to its first record of ``unapplied``."""
        first: dict[tuple[str, int], int] = {}
        for msg in unapplied:
            if not msg.error():
                first.setdefault((msg.topic(), msg.partition()), msg.offset())
        for (topic, partition), offset in first.items():
            consumer.seek(TopicPartition(topic, partition, offset))

    def _decode_error(self, message: str) -> None:
        # Not dropped silently: logged, counted and shown on /healthz.
        log.warning("view record skipped: %s", message)
        with self._lock:
            self._decode_errors += 1
            self._last_decode_error = message

    def _set_error(self, message: str) -> None:
        with self._lock:
            self._error = message

    def _caught_up_to(self, topic: str, partition: int, position: int) -> None:
        if self._ready.is_set():
            return
        with self._lock:
            end = self._pending.get((topic, partition))
            if end is not None and position >= end:
                del self._pending[(topic, partition)]
            done = not self._pending
        if done:
            self._ready.set()
            log.info("view store caught up: %s", {v: len(t) for v, t in self._rows.items()})

    def _check_positions(self, consumer: Consumer) -> None:
        # Transaction markers take offsets but are never delivered: compare positions too.
        if self._ready.is_set():
            return
        with self._lock:
            pending = list(self._pending)
        if not pending:
            return
        for tp in consumer.position([TopicPartition(t, p) for t, p in pending]):
            if tp.offset >= 0:
                self._caught_up_to(tp.topic, tp.partition, tp.offset)
