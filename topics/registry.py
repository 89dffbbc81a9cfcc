"""Event schemas in the schema registry: register them, check the working tree against them.

Subjects follow the TopicRecordNameStrategy: ``<topic>-<record full name>``
(:func:`bus.serde.topic_record_name_strategy`, the serde's own), one per event type on its theme topic (dead-letter and routed topics carry the
same bytes, hence the same schema ids, and need no subjects of their own).
Every subject gets compatibility ``BACKWARD`` through the Confluent-compatible
``/config/<subject>`` endpoint.

Compatibility is decided twice: the registry's own test (authoritative for
BACKWARD) and :mod:`schemas.compat`, which names each change and adds the
project rule that a field without a default must not be removed. Apicurio's
compatibility endpoint answers only true/false, so the named changes are what
tells a developer what to fix.

A registry that refuses a request or does not answer raises what the serde
raises (:func:`bus.serde.registry_error`): :class:`bus.serde.RegistryError` with
the HTTP ``status``, the registry's ``error_code`` and the ``subject``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from bus.serde.exceptions import UnknownSchemaError
from bus.serde.registry import registry_call, topic_record_name_strategy
from schemas.avro_files import AVRO_DIR, common_types, event_files, expand, full_name, load_avsc
from schemas.compat import Change, changes
from topics.catalog import Catalog

COMPATIBILITY = "BACKWARD"
Status = Literal["new", "unchanged", "compatible", "incompatible"]


@dataclass(frozen=True)
class SubjectSchema:
    """The schema an event type should have under its subject."""

    subject: str
    topic: str
    event_type: str
    schema: dict[str, Any] = field(compare=False, repr=False)

    @property
    def schema_str(self) -> str:
        return json.dumps(self.schema, separators=(",", ":"))


@dataclass
class SubjectCheck:
    """The working tree against the registry for one subject."""

    subject: str
    status: Status
    registered_version: int | None = None
    compatibility: str | None = None
    changes: list[Change] = field(default_factory=list)
    #: Why it is incompatible (registry verdict and/or breaking changes).
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "incompatible"


@dataclass(frozen=True)
class Registration:
    subject: str
    schema_id: int
    version: int | None
    status: Literal["registered", "unchanged"]


def working_tree_schemas(avro_dir: Path | None = None) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """``{event name: (theme, record full name, expanded schema)}`` read from ``avro_dir``."""
    avro_dir = avro_dir or AVRO_DIR
    named = common_types(avro_dir)
    out: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for theme, path in event_files(avro_dir):
        schema = load_avsc(path)
        out[schema["name"]] = (theme, full_name(schema), expand(schema, named))
    return out


def desired_subjects(catalog: Catalog, avro_dir: Path | None = None) -> list[SubjectSchema]:
    """One subject per event type on its theme topic (names as the catalogue has them, prefix included)."""
    tree = working_tree_schemas(avro_dir)
    out: list[SubjectSchema] = []
    for topic in catalog.of_kind("theme"):
        names = [n for n, (theme, _, _) in tree.items() if theme == topic.theme]
        for name in sorted(names):
            _, record_name, schema = tree[name]
            out.append(SubjectSchema(topic_record_name_strategy(topic.name, record_name), topic.name, name, schema))
    return out


def _or_none(what: str, subject: str, fn: Callable[[], Any]) -> Any | None:
    """``fn()`` through the serde's registry call; None when the registry has no such thing (404)."""
    try:
        return registry_call(what, fn, subject=subject)
    except UnknownSchemaError:
        return None


def _latest(client: SchemaRegistryClient, subject: str) -> Any | None:
    return _or_none(f"reading {subject}", subject, lambda: client.get_version(subject, "latest"))


def _compatibility(client: SchemaRegistryClient, subject: str) -> str | None:
    return _or_none(f"reading config of {subject}", subject, lambda: client.get_compatibility(subject))


def check(client: SchemaRegistryClient, subjects: Iterable[SubjectSchema]) -> list[SubjectCheck]:
    """Compare each desired schema with the latest registered version of its subject."""
    results: list[SubjectCheck] = []
    for s in subjects:
        latest = _latest(client, s.subject)
        if latest is None:
            results.append(SubjectCheck(s.subject, "new"))
            continue
        registered = json.loads(latest.schema.schema_str)
        level = _compatibility(client, s.subject)
        diff = changes(registered, s.schema)
        result = SubjectCheck(s.subject, "compatible", latest.version, level, diff)
        if registered == s.schema or (not diff and _same_ignoring_docs(registered, s.schema)):
            result.status = "unchanged" if registered == s.schema else "compatible"
        verdict = registry_call(
            f"testing {s.subject}",
            lambda: client.test_compatibility(s.subject, Schema(s.schema_str, "AVRO"), "latest"),
            subject=s.subject,
        )
        breaking = [c for c in diff if c.breaking]
        if not verdict:
            result.problems.append(f"the registry refuses it under {level or COMPATIBILITY} compatibility")
        result.problems.extend(str(c) for c in breaking)
        if not verdict and not breaking:
            result.problems.append("(the registry gave no detail; compare the .avsc with version %s)" % latest.version)
        if result.problems:
            result.status = "incompatible"
        results.append(result)
    return results


def _strip_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_docs(v) for k, v in node.items() if k != "doc"}
    if isinstance(node, list):
        return [_strip_docs(n) for n in node]
    return node


def _same_ignoring_docs(a: Any, b: Any) -> bool:
    return _strip_docs(a) == _strip_docs(b)


def register(
    client: SchemaRegistryClient,
    subjects: Iterable[SubjectSchema],
    *,
    compatibility: str = COMPATIBILITY,
    progress: Callable[[str], None] | None = None,
) -> list[Registration]:
    """Check every subject first, then set its compatibility and register its schema.

    Nothing is registered when any subject is incompatible
    (:class:`topics.exceptions.IncompatibleSchemaError` lists them all).
    Registering an unchanged schema is a no-op, so this is idempotent.
    """
    from topics.exceptions import IncompatibleSchemaError

    say = progress or (lambda _m: None)
    subjects = list(subjects)
    bad = [r for r in check(client, subjects) if not r.ok]
    if bad:
        raise IncompatibleSchemaError(
            "incompatible schemas, nothing registered:\n" + "\n".join(f"  {r.subject}: " + "; ".join(r.problems) for r in bad),
            subjects=[r.subject for r in bad],
        )
    out: list[Registration] = []
    for s in subjects:
        schema = Schema(s.schema_str, "AVRO")
        existing = _or_none(f"looking up {s.subject}", s.subject, lambda: client.lookup_schema(s.subject, schema))
        # Set the level before the first version exists, so the subject never runs unguarded.
        if _compatibility(client, s.subject) != compatibility:
            registry_call(
                f"setting {compatibility} on {s.subject}",
                lambda: client.set_compatibility(s.subject, compatibility),
                subject=s.subject,
            )
            say(f"{s.subject}: compatibility {compatibility}")
        if existing is not None:
            out.append(Registration(s.subject, existing.schema_id, existing.version, "unchanged"))
            continue
        schema_id = registry_call(
            f"registering {s.subject}", lambda: client.register_schema(s.subject, schema), subject=s.subject
        )
        out.append(Registration(s.subject, schema_id, None, "registered"))
        say(f"{s.subject}: registered id {schema_id}")
    return out
