"""ViewStore record handling with fake records (unit; the real reader is covered in test_views_api.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from bus.serde.exceptions import AvroDecodeError, RegistryError
from processors.api.store import ViewStore
from schemas.topic_names import view_topic


class Msg:
    def __init__(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> None:
        self._t, self._p, self._o, self._k, self._v = topic, partition, offset, key, value

    def topic(self): return self._t
    def partition(self): return self._p
    def offset(self): return self._o
    def key(self): return self._k
    def value(self): return self._v
    def error(self): return None
    def timestamp(self): return (0, -1)  # TIMESTAMP_NOT_AVAILABLE: the store falls back to its clock


def store() -> ViewStore:
    return ViewStore(SimpleNamespace(request_timeout_s=1.0), prefix="p")


TOPIC = view_topic("licensing_throughput", "p")


def test_rows_last_per_key_tombstones_and_iso_timestamps():
    s = store()
    when = datetime(2025, 1, 1, 7, tzinfo=timezone.utc)
    decode = lambda data, topic: SimpleNamespace(value={"region_code": "32.01", "n": data[0], "at": when})  # noqa: E731
    assert s._apply(Msg(TOPIC, 0, 0, b"32.01|2025-01-01", b"\x01"), decode)
    assert s._apply(Msg(TOPIC, 0, 1, b"32.01|2025-01-01", b"\x02"), decode)
    assert s._apply(Msg(TOPIC, 1, 0, b"32.02|2025-01-01", b"\x03"), decode)
    assert s.rows("licensing_throughput") == [
        {"region_code": "32.01", "n": 2, "at": "2025-01-01T07:00:00.000Z"},
        {"region_code": "32.01", "n": 3, "at": "2025-01-01T07:00:00.000Z"},
    ]
    assert s._apply(Msg(TOPIC, 1, 1, b"32.02|2025-01-01", None), decode)
    assert [r["n"] for r in s.rows("licensing_throughput")] == [2]


def test_undecodable_records_are_counted_and_registry_outages_retried():
    s = store()

    def bad(data, topic):
        raise AvroDecodeError("trailing bytes")

    def down(data, topic):
        raise RegistryError("connection refused")

    assert s._apply(Msg(TOPIC, 0, 5, b"k", b"x"), bad) is True
    status = s.status()
    assert (status["decode_errors"], status["last_decode_error"]) == (1, "p.egov.view.licensing_throughput[0]@5: AvroDecodeError: trailing bytes")
    assert s._apply(Msg(TOPIC, 0, 6, b"k", b"x"), down) is False
    assert s.status()["decode_errors"] == 1 and "connection refused" in s.status()["error"]


def test_rewind_seeks_each_partition_to_its_first_unapplied_record():
    seeks = []
    consumer = SimpleNamespace(seek=lambda tp: seeks.append((tp.topic, tp.partition, tp.offset)))
    ViewStore._rewind(consumer, [Msg(TOPIC, 0, 7, b"k", b""), Msg(TOPIC, 2, 3, b"k", b""), Msg(TOPIC, 0, 8, b"k", b"")])
    assert seeks == [(TOPIC, 0, 7), (TOPIC, 2, 3)]


def test_ready_once_every_partition_reached_its_end_at_start():
    s = store()
    s._pending = {(TOPIC, 0): 3, (TOPIC, 1): 1}
    s._caught_up_to(TOPIC, 0, 2)
    s._caught_up_to(TOPIC, 1, 1)
    assert not s.ready
    s._caught_up_to(TOPIC, 0, 3)
    assert s.ready and s.wait_ready(0)
