"""Field types of the event models, each with its validation rule.

The code generator (:mod:`schemas.codegen`) picks these from the Avro type and,
for codes with an official list, the field name:

==================================  =====================  ===================
Avro                                field name             Python type
==================================  =====================  ===================
bytes decimal(20,2)                 any                    :data:`Money`
long timestamp-millis               any                    :data:`UtcDatetime`
int date                            any                    ``datetime.date``
string uuid                         any                    :data:`Uuid`
int                                 ``fiscal_year``        :data:`FiscalYear`
string                              ``region_code``,       :data:`RegionCode`
                                    ``*_region_code``
string                              ``district_code``,     :data:`DistrictCode`
                                    ``*_district_code``
string                              ``nik_pseudonym``      :data:`NikPseudonym`
string                              ``age_band``           :data:`AgeBand`
string                              ``source_system``      :data:`SourceSystem`
string                              ``agency_code``,       :data:`AgencyCode`
                                    ``*_agency_code``
string                              ``program_code``,      :data:`ProgramCode`
                                    ``*_program_code``
string                              ``activity_code``,     :data:`ActivityCode`
                                    ``*_activity_code``
string                              ``sub_activity_code``  :data:`SubActivityCode`
string / int / long / double        other                  :data:`Text`, :data:`AvroInt`,
                                                           :data:`AvroLong`, :data:`Double`
==================================  =====================  ===================

Every rule raises a ``PydanticCustomError`` whose type is the rule name, so a
:class:`schemas.SchemaValidationError` reports ``[rule: <name>]`` per field.

Control characters: a string holding a C0 control character other than tab,
line feed and carriage return (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F)
or DEL (U+007F) is refused in every string field, whatever its type, with the
rule ``control_character`` (:func:`control_character_message`; PostgreSQL, a
typical central consumer, cannot even store U+0000). Tab, line feed and
carriage return are allowed in plain text (:data:`Text`: descriptions,
names, titles may span lines) and refused by shape in every code type.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from schemas import regions
from schemas.privacy import RAW_NIK_MESSAGE, RAW_NIK_RULE, holds_raw_nik

# Plausible fiscal years: the bus starts long after 2000; 2100 stops typos like 20255.
FISCAL_YEAR_MIN = 2000
FISCAL_YEAR_MAX = 2100
# decimal(20,2): 20 digits in all, 2 after the point -> at most 18 before it.
MONEY_PRECISION = 20
MONEY_SCALE = 2
_CENT = Decimal(1).scaleb(-MONEY_SCALE)
AVRO_INT_MAX = 2**31 - 1
AVRO_LONG_MAX = 2**63 - 1

_ZERO = timedelta(0)
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")
# ASCII digits only ([0-9], not \d): int() would also read "２５" as 25.
_AGE_BAND = re.compile(r"([0-9]{1,3})-([0-9]{1,3})|([0-9]{1,3})\+")

#: The rule name of a refused control character.
CONTROL_CHARACTER_RULE = "control_character"
# The refused characters as a regex class (escaped, so that the pattern reads the same in
# Python's re, in pydantic-core's Rust regex and in the OpenAPI schema).
_CONTROL_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL_CHARACTER = re.compile(f"[{_CONTROL_CLASS}]")
#: What :data:`Text` must match: no refused control character (checked inside pydantic-core,
#: so the rule costs no Python call per field; :mod:`schemas.base` words the error).
TEXT_PATTERN = f"^[^{_CONTROL_CLASS}]*$"


def control_character_message(value: str) -> str | None:
    """Why ``value`` is refused for a control character, or ``None`` if it holds none.

    Names the first one and its position, never the value itself.
    """
    found = _CONTROL_CHARACTER.search(value)
    if found is None:
        return None
    return (
        f"holds the control character U+{ord(found.group()):04X} at position {found.start()}; "
        "no string field may hold U+0000-U+001F or U+007F (tab, line feed and carriage return "
        "only in free text)"
    )


def _money(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise PydanticCustomError("finite_amount", "amount must be a finite number, got {value}", {"value": str(value)})
    if value < 0:
        raise PydanticCustomError("non_negative", "amount must not be negative, got {value}", {"value": str(value)})
    # Integer digits first (adjusted() is the exponent of the leading digit), so that the
    # quantize below always fits the context's precision.
    if value != 0 and value.adjusted() >= MONEY_PRECISION - MONEY_SCALE:
        raise PydanticCustomError(
            "decimal_precision",
            "amount does not fit decimal({precision},{scale}) (at most {int_digits} digits before the point): {value}",
            {"precision": MONEY_PRECISION, "scale": MONEY_SCALE, "int_digits": MONEY_PRECISION - MONEY_SCALE, "value": str(value)},
        )
    with localcontext() as ctx:
        ctx.prec = MONEY_PRECISION + 10
        quantized = value.quantize(_CENT)
    if quantized != value:
        raise PydanticCustomError(
            "decimal_scale", "amount has more than {scale} decimal places: {value}", {"scale": MONEY_SCALE, "value": str(value)}
        )
    return quantized


def _money_before(value: Any) -> Any:
    # A JSON number arrives as a float: take its shortest repr ("1234.5"), so that a float
    # that already lost cents (0.1 + 0.2 -> 0.30000000000000004) fails the scale rule
    # instead of being rounded silently.
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Money = Annotated[Decimal, BeforeValidator(_money_before), AfterValidator(_money)]
"""Rupiah amount, Avro ``decimal(20,2)``: non-negative, at most 2 decimal places, normalised to 2."""


def _utc(value: datetime) -> datetime:
    if not value.microsecond % 1000 and value.tzinfo is not None and value.utcoffset() == _ZERO:
        # Already UTC to the millisecond (the common case: decoded epoch milliseconds).
        return value if value.tzinfo is timezone.utc else value.replace(tzinfo=timezone.utc)
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise PydanticCustomError(
            "tz_aware", "timestamp must be timezone-aware (a naive time is ambiguous), got {value}", {"value": value.isoformat()}
        )
    value = value.astimezone(timezone.utc)
    # timestamp-millis keeps milliseconds: truncating here makes a record equal to its round trip.
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""Avro ``timestamp-millis``: timezone-aware, converted to UTC, truncated to milliseconds."""


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        if _CANONICAL_UUID.fullmatch(value):
            return value  # str(uuid.UUID(value)) would return it unchanged
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise PydanticCustomError("uuid", "must be a UUID, got '{value}'", {"value": value}) from None
    return value


