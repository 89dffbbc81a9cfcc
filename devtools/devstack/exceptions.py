"""Errors of the local development stack."""

from bus.errors import EgovBusError


class DevStackError(EgovBusError):
    """Base class: the local stack could not be set up, started or stopped."""


class PrerequisiteError(DevStackError):
    """A tool the stack needs (Java, Maven) is missing or too old."""


class ArtifactError(DevStackError):
    """Kafka or Apicurio artifacts could not be fetched or unpacked."""


class ServiceStartError(DevStackError):
    """A service process exited or did not become ready in time."""
