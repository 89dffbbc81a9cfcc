"""helm/egov-bus's views API and dashboard (`dashboard.*`): the hashed tokens Secret mounted, --public, refusals."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from bus.settings import EgovSettings
from tests.fixtures.tools import run_tool
from tests.helm.chart import ALL_ON, CHART, KUBE_VERSIONS, documents, helm_template, kubeconform_cmd, of_kind, one, render, values_file

pytestmark = pytest.mark.tools

TOKENS = {"dashboard": {"enabled": True, "tokens": {"existingSecret": "egov-views-api-tokens"}}}


def with_dashboard(base: dict, dashboard: dict) -> dict:
    values = copy.deepcopy(base)
    values["dashboard"] = dashboard
    return values


@pytest.fixture(scope="module")
def values_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dashboard-values")


@pytest.fixture(scope="module")
def secured(helm_bin, values_dir) -> list[dict]:
    """Every optional part on (SASL_SSL, Strimzi users, strict policies) plus the dashboard with tokens."""
    return render(helm_bin, "-f", values_file(values_dir, with_dashboard(ALL_ON, TOKENS["dashboard"]), "secured"))


def container(docs: list[dict]) -> dict:
    return one(docs, "Deployment", "-dashboard")["spec"]["template"]["spec"]["containers"][0]


def test_off_by_default(helm_bin):
    docs = render(helm_bin)
    assert not [d for d in docs if d["metadata"]["name"].endswith("-dashboard")]


def test_the_hashed_tokens_secret_is_mounted_and_named_by_the_setting(secured):
    pod = one(secured, "Deployment", "-dashboard")["spec"]["template"]["spec"]
    main = container(secured)
    assert main["command"] == ["egov-bus"] and main["args"] == ["dashboard", "--host", "0.0.0.0", "--port", "8088"]
    env = {e["name"]: e for e in main["env"]}
    assert env["EGOV_VIEWS_API_TOKENS_FILE"] == {"name": "EGOV_VIEWS_API_TOKENS_FILE",
                                                 "value": "/etc/egov-bus/views-tokens/views-tokens.yaml"}
    assert {"name": "views-tokens", "mountPath": "/etc/egov-bus/views-tokens", "readOnly": True} in main["volumeMounts"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["views-tokens"]["secret"] == {
        "secretName": "egov-views-api-tokens",
        "items": [{"key": "views-tokens.yaml", "path": "views-tokens.yaml"}],
    }
    # The setting the chart renders is one the API knows.
    assert EgovSettings(views_api_tokens_file=env["EGOV_VIEWS_API_TOKENS_FILE"]["value"]).views_api_tokens_file
    # It reads the view topics as the policy's views-api principal (topics/acls.yaml).
    assert env["EGOV_SASL_USERNAME"]["value"] == "views-api"
    assert env["EGOV_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "views-api", "key": "password"}
    assert "views-api" in {u["metadata"]["name"] for u in of_kind(secured, "KafkaUser")}
    # Ready once loaded (/healthz is 503 before), alive while it listens.
    assert main["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert main["securityContext"]["readOnlyRootFilesystem"] is True and pod["automountServiceAccountToken"] is False


def test_service_and_network_policy_select_the_dashboard_pods(secured):
    labels = one(secured, "Deployment", "-dashboard")["spec"]["template"]["metadata"]["labels"]
    service = one(secured, "Service", "-dashboard")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    policy = one(secured, "NetworkPolicy", "-dashboard")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    # Officials' browsers reach it (dashboardAllowExternal, the default); egress only DNS, Kafka, the registry.
    assert policy["spec"]["ingress"][0] == {"ports": [{"port": "http", "protocol": "TCP"}]}
    assert {} not in policy["spec"]["egress"]


def test_public_serves_without_tokens_and_mounts_nothing(helm_bin, values_dir):
    docs = render(helm_bin, "-f", values_file(values_dir, {"dashboard": {"enabled": True, "public": True}}, "public"))
    main = container(docs)
    assert main["args"] == ["dashboard", "--host", "0.0.0.0", "--port", "8088", "--public"]
    assert "EGOV_VIEWS_API_TOKENS_FILE" not in {e["name"] for e in main["env"]}
    assert "views-tokens" not in {m["name"] for m in main["volumeMounts"]}


def test_neither_tokens_nor_public_is_refused_at_render_time(helm_bin):
    result = helm_template(helm_bin, "--set", "dashboard.enabled=true")
    assert result.returncode != 0
    assert ("dashboard: set dashboard.tokens.existingSecret (a Secret holding the hashed tokens file "
            "`egov-bus dashboard token` writes) or dashboard.public=true to serve without access control") in result.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dashboard": {"enabled": True, "public": "yes"}}, "/dashboard/public"),
        ({"dashboard": {"enabled": True, "tokens": {"existingSecret": "Bad_Name"}}}, "/dashboard/tokens/existingSecret"),
        ({"dashboard": {"enabled": True, "token": {}}}, "additional properties 'token' not allowed"),
        ({"config": {"extra": {"EGOV_VIEWS_API_TOKENS_FILE": "/x"}}}, "invalid propertyName 'EGOV_VIEWS_API_TOKENS_FILE'"),
    ],
)
def test_bad_dashboard_values_are_refused_by_the_schema(helm_bin, values_dir, values, message):
    name = "bad-" + re.sub(r"\W+", "-", message).strip("-")
    result = helm_template(helm_bin, "-f", values_file(values_dir, values, name))
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr, result.explain()
    assert message in result.stderr, result.explain()


def test_lint_strict_with_the_dashboard(helm_bin, values_dir):
    path = values_file(values_dir, with_dashboard(ALL_ON, TOKENS["dashboard"]), "lint")
    result = run_tool([helm_bin, "lint", "--strict", CHART, "-f", path])
    assert result.returncode == 0, result.explain()


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_kubeconform_strict_with_the_dashboard(
    helm_bin, kubeconform_bin, k8s_schema_location, crd_schema_location, values_dir, tmp_path, kube_version
):
    rendered = helm_template(helm_bin, "-f", values_file(values_dir, with_dashboard(ALL_ON, TOKENS["dashboard"]), "kc"))
    assert rendered.returncode == 0, rendered.explain()
    manifest = tmp_path / "dashboard.yaml"
    manifest.write_text(rendered.stdout)
    result = run_tool(kubeconform_cmd(kubeconform_bin, k8s_schema_location, crd_schema_location, kube_version,
                                      "-summary", "-output", "json", manifest))
    assert result.returncode == 0, result.explain()
    summary = json.loads(result.stdout)["summary"]
    assert summary["invalid"] == 0 and summary["errors"] == 0
    assert {d["kind"] for d in documents(rendered.stdout) if d["metadata"]["name"].endswith("-dashboard")} == {
        "Deployment", "Service", "NetworkPolicy"}
