"""Dead-letter records: the original bytes plus headers that say why.

Where a dead letter goes is a topic-name rule: :func:`schemas.topic_names.dlq_topic_for`.
"""

from __future__ import annotations

from collections.abc import Iterable

ERROR_HEADERS = ("error.class", "error.message", "error.stage", "original.topic", "original.partition", "original.offset")


def dlq_headers(
    original: Iterable[tuple[str, bytes]] | None,
    *,
    stage: str,
    error: BaseException,
    topic: str,
    partition: int,
    offset: int,
) -> list[tuple[str, bytes]]:
    """The original headers (minus stale error headers) followed by the error headers."""
    values = (type(error).__name__, str(error)[:2000], stage, topic, str(partition), str(offset))
    return strip_error_headers(original) + [(name, value.encode()) for name, value in zip(ERROR_HEADERS, values)]


def strip_error_headers(headers: Iterable[tuple[str, bytes]] | None) -> list[tuple[str, bytes]]:
    """Headers for a replay: the original ones only."""
    return [(k, v) for k, v in (headers or []) if k not in ERROR_HEADERS]
