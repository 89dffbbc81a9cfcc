"""The librdkafka consumer of a subscriber: its fixed configuration and the topic check.

Commit-after-done depends on four settings (no auto commit, no automatic
offset store, end-of-partition events, the group), so they are fixed here and
an override of one is refused rather than silently losing or repeating events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaException

from bus.kafka.exceptions import BrokerUnavailableError
from bus.subscriber.exceptions import SubscriberError, TopicMissingError

FIXED_CONFIG = frozenset({"group.id", "enable.auto.commit", "enable.auto.offset.store", "enable.partition.eof"})


def group_consumer(
    settings: Any,
    group_id: str,
    *,
    auto_offset_reset: str,
    error_cb: Callable[..., None],
    on_commit: Callable[..., None],
    overrides: Mapping[str, Any],
) -> Consumer:
    """A consumer in ``group_id`` that stores and commits only what the subscriber says is done.

    ``overrides`` are further librdkafka settings; one of :data:`FIXED_CONFIG` raises
    :class:`SubscriberError`.
    """
    fixed = sorted(k for k in overrides if k in FIXED_CONFIG)
    if fixed:
        raise SubscriberError(f"librdkafka settings {', '.join(fixed)} are fixed by the subscriber", keys=fixed)
    conf = settings.librdkafka_config(
        **{
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": auto_offset_reset,
            "isolation.level": "read_committed",
            # End-of-partition events let ``iter(until_end=True)`` know when it has caught up.
            "enable.partition.eof": True,
            "error_cb": error_cb,
            "on_commit": on_commit,
            "logger": logging.getLogger("egov.subscriber.librdkafka"),
        }
    )
    conf.update(overrides)
    return Consumer(conf)


def check_topics(consumer: Any, topics: Iterable[str], settings: Any, timeout: float) -> None:
    """Raise :class:`TopicMissingError` naming the missing ones (or :class:`BrokerUnavailableError`)."""
    try:
        metadata = consumer.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise BrokerUnavailableError(
            f"no broker at {settings.bootstrap_servers} answered within {timeout}s: {exc}",
            bootstrap_servers=settings.bootstrap_servers,
        ) from exc
    missing = sorted(t for t in topics if t not in metadata.topics)
    if missing:
        raise TopicMissingError(
            f"topic(s) {', '.join(missing)} do not exist (wrong --prefix, or run `egov-bus topics apply`)",
            topics=missing,
        )
