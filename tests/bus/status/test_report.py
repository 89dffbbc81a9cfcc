"""The report's exit code, problems and JSON, and readable times (no services)."""

from datetime import datetime, timezone

from bus.status import EXIT_CODES, StatusReport
from bus.status.render import ago, when

NOW = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)


def _report(kafka_up: bool = True, registry_up: bool = True, broker_up: bool = True) -> StatusReport:
    kafka = {"bootstrap": "k:9092", "reachable": kafka_up, "error": None if kafka_up else "cannot reach Kafka at k:9092",
             "controller": 1, "brokers": [{"id": 1, "address": "k:9092", "reachable": broker_up, "controller": True}]}
    registry = {"url": "http://r", "reachable": registry_up, "error": None if registry_up else "cannot reach the registry"}
    return StatusReport(NOW, kafka, registry)


def test_exit_codes_name_the_part_down_first_kafka() -> None:
    assert EXIT_CODES == {"ok": 0, "kafka_down": 2, "registry_down": 3, "broker_down": 4}
    assert _report().exit_code == 0 and _report().problems() == []
    assert _report(kafka_up=False, registry_up=False).exit_code == 2
    assert _report(kafka_up=False, registry_up=False).problems() == ["cannot reach Kafka at k:9092",
                                                                     "cannot reach the registry"]
    assert _report(registry_up=False).exit_code == 3
    assert _report(broker_up=False).exit_code == 4
    assert _report(broker_up=False).problems() == ["Kafka broker 1 at k:9092 does not answer"]


def test_json_has_its_stable_keys_and_iso_times() -> None:
    doc = _report(registry_up=False).to_json()
    assert sorted(doc) == ["checked_at", "consumer_groups", "dlq", "exit_code", "kafka", "ok", "problems", "registry",
                           "views"]
    assert (doc["checked_at"], doc["ok"], doc["exit_code"]) == ("2026-12-01T08:00:00Z", False, 3)


def test_times_read_as_people_say_them() -> None:
    assert when("2026-12-01T07:57:00Z", NOW) == "2026-12-01 07:57:00 UTC (3 min ago)"
    assert when(None, NOW) == "—"
    assert [ago(s) for s in (0.2, 42, 3600 * 5, 86400 * 2)] == ["just now", "42 s ago", "5 h ago", "2 days ago"]
