"""The spool forwarder against a fake producer and a real (local SQLite) spool."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from prometheus_client import REGISTRY

from adapters.sdk.forwarder import ForwardResult, SpoolForwarder
from adapters.spool import Spool, SpoolRecord
from tests.adapters.sdk.fakes import FakeBroker, FakeProducer


def record(seq: int, topic: str = "egov.complaints.events") -> SpoolRecord:
    return SpoolRecord(seq, topic, b"32.01", b"value-%d" % seq, [("ce_id", f"id-{seq}".encode())], "complaints",
                       1000.0 + seq)


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    with Spool(tmp_path / "fwd.sqlite", 1000) as store:
        store.put([record(seq) for seq in (3, 1, 2, 5, 4)])
        yield store


def forwarder(spool: Spool, broker: FakeBroker, batch: int = 1000) -> tuple[SpoolForwarder, list[FakeProducer]]:
    made: list[FakeProducer] = []
    make = broker.factory()

    def factory(error_cb):
        made.append(make(error_cb))
        return made[-1]

    return SpoolForwarder(spool, factory, batch=batch, delivery_timeout_s=1.0), made


def acked_counter(outcome: str = "acked") -> float:
    return REGISTRY.get_sample_value("egov_publisher_events_published_total",
                                     {"theme": "complaints", "outcome": outcome}) or 0.0


def test_a_batch_goes_out_oldest_first_and_leaves_the_spool(spool: Spool) -> None:
    broker = FakeBroker()
    fwd, made = forwarder(spool, broker, batch=3)
    before = acked_counter()
    assert fwd.forward() == ForwardResult(3, 0, 3)
    assert broker.values() == [b"value-1", b"value-2", b"value-3"]
    assert [r.seq for r in spool.peek(10)] == [4, 5]
    assert fwd.forward() == ForwardResult(2, 0, 2)
    assert spool.depth == 0 and fwd.forward() == ForwardResult(0, 0, 0)
    assert acked_counter() == before + 5
    assert len(made) == 1  # one producer, made on first use
    assert broker.acked[0][3] == [("ce_id", b"id-1")]  # headers as spooled


def test_no_producer_until_there_is_something_to_send(tmp_path: Path) -> None:
    with Spool(tmp_path / "empty.sqlite", 10) as empty:
        fwd, made = forwarder(empty, FakeBroker())
        assert fwd.forward() == ForwardResult(0, 0, 0) and made == []


def test_probe_fails_nothing_is_sent(spool: Spool) -> None:
    broker = FakeBroker(up=False)
    fwd, made = forwarder(spool, broker)
    result = fwd.forward()
    assert not result.complete and result.reason.startswith("probe: ") and result.acked == 0
    assert made[0].produced == 0 and spool.depth == 5


def test_a_missing_topic_fails_the_probe(spool: Spool) -> None:
    broker = FakeBroker(missing={"egov.complaints.events"})
    fwd, _ = forwarder(spool, broker)
    assert "UNKNOWN_TOPIC_OR_PART" in fwd.forward().reason and spool.depth == 5


def test_a_record_refused_for_good_is_settled_the_rest_sent(tmp_path: Path) -> None:
    with Spool(tmp_path / "mixed.sqlite", 100) as store:
        store.put([record(1), record(2, topic="egov.small"), record(3)])
        broker = FakeBroker(refuse={"egov.small": KafkaError.MSG_SIZE_TOO_LARGE})
        fwd, _ = forwarder(store, broker)
        failed_before = acked_counter("failed")
        assert fwd.forward() == ForwardResult(2, 1, 3)
        assert store.depth == 0 and broker.values() == [b"value-1", b"value-3"]
        assert acked_counter("failed") == failed_before + 1


def test_a_retriable_failure_mid_batch_keeps_that_record_and_reports_incomplete(tmp_path: Path) -> None:
    with Spool(tmp_path / "retry.sqlite", 100) as store:
        store.put([record(1), record(2, topic="egov.leaderless"), record(3)])
        broker = FakeBroker(refuse={"egov.leaderless": KafkaError.NOT_LEADER_FOR_PARTITION})
        fwd, _ = forwarder(store, broker)
        result = fwd.forward()
        assert (result.acked, result.settled, result.batch) == (2, 0, 3)
        assert result.reason.startswith("NOT_LEADER_FOR_PARTITION")
        assert [r.seq for r in store.peek(10)] == [2]  # only the failed one stays, under its sequence number


def test_produce_refused_stops_the_batch(spool: Spool) -> None:
    broker = FakeBroker()
    fwd, _ = forwarder(spool, broker)
    fwd.producer.produce_error = KafkaException(KafkaError(KafkaError._UNKNOWN_TOPIC))
    result = fwd.forward()
    assert not result.complete and "Unknown topic" in result.reason and spool.depth == 5


def test_a_lost_link_during_a_drain_purges_nothing_and_each_record_is_acknowledged_once(spool: Spool) -> None:
    broker = FakeBroker()
    lost: list[KafkaError] = []
    fwd: SpoolForwarder

    def on_error(err: KafkaError) -> None:  # served by the forwarder's own flush, while it waits
        lost.append(err)
        fwd.on_error(err)
        broker.come_back()  # the link returns while the batch is still in flight

    made: list[FakeProducer] = []
    make = broker.factory()
    fwd = SpoolForwarder(spool, lambda cb: made.append(make(cb)) or made[-1], delivery_timeout_s=1.0,
                         on_error=on_error)
    producer = fwd.producer
    # The probe answers and the batch is produced, then every broker goes away.
    producer.after_produce = lambda count: broker.go_down() if count == 5 else None
    assert fwd.forward() == ForwardResult(5, 0, 5)
    assert [e.code() for e in lost] == [KafkaError._ALL_BROKERS_DOWN]
    assert producer.purges == 0, "a purged record could not be told apart from one never sent"
    assert [v for v in broker.values()] == [b"value-%d" % seq for seq in (1, 2, 3, 4, 5)]
    assert spool.depth == 0


def test_stop_interrupts_the_batch(spool: Spool) -> None:
    broker = FakeBroker()
    fwd, _ = forwarder(spool, broker)
    stop = threading.Event()

    def close_meanwhile(count: int) -> None:
        if count == 5:  # the batch is out, the broker silent (records stay in flight), close() begins
            broker.go_down(report=False)
            stop.set()

    fwd.producer.after_produce = close_meanwhile
    assert fwd.forward(stop) == ForwardResult(0, 0, 5, "interrupted") and spool.depth == 5


def test_close_drops_what_its_producer_holds(spool: Spool) -> None:
    broker = FakeBroker()
    fwd, _ = forwarder(spool, broker)
    producer = fwd.producer
    producer.produce("t", b"v", b"k")
    broker.go_down(report=False)
    fwd.close()
    assert len(producer) == 0 and producer.purges == 1 and spool.depth == 5
