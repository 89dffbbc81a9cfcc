"""NIK -> keyed pseudonym plus derived fields.

Why keyed: at most 10^4 NIKs share a district and a birth date, so a plain
hash of a NIK is enumerable in seconds. HMAC-SHA256 with a secret key that
stays in the region is not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from typing import Any

from adapters.privacy.exceptions import InvalidAgeError, InvalidNikError, MissingPseudonymKeyError, RawNikError
from schemas.privacy import NIK_FIELD, RAW_NIK_RULE, find_raw_nik, raw_nik_message
from schemas.regions import parse_nik

__all__ = [
    "NIK_FIELD",
    "PERSON_FIELDS",
    "PersonFields",
    "Pseudonymizer",
    "age_band",
    "check_no_raw_nik",
    "find_raw_nik",
]

#: The fields a NIK turns into; a schema declares the subset it needs.
PERSON_FIELDS = ("nik_pseudonym", "sex", "age_band", "district_code")

_MIN_KEY_CHARS = 16
_NIK_SEPARATORS = re.compile(r"[\s.\-]")

_AGE_BAND_WIDTH = 5
_AGE_BAND_TOP = 85


def age_band(age: int) -> str:
    """Five-year band, ``"25-29"``; ``"85+"`` from 85 on (small counts at the top)."""
    if age < 0:
        raise InvalidAgeError(f"age {age} is negative", age=age)
    if age >= _AGE_BAND_TOP:
        return f"{_AGE_BAND_TOP}+"
    low = age - age % _AGE_BAND_WIDTH
    return f"{low}-{low + _AGE_BAND_WIDTH - 1}"


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass(frozen=True, slots=True)
class PersonFields:
    """What may leave the region about one person."""

    nik_pseudonym: str
    sex: str
    age_band: str
    district_code: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class Pseudonymizer:
    """Turns NIKs into ``nik_pseudonym`` and derived fields with one secret key.

    The same key gives the same pseudonym for the same person everywhere in a
    deployment, so central views can count distinct people without ever
    seeing who they are. Never log the key or a NIK.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes | str | Any) -> None:
        if hasattr(key, "get_secret_value"):
            key = key.get_secret_value()
        if isinstance(key, str):
            key = key.encode()
        if not key or len(key) < _MIN_KEY_CHARS:
            raise MissingPseudonymKeyError(
                f"the pseudonym key must have at least {_MIN_KEY_CHARS} characters; "
                "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'` "
                "and set EGOV_PSEUDONYM_KEY"
            )
        self._key = bytes(key)

    @classmethod
    def from_settings(cls, settings: Any, *, purpose: str = "handling NIKs") -> "Pseudonymizer":
        """The pseudonymizer of ``settings.pseudonym_key``; refuses to work without one."""
        key = getattr(settings, "pseudonym_key", None)
        if key is None or not key.get_secret_value():
            raise MissingPseudonymKeyError(
                f"{purpose} needs a pseudonym key: set EGOV_PSEUDONYM_KEY to a secret of at least "
                f"{_MIN_KEY_CHARS} characters (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`); "
                "a raw NIK must never leave the region"
            )
        return cls(key)

    def __repr__(self) -> str:  # never show the key
        return "Pseudonymizer(key=***)"

    @staticmethod
    def normalize(nik: Any) -> str:
        """The 16 digits of a NIK written with or without separators."""
        if isinstance(nik, int) and not isinstance(nik, bool):
            nik = f"{nik:016d}"
        if not isinstance(nik, str):
            raise InvalidNikError(f"a NIK must be a string of 16 digits, got {type(nik).__name__}", rule="type")
        digits = _NIK_SEPARATORS.sub("", nik)
        if len(digits) != 16 or not digits.isdigit() or not digits.isascii():
            # The message must not echo the value: it may be a real NIK with a typo.
            raise InvalidNikError(f"a NIK has exactly 16 digits, got {len(digits)} characters", rule="format")
        return digits

    def pseudonym(self, nik: Any) -> str:
        """``nik_pseudonym``: HMAC-SHA256(key, NIK) as 64 lowercase hex characters."""
        return hmac.new(self._key, self.normalize(nik).encode(), hashlib.sha256).hexdigest()

    def person(self, nik: Any, on: date | datetime | None = None) -> PersonFields:
        """Pseudonym plus sex, age band (on ``on``, default today UTC) and district of a valid NIK."""
        digits = self.normalize(nik)
        if isinstance(on, datetime):
            on = (on if on.tzinfo else on.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).date()
        on = on or datetime.now(timezone.utc).date()
        info = parse_nik(digits, reference_date=on)
        if not info.valid or info.birth_date is None or info.gender is None:
            reasons = "; ".join(f"{issue.code}: {issue.message}" for issue in info.errors) or "not a valid NIK"
            raise InvalidNikError(f"invalid NIK ({reasons})", rule="nik", reasons=[i.code for i in info.errors])
        birth = date.fromisoformat(info.birth_date)
        age = max(_age_on(birth, on), 0)
        return PersonFields(
            nik_pseudonym=hmac.new(self._key, digits.encode(), hashlib.sha256).hexdigest(),
            sex=info.gender,
            age_band=age_band(age),
            district_code=info.district_code,
        )

    def scrub(
        self,
        data: Mapping[str, Any],
        wanted: Collection[str] = PERSON_FIELDS,
        on: date | datetime | None = None,
    ) -> dict[str, Any]:
        """A copy of ``data`` with ``nik`` replaced by the wanted person fields.

        Fields the caller already gave (e.g. an explicit ``district_code``)
        are kept. Without a ``nik`` key, ``data`` is returned as a plain copy.
        """
        out = dict(data)
        if NIK_FIELD not in out:
            return out
        person = self.person(out.pop(NIK_FIELD), on=on).to_dict()
        for name in PERSON_FIELDS:
            if name in wanted and out.get(name) in (None, ""):
                out[name] = person[name]
        return out


def check_no_raw_nik(value: Any) -> None:
    """Raise :class:`RawNikError` naming the field if ``value`` holds a raw NIK (rule: :mod:`schemas.privacy`)."""
    found = find_raw_nik(value)
    if found is not None:
        raise RawNikError(raw_nik_message(found), loc=found, rule=RAW_NIK_RULE)
