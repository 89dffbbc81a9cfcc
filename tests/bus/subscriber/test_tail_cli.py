"""``egov-bus tail`` as a real process against the real broker and registry."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.privacy import Pseudonymizer
from adapters.simulator.generator import generate_events
from bus.subscriber.render import event_line

pytestmark = pytest.mark.integration

EGOV = str(Path(sys.executable).with_name("egov-bus"))


def tail(settings, tmp_path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(EGOV_BOOTSTRAP_SERVERS=settings.bootstrap_servers, EGOV_SCHEMA_REGISTRY_URL=settings.schema_registry_url,
               EGOV_SCHEMA_AUTO_REGISTER="true")
    # cwd: an empty directory, so no .egov/dev.env of the repository is read.
    return subprocess.run(
        [EGOV, "tail", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout, check=False
    )


def lines(ev_list) -> list[str]:
    return [event_line(_Shown(ev)).plain.rstrip() for ev in ev_list]


class _Shown:
    """What event_line reads of a subscribed event, built from a published model."""

    def __init__(self, event) -> None:
        self.event = event
        self.event_type = type(event).__name__
        self.region_code = event.region_code


@pytest.fixture
def complaints(theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    base = int((datetime.now(timezone.utc) - timedelta(hours=3)).timestamp() * 1000)
    evs = list(generate_events(5, 40, themes=["complaints"], pseudonymizer=Pseudonymizer("test-key-for-tail-tests")))
    publisher(topic, evs, timestamps_ms=[base + i * 60_000 for i in range(len(evs))])
    return prefix, evs, base


def test_tail_prints_every_event_and_stops_at_the_end(stack_settings, tmp_path, complaints):
    prefix, evs, _base = complaints
    result = tail(stack_settings, tmp_path, "complaints", "--prefix", prefix)
    assert result.returncode == 0, result.stderr
    assert [line.rstrip() for line in result.stdout.splitlines()] == lines(evs)
    first = result.stdout.splitlines()[0]
    assert evs[0].region_code in first and type(evs[0]).__name__ in first
    assert "40 event(s) shown" in result.stderr


def test_tail_filters_limit_and_from(stack_settings, tmp_path, complaints):
    prefix, evs, base = complaints
    region = evs[0].region_code[:2]
    result = tail(
        stack_settings, tmp_path, "complaints", "--prefix", prefix, "--region", region, "--event-type", "ComplaintReceived"
    )
    assert result.returncode == 0, result.stderr
    wanted = [e for e in evs if e.region_code.split(".")[0] == region and type(e).__name__ == "ComplaintReceived"]
    assert wanted and len(wanted) < len(evs)
    assert result.stdout.splitlines() == lines(wanted)

    result = tail(stack_settings, tmp_path, "complaints", "--prefix", prefix, "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines(evs[:3])

    # Records were stamped one minute apart; start at the 30th.
    start = datetime.fromtimestamp((base + 30 * 60_000) / 1000, tz=timezone.utc).isoformat()
    result = tail(stack_settings, tmp_path, "complaints", "--prefix", prefix, "--from", start)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines(evs[30:])


def test_tail_relative_from_after_the_data_prints_nothing(stack_settings, tmp_path, complaints):
    prefix, _evs, _base = complaints
    # The records are 3 h old (and at most 40 min apart): nothing in the last hour.
    result = tail(stack_settings, tmp_path, "complaints", "--prefix", prefix, "--from", "1h")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "0 event(s) shown" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "unknown theme 'nosuch'"),
        (["complaints", "--event-type", "BudgetAllocated"], "belongs to theme 'budgeting'"),
        (["complaints", "--region", "99.99"], "not the code of a current province"),
        (["complaints", "--from", "yesterday"], "cannot read 'yesterday' as a time"),
        (["complaints", "--prefix", "no.such.prefix"], "do not exist"),
    ],
)
def test_tail_user_errors_exit_non_zero_with_a_clear_message(stack_settings, tmp_path, args, message):
    result = tail(stack_settings, tmp_path, *args, timeout=60)
    assert result.returncode == 1
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_tail_shows_undecodable_records(stack_settings, tmp_path, theme_topic_factory, publisher):
    prefix, topic = theme_topic_factory("complaints", partitions=1)
    publisher(topic, raw=[("32.01", b"\x00\x00\x00")])
    result = tail(stack_settings, tmp_path, "complaints", "--prefix", prefix)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert result.stdout.startswith(f"! undecodable {topic}[0]@0 (key 32.01): WireFormatError: ")
    assert "1 undecodable" in result.stderr


def test_tail_follow_prints_new_events_until_interrupted(stack_settings, tmp_path, theme_topic_factory, publisher):
    import queue
    import signal
    import threading

    prefix, topic = theme_topic_factory("complaints", partitions=1)
    evs = list(generate_events(9, 3, themes=["complaints"]))
    publisher(topic, evs[:2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(EGOV_BOOTSTRAP_SERVERS=stack_settings.bootstrap_servers, EGOV_SCHEMA_REGISTRY_URL=stack_settings.schema_registry_url,
               EGOV_SCHEMA_AUTO_REGISTER="true")
    child = subprocess.Popen(
        [EGOV, "tail", "complaints", "--prefix", prefix, "--follow"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [out.put(line.rstrip()) for line in child.stdout], daemon=True).start()
    try:
        expected = lines(evs)
        assert [out.get(timeout=60) for _ in range(2)] == expected[:2]
        publisher(topic, evs[2:])
        assert out.get(timeout=60) == expected[2]
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) == 0
        assert "3 event(s) shown" in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()  # by PID: the Popen's own process
            child.wait(timeout=10)
