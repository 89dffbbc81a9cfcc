"""CloudEvents Kafka binding (binary mode) headers."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import schemas
from schemas.cloudevents import (
    HEADER_NAMES,
    SOURCE_PATTERN,
    CloudEventHeaderError,
    binary_headers,
    build_headers,
    format_time,
    format_time_ms,
    header_text,
    header_value,
    parse_ce_type,
    parse_headers,
    traceparent_for,
)
from schemas.samples import sample_event

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_build_headers_exact():
    ev = sample_event("PermitIssued", region_code="32.76", source_system="oss-depok")
    headers = build_headers(ev, schemas.event_type("PermitIssued"), trace_id=TRACE)
    as_dict = dict(headers)
    assert [k for k, _ in headers] == ["ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion", "content-type", "traceparent"]
    assert as_dict["ce_id"] == ev.envelope.event_id.encode()
    assert as_dict["ce_source"] == b"/id/go/32.76/oss-depok"
    assert as_dict["ce_type"] == b"id.go.egov.licensing.PermitIssued.v1"
    assert as_dict["ce_time"] == b"2025-03-14T02:30:00.000Z"
    assert as_dict["ce_specversion"] == b"1.0"
    assert as_dict["content-type"] == b"application/avro"
    assert as_dict["traceparent"].startswith(f"00-{TRACE}-".encode()) and as_dict["traceparent"].endswith(b"-01")


def test_round_trip_and_derived_attributes():
    ev = sample_event("BudgetAllocated")
    parsed = parse_headers(build_headers(ev))
    assert parsed.id == ev.envelope.event_id
    assert parsed.time == ev.envelope.occurred_at
    assert (parsed.region_code, parsed.source_system, parsed.theme, parsed.event_name) == ("32.01", "sipd", "budgeting", "BudgetAllocated")
    assert parsed.event_type() is schemas.event_type("BudgetAllocated")
    assert len(parsed.trace_id) == 32
    assert parse_headers(parsed.to_headers()) == parsed


def test_envelope_forms_and_trace_continuation():
    ev = sample_event("ComplaintReceived")
    parent = "00-" + TRACE + "-00f067aa0ba902b7-01"
    from_model = build_headers(ev, trace_id=parent)
    assert build_headers(ev.envelope, trace_id=parent) == from_model
    assert build_headers(ev.to_avro()["envelope"], trace_id=parent) == from_model
    assert dict(from_model)["traceparent"] == parent.encode()
    # a fresh trace per call when none is given
    assert dict(build_headers(ev))["traceparent"] != dict(build_headers(ev))["traceparent"]


def test_build_refuses_mismatch_and_bad_trace():
    ev = sample_event("ComplaintReceived")
    with pytest.raises(CloudEventHeaderError, match="does not match event type 'ComplaintResolved'"):
        build_headers(ev, schemas.event_type("ComplaintResolved"))
    with pytest.raises(CloudEventHeaderError) as exc:
        build_headers(ev, trace_id="xyz")
    assert exc.value.fields == {"header": "traceparent", "rule": "trace_id"}


def _valid() -> dict[str, bytes]:
    return dict(build_headers(sample_event("TaxAssessed"), trace_id=TRACE))


@pytest.mark.parametrize(
    ("change", "header", "rule"),
    [
        ({"ce_id": None}, "ce_id", "present"),
        ({"ce_source": None}, "ce_source", "present"),
        ({"ce_type": None}, "ce_type", "present"),
        ({"ce_time": None}, "ce_time", "present"),
        ({"ce_specversion": None}, "ce_specversion", "present"),
        ({"content-type": None}, "content-type", "present"),
        ({"ce_specversion": b"0.3"}, "ce_specversion", "specversion"),
        ({"ce_id": b""}, "ce_id", "non_empty"),
        ({"ce_source": b"/id/go/32.01"}, "ce_source", "ce_source"),
        ({"ce_source": b"sipd"}, "ce_source", "ce_source"),
        ({"ce_type": b"BudgetAllocated"}, "ce_type", "ce_type"),
        ({"ce_time": b"yesterday"}, "ce_time", "rfc3339"),
        ({"ce_time": b"2025-03-14T02:30:00"}, "ce_time", "rfc3339"),
        ({"content-type": b"application/json"}, "content-type", "content_type"),
        ({"traceparent": b"nope"}, "traceparent", "traceparent"),
        ({"ce_id": b"\xff\xfe"}, "ce_id", "utf8"),
    ],
)
def test_parse_names_header_and_rule(change, header, rule):
    headers = _valid()
    for k, v in change.items():
        if v is None:
            headers.pop(k)
        else:
            headers[k] = v
    with pytest.raises(CloudEventHeaderError) as exc:
        parse_headers(headers)
    assert exc.value.fields == {"header": header, "rule": rule}
    assert f"header {header}:" in str(exc.value) and f"[rule: {rule}]" in str(exc.value)


def test_parse_list_form_duplicates_and_none_values():
    headers = list(_valid().items())
    assert parse_headers(headers + [("x-other", b"ignored")]).type == "id.go.egov.revenue.TaxAssessed.v1"
    with pytest.raises(CloudEventHeaderError) as exc:
        parse_headers(headers + [("ce_id", b"again")])
    assert exc.value.fields["rule"] == "single"
    with pytest.raises(CloudEventHeaderError) as exc:
        parse_headers([(k, None if k == "ce_type" else v) for k, v in headers])
    assert exc.value.fields == {"header": "ce_type", "rule": "present"}
    with pytest.raises(CloudEventHeaderError):
        parse_headers(None)


def test_parse_accepts_other_content_type_when_asked_and_offsets():
    headers = _valid()
    headers["content-type"] = b"application/json"
    headers["ce_time"] = b"2025-03-14T09:30:00.000+07:00"
    parsed = parse_headers(headers, content_type=None)
    assert parsed.time == datetime(2025, 3, 14, 2, 30, tzinfo=timezone.utc)
    assert parsed.content_type == "application/json"


def test_unknown_ce_type_parses_but_has_no_event_type():
    headers = _valid()
    headers["ce_type"] = b"id.go.egov.revenue.TaxRefunded.v2"
    parsed = parse_headers(headers)
    with pytest.raises(schemas.UnknownEventTypeError):
        parsed.event_type()


def test_binary_headers_lay_out_the_binding_in_order():
    headers = binary_headers("e-1", "/id/go/32.01/sipd", "id.go.egov.budgeting.BudgetAllocated.v1",
                             "2025-03-14T02:30:00.000Z", "00-" + TRACE + "-e000000000000001-01")
    assert headers == [
        ("ce_id", "e-1"),
        ("ce_source", "/id/go/32.01/sipd"),
        ("ce_type", "id.go.egov.budgeting.BudgetAllocated.v1"),
        ("ce_time", "2025-03-14T02:30:00.000Z"),
        ("ce_specversion", "1.0"),
        ("content-type", "application/avro"),
        ("traceparent", "00-" + TRACE + "-e000000000000001-01"),
    ]
    assert [k for k, _ in headers] == list(HEADER_NAMES)
    assert [k for k, _ in binary_headers("e-1", "s", "t", "x")] == list(HEADER_NAMES[:-1])


def test_build_headers_is_binary_headers_encoded():
    ev = sample_event("PermitIssued", region_code="32.76", source_system="oss-depok")
    headers = build_headers(ev, trace_id=TRACE)
    env = ev.envelope
    expected = binary_headers(env.event_id, "/id/go/32.76/oss-depok", "id.go.egov.licensing.PermitIssued.v1",
                              format_time(env.occurred_at), dict(headers)["traceparent"].decode())
    assert headers == [(k, v.encode()) for k, v in expected]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1970, 1, 1, tzinfo=timezone.utc),
        datetime(2025, 3, 14, 2, 30, 0, 123000, tzinfo=timezone.utc),
        datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=timezone.utc),
        datetime(2099, 12, 31, 0, 0, 0, 1000, tzinfo=timezone.utc),
    ],
)
def test_format_time_ms_equals_format_time(moment):
    ms = int(moment.timestamp() * 1000)
    assert format_time_ms(ms) == format_time(moment)
    assert format_time_ms(ms) == format_time_ms(ms)  # second call from the caches


def test_format_time_refuses_a_naive_time():
    with pytest.raises(CloudEventHeaderError) as exc:
        format_time(datetime(2025, 3, 14))
    assert exc.value.fields == {"header": "ce_time", "rule": "tz_aware"}


def test_traceparent_for_is_rooted_at_the_event_id():
    event_id = "0190f5a2-7c1e-7d3b-8a2f-1234567890ab"
    assert traceparent_for(event_id) == "00-0190f5a27c1e7d3b8a2f1234567890ab-e" + "a2f1234567890ab" + "-01"
    parsed = parse_headers(binary_headers(event_id, "/id/go/32.01/sipd", "id.go.egov.budgeting.BudgetAllocated.v1",
                                          "2025-03-14T02:30:00.000Z", traceparent_for(event_id)))
    assert parsed.trace_id == event_id.replace("-", "")


@pytest.mark.parametrize(
    ("ce_type", "expected"),
    [
        ("id.go.egov.budgeting.BudgetAllocated.v1", ("budgeting", "BudgetAllocated", 1)),
        ("id.go.egov.revenue.TaxRefunded.v12", ("revenue", "TaxRefunded", 12)),
        ("id.go.egov.budgeting.BudgetAllocated", None),
        ("id.go.egov.budgeting.BudgetAllocated.v0", None),
        ("com.example.budgeting.BudgetAllocated.v1", None),
        ("id.go.egov.Budgeting.BudgetAllocated.v1", None),
    ],
)
def test_parse_ce_type(ce_type, expected):
    assert parse_ce_type(ce_type) == expected


@pytest.mark.parametrize(
    ("source", "ok"),
    [("/id/go/32.01/sipd", True), ("/id/go/32/oss-depok", True), ("/id/go/3/sipd", False), ("/id/go/32.01/", False)],
)
def test_source_pattern_is_the_parser_rule(source, ok):
    import re

    assert bool(re.fullmatch(SOURCE_PATTERN, source)) is ok
    headers = dict(_valid())
    headers["ce_source"] = source.encode()
    if ok:
        assert parse_headers(headers).source == source
    else:
        with pytest.raises(CloudEventHeaderError):
            parse_headers(headers)


def test_build_headers_refuses_what_is_not_an_event():
    with pytest.raises(schemas.SchemaError) as exc:
        build_headers(42)  # type: ignore[arg-type]
    assert exc.value.fields == {"got": "int"}


def test_header_value():
    headers = [("ce_id", b"a"), ("ce_type", b"t"), ("ce_id", b"b")]
    assert header_value(headers, "ce_id") == b"a"
    assert header_value(headers, "traceparent") is None
    assert header_value(None, "ce_id") is None
    assert header_text(headers, "ce_type") == "t"
    assert header_text([("ce_id", "as-str")], "ce_id") == "as-str"
    assert header_text(headers, "traceparent") is None


@pytest.mark.integration
def test_headers_survive_a_real_broker(stack_settings, new_topic, registry):
    from bus.kafka import EgovConsumer, EgovProducer
    from bus.serde import AvroDeserializer, AvroSerializer

    topic = new_topic("test.cloudevents", partitions=1)
    ev = sample_event("DatasetPublished")
    et = schemas.event_type("DatasetPublished")
    producer = EgovProducer(stack_settings)
    producer.produce(topic, AvroSerializer(registry, et.avro_schema)(ev.to_avro(), topic), key=ev.region_code,
                     headers=build_headers(ev, et, trace_id=TRACE))
    producer.flush(15)
    with EgovConsumer(stack_settings, f"{topic}.g", [topic], AvroDeserializer(registry)) as consumer:
        record = next(iter(consumer.records(1, timeout=30)))
    parsed = parse_headers(record.headers)
    assert parsed.event_type() is et and parsed.id == ev.envelope.event_id and parsed.trace_id == TRACE
    assert et.model.from_avro(record.value.value) == ev


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", True),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", True),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", False),  # all-zero trace id
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", False),  # all-zero span id
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", False),  # upper case
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", False),  # unknown version
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", False),
        ("", False),
    ],
)
def test_is_valid_traceparent_follows_w3c_trace_context(value: str, valid: bool) -> None:
    from schemas.cloudevents import is_valid_traceparent

    assert is_valid_traceparent(value) is valid
