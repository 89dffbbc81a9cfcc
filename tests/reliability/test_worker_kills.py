"""The worker SIGKILLed five times at random moments while the simulator publishes, restarted each time.

Each restart uses the same app id and data directory (RocksDB state, process id): exactly-once means the
interval a kill interrupted is aborted and redone, so no view counts an event twice. The moments come
from a fixed seed and are logged (and recorded in the results), so a failing run can be replayed.
"""

from __future__ import annotations

import random

import pytest

from tests.reliability.faults import WORKER_GAP_S, WORKER_KILLS, kill_worker_repeatedly
from tests.reliability.harness import FaultBed, run_fault

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.faults]

SEED = 1504


@pytest.mark.timeout(1500)
def test_worker_sigkilled_five_times(bed: FaultBed) -> None:
    rng = random.Random(SEED)
    run_fault(bed, "worker SIGKILL x5", lambda: kill_worker_repeatedly(bed, rng),
              planned_s=WORKER_KILLS * (sum(WORKER_GAP_S) / 2 + 8), seed=SEED)
    assert bed.worker_starts == WORKER_KILLS + 1 + len(bed.crashes)
