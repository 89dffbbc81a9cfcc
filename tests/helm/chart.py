"""Rendering helm/egov-bus for the chart checks, and the catalogue's KafkaTopic documents."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.tools import ToolRun, run_tool

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "egov-bus"
TOPICS_FILE = CHART / "files" / "topics.yaml"
#: The ACL policy's KafkaUsers in template form (`egov-bus catalog strimzi-users --templates`).
USERS_FILE = CHART / "files" / "users.yaml"
RELEASE = "egov"
NAMESPACE = "egov-system"

#: The chart's oldest supported Kubernetes (Chart.yaml kubeVersion) and the newest with schemas.
KUBE_VERSIONS = ("1.29.0", "1.37.0")

#: Custom resources kubeconform has no schema for: Strimzi publishes its CRDs only in its release
#: archives (its CRD generator is not on Maven Central). tests/helm/test_strimzi_resources.py
#: checks them against the Strimzi v1beta2 fields the chart uses instead.
NO_SCHEMA_KINDS = ("KafkaTopic", "KafkaUser")

#: Every optional part on: Strimzi topics and users, monitoring, Apicurio on PostgreSQL,
#: SASL_SSL with a CA, every Secret reference, strict network policy.
ALL_ON: dict[str, Any] = {
    "commonLabels": {"team": "platform"},
    "commonAnnotations": {"egov-bus.io/owner": "platform"},
    "image": {"registry": "registry.example", "pullSecrets": ["regcred"]},
    "kafka": {
        "bootstrapServers": "egov-kafka-bootstrap.kafka:9093",
        "securityProtocol": "SASL_SSL",
        "tls": {"existingSecret": "egov-cluster-ca-cert"},
    },
    "registry": {
        "url": "",
        "auth": {"existingSecret": "egov-registry-auth"},
        "apicurio": {
            "enabled": True,
            "storage": {
                "kind": "sql",
                "sql": {
                    "kind": "postgresql",
                    "url": "jdbc:postgresql://registry-db:5432/registry",
                    "username": "registry",
                    "existingSecret": "registry-db",
                },
            },
        },
    },
    "pseudonymKey": {"existingSecret": "egov-pseudonym-key"},
    "config": {"extra": {"EGOV_TOPIC_REPLICATION_FACTOR": 3}},
    "gateway": {
        "apiKeys": {"existingSecret": "egov-gateway-api-keys"},
        "workers": 2,
        "autoscaling": {"targetMemoryUtilizationPercentage": 80, "inFlightTarget": 20},
        "extraEnv": [{"name": "LOG_LEVEL", "value": "info"}],
    },
    "processor": {"persistence": {"storageClass": "fast-ssd"}},
    "networkPolicy": {
        "allowExternalEgress": False,
        "gatewayAllowExternal": False,
        "metricsNamespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    },
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        "prometheusRule": {"enabled": True, "labels": {"release": "prometheus"}},
    },
    "strimzi": {
        "topics": {"enabled": True},
        "users": {"enabled": True, "regions": ["32.01", "73.71"], "provinces": ["32"], "quotas": {"producerByteRate": 1048576}},
    },
}

#: Other branches: Kafka-backed Apicurio, no persistence, fixed replicas, image digest, plain SSL.
ALTERNATIVE: dict[str, Any] = {
    "image": {"digest": "sha256:" + "ab" * 32},
    "kafka": {"securityProtocol": "SSL", "tls": {"existingSecret": "egov-cluster-ca-cert"}},
    "registry": {"apicurio": {"enabled": True, "storage": {"kind": "kafkasql"}}},
    "gateway": {"autoscaling": {"enabled": False}, "replicaCount": 3, "pdb": {"minAvailable": None, "maxUnavailable": 1}},
    "processor": {"persistence": {"enabled": False}, "replicaCount": 6},
    "networkPolicy": {"allowExternalEgress": False},
    "strimzi": {"topics": {"enabled": True, "replicas": 1}},
}

VARIANTS = {"defaults": {}, "all-on": ALL_ON, "alternative": ALTERNATIVE}


def values_file(tmp_dir: Path, values: dict[str, Any], name: str = "values") -> Path:
    path = tmp_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def helm_template(
    helm: Path, *args: str | Path, chart: Path = CHART, kube_version: str | None = None
) -> ToolRun:
    """``helm template`` of the chart with extra arguments (``-f file``, ``--set k=v``)."""
    cmd: list[str | Path] = [helm, "template", RELEASE, chart, "--namespace", NAMESPACE]
    if kube_version:
        cmd += ["--kube-version", kube_version]
    return run_tool([*cmd, *args])


def kubeconform_cmd(
    kubeconform: Path, k8s_location: str, crd_location: str, kube_version: str, *args: str | Path
) -> list[str | Path]:
    """kubeconform -strict with the offline Kubernetes and CRD schemas, skipping the kinds without one."""
    return [
        kubeconform, "-strict", "-kubernetes-version", kube_version,
        "-schema-location", k8s_location, "-schema-location", crd_location,
        "-skip", ",".join(NO_SCHEMA_KINDS), *args,
    ]


def documents(manifest: str) -> list[dict]:
    """The non-empty YAML documents of a rendered manifest."""
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def render(helm: Path, *args: str | Path, chart: Path = CHART) -> list[dict]:
    result = helm_template(helm, *args, chart=chart)
    assert result.returncode == 0, result.explain()
    return documents(result.stdout)


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str, name_suffix: str = "") -> dict:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, f"expected one {kind} *{name_suffix}, found {[d['metadata']['name'] for d in found]}"
    return found[0]


def pod_specs(docs: list[dict]) -> dict[str, dict]:
    """Pod template spec of every workload, by ``Kind/name``."""
    return {
        f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")
    }


# ------------------------------------------------------------------ topic catalogue


def kafkatopic_name(topic: str) -> str:
    """A Kubernetes-valid resource name for a Kafka topic (no underscores, lower case)."""
    return re.sub(r"[^a-z0-9.-]", "-", topic.lower())


def catalogue_kafkatopics(cluster: str = "egov") -> list[dict]:
    """KafkaTopic documents built from ``topics.catalog.load_catalog()`` (production values)."""
    from topics.catalog import load_catalog

    return [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {"name": kafkatopic_name(t.name), "labels": {"strimzi.io/cluster": cluster}},
            "spec": {
                "topicName": t.name,
                "partitions": t.partitions,
                "replicas": t.replication_factor,
                "config": dict(t.config),
            },
        }
        for t in load_catalog().topics
    ]


TOPICS_FILE_HEADER = """\
# The topic catalogue as Strimzi KafkaTopic resources: the input of templates/kafkatopics.yaml.
# Generated from topics/catalog.yaml; tests/helm/test_topics_file.py checks that it is current
# and rewrites it when run with EGOV_UPDATE_CHART_TOPICS=1.
"""


def write_topics_file(docs: list[dict]) -> None:
    TOPICS_FILE.write_text(
        TOPICS_FILE_HEADER + "".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in docs)
    )


def update_requested() -> bool:
    return os.environ.get("EGOV_UPDATE_CHART_TOPICS") == "1"
