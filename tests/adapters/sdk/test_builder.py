"""The event builder on its own: no producer, no broker; confluent-kafka's mock registry for schema ids."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from adapters.privacy import MissingPseudonymKeyError, Pseudonymizer, RawNikError
from adapters.sdk import EncodedRecord, EventBuilder, NotAnEventError
from bus.serde import RegistryError, unpack_header
from bus.settings import load_settings
from schemas import SchemaValidationError, event_type
from schemas.cloudevents import parse_headers
from schemas.samples import sample_event
from tests.adapters.sdk.fakes import FailingRegistry
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY

NIK = "3201014501250001"


@pytest.fixture
def settings():
    # A developer's settings: schemas registered on first use (the dev stack's EGOV_SCHEMA_AUTO_REGISTER).
    return load_settings(env_file=None, pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY), schema_auto_register=True)


@pytest.fixture
def builder(settings) -> EventBuilder:
    return EventBuilder(settings, source_system="siak", registry=MockSchemaRegistryClient({"url": "mock://builder"}))


def test_build_pseudonymizes_a_nik_and_derives_the_person_fields(builder: EventBuilder) -> None:
    event = builder.build("BirthRegistered", {"nik": NIK, "registration_delay_days": 3},
                          region_code="32.01", occurred_at="2025-03-01T08:00:00Z")
    assert event.nik_pseudonym == Pseudonymizer(TEST_PSEUDONYM_KEY).pseudonym(NIK)
    assert (event.sex, event.age_band, event.district_code) == ("P", "0-4", "32.01.01")
    assert event.envelope.source_system == "siak"  # the builder's default
    assert NIK not in repr(event)


def test_build_takes_envelope_values_from_the_fields_too(builder: EventBuilder) -> None:
    event_id = str(uuid.uuid4())
    fields = {"event_type": "ComplaintReceived", "region_code": "33.01", "source_system": "lapor",
              "occurred_at": "2025-03-01T08:00:00Z", "event_id": event_id, "complaint_id": "C-1",
              "category": "kesehatan", "channel": "web", "is_anonymous": False}
    event = builder.build("ComplaintReceived", fields)
    assert (event.envelope.region_code, event.envelope.source_system, str(event.envelope.event_id)) == (
        "33.01", "lapor", event_id)
    # keyword arguments win over fields
    assert builder.build("ComplaintReceived", fields, region_code="35").envelope.region_code == "35"


@pytest.mark.parametrize(("name", "fields", "loc", "rule"), [
    ("BudgetAllocated", {"nik": NIK}, ("nik",), "extra_forbidden"),
    ("ComplaintReceived", {"produced_at": "2025-03-01T08:00:00Z"}, ("produced_at",), "extra_forbidden"),
    ("ComplaintReceived", {"envelope": {}, "schema_version": 2}, ("envelope",), "extra_forbidden"),
    ("BirthRegistered", {"nik": "123", "registration_delay_days": 3}, ("nik",), None),
])
def test_build_refuses_naming_the_field(builder: EventBuilder, name: str, fields: dict, loc: tuple,
                                        rule: str | None) -> None:
    with pytest.raises(SchemaValidationError) as info:
        builder.build(name, fields, region_code="32.01", occurred_at="2025-03-01T08:00:00Z")
    assert info.value.errors[0]["loc"] == loc
    if rule is not None:
        assert info.value.errors[0]["rule"] == rule


def test_build_with_a_nik_needs_the_key(settings) -> None:
    builder = EventBuilder(settings.model_copy(update={"pseudonym_key": None}))
    with pytest.raises(MissingPseudonymKeyError):
        builder.build("BirthRegistered", {"nik": NIK, "registration_delay_days": 3}, region_code="32.01",
                      occurred_at="2025-03-01T08:00:00Z")


def test_build_needs_no_registry(settings) -> None:
    builder = EventBuilder(settings, registry=FailingRegistry(RuntimeError("no registry here")))
    assert builder.build("ComplaintReceived", {"complaint_id": "C-1", "category": "kesehatan", "channel": "web",
                                               "is_anonymous": False},
                         region_code="32.01", occurred_at="2025-03-01T08:00:00Z").complaint_id == "C-1"


def test_encode_gives_the_record_to_produce(builder: EventBuilder) -> None:
    event = sample_event("BudgetAllocated")
    record = builder.encode(event)
    assert isinstance(record, EncodedRecord)
    assert (record.topic, record.key, record.event_id) == ("egov.budgeting.events", b"32.01", str(event.event_id))
    assert unpack_header(record.value) == builder.codec("BudgetAllocated").serializer.schema_id(record.topic)
    headers = parse_headers(record.headers)
    assert headers.id == record.event_id and headers.region_code == "32.01"
    assert record.codec is builder.codec(event_type("BudgetAllocated"))
    assert builder.codec_for_wire(record.topic, record.value) is record.codec
    assert builder.codec_for_wire("other.topic", record.value) is None


def test_record_builds_then_encodes(builder: EventBuilder) -> None:
    record = builder.record("ComplaintReceived", {"complaint_id": "C-2", "category": "kesehatan", "channel": "web",
                                                  "is_anonymous": False},
                            region_code="32.01", occurred_at="2025-03-01T08:00:00Z", traceparent=None)
    assert record.topic == "egov.complaints.events" and record.key == b"32.01"


def test_topic_for_redirects(settings) -> None:
    builder = EventBuilder(settings, registry=MockSchemaRegistryClient({"url": "mock://builder-topics"}),
                           topic_for=lambda et: f"test.{et.theme}")
    assert builder.encode(sample_event("BudgetAllocated")).topic == "test.budgeting"


def test_encode_refuses_a_raw_nik_in_a_text_field(builder: EventBuilder) -> None:
    event = sample_event("ComplaintResolved", outcome="pelapor 3201014501900001 sudah dihubungi")
    with pytest.raises(RawNikError, match="ComplaintResolved.outcome"):
        builder.encode(event)


def test_encode_refuses_what_is_not_a_typed_event(builder: EventBuilder) -> None:
    with pytest.raises(NotAnEventError, match="typed events from schemas.models, got dict") as info:
        builder.encode({"event_type": "BudgetAllocated"})  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


def test_codecs_are_cached_per_type_and_warm_prepares_them(builder: EventBuilder) -> None:
    builder.warm(["BudgetAllocated", event_type("ComplaintReceived")])
    assert set(builder.codecs) == {event_type("BudgetAllocated").model, event_type("ComplaintReceived").model}
    assert builder.codec("BudgetAllocated") is builder.codec(event_type("BudgetAllocated"))


def test_a_registry_failure_is_counted_and_raised(settings) -> None:
    builder = EventBuilder(settings, registry=FailingRegistry(ConnectionError("registry down")))
    before = REGISTRY.get_sample_value("egov_registry_errors_total", {"operation": "register"}) or 0
    with pytest.raises(RegistryError, match="registry down"):
        builder.codec("BudgetAllocated")
    assert REGISTRY.get_sample_value("egov_registry_errors_total", {"operation": "register"}) == before + 1
    assert builder.codecs == {}


def test_by_default_a_publisher_only_looks_schemas_up_and_a_missing_one_is_a_clear_error(monkeypatch) -> None:
    from bus.serde import SchemaNotRegisteredError

    monkeypatch.delenv("EGOV_SCHEMA_AUTO_REGISTER", raising=False)  # `make test` exports the dev stack's
    settings = load_settings(env_file=None, pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY))
    assert settings.schema_auto_register is False
    registry = MockSchemaRegistryClient({"url": "mock://lookup-only"})
    builder = EventBuilder(settings, source_system="siak", registry=registry)
    with pytest.raises(SchemaNotRegisteredError) as missing:
        builder.codec("BudgetAllocated")
    assert "egov-bus schemas register" in str(missing.value)
    assert missing.value.fields["subject"] == "egov.budgeting.events-id.go.egov.budgeting.BudgetAllocated"
    assert registry.get_subjects() == []  # nothing was registered
