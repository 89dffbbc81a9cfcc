"""Property tests: any amount or time either fits the contract and round-trips, or fails with a named rule."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from decimal import Decimal

import fastavro
from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from schemas import SchemaValidationError
from schemas.samples import sample_event

ET = schemas.event_type("TaxPaymentReceived")
MONEY_RULES = {"non_negative", "decimal_scale", "decimal_precision", "finite_number", "finite_amount"}


def _round_trip(event):
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, ET.parsed_schema, event.to_avro())
    buf.seek(0)
    return ET.model.from_avro(fastavro.schemaless_reader(buf, ET.parsed_schema))


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=True, allow_infinity=True) | st.integers(min_value=-(10**22), max_value=10**22))
def test_money_fits_or_names_the_rule(amount):
    try:
        event = sample_event("TaxPaymentReceived", amount=amount)
    except SchemaValidationError as exc:
        assert [e["loc"] for e in exc.errors] == [("amount",)]
        assert exc.errors[0]["rule"] in MONEY_RULES
        return
    assert event.amount == Decimal(amount) and event.amount >= 0
    assert event.amount.as_tuple().exponent == -2
    assert _round_trip(event) == event


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()))
def test_aware_times_round_trip_as_utc_millis(moment):
    produced = datetime(2100, 1, 2, tzinfo=timezone.utc)
    event = ET.model.new(
        region_code="32.01", source_system="sipd", occurred_at=moment, produced_at=produced,
        **{k: v for k, v in sample_event("TaxPaymentReceived").model_dump().items() if k != "envelope"},
    )
    occurred = event.envelope.occurred_at
    assert occurred.tzinfo is timezone.utc and occurred.microsecond % 1000 == 0
    assert abs((occurred - moment).total_seconds()) < 0.001
    assert _round_trip(event) == event
