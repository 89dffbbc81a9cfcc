"""Errors of the signing keys (all :class:`bus.errors.EgovBusError`)."""

from bus.errors import EgovBusError


class KeysError(EgovBusError):
    """Base class of every error about signing keys and their register."""


class KeyFileError(KeysError):
    """A private key file is missing, unreadable, readable by others, or not an Ed25519 key of a region."""


class KeyRegisterError(KeysError):
    """The key register (``egov.keys``) cannot be read or written, or refuses a change (a clash, a revoked key)."""
