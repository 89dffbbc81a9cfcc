"""What a theme generator is: a function of the generator, the region's state and the time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from adapters.simulator.state import RegionState

if TYPE_CHECKING:
    from adapters.simulator.generator import EventGenerator

#: An event type name and its fields (the envelope is added by the generator).
ThemeEvent = tuple[str, dict[str, Any]]


class ThemeGenerator(Protocol):
    """Draws the next event of one theme for a region from ``sim.rng``.

    It may read and update ``state`` (lifecycles refer to earlier events of the
    region); it must draw only from ``sim.rng``, so that a seed fixes the stream.
    """

    def __call__(self, sim: EventGenerator, state: RegionState, now: datetime) -> ThemeEvent: ...
