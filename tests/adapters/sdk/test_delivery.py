"""The delivery tracker and its waiters, broker-free."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError

from adapters.sdk.delivery import (ACKED, FAILED, SPOOLED, DeliveryTracker, PublishResult, TakenBack, Waiter,
                                   retriable)
from adapters.sdk.exceptions import PublishFailedError
from adapters.spool import SpoolError, SpoolRecord


class Counter:
    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount


def fake_codec(name: str = "BudgetAllocated") -> SimpleNamespace:
    return SimpleNamespace(acked=Counter(), spooled=Counter(), failed=Counter(), unsettled=0, failed_unsettled=0,
                           event_type=SimpleNamespace(name=name))


def taken(seq: int, waiter: Waiter | None, index: int, codec: SimpleNamespace) -> TakenBack:
    record = SpoolRecord(seq, "t", b"32.01", b"v", [("ce_id", f"id-{seq}".encode())], "budgeting", 1.0)
    return TakenBack(record, waiter, index, codec)


def test_a_waiter_resolves_each_event_once_and_is_done_after_the_last() -> None:
    done = []
    waiter = Waiter(["a", "b", "c"], on_done=done.append)
    waiter.resolve(1, SPOOLED)
    waiter.resolve(1, ACKED)  # a second report of the same event: the first outcome wins
    assert not waiter.done.is_set() and waiter.left == 2
    waiter.resolve(0, FAILED, "MSG_SIZE_TOO_LARGE")
    waiter.resolve_rest(ACKED)
    assert waiter.results == [PublishResult("a", FAILED, "MSG_SIZE_TOO_LARGE"), PublishResult("b", SPOOLED),
                              PublishResult("c", ACKED)]
    assert waiter.wait(0) and done == [waiter]
    waiter.resolve(2, FAILED)  # a report arriving after the call returned: harmless
    waiter.resolve_rest(FAILED)
    assert waiter.results[2] == PublishResult("c", ACKED) and done == [waiter]


def test_an_empty_call_is_done_at_once() -> None:
    done = []
    assert Waiter([], on_done=done.append).wait(0) and len(done) == 1


def test_concurrent_calls_each_wait_for_their_own_events_only() -> None:
    tracker = DeliveryTracker()
    codec = fake_codec()
    first, second = tracker.waiter(["a1", "a2"]), tracker.waiter(["b1"])
    tracker.acked(codec, second, 0)  # the second call's report arrives first
    assert second.wait(0) and not first.wait(0)
    resolver = threading.Thread(target=lambda: (tracker.acked(codec, first, 0), tracker.acked(codec, first, 1)))
    resolver.start()
    assert first.wait(5)  # resolved from another thread, as librdkafka's callbacks are
    resolver.join()
    assert [r.outcome for r in first.results] == [ACKED, ACKED] and codec.acked.value == 3


def test_a_refused_event_fails_its_call_and_the_next_flush_with_a_count() -> None:
    tracker = DeliveryTracker()
    codec = fake_codec()
    waiter = tracker.waiter(["a", "b"])
    tracker.failed(codec, waiter, 0, "a", "MSG_SIZE_TOO_LARGE: too large")
    tracker.failed(codec, None, 0, "x", "MSG_SIZE_TOO_LARGE: too large")
    assert waiter.results[0] == PublishResult("a", FAILED, "MSG_SIZE_TOO_LARGE: too large")
    error = tracker.pop_error()
    assert isinstance(error, PublishFailedError)
    assert error.fields == {"event_id": "a", "event_type": "BudgetAllocated", "count": 2}
    assert "event a (BudgetAllocated) not published: MSG_SIZE_TOO_LARGE" in error.message
    assert tracker.pop_error() is None and codec.failed.value == 2


def test_taken_back_records_are_spooled_in_report_order_and_their_callers_hear_spooled() -> None:
    tracker = DeliveryTracker()
    codec = fake_codec()
    waiter = tracker.waiter(["a", "b"])
    tracker.take_back(taken(7, waiter, 1, codec))
    tracker.take_back(taken(8, waiter, 0, codec))
    assert tracker.pending_take_backs() == 2
    put = []
    seen_pending = []

    def spool_put(records: list[SpoolRecord]) -> None:
        seen_pending.append(tracker.pending_take_backs())  # still pending while being written
        put.extend(records)

    assert tracker.spool_taken_back(spool_put) == 2
    assert [r.seq for r in put] == [7, 8] and seen_pending == [2]
    assert [r.outcome for r in waiter.results] == [SPOOLED, SPOOLED] and codec.spooled.value == 2
    assert tracker.pending_take_backs() == 0 and tracker.spool_taken_back(spool_put) == 0


def test_taken_back_records_the_spool_cannot_take_fail_loudly() -> None:
    tracker = DeliveryTracker()
    codec = fake_codec()
    waiter = tracker.waiter(["a"])
    tracker.take_back(taken(7, waiter, 0, codec))

    def disk_full(_records: list[SpoolRecord]) -> None:
        raise SpoolError("could not write to spool: disk full")

    tracker.spool_taken_back(disk_full)
    assert waiter.results == [PublishResult("a", FAILED, "could not spool after a failed send: could not write to "
                                                         "spool: disk full")]
    assert tracker.pop_error().fields["event_id"] == "id-7"
    assert tracker.pending_take_backs() == 0


def test_any_spool_failure_is_reported_and_leaves_nothing_pending() -> None:
    tracker = DeliveryTracker()
    waiter = tracker.waiter(["a"])
    tracker.take_back(taken(7, waiter, 0, fake_codec()))

    def closed(_records: list[SpoolRecord]) -> None:
        raise ValueError("Cannot operate on a closed database.")

    assert tracker.spool_taken_back(closed) == 1
    assert waiter.results[0].outcome == FAILED and "closed database" in waiter.results[0].error
    assert tracker.pending_take_backs() == 0 and tracker.pop_error().fields["count"] == 1


def test_settle_counts_implicit_acks_and_resolves_their_waiters() -> None:
    tracker = DeliveryTracker()
    budget, complaint = fake_codec(), fake_codec("ComplaintReceived")
    budget.unsettled, budget.failed_unsettled, complaint.unsettled = 5, 0, 3
    tracker.report_failed(complaint)
    waiter = tracker.waiter(["a", "b", "c"])
    tracker.failed(complaint, waiter, 2, "c", "refused")
    tracker.expect_implicit(waiter)
    tracker.settle([budget, complaint])
    assert (budget.acked.value, complaint.acked.value) == (5, 2)
    assert (budget.unsettled, complaint.unsettled, complaint.failed_unsettled) == (0, 0, 0)
    assert [r.outcome for r in waiter.results] == [ACKED, ACKED, FAILED]
    tracker.settle([budget])  # nothing new: nothing counted twice
    assert budget.acked.value == 5


@pytest.mark.parametrize(("code", "expected"), [
    (KafkaError._MSG_TIMED_OUT, True),
    (KafkaError._PURGE_QUEUE, True),
    (KafkaError._ALL_BROKERS_DOWN, True),
    (KafkaError.NOT_LEADER_FOR_PARTITION, True),
    (KafkaError.MSG_SIZE_TOO_LARGE, False),
    (KafkaError.TOPIC_AUTHORIZATION_FAILED, False),
    (KafkaError.POLICY_VIOLATION, False),
])
def test_which_errors_are_worth_a_retry(code: int, expected: bool) -> None:
    assert retriable(KafkaError(code)) is expected


def test_an_error_without_a_code_is_retried() -> None:
    assert retriable(None) is True
