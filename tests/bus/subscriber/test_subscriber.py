"""The subscriber against the real broker and registry."""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from adapters.privacy import Pseudonymizer
from adapters.simulator.generator import generate_events
from bus.serde import pack_header
from bus.subscriber import (
    SubscribedEvent,
    Subscriber,
    SubscriberError,
    TopicMissingError,
    Undecodable,
    UnknownThemeError,
)

pytestmark = pytest.mark.integration

PSEUDONYMIZER = Pseudonymizer("test-key-for-subscriber-tests")


def events(theme: str, count: int, seed: int = 7):
    return list(generate_events(seed, count, themes=[theme], pseudonymizer=PSEUDONYMIZER))


def group() -> str:
    return f"test.sub.group.{uuid.uuid4().hex[:10]}"


def read_all(sub: Subscriber, *, mark_done: bool = True, timeout: float = 60):
    """Everything up to the current end (bounded by ``timeout`` seconds of idleness)."""
    out = []
    for item in sub.iter(until_end=True, idle_timeout=timeout):
        out.append(item)
        if mark_done:
            sub.done(item)
    return out


def by_partition(items):
    out = defaultdict(list)
    for item in items:
        out[item.partition].append(item.offset)
    return out


def test_typed_events_equal_what_was_published(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("budgeting")
    sent = publisher(topic, events("budgeting", 60))
    with Subscriber(stack_settings, group(), ["budgeting"], topic_prefix=prefix) as sub:
        got = read_all(sub)
    assert all(isinstance(g, SubscribedEvent) for g in got)
    assert len(got) == 60
    sent_at = {(p.partition, p.offset): p.event for p in sent}
    for ev in got:
        published = sent_at[(ev.partition, ev.offset)]
        assert ev.event == published
        assert type(ev.event) is type(published)
        assert ev.event_type == type(published).__name__
        assert ev.theme == "budgeting" and ev.topic == topic
        assert ev.key == published.region_code == ev.region_code
        assert ev.header("ce_id") == published.event_id
        assert ev.header("ce_type") == f"id.go.egov.budgeting.{ev.event_type}.v1"
        assert ev.timestamp is not None and ev.timestamp.tzinfo is not None
    # Per partition, in offset order.
    for offsets in by_partition(got).values():
        assert offsets == sorted(offsets)
    assert sub.stats.events == 60 and sub.stats.done == 60 and sub.stats.undecodable == 0


def test_commit_after_done(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=3)
    sent = publisher(topic, events("complaints", 30))
    gid = group()
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        first = [sub.poll(30) for _ in range(10)]
        assert all(isinstance(f, SubscribedEvent) for f in first)
        for ev in first[:5]:
            sub.done(ev)
    # Offsets 6.. of each partition (in the order read) come again, the five done ones never.
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        again = read_all(sub)
    done_ids = {ev.event.event_id for ev in first[:5]}
    assert sorted(ev.event.event_id for ev in again) == sorted(p.event.event_id for p in sent if p.event.event_id not in done_ids)
    expected = defaultdict(list)
    done_pos = {(ev.partition, ev.offset) for ev in first[:5]}
    for p in sorted(sent, key=lambda p: (p.partition, p.offset)):
        if (p.partition, p.offset) not in done_pos:
            expected[p.partition].append(p.offset)
    assert by_partition(again) == expected
    # And now everything is done: a third member reads nothing.
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        assert read_all(sub) == []


def test_out_of_order_done_commits_up_to_the_lowest_open_event(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    publisher(topic, events("complaints", 8))
    gid = group()
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        got = [sub.poll(30) for _ in range(6)]
        for i in (0, 1, 3, 4, 5):  # offset 2 stays open
            sub.done(got[i])
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        assert [ev.offset for ev in read_all(sub)] == [2, 3, 4, 5, 6, 7]


def test_exception_inside_with_does_not_commit(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    sent = publisher(topic, events("complaints", 3))
    gid = group()
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        with sub.next(30) as ev:
            assert ev.offset == 0
        with pytest.raises(RuntimeError, match="handler failed"):
            with sub.next(30) as ev:
                assert ev.offset == 1
                raise RuntimeError("handler failed")
        with sub.next(30) as ev:  # a later event done does not cover the failed one
            assert ev.offset == 2
    # Offset 0 was done; offset 1 failed, so the group resumes there (2 comes again too: commits are positions).
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        again = read_all(sub)
    assert [ev.offset for ev in again] == [1, 2]
    assert again[0].event == sent[1].event


def test_next_returns_none_when_nothing_arrives(stack_settings, theme_topic_factory):
    prefix, _topic = theme_topic_factory("complaints", partitions=1)
    with Subscriber(stack_settings, group(), ["complaints"], topic_prefix=prefix) as sub:
        with sub.next(1.0) as ev:
            assert ev is None
        assert read_all(sub) == []


def test_processing_marks_done_after_the_body(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    publisher(topic, events("complaints", 5))
    gid = group()
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        with pytest.raises(KeyError):
            for ev in sub.processing(until_end=True):
                if ev.offset == 3:
                    raise KeyError("boom")
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        assert [ev.offset for ev in read_all(sub)] == [3, 4]


def test_replay_from_time(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("budgeting", partitions=3)
    base = int((datetime.now(timezone.utc) - timedelta(days=1)).timestamp() * 1000)
    stamps = [base + i * 1000 for i in range(40)]
    sent = publisher(topic, events("budgeting", 40), timestamps_ms=stamps)
    from_time = datetime.fromtimestamp((base + 25_000) / 1000, tz=timezone.utc)
    gid = group()
    # The group first reads (and commits) everything; a replay ignores those commits.
    with Subscriber(stack_settings, gid, ["budgeting"], topic_prefix=prefix) as sub:
        assert len(read_all(sub)) == 40
    with Subscriber(stack_settings, gid, ["budgeting"], topic_prefix=prefix, from_time=from_time) as sub:
        got = read_all(sub)
    expected = {p.event.event_id for p in sent if p.timestamp_ms >= base + 25_000}
    assert len(expected) == 15
    assert {ev.event.event_id for ev in got} == expected
    assert len(got) == 15
    assert all(ev.timestamp >= from_time for ev in got)
    # After the end of the data: nothing, and the iteration still stops at the end.
    later = datetime.fromtimestamp((base + 100_000) / 1000, tz=timezone.utc)
    with Subscriber(stack_settings, group(), ["budgeting"], topic_prefix=prefix, from_time=later) as sub:
        assert read_all(sub) == []


def test_filters_pass_over_and_commit(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=3)
    sent = publisher(topic, events("complaints", 80, seed=11))
    gid = group()
    with Subscriber(
        stack_settings, gid, ["complaints"], topic_prefix=prefix, event_types=["ComplaintReceived"], region_prefix="32"
    ) as sub:
        got = read_all(sub)
    expected = {
        p.event.event_id
        for p in sent
        if type(p.event).__name__ == "ComplaintReceived"
        and (p.event.region_code == "32" or p.event.region_code.startswith("32."))
    }
    assert {ev.event.event_id for ev in got} == expected
    assert sub.stats.events == len(expected) and sub.stats.filtered == 80 - len(expected)
    # What the filters passed over was committed too.
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        assert read_all(sub) == []


def test_filters_select_a_region(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    sent = publisher(topic, events("complaints", 200, seed=3))
    code = sent[0].event.region_code
    with Subscriber(stack_settings, group(), ["complaints"], topic_prefix=prefix, region_prefix=code) as sub:
        got = read_all(sub)
    assert [ev.event for ev in got] == [p.event for p in sent if p.event.region_code.startswith(code)]
    assert got


def test_undecodable_records_are_reported_not_dropped(stack_settings, theme_topic_factory, publisher, registry):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    good = events("complaints", 4)
    publisher(topic, good[:2])
    poison = [
        ("32.01", os.urandom(40)),
        ("32.01", b"\x07" + b"\x00" * 10),  # wrong magic byte
        ("32.01", pack_header(2_000_000_000) + b"\x02"),  # unknown schema id
    ]
    publisher(topic, raw=poison)
    publisher(topic, good[2:])
    reported: list[Undecodable] = []
    gid = group()
    counted_before = REGISTRY.get_sample_value(
        "egov_subscriber_records_total", {"theme": "complaints", "outcome": "undecodable"}
    ) or 0.0
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix, on_undecodable=reported.append) as sub:
        got = read_all(sub)
    assert [ev.event for ev in got] == good
    assert [u.offset for u in reported] == [2, 3, 4]
    assert [u.raw_value for u in reported] == [v for _k, v in poison]
    assert reported[1].error_class == "WireFormatError"
    assert reported[2].error_class == "UnknownSchemaError"
    assert all(u.reason for u in reported)
    assert sub.stats.undecodable == 3
    assert REGISTRY.get_sample_value(
        "egov_subscriber_records_total", {"theme": "complaints", "outcome": "undecodable"}
    ) == counted_before + 3
    # Reported records count as done: the group is at the end.
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        assert read_all(sub) == []


def test_undecodable_yielded_when_asked(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    publisher(topic, raw=[("32", b"not avro at all")])
    publisher(topic, events("complaints", 1))
    with Subscriber(stack_settings, group(), ["complaints"], topic_prefix=prefix, yield_undecodable=True) as sub:
        got = read_all(sub)
    assert [type(g) for g in got] == [Undecodable, SubscribedEvent]
    assert got[0].raw_value == b"not avro at all" and got[0].key == "32"


def test_failing_undecodable_callback_keeps_the_record(stack_settings, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    publisher(topic, raw=[("32", b"junk")])
    calls = []

    def dlq_down(item):
        calls.append(item.offset)
        if len(calls) == 1:
            raise ConnectionError("dead-letter topic unreachable")

    with Subscriber(stack_settings, group(), ["complaints"], topic_prefix=prefix, on_undecodable=dlq_down) as sub:
        with pytest.raises(ConnectionError):
            sub.poll(30)
        # The record is read again; now the callback takes it, so it is done and not yielded.
        assert read_all(sub) == []
    assert calls == [0, 0]
    assert sub.stats.undecodable == 2 and sub.stats.done == 1


def test_several_themes(stack_settings, admin, publisher):
    from confluent_kafka.admin import NewTopic

    prefix = f"test.sub.{uuid.uuid4().hex[:10]}"
    names = [f"{prefix}.egov.{t}.events" for t in ("complaints", "licensing")]
    for name, fut in admin.create_topics([NewTopic(n, 1, 1) for n in names], operation_timeout=10).items():
        fut.result(timeout=15)
    publisher(names[0], events("complaints", 3))
    publisher(names[1], events("licensing", 4))
    with Subscriber(stack_settings, group(), ["complaints", "licensing"], topic_prefix=prefix) as sub:
        got = read_all(sub)
    assert sorted((ev.theme, ev.offset) for ev in got) == [("complaints", i) for i in range(3)] + [("licensing", i) for i in range(4)]


def test_clear_errors(stack_settings):
    with pytest.raises(UnknownThemeError):
        Subscriber(stack_settings, group(), ["nosuch"])
    with pytest.raises(TopicMissingError, match="do not exist"):
        Subscriber(stack_settings, group(), ["complaints"], topic_prefix=f"missing.{uuid.uuid4().hex}")
    with pytest.raises(SubscriberError, match="enable.auto.commit are fixed"):
        Subscriber(stack_settings, group(), ["complaints"], **{"enable.auto.commit": True})


def test_two_members_of_one_group_share_the_partitions(stack_settings, theme_topic_factory, publisher):
    import time

    prefix, topic = theme_topic_factory("complaints", partitions=3)
    sent = publisher(topic, events("complaints", 60, seed=21))
    gid = group()
    seen: list[tuple[str, str]] = []
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as a, Subscriber(
        stack_settings, gid, ["complaints"], topic_prefix=prefix
    ) as b:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (len(seen) >= 60 and a.assignment and b.assignment):
            for name, sub in (("a", a), ("b", b)):
                with sub.next(0.3) as ev:
                    if ev is not None:
                        seen.append((name, ev.event.event_id))
        # Both members hold partitions: the group split the topic between them.
        assert a.assignment and b.assignment
        assert sorted(a.assignment + b.assignment) == [(topic, p) for p in range(3)]
    # Each event handed out once: what a member marked done is committed before a rebalance moves it.
    assert sorted(eid for _m, eid in seen) == sorted(p.event.event_id for p in sent)


def test_unreachable_registry_skips_nothing(stack_settings, theme_topic_factory, publisher):
    from devtools.devstack.process import free_port
    from bus.subscriber import TransientDecodeError

    prefix, topic = theme_topic_factory("complaints", partitions=1)
    sent = publisher(topic, events("complaints", 2))
    gid = group()
    dead_registry = stack_settings.model_copy(
        update={"schema_registry_url": f"http://127.0.0.1:{free_port()}", "request_timeout_s": 2}
    )
    with Subscriber(dead_registry, gid, ["complaints"], topic_prefix=prefix) as sub:
        for _ in range(2):  # the same record each time: the subscriber seeks back to it
            with pytest.raises(TransientDecodeError) as info:
                sub.poll(30)
            assert info.value.fields["offset"] == 0
        assert sub.stats.undecodable == 0
    with Subscriber(stack_settings, gid, ["complaints"], topic_prefix=prefix) as sub:
        assert [ev.event for ev in read_all(sub)] == [p.event for p in sent]
