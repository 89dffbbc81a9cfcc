"""What ``egov-bus status`` asks the cluster and the registry, as plain data (JSON-ready)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import (
    Consumer,
    IsolationLevel,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from bus.errors import EgovBusError
from bus.kafka.offsets import committed as committed_offsets
from bus.kafka.offsets import spans as offset_spans
from bus.kafka.offsets import watermarks
from schemas.event_types import THEMES
from schemas.topic_names import dlq_topic, parse_topic

#: Exit codes of ``egov-bus status`` (documented in docs/operations.md).
EXIT_CODES = {
    "ok": 0,                  # every part answered
    "kafka_down": 2,          # no broker answered (the registry may be down too)
    "registry_down": 3,       # Kafka answers, the schema registry does not
    "broker_down": 4,         # the cluster answers, but one of its brokers (or a bootstrap address) does not
}
#: How long one broker probe may take (a cluster of several brokers is probed in parallel).
PROBE_TIMEOUT_S = 3.0
#: A DLQ with at most this many offsets is counted record by record; a larger one shows end - start offsets.
DLQ_COUNT_LIMIT = 10_000
#: Records read back from the end of each view partition to find its last update (transaction markers
#: take offsets too, so the last offset is not always a record).
_VIEW_TAIL = 5


@dataclass(frozen=True)
class StatusOptions:
    """What to look at beyond the settings: more groups and spool directories, the silence window."""

    groups: tuple[str, ...] = ()
    spool_dirs: tuple[str, ...] = ()
    days: int = 7
    prefix: str | None = None


@dataclass(frozen=True)
class Section:
    """A part of the report another package contributes (see :func:`add_section`).

    ``collect(settings, options, now)`` returns JSON-ready data (stored under ``name``);
    ``render(data, now)`` a rich renderable (``now``: when the report was made); ``needs`` is ``"kafka"``, ``"registry"`` (both) or ``None``.
    """

    name: str
    collect: Callable[[Any, StatusOptions, datetime], Any]
    render: Callable[[Any], Any]
    needs: str | None = None


_SECTIONS: dict[str, Section] = {}


def add_section(section: Section) -> None:
    """Add (or replace, by name) a section of the report; called when a package plugs in its commands."""
    _SECTIONS[section.name] = section


def sections() -> list[Section]:
    """The contributed sections, in the order they were added."""
    return list(_SECTIONS.values())


@dataclass
class StatusReport:
    """Everything ``status`` found; :meth:`to_json` is the ``--json`` document (stable keys)."""

    checked_at: datetime
    kafka: dict[str, Any]
    registry: dict[str, Any]
    consumer_groups: list[dict[str, Any]] = field(default_factory=list)
    dlq: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when all is up, else the code of the first part down (:data:`EXIT_CODES`)."""
        if not self.kafka["reachable"]:
            return EXIT_CODES["kafka_down"]
        if not self.registry["reachable"]:
            return EXIT_CODES["registry_down"]
        if any(not b["reachable"] for b in self.kafka["brokers"]):
            return EXIT_CODES["broker_down"]
        return EXIT_CODES["ok"]

    def problems(self) -> list[str]:
        """One line per part that is down, naming it and what to do."""
        lines = []
        if not self.kafka["reachable"]:
            lines.append(self.kafka["error"])
        else:
            lines += [f"Kafka broker {b['id']} at {b['address']} does not answer" for b in self.kafka["brokers"]
                      if not b["reachable"]]
        if not self.registry["reachable"]:
            lines.append(self.registry["error"])
        return lines

    def to_json(self) -> dict[str, Any]:
        """The report as the documented JSON document (times as ISO 8601 UTC strings)."""
        return {
            "checked_at": iso(self.checked_at),
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "problems": self.problems(),
            "kafka": self.kafka,
            "registry": self.registry,
            "consumer_groups": self.consumer_groups,
            "dlq": self.dlq,
            "views": self.views,
            **self.extra,
        }


