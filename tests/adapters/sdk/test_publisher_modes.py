"""The publisher facade through every mode transition, broker-free (a fake producer, a real local spool).

The background loop runs as in production; a test waits for what it does with
a bounded condition wait (``drain``, :func:`until`), never a fixed sleep.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from adapters.sdk import ACKED, FAILED, SPOOLED, Publisher, PublisherClosedError, PublishFailedError, PublishResult
from adapters.sdk.avro_bytes import envelope_of
from adapters.simulator import generate_events
from adapters.spool import Spool, SpoolFullError
from bus.settings import load_settings
from schemas.samples import sample_event
from tests.adapters.sdk.fakes import FakeBroker, FakeProducer
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY

TOPIC = "egov.complaints.events"


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    return load_settings(env_file=None, spool_dir=str(tmp_path / "spool"), delivery_timeout_s=5,
                         request_timeout_s=2, pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY), schema_auto_register=True)


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def make(settings: Any, broker: FakeBroker) -> Iterator[Callable[..., Publisher]]:
    made: list[Publisher] = []
    registry = MockSchemaRegistryClient({"url": "mock://publisher-modes"})

    def factory(**options: Any) -> Publisher:
        options.setdefault("component", f"p{len(made)}")
        publisher = Publisher(options.pop("settings", settings), registry=registry,
                              producer_factory=broker.factory(), probe_interval_s=0.01, max_backoff_s=0.05,
                              **options)
        made.append(publisher)
        return publisher

    yield factory
    for publisher in made:
        try:
            publisher.close(timeout=1)
        except Exception:  # a test that left records undeliverable on purpose
            pass


def events(n: int, seed: int = 3) -> list[Any]:
    return list(generate_events(seed, n, regions="32.01", themes="complaints"))


def ids_sent(broker: FakeBroker) -> list[str]:
    return [envelope_of(value)[0] for value in broker.values()]


def spool_by_timeout(publisher: Publisher, broker: FakeBroker, batch: list) -> None:
    """``batch`` into the spool the way a long outage puts it there: sent, unanswered, timed out."""
    broker.go_down(report=False)
    publisher.publish_many(batch)
    broker.producers[0].fail_in_flight(KafkaError._MSG_TIMED_OUT)
    assert until(lambda: publisher.spool.depth == len(batch)) and publisher.mode == "spooling"


def until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait (bounded) for what the background loop does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.005)
    return True


def published(outcome: str) -> float:
    return REGISTRY.get_sample_value("egov_publisher_events_published_total",
                                     {"theme": "complaints", "outcome": outcome}) or 0.0


@pytest.mark.parametrize("confirm", [False, True])
def test_direct_publishing_is_acknowledged_and_counted(make, broker: FakeBroker, confirm: bool) -> None:
    publisher = make(confirm=confirm)
    batch = events(20)
    before = published(ACKED)
    assert publisher.publish_many(batch[:10]) == [str(e.event_id) for e in batch[:10]]
    publisher.flush()
    results = publisher.publish_many_acked(batch[10:])
    assert results == [PublishResult(str(e.event_id), ACKED) for e in batch[10:]]
    publisher.flush()
    assert ids_sent(broker) == [str(e.event_id) for e in batch]
    assert published(ACKED) == before + 20
    assert publisher.mode == "direct" and publisher.spool.depth == 0 and publisher.in_flight() == 0


def test_publish_and_publish_acked_for_one_event(make, broker: FakeBroker) -> None:
    publisher = make()
    first, second = events(2)
    assert publisher.publish(first) == str(first.event_id)
    assert publisher.publish_acked(second) == PublishResult(str(second.event_id), ACKED)
    publisher.flush()
    assert ids_sent(broker) == [str(first.event_id), str(second.event_id)]


@pytest.mark.parametrize("timed_out", [False, True])
@pytest.mark.parametrize("confirm", [False, True])
def test_a_lost_broker_spools_in_order_then_the_spool_drains_and_direct_resumes(make, broker: FakeBroker,
                                                                                 confirm: bool, timed_out: bool) -> None:
    publisher = make(confirm=confirm)
    batch = events(60)
    broker.go_down(report=False)
    accepted = publisher.publish_many(batch[:30])  # produced, unanswered
    broker.producers[0].raise_error(KafkaError(KafkaError._ALL_BROKERS_DOWN))  # the lost link leaves them there
    assert until(lambda: publisher.mode == "spooling")
    assert publisher.in_flight() == 30 and publisher.spool.depth == 0
    results = publisher.publish_many_acked(batch[30:50])  # spooled behind places reserved for the 30
    assert {r.outcome for r in results} == {SPOOLED} and publisher.spool.depth == 20
    accepted += [r.event_id for r in results]
    if timed_out:
        # The cluster stayed away past the delivery timeout: the 30 fail and take their places ahead.
        broker.producers[0].fail_in_flight(KafkaError._MSG_TIMED_OUT)
        assert until(lambda: publisher.spool.depth == 50)
        assert [envelope_of(r.value)[0] for r in publisher.spool.peek(50)] == accepted
    broker.come_back()  # else the producer's own retries deliver the 30 before the spool drains
    assert publisher.drain(10) == 0
    assert until(lambda: publisher.mode == "direct")
    later = publisher.publish_many_acked(batch[50:])
    assert {r.outcome for r in later} == {ACKED} and publisher.mode == "direct"
    assert ids_sent(broker) == accepted + [r.event_id for r in later]  # acceptance order, nothing twice
    assert broker.producers[0].purges == 0  # nothing in flight was taken back to be sent again


@pytest.mark.parametrize("confirm", [False, True])
def test_the_first_record_back_failed_takes_the_rest_with_it_so_nothing_overtakes_it(make, broker: FakeBroker,
                                                                                     confirm: bool) -> None:
    # The cluster stayed away past the delivery timeout and came back while only the oldest records
    # had timed out: left in the producer, the younger would be delivered before the older are sent
    # again from the spool.
    publisher = make(confirm=confirm)
    batch = events(12)
    broker.go_down(report=False)
    accepted = publisher.publish_many(batch[:8])
    broker.producers[0].raise_error(KafkaError(KafkaError._ALL_BROKERS_DOWN))
    assert until(lambda: publisher.mode == "spooling")
    accepted += [r.event_id for r in publisher.publish_many_acked(batch[8:])]  # behind 8 reserved places
    broker.producers[0].fail_in_flight(KafkaError._MSG_TIMED_OUT, first=3)
    assert until(lambda: publisher.spool.depth == 12)  # the 3, the 5 behind them, the 4 new ones
    assert [envelope_of(r.value)[0] for r in publisher.spool.peek(12)] == accepted
    broker.come_back()
    assert publisher.drain(10) == 0
    assert ids_sent(broker) == accepted  # the 5 younger ones were taken back too: nothing overtook the 3
    assert broker.producers[0].purges >= 1


def test_every_broker_reported_down_while_the_cluster_answers_keeps_the_records_in_the_producer(
        make, broker: FakeBroker) -> None:
    # librdkafka says "all brokers down" when the brokers it was connected to are gone, though in a
    # cluster the others serve: the records stay in the producer (retried once at the new leaders),
    # nothing is taken back into the spool to be sent a second time.
    publisher = make()
    batch = events(10)
    broker.go_down(report=False)  # in flight, unanswered
    publisher.publish_many(batch[:5])
    broker.producers[0].raise_error(KafkaError(KafkaError._ALL_BROKERS_DOWN))
    broker.up = True  # ...but the cluster answers a metadata request
    publisher.publish_many(batch[5:])
    broker.come_back()
    publisher.flush()
    assert ids_sent(broker) == [str(e.event_id) for e in batch]
    assert publisher.mode == "direct" and publisher.spool.depth == 0
    assert broker.producers[0].purges == 0


def test_a_failure_mid_batch_sends_the_rest_behind_it(make, broker: FakeBroker) -> None:
    publisher = make(confirm=True)
    batch = events(5)

    def fail_after_the_second(producer: FakeProducer, count: int) -> None:
        if count == 2:  # both time out; librdkafka's thread serves the reports before the third is sent
            producer.fail_in_flight(KafkaError._MSG_TIMED_OUT)
            producer.poll(0)

    broker.after_produce = fail_after_the_second
    results = publisher.publish_many_acked(batch)
    broker.after_produce = None
    assert [r.outcome for r in results] == [SPOOLED] * 5
    assert [r.event_id for r in results] == [str(e.event_id) for e in batch]
    spooled = [envelope_of(r.value)[0] for r in publisher.spool.peek(10)]
    assert spooled == [str(e.event_id) for e in batch]  # the two taken back go first, the rest behind
    assert publisher.drain(10) == 0
    assert ids_sent(broker) == [str(e.event_id) for e in batch]


def test_a_record_refused_for_good_fails_loudly_and_stays_direct(make, broker: FakeBroker) -> None:
    broker.refuse[TOPIC] = KafkaError.MSG_SIZE_TOO_LARGE
    acked_call = make(confirm=True)
    before = published(FAILED)
    [result] = acked_call.publish_many_acked(events(1))
    assert (result.outcome, result.error) == (FAILED, "MSG_SIZE_TOO_LARGE: Broker: Message size too large")
    streamed = make()
    streamed.publish_many(events(3))  # reported through the producer-wide failure callback
    with pytest.raises(PublishFailedError, match="MSG_SIZE_TOO_LARGE") as info:
        streamed.flush()
    assert info.value.fields["count"] == 3
    with pytest.raises(PublishFailedError) as info:
        acked_call.flush()  # the acked call's refusal is raised by flush too
    assert info.value.fields["count"] == 1
    assert published(FAILED) == before + 4
    for publisher in (acked_call, streamed):
        assert publisher.mode == "direct" and publisher.spool.depth == 0


def test_a_lost_link_during_a_drain_purges_nothing_and_sends_each_event_once(make, broker: FakeBroker) -> None:
    publisher = make(drain_batch=10)
    batch = events(25)
    spool_by_timeout(publisher, broker, batch)
    lost = threading.Event()

    def lose_the_link_mid_batch(producer: FakeProducer, count: int) -> None:
        if producer is not broker.producers[0] and not lost.is_set() and count % 10 == 5:
            lost.set()
            broker.go_down()  # the forwarder's error callback comes with its next poll

    broker.after_produce = lose_the_link_mid_batch
    broker.come_back()
    assert until(lost.is_set)
    forwarder_producer = broker.producers[1]
    broker.after_produce = None
    broker.come_back()  # the batch in flight is retried, not purged
    assert publisher.drain(10) == 0
    assert forwarder_producer.purges == 0
    assert ids_sent(broker) == [str(e.event_id) for e in batch]  # in order, each exactly once


def test_close_while_spooling_keeps_the_spool_and_the_next_run_sends_it_first(make, broker: FakeBroker,
                                                                            settings: Any) -> None:
    publisher = make(component="leftovers")
    batch = events(12)
    broker.go_down(report=False)  # silent: records stay in flight until close purges them
    publisher.publish_many(batch[:4])
    broker.go_down()
    assert until(lambda: publisher.mode == "spooling")
    publisher.publish_many(batch[4:8])  # spooled behind the places reserved for the 4 in flight
    assert publisher.spool.depth == 4
    publisher.close()  # purges the 4: spooled in their places, ahead
    assert publisher.closed and publisher.mode == "spooling"
    with pytest.raises(PublisherClosedError):
        publisher.publish(batch[8])
    with Spool(Path(settings.spool_dir) / "leftovers.sqlite", 100) as spool:
        assert [envelope_of(r.value)[0] for r in spool.peek(100)] == [str(e.event_id) for e in batch[:8]]
    broker.come_back()
    again = make(component="leftovers")
    assert again.mode == "spooling"  # leftovers on disk: spool first
    again.publish_many(batch[8:])
    assert again.drain(10) == 0
    assert ids_sent(broker) == [str(e.event_id) for e in batch]


def test_close_purges_what_is_in_flight_into_the_spool(make, broker: FakeBroker, settings: Any,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    publisher = make(component="inflight")
    broker.go_down(report=False)
    publisher.publish_many(events(3))
    with caplog.at_level(logging.WARNING, logger="egov.adapters.publisher"):
        publisher.close(timeout=0.05)  # with a spool, what is left is spooled, not raised
    assert publisher.closed
    assert "3 record(s) still in flight after 0.05s at close: they are spooled for the next run" in caplog.text
    with Spool(Path(settings.spool_dir) / "inflight.sqlite", 100) as spool:
        assert spool.depth == 3


@pytest.mark.parametrize("late", [ACKED, FAILED])
def test_a_report_arriving_after_close_is_harmless(make, broker: FakeBroker, settings: Any, late: str) -> None:
    publisher = make(confirm=True, component=f"late-{late}")
    broker.go_down(report=False)
    [producer] = broker.producers
    producer.ignore_purge = True  # librdkafka still holds them after close: their reports come late
    waiter = publisher.submit(events(2))
    publisher.close(timeout=0.05)
    assert publisher.closed and not waiter.done.is_set()
    before = published(late)
    if late == ACKED:
        broker.come_back()
    else:
        producer.fail_in_flight(KafkaError._MSG_TIMED_OUT)  # retriable, but the spool is closed now
    producer.poll(0)  # served after close: resolves the waiter, counts, raises nothing
    assert [r.outcome for r in waiter.results] == [late, late]
    assert published(late) == before + 2
    with Spool(Path(settings.spool_dir) / f"late-{late}.sqlite", 100) as spool:
        assert spool.depth == 0  # the closed spool was not written to


def test_a_full_spool_refuses_new_events_while_spooling(make, broker: FakeBroker, settings: Any) -> None:
    publisher = make(settings=settings.model_copy(update={"spool_max_events": 5}))
    spool_by_timeout(publisher, broker, events(5))
    with pytest.raises(SpoolFullError):
        publisher.publish_many_acked(events(1, seed=4))
    assert publisher.spool.depth == 5


def test_without_a_spool_a_lost_broker_fails_what_is_in_flight(make, broker: FakeBroker) -> None:
    publisher = make(spool=None, confirm=True)
    # In flight first, then the loss: reported before the records were sent, the loss would find
    # nothing to purge (the reports thread serves it at once), and the fake has no delivery timeout.
    broker.go_down(report=False)
    waiter = publisher.submit(events(2))
    for producer in broker.producers:
        producer.raise_error(KafkaError(KafkaError._ALL_BROKERS_DOWN))
    assert waiter.wait(10)
    results = list(waiter.results)
    assert [r.outcome for r in results] == [FAILED, FAILED]
    assert results[0].error.startswith("_PURGE_QUEUE")
    assert publisher.mode == "direct" and publisher.spool is None
    assert publisher.drain(1) == 0


def test_submit_resolves_without_a_waiting_caller(make, broker: FakeBroker) -> None:
    # What an asyncio caller needs: the background loop resolves the call, on_done says so.
    for confirm in (False, True):
        publisher = make(confirm=confirm)
        done = threading.Event()
        waiter = publisher.submit(events(3), on_done=lambda _w: done.set())
        assert done.wait(10)
        assert [r.outcome for r in waiter.results] == [ACKED] * 3


def test_a_non_event_is_refused_before_anything_is_sent(make, broker: FakeBroker) -> None:
    publisher = make()
    with pytest.raises(TypeError, match="typed events"):
        publisher.publish_many_acked([*events(1), {"event_type": "ComplaintReceived"}])
    assert broker.producers[0].produced == 0


def test_build_is_the_builders(make) -> None:
    publisher = make()
    event = publisher.build("ComplaintReceived", {"complaint_id": "C-1", "category": "kesehatan", "channel": "web",
                                                  "is_anonymous": False},
                            region_code="32.01", occurred_at="2025-03-01T08:00:00Z")
    assert event.envelope.source_system == publisher.source_system == "egov-bus"
    assert publisher.codec("ComplaintReceived") is publisher.builder.codec("ComplaintReceived")


def test_an_acked_call_times_out_when_nothing_answers(make, broker: FakeBroker) -> None:
    publisher = make(confirm=True)
    broker.go_down(report=False)
    with pytest.raises(Exception, match="neither acknowledged nor spooled within 0.1s") as info:
        publisher.publish_many_acked(events(2), timeout=0.1)
    assert info.value.fields["pending"] == 2


def test_sample_event_types_other_than_complaints_work_too(make, broker: FakeBroker) -> None:
    publisher = make()
    results = publisher.publish_many_acked([sample_event("BudgetAllocated", event_id=None)])
    assert results[0].outcome == ACKED
