"""Principals and their ACLs as data: ``topics/acls.yaml`` expanded over the topic catalogue.

``load_acl_policy()`` gives an :class:`AclPolicy`. :meth:`AclPolicy.expected`
turns it into concrete :class:`AclEntry` rows (principal, resource, pattern,
operation) for the service principals, every ministry feed's consumer and
the enrolled regions and provinces, exactly as the broker holds them, so
``egov-bus acls apply`` can compare them with the cluster and the Strimzi
export can render the same rows as ``KafkaUser`` resources.

With a ``prefix`` (staging namespaces, tests on a shared broker) topic names
*and* principal names take it (``stg.region-32.01``): a namespace's
principals reach only that namespace's topics, and applying one namespace
never touches another's ACLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from schemas import regions
from schemas.topic_names import audit_topic, changelog_topic, keys_topic, ministry_feed_topic, parse_topic, prefixed, province_feed_topic
from topics.catalog import KINDS, Catalog, load_catalog
from topics.exceptions import AclPolicyError

ACLS_FILE = Path(__file__).resolve().parent / "acls.yaml"
ResourceType = Literal["topic", "group", "transactional_id", "cluster"]
PatternType = Literal["literal", "prefixed"]
#: Kafka's ACL operations (names as Kafka and Strimzi spell them).
OPERATIONS = ("Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "DescribeConfigs",
              "AlterConfigs", "IdempotentWrite", "All")
#: Kafka's name of the one cluster resource.
CLUSTER_NAME = "kafka-cluster"
_TOPIC_RULES = ("province_feed", "ministry_feed", "changelog", "keys", "audit")
_VARIABLE = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, order=True)
class AclEntry:
    """One ALLOW ACL as the broker holds it (host ``*``)."""

    principal: str  # "User:region-32.01"
    resource_type: ResourceType
    name: str
    pattern: PatternType
    operation: str

    def __str__(self) -> str:
        star = "*" if self.pattern == "prefixed" else ""
        return f"{self.principal} {self.operation} {self.resource_type}:{self.name}{star}"


@dataclass(frozen=True)
class Grant:
    """One ``allow`` line of a role: resources and operations."""

    operations: tuple[str, ...]
    topics: str | None = None  # a catalogue kind
    topic: str | None = None  # a rule: province_feed, ministry_feed, changelog, keys, audit
    group: str | None = None
    transactional_id: str | None = None
    cluster: bool = False
    prefixed: bool = False


@dataclass(frozen=True)
class Role:
    """A principal (or a template of principals) with its grants."""

    key: str
    principal: str  # a name, or a template such as "region-{region_code}"
    grants: tuple[Grant, ...]
    doc: str = ""
    for_each: str | None = None  # None (one principal), "enrolled" or "ministry_feed"

    @property
    def variable(self) -> str | None:
        found = _VARIABLE.search(self.principal)
        return found.group(1) if found else None


@dataclass(frozen=True)
class AclPolicy:
    """The ACL file bound to a catalogue, a namespace prefix and the processors' application id."""

    roles: tuple[Role, ...]
    super_users: tuple[str, ...]
    catalog: Catalog
    app_id: str = "egov-processors"
    prefix: str | None = None
    source: str = field(default=str(ACLS_FILE), compare=False)

    # -- principals -----------------------------------------------------------------

    def user(self, name: str) -> str:
        """The SCRAM user name of ``name`` in this namespace (``stg.gateway`` under prefix ``stg``)."""
        return prefixed(name, self.prefix)

    def role(self, key: str) -> Role:
        for role in self.roles:
            if role.key == key:
                return role
        raise AclPolicyError(f"no role {key!r} in {self.source}; roles: {', '.join(r.key for r in self.roles)}", role=key)

    def region_user(self, region_code: str) -> str:
        """The user of a region (``region-32.01``); refuses a code that is not a current region."""
        found = regions.region(region_code)
        if found is None or found.level != 2:
            raise AclPolicyError(f"{region_code!r} is not a current Kemendagri kabupaten/kota code (e.g. 32.01)",
                                 region_code=region_code)
        return self.user(self.role("region").principal.format(region_code=found.code))

    def province_user(self, province_code: str) -> str:
        """The user of a province's consumer (``province-32``)."""
        found = regions.region(province_code)
        if found is None or found.level != 1:
            raise AclPolicyError(f"{province_code!r} is not a current Kemendagri province code (e.g. 32)",
                                 province_code=province_code)
        return self.user(self.role("province").principal.format(province_code=found.code))

    def service_users(self) -> list[str]:
        """Users that always exist in a namespace: the single principals and the ministry feeds' consumers."""
        names = [self.user(r.principal) for r in self.roles if r.for_each is None]
        for role in self.roles:
            if role.for_each == "ministry_feed":
                names += [self.user(role.principal.format(**{role.variable or "": m})) for m in self._ministries()]
        return names

    def match(self, user: str) -> tuple[Role, dict[str, str]] | None:
        """The role of a user of this namespace and its template variables, or None."""
        bare = user
        if self.prefix is not None:
            if not user.startswith(self.prefix + "."):
                return None
            bare = user[len(self.prefix) + 1:]
        for role in self.roles:
            variable = role.variable
            if variable is None:
                if bare == role.principal:
                    return role, {}
                continue
            head, _, tail = role.principal.partition("{" + variable + "}")
            if bare.startswith(head) and bare.endswith(tail) and len(bare) > len(head) + len(tail):
                value = bare[len(head): len(bare) - len(tail)]
                if self._valid(role, value):
                    return role, {variable: value}
        return None

    def _valid(self, role: Role, value: str) -> bool:
        if role.variable == "region_code":
            found = regions.region(value)
            return found is not None and found.level == 2 and found.code == value
        if role.variable == "province_code":
            found = regions.region(value)
            return found is not None and found.level == 1 and found.code == value
        if role.variable == "ministry":
            return value in self._ministries()
        return False

    def _ministries(self) -> list[str]:
        names = (parse_topic(t.name) for t in self.catalog.of_kind("routed"))
        return [n.part for n in names if n is not None and n.kind == "ministry"]

    # -- ACLs ---------------------------------------------------------------------------

    def expected(self, enrolled: Iterable[str] = ()) -> dict[str, set[AclEntry]]:
        """User -> the ACLs it must hold: the service users, plus every enrolled user a template matches.

        ``enrolled`` are user names (usually the broker's SCRAM users); those no
        template matches, and the super users, get no ACLs.
        """
        users: dict[str, tuple[Role, dict[str, str]]] = {}
        for name in [*self.service_users(), *enrolled]:
            matched = self.match(name)
            if matched is not None and name not in self.super_user_names():
                users[name] = matched
        return {name: self.entries(role, variables, name) for name, (role, variables) in sorted(users.items())}

    def super_user_names(self) -> set[str]:
        return {self.user(name) for name in self.super_users}

    def entries(self, role: Role, variables: Mapping[str, str], user: str) -> set[AclEntry]:
        """The concrete ACLs of one user of ``role``."""
        principal = f"User:{user}"
        out: set[AclEntry] = set()
        names = {"app_id": self.app_id, "user": user, **variables}
        for grant in role.grants:
            for resource_type, name, pattern in self._resources(grant, names):
                out.update(AclEntry(principal, resource_type, name, pattern, op) for op in grant.operations)
        return out

    def _resources(self, grant: Grant, names: Mapping[str, str]) -> list[tuple[ResourceType, str, PatternType]]:
        pattern: PatternType = "prefixed" if grant.prefixed else "literal"
        if grant.cluster:
            return [("cluster", CLUSTER_NAME, "literal")]
        if grant.topics is not None:
            return [("topic", t.name, "literal") for t in self.catalog.of_kind(grant.topics)]  # type: ignore[arg-type]
        if grant.topic == "province_feed":
            return [("topic", province_feed_topic(names["province_code"], self.prefix), "literal")]
        if grant.topic == "ministry_feed":
            return [("topic", ministry_feed_topic(names["ministry"], self.prefix), "literal")]
        if grant.topic == "keys":
            return [("topic", keys_topic(self.prefix), "literal")]
        if grant.topic == "audit":
            return [("topic", audit_topic(self.prefix), "literal")]
        if grant.topic == "changelog":
            # Named by the application id alone, as the worker names it: the app id is its namespace.
            return [("topic", changelog_topic(self.app_id), "literal")]
        if grant.group is not None:
            return [("group", grant.group.format(**names), pattern)]
        assert grant.transactional_id is not None
        return [("transactional_id", grant.transactional_id.format(**names), pattern)]

    def in_namespace(self, entry: AclEntry) -> bool:
        """Whether ``entry`` is this namespace's to manage: one of its users, or one of its topics."""
        user = entry.principal.partition(":")[2]
        if self.match(user) is not None or user in self.super_user_names():
            return True
        if entry.resource_type != "topic":
            return False
        # By name only the namespace's bus topics: a changelog is named by an application id, which
        # two namespaces may share, so only this namespace's own users' ACLs on it are its to manage.
        if self.prefix is not None:
            return entry.name.startswith(self.prefix + ".")
        parsed = parse_topic(entry.name)
        return parsed is not None and parsed.prefix is None


