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

from adapters.privacy import Pseudonymizer
from adapters.simulator.generator import generate_events
from tests.fixtures.processors import read_topic, wait_until
from tests.processors.test_worker_e2e import actual_views, comparable, expected_views, publish
from topics.catalog import load_catalog
from topics.provision import apply

# Not in `make test`: after a SIGKILL the restarted worker sometimes stalls (seen in CI on
# 2026-11-28: its log stops 5 s after start and the views never complete), and the
# two-worker handover fails as recorded below. `make test-reliability` runs them.
pytestmark = [pytest.mark.integration, pytest.mark.rebalance]

EVENTS = int(os.environ.get("EGOV_TEST_RESTART_EVENTS", "0") or 0) or 5_000


def _views_started(settings, prefix: str) -> bool:
    return len(read_topic(settings, f"{prefix}.egov.view.integration_index", timeout=5)) > 0


def _setup(stack_settings, registry, admin, prefix: str, seed: int):
    apply(admin, load_catalog(prefix=prefix), timeout=30)
    events = list(generate_events(seed=seed, count=EVENTS, pseudonymizer=Pseudonymizer("restart-test-key-not-secret")))
    publish(stack_settings, registry, prefix, events)
    return expected_views(events)


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


@pytest.mark.timeout(1200)
def test_sigkill_mid_stream_then_restart_keeps_views_exact(stack_settings, registry, admin, catalog_prefix, start_worker):
    expected = _setup(stack_settings, registry, admin, catalog_prefix, seed=11)
    app_id = f"egov-kill-{uuid.uuid4().hex[:8]}"
    first = start_worker(catalog_prefix, app_id)
    wait_until(lambda: _views_started(stack_settings, catalog_prefix), 180, "the first view records")
    first.kill()
    second = start_worker(catalog_prefix, app_id)
    _wait_exact(stack_settings, registry, catalog_prefix, expected, [second])


@pytest.mark.xfail(
    reason="known gap (issue 5): when one of two workers stops, the survivor's rebalance goes wrong in "
    "faust-streaming 0.15.3: with exactly_once, aiokafka reports 'Invalid state transition IN_TRANSACTION -> "
    "IN_TRANSACTION' and recovery crashes with ConsistencyError (changelog highwater -1 < persisted offset); "
    "with at_least_once the survivor stops making progress after the rebalance. Views stay short.",
    strict=False,
)
@pytest.mark.timeout(1200)
def test_two_workers_one_stopped_mid_stream_keeps_views_exact(stack_settings, registry, admin, catalog_prefix, start_worker):
    expected = _setup(stack_settings, registry, admin, catalog_prefix, seed=12)
    app_id = f"egov-pair-{uuid.uuid4().hex[:8]}"
    first = start_worker(catalog_prefix, app_id)
    second = start_worker(catalog_prefix, app_id)
    wait_until(lambda: _views_started(stack_settings, catalog_prefix), 180, "the first view records")
    first.stop()
    _wait_exact(stack_settings, registry, catalog_prefix, expected, [second], timeout=180)
