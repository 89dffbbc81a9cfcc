"""The brokers and the registry together, with their state on disk.

State lives in ``state_dir`` (default ``.egov``): ``dev.json`` records what
runs (PIDs with their start times, ports), ``dev.env`` holds the ``EGOV_*``
connection settings for every other command, ``logs/`` the service logs.

One node (the default) or three (``brokers=3``): a KRaft cluster of combined
broker+controller nodes with a static quorum, whose topics are made with three
replicas and ``min.insync.replicas=2`` (written to ``dev.env`` as settings, so
``topics apply`` and the processors' changelogs follow them). The registry keeps
its schemas in a journal topic on those brokers (KafkaSQL) unless told ``mem``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from bus.private_files import write_private
from devtools.devstack import process
from devtools.devstack import secure as secure_stack
from devtools.devstack.exceptions import DevStackError
from devtools.devstack.registry import REGISTRY_STORAGES, ApicurioRegistry, RegistryStorage, create_journal_topics
from devtools.devstack.services import KafkaBroker, KafkaNode, kraft_cluster_id

#: Node counts ``dev up --brokers`` starts: one, or a cluster that keeps acks=all writes with one node down.
BROKER_COUNTS = (1, 3)


@dataclass
class StackInfo:
    """Where the running stack listens and which processes are ours."""

    bootstrap_servers: str
    schema_registry_url: str
    kafka_port: int
    kafka_controller_port: int
    registry_port: int
    registry_management_port: int
    processes: dict[str, process.ProcessRecord] = field(default_factory=dict)
    #: SASL_SSL (SCRAM-SHA-512) with the StandardAuthorizer, or PLAINTEXT for everyone.
    secure: bool = False
    ca_location: str | None = None
    #: One owner-only ``<user>.env`` per principal of topics/acls.yaml the stack created.
    principals_dir: str | None = None
    #: How many KRaft nodes run; ``nodes`` lists each (see :class:`KafkaNode`), empty for one node.
    brokers: int = 1
    nodes: list[dict] = field(default_factory=list)
    registry_storage: str = "mem"
    #: The relay listeners' addresses (``up(relay=True)``), for a client a test can cut off.
    relay_bootstrap_servers: str | None = None

    @property
    def topic_replication_factor(self) -> int:
        return 3 if self.brokers >= 3 else self.brokers

    @property
    def topic_min_insync_replicas(self) -> int:
        return min(2, self.topic_replication_factor)

    def kafka_nodes(self) -> list[KafkaNode]:
        if not self.nodes:
            return [KafkaNode(1, self.kafka_port, self.kafka_controller_port)]
        return [KafkaNode(**n) for n in self.nodes]

    def node_process(self, node_id: int | None = None) -> str:
        """The name of a node's process in :attr:`processes` (``kafka``, or ``kafka-<id>`` in a cluster)."""
        if not self.nodes:
            if node_id not in (None, 1):
                raise DevStackError(f"the stack runs one Kafka node; there is no node {node_id}")
            return "kafka"
        if node_id is None or node_id not in {n["node_id"] for n in self.nodes}:
            raise DevStackError(f"name a node of the cluster: {', '.join(str(n['node_id']) for n in self.nodes)}")
        return f"kafka-{node_id}"

    def env(self) -> dict[str, str]:
        """The connection settings every command reads (secure: the operator's, without its password)."""
        env = {
            "EGOV_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "EGOV_SCHEMA_REGISTRY_URL": self.schema_registry_url,
            # A developer's publishers may register their schemas; a region's never do (principals' files).
            "EGOV_SCHEMA_AUTO_REGISTER": "true",
        }
        if self.brokers > 1:
            # What `topics apply` and the processors' changelogs create on this cluster.
            env["EGOV_TOPIC_REPLICATION_FACTOR"] = str(self.topic_replication_factor)
            env["EGOV_TOPIC_MIN_INSYNC_REPLICAS"] = str(self.topic_min_insync_replicas)
        if self.secure:
            env.update({
                "EGOV_SECURITY_PROTOCOL": "SASL_SSL",
                "EGOV_SASL_MECHANISM": secure_stack.MECHANISM,
                "EGOV_SASL_USERNAME": secure_stack.OPERATOR,
                "EGOV_SSL_CA_LOCATION": self.ca_location or "",
            })
        return env

    def to_json(self) -> str:
        data = {k: v for k, v in self.__dict__.items() if k != "processes"}
        data["processes"] = {name: rec.to_dict() for name, rec in self.processes.items()}
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "StackInfo":
        data = json.loads(text)
        procs = {name: process.ProcessRecord(**rec) for name, rec in data.pop("processes", {}).items()}
        return cls(**data, processes=procs)


