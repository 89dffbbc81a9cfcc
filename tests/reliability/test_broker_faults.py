"""Broker faults on the 3-broker cluster while the simulator publishes and a worker processes.

With ``acks=all``, replication factor 3 and ``min.insync.replicas`` 2, losing one broker (SIGKILL, no
controlled shutdown) or restarting all three in turn must lose no acknowledged event and count none
twice: the publisher's idempotent producer retries into the new leaders, the worker's transactions
abort and resume from their last commit.
"""

from __future__ import annotations

import logging

import pytest

from tests.reliability.harness import FaultBed, run_fault

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.faults]

log = logging.getLogger("egov.tests.faults")

#: How long the killed broker stays down.
DOWN_S = 30.0


@pytest.mark.timeout(1500)
def test_sigkill_of_the_busiest_broker_then_its_restart(bed: FaultBed) -> None:
    def inject() -> dict:
        node = bed.cluster.busiest_broker(t.name for t in bed.catalog.topics)
        led = bed.cluster.leaders(t.name for t in bed.catalog.topics).get(node, 0)
        log.warning("SIGKILL broker %s (leads %d partitions of the test's topics)", node, led)
        bed.cluster.kill_broker(node)
        bed.hold(DOWN_S)
        bed.cluster.start_broker(node)
        return {"node": node, "partitions_led": led, "down_s": DOWN_S}

    run_fault(bed, "broker SIGKILL (busiest) + restart", inject, planned_s=DOWN_S + 20, seed=1501)


@pytest.mark.timeout(1800)
def test_rolling_restart_of_all_brokers(bed: FaultBed) -> None:
    took: dict[str, float] = {}

    def inject() -> dict:
        bed.cluster.rolling_restart(on_node=lambda node, s: took.__setitem__(str(node), round(s, 1)))
        return {"per_node_s": took}

    run_fault(bed, "rolling restart of all brokers", inject, planned_s=120, seed=1502)
