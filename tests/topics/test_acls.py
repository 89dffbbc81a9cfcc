"""Unit tests of the ACL policy: topics/acls.yaml expanded over the catalogue (no broker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.event_types import THEMES
from schemas.topic_names import audit_topic, changelog_topic, dlq_topic, keys_topic, theme_topic, view_topic
from topics.acls import AclEntry, load_acl_policy
from topics.exceptions import AclPolicyError


@pytest.fixture(scope="module")
def policy():
    return load_acl_policy()


def _ops(entries: set[AclEntry]) -> set[tuple[str, str, str, str]]:
    return {(e.resource_type, e.name, e.pattern, e.operation) for e in entries}


def test_a_region_writes_and_describes_the_theme_topics_and_nothing_else(policy) -> None:
    user = policy.region_user("32.01")
    assert user == "region-32.01"
    got = _ops(policy.expected([user])[user])
    want = {("topic", theme_topic(t), "literal", op) for t in THEMES for op in ("Write", "Describe")}
    want.add(("cluster", "kafka-cluster", "literal", "IdempotentWrite"))
    assert got == want
    assert len(got) == 31


def test_no_principal_but_the_processors_and_the_views_api_reads_a_theme_or_view_topic(policy) -> None:
    expected = policy.expected(["region-32.01", "province-32"])
    for user, entries in expected.items():
        reads = {e.name for e in entries if e.operation == "Read" and e.resource_type == "topic"}
        if user == "processors":
            assert {theme_topic(t) for t in THEMES} | {changelog_topic("egov-processors"), keys_topic()} == reads
        elif user == "views-api":
            assert reads == {view_topic(v) for v in ("integration_index", "budget_absorption",
                                                     "complaint_service_level", "licensing_throughput")}
        elif user == "province-32":
            assert reads == {"egov.province.32.events"}
        elif user.startswith("ministry-"):
            assert reads == {f"egov.ministry.{user.removeprefix('ministry-')}.events"}
        else:
            assert reads == set(), user


def test_the_processors_own_their_group_transactional_ids_and_changelog(policy) -> None:
    got = _ops(policy.expected()["processors"])
    assert ("group", "egov-processors", "prefixed", "Read") in got
    assert ("transactional_id", "egov-processors-", "prefixed", "Write") in got
    assert ("topic", "egov-processors-views-changelog", "literal", "Create") in got
    # The keys' register: read to verify signatures, never written (the operator, a super user, writes it).
    assert {e for e in got if e[1] == keys_topic()} == {("topic", keys_topic(), "literal", op) for op in ("Read", "Describe")}
    # The audit chain: appended, never read back (its head is in the worker's state); the operator reads it.
    assert {e for e in got if e[1] == audit_topic()} == {("topic", audit_topic(), "literal", op) for op in ("Write", "Describe")}
    assert ("topic", dlq_topic("budgeting"), "literal", "Write") in got
    assert ("topic", view_topic("integration_index"), "literal", "Write") in got
    # Write on a theme topic only to re-publish a legacy-coded event under its current code.
    assert ("topic", theme_topic("budgeting"), "literal", "Write") in got
    assert not [e for e in got if e[0] == "topic" and e[3] in ("Delete", "Alter", "AlterConfigs", "All")]


def test_a_province_consumer_reads_its_feed_in_its_own_groups(policy) -> None:
    got = _ops(policy.expected(["province-32"])["province-32"])
    assert got == {("topic", "egov.province.32.events", "literal", "Read"),
                   ("topic", "egov.province.32.events", "literal", "Describe"),
                   ("group", "province-32.", "prefixed", "Read"),
                   ("group", "province-32.", "prefixed", "Describe")}


def test_service_users_and_super_users(policy) -> None:
    assert policy.service_users() == ["gateway", "processors", "views-api", "ministry-finance", "ministry-panrb"]
    assert policy.super_user_names() == {"operator", "broker"}
    # Super users and names no template matches get no ACLs, even when enrolled.
    assert set(policy.expected(["operator", "broker", "mallory", "region-99.99", "region-32"])) == set(
        policy.service_users())


def test_codes_are_checked_against_the_kemendagri_list(policy) -> None:
    with pytest.raises(AclPolicyError, match="not a current Kemendagri kabupaten/kota"):
        policy.region_user("32")
    with pytest.raises(AclPolicyError, match="not a current Kemendagri province"):
        policy.province_user("99")
    assert policy.match("region-32.01")[1] == {"region_code": "32.01"}
    assert policy.match("region-3201") is None
    assert policy.match("province-32.01") is None


def test_a_namespace_prefixes_topics_and_users_and_manages_only_its_own(policy) -> None:
    staging = load_acl_policy(prefix="stg", app_id="stg-processors")
    user = staging.region_user("32.01")
    assert user == "stg.region-32.01"
    names = {e.name for e in staging.expected([user])[user] if e.resource_type == "topic"}
    assert names == {theme_topic(t, "stg") for t in THEMES}
    assert staging.match("region-32.01") is None and policy.match("stg.region-32.01") is None
    theirs = AclEntry("User:stg.region-32.01", "topic", theme_topic("budgeting", "stg"), "literal", "Read")
    ours = AclEntry("User:mallory", "topic", theme_topic("budgeting"), "literal", "Read")
    elsewhere = AclEntry("User:mallory", "group", "anything", "literal", "Read")
    assert staging.in_namespace(theirs) and not policy.in_namespace(theirs)
    assert policy.in_namespace(ours) and not staging.in_namespace(ours)
    assert not policy.in_namespace(elsewhere)


@pytest.mark.parametrize(("grant", "message"), [
    ("{topics: theme, operations: [Scribble]}", "operations must be"),
    ("{topics: theme, group: x, operations: [Read]}", "exactly one of"),
    ("{topics: nonsense, operations: [Read]}", "catalogue kind"),
    ("{topic: secret_feed, operations: [Read]}", "topic must be one of"),
    ("{topics: theme, prefixed: true, operations: [Read]}", "prefixed applies"),
    ("{topics: theme, operations: [Read], hosts: ['*']}", "unknown key"),
])
def test_a_malformed_file_is_refused_naming_the_place(tmp_path: Path, grant: str, message: str) -> None:
    text = (Path(__file__).resolve().parents[2] / "topics" / "acls.yaml").read_text()
    bad = text.replace("      - {topics: theme, operations: [Write, Describe]}\n      - {cluster: true, operations: [IdempotentWrite]}\n  processors:",
                       f"      - {grant}\n  processors:", 1)
    assert bad != text
    path = tmp_path / "acls.yaml"
    path.write_text(bad)
    with pytest.raises(AclPolicyError, match=message) as refused:
        load_acl_policy(path)
    assert "principals.gateway.allow[0]" in str(refused.value)
