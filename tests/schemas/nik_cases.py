"""The shared table of raw-NIK cases: one row per kind of value, and whether the rule refuses it.

Fed unchanged to the rule itself (tests/schemas/test_privacy.py), to the regional guard
(tests/adapters/privacy/test_raw_nik_table.py: ``check_no_raw_nik`` and the SDK codec) and to
the central transform (tests/processors/test_transform.py: ``refuse_raw_nik`` and the
pipeline), so both sides of the bus are held to the same rows. The rule is described in
:mod:`schemas.privacy`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

NIK = "3201014501900001"  # 32.01.01, a girl born 1990-01-05
NIP = "199001012015031001"  # born 1990-01-01, appointed 2015-03, male, serial 001
# SHA-256 of "egov-bus nik case 278": a real digest with a 26-digit run in it.
DIGEST_WITH_DIGIT_RUN = hashlib.sha256(b"egov-bus nik case 278").hexdigest()
PSEUDONYM = hashlib.sha256(b"egov-bus sample person").hexdigest()


@dataclass(frozen=True)
class NikCase:
    """One row: ``value`` (a string, or a list/dict of them) and the path the rule reports, if refused."""

    id: str
    value: Any
    refused_at: tuple[Any, ...] | None
    why: str

    @property
    def refused(self) -> bool:
        return self.refused_at is not None


CASES: tuple[NikCase, ...] = (
    # -- refused: 16 or more digits in a row ----------------------------------------------
    NikCase("nik_alone", NIK, (), "a NIK"),
    NikCase("nik_in_free_text", f"pelapor NIK {NIK} mohon ditindaklanjuti", (), "a NIK inside a sentence"),
    NikCase("nik_glued_left", f"NIK{NIK}", (), "glued to the letters before it"),
    NikCase("nik_glued_right", f"{NIK}abc", (), "glued to (hex) letters after it: 19 characters, no hex id"),
    NikCase("nik_glued_both", f"ID{NIK}X", (), "glued on both sides"),
    NikCase("nik_glued_then_hex", f"NIK{NIK}deadbeefdeadbeef", (),
            "32+ hex characters, but glued to 'NIK': not a hex id token"),
    NikCase("nik_after_punctuation", f"no.{NIK};", (), "punctuation does not hide it"),
    NikCase("nip_alone", NIP, (), "an 18-digit NIP"),
    NikCase("nip_in_free_text", f"pegawai NIP {NIP} pindah", (), "a NIP in a sentence"),
    NikCase("npwp_16_digits", "NPWP 3201011203900002", (), "the 16-digit NPWP of a person is their NIK"),
    NikCase("two_niks_in_a_row", NIK + NIK, (), "32 digits: a run of digits alone is never a hex id"),
    NikCase("forty_digits", "1234567890" * 4, (), "any longer run"),
    NikCase("hex_glued_to_a_letter", f"x{DIGEST_WITH_DIGIT_RUN}", (),
            "a digest glued to a letter is not a token of its own, so its digit run counts"),
    NikCase("nested_list", ["ok", "tidak ada", f"NIK {NIK}"], (2,), "the third list item"),
    NikCase("nested_map", {"a": "ok", "b": {"c": [f"NIK {NIK} here"]}}, ("b", "c", 0), "deep in maps and lists"),
    NikCase("nested_map_key_order", {"first": NIP, "second": NIK}, ("first",), "the first offending path is named"),
    # -- not refused ----------------------------------------------------------------------
    NikCase("fifteen_digits", "320101450190000", None, "one digit short"),
    NikCase("fifteen_digits_glued", "NIK320101450190000X", None, "one digit short, glued"),
    NikCase("nik_with_dots", "3201.0145.0190.0001", None,
            "separated digits are not counted: dotted official codes hold 16 digits too"),
    NikCase("nik_with_dashes", "3201-0145-0190-0001", None, "separated digits are not counted"),
    NikCase("nip_with_spaces", "19900101 201503 1 001", None, "a NIP as printed, with spaces"),
    NikCase("agency_code", "1.02.0.00.0.00.01.0000", None, "an SKPD code holds 16 digits between its dots"),
    NikCase("tax_object_number", "32.01.010.001.001-0001.0", None, "an NOP: 18 digits between separators"),
    NikCase("amount_as_text", "123456789012345.00", None, "15 digits before the point"),
    NikCase("pseudonym", PSEUDONYM, None, "a 64-hex pseudonym"),
    NikCase("digest_with_digit_run", DIGEST_WITH_DIGIT_RUN, None, "a 64-hex digest with a 26-digit run: a hex id"),
    NikCase("prefixed_digest", f"sha256:{DIGEST_WITH_DIGIT_RUN}", None, "a hex id after a separator"),
    NikCase("hex_id_sixteen_digits_first", "1234567890123456" + "ab" * 24, None, "64 hex with a leading digit run"),
    NikCase("uuid", "12345678-1234-4234-9234-123456789012", None, "a UUID: at most 12 digits in a row"),
    NikCase("dashless_uuid", "1234567890123456abcdefabcdefabcd", None, "32 hex characters with a letter"),
    NikCase("traceparent", "00-1234567890123456abcdef0123456789-e234567890123456-01", None,
            "a W3C traceparent: a 32-hex trace id with a 16-digit run, between dashes"),
    NikCase("fullwidth_digits", "３２０１０１４５０１９０００１", None,
            "non-ASCII digits are not counted (a NIK is ASCII; the byte pre-filter sees ASCII only)"),
    NikCase("nested_clean", {"items": ["ok", "123"], "m": {"k": "320101450190000"}}, None, "nothing to find"),
)


def refused_ids() -> set[str]:
    """The ids of the rows the rule refuses."""
    return {case.id for case in CASES if case.refused}


def string_cases() -> list[NikCase]:
    """Rows whose value is one string (they fit any text field of an event)."""
    return [case for case in CASES if isinstance(case.value, str)]


def list_cases() -> list[NikCase]:
    """Rows whose value is a list of strings (they fit an ``array<string>`` field)."""
    return [case for case in CASES if isinstance(case.value, list) and all(isinstance(v, str) for v in case.value)]
