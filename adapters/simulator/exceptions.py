"""Errors of the simulator."""

from bus.errors import EgovBusError


class SimulatorError(EgovBusError):
    """Base class of simulator errors."""


class SimulatorConfigError(SimulatorError):
    """Bad --regions, --themes, --rate, --duration or --start (a rate that is not positive, a naive start time)."""
