"""Idempotent provisioning of the ACL policy with the Kafka AdminClient.

:func:`plan_acls` compares :meth:`AclPolicy.expected` (for the service users
and every enrolled user: the broker's SCRAM users that a template matches)
with the ACLs the cluster holds; :func:`apply_acls` creates what is missing
and reports every ACL of the namespace that the policy does not grant as
drift (one added by hand, a grant that was removed from the file); with
``fix=True`` it deletes them. ACLs outside the namespace (another prefix's
users and topics) are neither reported nor touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from bus.retry import RetryPolicy
from topics.acls import CLUSTER_NAME, AclEntry, AclPolicy
from topics.exceptions import AccessControlError
from topics.users import list_users

_RESOURCE = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP,
             "transactional_id": ResourceType.TRANSACTIONAL_ID, "cluster": ResourceType.BROKER}
_RESOURCE_NAME = {v: k for k, v in _RESOURCE.items()}
_PATTERN = {"literal": ResourcePatternType.LITERAL, "prefixed": ResourcePatternType.PREFIXED}
_PATTERN_NAME = {v: k for k, v in _PATTERN.items()}
_OPERATION = {
    "Read": AclOperation.READ, "Write": AclOperation.WRITE, "Create": AclOperation.CREATE,
    "Delete": AclOperation.DELETE, "Alter": AclOperation.ALTER, "Describe": AclOperation.DESCRIBE,
    "ClusterAction": AclOperation.CLUSTER_ACTION, "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS,
    "AlterConfigs": AclOperation.ALTER_CONFIGS, "IdempotentWrite": AclOperation.IDEMPOTENT_WRITE,
    "All": AclOperation.ALL,
}
_OPERATION_NAME = {v: k for k, v in _OPERATION.items()}
#: A just-created ACL shows in DescribeAcls once the broker's authorizer has loaded it (milliseconds in KRaft).
_SETTLE = RetryPolicy(initial_s=0.05, cap_s=0.5, floor_s=0.02)


def to_binding(entry: AclEntry) -> AclBinding:
    """The confluent-kafka ``AclBinding`` (ALLOW, any host) of ``entry``."""
    return AclBinding(_RESOURCE[entry.resource_type], entry.name, _PATTERN[entry.pattern], entry.principal, "*",
                      _OPERATION[entry.operation], AclPermissionType.ALLOW)


def from_binding(binding: AclBinding) -> AclEntry | None:
    """The :class:`AclEntry` of a broker ACL, or None for one this model does not express (DENY, a host)."""
    if binding.permission_type != AclPermissionType.ALLOW or binding.host != "*":
        return None
    resource = _RESOURCE_NAME.get(binding.restype)
    pattern = _PATTERN_NAME.get(binding.resource_pattern_type)
    operation = _OPERATION_NAME.get(binding.operation)
    if resource is None or pattern is None or operation is None:
        return None
    return AclEntry(binding.principal, resource, binding.name, pattern, operation)  # type: ignore[arg-type]


def _everything() -> AclBindingFilter:
    return AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                            AclPermissionType.ANY)


def _failed(exc: KafkaException, what: str) -> AccessControlError:
    err = exc.args[0]
    return AccessControlError(f"{what}: {err.str()}", code=err.name())


def cluster_acls(admin: AdminClient, timeout: float) -> list[AclBinding]:
    """Every ACL the cluster holds."""
    try:
        return list(admin.describe_acls(_everything(), request_timeout=timeout).result(timeout=timeout * 2))
    except KafkaException as exc:
        raise _failed(exc, "describing the cluster's ACLs failed") from exc


@dataclass
class AclPlan:
    """The policy against the cluster: what is missing and what is there without a grant."""

    users: dict[str, set[AclEntry]]
    missing: list[AclEntry]
    extra: list[AclBinding]
    #: Users with ACLs of the namespace but no credential a template matches (their ACLs are in ``extra``).
    unknown_users: list[str] = field(default_factory=list)


@dataclass
class AclReport:
    """What :func:`apply_acls` did and what differs still."""

    users: int
    created: list[AclEntry] = field(default_factory=list)
    removed: list[AclBinding] = field(default_factory=list)
    drift: list[AclBinding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift

    def summary(self) -> str:
        if not (self.created or self.removed or self.drift):
            return f"nothing to do: {self.users} users, every ACL as the policy says"
        return (f"{self.users} users: {len(self.created)} ACL(s) created, {len(self.removed)} removed, "
                f"{len(self.drift)} not in the policy")


def describe(binding: AclBinding) -> str:
    """One line for an ACL of the cluster (the form of :class:`AclEntry`, any permission)."""
    entry = from_binding(binding)
    if entry is not None:
        return str(entry)
    return (f"{binding.principal} {binding.permission_type.name} {binding.operation.name} "
            f"{binding.restype.name.lower()}:{binding.name} ({binding.resource_pattern_type.name.lower()}, host {binding.host})")


def plan_acls(admin: AdminClient, policy: AclPolicy, *, timeout: float = 10.0,
              enrolled: Iterable[str] | None = None) -> AclPlan:
    """Compare the policy with the cluster (``enrolled`` default: the cluster's SCRAM users)."""
    users = list(enrolled) if enrolled is not None else list_users(admin, timeout)
    expected = policy.expected(users)
    wanted = set().union(*expected.values()) if expected else set()
    have: set[AclEntry] = set()
    extra: list[AclBinding] = []
    for binding in cluster_acls(admin, timeout):
        entry = from_binding(binding)
        in_scope = policy.in_namespace(entry) if entry is not None else _binding_in_namespace(policy, binding)
        if not in_scope:
            continue
        if entry is not None and entry in wanted:
            have.add(entry)
        else:
            extra.append(binding)
    unknown = sorted({b.principal.partition(":")[2] for b in extra} - set(expected))
    return AclPlan(users=expected, missing=sorted(wanted - have), extra=extra, unknown_users=unknown)


def _binding_in_namespace(policy: AclPolicy, binding: AclBinding) -> bool:
    # A DENY or host-bound ACL: judged by its principal and resource like any other.
    probe = AclEntry(binding.principal, _RESOURCE_NAME.get(binding.restype, "topic"), binding.name,  # type: ignore[arg-type]
                     "literal", "Read")
    return policy.in_namespace(probe)


def apply_acls(admin: AdminClient, policy: AclPolicy, *, fix: bool = False, timeout: float = 10.0,
               enrolled: Iterable[str] | None = None, progress: Callable[[str], None] = lambda _m: None) -> AclReport:
    """Create the policy's missing ACLs; report (and with ``fix`` delete) the namespace's others. Idempotent."""
    enrolled = list(enrolled) if enrolled is not None else None
    current = plan_acls(admin, policy, timeout=timeout, enrolled=enrolled)
    report = AclReport(users=len(current.users))
    if current.missing:
        progress(f"creating {len(current.missing)} ACL(s) for {len({e.principal for e in current.missing})} user(s)")
        futures = admin.create_acls([to_binding(e) for e in current.missing], request_timeout=timeout)
        for binding, future in futures.items():
            try:
                future.result(timeout=timeout * 2)
            except KafkaException as exc:
                raise _failed(exc, f"creating ACL {describe(binding)} failed") from exc
        report.created = current.missing
    if current.extra and fix:
        progress(f"deleting {len(current.extra)} ACL(s) the policy does not grant")
        filters = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                                    b.permission_type) for b in current.extra]
        for acl_filter, future in admin.delete_acls(filters, request_timeout=timeout).items():
            try:
                future.result(timeout=timeout * 2)
            except KafkaException as exc:
                raise _failed(exc, f"deleting ACL {describe(acl_filter)} failed") from exc
        report.removed = current.extra
    else:
        report.drift = current.extra
    if report.created or report.removed:
        # Answer only once the cluster shows the result, so a second run (or a client) sees it.
        settled = _SETTLE.wait_until(lambda: _settled(admin, policy, timeout, enrolled, report), timeout * 3)
        if not settled:
            raise AccessControlError(f"the cluster did not show the applied ACLs within {timeout * 3}s")
    return report


def _settled(admin: AdminClient, policy: AclPolicy, timeout: float, enrolled: Iterable[str] | None,
             report: AclReport) -> bool:
    # Only the principals this run changed are asked about: on a cluster with many namespaces, describing
    # every ACL again on each poll is what takes long.
    del policy, enrolled
    created = set(report.created)
    removed = {(b.principal, b.restype, b.name, b.resource_pattern_type, b.operation, b.permission_type, b.host)
               for b in report.removed}
    for principal in {e.principal for e in created} | {r[0] for r in removed}:
        acl_filter = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, principal, None,
                                      AclOperation.ANY, AclPermissionType.ANY)
        try:
            held = list(admin.describe_acls(acl_filter, request_timeout=timeout).result(timeout=timeout * 2))
        except KafkaException:
            return False
        entries = {from_binding(b) for b in held}
        if any(e.principal == principal and e not in entries for e in created):
            return False
        keys = {(b.principal, b.restype, b.name, b.resource_pattern_type, b.operation, b.permission_type, b.host)
                for b in held}
        if removed & keys:
            return False
    return True


__all__ = ["CLUSTER_NAME", "AclPlan", "AclReport", "apply_acls", "plan_acls", "to_binding", "from_binding", "describe",
           "cluster_acls"]
