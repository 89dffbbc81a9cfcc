"""``egov-bus status`` as a process: against the shared stack with figures this test caused (exit 0), and
against a private stack whose registry process was stopped (exit 3, naming it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from adapters.spool.store import Spool, SpoolRecord
from bus.serde import AvroSerializer, make_registry_client
from processors.views.avro import view_schema
from schemas.topic_names import dlq_topic, theme_topic, view_topic

pytestmark = pytest.mark.integration

EGOV = str(Path(sys.executable).with_name("egov-bus"))
LAST_SEEN = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
VIEW_AT_MS = 1_795_000_000_000  # the broker time given to the view record: its "last update"


def _env(settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(EGOV_BOOTSTRAP_SERVERS=settings.bootstrap_servers, EGOV_SCHEMA_REGISTRY_URL=settings.schema_registry_url,
               EGOV_REQUEST_TIMEOUT_S="5", **extra)
    return env


def _status(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([EGOV, "status", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


@pytest.fixture
def caused(stack_settings, admin: AdminClient, tmp_path: Path) -> dict:
    """Under a fresh prefix: 2 dead letters of budgeting, one integration_index row, a group 2 records behind,
    and a spool with 3 events waiting."""
    prefix = f"st{uuid.uuid4().hex[:8]}"
    dlq, view, events = dlq_topic("budgeting", prefix), view_topic("integration_index", prefix), theme_topic("budgeting", prefix)
    futures = admin.create_topics([NewTopic(t, 1, 1) for t in (dlq, view, events)], operation_timeout=10)
    for future in futures.values():
        future.result(timeout=15)
    producer = Producer(stack_settings.librdkafka_config())
    for i in range(2):
        producer.produce(dlq, key=b"32.01", value=f"dead {i}".encode())
    for i in range(3):
        producer.produce(events, key=b"32.01", value=f"event {i}".encode())
    row = {"region_code": "32.01", "region_name": "Kabupaten Bogor", "province_code": "32", "theme": "budgeting",
           "events_total": 4, "first_seen": LAST_SEEN - timedelta(days=3), "last_seen": LAST_SEEN, "active_days": 2,
           "events_per_day": 2.0}
    encode = AvroSerializer(make_registry_client(stack_settings), view_schema("integration_index"))
    producer.produce(view, key=b"32.01|budgeting", value=encode(row, view), timestamp=VIEW_AT_MS)
    assert producer.flush(15) == 0
    group = f"status-test-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(stack_settings.librdkafka_config(**{"group.id": group, "enable.auto.commit": False}))
    consumer.commit(offsets=[TopicPartition(events, 0, 1)], asynchronous=False)  # read 1 of 3: lag 2
    consumer.close()
    spool_dir = tmp_path / "spools"
    with Spool(spool_dir / "region-32.01" / "simulator.sqlite", 100) as spool:
        spool.put([SpoolRecord(seq, events, b"32.01", b"v", [], "budgeting", 1_795_000_000.0 + seq)
                   for seq in (1, 2, 3)])
    return {"prefix": prefix, "group": group, "spool_dir": spool_dir, "dlq": dlq, "view": view}


def test_all_up_shows_the_figures_caused(stack_settings, caused: dict, tmp_path: Path) -> None:
    env = _env(stack_settings, EGOV_SPOOL_DIR=str(tmp_path / "none"))
    args = ["--prefix", caused["prefix"], "--group", caused["group"], "--spool-dir", str(caused["spool_dir"])]
    result = _status(env, "--json", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert (doc["ok"], doc["exit_code"], doc["problems"]) == (True, 0, [])
    assert doc["kafka"]["reachable"] and doc["registry"]["reachable"]
    assert all(b["reachable"] for b in doc["kafka"]["brokers"])
    assert [b["controller"] for b in doc["kafka"]["brokers"]].count(True) == 1
    dlq = {d["theme"]: d for d in doc["dlq"]}
    assert dlq["budgeting"] == {"theme": "budgeting", "topic": caused["dlq"], "depth": 2, "exact": True}
    assert all(d["depth"] is None for theme, d in dlq.items() if theme != "budgeting")  # no such topics
    group = next(g for g in doc["consumer_groups"] if g["group"] == caused["group"])
    assert (group["lag"], group["partitions"], group["topics"], group["members"]) == (2, 1, 1, 0)
    assert doc["views"] == [{"view": "integration_index", "topic": caused["view"], "offsets": 1,
                             "last_update": datetime.fromtimestamp(VIEW_AT_MS / 1000, timezone.utc)
                             .strftime("%Y-%m-%dT%H:%M:%SZ")}]
    assert doc["regions_publishing"]["themes"] == [{"theme": "budgeting", "regions": 1, "regions_recent": 1}]
    assert doc["regions_publishing"]["days"] == 7
    spools = [s for s in doc["spools"] if s["path"].startswith(str(caused["spool_dir"]))]
    assert spools == [{"path": str(caused["spool_dir"] / "region-32.01" / "simulator.sqlite"), "depth": 3,
                       "oldest": datetime.fromtimestamp(1_795_000_001, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "error": None}]

    screen = _status(env, *args, cwd=tmp_path)
    assert screen.returncode == 0, screen.stderr
    for title in ("Kafka", "Schema registry", "Consumer lag", "Dead letters per theme", "Views (time of the last record)",
                  "Local spools", "Regions publishing per theme"):
        assert title in screen.stdout
    assert "datetime.datetime(" not in screen.stdout and "Traceback" not in screen.stdout + screen.stderr


def test_registry_stopped_is_exit_3_naming_it(tmp_path: Path) -> None:
    from bus.settings import load_settings
    from devtools.devstack import DevStack
    from devtools.devstack.process import stop

    stack = DevStack(tmp_path / "stack")
    info = stack.up(progress=lambda _m: None)
    try:
        settings = load_settings(env_file=None, bootstrap_servers=info.bootstrap_servers,
                                 schema_registry_url=info.schema_registry_url)
        assert _status(_env(settings), cwd=tmp_path).returncode == 0
        assert stop(info.processes["registry"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # stopped when nothing answers on its port
            result = _status(_env(settings), cwd=tmp_path)
            if result.returncode != 0:
                break
        assert result.returncode == 3, result.stdout + result.stderr
        assert result.stderr.splitlines() == [
            f"down: cannot reach the schema registry at {info.schema_registry_url} within 5 s (Connection refused) "
            "— is the stack up? egov-bus dev up (or check EGOV_SCHEMA_REGISTRY_URL)"]
        assert "Traceback" not in result.stdout
    finally:
        stack.down()
