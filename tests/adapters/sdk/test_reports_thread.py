"""The reports thread of a ``confirm=True`` publisher (servers), broker-free (a fake producer).

``submit`` callers wait in no thread: the gateway awaits a future completed from ``on_done``. The
publisher's reports thread serves the delivery reports as they arrive, so ``on_done`` runs without
anybody calling ``publish_many_acked``/``flush``. A default publisher (the SDK's streaming hot
path) has no such thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from pydantic import SecretStr

from adapters.sdk import ACKED, SPOOLED, Publisher, Waiter
from adapters.simulator import generate_events
from bus.settings import load_settings
from tests.adapters.sdk.fakes import FakeBroker
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., tuple[Publisher, FakeBroker]]]:
    settings = load_settings(env_file=None, spool_dir=str(tmp_path / "spool"), delivery_timeout_s=5,
                             request_timeout_s=2, pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY), schema_auto_register=True)
    registry = MockSchemaRegistryClient({"url": "mock://reports-thread"})
    made: list[Publisher] = []

    def factory(**options: Any) -> tuple[Publisher, FakeBroker]:
        broker = FakeBroker()
        publisher = Publisher(settings, registry=registry, producer_factory=broker.factory(),
                              probe_interval_s=0.01, max_backoff_s=0.05, **options)
        made.append(publisher)
        return publisher, broker

    yield factory
    for publisher in made:
        publisher.close(timeout=2)


def events(n: int) -> list[Any]:
    return list(generate_events(5, n, regions="32.01", themes="complaints"))


def reports_threads(component: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"egov-reports-{component}"]


class Done:
    """What an ``on_done`` saw: the waiter and the thread it ran on."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.thread = ""
        self.waiter: Waiter | None = None

    def __call__(self, waiter: Waiter) -> None:
        self.thread, self.waiter = threading.current_thread().name, waiter
        self.event.set()


def test_submit_resolves_from_the_reports_thread_without_anybody_waiting(make) -> None:
    publisher, broker = make(confirm=True, component="server")
    batch = events(5)
    done = Done()
    waiter = publisher.submit(batch, on_done=done)
    assert done.event.wait(5)  # nobody polls but the reports thread
    assert done.thread == "egov-reports-server" and done.waiter is waiter
    assert [r.outcome for r in waiter.results] == [ACKED] * 5
    assert [r.event_id for r in waiter.results] == [e.event_id for e in batch]
    assert len(broker.values()) == 5


def test_concurrent_submits_each_resolve_on_their_own(make) -> None:
    publisher, _broker = make(confirm=True, component="many")
    dones = [Done() for _ in range(20)]
    waiters = [publisher.submit(events(3), on_done=done) for done in dones]
    assert all(done.event.wait(5) for done in dones)
    assert [done.waiter for done in dones] == waiters
    assert {r.outcome for w in waiters for r in w.results} == {ACKED}


def test_submit_while_the_broker_is_away_resolves_spooled(make) -> None:
    publisher, broker = make(confirm=True, component="away")
    broker.go_down(report=False)
    done = Done()
    publisher.submit(events(2), on_done=done)
    broker.producers[0].fail_in_flight(KafkaError._MSG_TIMED_OUT)  # away past the delivery timeout
    assert done.event.wait(5)
    assert {r.outcome for r in done.waiter.results} == {SPOOLED}  # type: ignore[union-attr]


def test_only_confirming_publishers_have_a_reports_thread_and_close_stops_it(make) -> None:
    streaming, _ = make(component="streaming")
    server, _ = make(confirm=True, component="confirming")
    assert reports_threads("streaming") == []  # the SDK's hot path is as before: no extra thread
    [thread] = reports_threads("confirming")
    streaming.close()
    server.close()
    assert not thread.is_alive()
