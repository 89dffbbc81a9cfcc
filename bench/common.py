"""Shared parts of the benchmarks (B1 ``bench/publish.py``, B2 ``bench/process.py``, B3 ``bench/e2e.py``).

Fresh prefixed catalogues, pre-encoded simulated events, ``egov-bus process``
workers as real process trees (stopped by their process group id), a cheap
consumer-group lag, the median of per-round ratios, target verdicts in one
shape (``bench/summary.py`` prints them) and the machine facts every result
file records.
"""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from confluent_kafka import IsolationLevel, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

import schemas
from bus.kafka.offsets import GroupOffsets
from adapters.privacy import Pseudonymizer
from adapters.sdk import Publisher
from adapters.simulator import generate_events
from schemas.regions import is_current_region
from schemas.topic_names import theme_topic
from topics.catalog import load_catalog
from topics.provision import apply

ROOT = Path(__file__).resolve().parent.parent

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
        spool=None, topic_for=lambda et: theme_topic(et.theme, prefix), signer=None,  # signed per region below
    )
    out = []
    for event in generate_events(seed=seed, count=count, pseudonymizer=Pseudonymizer(PSEUDONYM_KEY)):
        env = event.envelope
        if not is_current_region(env.region_code):  # a legacy code: not a current region
            continue
        et = schemas.event_type(type(event).__name__)
        codec = publisher.codec(et)
        out.append(Encoded(theme_topic(et.theme, prefix), env.region_code.encode(), codec.encode_event(event),
                           codec.headers(env), f"{env.region_code}|{et.theme}", str(env.event_id)))
    return out, publisher


def sign_as_regions(settings: Any, prefix: str, events: list[Encoded], batch: int = 512) -> int:
    """Sign ``events`` as each region's SDK signs its own stream, and register the regions' keys.

    Every region gets a key (registered in ``<prefix>.egov.keys``, valid from
    2000); its events, in order, are signed in batches of up to ``batch``
    (the SDK's streaming batch): one signature per batch, a proof per record.
    Returns the number of signatures.
    """
    from collections import defaultdict
    from datetime import datetime, timezone

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bus.keys.register import KeyRegister
    from schemas.signing import KeyRecord, SigningKey, leaf_of, raw_public_key

    by_region: dict[bytes, list[Encoded]] = defaultdict(list)
    for e in events:
        by_region[e.key].append(e)
    keys = {region: SigningKey(region.decode(), Ed25519PrivateKey.generate()) for region in by_region}
    signatures = 0
    for region, mine in by_region.items():
        for start in range(0, len(mine), batch):
            chunk = mine[start:start + batch]
            for e, extra in zip(chunk, keys[region].sign_batch([leaf_of(e.topic, e.key, e.value, e.headers)
                                                                  for e in chunk])):
                e.headers = [*e.headers, *extra]
            signatures += 1
    since = datetime(2000, 1, 1, tzinfo=timezone.utc)
    KeyRegister(settings, prefix=prefix).write(*(KeyRecord(k.key_id, k.region_code, raw_public_key(k.private_key), since)
                                                 for k in keys.values()))
    return signatures


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

    def __init__(self, admin: AdminClient, topics: list[str], partitions: int, settings: Any) -> None:
        self.admin = admin
        self.settings = settings
        self.topics = {t: list(range(partitions)) for t in topics}
        self.tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        # One reader per group for the whole run: a polling loop must not build a client per poll
        # beside the contender it measures.
        self._readers: dict[str, GroupOffsets] = {}

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        if group not in self._readers:
            self._readers[group] = GroupOffsets(self.settings, group)
        offsets = self._readers[group].committed(self.topics, 10)
        return {tp: offset for tp, offset in offsets.items() if offset >= 0}

    def close(self) -> None:
        """Release the group readers."""
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def ends(self) -> dict[tuple[str, int], int]:
        """Last stable offsets (read_committed): what a transactional reader can reach."""
        futures = self.admin.list_offsets(
            {tp: OffsetSpec.latest() for tp in self.tps},
            isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=10,
        )
        return {(tp.topic, tp.partition): f.result(timeout=10).offset for tp, f in futures.items()}

    def assigned(self, group: str) -> tuple[int, int]:
        """(members, members with partitions) while the broker reports ``group`` Stable; (0, 0) otherwise."""
        from confluent_kafka import ConsumerGroupState

        desc = self.admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
        if desc.state != ConsumerGroupState.STABLE:
            return 0, 0
        owning = sum(1 for m in desc.members if m.assignment is not None and m.assignment.topic_partitions)
        return len(desc.members), owning

    def stable(self, group: str, members: int = 1) -> bool:
        """The broker reports ``group`` Stable with at least ``members`` members, every one of them
        assigned partitions: the rebalance is over (a process tree of N workers: all N joined; under
        cooperative rebalancing, the second phase handed the revoked partitions out)."""
        present, owning = self.assigned(group)
        return present >= members and owning == present

    def lag(self, group: str, ends: dict[tuple[str, int], int] | None = None) -> int:
        ends = ends if ends is not None else self.ends()
        done = self.committed(group)
        return sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items() if end > 0)


