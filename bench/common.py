"""Shared parts of the processor benchmarks (B2 ``bench/process.py``, B3 ``bench/e2e.py``).

Fresh prefixed catalogues, pre-encoded simulated events, ``egov-bus process``
workers as real processes (stopped by PID), a cheap consumer-group lag and
the machine facts every result file records.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, IsolationLevel, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import schemas  # noqa: E402
from adapters.privacy import Pseudonymizer  # noqa: E402
from adapters.sdk import Publisher  # noqa: E402
from adapters.simulator.generator import generate_events  # noqa: E402
from bus.devstack.process import stop_child  # noqa: E402
from processors.transform import current_region_code  # noqa: E402
from topics.catalog import load_catalog  # noqa: E402
from topics.provision import apply  # noqa: E402

EGOV = str(ROOT / ".venv" / "bin" / "egov-bus")
PSEUDONYM_KEY = "bench-key-not-secret-xx"


def new_prefix(kind: str) -> str:
    return f"bench{kind}{uuid.uuid4().hex[:6]}"


def provision(admin: AdminClient, prefix: str) -> list[str]:
    """Create the whole catalogue under ``prefix``; return its theme topic names."""
    catalog = load_catalog(prefix=prefix)
    apply(admin, catalog, timeout=30)
    return [t.name for t in catalog.of_kind("theme")]


@dataclass(slots=True)
class Encoded:
    """One simulated event as it goes on the wire (what the SDK produces)."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, Any]]
    view_key: str  # integration_index key: "<region_code>|<theme>"
    event_id: str


def encode_events(settings: Any, prefix: str, seed: int, count: int) -> tuple[list[Encoded], Publisher]:
    """``count`` simulated events (seed ``seed``), encoded by the SDK's codec for ``prefix``'s topics.

    Legacy (pre-2022 Papua) region codes are left out: the worker re-publishes
    those under the current code, which would change their order per key.
    """
    publisher = Publisher(
        settings, source_system="bench", component=f"bench-{uuid.uuid4().hex[:6]}",
        spool=None, topic_for=lambda et: f"{prefix}.{et.topic}",
    )
    out = []
    for event in generate_events(seed=seed, count=count, pseudonymizer=Pseudonymizer(PSEUDONYM_KEY)):
        env = event.envelope
        if current_region_code(env.region_code) != env.region_code:
            continue
        et = schemas.event_type(type(event).__name__)
        codec = publisher.codec(et)
        out.append(Encoded(f"{prefix}.{et.topic}", env.region_code.encode(), codec.encode_event(event),
                           codec.headers(env), f"{env.region_code}|{et.theme}", str(env.event_id)))
    return out, publisher


def produce_all(settings: Any, events: list[Encoded], timeout: float = 120.0) -> None:
    """Produce pre-encoded events with the SDK's producer settings (idempotent, acks=all)."""
    from bus.kafka import EgovProducer

    producer = EgovProducer(settings)
    raw = producer.raw
    for e in events:
        while True:
            try:
                raw.produce(e.topic, e.value, e.key, headers=e.headers)
                break
            except BufferError:
                raw.poll(0.05)
    producer.flush(timeout)


class Lag:
    """Consumer-group progress in two broker requests (committed offsets, end offsets),
    not one request per partition as ``tests.fixtures.processors.group_lag``."""

    def __init__(self, admin: AdminClient, topics: list[str], partitions: int) -> None:
        self.admin = admin
        self.tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        request = [ConsumerGroupTopicPartitions(group)]
        result = self.admin.list_consumer_group_offsets(request, request_timeout=10)[group].result(timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}

    def ends(self) -> dict[tuple[str, int], int]:
        """Last stable offsets (read_committed): what a transactional reader can reach."""
        futures = self.admin.list_offsets(
            {tp: OffsetSpec.latest() for tp in self.tps},
            isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=10,
        )
        return {(tp.topic, tp.partition): f.result(timeout=10).offset for tp, f in futures.items()}

    def stable(self, group: str) -> bool:
        """The broker reports ``group`` Stable with every member assigned (the rebalance is over)."""
        from confluent_kafka import ConsumerGroupState

        desc = self.admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
        return desc.state == ConsumerGroupState.STABLE and bool(desc.members) and all(
            m.assignment is not None and m.assignment.topic_partitions for m in desc.members
        )

    def lag(self, group: str, ends: dict[tuple[str, int], int] | None = None) -> int:
        ends = ends if ends is not None else self.ends()
        done = self.committed(group)
        return sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items() if end > 0)


class WorkerProcess:
    """``egov-bus process --topic-prefix P`` as a real process, stopped by PID."""

    def __init__(self, settings: Any, prefix: str, guarantee: str, log_dir: Path) -> None:
        self.app_id = f"bench-worker-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
        env.update(
            EGOV_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
            EGOV_SCHEMA_REGISTRY_URL=settings.schema_registry_url,
            EGOV_PROCESSOR_APP_ID=self.app_id,
            EGOV_PROCESSOR_DATA_DIR=tempfile.mkdtemp(prefix="egov-bench-worker-"),
            EGOV_PROCESSING_GUARANTEE=guarantee,
        )
        self.log = log_dir / f"{self.app_id}.log"
        self._out = open(self.log, "wb")
        self.started = time.time()
        self.proc = subprocess.Popen(
            [EGOV, "process", "--topic-prefix", prefix, "--workers", "1", "--log-level", "warn"],
            stdout=self._out, stderr=subprocess.STDOUT, env=env,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        stop_child(self.proc)
        self._out.close()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {}
    for name in ("faust-streaming", "aiokafka", "confluent-kafka", "fastavro", "pydantic"):
        try:
            out[name] = version(name)
        except Exception:  # pragma: no cover - informational only
            out[name] = "?"
    import confluent_kafka

    out["librdkafka"] = confluent_kafka.libversion()[0]
    return out


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    """Machine facts; the load averages before and after the run (the machine is shared)."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "versions": versions(),
    }


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