# -- loading ---------------------------------------------------------------------------


def _grant(where: str, raw: Any) -> Grant:
    if not isinstance(raw, Mapping):
        raise AclPolicyError(f"{where}: expected a mapping, got {raw!r}", where=where)
    unknown = set(raw) - {"operations", "topics", "topic", "group", "transactional_id", "cluster", "prefixed"}
    if unknown:
        raise AclPolicyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}", where=where)
    ops = raw.get("operations")
    if not ops or not isinstance(ops, list) or any(op not in OPERATIONS for op in ops):
        raise AclPolicyError(f"{where}: operations must be a non-empty list of {', '.join(OPERATIONS)}; got {ops!r}",
                             where=where)
    selectors = [k for k in ("topics", "topic", "group", "transactional_id", "cluster") if raw.get(k) not in (None, False)]
    if len(selectors) != 1:
        raise AclPolicyError(f"{where}: name exactly one of topics, topic, group, transactional_id, cluster; "
                             f"got {selectors or 'none'}", where=where)
    if raw.get("topics") is not None and raw["topics"] not in KINDS:
        raise AclPolicyError(f"{where}: topics must be a catalogue kind ({', '.join(KINDS)}), got {raw['topics']!r}",
                             where=where)
    if raw.get("topic") is not None and raw["topic"] not in _TOPIC_RULES:
        raise AclPolicyError(f"{where}: topic must be one of {', '.join(_TOPIC_RULES)}, got {raw['topic']!r}",
                             where=where)
    if raw.get("prefixed") and not (raw.get("group") or raw.get("transactional_id")):
        raise AclPolicyError(f"{where}: prefixed applies to a group or a transactional_id", where=where)
    return Grant(
        operations=tuple(ops), topics=raw.get("topics"), topic=raw.get("topic"), group=raw.get("group"),
        transactional_id=raw.get("transactional_id"), cluster=bool(raw.get("cluster")), prefixed=bool(raw.get("prefixed")),
    )


