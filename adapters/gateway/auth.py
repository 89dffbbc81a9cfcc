"""Per-region API keys, stored only as hashes.

A key is a random 256-bit token (``egk_…``), so a fast SHA-256 of it is as
safe to store as a slow password hash: there is nothing to brute-force. The
gateway keeps a dict from hash to region; the key itself is never stored or
logged.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adapters.gateway.exceptions import ApiKeyConfigError

_PREFIX = "egk_"
_SCHEME = "sha256:"


def new_api_key() -> str:
    """A fresh random API key (shown once to the region, never stored)."""
    return _PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The stored form of ``key``: ``sha256:<64 hex>``."""
    return _SCHEME + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """Who a key belongs to, and its own rate limit if its entry sets one.

    ``key_id`` is the stored hash (not a secret: it is in the keys file), which
    names the key's token bucket; ``rate`` (events/s, 0: unlimited) and ``burst``
    are ``None`` where the gateway's default applies.
    """

    region_code: str
    name: str
    key_id: str = field(default="", repr=False)
    rate: float | None = None
    burst: int | None = None


class ApiKeyStore:
    """Hashed keys -> region; :meth:`authenticate` maps a presented key to its owner."""

    def __init__(self, entries: Iterable[tuple[str, str, str]] = ()) -> None:
        self._by_hash: dict[str, ApiKey] = {}
        for key_hash, region_code, name in entries:
            self.add(key_hash, region_code, name)

    def add(self, key_hash: str, region_code: str, name: str = "", *, rate: float | None = None,
            burst: int | None = None) -> None:
        """One key by its hash; ``rate``/``burst`` override the gateway's default limit for it."""
        key_hash = key_hash.strip().lower()
        if not key_hash.startswith(_SCHEME) or len(key_hash) != len(_SCHEME) + 64:
            raise ApiKeyConfigError(
                f"API key entry for region {region_code!r}: expected a hash 'sha256:<64 hex>', "
                "never the key itself (create one with `egov-bus gateway-key --region <code>`)",
                region_code=region_code,
            )
        try:
            bytes.fromhex(key_hash[len(_SCHEME) :])
        except ValueError:
            raise ApiKeyConfigError(f"API key entry for region {region_code!r}: hash is not hex") from None
        rate, burst = _check_limit(rate, burst, f"API key entry for region {region_code!r}")
        self._by_hash[key_hash] = ApiKey(region_code=str(region_code), name=name or str(region_code),
                                         key_id=key_hash, rate=rate, burst=burst)

    def __len__(self) -> int:
        return len(self._by_hash)

    def regions(self) -> set[str]:
        return {k.region_code for k in self._by_hash.values()}

    def authenticate(self, presented: str | None) -> ApiKey | None:
        """The owner of ``presented``, or ``None`` for a missing or unknown key."""
        if not presented:
            return None
        return self._by_hash.get(hash_api_key(presented.strip()))

    def check_regions(self, is_region: Callable[[str], bool]) -> None:
        """Refuse entries whose region code is not a current Kemendagri code."""
        bad = sorted(k.region_code for k in self._by_hash.values() if not is_region(k.region_code))
        if bad:
            raise ApiKeyConfigError(f"API keys for unknown region codes: {', '.join(bad)}", region_codes=bad)

    # -- loading --------------------------------------------------------------------

    @classmethod
    def parse_inline(cls, text: str) -> "ApiKeyStore":
        """``"32.01=sha256:…,33=sha256:…"`` (the ``EGOV_GATEWAY_API_KEYS`` form)."""
        store = cls()
        for item in filter(None, (part.strip() for part in text.replace("\n", ",").split(","))):
            region, sep, key_hash = item.partition("=")
            if not sep:
                raise ApiKeyConfigError(
                    "EGOV_GATEWAY_API_KEYS entries are 'region_code=sha256:<hex>' separated by commas"
                )
            store.add(key_hash, region.strip())
        return store

    @classmethod
    def load_file(cls, path: Path | str) -> "ApiKeyStore":
        """A YAML or JSON file ``{keys: [{region_code, hash, name?, rate?, burst?}, ...]}``.

        ``rate`` (events per second, 0: unlimited) and ``burst`` (the most events
        at once, an integer >= 1) override the gateway's default limit for that key.
        """
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ApiKeyConfigError(f"cannot read API key file {path}: {exc.strerror}", path=str(path)) from exc
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiKeyConfigError(f"API key file {path} does not parse: {exc}", path=str(path)) from exc
        entries = (data or {}).get("keys") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ApiKeyConfigError(f"API key file {path}: expected a top-level 'keys' list", path=str(path))
        store = cls()
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or "region_code" not in entry or "hash" not in entry:
                raise ApiKeyConfigError(
                    f"API key file {path}: keys[{index}] needs 'region_code' and 'hash'", path=str(path)
                )
            label = f"region {entry['region_code']!r}" + (f", name {entry['name']!r}" if entry.get("name") else "")
            rate, burst = _check_limit(entry.get("rate"), entry.get("burst"),
                                       f"API key file {path}: keys[{index}] ({label})", path=str(path))
            store.add(str(entry["hash"]), str(entry["region_code"]), str(entry.get("name") or ""),
                      rate=rate, burst=burst)
        return store

    @classmethod
    def from_settings(cls, settings: object) -> "ApiKeyStore":
        """Keys from ``gateway_api_keys_file`` and ``gateway_api_keys`` (both may be set)."""
        store = cls()
        path = getattr(settings, "gateway_api_keys_file", None)
        inline = getattr(settings, "gateway_api_keys", None)
        if path:
            store._by_hash.update(cls.load_file(path)._by_hash)
        if inline:
            store._by_hash.update(cls.parse_inline(inline)._by_hash)
        if not store._by_hash:
            raise ApiKeyConfigError(
                "the gateway has no API keys: set EGOV_GATEWAY_API_KEYS_FILE or EGOV_GATEWAY_API_KEYS "
                "(create keys with `egov-bus gateway-key --region <code>`)"
            )
        return store


def _check_limit(rate: Any, burst: Any, where: str, **context: Any) -> tuple[float | None, int | None]:
    # bool is an int in Python: `rate: true` in YAML is a mistake, not 1 event/s.
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                             or not math.isfinite(rate) or rate < 0):
        raise ApiKeyConfigError(f"{where}: 'rate' must be events per second, a number >= 0 (0: unlimited), "
                                f"got {rate!r}", **context)
    if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
        raise ApiKeyConfigError(f"{where}: 'burst' must be a whole number of events >= 1, got {burst!r}",
                                **context)
    return (None if rate is None else float(rate)), burst
