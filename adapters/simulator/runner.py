"""Publishing the simulated stream at a steady rate, with a summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.sdk import Publisher
from adapters.simulator.exceptions import SimulatorConfigError
from adapters.simulator.generator import EventGenerator

_TICK_S = 0.1


@dataclass
class SimulationSummary:
    """What a run published."""

    seed: int
    start: datetime
    rate: float
    requested: int
    published: int = 0
    spooled_at_end: int = 0
    elapsed_s: float = 0.0
    by_theme: Counter = field(default_factory=Counter)
    by_event_type: Counter = field(default_factory=Counter)
    regions: set[str] = field(default_factory=set)

    @property
    def actual_rate(self) -> float:
        return self.published / self.elapsed_s if self.elapsed_s else 0.0


def run_simulation(
    publisher: Publisher,
    *,
    seed: int,
    rate: float,
    duration_s: float,
    regions: Sequence[str] | str | None = None,
    themes: Sequence[str] | str | None = None,
    start: datetime,
    pseudonymizer: Any = None,
    on_progress: Callable[[int], None] | None = None,
    drain_timeout_s: float = 30.0,
) -> SimulationSummary:
    """Publish ``rate * duration_s`` simulated events, paced to ``rate`` per second of wall time.

    Pacing is a token bucket on the monotonic clock: each tick publishes what
    is due, so a slow broker makes the run longer, never drops events.
    """
    if rate <= 0 or duration_s <= 0:
        raise SimulatorConfigError("--rate and --duration must be positive", rate=rate, duration=duration_s)
    total = max(1, round(rate * duration_s))
    generator = EventGenerator(seed, regions=regions, themes=themes, start=start, rate=rate,
                               pseudonymizer=pseudonymizer)
    summary = SimulationSummary(seed=seed, start=generator.start, rate=rate, requested=total)
    began = time.monotonic()
    while summary.published < total:
        due = min(total, int((time.monotonic() - began) * rate) + 1)
        batch = [generator.next_event() for _ in range(due - summary.published)]
        if batch:
            publisher.publish_many(batch)
            for event in batch:
                summary.by_theme[type(event).THEME] += 1
                summary.by_event_type[type(event).__name__] += 1
                summary.regions.add(event.envelope.region_code)
            summary.published += len(batch)
            if on_progress is not None:
                on_progress(len(batch))
        if summary.published < total:
            # Pacing, not synchronisation: wait for the next slice of the rate.
            time.sleep(max(0.0, min(_TICK_S, (summary.published + 1) / rate - (time.monotonic() - began))))
    publisher.flush()
    summary.spooled_at_end = publisher.drain(drain_timeout_s) if publisher.spool is not None else 0
    summary.elapsed_s = time.monotonic() - began
    return summary
