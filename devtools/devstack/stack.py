"""The broker and the registry together, with their state on disk.

State lives in ``state_dir`` (default ``.egov``): ``dev.json`` records what
runs (PIDs with their start times, ports), ``dev.env`` holds the ``EGOV_*``
connection settings for every other command, ``logs/`` the service logs.
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
from devtools.devstack.services import ApicurioRegistry, KafkaBroker


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

    def env(self) -> dict[str, str]:
        """The connection settings every command reads (secure: the operator's, without its password)."""
        env = {
            "EGOV_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "EGOV_SCHEMA_REGISTRY_URL": self.schema_registry_url,
            # A developer's publishers may register their schemas; a region's never do (principals' files).
            "EGOV_SCHEMA_AUTO_REGISTER": "true",
        }
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
           secure: bool = False) -> StackInfo:
        """Start both services unless they already run; return where they listen.

        ``secure``: the broker takes only SASL_SSL (SCRAM-SHA-512, TLS from a CA
        made for this stack) and denies what no ACL allows; the stack creates
        the principals of ``topics/acls.yaml`` with their ACLs and writes each
        one's settings to ``principals/<user>.env`` (see :mod:`devtools.devstack.secure`).
        """
        info = self.info()
        if info is not None and self.is_up():
            if info.secure != secure:
                raise DevStackError(
                    f"a {'secured' if info.secure else 'plaintext'} stack already runs in {self.state_dir}; "
                    "run `egov-bus dev down` first")
            return info
        if info is not None:
            # A previous stack died partly: stop what is left before starting anew.
            self.down()
        ports = [kafka_port or process.free_port(), process.free_port(), registry_port or process.free_port()]
        ports.append(process.free_port())
        security = secure_stack.prepare(self.state_dir) if secure else None
        broker = KafkaBroker(self.state_dir, ports[0], ports[1], security)
        registry = ApicurioRegistry(self.state_dir, ports[2], ports[3])
        info = StackInfo(
            bootstrap_servers=broker.bootstrap_servers,
            schema_registry_url=registry.url,
            kafka_port=ports[0],
            kafka_controller_port=ports[1],
            registry_port=ports[2],
            registry_management_port=ports[3],
            secure=secure,
            ca_location=str(security.tls.ca_pem) if security else None,
            principals_dir=str(secure_stack.principals_dir(self.state_dir)) if security else None,
        )
        try:
            # Start both before waiting on either: their JVMs warm up in parallel.
            info.processes["kafka"] = broker.start(progress=progress)
            self._write(info)
            info.processes["registry"] = registry.start(progress=progress)
            self._write(info)
            broker.wait_ready(info.processes["kafka"])
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

    # -- for reliability tests: stop and restart the broker, keeping data -----

    def stop_broker(self, hard: bool = False) -> None:
        info = self._require()
        record = info.processes["kafka"]
        process.kill(record) if hard else process.stop(record)

    def start_broker(self) -> None:
        info = self._require()
        security = secure_stack.super_users(self.state_dir) if info.secure else None
        broker = KafkaBroker(self.state_dir, info.kafka_port, info.kafka_controller_port, security)
        info.processes["kafka"] = broker.start(fresh=False)
        self._write(info)
        broker.wait_ready(info.processes["kafka"])

    def _require(self) -> StackInfo:
        info = self.info()
        if info is None:
            raise DevStackError("the local stack is not running; run `egov-bus dev up`")
        return info