def group_stats(pgid: int) -> list[list[str]]:
    """The ``/proc/<pid>/stat`` fields after the command name of each process of group ``pgid``:
    state (0), ppid (1), pgrp (2), ..., utime (11), stime (12)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            found.append(fields)
    return found


def _group_alive(pgid: int) -> bool:
    """Some process of process group ``pgid`` is alive (not a zombie), read from /proc."""
    return any(fields[0] != "Z" for fields in group_stats(pgid))


def stop_tree(proc: "subprocess.Popen[Any]", timeout: float = 30.0) -> int | None:
    """Stop a process tree this process started with ``start_new_session=True`` (its process group
    id is its PID): SIGTERM to the group, SIGKILL to what is left after ``timeout``; its exit code.

    The leader is reaped only at the end, so its group id cannot be reused while it is signalled.
    """
    pgid = proc.pid

    def wait_empty(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while _group_alive(pgid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)  # polling a condition (the group's processes gone), with a deadline
        return True

    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGTERM)
        if not wait_empty(timeout):
            os.killpg(pgid, signal.SIGKILL)
            wait_empty(10)
    return proc.wait(timeout=10)


class WorkerProcess:
    """``egov-bus process --topic-prefix P --workers N`` as one real process tree (its own session;
    with N > 1 the CLI spawns the N workers itself, one consumer group, each child in its own
    subdirectory of the one ``EGOV_PROCESSOR_DATA_DIR``), stopped by its process group id."""

    def __init__(self, settings: Any, prefix: str, guarantee: str, log_dir: Path, workers: int = 1,
                 verify: bool = False, audit: bool = True) -> None:
        self.app_id = f"bench-worker-{uuid.uuid4().hex[:8]}"
        self.workers = workers
        env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
        env.update(
            EGOV_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
            EGOV_SCHEMA_REGISTRY_URL=settings.schema_registry_url,
            EGOV_PROCESSOR_APP_ID=self.app_id,
            EGOV_PROCESSOR_DATA_DIR=tempfile.mkdtemp(prefix="egov-bench-worker-"),
            EGOV_PROCESSING_GUARANTEE=guarantee,
            # B2's verified rounds turn it on (bench/process.py --verify); the others measure the rest.
            EGOV_VERIFY_SIGNATURES="true" if verify else "false",
            EGOV_AUDIT_LOG="true" if audit else "false",
        )
        self.log = log_dir / f"{self.app_id}.log"
        self._out = open(self.log, "wb")
        self.started = time.time()
        self.proc = subprocess.Popen(
            [EGOV, "process", "--topic-prefix", prefix, "--workers", str(workers), "--log-level", "warn"],
            stdout=self._out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        stop_tree(self.proc)
        self._out.close()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# -- per-round ratios and target verdicts ----------------------------------------------------


def round_ratios(contender: Sequence[float], baseline: Sequence[float]) -> dict[str, Any]:
    """Contender ÷ baseline rate of the same round, for every round, and their median.

    On a shared, noisy machine a disturbance slows whatever runs at that moment; a
    ratio taken within one round cancels the slow stretches both readers share, and
    the median over rounds drops the rounds where only one of them was hit.
    """
    ratios = [c / b for c, b in zip(contender, baseline, strict=True)]
    return {"median": round(statistics.median(ratios), 3), "rounds": [round(r, 3) for r in ratios]}


def verdict(target: str, measured: str, met: bool | None) -> dict[str, Any]:
    """One target against its measured figure, with the line every benchmark and the summary print."""
    word = "met" if met else "MISSED" if met is not None else "not measured"
    line = f"target {target}: measured {measured} — {word}"
    return {"target": target, "measured": measured, "met": met, "line": line}


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
