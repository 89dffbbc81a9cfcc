"""With no broker listening, calls fail within their timeout with a typed error."""

from __future__ import annotations

import time

import pytest

from devtools.devstack.process import free_port
from bus.kafka import BrokerUnavailableError, DeliveryTimeoutError, EgovConsumer, EgovProducer
from bus.settings import load_settings


@pytest.fixture
def dead_broker_settings(monkeypatch: pytest.MonkeyPatch):
    for key in ("EGOV_BOOTSTRAP_SERVERS", "EGOV_SCHEMA_REGISTRY_URL"):
        monkeypatch.delenv(key, raising=False)
    return load_settings(
        env_file=None,
        bootstrap_servers=f"127.0.0.1:{free_port()}",
        request_timeout_s=2,
        delivery_timeout_s=3,
    )


def test_produce_and_flush_fail_within_delivery_timeout(dead_broker_settings) -> None:
    producer = EgovProducer(dead_broker_settings, log_level=0)
    producer.produce("egov.test.events", b"\x00\x00\x00\x00\x01x", key="32")
    started = time.monotonic()
    with pytest.raises(DeliveryTimeoutError) as info:
        producer.flush(timeout=10)
    assert time.monotonic() - started < 10
    assert info.value.retriable


def test_check_connection_fails_within_timeout(dead_broker_settings) -> None:
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="no broker"):
        EgovProducer(dead_broker_settings, log_level=0).check_connection(timeout=2)
    assert time.monotonic() - started < 5


def test_consumer_fails_within_timeout(dead_broker_settings) -> None:
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError):
        EgovConsumer(dead_broker_settings, "g", ["egov.test.events"], log_level=0)
    assert time.monotonic() - started < 5
