"""Apicurio Registry 3.x for the local stack, with its schemas kept in Kafka (KafkaSQL) or in memory.

KafkaSQL (the default): every registry write is a record in a journal topic on
the stack's own brokers, replayed at start-up, so a restarted registry serves the
same subjects, versions and ids, and the journal is replicated like the bus's
topics. In memory (``--registry-storage mem``): what the stack had before, gone
with the process; the secured stack still uses it (its registry would need a
principal of its own on the broker).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import httpx
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from devtools.devstack import artifacts, process
from devtools.devstack.exceptions import ServiceStartError
from devtools.devstack.tools import find_java

# Apicurio Registry 3.3 is compiled for Java 21 (class file version 65).
APICURIO_MIN_JAVA = 21
RegistryStorage = Literal["kafkasql", "mem"]
REGISTRY_STORAGES: tuple[RegistryStorage, ...] = ("kafkasql", "mem")

#: The registry's own topics (deployment state of the registry, not topics of the bus's contract).
JOURNAL_TOPIC = "egov-registry-journal"
SNAPSHOTS_TOPIC = "egov-registry-snapshots"
EVENTS_TOPIC = "egov-registry-events"


def journal_topics(replication_factor: int, min_insync_replicas: int) -> list[NewTopic]:
    """The KafkaSQL topics as the stack creates them before the registry's first start.

    One partition: the journal is replayed in the order it was written, so a
    schema's id assignment and its later changes are read back in that order.
    Nothing is ever deleted (``retention.ms=-1``, no compaction): the journal is
    the registry's only copy. Apicurio would create them itself, but with the
    broker's default partition count and replication.
    """
    config = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1",
              "min.insync.replicas": str(min(min_insync_replicas, replication_factor))}
    return [NewTopic(name, num_partitions=1, replication_factor=replication_factor, config=config)
            for name in (JOURNAL_TOPIC, SNAPSHOTS_TOPIC, EVENTS_TOPIC)]


def create_journal_topics(bootstrap_servers: str, replication_factor: int, min_insync_replicas: int,
                          timeout: float = 30.0) -> None:
    """Create the KafkaSQL topics unless they exist (a restart of the stack's registry finds them)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})
    futures = admin.create_topics(journal_topics(replication_factor, min_insync_replicas), request_timeout=timeout)
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise ServiceStartError(f"cannot create the registry's topic {name}: {exc.args[0].str()}",
                                        service="registry") from exc


class ApicurioRegistry:
    """Apicurio Registry 3.x with its Confluent-compatible API (``/apis/ccompat/v7``)."""

    CCOMPAT_PATH = "/apis/ccompat/v7"

    def __init__(self, state_dir: Path, port: int, management_port: int, storage: RegistryStorage = "mem",
                 bootstrap_servers: str | None = None) -> None:
        if storage == "kafkasql" and not bootstrap_servers:
            raise ValueError("KafkaSQL storage needs the brokers' bootstrap servers")
        self.state_dir = state_dir
        self.port = port
        self.management_port = management_port
        self.storage = storage
        self.bootstrap_servers = bootstrap_servers
        self.log = state_dir / "logs" / "registry.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.CCOMPAT_PATH}"

    def _storage_args(self) -> list[str]:
        if self.storage == "mem":
            return []
        return [
            "-Dapicurio.storage.kind=kafkasql",
            f"-Dapicurio.kafkasql.bootstrap.servers={self.bootstrap_servers}",
            f"-Dapicurio.kafkasql.topic={JOURNAL_TOPIC}",
            f"-Dapicurio.kafkasql.snapshots.topic={SNAPSHOTS_TOPIC}",
            f"-Dapicurio.events.kafka.topic={EVENTS_TOPIC}",
            # Every journal write waits for the in-sync replicas, like the bus's own producers.
            "-Dapicurio.kafkasql.producer.acks=all",
            "-Dapicurio.kafkasql.producer.enable.idempotence=true",
        ]

    def start(self, progress=print) -> process.ProcessRecord:
        java = find_java(APICURIO_MIN_JAVA, f"Apicurio Registry {artifacts.APICURIO_VERSION}", "EGOV_REGISTRY_JAVA_HOME")
        home = artifacts.apicurio_home(progress)
        argv = [
            java,
            "-Xmx512m",
            "-Dquarkus.http.host=127.0.0.1",
            f"-Dquarkus.http.port={self.port}",
            "-Dquarkus.management.host=127.0.0.1",
            f"-Dquarkus.management.port={self.management_port}",
            # Tests and `schemas check` delete what they registered.
            "-Dapicurio.rest.deletion.artifact.enabled=true",
            "-Dapicurio.rest.deletion.artifact-version.enabled=true",
            "-Dapicurio.rest.deletion.group.enabled=true",
            *self._storage_args(),
            "-Dquarkus.log.level=WARN",
            "-Dquarkus.log.category.\"io.apicurio\".level=INFO",
            "-jar",
            str(home / "quarkus-run.jar"),
        ]
        return process.start("registry", argv, self.log, cwd=self.state_dir)

    def wait_ready(self, record: process.ProcessRecord, timeout: float = 120.0) -> None:
        """Wait until the health endpoint says UP and the ccompat API answers (polls with the delays of ``process.POLL``)."""
        last_error = "no answer"
        with httpx.Client(timeout=2.0) as client:

            def ready() -> bool:
                nonlocal last_error
                if not process.is_running(record):
                    raise ServiceStartError(
                        f"the registry exited during start-up; last log lines:\n{process.log_tail(record.log)}",
                        service="registry",
                    )
                try:
                    health = client.get(f"http://127.0.0.1:{self.management_port}/health/ready")
                    if health.status_code == 200 and json.loads(health.text).get("status") == "UP":
                        if client.get(f"{self.url}/subjects").status_code == 200:
                            return True
                    last_error = f"health answered {health.status_code}"
                except (httpx.HTTPError, ValueError) as exc:
                    last_error = str(exc)
                return False

            if process.POLL.wait_until(ready, timeout):
                return
        raise ServiceStartError(
            f"the registry was not ready within {timeout}s ({last_error}); log: {record.log}", service="registry"
        )
