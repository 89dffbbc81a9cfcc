"""The chart's KafkaUsers grant exactly the ACLs of topics/acls.yaml (the rows `egov-bus acls apply` creates)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helm.chart import CHART, NAMESPACE, helm_template, of_kind, render, values_file
from topics.acls import load_acl_policy
from topics.exports.strimzi_users import acl_entries

pytestmark = pytest.mark.tools

# The dashboard (the views API, user views-api) is off by default; public spares a tokens Secret.
ENROLLED = {
    "dashboard": {"enabled": True, "public": True},
    "strimzi": {"users": {"enabled": True, "regions": ["32.01", "73.71"], "provinces": ["32"]}},
}
SERVICE_USERS = ["gateway", "processors", "views-api", "ministry-finance", "ministry-panrb"]


def _users(helm_bin, tmp_path: Path, values: dict, chart: Path = CHART) -> dict[str, dict]:
    users = of_kind(render(helm_bin, "-f", values_file(tmp_path, values), chart=chart), "KafkaUser")
    names = [u["metadata"]["name"] for u in users]
    assert len(names) == len(set(names)), f"a KafkaUser rendered twice: {names}"
    return {u["metadata"]["name"]: u for u in users}


def _with(values: dict, users: dict | None = None, **top) -> dict:
    """``values`` with more top-level keys and more ``strimzi.users`` keys."""
    return {**values, **top, "strimzi": {"users": {**values["strimzi"]["users"], **(users or {})}}}


def test_rendered_acls_equal_the_policy(helm_bin, tmp_path):
    users = _users(helm_bin, tmp_path, ENROLLED)
    rendered = {name: acl_entries(user) for name, user in users.items()}
    assert rendered == load_acl_policy().expected(["region-32.01", "region-73.71", "province-32"])
    assert list(users) == [*SERVICE_USERS, "region-32.01", "region-73.71", "province-32"]


def test_users_are_scram_in_the_release_namespace_with_the_chart_labels(helm_bin, tmp_path):
    values = _with(ENROLLED, commonAnnotations={"egov-bus.io/owner": "platform"},
                   users={"quotas": {"producerByteRate": 1048576}})
    users = _users(helm_bin, tmp_path, values)
    for name, user in users.items():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        assert user["metadata"]["namespace"] == NAMESPACE
        assert user["metadata"]["annotations"] == {"egov-bus.io/owner": "platform"}
        labels = user["metadata"]["labels"]
        assert labels["strimzi.io/cluster"] == "egov" and labels["app.kubernetes.io/instance"] == "egov"
        assert labels["app.kubernetes.io/component"] == "kafka-user"
        assert ("quotas" in user["spec"]) == name.startswith("region-"), name
    assert users["region-32.01"]["spec"]["quotas"] == {"producerByteRate": 1048576}
    assert users["region-73.71"]["metadata"]["labels"]["egov.go.id/region"] == "73.71"
    assert users["province-32"]["metadata"]["labels"]["egov.go.id/province"] == "32"


def test_processor_app_id_is_substituted_in_their_group_transactions_and_changelog(helm_bin, tmp_path):
    users = _users(helm_bin, tmp_path, _with(ENROLLED, processor={"appId": "central"}))
    assert acl_entries(users["processors"]) == load_acl_policy(app_id="central").expected()["processors"]
    names = {a["resource"].get("name") for a in users["processors"]["spec"]["authorization"]["acls"]}
    assert {"central", "central-", "central-views-changelog"} <= names
    assert not {n for n in names if n and "egov-processors" in n}


def test_component_users_follow_their_components(helm_bin, tmp_path):
    no_gateway = _users(helm_bin, tmp_path, _with(ENROLLED, gateway={"enabled": False}))
    assert set(no_gateway) == set(SERVICE_USERS) - {"gateway"} | {"region-32.01", "region-73.71", "province-32"}
    no_dashboard = _users(helm_bin, tmp_path, _with(ENROLLED, dashboard={"enabled": False}))
    assert set(no_dashboard) == set(SERVICE_USERS) - {"views-api"} | {"region-32.01", "region-73.71", "province-32"}
    no_components = _users(helm_bin, tmp_path, _with(ENROLLED, users={"components": False}))
    assert set(no_components) == {"ministry-finance", "ministry-panrb", "region-32.01", "region-73.71", "province-32"}


def test_no_regions_or_provinces_renders_the_service_users_only(helm_bin, tmp_path):
    users = _users(helm_bin, tmp_path, {**ENROLLED, "strimzi": {"users": {"enabled": True}}})
    assert list(users) == SERVICE_USERS


def _chart_with_users_file(tmp_path: Path, edit) -> Path:
    copy = tmp_path / "egov-bus"
    shutil.copytree(CHART, copy)
    users = copy / "files" / "users.yaml"
    users.write_text(edit(users.read_text()))
    return copy


def test_a_users_file_without_the_region_template_is_refused(helm_bin, tmp_path):
    chart = _chart_with_users_file(tmp_path, lambda text: text.replace("principal-role: region", "principal-role: regio"))
    result = helm_template(helm_bin, "-f", values_file(tmp_path, ENROLLED), chart=chart)
    assert result.returncode != 0
    assert 'files/users.yaml has no KafkaUser of role "region": regenerate it with `make chart-sync`' in result.stderr


def test_a_placeholder_the_chart_cannot_fill_is_refused(helm_bin, tmp_path):
    # A service user naming a region's variable would otherwise reach Strimzi as a literal '{region_code}'.
    chart = _chart_with_users_file(tmp_path, lambda text: text.replace("name: egov-views-api-", "name: 'views-{region_code}'"))
    result = helm_template(helm_bin, "-f", values_file(tmp_path, ENROLLED), chart=chart)
    assert result.returncode != 0
    assert "files/users.yaml: KafkaUser views-api keeps the placeholder {region_code} the chart has no value for here" in result.stderr
