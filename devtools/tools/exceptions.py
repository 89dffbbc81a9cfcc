"""Errors of the external-tool installers."""

from bus.errors import EgovBusError


class ToolError(EgovBusError):
    """Base class: an external tool (helm, kubeconform, promtool, schemas) is unavailable."""


class ToolInstallError(ToolError):
    """A pinned tool could not be installed; the message says what to install by hand."""
