"""Subject naming and the mapping of registry failures (``bus.serde.registry``)."""

from __future__ import annotations

import httpx
import pytest
from confluent_kafka.schema_registry import SchemaRegistryError
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient

from bus.errors import EgovBusError
from bus.serde import (
    AvroDeserializer,
    AvroSerializer,
    RegistryError,
    RegistryUnavailableError,
    SerdeError,
    UnknownSchemaError,
    check_registry,
    registry_call,
    registry_error,
    topic_record_name_strategy,
)


@pytest.mark.parametrize(
    ("topic", "record", "subject"),
    [
        ("egov.budgeting.events", "id.go.egov.budgeting.BudgetAllocated", "egov.budgeting.events-id.go.egov.budgeting.BudgetAllocated"),
        ("t.x.egov.view.budget_absorption", "id.go.egov.view.BudgetAbsorptionRow", "t.x.egov.view.budget_absorption-id.go.egov.view.BudgetAbsorptionRow"),
    ],
)
def test_topic_record_name_strategy(topic: str, record: str, subject: str) -> None:
    assert topic_record_name_strategy(topic, record) == subject


def test_not_found_is_unknown_schema_with_status_and_code() -> None:
    err = registry_error("reading s", SchemaRegistryError(404, 40401, "Subject 's' not found."), subject="s")
    assert type(err) is UnknownSchemaError
    assert str(err) == "reading s: Subject 's' not found."
    assert err.fields == {"status": 404, "error_code": 40401, "subject": "s"}


def test_another_answer_is_registry_error_with_status_and_code() -> None:
    err = registry_error("registering s", SchemaRegistryError(409, 409, "incompatible"), subject="s")
    assert type(err) is RegistryError
    assert str(err) == "registering s: registry answered 409: incompatible"
    assert err.fields == {"status": 409, "error_code": 409, "subject": "s"}
    assert err.to_dict() == {
        "error": "RegistryError", "message": "registering s: registry answered 409: incompatible",
        "status": 409, "error_code": 409, "subject": "s",
    }


def test_no_answer_is_registry_error_without_status() -> None:
    err = registry_error("fetching schema id 7", ConnectionRefusedError(111, "Connection refused"), schema_id=7)
    assert type(err) is RegistryUnavailableError
    assert str(err) == ("cannot reach the schema registry (fetching schema id 7: Connection refused) — is the stack up? "
                        "egov-bus dev up (or check EGOV_SCHEMA_REGISTRY_URL)")
    assert err.fields == {"status": None, "schema_id": 7}


def test_no_answer_names_the_registry_base_url_of_the_failed_request() -> None:
    request = httpx.Request("GET", "http://10.0.0.7:8081/apis/ccompat/v7/subjects/s/versions/latest")
    err = registry_error("reading s", httpx.ConnectError("[Errno 111] Connection refused", request=request))
    assert str(err) == ("cannot reach the schema registry at http://10.0.0.7:8081/apis/ccompat/v7 (reading s: Connection "
                        "refused) — is the stack up? egov-bus dev up (or check EGOV_SCHEMA_REGISTRY_URL)")
    timeout = registry_error("reading s", httpx.ReadTimeout("timed out", request=request))
    assert "(reading s: no answer within the timeout: timed out)" in str(timeout)


def test_every_mapped_error_is_in_the_hierarchy() -> None:
    for exc in (SchemaRegistryError(404, 40403, "x"), SchemaRegistryError(500, 50001, "x"), TimeoutError("t")):
        assert isinstance(registry_error("w", exc), (SerdeError, EgovBusError))


def test_registry_call_returns_or_raises_the_mapped_error_chained() -> None:
    assert registry_call("w", lambda: 42) == 42
    cause = SchemaRegistryError(500, 50001, "boom")

    def fail() -> None:
        raise cause

    with pytest.raises(RegistryError) as info:
        registry_call("registering s", fail, subject="s")
    assert info.value.__cause__ is cause
    assert info.value.fields == {"status": 500, "error_code": 50001, "subject": "s"}


class _Down(MockSchemaRegistryClient):
    """A registry that does not answer."""

    def register_schema(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    def get_schema(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")


def test_serde_raises_the_same_mapping() -> None:
    registry = _Down({"url": "mock://down"})
    schema = {"type": "record", "name": "Ping", "namespace": "t", "fields": [{"name": "n", "type": "long"}]}
    with pytest.raises(RegistryError) as ser:
        AvroSerializer(registry, schema)({"n": 1}, "egov.test.events")
    assert ser.value.fields == {"status": None, "subject": "egov.test.events-t.Ping"}
    with pytest.raises(RegistryError) as de:
        AvroDeserializer(registry)(b"\x00\x00\x00\x00\x07\x02")
    assert de.value.fields == {"status": None, "schema_id": 7}
    assert str(de.value).startswith("cannot reach the schema registry (fetching schema id 7: Connection refused)")


def test_serde_refuses_a_strategy_that_is_not_callable() -> None:
    with pytest.raises(SerdeError):
        AvroSerializer(MockSchemaRegistryClient({"url": "mock://x"}), {"type": "record", "name": "P", "fields": []},
                       subject_name_strategy="TopicRecordNameStrategy")  # type: ignore[arg-type]


class _Settings:
    schema_registry_url = "http://10.0.0.7:8081/apis/ccompat/v7"
    request_timeout_s = 10.0


class _DownSubjects(MockSchemaRegistryClient):
    def get_subjects(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")


class _Refusing(MockSchemaRegistryClient):
    def get_subjects(self, *args, **kwargs):
        raise SchemaRegistryError(401, 401, "Unauthorized")


def test_check_registry_returns_the_settings_when_it_answers() -> None:
    settings = _Settings()
    assert check_registry(settings, MockSchemaRegistryClient({"url": "mock://up"})) is settings


def test_check_registry_names_the_configured_url_and_what_to_do() -> None:
    with pytest.raises(RegistryUnavailableError) as info:
        check_registry(_Settings(), _DownSubjects({"url": "mock://down"}))
    assert str(info.value) == ("cannot reach the schema registry at http://10.0.0.7:8081/apis/ccompat/v7 within 10 s "
                               "(Connection refused) — is the stack up? egov-bus dev up (or check "
                               "EGOV_SCHEMA_REGISTRY_URL)")
    with pytest.raises(RegistryError) as refused:
        check_registry(_Settings(), _Refusing({"url": "mock://refusing"}))
    assert str(refused.value) == ("the schema registry at http://10.0.0.7:8081/apis/ccompat/v7 refused a request: 401 "
                                  "Unauthorized — check EGOV_SCHEMA_REGISTRY_URL and EGOV_SCHEMA_REGISTRY_BASIC_AUTH")