def iso(value: datetime | None) -> str | None:
    """``2026-12-01T07:11:51Z`` (UTC, seconds), or None."""
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms_time(ms: int | None) -> datetime | None:
    return None if not ms or ms <= 0 else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def collect(settings: Any, options: StatusOptions = StatusOptions(), *,
            now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> StatusReport:
    """Ask every part; a part that is down is reported, not raised (the sections that need it are skipped)."""
    from bus.kafka.connectivity import check_connection
    from bus.serde.registry import check_registry

    checked_at = now()
    with ThreadPoolExecutor(max_workers=2) as pool:
        # The registry's answer does not wait for a Kafka that may take the whole timeout to give up.
        registry_future = pool.submit(_registry, settings, check_registry)
        kafka_error = None
        try:
            check_connection(settings)
        except EgovBusError as exc:
            kafka_error = str(exc)
        registry = registry_future.result()
    if kafka_error is not None:
        kafka = {"bootstrap": settings.bootstrap_servers, "reachable": False, "error": kafka_error,
                 "controller": None, "brokers": [
                     {"id": None, "address": a.strip(), "reachable": False, "controller": False}
                     for a in settings.bootstrap_servers.split(",")]}
        report = StatusReport(checked_at, kafka, registry)
        collect_offline_sections(settings, options, report)
        return report
    admin = AdminClient(settings.librdkafka_config())
    metadata = admin.list_topics(timeout=settings.request_timeout_s)
    report = StatusReport(checked_at, _brokers(settings, metadata), registry)
    report.consumer_groups = _groups(settings, admin, metadata, (settings.processor_app_id, *options.groups))
    dlq_topics = {theme: dlq_topic(theme, options.prefix) for theme in THEMES}
    view_topics = sorted(t for t in metadata.topics if _is_view(t, options.prefix))
    partitions = {t: sorted(metadata.topics[t].partitions) for t in [*dlq_topics.values(), *view_topics]
                  if t in metadata.topics}
    low, high = watermarks(admin, partitions, settings.request_timeout_s)
    spans = offset_spans(partitions, low, high)
    # Counted record by record while small: the processors write dead letters in transactions, and each
    # commit marker takes an offset too, so end - start alone overstates the depth.
    countable = {t: partitions[t] for t in dlq_topics.values() if t in partitions and 0 < spans[t] <= DLQ_COUNT_LIMIT}
    counted = _count_records(settings, countable, low, high)
    for theme, topic in dlq_topics.items():
        exact = topic in partitions and (spans[topic] == 0 or topic in counted)
        depth = None if topic not in partitions else (counted.get(topic, 0) if exact else spans[topic])
        report.dlq.append({"theme": theme, "topic": topic, "depth": depth, "exact": exact})
    last = _last_record_times(settings, {t: partitions[t] for t in view_topics}, low, high)
    for topic in view_topics:
        report.views.append({"view": parse_topic(topic).part, "topic": topic,  # type: ignore[union-attr]
                             "offsets": sum(high[(topic, p)] - low[(topic, p)] for p in partitions[topic]),
                             "last_update": iso(last.get(topic))})
    for section in sections():
        if section.needs == "registry" and not registry["reachable"]:
            report.extra[section.name] = None
            continue
        report.extra[section.name] = section.collect(settings, options, checked_at)
    return report


def collect_offline_sections(settings: Any, options: StatusOptions, report: StatusReport) -> None:
    """The sections that need neither Kafka nor the registry (the local spools), also when Kafka is down."""
    for section in sections():
        if section.needs is None and section.name not in report.extra:
            report.extra[section.name] = section.collect(settings, options, report.checked_at)


def _registry(settings: Any, check: Callable[[Any], Any]) -> dict[str, Any]:
    try:
        check(settings)
    except EgovBusError as exc:
        return {"url": settings.schema_registry_url, "reachable": False, "error": str(exc)}
    return {"url": settings.schema_registry_url, "reachable": True, "error": None}


def _is_view(topic: str, prefix: str | None) -> bool:
    name = parse_topic(topic)
    return name is not None and name.kind == "view" and (name.prefix or None) == (prefix or None)


def _brokers(settings: Any, metadata: Any) -> dict[str, Any]:
    listed = {f"{b.host}:{b.port}": b.id for b in metadata.brokers.values()}
    addresses = list(listed)
    # A bootstrap address the cluster does not list (a broker that left, a typo) is shown too.
    addresses += [a.strip() for a in settings.bootstrap_servers.split(",") if a.strip() not in listed]
    with ThreadPoolExecutor(max_workers=max(1, len(addresses))) as pool:
        reachable = dict(zip(addresses, pool.map(lambda a: _probe(settings, a), addresses)))
    brokers = [{"id": listed.get(a), "address": a, "reachable": reachable[a],
                "controller": listed.get(a) is not None and listed.get(a) == metadata.controller_id}
               for a in addresses]
    brokers.sort(key=lambda b: (b["id"] is None, b["id"] if b["id"] is not None else 0, b["address"]))
    return {"bootstrap": settings.bootstrap_servers, "reachable": True, "error": None,
            "controller": metadata.controller_id if metadata.controller_id >= 0 else None, "brokers": brokers}


def _probe(settings: Any, address: str) -> bool:
    """True when the broker at ``address`` itself answers a metadata request."""
    client = AdminClient(settings.librdkafka_config(**{"bootstrap.servers": address}))
    try:
        client.list_topics(timeout=PROBE_TIMEOUT_S)
        return True
    except KafkaException:
        return False


def _groups(settings: Any, admin: AdminClient, metadata: Any, groups: tuple[str, ...]) -> list[dict[str, Any]]:
    timeout = settings.request_timeout_s
    out = []
    groups = tuple(dict.fromkeys(groups))
    described = admin.describe_consumer_groups(list(groups), request_timeout=timeout)
    # Internal topics (__consumer_offsets, the registry's) are nobody's work to report.
    topics = {t: sorted(md.partitions) for t, md in metadata.topics.items() if not t.startswith("_")}
    for group in groups:
        state, members = None, None
        try:
            desc = described[group].result(timeout=timeout)
            state, members = desc.state.name.lower(), len(desc.members)
        except KafkaException:
            pass
        try:
            offsets = committed_offsets(settings, group, topics, timeout)
        except KafkaException:
            offsets = {}  # a coordinator still loading or moving: no lag to report this time
        parts = [TopicPartition(t, p, o) for (t, p), o in offsets.items() if o >= 0]
        lag = None
        if parts:
            ends = admin.list_offsets({TopicPartition(tp.topic, tp.partition): OffsetSpec.latest() for tp in parts},
                                      isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=timeout)
            lag = sum(max(0, ends_of(ends, tp, timeout) - tp.offset) for tp in parts)
        out.append({"group": group, "state": state, "members": members,
                    "partitions": len(parts), "topics": len({tp.topic for tp in parts}), "lag": lag})
    return out


def ends_of(futures: dict[TopicPartition, Any], tp: TopicPartition, timeout: float) -> int:
    """The offset a ``list_offsets`` answer gives for ``tp`` (its futures are keyed by new TopicPartitions)."""
    for key, future in futures.items():
        if key.topic == tp.topic and key.partition == tp.partition:
            return future.result(timeout=timeout).offset
    return tp.offset


def _count_records(settings: Any, partitions: dict[str, list[int]], low: dict[tuple[str, int], int],
                   high: dict[tuple[str, int], int]) -> dict[str, int]:
    """Committed records of each topic, read to the end (a topic not read to the end in time is left out)."""
    wanted = {(t, p): high[(t, p)] for t, ps in partitions.items() for p in ps if high[(t, p)] > low[(t, p)]}
    if not wanted:
        return {t: 0 for t in partitions}
    counts = {t: 0 for t in partitions}
    unfinished = _read(settings, [TopicPartition(t, p, low[(t, p)]) for (t, p) in wanted], wanted,
                       lambda msg: counts.__setitem__(msg.topic(), counts[msg.topic()] + 1))
    return {t: n for t, n in counts.items() if t not in unfinished}


def _read(settings: Any, start: list[TopicPartition], ends: dict[tuple[str, int], int],
          each: Callable[[Any], None]) -> set[str]:
    """Read each partition from its start to its end (read_committed); the topics not finished in time."""
    consumer = Consumer(settings.librdkafka_config(**{
        "group.id": f"egov-status-{uuid.uuid4().hex}", "enable.auto.commit": False,
        "isolation.level": "read_committed", "enable.partition.eof": True}))
    pending = set(ends)
    try:
        consumer.assign(start)
        deadline = time.monotonic() + settings.request_timeout_s
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.2):
                key = (msg.topic(), msg.partition())
                if msg.error() is not None:
                    pending.discard(key)  # the end of the partition (markers included)
                    continue
                each(msg)
                if msg.offset() + 1 >= ends[key]:
                    pending.discard(key)
    finally:
        consumer.close()
    return {t for t, _p in pending}


def _last_record_times(settings: Any, partitions: dict[str, list[int]], low: dict[tuple[str, int], int],
                       high: dict[tuple[str, int], int]) -> dict[str, datetime]:
    """The broker time of the last record of each topic (from the last few offsets of each partition)."""
    wanted = {(t, p): high[(t, p)] for t, ps in partitions.items() for p in ps if high[(t, p)] > low[(t, p)]}
    if not wanted:
        return {}
    latest: dict[str, int] = {}

    def note(msg: Any) -> None:
        _kind, stamp = msg.timestamp()
        latest[msg.topic()] = max(latest.get(msg.topic(), 0), stamp)

    _read(settings, [TopicPartition(t, p, max(low[(t, p)], end - _VIEW_TAIL)) for (t, p), end in wanted.items()],
          wanted, note)
    return {t: at for t, ms in latest.items() if (at := _ms_time(ms)) is not None}