Uuid = Annotated[str, BeforeValidator(_uuid)]
"""Avro ``string`` with logicalType ``uuid``, held as the canonical lower-case string."""


def _fiscal_year(value: int) -> int:
    if not FISCAL_YEAR_MIN <= value <= FISCAL_YEAR_MAX:
        raise PydanticCustomError(
            "fiscal_year_range",
            "fiscal year must lie in {lo}..{hi}, got {value}",
            {"lo": FISCAL_YEAR_MIN, "hi": FISCAL_YEAR_MAX, "value": value},
        )
    return value


FiscalYear = Annotated[int, AfterValidator(_fiscal_year)]


def _region_code(value: str) -> str:
    if regions.is_current_region(value):
        return value
    hint = ""
    dotted = regions.normalize(value) if value.strip() else value
    if dotted != value and regions.is_current_region(dotted):
        hint = f" (did you mean {dotted!r}?)"
    raise PydanticCustomError(
        "current_region_code",
        "'{value}' is not a current Kemendagri code of a province or kabupaten/kota{hint}",
        {"value": value, "hint": hint},
    )


RegionCode = Annotated[str, AfterValidator(_region_code)]
"""Dotted Kemendagri code of one of the 552 current regional governments (``"32"``, ``"32.01"``)."""


def _district_code(value: str) -> str:
    if regions.is_current_district(value):
        return value
    raise PydanticCustomError(
        "current_district_code", "'{value}' is not a current Kemendagri kecamatan code (like '32.01.01')", {"value": value}
    )


DistrictCode = Annotated[str, AfterValidator(_district_code)]
"""Dotted Kemendagri code of a current kecamatan (``"32.01.01"``)."""


def _nik_pseudonym(value: str) -> str:
    # 64 lower-case hex with a letter: a pseudonym, and (a hex identifier) never a raw NIK
    # under schemas.privacy's rule; 64 digits would be one long digit run.
    if _PSEUDONYM.fullmatch(value) and not value.isdigit():
        return value
    if holds_raw_nik(value):
        # Never echo what looks like a raw NIK back into logs or HTTP responses.
        raise PydanticCustomError(RAW_NIK_RULE, RAW_NIK_MESSAGE)
    raise PydanticCustomError("nik_pseudonym", "must be a keyed HMAC-SHA256 pseudonym: 64 lower-case hex characters")


NikPseudonym = Annotated[str, AfterValidator(_nik_pseudonym)]
"""``nik_pseudonym``: HMAC-SHA256 of a NIK as 64 lower-case hex characters; a raw NIK is refused as ``raw_nik``."""


