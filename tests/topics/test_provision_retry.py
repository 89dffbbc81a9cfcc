"""Provisioning's retries (unit, a fake AdminClient): describe retries retriable errors under the policy, within the timeout."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import pytest
from confluent_kafka import KafkaError, KafkaException

from topics.exceptions import ProvisioningError
from topics.provision import ADMIN_RETRY, _await, _describe


@dataclass
class _Entry:
    value: str


def _done(result: object) -> Future:
    fut: Future = Future()
    if isinstance(result, BaseException):
        fut.set_exception(result)
    else:
        fut.set_result(result)
    return fut


_UNKNOWN = KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, "not yet known", retriable=True))
_DENIED = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "denied"))


class _Admin:
    """Answers describe_configs from a script: one {topic: result} dict per call."""

    def __init__(self, answers: list[dict[str, object]]) -> None:
        self.answers = list(answers)
        self.asked: list[list[str]] = []

    def describe_configs(self, resources, request_timeout):
        # The last answer repeats: a broker that keeps saying the same.
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        self.asked.append([r.name for r in resources])
        return {r: _done(answer[r.name]) for r in resources}


def test_a_topic_not_yet_known_is_described_again_alone_after_a_policy_delay() -> None:
    admin = _Admin([
        {"a": {"cleanup.policy": _Entry("delete")}, "b": _UNKNOWN},
        {"b": _UNKNOWN},
        {"b": {"cleanup.policy": _Entry("compact")}},
    ])
    slept: list[float] = []
    configs = _describe(admin, ["a", "b"], 10.0, sleep=slept.append)
    assert configs == {"a": {"cleanup.policy": "delete"}, "b": {"cleanup.policy": "compact"}}
    assert admin.asked == [["a", "b"], ["b"], ["b"]]
    assert len(slept) == 2
    assert all(ADMIN_RETRY.floor_s <= s <= bound for s, bound in zip(slept, (0.05, 0.1)))


def test_a_non_retriable_error_is_not_retried() -> None:
    admin = _Admin([{"a": _DENIED}])
    with pytest.raises(ProvisioningError, match="describing a: ") as caught:
        _describe(admin, ["a"], 10.0, sleep=lambda s: pytest.fail("slept"))
    assert caught.value.fields == {"topic": "a"}
    assert len(admin.asked) == 1


def test_still_unknown_when_the_timeout_is_over_is_a_provisioning_error_naming_the_topic() -> None:
    admin = _Admin([{"b": _UNKNOWN}])
    with pytest.raises(ProvisioningError, match="describing b: .*not yet known") as caught:
        _describe(admin, ["b"], 0.05, sleep=lambda s: None)
    assert type(caught.value) is ProvisioningError
    assert caught.value.fields == {"topic": "b"}
    assert len(admin.asked) >= 1


def test_nothing_to_describe_asks_nothing() -> None:
    admin = _Admin([])
    assert _describe(admin, [], 1.0) == {}
    assert admin.asked == []


def test_await_returns_when_the_condition_holds_and_names_what_it_waited_for_on_timeout() -> None:
    answers = iter([False, True])
    _await(lambda: next(answers), 5.0, "new topics to appear")
    with pytest.raises(ProvisioningError, match=r"timed out after 0.01s waiting for new topics to appear"):
        _await(lambda: False, 0.01, "new topics to appear")


def test_a_future_without_an_answer_in_time_is_a_provisioning_error() -> None:
    from topics.provision import _wait

    pending: Future = Future()  # never completed: the broker did not answer
    with pytest.raises(ProvisioningError, match=r"describing t: no answer within 0.01s \(TimeoutError"):
        _wait({"t": pending}, 0.01, "describing")
    assert _wait({"t": _done(_DENIED)}, 0.01, "describing") == {"t": _DENIED}
