"""The public keys' register ``egov.keys``: the operator writes key records, everyone who verifies reads them.

One record per change, keyed by the key id, the value ``KeyRecord.to_json()``
as JSON (no Avro: it is read before any schema). The topic is compacted, so
its latest record per id is the key's state. Only the operator (a super user)
may write it; the processors may read it (``topics/acls.yaml``).

:class:`KeyRegister` holds the operator's rules on top of the plain write:
:meth:`KeyRegister.register` refuses an id that clashes with what is
registered, :meth:`KeyRegister.rotate` overlaps the region's old keys with
the new one, :meth:`KeyRegister.revoke` ends a key for good.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import KafkaException

from bus.kafka.connectivity import principal
from bus.kafka.exceptions import DeliveryError
from bus.kafka.producer import EgovProducer
from bus.keys.exceptions import KeyRegisterError
from bus.keys.ring import FollowingKeyRing, KeyRing, encode_record
from schemas import regions
from schemas.signing import CENTRE_CODE, KeyRecord
from schemas.topic_names import keys_topic


def now_utc() -> datetime:
    """The current time, UTC, to the second (what the register's records carry)."""
    return datetime.now(UTC).replace(microsecond=0)


def check_region(region_code: str) -> str:
    """``region_code`` when it is a current Kemendagri region (province or kabupaten/kota) or the centre."""
    if region_code == CENTRE_CODE:
        return region_code
    found = regions.region(region_code)
    if found is None or found.code != region_code:
        raise KeyRegisterError(f"{region_code!r} is not a current Kemendagri region code (e.g. 32.01), "
                               f"nor {CENTRE_CODE!r} (the centre)", region_code=region_code)
    return region_code


@dataclass(frozen=True)
class Rotation:
    """What :meth:`KeyRegister.rotate` wrote: the new key and the old keys it ends."""

    new: KeyRecord
    ended: tuple[KeyRecord, ...]


class KeyRegister:
    """Reads and writes ``egov.keys`` (``<prefix>.egov.keys`` in a namespace) with ``settings``' credentials."""

    def __init__(self, settings: Any, prefix: str | None = None) -> None:
        self.settings = settings
        self.topic = keys_topic(prefix)

    # -- reading ---------------------------------------------------------------------------

    def follow(self, **kwargs: Any) -> FollowingKeyRing:
        """A ring that reads the register from the start on its first refresh and follows it."""
        return FollowingKeyRing.open(self.settings, self.topic, **kwargs)

    def read(self, timeout: float | None = None) -> KeyRing:
        """The whole register as it is now; :class:`KeyRegisterError` when it cannot be read to its end in time."""
        timeout = self.settings.request_timeout_s if timeout is None else timeout
        with self.follow() as ring:
            ring.refresh(timeout)
            if not ring.caught_up:
                raise KeyRegisterError(f"{self.topic} was not read to its end within {timeout}s", topic=self.topic)
            snapshot = KeyRing()
            for record in ring.records():
                snapshot.apply(record, ring.reason_of(record.key_id))
            snapshot.skipped = ring.skipped
            return snapshot

    # -- writing ---------------------------------------------------------------------------

    def write(self, *records: KeyRecord, reason: str | None = None) -> None:
        """Write ``records`` in order and wait until the broker has every one (idempotent, acks=all)."""
        # A missing register must not be created by the first write (a broker with
        # auto.create.topics.enable would make it with none of the catalogue's settings).
        producer = EgovProducer(self.settings, **{"allow.auto.create.topics": False})
        try:
            self._check_topic(producer)
            for record in records:
                producer.produce(self.topic, encode_record(record, reason), key=record.key_id.encode())
            producer.flush()
        except DeliveryError as exc:
            code = exc.fields.get("code")
            if code == "TOPIC_AUTHORIZATION_FAILED":
                raise KeyRegisterError(f"{principal(self.settings)} is not authorized to write {self.topic} "
                                       f"(TOPIC_AUTHORIZATION_FAILED): only the operator registers keys",
                                       topic=self.topic, code=code) from None
            if code in ("UNKNOWN_TOPIC_OR_PART", "_UNKNOWN_TOPIC"):
                raise KeyRegisterError(f"the key register {self.topic} does not exist: the operator creates it with "
                                       f"`egov-bus topics apply`", topic=self.topic, code=code) from None
            raise KeyRegisterError(f"writing {self.topic} failed: {exc}", topic=self.topic, code=code) from exc

    def _check_topic(self, producer: EgovProducer) -> None:
        try:
            found = producer.raw.list_topics(self.topic, timeout=self.settings.request_timeout_s).topics.get(self.topic)
        except KafkaException as exc:
            raise KeyRegisterError(f"cannot reach {self.topic}: {exc}", topic=self.topic) from exc
        code = found.error.name() if found is not None and found.error is not None else None
        if found is None or code == "UNKNOWN_TOPIC_OR_PART":
            raise KeyRegisterError(f"the key register {self.topic} does not exist: the operator creates it with "
                                   f"`egov-bus topics apply`", topic=self.topic)
        if code == "TOPIC_AUTHORIZATION_FAILED":
            raise KeyRegisterError(f"{principal(self.settings)} is not authorized to write {self.topic} "
                                   f"(TOPIC_AUTHORIZATION_FAILED): only the operator registers keys",
                                   topic=self.topic, code=code)
        if code is not None:
            raise KeyRegisterError(f"{self.topic}: {found.error.str()}", topic=self.topic, code=code)

    # -- the operator's rules ----------------------------------------------------------------

    def register(self, record: KeyRecord, ring: KeyRing | None = None) -> bool:
        """Add a key; False (nothing written) when exactly this record is registered already.

        Refuses a key whose id is registered with another public key, region or
        validity (a key's validity changes only by :meth:`rotate` or :meth:`revoke`),
        a revoked key, and a record that is revoked or ends before it starts.
        """
        check_region(record.region_code)
        if record.revoked_at is not None:
            raise KeyRegisterError(f"key {record.key_id}: a new key is not revoked", key_id=record.key_id)
        if record.valid_until is not None and record.valid_until <= record.valid_from:
            raise KeyRegisterError(f"key {record.key_id}: valid until {record.valid_until.isoformat()} is not after "
                                   f"valid from {record.valid_from.isoformat()}", key_id=record.key_id)
        ring = self.read() if ring is None else ring
        existing = ring.lookup(record.key_id)
        if existing is not None:
            if existing.revoked_at is not None:
                raise KeyRegisterError(f"key {record.key_id} was revoked at {existing.revoked_at.isoformat()}: a "
                                       f"revoked key is never registered again; make a new one", key_id=record.key_id)
            if existing.public_key != record.public_key or existing.region_code != record.region_code:
                raise KeyRegisterError(f"key id {record.key_id} is registered with another public key",
                                       key_id=record.key_id)
            if existing == record:
                return False
            raise KeyRegisterError(
                f"key {record.key_id} is registered already (valid from {existing.valid_from.isoformat()}"
                f"{' until ' + existing.valid_until.isoformat() if existing.valid_until else ''}); its validity "
                f"changes only by `egov-bus keys rotate` or `egov-bus keys revoke`", key_id=record.key_id)
        self.write(record)
        return True

    def rotate(self, new: KeyRecord, overlap: timedelta, now: datetime | None = None,
               ring: KeyRing | None = None) -> Rotation:
        """Register ``new`` (valid from ``now``) and end the region's other keys at ``now + overlap``.

        During the overlap the region holds two valid keys, so what it signed
        with the old key just before switching is still accepted. A key that
        ends sooner keeps its end; revoked and expired keys are left as they are.
        """
        now = now or now_utc()
        if overlap < timedelta(0):
            raise KeyRegisterError("the overlap of a rotation is not negative", overlap=str(overlap))
        ring = self.read() if ring is None else ring
        if ring.lookup(new.key_id) is not None:
            raise KeyRegisterError(f"key {new.key_id} is registered already: a rotation brings a new key",
                                   key_id=new.key_id)
        new = replace(new, valid_from=now, valid_until=None, revoked_at=None)
        end = now + overlap
        ended = tuple(
            replace(old, valid_until=end)
            for old in ring.keys_of(new.region_code)
            if old.revoked_at is None and (old.valid_until is None or old.valid_until > end)
        )
        self.register(new, ring)
        if ended:
            # After the new key: at no moment is the region left without a valid key.
            self.write(*ended)
        return Rotation(new, ended)

    def revoke(self, key_id: str, reason: str | None = None, now: datetime | None = None,
               ring: KeyRing | None = None) -> KeyRecord:
        """Revoke ``key_id`` from ``now`` on: from then the centre accepts nothing it signed, whatever its time."""
        ring = self.read() if ring is None else ring
        existing = ring.lookup(key_id)
        if existing is None:
            raise KeyRegisterError(f"key {key_id} is not registered in {self.topic}", key_id=key_id)
        if existing.revoked_at is not None:
            raise KeyRegisterError(f"key {key_id} was revoked already at {existing.revoked_at.isoformat()}",
                                   key_id=key_id)
        revoked = replace(existing, revoked_at=now or now_utc())
        self.write(revoked, reason=reason)
        return revoked


__all__ = ["KeyRegister", "Rotation", "check_region", "now_utc"]
