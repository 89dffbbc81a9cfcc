"""Consumer, producer and admin clients of a processor worker, configured in one place.

The settings follow Kafka Streams under exactly-once v2: one transactional
producer per worker whose transactions carry the consumed offsets
(``send_offsets_to_transaction`` with the consumer's group metadata, so a
zombie is fenced by the group generation), ``read_committed`` consumers and a
short transaction timeout, so that a transaction left open
by a killed worker blocks ``read_committed`` readers for seconds, not minutes.
The group instance id and the transactional id derive from the worker's
persistent process id (``<data dir>/process.id``), so a restarted worker
takes its own place back at once: the broker fences and aborts what its
previous incarnation left open, and the group needs no rebalance (static
membership).

The assignment is the range assignor, not cooperative-sticky: views join
theme topics (budget absorption: ``budgeting`` and ``treasury``), so a member
must own the same partition numbers of every theme topic, which range
guarantees for topics of one partition count and cooperative-sticky does not
(Kafka Streams has its own assignor for this). The price is an eager
rebalance; the local state stays on disk, so a partition that stays with its
worker needs no restore.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bus.settings import EgovSettings
from processors.kafka.exceptions import EngineKafkaError

#: How long a dead worker keeps its partitions (the broker's group session timeout).
SESSION_TIMEOUT_MS = 10_000
#: An open transaction of a killed worker aborts within this. Kafka Streams uses 10 s; the fault suite
#: (docs/reliability.md) saw commits outlast 10 s during a broker failover on a loaded 2-core machine,
#: and a transaction the coordinator aborts fences its producer (the worker must restart). A worker
#: restarted on its directory aborts its predecessor's transaction at once (same transactional id).
TRANSACTION_TIMEOUT_MS = 30_000
#: Prefetched records held by librdkafka (the worker's biggest buffer): a bound on memory, not a knob of speed.
QUEUED_MAX_KBYTES = 16 * 1024


def process_id(data_dir: str | Path) -> str:
    """The worker's persistent id: created once in its data directory, the same after every restart."""
    path = Path(data_dir) / "process.id"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pid = uuid.uuid4().hex[:12]
        path.write_text(pid + "\n")
        return pid


def consumer(settings: EgovSettings, *, group_id: str, instance_id: str, **callbacks: Any) -> Consumer:
    """The worker's group consumer of the theme topics."""
    return Consumer(
        settings.librdkafka_config(
            **{
                "group.id": group_id,
                "group.instance.id": instance_id,
                # Co-partitioned: a member gets the same partition numbers of every theme topic.
                "partition.assignment.strategy": "range",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "session.timeout.ms": SESSION_TIMEOUT_MS,
                "heartbeat.interval.ms": 1_000,
                "queued.max.messages.kbytes": QUEUED_MAX_KBYTES,
                "fetch.wait.max.ms": 50,
                **callbacks,
            }
        )
    )


def restore_consumer(settings: EgovSettings, *, group_id: str, isolation: str = "read_committed") -> Consumer:
    """A consumer for changelog partitions (assigned by hand, never committed)."""
    return Consumer(
        settings.librdkafka_config(
            **{
                "group.id": group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": isolation,
                "enable.partition.eof": True,
                "queued.max.messages.kbytes": QUEUED_MAX_KBYTES,
            }
        )
    )


def producer(settings: EgovSettings, *, transactional_id: str | None, **callbacks: Any) -> Producer:
    """The worker's producer: transactional under exactly-once, idempotent either way."""
    conf: dict[str, Any] = {
        "enable.idempotence": True,
        "acks": "all",
        # Outputs count only once their interval commits (which flushes), so waiting up to the
        # interval costs no latency and sends one batch per partition per interval instead of
        # many small ones: the broker's work per event, the bottleneck on a small machine.
        "linger.ms": settings.commit_interval_ms,
        "compression.type": "lz4",
        "message.timeout.ms": int(settings.delivery_timeout_s * 1000),
        **callbacks,
    }
    if transactional_id is not None:
        conf["transactional.id"] = transactional_id
        # A transaction begun while the broker still writes the last one's markers is answered
        # CONCURRENT_TRANSACTIONS and retried; librdkafka's default back-off (100 ms, doubling to
        # 1 s) made offsets take up to 800 ms per 100 ms interval (bench/e2e.py). Retry soon instead,
        # as the Java producer does for this case.
        conf["retry.backoff.ms"] = 5
        conf["retry.backoff.max.ms"] = 50
        conf["transaction.timeout.ms"] = TRANSACTION_TIMEOUT_MS
        # librdkafka: a record may not outlive the transaction it belongs to.
        conf["message.timeout.ms"] = min(conf["message.timeout.ms"], TRANSACTION_TIMEOUT_MS)
    return Producer(settings.librdkafka_config(**conf))


def ensure_compacted_topics(settings: EgovSettings, names: list[str], partitions: int) -> None:
    """Create the changelog topics that do not exist yet (compacted, partitioned like the sources)."""
    admin = AdminClient(settings.librdkafka_config())
    timeout = settings.request_timeout_s
    metadata = admin.list_topics(timeout=timeout)
    existing = set(metadata.topics)
    brokers = len(metadata.brokers) or 1
    replication = min(settings.topic_replication_factor or 3, brokers)
    missing = [
        NewTopic(name, num_partitions=partitions, replication_factor=replication, config={
            "cleanup.policy": "compact",
            "min.insync.replicas": str(min(settings.topic_min_insync_replicas or 2, replication)),
        })
        for name in names
        if name not in existing
    ]
    if not missing:
        return
    for name, future in admin.create_topics(missing, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout * 3)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise EngineKafkaError(f"cannot create changelog topic {name}: {exc.args[0].str()}", topic=name) from exc
