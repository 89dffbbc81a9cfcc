"""The public keys the centre knows: ``egov.keys`` folded into a lookup table.

:class:`KeyRing` is the pure part: records go in (:meth:`KeyRing.apply_raw`
takes them as they come off the topic), the latest record of each key id
wins, and a malformed record is logged and skipped, never raised, so one bad
record cannot stop a worker that verifies every event. :class:`FollowingKeyRing`
adds a consumer of the topic: :meth:`FollowingKeyRing.refresh` reads what is
new since the last call and never blocks longer than its ``timeout``, so the
processors' single-threaded loop can call it between batches, and
:meth:`FollowingKeyRing.needs_refresh_for` tells it when an unknown key id is
worth an immediate re-read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from bus.keys.exceptions import KeyRegisterError
from schemas.signing import KeyRecord, SignatureError

LOG = logging.getLogger("egov.keys")
#: Extra field of a revocation's JSON value: why the operator revoked the key (not part of KeyRecord).
REASON_FIELD = "revoked_reason"
KeyState = Literal["valid", "expired", "revoked", "not yet"]


def key_state(record: KeyRecord, now: datetime) -> KeyState:
    """What ``record`` accepts at ``now``: ``valid``, ``expired``, ``revoked`` or ``not yet`` (valid later)."""
    if record.revoked_at is not None:
        return "revoked"
    if now < record.valid_from:
        return "not yet"
    if record.valid_until is not None and now >= record.valid_until:
        return "expired"
    return "valid"


def encode_record(record: KeyRecord, reason: str | None = None) -> bytes:
    """The JSON value of ``record`` in ``egov.keys`` (keys sorted, so equal records are equal bytes)."""
    data = record.to_json()
    if reason:
        data[REASON_FIELD] = reason
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


class KeyRing:
    """Every registered key by id: the latest record of each id in ``egov.keys``."""

    def __init__(self, records: Iterable[KeyRecord] = ()) -> None:
        self._by_id: dict[str, KeyRecord] = {}
        self._reasons: dict[str, str] = {}
        #: Records skipped because they were malformed (counted for tests and ``keys list``).
        self.skipped = 0
        for record in records:
            self.apply(record)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._by_id

    def records(self) -> list[KeyRecord]:
        """Every key, by region then start of validity."""
        return sorted(self._by_id.values(), key=lambda r: (r.region_code, r.valid_from, r.key_id))

    def lookup(self, key_id: str) -> KeyRecord | None:
        """The key with this id, or None when it is not registered."""
        return self._by_id.get(key_id)

    def keys_of(self, region_code: str) -> list[KeyRecord]:
        """The region's keys (any state), oldest first."""
        return [r for r in self.records() if r.region_code == region_code]

    def reason_of(self, key_id: str) -> str | None:
        """Why the key was revoked, when the operator said so."""
        return self._reasons.get(key_id)

    def apply(self, record: KeyRecord, reason: str | None = None) -> None:
        """Take ``record`` as its key's current state (a later record of the same id replaces it)."""
        self._by_id[record.key_id] = record
        if reason:
            self._reasons[record.key_id] = reason
        else:
            self._reasons.pop(record.key_id, None)

    def apply_raw(self, key: bytes | None, value: bytes | None, where: str = "key register") -> bool:
        """Apply one record as read from the topic; False (logged, skipped) when it is malformed."""
        kafka_key = key.decode("utf-8", "replace") if key is not None else None
        if value is None:
            # The register never deletes (a key's record outlives what it signed); a tombstone
            # is someone else's doing, and forgetting the key is the safe reading of it.
            if kafka_key is not None and self._by_id.pop(kafka_key, None) is not None:
                LOG.warning("%s: tombstone for key %s: the key is forgotten (its signatures are refused)",
                            where, kafka_key)
            return True
        try:
            data = json.loads(value)
            if not isinstance(data, dict):
                raise SignatureError(f"malformed key record: a JSON object expected, got {type(data).__name__}")
            record = KeyRecord.from_json(data)
        except (ValueError, SignatureError) as exc:
            return self._skip(where, f"{exc}")
        if kafka_key != record.key_id:
            return self._skip(where, f"record of key {record.key_id} under the Kafka key {kafka_key!r}")
        reason = data.get(REASON_FIELD)
        self.apply(record, str(reason) if reason else None)
        return True

    def _skip(self, where: str, why: str) -> bool:
        self.skipped += 1
        LOG.warning("%s: skipped a malformed key record: %s", where, why)
        return False


