"""Errors of the audit log: writing it, verifying it, receipts."""

from processors.exceptions import ProcessorError


class AuditError(ProcessorError):
    """The audit log cannot be written or read (a missing topic, a malformed audit record)."""

    stage = "audit"


class ReceiptError(AuditError):
    """A receipt does not verify; the message says which check failed."""
