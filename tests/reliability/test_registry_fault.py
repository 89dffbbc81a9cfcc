"""The registry stopped for 60 s, then started, while the simulator publishes and a worker processes.

The registry keeps its schemas in a Kafka topic (KafkaSQL storage), so it comes back with the same ids
(:func:`~tests.reliability.faults.registry_outage` compares every subject's latest id before and after);
publishers and the worker cache what they have looked up, so nothing stops while it is away, and the
DLQ check of :func:`~tests.reliability.harness.run_fault` shows that no record was dead-lettered because of it.
"""

from __future__ import annotations

import pytest

from tests.reliability.faults import REGISTRY_DOWN_S, registry_outage
from tests.reliability.harness import FaultBed, run_fault

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.faults]


@pytest.mark.timeout(1500)
def test_registry_stopped_for_a_minute_keeps_its_ids_and_dead_letters_nothing(bed: FaultBed) -> None:
    before = bed.cluster.schema_ids(bed.prefix + ".")
    assert len(before) >= 15, f"the test's schemas are not registered: {sorted(before)}"
    run_fault(bed, "registry stopped 60 s", lambda: registry_outage(bed), planned_s=REGISTRY_DOWN_S + 10, seed=1503)
