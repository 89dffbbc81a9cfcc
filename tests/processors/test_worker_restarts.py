"""Workers killed or stopped mid-stream: the views are still exact.

A worker killed with SIGKILL restarts from its committed offsets and its
changelogged tables (exactly-once: table writes, view records and offsets
commit together); a second worker in the same group takes over the partitions
of one that stops. Either way every view value equals the independent
recomputation.
"""

from __future__ import annotations

import os
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from adapters.privacy import Pseudonymizer
from adapters.simulator.generator import generate_events
from tests.fixtures.processors import group_lag, read_topic, wait_until
from tests.processors.test_worker_e2e import actual_views, comparable, expected_views, publish
from topics.catalog import load_catalog
from topics.provision import apply

pytestmark = [pytest.mark.integration]

# A first wave is being processed when the worker dies; a second wave arrives afterwards.
FIRST = int(os.environ.get("EGOV_TEST_RESTART_EVENTS", "0") or 0) or 30_000
SECOND = FIRST // 3


def _wait_mid_stream(settings, prefix: str) -> None:
    """Until the worker has written its first view records (in a transaction, with exactly-once).

    The high watermark of the view topic is one cheap call per partition, so
    the wait sees the start of processing within milliseconds; the caller then
    checks that part of the first wave was still uncommitted.
    """
    topic = f"{prefix}.egov.view.integration_index"
    consumer = Consumer(settings.librdkafka_config(**{"group.id": f"watch-{uuid.uuid4().hex}"}))
    try:
        partitions = list(consumer.list_topics(topic, timeout=10).topics[topic].partitions)

        def written() -> bool:
            return any(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] > 0 for p in partitions)

        wait_until(written, 180, "the first view records", interval=0.02)
    finally:
        consumer.close()


def _theme_topics(prefix: str) -> list[str]:
    return [t.name for t in load_catalog(prefix=prefix).of_kind("theme")]


def _events(seed: int, count: int):
    return list(generate_events(seed=seed, count=count, pseudonymizer=Pseudonymizer("restart-test-key-not-secret")))


def _first_wave_published(settings, registry, admin, prefix: str, seed: int):
    """Topics applied and the first wave published; returns the second wave and the views of both."""
    apply(admin, load_catalog(prefix=prefix), timeout=30)
    first_wave, second_wave = _events(seed, FIRST), _events(seed + 100, SECOND)
    publish(settings, registry, prefix, first_wave)
    return second_wave, expected_views(first_wave + second_wave)


def _wait_exact(stack_settings, registry, prefix, expected, workers, timeout: float = 600) -> None:
    last: list = []

    def exact() -> bool:
        for worker in workers:
            assert worker.alive(), worker.log_tail()
        got = comparable(actual_views(stack_settings, registry, prefix), expected)
        last[:] = [(k, got[k], v) for k, v in expected.items() if got[k] != v][:3]
        return not last

    try:
        wait_until(exact, timeout=timeout, what="exact views", interval=3)
    except AssertionError as exc:
        logs = "\n".join(w.log_tail() for w in workers)
        raise AssertionError(f"{exc}; views differ, e.g. {last}\n{logs}") from None


GUARANTEES = pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])


@GUARANTEES
@pytest.mark.timeout(900)
def test_sigkill_mid_stream_then_restart_keeps_views_exact(stack_settings, registry, admin, catalog_prefix, start_worker, guarantee):
    second_wave, expected = _first_wave_published(stack_settings, registry, admin, catalog_prefix, seed=11)
    app_id = f"egov-kill-{uuid.uuid4().hex[:8]}"
    first = start_worker(catalog_prefix, app_id, guarantee)
    _wait_mid_stream(stack_settings, catalog_prefix)
    first.kill()
    # Mid-stream: part of the first wave was not committed when the worker died.
    assert group_lag(stack_settings, app_id, _theme_topics(catalog_prefix)) > 0
    publish(stack_settings, registry, catalog_prefix, second_wave)
    second = start_worker(catalog_prefix, app_id, guarantee)
    _wait_exact(stack_settings, registry, catalog_prefix, expected, [second], timeout=300)


@GUARANTEES
@pytest.mark.timeout(900)
def test_two_workers_one_stopped_mid_stream_keeps_views_exact(stack_settings, registry, admin, catalog_prefix, start_worker, guarantee):
    second_wave, expected = _first_wave_published(stack_settings, registry, admin, catalog_prefix, seed=12)
    app_id = f"egov-pair-{uuid.uuid4().hex[:8]}"
    first = start_worker(catalog_prefix, app_id, guarantee)
    second = start_worker(catalog_prefix, app_id, guarantee)
    _wait_mid_stream(stack_settings, catalog_prefix)
    first.stop()
    publish(stack_settings, registry, catalog_prefix, second_wave)
    _wait_exact(stack_settings, registry, catalog_prefix, expected, [second], timeout=300)
