"""Commit intervals: what a worker does every ``EGOV_COMMIT_INTERVAL_MS`` (exactly-once v2 or at-least-once)."""

from processors.checkpointing.checkpointer import Checkpointer

__all__ = ["Checkpointer"]
