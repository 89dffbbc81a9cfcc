"""``topics.registry`` without a registry: subject names and error mapping come from ``bus.serde``."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import SchemaRegistryError
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient

import schemas
from bus.serde import RegistryError, topic_record_name_strategy
from topics.catalog import load_catalog
from topics.registry import check, desired_subjects, register

EVENT = "PermitRejected"


class FakeRegistry(MockSchemaRegistryClient):
    """confluent-kafka's in-memory registry plus the per-subject compatibility endpoints it lacks."""

    def __init__(self) -> None:
        super().__init__({"url": "mock://unit"})
        self.levels: dict[str, str] = {}

    def get_compatibility(self, subject_name=None):
        if subject_name not in self.levels:
            raise SchemaRegistryError(404, 40408, f"Subject '{subject_name}' does not have subject-level compatibility configured")
        return self.levels[subject_name]

    def set_compatibility(self, subject_name=None, level=None):
        self.levels[subject_name] = level
        return level

    def test_compatibility(self, subject_name, schema, version="latest", **kwargs):
        return True


class RefusingRegistry(FakeRegistry):
    """Answers every registration with a 500."""

    def register_schema(self, subject_name, schema, normalize_schemas=False):
        raise SchemaRegistryError(500, 50001, "Error in the backend data store")


class DownRegistry(FakeRegistry):
    """Does not answer at all."""

    def get_version(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")


def _subjects(prefix: str = "t"):
    return [s for s in desired_subjects(load_catalog(prefix=prefix)) if s.event_type == EVENT]


def test_subjects_are_named_by_the_serde_strategy() -> None:
    et = schemas.event_type(EVENT)
    [subject] = _subjects()
    assert subject.topic == "t.egov.licensing.events"
    assert subject.subject == topic_record_name_strategy(subject.topic, et.record_name)
    assert subject.subject == "t.egov.licensing.events-id.go.egov.licensing.PermitRejected"


def test_new_subject_is_registered_with_its_level_then_unchanged() -> None:
    registry = FakeRegistry()
    subjects = _subjects()
    assert [r.status for r in check(registry, subjects)] == ["new"]
    [done] = register(registry, subjects)
    assert done.status == "registered"
    assert registry.levels == {subjects[0].subject: "BACKWARD"}
    assert [r.status for r in check(registry, subjects)] == ["unchanged"]
    [again] = register(registry, subjects)
    assert (again.status, again.schema_id) == ("unchanged", done.schema_id)


def test_a_refusal_is_the_serde_registry_error_naming_the_subject() -> None:
    [subject] = _subjects()
    with pytest.raises(RegistryError) as info:
        register(RefusingRegistry(), [subject])
    assert str(info.value) == f"registering {subject.subject}: registry answered 500: Error in the backend data store"
    assert info.value.fields == {"status": 500, "error_code": 50001, "subject": subject.subject}


def test_no_answer_is_the_serde_registry_error_naming_the_subject() -> None:
    [subject] = _subjects()
    with pytest.raises(RegistryError) as info:
        check(DownRegistry(), [subject])
    assert str(info.value).startswith(f"cannot reach the schema registry (reading {subject.subject}: Connection refused)")
    assert info.value.fields == {"status": None, "subject": subject.subject}