def _age_band(value: str) -> str:
    m = _AGE_BAND.fullmatch(value)
    if m and (m.group(3) is not None or int(m.group(1)) <= int(m.group(2))):
        return value
    raise PydanticCustomError("age_band", "must be an age band like '25-29' or '85+', got '{value}'", {"value": value})


AgeBand = Annotated[str, AfterValidator(_age_band)]

_SOURCE_SYSTEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _source_system(value: str) -> str:
    if not _SOURCE_SYSTEM.fullmatch(value):
        raise PydanticCustomError(
            "source_system",
            "must be 1-64 characters of letters, digits, '.', '_' or '-' (it becomes part of the CloudEvents source), got '{value}'",
            {"value": value},
        )
    return value


SourceSystem = Annotated[str, AfterValidator(_source_system)]
"""Name of the producing regional system (``sipd``), safe inside the CloudEvents source URI."""

# Codes of the regional budget nomenclature (Permendagri 90/2019, updated by Kepmendagri
# 050-5889/2021, as SIPD writes them). Urusan 1-8, then fixed-width digit groups: a code
# of the wrong depth or width is a code from another list or a typo, and a central view
# that groups by it would split one programme into two rows. ASCII digits only.
_URUSAN_BIDANG = r"[1-8]\.[0-9]{2}"
_PROGRAM = _URUSAN_BIDANG + r"\.[0-9]{2}"
_ACTIVITY = _PROGRAM + r"\.[0-9]\.[0-9]{2}"
# Sub-activity: four digits in Kepmendagri 050-5889/2021; two in the first Permendagri 90/2019
# lists, which older regional systems still write.
_SUB_ACTIVITY = _ACTIVITY + r"\.(?:[0-9]{4}|[0-9]{2})"
# SKPD (kode unit) as in SIPD: the bidang urusan alone, or urusan.bidang twice more (0.00 when
# the unit serves only one), the unit and the sub-unit.
_AGENCY = _URUSAN_BIDANG + r"(?:\.[0-9]\.[0-9]{2}\.[0-9]\.[0-9]{2}\.[0-9]{2}\.[0-9]{4})?"


def _code_rule(rule: str, pattern: str, what: str, examples: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.fullmatch(value):
            return value
        raise PydanticCustomError(rule, "'{value}' is not " + what + ": " + examples, {"value": value})

    check.__name__ = f"_{rule}"
    return AfterValidator(check)


AgencyCode = Annotated[str, _code_rule(
    "agency_code", _AGENCY, "an agency code (kode SKPD as in SIPD)",
    "the bidang urusan like '1.02' or the unit code like '1.02.0.00.0.00.01.0000'",
)]
"""Kode SKPD/OPD: ``"1.02"`` (bidang urusan) or ``"1.02.0.00.0.00.01.0000"`` (unit and sub-unit, SIPD)."""
ProgramCode = Annotated[str, _code_rule(
    "program_code", _PROGRAM, "a program code (Permendagri 90/2019)", "urusan.bidang.program like '1.02.02'",
)]
"""Program of the Permendagri 90/2019 nomenclature: ``"1.02.02"``."""
ActivityCode = Annotated[str, _code_rule(
    "activity_code", _ACTIVITY, "an activity (kegiatan) code (Permendagri 90/2019)",
    "program.level.kegiatan like '1.02.02.2.01'",
)]
"""Activity (kegiatan) of the Permendagri 90/2019 nomenclature: ``"1.02.02.2.01"``."""
SubActivityCode = Annotated[str, _code_rule(
    "sub_activity_code", _SUB_ACTIVITY, "a sub-activity (sub kegiatan) code (Permendagri 90/2019)",
    "activity.sub like '1.02.02.2.01.0001' (or '1.02.02.2.01.01' in the first lists)",
)]
"""Sub-activity (sub kegiatan): ``"1.02.02.2.01.0001"`` (Kepmendagri 050-5889/2021) or ``"1.02.02.2.01.01"``."""

Text = Annotated[str, Field(min_length=1, pattern=TEXT_PATTERN)]
"""A non-empty string (identifiers, codes, names, free text): an empty value is a missing value.

Tab, line feed and carriage return are allowed; any other control character is refused (rule
``control_character``).
"""
AvroInt = Annotated[int, Field(ge=0, le=AVRO_INT_MAX)]
"""Avro ``int``: counts and versions, non-negative and within 32 bits."""
AvroLong = Annotated[int, Field(ge=0, le=AVRO_LONG_MAX)]
Double = Annotated[float, Field(allow_inf_nan=False)]
