"""Broker faults on the 3-broker cluster while the simulator publishes and a worker processes.

With ``acks=all``, replication factor 3 and ``min.insync.replicas`` 2, losing one broker (SIGKILL, no
controlled shutdown) or restarting all three in turn must lose no acknowledged event and count none
twice: the publisher's idempotent producer retries into the new leaders, the worker's transactions
abort and resume from their last commit.
"""

from __future__ import annotations

import pytest

from tests.reliability.faults import BROKER_DOWN_S, kill_busiest_broker, rolling_restart
from tests.reliability.harness import FaultBed, run_fault

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.faults]


@pytest.mark.timeout(1500)
def test_sigkill_of_the_busiest_broker_then_its_restart(bed: FaultBed) -> None:
    run_fault(bed, "broker SIGKILL (busiest) + restart", lambda: kill_busiest_broker(bed), planned_s=BROKER_DOWN_S + 20,
              seed=1501)


@pytest.mark.timeout(1800)
def test_rolling_restart_of_all_brokers(bed: FaultBed) -> None:
    run_fault(bed, "rolling restart of all brokers", lambda: rolling_restart(bed), planned_s=120, seed=1502)
