"""A consumer's fatal error ends the stream loop instead of being logged and skipped."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from processors.kafka.exceptions import EngineKafkaError
from processors.stream import StreamLoop


class _Msg:
    def __init__(self, err: KafkaError) -> None:
        self._err = err

    def error(self) -> KafkaError:
        return self._err


class _Loop:
    """Only what ``_run_records`` touches before it raises."""

    owned: set = set()


def test_a_fenced_static_consumer_ends_the_loop() -> None:
    # librdkafka's message-level form of its fatal consumer error: code _FATAL, fatal() false.
    err = KafkaError(KafkaError._FATAL, "Fatal error: Broker: Static consumer fenced by other consumer with same "
                     "group.instance.id")
    assert not err.fatal()
    with pytest.raises(EngineKafkaError, match="Static consumer fenced"):
        StreamLoop._run_records(_Loop(), None, [_Msg(err)])  # type: ignore[arg-type]


def test_the_end_of_a_partition_is_no_error() -> None:
    loop = _Loop()
    loop.store = None  # never reached: nothing to process
    loop.checkpointer = None
    StreamLoop._run_records(loop, None, [_Msg(KafkaError(KafkaError._PARTITION_EOF))])  # type: ignore[arg-type]
