"""Store-and-forward: a durable local spool for events the broker could not take yet."""

from adapters.spool.exceptions import SpoolError, SpoolFullError, SpoolLockedError
from adapters.spool.store import Spool, SpoolRecord

__all__ = ["Spool", "SpoolRecord", "SpoolError", "SpoolFullError", "SpoolLockedError"]
