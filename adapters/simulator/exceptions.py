"""Errors of the simulator."""

from bus.errors import EgovBusError


class SimulatorError(EgovBusError):
    """Base class of simulator errors."""


class SimulatorConfigError(SimulatorError):
    """Bad --regions, --themes, --rate or --duration."""
