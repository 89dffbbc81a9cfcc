"""The raw-NIK rule: the one definition both sides of the bus apply.

A person's NIK (16 digits) or a civil servant's NIP (18 digits) must leave the
region only as a keyed ``nik_pseudonym``. As a safety net for the common
mistake (a NIK pasted into a free-text field, an identifier column that is
really a NIK), every string of an event is checked:

* **Refused:** any run of 16 or more ASCII digits, anywhere in the string: a NIK
  or NIP alone, in free text, or glued to letters (``NIK3201014501250001``);
  two NIKs in a row are one long run and are refused too.
* **Not counted:** a hex identifier, i.e. a token of 32 or more hex characters
  with at least one letter that stands on its own (not glued to other letters
  or digits): 64-hex pseudonyms and digests, 32-hex trace ids and dashless
  UUIDs. Such tokens hold 16 digits in a row by chance (about 3 % of SHA-256
  digests); a run of digits alone is never a hex identifier, however long.
* **Not counted either:** digits written with separators (``3201.0145.0190.0001``,
  the NIP as printed, ``19900101 201503 1 001``): official dotted codes such as
  the SKPD code ``1.02.0.00.0.00.01.0000`` or a tax object number hold 16 digits
  between their dots, so counting through separators would refuse them. Non-ASCII
  digits (``３２０１…``) are not counted: a NIK is ASCII, and the byte pre-filter
  below sees ASCII digits only, so the two always agree.

The regional side (SDK codec, gateway, importer) and the central transform
(``processors/transform.py``) both import :func:`find_raw_nik` and
:func:`may_hold_raw_nik` from here; ``tests/schemas/nik_cases.py`` is the table
of cases both are tested against.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schemas.exceptions import format_loc

#: The input field that carries a raw NIK (SDK dicts, gateway bodies, importer rows); the
#: regional adapters pseudonymize it before the event is built.
NIK_FIELD = "nik"
#: A NIK has 16 digits, a NIP 18: a run of at least this many digits is refused.
RAW_NIK_MIN_DIGITS = 16
#: The one human message about a refused value (never echo the value: it is personal data).
RAW_NIK_MESSAGE = (
    f"holds {RAW_NIK_MIN_DIGITS} or more digits in a row, which looks like a raw NIK/NIP; "
    f"send a person's NIK in the `{NIK_FIELD}` field so it is pseudonymized"
)
#: The ``rule`` name errors about it carry.
RAW_NIK_RULE = "raw_nik"

_DIGIT_RUN = re.compile(f"[0-9]{{{RAW_NIK_MIN_DIGITS}}}")
# A hex identifier: 32+ hex characters, at least one of them a letter, as a token of its own.
HEX_ID = re.compile(r"(?<![0-9A-Za-z])(?=[0-9]*[a-fA-F])[0-9a-fA-F]{32,}(?![0-9A-Za-z])")

# Pre-filter over encoded bytes: ASCII digits -> 0x00, every other byte -> 0x01, then look for
# 16 zero bytes. Two C passes (bytes.translate, bytes.find); 5-8x faster than re's [0-9]{16}.
_DIGITS_TO_ZERO = bytes(0 if 0x30 <= i <= 0x39 else 1 for i in range(256))
_ZERO_RUN = b"\x00" * RAW_NIK_MIN_DIGITS


def may_hold_raw_nik(data: bytes) -> bool:
    """Cheap pre-check on encoded bytes (an Avro value): 16 ASCII digits in a row anywhere?

    Avro writes a string as its UTF-8 bytes, so a string that :func:`holds_raw_nik`
    always shows up as 16 digit bytes in a row; ``False`` therefore means no field
    needs to be scanned. ``True`` (also now and then for a pseudonym or for binary
    fields) means: scan the record with :func:`find_raw_nik`.
    """
    return data.translate(_DIGITS_TO_ZERO).find(_ZERO_RUN) >= 0


def holds_raw_nik(text: str) -> bool:
    """True if ``text`` holds 16 or more ASCII digits in a row outside a hex identifier."""
    if len(text) < RAW_NIK_MIN_DIGITS or not _DIGIT_RUN.search(text):
        return False
    return bool(_DIGIT_RUN.search(HEX_ID.sub(" ", text)))


def find_raw_nik(value: Any, path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """Path of the first string in ``value`` (nested mappings and lists) that :func:`holds_raw_nik`.

    ``None`` when there is none. The path holds mapping keys and list indexes,
    e.g. ``("items", 1)``; :func:`raw_nik_message` renders it.
    """
    if isinstance(value, str):
        return path if holds_raw_nik(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = find_raw_nik(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = find_raw_nik(item, (*path, index))
            if found is not None:
                return found
    return None


def raw_nik_message(loc: tuple[Any, ...], prefix: str = "") -> str:
    """``"<prefix><path>: <RAW_NIK_MESSAGE>"``, the path as ``items[1]`` or ``envelope.source_system``."""
    return f"{prefix}{format_loc(loc)}: {RAW_NIK_MESSAGE}"
