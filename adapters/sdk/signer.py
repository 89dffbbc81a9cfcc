"""Signing what a publisher sends: one Ed25519 signature per batch, a Merkle proof per record.

The signed bytes, the tree and the headers are :mod:`schemas.signing`'s (the
centre checks the same definition). A publisher signs with the key of the
region each event speaks for: ``EGOV_SIGNING_KEY_FILE`` (a region's systems:
one key) or ``EGOV_SIGNING_KEYS_DIR`` (the gateway and the simulator: a key per
region they serve). An event of a region it holds no key for is refused
before anything is sent: the centre would dead-letter it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from adapters.sdk.exceptions import SigningKeyMissingError
from bus.keys import load_signing_key, load_signing_keys
from schemas.signing import SigningKey, leaf_of

log = logging.getLogger("egov.sdk.signer")


class BatchSigner:
    """Appends the signature headers to encoded records, one signature per region per batch."""

    def __init__(self, keys: dict[str, SigningKey]) -> None:
        if not keys:
            raise SigningKeyMissingError("a signer needs at least one region's key")
        self.keys = dict(keys)

    @classmethod
    def from_settings(cls, settings: Any) -> "BatchSigner | None":
        """The signer the settings configure, or None (unsigned publishing, warned once)."""
        keys: dict[str, SigningKey] = {}
        if getattr(settings, "signing_keys_dir", None):
            keys.update(load_signing_keys(settings.signing_keys_dir))
        if getattr(settings, "signing_key_file", None):
            key = load_signing_key(settings.signing_key_file)
            keys[key.region_code] = key
        if not keys:
            log.warning("no signing key configured (EGOV_SIGNING_KEY_FILE or EGOV_SIGNING_KEYS_DIR): events are "
                        "published unsigned, and a centre that verifies signatures dead-letters them")
            return None
        return cls(keys)

    def key_for(self, region_code: str) -> SigningKey:
        key = self.keys.get(region_code)
        if key is None:
            held = ", ".join(sorted(self.keys)) or "none"
            raise SigningKeyMissingError(
                f"no signing key for region {region_code} (this publisher holds keys of: {held}); "
                f"create one with `egov-bus keys new --region {region_code}` and have the operator register it",
                region_code=region_code,
            )
        return key

    def sign(self, encoded: Sequence[tuple[Any, bytes, bytes, list]]) -> None:
        """Sign ``(codec, key, value, headers)`` records in place: their ``headers`` lists grow by three."""
        by_region: dict[bytes, list[int]] = defaultdict(list)
        for index, item in enumerate(encoded):
            by_region[item[1]].append(index)
        for region_key, indexes in by_region.items():
            key = self.key_for(region_key.decode())
            leaves = [leaf_of(encoded[i][0].topic, encoded[i][1], encoded[i][2], encoded[i][3]) for i in indexes]
            for i, extra in zip(indexes, key.sign_batch(leaves)):
                encoded[i][3].extend(extra)