def _role(where: str, key: str, raw: Any, template: bool) -> Role:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("allow"), list):
        raise AclPolicyError(f"{where}: expected a mapping with an 'allow' list", where=where)
    principal = str(raw.get("principal", key))
    for_each = raw.get("for_each") if template else None
    if template and for_each not in ("enrolled", "ministry_feed"):
        raise AclPolicyError(f"{where}: for_each must be 'enrolled' or 'ministry_feed', got {for_each!r}", where=where)
    variables = _VARIABLE.findall(principal)
    if template and len(variables) != 1:
        raise AclPolicyError(f"{where}: a template's principal has one {{variable}}, got {principal!r}", where=where)
    if not template and variables:
        raise AclPolicyError(f"{where}: a principal name has no {{variable}}; make it a template", where=where)
    grants = tuple(_grant(f"{where}.allow[{i}]", g) for i, g in enumerate(raw["allow"]))
    return Role(key=key, principal=principal, grants=grants, doc=str(raw.get("doc", "")), for_each=for_each)


def load_acl_policy(path: Path | str | None = None, *, catalog: Catalog | None = None, prefix: str | None = None,
                    app_id: str = "egov-processors") -> AclPolicy:
    """Load the ACL file over ``catalog`` (default: the packaged catalogue under ``prefix``)."""
    source = Path(path) if path else ACLS_FILE
    try:
        data = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AclPolicyError(f"cannot read ACL file {source}: {exc}", path=str(source)) from exc
    if not isinstance(data, Mapping):
        raise AclPolicyError(f"{source}: expected a mapping at the top", path=str(source))
    roles = [_role(f"principals.{k}", k, v, False) for k, v in (data.get("principals") or {}).items()]
    roles += [_role(f"templates.{k}", k, v, True) for k, v in (data.get("templates") or {}).items()]
    if {"region", "province"} - {r.key for r in roles}:
        raise AclPolicyError(f"{source}: templates 'region' and 'province' are required", path=str(source))
    return AclPolicy(
        roles=tuple(roles),
        super_users=tuple(str(u) for u in data.get("super_users") or ()),
        catalog=catalog or load_catalog(prefix=prefix),
        app_id=app_id,
        prefix=prefix,
        source=str(source),
    )
