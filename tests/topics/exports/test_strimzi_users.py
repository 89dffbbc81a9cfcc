"""topics.exports.strimzi_users: KafkaUsers carrying exactly the ACL policy's rows, in Strimzi's shape."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from topics.acls import AclEntry, load_acl_policy
from topics.exceptions import AclPolicyError
from topics.exports import strimzi_user_templates, strimzi_user_templates_yaml, strimzi_users, strimzi_users_yaml
from topics.exports.strimzi_users import PLACEHOLDERS, acl_entries, strimzi_acls
from topics.exports_cli import app

runner = CliRunner()
ENROLLED = ["region-32.01", "region-73.71", "province-32"]
SERVICE_USERS = ["gateway", "processors", "views-api", "ministry-finance", "ministry-panrb"]


@pytest.fixture(scope="module")
def policy():
    return load_acl_policy()


def test_users_carry_exactly_the_policys_acls(policy):
    users = strimzi_users(policy, "egov", regions=["32.01", "73.71"], provinces=["32"])
    assert [u["metadata"]["name"] for u in users] == [*SERVICE_USERS, *ENROLLED]
    assert {u["metadata"]["name"]: acl_entries(u) for u in users} == policy.expected(ENROLLED)


def test_each_resource_once_with_its_operations_sorted():
    p = "User:x"
    rules = strimzi_acls([
        AclEntry(p, "topic", "egov.budgeting.events", "literal", "Write"),
        AclEntry(p, "topic", "egov.budgeting.events", "literal", "Describe"),
        AclEntry(p, "group", "province-32.", "prefixed", "Read"),
        AclEntry(p, "transactional_id", "egov-processors-", "prefixed", "Write"),
        AclEntry(p, "cluster", "kafka-cluster", "literal", "IdempotentWrite"),
    ])
    assert rules == [
        {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"], "host": "*"},
        {"resource": {"type": "group", "name": "province-32.", "patternType": "prefix"}, "operations": ["Read"],
         "host": "*"},
        {"resource": {"type": "topic", "name": "egov.budgeting.events", "patternType": "literal"},
         "operations": ["Describe", "Write"], "host": "*"},
        {"resource": {"type": "transactionalId", "name": "egov-processors-", "patternType": "prefix"},
         "operations": ["Write"], "host": "*"},
    ]


def test_a_region_user_is_scram_labelled_and_namespaced(policy):
    (region,) = [u for u in strimzi_users(policy, "kafka-a", "egov-system", regions=["32.01"])
                 if u["metadata"]["name"] == "region-32.01"]
    assert region["apiVersion"] == "kafka.strimzi.io/v1beta2" and region["kind"] == "KafkaUser"
    assert region["metadata"] == {
        "name": "region-32.01",
        "labels": {"strimzi.io/cluster": "kafka-a", "app.kubernetes.io/part-of": "egov-bus",
                   "egov.go.id/principal-role": "region", "egov.go.id/region": "32.01"},
        "namespace": "egov-system",
    }
    assert region["spec"]["authentication"] == {"type": "scram-sha-512"}
    assert region["spec"]["authorization"]["type"] == "simple"


def test_a_prefix_names_users_and_topics_in_its_namespace():
    staging = load_acl_policy(prefix="stg")
    users = strimzi_users(staging, "egov", regions=["32.01"])
    assert [u["metadata"]["name"] for u in users] == [f"stg.{n}" for n in SERVICE_USERS] + ["stg.region-32.01"]
    assert {u["metadata"]["name"]: acl_entries(u) for u in users} == staging.expected(["stg.region-32.01"])


def test_a_code_that_is_not_current_is_refused(policy):
    with pytest.raises(AclPolicyError, match=r"'91.01' is not a current Kemendagri kabupaten/kota code"):
        strimzi_users(policy, "egov", regions=["91.01"])
    with pytest.raises(AclPolicyError, match=r"'32.01' is not a current Kemendagri province code"):
        strimzi_users(policy, "egov", provinces=["32.01"])


def _fill(templates_yaml: str, **values: str) -> list[dict]:
    """What the chart does to files/users.yaml: replace the placeholders in the text."""
    for placeholder in PLACEHOLDERS:
        templates_yaml = templates_yaml.replace(placeholder, values.get(placeholder.strip("{}"), placeholder))
    return [d for d in yaml.safe_load_all(templates_yaml) if d]


def test_templates_filled_in_equal_the_concrete_users():
    templates = strimzi_user_templates_yaml(load_acl_policy(), "egov")
    for app_id, code, province in (("egov-processors", "32.01", "32"), ("central", "73.71", "73")):
        policy = load_acl_policy(app_id=app_id)
        filled = _fill(templates, app_id=app_id, region_code=code, province_code=province)
        concrete = strimzi_users(policy, "egov", regions=[code], provinces=[province])
        # (rules may come in another order: a placeholder sorts elsewhere than the name it stands for)
        assert [u["metadata"] for u in filled] == [u["metadata"] for u in concrete]
        assert [acl_entries(u) for u in filled] == [acl_entries(u) for u in concrete]


def test_templates_are_the_service_users_then_one_region_and_one_province(policy):
    templates = strimzi_user_templates(policy, "egov")
    assert [u["metadata"]["name"] for u in templates] == [*SERVICE_USERS, "region-{region_code}",
                                                          "province-{province_code}"]
    processors_names = {a["resource"].get("name") for a in templates[1]["spec"]["authorization"]["acls"]}
    assert {"{app_id}", "{app_id}-", "{app_id}-views-changelog"} <= processors_names


def test_cli_writes_the_users_and_the_chart_templates(policy, tmp_path):
    result = runner.invoke(app, ["strimzi-users", "--region", "32.01", "--province", "32", "--namespace", "kafka"])
    assert result.exit_code == 0, result.output
    assert result.stdout == strimzi_users_yaml(policy, "egov", "kafka", ["32.01"], ["32"])
    out = tmp_path / "users.yaml"
    result = runner.invoke(app, ["strimzi-users", "--templates", "--cluster", "c1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == strimzi_user_templates_yaml(policy, "c1")


def test_cli_refuses_codes_with_the_template_form():
    result = runner.invoke(app, ["strimzi-users", "--templates", "--region", "32.01"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "the template form takes no --region, --province or --namespace" in result.output
