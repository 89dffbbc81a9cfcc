"""The simulator of all 552 regions and 15 themes: a deterministic, realistic event stream."""

from adapters.simulator.exceptions import SimulatorConfigError, SimulatorError
from adapters.simulator.generator import (
    DEFAULT_START,
    EventGenerator,
    generate_events,
    parse_regions,
    parse_themes,
)
from adapters.simulator.runner import SimulationSummary, run_simulation

__all__ = [
    "generate_events",
    "EventGenerator",
    "parse_regions",
    "parse_themes",
    "DEFAULT_START",
    "run_simulation",
    "SimulationSummary",
    "SimulatorError",
    "SimulatorConfigError",
]
