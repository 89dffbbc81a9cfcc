"""`egov-bus dev up --brokers 3`: a 3-node KRaft cluster with a registry that keeps its schemas in Kafka.

One private cluster for the module (it takes about a minute to start on this
machine): the CLI's view of it, the catalogue applied from the settings it
writes (RF 3, min.insync.replicas 2), acks=all writes while a node is down,
the node's return to every ISR, a registry restart that keeps every id, and
`dev down` stopping exactly the processes it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from devtools.devstack import DevStack
from devtools.devstack.process import is_running, POLL
from devtools.devstack.registry import JOURNAL_TOPIC
from devtools.devstack.services import KafkaNode, kafka_properties, quorum_voters

EGOV = str(Path(sys.executable).with_name("egov-bus"))


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_a_cluster_node_votes_with_the_others_and_defaults_to_three_replicas(tmp_path: Path) -> None:
    nodes = [KafkaNode(1, 9101, 9201, 9301, 9401), KafkaNode(2, 9102, 9202), KafkaNode(3, 9103, 9203)]
    props = _props(kafka_properties(tmp_path, 9101, 9201, node_id=1, voters=quorum_voters(nodes), replicas=3,
                                    relay=(9401, 9301)))
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9101,CONTROLLER://127.0.0.1:9201,RELAY://127.0.0.1:9401"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9101,RELAY://127.0.0.1:9301"
    assert props["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,RELAY:PLAINTEXT"
    for key in ("default.replication.factor", "offsets.topic.replication.factor",
                "transaction.state.log.replication.factor", "share.coordinator.state.topic.replication.factor"):
        assert props[key] == "3", key
    for key in ("min.insync.replicas", "transaction.state.log.min.isr", "share.coordinator.state.topic.min.isr"):
        assert props[key] == "2", key
    alone = _props(kafka_properties(tmp_path, 9101, 9201))
    assert alone["controller.quorum.voters"] == "1@127.0.0.1:9201"
    assert (alone["default.replication.factor"], alone["min.insync.replicas"]) == ("1", "1")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([EGOV, *args], capture_output=True, text=True, timeout=timeout, env=env or _env())


def _isr_complete(admin: AdminClient, topic: str) -> bool:
    partitions = admin.list_topics(topic, timeout=5).topics[topic].partitions.values()
    return all(len(p.isrs) == 3 for p in partitions)


def _check_status(state: Path, settings: dict[str, str]) -> None:
    info = DevStack(state).info()
    assert sorted(info.processes) == ["kafka-1", "kafka-2", "kafka-3", "registry"]
    assert settings["EGOV_BOOTSTRAP_SERVERS"] == ",".join(f"127.0.0.1:{n['port']}" for n in info.nodes)
    assert (settings["EGOV_TOPIC_REPLICATION_FACTOR"], settings["EGOV_TOPIC_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    status = _run("dev", "status", "--state-dir", str(state), env={**_env(), "COLUMNS": "200"})
    assert status.returncode == 0
    for node in info.nodes:
        assert f"127.0.0.1:{node['port']} (node {node['node_id']}" in status.stdout
    assert "(storage: kafkasql)" in status.stdout
    assert "cluster: 3 KRaft nodes" in status.stdout


def _check_catalogue(settings: dict[str, str], admin: AdminClient) -> None:
    applied = _run("topics", "apply", "--prefix", "clu", env={**_env(), **settings})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    metadata = admin.list_topics(timeout=10)
    ours = [t for t in metadata.topics if t.startswith("clu.")]
    assert len(ours) == 76
    assert {len(p.replicas) for t in ours for p in metadata.topics[t].partitions.values()} == {3}
    configs = admin.describe_configs([ConfigResource("topic", "clu.egov.budgeting.events")])
    [config] = [f.result() for f in configs.values()]
    assert config["min.insync.replicas"].value == "2"
    journal = metadata.topics[JOURNAL_TOPIC].partitions
    assert len(journal) == 1 and len(journal[0].replicas) == 3


def _check_a_node_down(stack: DevStack, bootstrap: str, admin: AdminClient) -> None:
    topic = "clu.egov.treasury.events"
    stack.stop_broker(2, hard=True)
    assert not is_running(stack.info().processes["kafka-2"])
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "message.timeout.ms": 60000})
    reports: list = []
    for i in range(300):
        producer.produce(topic, key=f"32.{i % 30:02d}", value=b"x", on_delivery=lambda err, msg: reports.append(err))
    assert producer.flush(90) == 0
    assert reports == [None] * 300, "every acks=all write is acknowledged by the two nodes left"
    stack.start_broker(2)
    assert POLL.wait_until(lambda: _isr_complete(admin, topic), 120), "node 2 back in every ISR"


def _check_registry_restart(stack: DevStack, settings: dict[str, str]) -> None:
    url = settings["EGOV_SCHEMA_REGISTRY_URL"]
    registered = _run("schemas", "register", env={**_env(), **settings})
    assert registered.returncode == 0, registered.stdout + registered.stderr

    def ids() -> dict[str, int]:
        subjects = httpx.get(f"{url}/subjects", timeout=10).json()
        return {s: httpx.get(f"{url}/subjects/{s}/versions/latest", timeout=10).json()["id"] for s in subjects}

    before = ids()
    assert len(before) >= 37
    stack.stop_registry()
    stack.start_registry()
    assert ids() == before
    schema = '{"type":"record","name":"AfterRestart","namespace":"test","fields":[{"name":"a","type":"int"}]}'
    new = httpx.post(f"{url}/subjects/after-restart-value/versions", json={"schema": schema}, timeout=10).json()
    assert new["id"] not in before.values(), "a new schema after the restart gets an id of its own"


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_a_three_node_cluster_keeps_acknowledged_writes_and_schema_ids(tmp_path: Path) -> None:
    """One cluster for every check (starting one takes about a minute here), in order."""
    state = tmp_path / "cluster"
    stack = DevStack(state)
    try:
        up = _run("dev", "up", "--brokers", "3", "--state-dir", str(state))
        assert up.returncode == 0, up.stdout + up.stderr
        settings = dict(line.split("=", 1) for line in (state / "dev.env").read_text().splitlines()
                        if line and not line.startswith("#"))
        admin = AdminClient({"bootstrap.servers": settings["EGOV_BOOTSTRAP_SERVERS"]})
        _check_status(state, settings)
        _check_catalogue(settings, admin)
        _check_a_node_down(stack, settings["EGOV_BOOTSTRAP_SERVERS"], admin)
        _check_registry_restart(stack, settings)
        records = stack.info().processes
        down = _run("dev", "down", "--state-dir", str(state))
        assert down.returncode == 0
        assert down.stdout.strip() == "stopped: kafka-1, kafka-2, kafka-3, registry"
        assert not any(is_running(r) for r in records.values())
    finally:
        stack.down()
