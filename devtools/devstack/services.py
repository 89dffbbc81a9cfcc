"""How to configure, start and probe the broker and the registry."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.devstack import artifacts, process
from devtools.devstack.exceptions import ServiceStartError
from bus.private_files import write_private
from devtools.devstack.tls import BROKER_NAME, StackTls
from devtools.devstack.tools import find_java

KAFKA_MIN_JAVA = 17
# Apicurio Registry 3.3 is compiled for Java 21 (class file version 65).
APICURIO_MIN_JAVA = 21
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


def kafka_properties(data_dir: Path, port: int, controller_port: int, secure: "SecureBroker | None" = None) -> str:
    """A single-node combined broker+controller (KRaft) for development and tests.

    With ``secure``: clients and the broker itself use SASL_SSL with SCRAM-SHA-512
    on ``port``; the controller listener takes only mutual TLS (SCRAM credentials
    live in the metadata log the controller serves, so KRaft cannot use them
    there); the StandardAuthorizer denies what no ACL allows.
    """
    client = "SASL_SSL" if secure else "PLAINTEXT"
    props = f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners={client}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners={client}://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name={client}
listener.security.protocol.map=CONTROLLER:{"SSL" if secure else "PLAINTEXT"},{client}:{client}
log.dirs={data_dir}
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
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
    """A KRaft broker process on loopback, data in ``state_dir/kafka``."""

    def __init__(self, state_dir: Path, port: int, controller_port: int, secure: SecureBroker | None = None) -> None:
        self.state_dir = state_dir
        self.port = port
        self.controller_port = controller_port
        self.secure = secure
        self.data_dir = state_dir / "kafka" / "data"
        self.config = state_dir / "kafka" / "server.properties"
        self.log = state_dir / "logs" / "kafka.log"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java_argv(self, java: str, libs: Path, main: str, *args: str, heap: str = "256m") -> list[str]:
        log4j = self.state_dir / "kafka" / "log4j2.properties"
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

    def prepare(self, fresh: bool = True, progress=print) -> tuple[str, Path]:
        java = find_java(KAFKA_MIN_JAVA, f"Apache Kafka {artifacts.KAFKA_VERSION}")
        libs = artifacts.kafka_libs(progress)
        (self.state_dir / "kafka").mkdir(parents=True, exist_ok=True)
        (self.state_dir / "kafka" / "log4j2.properties").write_text(
            _LOG4J2.format(log=self.state_dir / "logs" / "kafka-server.log")
        )
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        # Holds the broker's SCRAM password when secure: owner-only either way.
        write_private(self.config, kafka_properties(self.data_dir, self.port, self.controller_port, self.secure).encode())
        if not (self.data_dir / "meta.properties").exists():
            cid = kraft_cluster_id()
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
        argfile = self.state_dir / "kafka" / "format.args"
        # The java launcher splits an argfile on white space; no argument here holds any.
        write_private(argfile, "\n".join(argv[1:]).encode())
        try:
            return subprocess.run([argv[0], f"@{argfile}"], capture_output=True, text=True, timeout=120)
        finally:
            argfile.unlink(missing_ok=True)

    def start(self, fresh: bool = True, progress=print) -> process.ProcessRecord:
        java, libs = self.prepare(fresh=fresh, progress=progress)
        argv = self._java_argv(java, libs, "kafka.Kafka", str(self.config), heap="1g")
        return process.start("kafka", argv, self.log)

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
                    f"Kafka exited during start-up; last log lines:\n{process.log_tail(record.log)}", service="kafka"
                )
            try:
                return bool(admin.list_topics(timeout=2).brokers)
            except KafkaException as exc:  # while the listener comes up
                last_error = str(exc)
                return False

        if process.POLL.wait_until(answers, max(0.0, deadline - time.monotonic())):
            return
        raise ServiceStartError(
            f"Kafka did not answer a metadata request within {timeout}s ({last_error}); log: {record.log}",
            service="kafka",
        )


class ApicurioRegistry:
    """Apicurio Registry 3.x (in-memory storage) with its Confluent-compatible API."""

    CCOMPAT_PATH = "/apis/ccompat/v7"

    def __init__(self, state_dir: Path, port: int, management_port: int) -> None:
        self.state_dir = state_dir
        self.port = port
        self.management_port = management_port
        self.log = state_dir / "logs" / "registry.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.CCOMPAT_PATH}"

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
