"""helm/egov-bus without a cluster: lint, kubeconform, and the rendered manifests' promises."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bus.settings import EgovSettings
from tests.fixtures.tools import run_tool
from tests.helm.chart import (
    ALL_ON,
    CHART,
    KUBE_VERSIONS,
    NAMESPACE,
    NO_SCHEMA_KINDS,
    VARIANTS,
    documents,
    helm_template,
    kubeconform_cmd,
    of_kind,
    one,
    pod_specs,
    render,
    values_file,
)

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"


@pytest.fixture(scope="module")
def values_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("values")


@pytest.fixture(scope="module")
def variant_files(values_dir) -> dict[str, list[str | Path]]:
    """helm arguments of each values variant."""
    return {name: (["-f", values_file(values_dir, v, name)] if v else []) for name, v in VARIANTS.items()}


@pytest.fixture(scope="module")
def manifests(helm_bin, variant_files) -> dict[str, str]:
    """Rendered output of each variant (rendered once per module: helm takes ~0.2 s a run)."""
    out = {}
    for name, args in variant_files.items():
        result = helm_template(helm_bin, *args)
        assert result.returncode == 0, result.explain()
        out[name] = result.stdout
    return out


@pytest.fixture(scope="module")
def defaults(manifests) -> list[dict]:
    return documents(manifests["defaults"])


@pytest.fixture(scope="module")
def all_on(manifests) -> list[dict]:
    return documents(manifests["all-on"])


# ------------------------------------------------------------------ lint and schemas


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_helm_lint_strict(helm_bin, variant_files, variant):
    result = run_tool([helm_bin, "lint", "--strict", CHART, *variant_files[variant]])
    assert result.returncode == 0, result.explain()
    assert "0 chart(s) failed" in result.output


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_kubeconform_strict(
    kubeconform_bin, k8s_schema_location, crd_schema_location, manifests, variant, kube_version, tmp_path
):
    manifest = tmp_path / f"{variant}.yaml"
    manifest.write_text(manifests[variant])
    result = run_tool(
        kubeconform_cmd(
            kubeconform_bin, k8s_schema_location, crd_schema_location, kube_version,
            "-summary", "-output", "json", manifest,
        )
    )
    assert result.returncode == 0, result.explain()
    summary = json.loads(result.stdout)["summary"]
    docs = documents(manifests[variant])
    skipped_kinds = sorted({d["kind"] for d in docs if d["kind"] in NO_SCHEMA_KINDS})
    print(f"kubeconform {variant} on Kubernetes {kube_version}: {summary}; skipped (no CRD schema): {skipped_kinds or 'none'}")
    assert summary["invalid"] == 0 and summary["errors"] == 0, result.explain()
    assert summary["skipped"] == sum(1 for d in docs if d["kind"] in NO_SCHEMA_KINDS), "only Strimzi kinds may be skipped"
    assert summary["valid"] == len(docs) - summary["skipped"]


def test_kubeconform_catches_an_invalid_manifest(
    kubeconform_bin, k8s_schema_location, crd_schema_location, manifests, tmp_path
):
    """The schemas really are applied: unknown fields and wrong types are refused, CRDs included."""
    bad = manifests["all-on"].replace("revisionHistoryLimit: 5", "revisionHistoryLimit: 5\n  replicaz: 2", 1)
    bad = bad.replace("containerPort: 8080", 'containerPort: "8080"', 1)
    bad = bad.replace("scrapeTimeout: 10s", "scrapeTimout: 10s", 1)
    bad = bad.replace("- alert: EgovDlqRateHigh", "- alert: EgovDlqRateHigh\n          severity: warning", 1)
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(bad)
    result = run_tool(kubeconform_cmd(kubeconform_bin, k8s_schema_location, crd_schema_location, KUBE_VERSIONS[0], manifest))
    assert result.returncode != 0
    for message in (
        "additional properties 'replicaz' not allowed",
        "got string, want integer",
        "additional properties 'scrapeTimout' not allowed",
        "additional properties 'severity' not allowed",
    ):
        assert message in result.output, result.explain()


# ------------------------------------------------------------------ monitoring


def test_monitoring_off_renders_no_servicemonitor_or_prometheusrule(defaults):
    kinds = {d["kind"] for d in defaults}
    assert "ServiceMonitor" not in kinds and "PrometheusRule" not in kinds


def test_monitoring_on_renders_servicemonitors_and_the_same_rules(all_on):
    monitors = of_kind(all_on, "ServiceMonitor")
    assert sorted(m["metadata"]["name"] for m in monitors) == ["egov-egov-bus-gateway", "egov-egov-bus-processor"]
    ports = {}
    for monitor in monitors:
        assert monitor["metadata"]["labels"]["release"] == "prometheus"
        assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
        ports[monitor["metadata"]["name"].rsplit("-", 1)[1]] = monitor["spec"]["endpoints"][0]["port"]
    # The gateway serves /metrics on its API port; the processors on EGOV_METRICS_PORT.
    assert ports == {"gateway": "http", "processor": "metrics"}
    processor = one(all_on, "StatefulSet", "-processor")["spec"]["template"]["spec"]["containers"][0]
    metrics_port = next(p["containerPort"] for p in processor["ports"] if p["name"] == "metrics")
    assert {"name": "EGOV_METRICS_PORT", "value": str(metrics_port)} in processor["env"]
    rule = one(all_on, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())


def test_chart_rules_copy_is_identical_to_deploy_rules():
    copy = CHART / "files" / "rules.yml"
    assert copy.read_text() == RULES.read_text(), (
        f"{copy} differs from {RULES}; copy it: cp {RULES.relative_to(ROOT)} {copy.relative_to(ROOT)}"
    )


def test_each_servicemonitor_selects_exactly_one_service(all_on):
    services = of_kind(all_on, "Service")
    for monitor in of_kind(all_on, "ServiceMonitor"):
        selector = monitor["spec"]["selector"]
        matched = [
            s["metadata"]["name"]
            for s in services
            if selector["matchLabels"].items() <= s["metadata"]["labels"].items()
            and all(e["key"] not in s["metadata"]["labels"] for e in selector.get("matchExpressions", []))
        ]
        assert len(matched) == 1, f"{monitor['metadata']['name']} selects {matched}: pods would be scraped twice"


# ------------------------------------------------------------------ Strimzi


def test_strimzi_topics_one_per_catalogue_topic(all_on):
    from topics.catalog import load_catalog

    catalogue = load_catalog()
    topics = of_kind(all_on, "KafkaTopic")
    names = [t["spec"]["topicName"] for t in topics]
    assert len(names) == len(set(names)) == len(catalogue.topics)
    assert set(names) == {t.name for t in catalogue.topics}
    for topic in topics:
        spec = catalogue.topic(topic["spec"]["topicName"])
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "egov"
        assert topic["metadata"]["namespace"] == NAMESPACE
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", topic["metadata"]["name"])
        assert topic["spec"]["partitions"] == spec.partitions
        assert topic["spec"]["replicas"] == spec.replication_factor
        assert {k: str(v) for k, v in topic["spec"]["config"].items()} == dict(spec.config)


def test_strimzi_topics_replicas_override(helm_bin, manifests):
    topics = of_kind(documents(manifests["alternative"]), "KafkaTopic")
    assert topics and {t["spec"]["replicas"] for t in topics} == {1}


def test_strimzi_off_renders_no_strimzi_resources(defaults):
    assert not [d for d in defaults if d["apiVersion"].startswith("kafka.strimzi.io/")]


def test_region_users_write_the_theme_topics_and_nothing_else(all_on):
    # The exact ACLs of every user against topics/acls.yaml: tests/helm/test_kafkausers.py.
    users = {u["metadata"]["name"]: u for u in of_kind(all_on, "KafkaUser")}
    assert set(users) == {"gateway", "processors", "ministry-finance", "ministry-panrb",  # (no dashboard: no views-api)
                          "region-32.01", "region-73.71", "province-32"}
    from topics.catalog import load_catalog

    theme_topics = {t.name for t in load_catalog().of_kind("theme")}
    for name in ("region-32.01", "region-73.71"):
        spec = users[name]["spec"]
        assert spec["authentication"] == {"type": "scram-sha-512"}
        assert spec["quotas"] == {"producerByteRate": 1048576}
        acls = spec["authorization"]["acls"]
        assert {a["resource"]["type"] for a in acls} == {"topic", "cluster"}
        assert {a["resource"]["name"] for a in acls if a["resource"]["type"] == "topic"} == theme_topics
        assert {op for a in acls for op in a["operations"]} == {"Write", "Describe", "IdempotentWrite"}


def test_sasl_components_use_their_strimzi_users_secrets(all_on):
    for kind, suffix, user in (("Deployment", "-gateway", "gateway"), ("StatefulSet", "-processor", "processors")):
        env = {e["name"]: e for e in one(all_on, kind, suffix)["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["EGOV_SASL_USERNAME"]["value"] == user
        assert env["EGOV_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": user, "key": "password"}


# ------------------------------------------------------------------ workloads


def test_gateway_deployment_service_hpa_pdb(defaults):
    deployment = one(defaults, "Deployment", "-gateway")
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["egov-bus"] and container["args"][0] == "gateway"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    hpa = one(defaults, "HorizontalPodAutoscaler", "-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        obj = one(defaults, kind, "-gateway")
        selector = obj["spec"]["selector"] if kind == "Service" else obj["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items(), f"{kind} does not select the gateway pods"


def test_gateway_workers_and_the_hpa_on_requests_in_flight(defaults, all_on):
    def gateway(docs: list[dict]) -> tuple[list[str], list[dict]]:
        container = one(docs, "Deployment", "-gateway")["spec"]["template"]["spec"]["containers"][0]
        return container["args"], one(docs, "HorizontalPodAutoscaler", "-gateway")["spec"]["metrics"]

    args, metrics = gateway(defaults)
    assert args == ["gateway", "--host", "0.0.0.0", "--port", "8080", "--workers", "1"]
    # Off by default: it needs prometheus-adapter, and an HPA missing a metric stops scaling down.
    assert metrics == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    args, metrics = gateway(all_on)
    assert args[-2:] == ["--workers", "2"]
    assert [m["type"] for m in metrics] == ["Resource", "Resource", "Pods"]
    assert metrics[2]["pods"] == {"metric": {"name": "egov_gateway_requests_in_flight"},
                                  "target": {"type": "AverageValue", "averageValue": "20"}}


def test_processors_are_a_statefulset_consumer_group_with_state_volumes(defaults):
    sts = one(defaults, "StatefulSet", "-processor")
    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["serviceName"] == one(defaults, "Service", "-processor-headless")["metadata"]["name"]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["egov-bus"] and container["args"] == ["process"]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "state"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert mounts["state"] == env["EGOV_PROCESSOR_DATA_DIR"] == "/var/lib/egov-bus/processors"
    assert env["EGOV_PROCESSOR_APP_ID"] == "egov-processors"  # the consumer group of all replicas
    assert env["EGOV_PROCESSING_GUARANTEE"] == "exactly_once"
    # Every replica joins the same group: nothing per-pod distinguishes their Kafka group.
    assert not [e for e in container["env"] if "GROUP" in e["name"]]


def processor_parts(docs: list[dict]) -> tuple[dict, dict, dict[str, str | None]]:
    """The processors' StatefulSet, its container and that container's env (name -> value)."""
    sts = one(docs, "StatefulSet", "-processor")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    return sts, container, {e["name"]: e.get("value") for e in container["env"]}


def test_processor_state_is_a_claim_per_pod_mounted_at_the_data_dir(defaults):
    """EGOV_PROCESSOR_DATA_DIR is the mount of the volumeClaimTemplate: one writable PVC per pod."""
    sts, container, env = processor_parts(defaults)
    pod = sts["spec"]["template"]["spec"]
    claims = [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]]
    assert claims == ["state"]
    data_dir = env["EGOV_PROCESSOR_DATA_DIR"]
    assert data_dir == "/var/lib/egov-bus/processors"
    mounts = [m for m in container["volumeMounts"] if m["mountPath"] == data_dir]
    assert len(mounts) == 1 and mounts[0]["name"] == "state", "the data dir must be the claim's mount"
    assert not mounts[0].get("readOnly") and "subPath" not in mounts[0]
    # The claim template, not a pod volume, provides "state": a pod volume of that name (or any
    # persistentVolumeClaim volume) would be one claim shared by every replica.
    assert "state" not in {v["name"] for v in pod["volumes"]}
    assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    # Read-only root filesystem, non-root user: the volume is writable through the pod's fsGroup.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["fsGroup"] == container["securityContext"]["runAsGroup"] == 10001
    assert container["workingDir"] == data_dir, "relative writes must land on the state volume"


def test_processor_settings_are_rendered_as_env(defaults, helm_bin, values_dir):
    _, _, env = processor_parts(defaults)
    assert env["EGOV_COMMIT_INTERVAL_MS"] == "100"
    assert env["EGOV_DEDUPE_WINDOW"] == "P7D"
    custom = {
        "processor": {
            "commitIntervalMs": 250,
            "dedupeWindow": "P1DT12H",
            "persistence": {"mountPath": "/data/egov/state"},
        }
    }
    sts, container, env = processor_parts(render(helm_bin, "-f", values_file(values_dir, custom, "processor-settings")))
    assert env["EGOV_COMMIT_INTERVAL_MS"] == "250"
    assert env["EGOV_DEDUPE_WINDOW"] == "P1DT12H"
    assert env["EGOV_PROCESSOR_DATA_DIR"] == "/data/egov/state"
    assert {m["name"]: m["mountPath"] for m in container["volumeMounts"]}["state"] == "/data/egov/state"
    assert container["workingDir"] == "/data/egov/state"
    # The worker's own settings accept what the chart renders.
    settings = EgovSettings(
        commit_interval_ms=env["EGOV_COMMIT_INTERVAL_MS"],
        dedupe_window=env["EGOV_DEDUPE_WINDOW"],
        processor_data_dir=env["EGOV_PROCESSOR_DATA_DIR"],
    )
    assert settings.commit_interval_ms == 250
    assert settings.dedupe_window == timedelta(days=1, hours=12)
    assert settings.processor_data_dir == "/data/egov/state"


def test_processor_state_without_persistence_is_an_empty_dir_at_the_same_path(manifests):
    sts, container, env = processor_parts(documents(manifests["alternative"]))
    assert "volumeClaimTemplates" not in sts["spec"]
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes["state"]["emptyDir"] == {"sizeLimit": "10Gi"}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["state"] == env["EGOV_PROCESSOR_DATA_DIR"] == "/var/lib/egov-bus/processors"


#: Durations the schema's dedupeWindow pattern must accept (and bus.settings parse) or refuse.
DEDUPE_WINDOWS_ACCEPTED = {
    "P7D": timedelta(days=7),
    "P30D": timedelta(days=30),
    "PT12H": timedelta(hours=12),
    "PT1M": timedelta(minutes=1),
    "PT90S": timedelta(seconds=90),
    "P1DT12H": timedelta(days=1, hours=12),
    "P1DT2H30M15S": timedelta(days=1, hours=2, minutes=30, seconds=15),
    "PT1H30M": timedelta(hours=1, minutes=30),
}
DEDUPE_WINDOWS_REFUSED = ("", "P", "PT", "P1DT", "7 days", "7d", "P7d", "p7d", "P7", "PT12", "P1.5D", "-P7D", "P7D ", "P1H")


def test_dedupe_window_pattern_agrees_with_the_settings():
    schema = json.loads((CHART / "values.schema.json").read_text())
    pattern = re.compile(schema["properties"]["processor"]["properties"]["dedupeWindow"]["pattern"])
    for window, expected in DEDUPE_WINDOWS_ACCEPTED.items():
        assert pattern.search(window), f"{window} should be accepted"
        assert EgovSettings(dedupe_window=window).dedupe_window == expected
    for window in DEDUPE_WINDOWS_REFUSED:
        assert not pattern.search(window), f"{window!r} should be refused"


@pytest.mark.parametrize("window", ["PT59S", "P0D", "PT0H0M"])
def test_a_dedupe_window_under_a_minute_is_refused(helm_bin, window):
    """The settings refuse windows under a minute; the chart fails at render time, not in the pod."""
    result = helm_template(helm_bin, "--set", f"processor.dedupeWindow={window}")
    assert result.returncode != 0, result.stdout[:500]
    assert f'processor.dedupeWindow "{window}" is shorter than one minute' in result.stderr, result.explain()
    assert helm_template(helm_bin, "--set", "processor.dedupeWindow=PT60S").returncode == 0


def test_config_change_changes_the_checksum(helm_bin, defaults):
    def checksums(docs):
        return {
            kind: one(docs, kind, suffix)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for kind, suffix in (("Deployment", "-gateway"), ("StatefulSet", "-processor"))
        }

    before = checksums(defaults)
    changed = checksums(render(helm_bin, "--set", "kafka.bootstrapServers=other-kafka-bootstrap:9092"))
    assert all(before[k] != changed[k] for k in before), "a config change must roll the pods"
    unrelated = checksums(render(helm_bin, "--set", "gateway.resources.limits.memory=1Gi"))
    assert unrelated == before, "a change outside the ConfigMap must not change its checksum"
    assert all(re.fullmatch(r"[0-9a-f]{64}", c) for c in before.values())


def test_config_env_file_holds_only_known_settings(manifests):
    known = {f"EGOV_{name}".upper() for name in EgovSettings.model_fields} | {"EGOV_ENV_FILE"}
    for variant in VARIANTS:
        docs = documents(manifests[variant])
        env_file = one(docs, "ConfigMap", "-config")["data"]["egov.env"]
        keys = [line.split("=", 1)[0] for line in env_file.splitlines() if line.strip()]
        assert set(keys) <= known, f"{variant}: unknown settings {sorted(set(keys) - known)} (bus.settings refuses them)"
        for where, spec in pod_specs(docs).items():
            for container in spec["containers"]:
                names = {e["name"] for e in container.get("env", []) if e["name"].startswith("EGOV_")}
                assert names <= known, f"{variant} {where}: unknown settings {sorted(names - known)}"


def test_containers_are_locked_down(manifests):
    for variant in VARIANTS:
        for where, spec in pod_specs(documents(manifests[variant])).items():
            pod = spec.get("securityContext", {})
            assert pod.get("runAsNonRoot") is True, where
            for container in spec["containers"]:
                sc = container["securityContext"]
                assert sc["runAsNonRoot"] is True, where
                assert sc["readOnlyRootFilesystem"] is True, where
                assert sc["allowPrivilegeEscalation"] is False, where
                assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), where
                seccomp = sc.get("seccompProfile") or pod.get("seccompProfile")
                assert seccomp == {"type": "RuntimeDefault"}, where
                assert container["resources"].get("requests"), f"{where}: no resource requests"
                assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"]), f"{where}: no writable /tmp"
            assert spec["automountServiceAccountToken"] is False, where


def test_secrets_are_referenced_never_inlined(all_on, manifests):
    for variant in VARIANTS:
        assert not of_kind(documents(manifests[variant]), "Secret"), f"{variant}: the chart must not create Secrets"
    referenced = set()
    for spec in pod_specs(all_on).values():
        for container in spec["containers"]:
            for env in container.get("env", []):
                assert not re.search(r"PASSWORD|SECRET|_KEY$|BASIC_AUTH", env["name"]) or "valueFrom" in env, (
                    f"{env['name']} must come from a Secret"
                )
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.add(ref["name"])
        referenced |= {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
    assert referenced == {
        "gateway",  # Strimzi's Secret of the gateway's KafkaUser
        "processors",
        "egov-registry-auth",
        "egov-pseudonym-key",
        "egov-gateway-api-keys",
        "egov-cluster-ca-cert",
        "registry-db",
    }


def test_network_policies_cover_every_workload(all_on):
    policies = of_kind(all_on, "NetworkPolicy")
    selected = [p["spec"]["podSelector"]["matchLabels"] for p in policies]
    workloads = [d for d in all_on if d["kind"] in ("Deployment", "StatefulSet")]
    assert len(workloads) == 3
    for workload in workloads:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(sel.items() <= labels.items() for sel in selected), f"{workload['metadata']['name']} has no NetworkPolicy"
    for policy in policies:
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert {} not in policy["spec"]["egress"], "allowExternalEgress=false must not allow all egress"


def test_apicurio_registry_is_optional_and_wired(defaults, all_on):
    assert not [d for d in defaults if d["metadata"]["name"].endswith("-registry")]
    registry = one(all_on, "Deployment", "-registry")
    env = {e["name"]: e for e in registry["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["APICURIO_STORAGE_SQL_KIND"]["value"] == "postgresql"
    assert env["APICURIO_DATASOURCE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "registry-db"
    env_file = one(all_on, "ConfigMap", "-config")["data"]["egov.env"]
    service = one(all_on, "Service", "-registry")["metadata"]["name"]
    assert f"EGOV_SCHEMA_REGISTRY_URL=http://{service}:8080/apis/ccompat/v7" in env_file.splitlines()


def test_notes_render(helm_bin, values_dir, tmp_path):
    """NOTES.txt renders with every part on (helm template does not print NOTES: wrap it in a ConfigMap)."""
    copy = tmp_path / "egov-bus"
    shutil.copytree(CHART, copy)
    shutil.copy(copy / "templates" / "NOTES.txt", copy / "files" / "notes.txt")
    (copy / "templates" / "notes-probe.yaml").write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-probe\ndata:\n'
        '  notes: {{ tpl (.Files.Get "files/notes.txt") . | toJson }}\n'
    )
    result = helm_template(
        helm_bin, "-f", values_file(values_dir, ALL_ON, "notes"), "--show-only", "templates/notes-probe.yaml", chart=copy
    )
    assert result.returncode == 0, result.explain()
    notes = documents(result.stdout)[0]["data"]["notes"]
    assert "Schema registry: http://egov-egov-bus-registry:8080/apis/ccompat/v7" in notes
    assert ("2 region and 1 province user(s), the ministry feeds' consumers and the enabled components'"
            " (gateway, processors, views-api for the dashboard)") in notes
    assert "Monitoring: ServiceMonitor on, PrometheusRule on." in notes
    assert "State: /var/lib/egov-bus/processors on a 10Gi PersistentVolumeClaim per pod" in notes


# ------------------------------------------------------------------ refusals


BAD_VALUES = {
    "unknown top-level key": ({"gatway": {"enabled": True}}, "additional properties 'gatway' not allowed"),
    "unknown nested key": ({"gateway": {"replicas": 3}}, "additional properties 'replicas' not allowed"),
    "negative replicas": ({"processor": {"replicaCount": 0}}, "/processor/replicaCount"),
    "no gateway workers": ({"gateway": {"workers": 0}}, "/gateway/workers"),
    "in-flight target as a string": ({"gateway": {"autoscaling": {"inFlightTarget": "20"}}},
                                     "/gateway/autoscaling/inFlightTarget"),
    "bad security protocol": ({"kafka": {"securityProtocol": "TLS"}}, "/kafka/securityProtocol"),
    "SASL without a password Secret": ({"kafka": {"securityProtocol": "SASL_SSL"}}, "/kafka/auth/existingSecret"),
    "region code as a number": ({"strimzi": {"users": {"enabled": True, "regions": [32.01]}}}, "/strimzi/users/regions/0"),
    "region code malformed": ({"strimzi": {"users": {"enabled": True, "regions": ["3201"]}}}, "/strimzi/users/regions/0"),
    "province code as a region": ({"strimzi": {"users": {"enabled": True, "regions": ["32"]}}}, "/strimzi/users/regions/0"),
    "region code as a province": ({"strimzi": {"users": {"enabled": True, "provinces": ["32.01"]}}},
                                  "/strimzi/users/provinces/0"),
    "removed user setting": ({"strimzi": {"users": {"regionPrefix": "egov-region-"}}},
                             "additional properties 'regionPrefix' not allowed"),
    # (helm names the wrong path for propertyNames errors, so match the message)
    "setting key not EGOV_": ({"config": {"extra": {"bootstrap_servers": "x:1"}}}, "invalid propertyName 'bootstrap_servers'"),
    "secret in the config map": ({"config": {"extra": {"EGOV_SASL_PASSWORD": "hunter2"}}}, "invalid propertyName 'EGOV_SASL_PASSWORD'"),
    "image digest malformed": ({"image": {"digest": "latest"}}, "/image/digest"),
    "registry url without scheme": ({"registry": {"url": "apicurio:8080"}}, "/registry/url"),
    "no registry at all": ({"registry": {"url": ""}}, "/registry/url"),
    "bootstrap without port": ({"kafka": {"bootstrapServers": "kafka"}}, "/kafka/bootstrapServers"),
    "dedupe window not ISO 8601": ({"processor": {"dedupeWindow": "7 days"}}, "/processor/dedupeWindow"),
    "dedupe window with an empty time part": ({"processor": {"dedupeWindow": "PT"}}, "/processor/dedupeWindow"),
    "dedupe window as a number": ({"processor": {"dedupeWindow": 7}}, "/processor/dedupeWindow"),
    "commit interval under 10 ms": ({"processor": {"commitIntervalMs": 5}}, "/processor/commitIntervalMs"),
    "commit interval over a minute": ({"processor": {"commitIntervalMs": 60001}}, "/processor/commitIntervalMs"),
    "commit interval as a string": ({"processor": {"commitIntervalMs": "100ms"}}, "/processor/commitIntervalMs"),
    "relative state path": ({"processor": {"persistence": {"mountPath": "state"}}}, "/processor/persistence/mountPath"),
    "state path on /tmp": ({"processor": {"persistence": {"mountPath": "/tmp"}}}, "/processor/persistence/mountPath"),
    # (the chart sets these from processor.*; the env var would silently win over the env file)
    "processor setting in the config map": (
        {"config": {"extra": {"EGOV_DEDUPE_WINDOW": "P1D"}}}, "invalid propertyName 'EGOV_DEDUPE_WINDOW'"
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_values_are_refused_by_the_schema(helm_bin, values_dir, case):
    values, message = BAD_VALUES[case]
    result = helm_template(helm_bin, "-f", values_file(values_dir, values, re.sub(r"\W+", "-", case)))
    assert result.returncode != 0, f"{case}: accepted\n{result.stdout[:500]}"
    assert "values don't meet the specifications of the schema" in result.stderr, result.explain()
    assert message in result.stderr, result.explain()


# ------------------------------------------------------------------ broken chart


@pytest.fixture
def chart_copy(tmp_path) -> Path:
    copy = tmp_path / "egov-bus"
    shutil.copytree(CHART, copy)
    return copy


def test_a_template_syntax_error_fails_lint_and_template(helm_bin, chart_copy):
    (chart_copy / "templates" / "broken.yaml").write_text("kind: ConfigMap\nname: {{ .Values.nope \n")
    assert run_tool([helm_bin, "lint", "--strict", chart_copy]).returncode != 0
    assert helm_template(helm_bin, chart=chart_copy).returncode != 0


def test_a_template_rendering_an_invalid_object_fails_kubeconform(
    helm_bin, kubeconform_bin, k8s_schema_location, crd_schema_location, chart_copy, tmp_path
):
    service = chart_copy / "templates" / "gateway-service.yaml"
    service.write_text(service.read_text().replace("targetPort: http", "targetPort: http\n      protocl: TCP"))
    result = helm_template(helm_bin, chart=chart_copy)
    assert result.returncode == 0, result.explain()
    manifest = tmp_path / "out.yaml"
    manifest.write_text(result.stdout)
    check = run_tool(kubeconform_cmd(kubeconform_bin, k8s_schema_location, crd_schema_location, KUBE_VERSIONS[0], manifest))
    assert check.returncode != 0 and "protocl" in check.output, check.explain()
