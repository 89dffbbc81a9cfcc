"""A worker's local state: RocksDB per worker, one task state per partition number (see ``store``).

``StateStore`` and ``TaskState`` are the interface the stream loop, the
checkpointer and the in-process profile (``bench/profile_pipeline.py``) use;
``keys``, ``dedupe`` and ``restore`` are the stream loop's own parts.
"""

from processors.state.store import StateStore, TaskState

__all__ = ["StateStore", "TaskState"]