class DevStack:
    """Start, inspect and stop the local Kafka broker and schema registry."""

    def __init__(self, state_dir: Path | str | None = None) -> None:
        self.state_dir = Path(state_dir or os.environ.get("EGOV_STATE_DIR") or ".egov").resolve()
        self.state_file = self.state_dir / "dev.json"
        self.env_file = self.state_dir / "dev.env"

    # -- state ------------------------------------------------------------

    def info(self) -> StackInfo | None:
        if not self.state_file.exists():
            return None
        try:
            return StackInfo.from_json(self.state_file.read_text())
        except (ValueError, TypeError) as exc:
            raise DevStackError(f"{self.state_file} is unreadable ({exc}); remove it and run dev up again") from exc

    def status(self) -> dict[str, bool]:
        """Each recorded service and whether it still runs."""
        info = self.info()
        if info is None:
            return {}
        return {name: process.is_running(rec) for name, rec in info.processes.items()}

    def is_up(self) -> bool:
        status = self.status()
        return bool(status) and all(status.values())

    def _write(self, info: StackInfo) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(info.to_json())
        lines = ["# written by `egov-bus dev up`; removed by `egov-bus dev down`"]
        lines += [f"{k}={v}" for k, v in info.env().items()]
        if info.secure:
            # The operator's password: this file is owner-only, like every principal's.
            lines.append(f"EGOV_SASL_PASSWORD={secure_stack.super_users(self.state_dir).operator_password}")
        write_private(self.env_file, "\n".join(lines) + "\n")

    # -- lifecycle ----------------------------------------------------------

    def up(self, progress=print, kafka_port: int | None = None, registry_port: int | None = None,
           secure: bool = False, brokers: int = 1, registry_storage: RegistryStorage | None = None,
           relay: bool = False) -> StackInfo:
        """Start the brokers and the registry unless they already run; return where they listen.

        ``brokers``: 1, or 3 for a KRaft cluster whose topics get three replicas
        and ``min.insync.replicas=2``. ``registry_storage``: ``kafkasql`` (the
        default: schemas and ids survive a registry restart) or ``mem``.
        ``relay``: each node also gets a listener advertised on a relay port
        (:class:`KafkaNode`), for tests that cut one client's network.

        ``secure``: the broker takes only SASL_SSL (SCRAM-SHA-512, TLS from a CA
        made for this stack) and denies what no ACL allows; the stack creates
        the principals of ``topics/acls.yaml`` with their ACLs and writes each
        one's settings to ``principals/<user>.env`` (see :mod:`devtools.devstack.secure`).
        The secured stack runs one node and keeps the registry in memory.
        """
        if brokers not in BROKER_COUNTS:
            raise DevStackError(f"--brokers must be one of {', '.join(map(str, BROKER_COUNTS))}, not {brokers}")
        if secure and (brokers != 1 or relay):
            raise DevStackError("the secured stack runs one broker; --brokers 3 is for a plaintext stack")
        storage = registry_storage or ("mem" if secure else "kafkasql")
        if storage not in REGISTRY_STORAGES:
            raise DevStackError(f"--registry-storage must be one of {', '.join(REGISTRY_STORAGES)}, not {storage}")
        if secure and storage != "mem":
            raise DevStackError("the secured stack keeps its registry in memory (--registry-storage mem)")
        info = self.info()
        if info is not None and self.is_up():
            if info.secure != secure or info.brokers != brokers:
                running = f"{'secured' if info.secure else 'plaintext'} stack of {info.brokers} broker(s)"
                raise DevStackError(f"a {running} already runs in {self.state_dir}; run `egov-bus dev down` first")
            return info
        if info is not None:
            # A previous stack died partly: stop what is left before starting anew.
            self.down()
        nodes = [KafkaNode(node_id=n, port=(kafka_port if n == 1 and kafka_port else process.free_port()),
                           controller_port=process.free_port(),
                           relay_port=process.free_port() if relay else None,
                           relay_target_port=process.free_port() if relay else None)
                 for n in range(1, brokers + 1)]
        registry_ports = (registry_port or process.free_port(), process.free_port())
        security = secure_stack.prepare(self.state_dir) if secure else None
        cluster = nodes if brokers > 1 else None
        nodes_of = [KafkaBroker(self.state_dir, n.port, n.controller_port, security, node_id=n.node_id,
                                cluster=cluster, heap="1g" if brokers == 1 else "768m") for n in nodes]
        bootstrap = ",".join(b.bootstrap_servers for b in nodes_of)
        registry = ApicurioRegistry(self.state_dir, *registry_ports, storage=storage, bootstrap_servers=bootstrap)
        info = StackInfo(
            bootstrap_servers=bootstrap,
            schema_registry_url=registry.url,
            kafka_port=nodes[0].port,
            kafka_controller_port=nodes[0].controller_port,
            registry_port=registry_ports[0],
            registry_management_port=registry_ports[1],
            secure=secure,
            ca_location=str(security.tls.ca_pem) if security else None,
            principals_dir=str(secure_stack.principals_dir(self.state_dir)) if security else None,
            brokers=brokers,
            nodes=[n.to_dict() for n in nodes] if cluster else [],
            registry_storage=storage,
            relay_bootstrap_servers=",".join(f"127.0.0.1:{n.relay_port}" for n in nodes) if relay else None,
        )
        try:
            cluster_id = kraft_cluster_id()
            for broker in nodes_of:
                info.processes[broker.name] = broker.start(progress=progress, cluster_id=cluster_id)
                self._write(info)
            if storage == "mem":
                # Start the registry before waiting on the brokers: their JVMs warm up in parallel.
                info.processes["registry"] = registry.start(progress=progress)
                self._write(info)
            for broker in nodes_of:
                broker.wait_ready(info.processes[broker.name])
            if storage == "kafkasql":
                # The journal's topics first, as the stack wants them (one partition, replicated).
                create_journal_topics(bootstrap, info.topic_replication_factor, info.topic_min_insync_replicas)
                info.processes["registry"] = registry.start(progress=progress)
                self._write(info)
            registry.wait_ready(info.processes["registry"])
            if security is not None:
                secure_stack.create_principals(self.state_dir, info.bootstrap_servers, info.schema_registry_url,
                                               security, progress=progress)
        except BaseException:
            self.down()
            raise
        return info

    def down(self) -> list[str]:
        """Stop exactly the processes this stack started; return their names."""
        info = self.info()
        stopped: list[str] = []
        if info is not None:
            for name, record in info.processes.items():
                if process.stop(record):
                    stopped.append(name)
        for path in (self.state_file, self.env_file):
            path.unlink(missing_ok=True)
        # Credentials and keys of a stack that no longer runs serve nobody.
        secure_stack.forget(self.state_dir)
        return stopped

    # -- for reliability tests: stop and restart a node or the registry, keeping their data ----

    def _broker(self, info: StackInfo, node_id: int | None) -> KafkaBroker:
        security = secure_stack.super_users(self.state_dir) if info.secure else None
        nodes = info.kafka_nodes()
        node = nodes[0] if node_id is None else next(n for n in nodes if n.node_id == node_id)
        cluster = nodes if info.nodes else None
        return KafkaBroker(self.state_dir, node.port, node.controller_port, security, node_id=node.node_id,
                           cluster=cluster, heap="1g" if info.brokers == 1 else "768m")

    def stop_broker(self, node_id: int | None = None, hard: bool = False) -> None:
        """Stop one Kafka node: SIGTERM (a controlled shutdown: it hands its leaderships over) or, ``hard``, SIGKILL."""
        info = self._require()
        record = info.processes[info.node_process(node_id)]
        process.kill(record) if hard else process.stop(record)

    def start_broker(self, node_id: int | None = None) -> None:
        """Start a stopped node again on its data and wait until it answers (seeing every other node)."""
        info = self._require()
        broker = self._broker(info, node_id)
        info.processes[broker.name] = broker.start(fresh=False)
        self._write(info)
        broker.wait_ready(info.processes[broker.name])

    def _registry(self, info: StackInfo) -> ApicurioRegistry:
        return ApicurioRegistry(self.state_dir, info.registry_port, info.registry_management_port,
                                storage=info.registry_storage, bootstrap_servers=info.bootstrap_servers)  # type: ignore[arg-type]

    def stop_registry(self) -> None:
        """Stop the registry (SIGTERM); with KafkaSQL storage its schemas stay in the journal topic."""
        info = self._require()
        process.stop(info.processes["registry"])

    def start_registry(self) -> None:
        """Start the registry again on the same ports and wait until it serves (KafkaSQL: the journal replayed)."""
        info = self._require()
        registry = self._registry(info)
        info.processes["registry"] = registry.start()
        self._write(info)
        registry.wait_ready(info.processes["registry"])

    def _require(self) -> StackInfo:
        info = self.info()
        if info is None:
            raise DevStackError("the local stack is not running; run `egov-bus dev up`")
        return info
