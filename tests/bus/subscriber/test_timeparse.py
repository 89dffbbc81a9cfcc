from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from bus.errors import EgovBusError
from bus.subscriber import InvalidTimeError, parse_time
from bus.subscriber.timeparse import parse_duration, to_epoch_ms

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("30s", NOW - timedelta(seconds=30)),
        ("10m", NOW - timedelta(minutes=10)),
        ("2h", NOW - timedelta(hours=2)),
        ("1d", NOW - timedelta(days=1)),
        ("1w", NOW - timedelta(weeks=1)),
        ("1h30m", NOW - timedelta(minutes=90)),
        (" 2H ", NOW - timedelta(hours=2)),
        ("2025-03-01T08:00:00+07:00", datetime(2025, 3, 1, 1, 0, tzinfo=timezone.utc)),
        ("2025-03-01T08:00:00Z", datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)),
        ("2025-03-01T08:00:00", datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)),  # no zone: UTC
        ("2025-03-01", datetime(2025, 3, 1, tzinfo=timezone.utc)),
    ],
)
def test_parse_time(text, expected):
    got = parse_time(text, now=NOW)
    assert got == expected
    assert got.tzinfo is not None


@pytest.mark.parametrize("text", ["", "yesterday", "10", "m10", "10x", "-5m", "2025-13-01", "1h 30"])
def test_parse_time_refuses_with_a_hint(text):
    with pytest.raises(InvalidTimeError) as info:
        parse_time(text, now=NOW)
    assert isinstance(info.value, EgovBusError)
    assert "ISO-8601" in str(info.value) and "10m" in str(info.value)


@given(st.integers(0, 10_000), st.sampled_from("smhdw"))
def test_duration_round_trip(amount, unit):
    names = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    assert parse_duration(f"{amount}{unit}") == timedelta(**{names[unit]: amount})


def test_epoch_ms_needs_a_zone():
    assert to_epoch_ms(datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)) == 1000
    with pytest.raises(InvalidTimeError):
        to_epoch_ms(datetime(2025, 1, 1))
