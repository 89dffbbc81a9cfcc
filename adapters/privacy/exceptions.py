"""Errors of the personal-data (NIK) handling."""

from bus.errors import EgovBusError


class PrivacyError(EgovBusError):
    """Base class: personal data could not be handled safely."""


class MissingPseudonymKeyError(PrivacyError):
    """NIKs are to be handled but no pseudonym key is configured."""


class InvalidNikError(PrivacyError):
    """A value given as a NIK is not a valid 16-digit NIK."""


class RawNikError(PrivacyError):
    """A raw NIK was found in a field that would leave the region."""


class InvalidAgeError(PrivacyError, ValueError):
    """An age (for an age band) is negative."""
