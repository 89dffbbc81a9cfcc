"""How to configure, start and probe a Kafka node (the registry: :mod:`devtools.devstack.registry`)."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from devtools.devstack import artifacts, process
from devtools.devstack.exceptions import ServiceStartError
from bus.private_files import write_private
from devtools.devstack.tls import BROKER_NAME, StackTls
from devtools.devstack.tools import find_java

KAFKA_MIN_JAVA = 17
SCRAM_MECHANISM = "SCRAM-SHA-512"

_LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def kraft_cluster_id() -> str:
    """A random KRaft cluster id: a UUID as 22 base64url characters.

    Never one starting with ``-``: the storage tool would read it as an option ("argument
    --cluster-id: expected one argument", 1 start in 64). Kafka's own ``Uuid.randomUuid`` skips
    those for the same reason.
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node (combined broker and controller) of the stack, and where it listens.

    ``relay_port``/``relay_target_port``: an extra PLAINTEXT listener on
    ``relay_target_port`` that advertises ``relay_port`` instead. A client that
    bootstraps from the relay ports reaches the cluster only through whatever
    forwards ``relay_port`` to ``relay_target_port`` (a test's TCP relay), so
    stopping that relay cuts this one client off and nobody else.
    """

    node_id: int
    port: int
    controller_port: int
    relay_port: int | None = None
    relay_target_port: int | None = None

    def to_dict(self) -> dict:
        return {"node_id": self.node_id, "port": self.port, "controller_port": self.controller_port,
                "relay_port": self.relay_port, "relay_target_port": self.relay_target_port}


def quorum_voters(nodes: list[KafkaNode]) -> str:
    """``controller.quorum.voters`` of a static quorum: every node votes."""
    return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)


def kafka_properties(data_dir: Path, port: int, controller_port: int, secure: "SecureBroker | None" = None, *,
                     node_id: int = 1, voters: str | None = None, replicas: int = 1,
                     relay: tuple[int, int] | None = None) -> str:
    """A combined broker+controller (KRaft) node for development and tests.

    Alone (the default) it is the whole cluster. In a cluster (``voters`` names
    every node, ``replicas`` = the node count) the internal topics are made with
    ``replicas`` replicas and the defaults are Kafka's production ones: a topic
    created without a replication factor gets ``replicas``, and writes with
    ``acks=all`` need two in-sync replicas (``min.insync.replicas=2``), so no
    acknowledged record lives on one disk only.

    ``relay``: ``(listen_port, advertised_port)`` of an extra PLAINTEXT listener
    (see :class:`KafkaNode`).

    With ``secure``: clients and the broker itself use SASL_SSL with SCRAM-SHA-512
    on ``port``; the controller listener takes only mutual TLS (SCRAM credentials
    live in the metadata log the controller serves, so KRaft cannot use them
    there); the StandardAuthorizer denies what no ACL allows.
    """
    client = "SASL_SSL" if secure else "PLAINTEXT"
    min_isr = min(2, replicas)
    listeners = f"{client}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
    advertised = f"{client}://127.0.0.1:{port}"
    protocols = f"CONTROLLER:{'SSL' if secure else 'PLAINTEXT'},{client}:{client}"
    if relay is not None:
        listeners += f",RELAY://127.0.0.1:{relay[0]}"
        advertised += f",RELAY://127.0.0.1:{relay[1]}"
        protocols += ",RELAY:PLAINTEXT"
    props = f"""process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={voters or f"{node_id}@127.0.0.1:{controller_port}"}
listeners={listeners}
advertised.listeners={advertised}
controller.listener.names=CONTROLLER
inter.broker.listener.name={client}
listener.security.protocol.map={protocols}
log.dirs={data_dir}
num.partitions=3
auto.create.topics.enable=false
default.replication.factor={replicas}
min.insync.replicas={min_isr}
offsets.topic.replication.factor={replicas}
offsets.topic.num.partitions=6
transaction.state.log.replication.factor={replicas}
transaction.state.log.min.isr={min_isr}
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor={replicas}
share.coordinator.state.topic.min.isr={min_isr}
group.initial.rebalance.delay.ms=0
log.segment.bytes=67108864
log.retention.check.interval.ms=60000
"""
    if secure is None:
        return props
    return props + f"""sasl.enabled.mechanisms={SCRAM_MECHANISM}
sasl.mechanism.inter.broker.protocol={SCRAM_MECHANISM}
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="{secure.broker_user}" password="{secure.broker_password}";
ssl.keystore.type=PEM
ssl.keystore.location={secure.tls.broker_pem}
ssl.truststore.type=PEM
ssl.truststore.location={secure.tls.ca_pem}
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^.*CN=([a-zA-Z0-9._-]+).*$/$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:{secure.broker_user};User:{secure.operator_user}
"""


@dataclass(frozen=True)
class SecureBroker:
    """What a secured broker needs: its TLS files and the two super users' SCRAM passwords."""

    tls: StackTls
    broker_password: str
    operator_password: str
    broker_user: str = BROKER_NAME
    operator_user: str = "operator"

    def operator_config(self) -> dict[str, str]:
        """librdkafka settings of the operator (super user) against this broker."""
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": self.operator_user,
            "sasl.password": self.operator_password,
            "ssl.ca.location": str(self.tls.ca_pem),
        }


class KafkaBroker:
    """A KRaft node's process on loopback, data in ``state_dir/<name>`` (``kafka``, or ``kafka-<id>`` in a cluster).

    ``cluster``: every node of a multi-node stack (this one included, found by
    ``node_id``); without it the node is a single-node cluster of its own.
    """

    def __init__(self, state_dir: Path, port: int, controller_port: int, secure: SecureBroker | None = None, *,
                 node_id: int = 1, cluster: list[KafkaNode] | None = None, heap: str = "1g") -> None:
        self.state_dir = state_dir
        self.port = port
        self.controller_port = controller_port
        self.secure = secure
        self.node_id = node_id
        self.cluster = cluster
        self.heap = heap
        self.name = f"kafka-{node_id}" if cluster else "kafka"
        self.home = state_dir / self.name
        self.data_dir = self.home / "data"
        self.config = self.home / "server.properties"
        self.log = state_dir / "logs" / f"{self.name}.log"

    def _properties(self) -> str:
        if not self.cluster:
            return kafka_properties(self.data_dir, self.port, self.controller_port, self.secure)
        me = next(n for n in self.cluster if n.node_id == self.node_id)
        relay = (me.relay_target_port, me.relay_port) if me.relay_port and me.relay_target_port else None
        return kafka_properties(self.data_dir, self.port, self.controller_port, self.secure, node_id=self.node_id,
                                voters=quorum_voters(self.cluster), replicas=len(self.cluster), relay=relay)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java_argv(self, java: str, libs: Path, main: str, *args: str, heap: str = "256m") -> list[str]:
        log4j = self.home / "log4j2.properties"
        return [
            java,
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.state_dir / 'logs'}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def prepare(self, fresh: bool = True, progress=print, cluster_id: str | None = None) -> tuple[str, Path]:
        java = find_java(KAFKA_MIN_JAVA, f"Apache Kafka {artifacts.KAFKA_VERSION}")
        libs = artifacts.kafka_libs(progress)
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "log4j2.properties").write_text(
            _LOG4J2.format(log=self.state_dir / "logs" / f"{self.name}-server.log")
        )
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        # Holds the broker's SCRAM password when secure: owner-only either way.
        write_private(self.config, self._properties().encode())
        if not (self.data_dir / "meta.properties").exists():
            cid = cluster_id or kraft_cluster_id()
            args = ["format", "-t", cid, "-c", str(self.config)]
            if self.secure is not None:
                # The two super users' SCRAM credentials go into the bootstrap metadata: the broker
                # needs its own to talk to itself, the operator's creates everyone else's.
                for user, password in ((self.secure.broker_user, self.secure.broker_password),
                                       (self.secure.operator_user, self.secure.operator_password)):
                    args += ["--add-scram", f"{SCRAM_MECHANISM}=[name={user},password={password}]"]
            proc = self._run_with_argfile(self._java_argv(java, libs, "kafka.tools.StorageTool", *args))
            if proc.returncode != 0:
                raise ServiceStartError(
                    f"formatting Kafka storage failed (exit {proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}",
                    service="kafka",
                )
        return java, libs

    def _run_with_argfile(self, argv: list[str]) -> subprocess.CompletedProcess:
        """Run a JVM tool with its arguments in an owner-only ``@argfile``, removed afterwards.

        The storage tool takes SCRAM passwords only as arguments; in an argument
        file they stay out of ``ps`` and ``/proc/<pid>/cmdline``.
        """
        argfile = self.home / "format.args"
        # The java launcher splits an argfile on white space; no argument here holds any.
        write_private(argfile, "\n".join(argv[1:]).encode())
        try:
            return subprocess.run([argv[0], f"@{argfile}"], capture_output=True, text=True, timeout=120)
        finally:
            argfile.unlink(missing_ok=True)

    def start(self, fresh: bool = True, progress=print, cluster_id: str | None = None) -> process.ProcessRecord:
        """Start the node; ``fresh`` formats its storage anew (all nodes of a cluster share ``cluster_id``)."""
        java, libs = self.prepare(fresh=fresh, progress=progress, cluster_id=cluster_id)
        argv = self._java_argv(java, libs, "kafka.Kafka", str(self.config), heap=self.heap)
        return process.start(self.name, argv, self.log)

    def wait_ready(self, record: process.ProcessRecord, timeout: float = 90.0) -> None:
        """Wait until the broker answers a metadata request (polls with the delays of ``process.POLL``)."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        # Probe the port first: librdkafka would log every refused connection.
        process.POLL.wait_until(lambda: process.port_open(self.port) or not process.is_running(record), timeout)
        admin = AdminClient(
            {"bootstrap.servers": self.bootstrap_servers, "socket.timeout.ms": 2000, "log_level": 0,
             **(self.secure.operator_config() if self.secure else {})}
        )
        last_error = "no answer"

        def answers() -> bool:
            nonlocal last_error
            if not process.is_running(record):
                raise ServiceStartError(
                    f"Kafka ({self.name}) exited during start-up; last log lines:\n{process.log_tail(record.log)}",
                    service=self.name)
            try:
                # A cluster's node is ready once it sees every node (it then serves their partitions too).
                return len(admin.list_topics(timeout=2).brokers) >= (len(self.cluster) if self.cluster else 1)
            except KafkaException as exc:  # while the listener comes up
                last_error = str(exc)
                return False

        if process.POLL.wait_until(answers, max(0.0, deadline - time.monotonic())):
            return
        raise ServiceStartError(
            f"Kafka did not answer a metadata request within {timeout}s ({last_error}); log: {record.log}",
            service="kafka",
        )

