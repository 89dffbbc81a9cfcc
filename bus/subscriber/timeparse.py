"""Start times for replays: ISO-8601 or a relative duration back from now (``10m``, ``2h``, ``1h30m``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from bus.subscriber.exceptions import InvalidTimeError

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_RELATIVE = re.compile(r"(?:\d+\s*[smhdw]\s*)+")


def parse_duration(text: str) -> timedelta | None:
    """``"1h30m"`` -> 90 minutes; None when ``text`` is not a duration."""
    compact = text.strip().lower()
    if not compact or not _RELATIVE.fullmatch(compact):
        return None
    delta = timedelta()
    for amount, unit in _PART.findall(compact):
        delta += timedelta(**{_UNITS[unit]: int(amount)})
    return delta


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """A timezone-aware UTC time from ``text``.

    Accepted: ``now``; a relative duration back from ``now`` (``30s``, ``10m``,
    ``2h``, ``1d``, ``1w`` and sums such as ``1h30m``); an ISO-8601 time
    (``2025-03-01T08:00:00+07:00``, ``...Z``) or date (``2025-03-01``, midnight).
    A time without a zone is taken as UTC.
    """
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    raw = text.strip()
    if raw.lower() == "now":
        return now
    delta = parse_duration(raw)
    if delta is not None:
        return now - delta
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        except ValueError:
            raise InvalidTimeError(
                f"cannot read {text!r} as a time: give ISO-8601 (2025-03-01T08:00:00+07:00, 2025-03-01) "
                "or a duration back from now (30s, 10m, 2h, 1d, 1h30m)",
                value=text,
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def to_epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch (what Kafka timestamps are); ``value`` must be tz-aware."""
    if value.tzinfo is None:
        raise InvalidTimeError("a replay start time must be timezone-aware", value=str(value))
    return int(value.timestamp() * 1000)
