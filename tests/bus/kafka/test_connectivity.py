"""Classification of librdkafka errors, their one-line messages, and the de-duplicating logger."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import KafkaError, KafkaException

from bus.kafka import connectivity
from bus.kafka.connectivity import ClientWatch, Problem, classify, connection_error, explain, instrument
from bus.kafka.exceptions import (
    BrokerUnavailableError,
    KafkaAuthenticationError,
    KafkaAuthorizationError,
    KafkaTlsError,
)
from bus.settings import load_settings

PASSWORD = "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("EGOV_"):
            monkeypatch.delenv(key)


@pytest.fixture
def sasl():
    return load_settings(env_file=None, bootstrap_servers="10.1.2.3:9093", security_protocol="SASL_SSL",
                         sasl_mechanism="SCRAM-SHA-512", sasl_username="region-32.01", sasl_password=PASSWORD)


@pytest.fixture
def plain():
    return load_settings(env_file=None, bootstrap_servers="127.0.0.1:9092")


SASL_LINE = ("sasl_ssl://10.1.2.3:9093/bootstrap: SASL authentication error: Authentication failed during "
             "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 312ms in state AUTH_REQ)")
TLS_LINE = ("sasl_ssl://10.1.2.3:9093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate "
            "verify failed: broker certificate could not be verified (after 3ms in state SSL_HANDSHAKE)")
REFUSED_LINE = "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after 0ms in state CONNECT)"
PROTOCOL_LINE = ("127.0.0.1:9092/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN "
                 "(after 1ms in state APIVERSION_QUERY)")


@pytest.mark.parametrize(("code", "text", "problem"), [
    (KafkaError._TRANSPORT, REFUSED_LINE, Problem.UNREACHABLE),
    (KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down", Problem.UNREACHABLE),
    (KafkaError._RESOLVE, "Failed to resolve 'kafka:9092'", Problem.UNREACHABLE),
    (KafkaError._TIMED_OUT, "Failed to get metadata: Local: Timed out", Problem.UNREACHABLE),
    (KafkaError._AUTHENTICATION, SASL_LINE, Problem.AUTHENTICATION),
    (KafkaError._SSL, TLS_LINE, Problem.TLS),
    # librdkafka reports some TLS failures as plain transport errors: the text tells.
    (KafkaError._TRANSPORT, "sasl_ssl://h:1/bootstrap: error:0A000086:SSL routines::certificate verify failed", Problem.TLS),
    (KafkaError.TOPIC_AUTHORIZATION_FAILED, "Broker: Topic authorization failed", Problem.AUTHORIZATION),
    (KafkaError.GROUP_AUTHORIZATION_FAILED, "Broker: Group authorization failed", Problem.AUTHORIZATION),
    (KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "x", Problem.AUTHORIZATION),
    (KafkaError.CLUSTER_AUTHORIZATION_FAILED, "x", Problem.AUTHORIZATION),
    (KafkaError._PARTITION_EOF, "eof", None),
    (KafkaError.MSG_SIZE_TOO_LARGE, "too large", None),
])
def test_classify_errors(code: int, text: str, problem: Problem | None) -> None:
    assert classify(KafkaError(code, text)) is problem


def test_classify_log_lines() -> None:
    assert classify(None, f"FAIL [rdkafka#producer-1] [thrd:x]: {SASL_LINE}") is Problem.AUTHENTICATION
    assert classify(None, TLS_LINE) is Problem.TLS
    assert classify(None, PROTOCOL_LINE) is Problem.PROTOCOL
    assert classify(None, REFUSED_LINE) is None  # a log line alone does not say the broker is gone


def test_messages_name_broker_and_principal_never_the_password(sasl, plain) -> None:
    auth = connection_error(sasl, Problem.AUTHENTICATION, SASL_LINE, code="_AUTHENTICATION")
    assert isinstance(auth, KafkaAuthenticationError)
    assert str(auth) == ("Kafka at 10.1.2.3:9093 refused user region-32.01: SASL authentication failed (unknown user "
                         "or wrong password) — check EGOV_SASL_USERNAME / EGOV_SASL_PASSWORD")
    down = connection_error(plain, Problem.UNREACHABLE, REFUSED_LINE, timeout=10)
    assert isinstance(down, BrokerUnavailableError)
    assert str(down) == ("cannot reach Kafka at 127.0.0.1:9092 within 10 s (connecting with no credentials "
                         "(PLAINTEXT): Connection refused) — is the stack up? egov-bus dev up")
    tls = connection_error(sasl, Problem.TLS, TLS_LINE)
    assert isinstance(tls, KafkaTlsError)
    assert str(tls).startswith("TLS handshake with Kafka at 10.1.2.3:9093 failed for user region-32.01: the broker's "
                               "certificate could not be verified (certificate verify failed) — check EGOV_SSL_CA_LOCATION")
    denied = connection_error(sasl, Problem.AUTHORIZATION, "Broker: Topic authorization failed",
                              code="TOPIC_AUTHORIZATION_FAILED")
    assert isinstance(denied, KafkaAuthorizationError)
    assert str(denied).startswith("Kafka at 10.1.2.3:9093 refused user region-32.01: not authorized "
                                  "(Broker: Topic authorization failed) — ")
    assert denied.fields == {"broker": "10.1.2.3:9093", "principal": "user region-32.01", "problem": "authorization",
                             "code": "TOPIC_AUTHORIZATION_FAILED"}
    # Should a librdkafka text ever carry the password, it is blanked.
    leaked = connection_error(sasl, Problem.TLS, f"handshake with {PASSWORD} failed")
    assert PASSWORD not in str(leaked) and "***" in str(leaked)
    for error in (auth, down, tls, denied):
        assert "\n" not in str(error) and PASSWORD not in str(error)


def test_explain_prefers_what_the_watch_saw(sasl) -> None:
    watch = ClientWatch(sasl)
    watch(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    watch(KafkaError(KafkaError._AUTHENTICATION, SASL_LINE))
    watch(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))  # a later, vaguer one does not win
    exc = KafkaException(KafkaError(KafkaError._TRANSPORT, "Failed to get metadata: Local: Broker transport failure"))
    assert isinstance(explain(sasl, exc, watch), KafkaAuthenticationError)
    assert isinstance(explain(sasl, exc), BrokerUnavailableError)
    other = explain(sasl, KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "too large")))
    assert type(other).__name__ == "KafkaClientError" and "10.1.2.3:9093" in str(other)


def test_instrument_keeps_the_callers_error_cb_and_logger(sasl) -> None:
    seen: list[KafkaError] = []
    mine = logging.getLogger("egov.test.mine")
    conf = instrument(sasl, {"error_cb": seen.append, "logger": mine})
    watch = conf["error_cb"]
    assert isinstance(watch, ClientWatch) and conf["logger"] is watch and watch.target is mine
    err = KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED, "Broker: Group authorization failed")
    watch(err)
    assert seen == [err] and watch.refused is err and watch.problem[0] is Problem.AUTHORIZATION
    assert isinstance(sasl.librdkafka_config()["error_cb"], ClientWatch)
    assert isinstance(sasl.librdkafka_config()["logger"], ClientWatch)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_repeated_lines_are_logged_once_per_window_with_a_count(plain, caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    watch = ClientWatch(plain, window=30.0, clock=clock)
    caplog.set_level(logging.DEBUG, logger="egov.librdkafka")
    for ms in range(5):  # the same line, its timing differing
        watch.log(logging.ERROR, "%s [%s] %s", "FAIL", "rdkafka#producer-1",
                  REFUSED_LINE.replace("after 0ms", f"after {ms}ms"))
        clock.now += 1
    watch.log(logging.WARNING, "%s [%s] %s", "OTHER", "rdkafka#producer-1", "something else")
    clock.now += 30
    watch.log(logging.ERROR, "%s [%s] %s", "FAIL", "rdkafka#producer-1", REFUSED_LINE)
    lines = [r.getMessage() for r in caplog.records if r.name == "egov.librdkafka"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "egov.librdkafka")
    assert len(lines) == 3, lines
    assert lines[0] == f"librdkafka: FAIL [rdkafka#producer-1] {REFUSED_LINE}"
    assert lines[1] == "librdkafka: OTHER [rdkafka#producer-1] something else"
    assert lines[2] == f"librdkafka: FAIL [rdkafka#producer-1] {REFUSED_LINE} (and 4 more like it in 35 s)"


def test_log_lines_feed_the_classification_even_when_debug_is_off(sasl) -> None:
    watch = ClientWatch(sasl)
    watch.log(logging.ERROR, "%s [%s] %s", "FAIL", "rdkafka#producer-1", SASL_LINE)
    assert watch.problem is not None and watch.problem[0] is Problem.AUTHENTICATION
    watch.log(logging.DEBUG, "%s [%s] %s", "BROKER", "rdkafka#producer-1", "Authentication failed debug chatter")
    assert watch.problem[0] is Problem.AUTHENTICATION


def test_an_outage_is_logged_once_and_its_end_once(plain, caplog: pytest.LogCaptureFixture) -> None:
    log = connectivity.OutageLog(logging.getLogger("egov.test.outage"))
    caplog.set_level(logging.INFO, logger="egov.test.outage")
    log.down(plain, REFUSED_LINE)  # not enabled: a command fails instead of logging
    assert not caplog.records
    log.enable()
    for _ in range(3):
        log.down(plain, REFUSED_LINE)
    log.up(plain)
    log.up(plain)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0] == ("lost Kafka at 127.0.0.1:9092 (Connection refused); retrying, the end of the outage "
                           "will be logged")
    assert messages[1].startswith("Kafka at 127.0.0.1:9092 is back after ")
