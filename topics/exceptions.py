"""Errors of the ``topics`` package (all :class:`bus.errors.EgovBusError`)."""

from __future__ import annotations

from bus.errors import EgovBusError


class TopicsError(EgovBusError):
    """Base class of every error about topics, the catalogue and its exports."""


class CatalogError(TopicsError):
    """The catalogue file is malformed or contradicts the schemas."""


class ProvisioningError(TopicsError):
    """The cluster refused or did not answer a topic operation in time."""


class RegistryCheckError(TopicsError):
    """Registering or checking schemas against the registry failed."""


class IncompatibleSchemaError(RegistryCheckError):
    """A working-tree schema is not compatible with what the registry holds."""


class AclPolicyError(TopicsError):
    """The ACL file is malformed, or names a principal or region that does not exist."""


class AccessControlError(TopicsError):
    """The cluster refused or did not answer an ACL or SCRAM credential operation."""
