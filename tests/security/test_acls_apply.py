"""`egov-bus acls apply` on the secured broker: idempotent, reports a hand-added ACL as drift, --fix removes it."""

from __future__ import annotations

import subprocess

import pytest
from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from schemas.topic_names import theme_topic
from tests.fixtures.processors import EGOV
from topics.acl_provision import cluster_acls, from_binding

pytestmark = pytest.mark.integration


def _acls(namespace, *args: str) -> subprocess.CompletedProcess:
    env = namespace.environ("unused")
    env["EGOV_ENV_FILE"] = str(namespace.stack.operator_env)
    env["EGOV_PROCESSOR_APP_ID"] = namespace.app_id
    return subprocess.run([EGOV, "acls", "apply", "--prefix", namespace.prefix, *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _namespace_acls(namespace) -> set:
    policy = namespace.policy
    entries = {from_binding(b) for b in cluster_acls(namespace.stack.admin(), 10)}
    return {e for e in entries if e is not None and policy.in_namespace(e)}


def test_apply_is_idempotent_reports_a_hand_added_acl_and_fix_removes_it(namespace) -> None:
    policy = namespace.policy
    region = policy.region_user("32.01")
    namespace.enrol(region)  # the user exists: its template applies
    first = _acls(namespace)
    assert first.returncode == 0, first.stdout + first.stderr
    expected = set().union(*policy.expected([region]).values())
    assert _namespace_acls(namespace) == expected

    second = _acls(namespace)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing to do" in second.stdout

    # A hand-made privilege escalation: the region may now read its theme topic.
    topic = theme_topic("budgeting", namespace.prefix)
    hand = AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{region}", "*",
                      AclOperation.READ, AclPermissionType.ALLOW)
    admin = namespace.stack.admin()  # held: a collected client destroys its pending futures
    admin.create_acls([hand])[hand].result(timeout=10)
    drift = _acls(namespace)
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert f"drift User:{region} Read topic:{topic} (not in the policy)" in " ".join(drift.stdout.split())
    assert _namespace_acls(namespace) == expected | {from_binding(hand)}

    fixed = _acls(namespace, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "removed" in fixed.stdout
    assert _namespace_acls(namespace) == expected
    assert "nothing to do" in _acls(namespace).stdout


def test_apply_leaves_other_namespaces_alone(namespace, secure_stack) -> None:
    """A region of this namespace enrolled: applying the plain namespace neither reports nor touches its ACLs."""
    region = namespace.policy.region_user("32.73")
    namespace.enrol(region)
    before = _namespace_acls(namespace)
    from topics.acl_provision import plan_acls
    from topics.acls import load_acl_policy

    other = load_acl_policy(prefix=namespace.prefix + "x", app_id=namespace.app_id + "x")
    current = plan_acls(secure_stack.admin(), other, timeout=10)
    assert not [b for b in current.extra if b.principal == f"User:{region}"]
    assert _namespace_acls(namespace) == before


def _cli(namespace, *args: str) -> subprocess.CompletedProcess:
    env = namespace.environ("unused")
    env["EGOV_ENV_FILE"] = str(namespace.stack.operator_env)
    return subprocess.run([EGOV, *args, "--prefix", namespace.prefix], env=env, capture_output=True, text=True,
                          timeout=120)


def test_users_add_prints_the_password_once_and_remove_leaves_its_acls_to_fix(namespace) -> None:
    from confluent_kafka import Producer

    user = namespace.policy.region_user("51.71")
    added = _cli(namespace, "users", "add", "--region", "51.71")
    assert added.returncode == 0, added.stdout + added.stderr
    password = added.stdout.strip().splitlines()[-1]
    assert len(password) >= 32 and f"user {user} created with 31 ACLs (31 new)" in " ".join(added.stdout.split())
    # The printed password works: the region publishes to its theme topic.
    settings = namespace.stack.operator.model_copy(update={"sasl_username": user})
    conf = settings.librdkafka_config(**{"sasl.password": password, "enable.idempotence": True})
    outcome = []
    producer = Producer(conf)
    producer.produce(theme_topic("budgeting", namespace.prefix), key=b"51.71", value=b"x",
                     on_delivery=lambda err, _m: outcome.append(err))
    producer.flush(15)
    assert outcome == [None]
    listed = _cli(namespace, "users", "list")
    assert f"{user}" in listed.stdout and "region" in listed.stdout

    removed = _cli(namespace, "users", "remove", "--region", "51.71")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    drift = _cli(namespace, "acls", "apply")
    assert drift.returncode == 2 and drift.stdout.count(f"drift User:{user}") == 31, drift.stdout
    fixed = _cli(namespace, "acls", "apply", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert not [e for e in _namespace_acls(namespace) if e.principal == f"User:{user}"]


def test_users_add_refuses_a_code_that_is_not_a_region(namespace) -> None:
    refused = _cli(namespace, "users", "add", "--region", "32")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: '32' is not a current Kemendagri kabupaten/kota code (e.g. 32.01)"


@pytest.mark.parametrize("command", [["acls", "list"], ["acls", "apply"], ["users", "list"]])
def test_a_region_may_not_manage_acls_or_users_and_is_told_so_in_one_line(namespace, command) -> None:
    user = namespace.policy.region_user("32.01")
    namespace.enrol(user)
    env = namespace.environ(user)
    done = subprocess.run([EGOV, *command, "--prefix", namespace.prefix], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: user {user} may not manage ACLs or users on Kafka at {namespace.stack.operator.bootstrap_servers}: "
        "these commands need a super user's settings (the operator's; on the dev stack EGOV_ENV_FILE=.egov/dev.env)"]
