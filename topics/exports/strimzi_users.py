"""Strimzi ``KafkaUser`` resources (``kafka.strimzi.io/v1beta2``) from the ACL policy (``topics/acls.yaml``).

One SCRAM-SHA-512 user per principal, its ACLs exactly the rows of
:meth:`topics.acls.AclPolicy.expected`, in Strimzi's shape: one rule per
resource with its operations sorted, host ``*``. The user name is the
resource name (Strimzi's User Operator creates the SCRAM credential of that
name and writes its password to a Secret of the same name).

Two forms:

* :func:`strimzi_users`: concrete users (the service users, and the regions
  and provinces given), for ``kubectl apply``.
* :func:`strimzi_user_templates`: what the Helm chart renders from
  (``helm/egov-bus/files/users.yaml``): the service users expanded, the
  ``region`` and ``province`` templates once each, and the processors'
  application id left as :data:`APP_ID` -- the placeholders
  :data:`PLACEHOLDERS` the chart substitutes. Both forms come from the same
  :meth:`~topics.acls.AclPolicy.entries`, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import yaml

from topics.acls import CLUSTER_NAME, AclEntry, AclPolicy
from topics.exports.strimzi import STRIMZI_API_VERSION

#: Label naming the policy role of a user (gateway, processors, views-api, region, province, ministry).
ROLE_LABEL = "egov.go.id/principal-role"
#: The placeholders of the template form: the processors' app id, a region's and a province's code.
APP_ID = "{app_id}"
REGION_CODE = "{region_code}"
PROVINCE_CODE = "{province_code}"
PLACEHOLDERS = (APP_ID, REGION_CODE, PROVINCE_CODE)

_STRIMZI_TYPE = {"topic": "topic", "group": "group", "transactional_id": "transactionalId", "cluster": "cluster"}
_STRIMZI_PATTERN = {"literal": "literal", "prefixed": "prefix"}
_VARIABLE_LABEL = {"region_code": "egov.go.id/region", "province_code": "egov.go.id/province",
                   "ministry": "egov.go.id/ministry"}


def strimzi_acls(entries: Iterable[AclEntry]) -> list[dict[str, Any]]:
    """Strimzi ``simple`` ACL rules of ``entries``: one rule per resource, operations sorted."""
    by_resource: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for entry in entries:
        by_resource[(entry.resource_type, entry.name, entry.pattern)].add(entry.operation)
    rules = []
    for (resource_type, name, pattern), operations in sorted(by_resource.items()):
        # Strimzi's cluster resource has neither a name nor a pattern: it is always Kafka's one cluster.
        resource: dict[str, Any] = {"type": _STRIMZI_TYPE[resource_type]}
        if resource_type != "cluster":
            resource |= {"name": name, "patternType": _STRIMZI_PATTERN[pattern]}
        rules.append({"resource": resource, "operations": sorted(operations), "host": "*"})
    return rules


def acl_entries(user: dict[str, Any]) -> set[AclEntry]:
    """The ACL rows a ``KafkaUser`` grants (the inverse of :func:`strimzi_acls`, for comparisons)."""
    types = {v: k for k, v in _STRIMZI_TYPE.items()}
    patterns = {v: k for k, v in _STRIMZI_PATTERN.items()}
    principal = f"User:{user['metadata']['name']}"
    out = set()
    for rule in user["spec"]["authorization"]["acls"]:
        resource = rule["resource"]
        resource_type = types[resource["type"]]
        name = CLUSTER_NAME if resource_type == "cluster" else resource["name"]
        pattern = patterns[resource.get("patternType", "literal")]
        out.update(AclEntry(principal, resource_type, name, pattern, op) for op in rule["operations"])  # type: ignore[arg-type]
    return out


def _kafka_user(user: str, role: str, variables: dict[str, str], entries: Iterable[AclEntry], cluster: str,
                namespace: str | None) -> dict[str, Any]:
    labels = {"strimzi.io/cluster": cluster, "app.kubernetes.io/part-of": "egov-bus", ROLE_LABEL: role}
    labels |= {_VARIABLE_LABEL[k]: v for k, v in variables.items() if k in _VARIABLE_LABEL}
    metadata: dict[str, Any] = {"name": user, "labels": labels}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaUser",
        "metadata": metadata,
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": strimzi_acls(entries)},
        },
    }


def strimzi_users(policy: AclPolicy, cluster: str, namespace: str | None = None, regions: Iterable[str] = (),
                  provinces: Iterable[str] = ()) -> list[dict[str, Any]]:
    """``KafkaUser`` resources: every service user, then one per region and province code given.

    Codes are checked as :meth:`~topics.acls.AclPolicy.region_user` and
    :meth:`~topics.acls.AclPolicy.province_user` check them (current
    Kemendagri codes); a code given twice gives one user.
    """
    enrolled = [policy.region_user(code) for code in regions] + [policy.province_user(code) for code in provinces]
    expected = policy.expected(enrolled)
    out = []
    for user in dict.fromkeys([*policy.service_users(), *enrolled]):
        matched = policy.match(user)
        if user not in expected or matched is None:  # a super user: the broker needs no ACL for it
            continue
        role, variables = matched
        out.append(_kafka_user(user, role.key, variables, expected[user], cluster, namespace))
    return out


def strimzi_user_templates(policy: AclPolicy, cluster: str) -> list[dict[str, Any]]:
    """The chart's form: service users with the app id as :data:`APP_ID`, then the region and province templates.

    The chart replaces :data:`PLACEHOLDERS` in every name and label value; a
    ``KafkaUser`` of this form is not valid before that (``region-{region_code}``).
    """
    templated = dataclasses.replace(policy, app_id=APP_ID)
    out = strimzi_users(templated, cluster)
    for key, variable, value in (("region", "region_code", REGION_CODE), ("province", "province_code", PROVINCE_CODE)):
        role = templated.role(key)
        user = templated.user(role.principal.format(**{variable: value}))
        entries = templated.entries(role, {variable: value}, user)
        out.append(_kafka_user(user, key, {variable: value}, entries, cluster, None))
    return out


def _dump(docs: list[dict[str, Any]]) -> str:
    # Leaf lists and mappings in flow style: one ACL rule reads as two lines.
    return yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True, default_flow_style=None, width=200)


def strimzi_users_yaml(policy: AclPolicy, cluster: str, namespace: str | None = None, regions: Iterable[str] = (),
                       provinces: Iterable[str] = ()) -> str:
    """The resources of :func:`strimzi_users` as a multi-document YAML stream."""
    header = (f"# KafkaUser resources of topics/acls.yaml, generated by `egov-bus catalog strimzi-users "
              f"--cluster {cluster}`.\n")
    return header + _dump(strimzi_users(policy, cluster, namespace, regions, provinces))


TEMPLATES_HEADER = """\
# The ACL policy (topics/acls.yaml) as Strimzi KafkaUsers: the input of templates/kafkausers.yaml.
# Generated by `egov-bus catalog strimzi-users --templates` (`make chart-sync`); tests/helm checks
# that it is current. Not applicable as it is: the chart replaces {app_id} (processor.appId),
# {region_code} (one user per strimzi.users.regions entry) and {province_code} (per
# strimzi.users.provinces entry) in every name and label, then adds its labels and namespace.
"""


def strimzi_user_templates_yaml(policy: AclPolicy, cluster: str) -> str:
    """The documents of :func:`strimzi_user_templates` as the chart's ``files/users.yaml``."""
    return TEMPLATES_HEADER + _dump(strimzi_user_templates(policy, cluster))
