"""The central faults as functions of a :class:`~tests.reliability.harness.FaultBed`, each returning what it measured.

Each returns when its fault is over (the broker, registry or worker is back), so the caller's clock
for the time to recover starts there. Used by the one-fault tests and by the soak, which cycles through
:data:`CYCLE`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from tests.reliability.harness import FaultBed, wait_for

log = logging.getLogger("egov.tests.faults")

#: How long a killed broker and the stopped registry stay down.
BROKER_DOWN_S = 30.0
REGISTRY_DOWN_S = 60.0
WORKER_KILLS = 5
#: A worker kill comes this many seconds (uniform, from the seeded generator) after the last restart committed.
WORKER_GAP_S = (2.0, 12.0)


def kill_busiest_broker(bed: FaultBed, down_s: float = BROKER_DOWN_S) -> dict:
    """SIGKILL the broker leading the most partitions of the bed's topics; restart it after ``down_s``."""
    topics = [t.name for t in bed.catalog.topics]
    node = bed.cluster.busiest_broker(topics)
    led = bed.cluster.leaders(topics).get(node, 0)
    log.warning("SIGKILL broker %s (leads %d partitions of the test's topics) for %.0fs", node, led, down_s)
    bed.cluster.kill_broker(node)
    bed.hold(down_s)
    bed.cluster.start_broker(node)
    return {"node": node, "partitions_led": led, "down_s": down_s}


def rolling_restart(bed: FaultBed) -> dict:
    """Each broker in turn: controlled stop, restart, wait for every ISR to be full again."""
    took: dict[str, float] = {}
    bed.cluster.rolling_restart(on_node=lambda node, s: took.__setitem__(str(node), round(s, 1)))
    log.warning("rolling restart done: %s", took)
    return {"per_node_s": took}


def registry_outage(bed: FaultBed, down_s: float = REGISTRY_DOWN_S) -> dict:
    """Stop the registry for ``down_s``, start it; fail if any schema id of the bed changed."""
    before = bed.cluster.schema_ids(bed.prefix + ".")
    bed.cluster.stop_registry()
    log.warning("registry stopped for %.0fs (%d subjects of the test)", down_s, len(before))
    bed.hold(down_s)
    bed.cluster.start_registry()
    after = wait_for(lambda: bed.cluster.schema_ids(bed.prefix + "."), 120, "the registry to answer again")
    changed = {s: (before.get(s), after.get(s)) for s in set(before) | set(after) if before.get(s) != after.get(s)}
    assert not changed, f"schema ids changed across the registry restart (subject: before, after): {changed}"
    return {"down_s": down_s, "subjects": len(before), "ids_unchanged": True}


def kill_worker_repeatedly(bed: FaultBed, rng: random.Random, kills: int = WORKER_KILLS) -> dict:
    """SIGKILL the worker ``kills`` times at random moments, restarting it on the same data dir each time."""
    gaps = []
    for n in range(kills):
        gap = rng.uniform(*WORKER_GAP_S)
        bed.hold(gap)
        before = bed.committed()
        bed.kill_worker()
        gaps.append(round(gap, 2))
        log.warning("worker SIGKILL %d/%d, %.2fs after the last restart committed (%d events committed)",
                    n + 1, kills, gap, before)
        # The next kill only once this worker has committed (or caught up, when publishing has ended):
        # each kill interrupts a working worker.
        wait_for(lambda: bed.committed() > before or bed.lag() == 0, 180,
                 f"the restarted worker (start {n + 2}) to commit")
    return {"kills": kills, "gaps_s": gaps}


def soak_cycle(seed: int) -> list[tuple[str, Callable[[FaultBed], dict]]]:
    """The soak's faults in the order it cycles through them (worker kills drawn from ``seed``)."""
    rng = random.Random(seed)
    return [
        ("broker SIGKILL", kill_busiest_broker),
        ("rolling restart", rolling_restart),
        ("registry stop", registry_outage),
        ("worker SIGKILL x5", lambda bed: kill_worker_repeatedly(bed, rng)),
    ]
