"""The centre verifies before it counts: each record's signature, key and region (stage ``verify``).

A record passes when its signature headers parse, its key id is registered in
``egov.keys``, the key belongs to the record's region (the record key; the
envelope is held to the key by the next stage) or is the centre's own, the key
was valid at the record's ``ce_time`` and was not revoked, and the batch
signature over the root that its Merkle proof gives verifies. Anything else is
a :class:`VerificationError` whose ``reason`` (one of :data:`REASONS`) labels
``egov_processor_verify_failures_total`` and the dead letter.

One Ed25519 verification costs ~120 µs, so a verified (key id, root, size,
signature) is remembered (bounded): the other records of the same signed batch
cost only their leaf and proof hashes. Only successes are remembered; a
failure is computed again, so a forged record cannot poison the cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from processors import metrics
from processors.exceptions import ProcessorError
from schemas.cloudevents import HEADER_TIME, header_text
from schemas.signing import CENTRE_CODE, KeyRecord, SignatureError, leaf_of, read_signature, verify_batch_signature

#: Why a record fails verification (the metric's ``reason`` label).
REASONS = ("unsigned", "malformed", "unknown_key", "revoked_key", "expired_key", "foreign_key", "bad_signature")
#: Verified batch signatures remembered: a few per region in flight at once.
CACHE_SIZE = 8192
#: An unknown key id re-reads egov.keys at most this often (a flood of forged ids must not stall the loop).
REFRESH_INTERVAL_S = 1.0


class VerificationError(ProcessorError):
    """A record's proof of origin does not hold; ``reason`` says which check failed."""

    def __init__(self, reason: str, message: str, **fields: Any) -> None:
        super().__init__(f"{reason}: {message}", reason=reason, **fields)
        self.reason = reason


class Verifier:
    """Checks records against a key register (``lookup``), refreshing it when an unknown key id shows up."""

    def __init__(self, lookup: Callable[[str], KeyRecord | None], refresh: Callable[[], None] | None = None,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup = lookup
        self._refresh = refresh
        self._clock = clock
        self._last_refresh = float("-inf")
        self._verified: OrderedDict[tuple[str, bytes, int, bytes], None] = OrderedDict()

    def check(self, topic: str, theme: str, msg: Any) -> None:
        """Raise :class:`VerificationError` unless ``msg`` carries a valid proof of origin."""
        try:
            self._check(topic, msg)
        except VerificationError as exc:
            metrics.VERIFY_FAILURES.labels(theme, exc.reason).inc()
            raise

    def _check(self, topic: str, msg: Any) -> None:
        headers = msg.headers()
        try:
            sig = read_signature(headers)
        except SignatureError as exc:
            raise VerificationError("malformed", str(exc)) from None
        if sig is None:
            raise VerificationError("unsigned", "the record carries no signature headers")
        record = self._key(sig.key_id)
        raw_key = msg.key()
        region = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else str(raw_key)
        if record.region_code not in (region, CENTRE_CODE):
            raise VerificationError("foreign_key", f"key {sig.key_id} belongs to region {record.region_code}, "
                                    f"the record to {region}", key_id=sig.key_id, region_code=region)
        if record.revoked_at is not None:
            raise VerificationError("revoked_key", f"key {sig.key_id} was revoked at {record.revoked_at.isoformat()}",
                                    key_id=sig.key_id)
        ce_time = header_text(headers, HEADER_TIME)
        try:
            when = datetime.fromisoformat(ce_time or "")
        except ValueError:
            raise VerificationError("malformed", f"ce_time {ce_time!r} is not an RFC 3339 time") from None
        if not record.valid_at(when):
            until = record.valid_until.isoformat() if record.valid_until else "open"
            raise VerificationError("expired_key", f"key {sig.key_id} is valid from {record.valid_from.isoformat()} "
                                    f"until {until}, not at {ce_time}", key_id=sig.key_id)
        try:
            root = sig.root(leaf_of(topic, raw_key, msg.value(), headers))
        except SignatureError as exc:
            raise VerificationError("malformed", str(exc)) from None
        cached = (sig.key_id, root, sig.size, sig.signature)
        if cached in self._verified:
            self._verified.move_to_end(cached)
            return
        if not verify_batch_signature(record.public_key, root, sig.size, sig.signature):
            raise VerificationError("bad_signature", f"the signature of key {sig.key_id} does not match the record "
                                    "(changed after signing, or not signed by that key)", key_id=sig.key_id)
        self._verified[cached] = None
        if len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)

    def _key(self, key_id: str) -> KeyRecord:
        record = self._lookup(key_id)
        if record is None and self._refresh is not None and self._clock() - self._last_refresh >= REFRESH_INTERVAL_S:
            # A key registered after the worker started: read the register's news once, then look again.
            self._last_refresh = self._clock()
            self._refresh()
            record = self._lookup(key_id)
        if record is None:
            raise VerificationError("unknown_key", f"key {key_id} is not in the key register (egov.keys)",
                                    key_id=key_id)
        return record