class FollowingKeyRing(KeyRing):
    """A :class:`KeyRing` that stays current by reading ``topic`` from where it last stopped.

    Single-threaded by design: the owner calls :meth:`refresh` (the processors
    from their loop, every ``refresh_interval_s`` as :meth:`refresh_due` says,
    and at once for a key id :meth:`needs_refresh_for` names). It reads by
    assignment, without committing offsets: every worker reads the whole
    register from the start.
    """

    def __init__(self, consumer: Any, topic: str, *, refresh_interval_s: float = 5.0,
                 unknown_refresh_gap_s: float = 1.0, default_timeout_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._consumer = consumer
        self.topic = topic
        self.refresh_interval_s = refresh_interval_s
        self.unknown_refresh_gap_s = unknown_refresh_gap_s
        self._default_timeout_s = default_timeout_s
        self._clock = clock
        self._last_refresh = float("-inf")
        self._positions: dict[int, int] = {}
        self._asked: set[str] = set()
        #: Whether the last refresh reached the end the topic had when it started.
        self.caught_up = False

    @classmethod
    def open(cls, settings: Any, topic: str, *, group_id: str | None = None, **kwargs: Any) -> "FollowingKeyRing":
        """A ring reading ``topic`` with ``settings``' credentials (nothing read yet: call :meth:`refresh`).

        ``group_id`` only names the client (offsets are never committed); the
        default, ``<EGOV_PROCESSOR_APP_ID>-keys``, lies inside the processors'
        group prefix so their ACLs cover it.
        """
        conf = settings.librdkafka_config(**{
            "group.id": group_id or f"{settings.processor_app_id}-keys",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            # The background fetch keeps the ring's queue current; refresh's offset request
            # waits behind an idle fetch, so an idle fetch returns this soon.
            "fetch.wait.max.ms": 50,
            "logger": logging.getLogger("egov.kafka.consumer"),
        })
        kwargs.setdefault("default_timeout_s", settings.request_timeout_s)
        return cls(Consumer(conf), topic, **kwargs)

    def close(self) -> None:
        """Release the consumer."""
        self._consumer.close()

    def __enter__(self) -> "FollowingKeyRing":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- when to read -----------------------------------------------------------------

    def refresh_due(self) -> bool:
        """Whether ``refresh_interval_s`` has passed since the last refresh began."""
        return self._clock() - self._last_refresh >= self.refresh_interval_s

    def needs_refresh_for(self, key_id: str) -> bool:
        """Whether an unknown ``key_id`` is worth one immediate refresh.

        Each unknown id asks once (a key registered after the worker started is
        found on its first record), and at most once per ``unknown_refresh_gap_s``
        overall: a flood of made-up ids must not turn every record into a
        round trip to the broker.
        """
        if key_id in self._by_id or key_id in self._asked:
            return False
        if self._clock() - self._last_refresh < self.unknown_refresh_gap_s:
            return False
        if len(self._asked) >= 10_000:
            self._asked.clear()
        self._asked.add(key_id)
        return True

    # -- reading ------------------------------------------------------------------------

    def refresh(self, timeout: float | None = None) -> int:
        """Read every record written before this call; returns how many were applied.

        Asks the broker for the register's end (one round trip, at most the
        consumer's ``fetch.wait.max.ms`` behind its background fetch) and reads
        up to it, or until ``timeout`` (default: the settings' request timeout)
        runs out; :attr:`caught_up` says which. A broker that does not answer in
        time is not an error: the next refresh goes on. Raises
        :class:`KeyRegisterError` when the topic does not exist or the broker
        refuses this principal.
        """
        timeout = self._default_timeout_s if timeout is None else timeout
        deadline = self._clock() + timeout
        self._last_refresh = self._clock()
        self.caught_up = False
        if not self._positions and not self._assign(deadline):
            return 0
        ends = self._ends(deadline)
        if ends is None:
            return 0
        applied = self._take(0)
        while any(self._positions[p] < end for p, end in ends.items()):
            left = deadline - self._clock()
            if left <= 0:
                return applied
            applied += self._take(min(left, 0.02))
        self.caught_up = True
        return applied

    def drain(self) -> int:
        """Apply what the consumer's background fetch has brought already, without waiting; how many applied.

        Cheap enough for every turn of a loop (no broker round trip): a record
        written to the register reaches the ring within a fetch, milliseconds.
        """
        if not self._positions:
            return 0
        return self._take(0)

    def _take(self, timeout: float) -> int:
        applied = 0
        for msg in self._consumer.consume(num_messages=500, timeout=timeout):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise self._refused(err)
            if self.apply_raw(msg.key(), msg.value(), f"{self.topic}[{msg.partition()}]@{msg.offset()}"):
                applied += 1
            self._positions[msg.partition()] = max(self._positions[msg.partition()], msg.offset() + 1)
        self._advance_to_fetch_positions()
        return applied

    def _ends(self, deadline: float) -> dict[int, int] | None:
        """Each partition's end offset now (None when the broker did not answer in time)."""
        ends: dict[int, int] = {}
        for partition in sorted(self._positions):
            try:
                low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(self.topic, partition), timeout=max(0.05, deadline - self._clock()), cached=False)
            except KafkaException as exc:
                err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                if err is not None and err.code() == KafkaError._TIMED_OUT:
                    return None
                if err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                    raise self._refused(err) from None
                raise KeyRegisterError(f"cannot read the end of {self.topic}: {exc}", topic=self.topic) from exc
            if self._positions[partition] < low:
                self._positions[partition] = low
            ends[partition] = high
        return ends

    def _assign(self, deadline: float) -> bool:
        """Assign every partition from its start (False when the broker did not answer in time)."""
        try:
            metadata = self._consumer.list_topics(self.topic, timeout=max(0.05, deadline - self._clock()))
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if err is not None and err.code() == KafkaError._TIMED_OUT:
                return False
            raise KeyRegisterError(f"cannot read {self.topic}: {exc}", topic=self.topic) from exc
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None:
            if found is not None and found.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                raise self._refused(found.error)
            raise KeyRegisterError(f"the key register {self.topic} does not exist: the operator creates it with "
                                   f"`egov-bus topics apply`", topic=self.topic)
        # One partition by the catalogue; a register that grew would need a new ring (a restart).
        parts = [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in sorted(found.partitions)]
        self._consumer.incremental_assign(parts)
        self._positions = {tp.partition: -1 for tp in parts}
        return True

    def _advance_to_fetch_positions(self) -> None:
        # Past what no message shows: offsets left by compaction or control records.
        assigned = [TopicPartition(self.topic, p) for p in self._positions]
        for tp in self._consumer.position(assigned):
            if tp.offset >= 0:
                self._positions[tp.partition] = max(self._positions[tp.partition], tp.offset)

    def _refused(self, err: KafkaError) -> KeyRegisterError:
        if err.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED):
            return KeyRegisterError(f"not authorized to read {self.topic} ({err.name()}): the processors and the "
                                    f"operator read the key register, nobody else", topic=self.topic, code=err.name())
        return KeyRegisterError(f"reading {self.topic} failed: {err.str()}", topic=self.topic, code=err.name())


__all__ = ["KeyRing", "FollowingKeyRing", "KeyState", "key_state", "encode_record", "REASON_FIELD"]
