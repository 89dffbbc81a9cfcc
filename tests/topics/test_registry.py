"""`egov-bus schemas register|check` against the real registry (Apicurio, ccompat API)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryError
from typer.testing import CliRunner

from schemas.avro_files import AVRO_DIR
from topics.catalog import load_catalog
from topics.exceptions import IncompatibleSchemaError
from topics.registry import check, desired_subjects, register
from topics.registry_cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()
EVENT = "PermitRejected"


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of the schema tree to edit."""
    avro = tmp_path / "avro"
    shutil.copytree(AVRO_DIR, avro)
    return avro


def _edit(tree: Path, edit) -> None:
    path = tree / "licensing" / f"{EVENT}.avsc"
    schema = json.loads(path.read_text())
    edit(schema["fields"])
    path.write_text(json.dumps(schema))


def _subjects(prefix: str, tree: Path | None = None):
    return [s for s in desired_subjects(load_catalog(prefix=prefix), tree) if s.event_type == EVENT]


def test_subjects_use_topic_record_name_strategy():
    subjects = desired_subjects(load_catalog())
    assert len(subjects) == 37
    assert "egov.budgeting.events-id.go.egov.budgeting.BudgetAllocated" in {s.subject for s in subjects}


def test_register_sets_backward_and_is_idempotent(registry):
    prefix = f"test.reg.{uuid.uuid4().hex[:10]}"
    first = runner.invoke(app, ["register", "--prefix", prefix])
    assert first.exit_code == 0, first.output
    assert "37 registered, 0 unchanged; compatibility BACKWARD on all 37 subjects" in first.output
    for s in desired_subjects(load_catalog(prefix=prefix)):
        assert registry.get_compatibility(s.subject) == "BACKWARD"
    second = runner.invoke(app, ["register", "--prefix", prefix])
    assert second.exit_code == 0 and "0 registered, 37 unchanged" in second.output
    checked = runner.invoke(app, ["check", "--prefix", prefix])
    assert checked.exit_code == 0 and "0 new, 37 unchanged, 0 compatible, 0 incompatible" in checked.output


def test_compatible_change_new_field_with_default_is_accepted(registry, tree):
    prefix = f"test.reg.{uuid.uuid4().hex[:10]}"
    register(registry, _subjects(prefix))
    _edit(tree, lambda f: f.append({"name": "appeal_possible", "type": "boolean", "default": False, "doc": "Whether the applicant may appeal."}))
    [result] = check(registry, _subjects(prefix, tree))
    assert result.status == "compatible" and result.problems == []
    assert [str(c) for c in result.changes] == [f"{EVENT}.appeal_possible: field added with a default"]
    [done] = register(registry, _subjects(prefix, tree))
    assert done.status == "registered"
    assert registry.get_version(done.subject, "latest").version == 2


@pytest.mark.parametrize(
    ("edit", "change", "registry_refuses"),
    [
        (lambda f: f.__setitem__(-1, {**f[-1], "type": "int"}), "PermitRejected.reason: type changed from string to int", True),
        (lambda f: f.pop(-1), "PermitRejected.reason: field removed without a default", False),
        (lambda f: f.append({"name": "appeal_deadline_days", "type": "int", "doc": "d"}), "PermitRejected.appeal_deadline_days: field added without a default", True),
    ],
    ids=["type-changed", "field-removed-without-default", "field-added-without-default"],
)
def test_breaking_change_is_refused_naming_subject_and_change(registry, tree, edit, change, registry_refuses):
    prefix = f"test.reg.{uuid.uuid4().hex[:10]}"
    register(registry, _subjects(prefix))
    _edit(tree, edit)
    [subject] = _subjects(prefix, tree)

    result = runner.invoke(app, ["check", "--prefix", prefix, "--avro-dir", str(tree), "-e", EVENT])
    assert result.exit_code == 1, result.output
    assert f"incompatible {subject.subject}: {change}" in result.output
    assert ("the registry refuses it under BACKWARD compatibility" in result.output) == registry_refuses

    with pytest.raises(IncompatibleSchemaError) as exc:
        register(registry, [subject])
    assert subject.subject in str(exc.value) and change in str(exc.value)
    assert registry.get_version(subject.subject, "latest").version == 1  # nothing registered

    if registry_refuses:  # the registry itself guards the subject (BACKWARD set per subject)
        with pytest.raises(SchemaRegistryError) as refused:
            registry.register_schema(subject.subject, Schema(subject.schema_str, "AVRO"))
        assert refused.value.http_status_code == 409
