"""Personal data on the regional side (UU 27/2022).

A raw NIK never leaves the region: :class:`Pseudonymizer` turns it into a
keyed HMAC-SHA256 ``nik_pseudonym`` plus the derived fields (sex, age band,
district code) a schema asks for; :func:`check_no_raw_nik` is the guard that
refuses an event carrying a NIK anywhere else (the rule itself, shared with the
central side, is :mod:`schemas.privacy`).
"""

from adapters.privacy.exceptions import (
    InvalidAgeError,
    InvalidNikError,
    MissingPseudonymKeyError,
    PrivacyError,
    RawNikError,
)
from adapters.privacy.pseudonym import (
    NIK_FIELD,
    PERSON_FIELDS,
    PersonFields,
    Pseudonymizer,
    age_band,
    check_no_raw_nik,
    find_raw_nik,
)

__all__ = [
    "NIK_FIELD",
    "PERSON_FIELDS",
    "PersonFields",
    "Pseudonymizer",
    "age_band",
    "find_raw_nik",
    "check_no_raw_nik",
    "PrivacyError",
    "MissingPseudonymKeyError",
    "InvalidNikError",
    "InvalidAgeError",
    "RawNikError",
]
