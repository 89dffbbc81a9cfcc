"""Idempotent provisioning of the catalogue with the Kafka AdminClient.

:func:`plan` compares the catalogue with the cluster; :func:`apply` creates
missing topics and, with ``fix=True``, repairs drift that can be repaired
(configs with an incremental alter, partition counts by adding partitions).
Drift that cannot be repaired online (fewer partitions wanted than exist, a
different replication factor) is reported, never "fixed" destructively.

Production values of ``replication_factor`` and ``min.insync.replicas`` are
clamped to the broker count, and the report says so, so that the same
catalogue applies to the single local broker.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from bus.retry import RetryPolicy
from topics.catalog import Catalog, TopicSpec
from topics.exceptions import ProvisioningError

DriftKind = Literal["config", "partitions", "replication"]

#: Delays between the tries of an admin operation that a broker answered with a
#: retriable error, and between polls for new topics or configs to show: short
#: (a KRaft broker learns of a new topic within milliseconds to a second), jittered
#: (several provisioners of one cluster do not ask in step); the operation's
#: ``timeout`` bounds each loop.
ADMIN_RETRY = RetryPolicy(initial_s=0.05, cap_s=1.0, floor_s=0.02)


class _NotYetDescribed(ProvisioningError):
    """Describing a topic failed with a retriable error (a just-created topic not yet known to every broker)."""


@dataclass(frozen=True)
class Drift:
    """One difference between the catalogue and the cluster."""

    topic: str
    kind: DriftKind
    key: str
    wanted: str
    actual: str
    fixable: bool

    def __str__(self) -> str:
        tail = "" if self.fixable else " (cannot be fixed online)"
        return f"{self.topic}: {self.key} is {self.actual}, catalogue says {self.wanted}{tail}"


@dataclass(frozen=True)
class TopicState:
    """What the cluster holds for one catalogue topic."""

    spec: TopicSpec
    exists: bool
    partitions: int | None = None
    replication_factor: int | None = None
    config: dict[str, str] = field(default_factory=dict)
    drift: tuple[Drift, ...] = ()


@dataclass
class Plan:
    """Catalogue vs cluster."""

    brokers: int
    states: list[TopicState]
    notes: list[str]

    @property
    def missing(self) -> list[TopicSpec]:
        return [s.spec for s in self.states if not s.exists]

    @property
    def drift(self) -> list[Drift]:
        return [d for s in self.states for d in s.drift]


@dataclass
class ApplyReport:
    """What :func:`apply` did."""

    brokers: int
    created: list[str] = field(default_factory=list)
    fixed: list[Drift] = field(default_factory=list)
    #: Drift left as is (no ``fix``, or not fixable online).
    drift: list[Drift] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.fixed)

    @property
    def clean(self) -> bool:
        """True when the cluster matches the catalogue after the run."""
        return not self.drift

    def summary(self) -> str:
        if not self.changed and not self.drift:
            return f"no change: all {len(self.unchanged)} topics match the catalogue"
        parts = []
        if self.created:
            parts.append(f"created {len(self.created)}")
        if self.fixed:
            parts.append(f"fixed {len(self.fixed)} drift")
        if self.drift:
            parts.append(f"{len(self.drift)} drift left")
        parts.append(f"{len(self.unchanged)} unchanged")
        return ", ".join(parts)


def _wait(futures: dict[Any, Any], timeout: float, what: str) -> dict[Any, Any]:
    """Each future's result, or its KafkaException (the caller decides); no answer in time is a ProvisioningError."""
    results: dict[Any, Any] = {}
    for key, fut in futures.items():
        try:
            results[key] = fut.result(timeout=timeout)
        except KafkaException as exc:
            results[key] = exc
        except (FutureTimeoutError, CancelledError) as exc:
            # Anything else a future raises is a bug and propagates as itself.
            raise ProvisioningError(f"{what} {key}: no answer within {timeout}s ({type(exc).__name__}: {exc})") from exc
    return results


def broker_count(admin: AdminClient, timeout: float) -> int:
    """Brokers in the cluster (at least 1)."""
    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ProvisioningError(f"cannot reach the cluster within {timeout}s: {exc}") from exc
    return max(1, len(md.brokers))


def _describe(
    admin: AdminClient,
    names: list[str],
    timeout: float,
    *,
    sleep: Callable[[float], None] | None = None,
) -> dict[str, dict[str, str]]:
    """Topic configs by name; retries (:data:`ADMIN_RETRY`, within ``timeout``) while a just-created topic is not yet known to every broker."""
    configs: dict[str, dict[str, str]] = {}
    pending = list(names)

    def describe_pending() -> None:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in pending]
        retry: list[tuple[str, KafkaException]] = []
        for res, result in _wait(admin.describe_configs(resources, request_timeout=timeout), timeout, "describing").items():
            if isinstance(result, KafkaException):
                err = result.args[0]
                if isinstance(err, KafkaError) and err.retriable():
                    retry.append((res.name, result))
                    continue
                detail = f"{err.str()} ({err.name()})" if isinstance(err, KafkaError) else str(result)
                hint = "; these commands need the operator's settings" if isinstance(err, KafkaError) and \
                    err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED else ""
                raise ProvisioningError(f"describing {res.name}: {detail}{hint}", topic=res.name)
            configs[res.name] = {k: v.value for k, v in result.items()}
        pending[:] = [name for name, _ in retry]
        if retry:
            name, result = retry[0]
            # Still retriable when the timeout is over: the caller sees this error.
            raise _NotYetDescribed(f"describing {name}: {result}", topic=name)

    if pending:
        try:
            replace(ADMIN_RETRY, deadline_s=timeout).call(describe_pending, _NotYetDescribed, sleep=sleep)
        except _NotYetDescribed as exc:
            raise ProvisioningError(exc.message, topic=exc.fields["topic"]) from exc
    return configs


def plan(admin: AdminClient, catalog: Catalog, *, timeout: float = 10.0) -> Plan:
    """Compare the catalogue with the cluster (read-only)."""
    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ProvisioningError(f"cannot reach the cluster within {timeout}s: {exc}") from exc
    brokers = max(1, len(md.brokers))
    notes: list[str] = []
    existing = {t.name: spec for t in catalog.topics if (spec := md.topics.get(t.name)) is not None and spec.error is None}
    configs = _describe(admin, list(existing), timeout)
    states: list[TopicState] = []
    for spec in catalog.topics:
        rf, config, clamp_notes = spec.effective(brokers)
        for n in clamp_notes:
            if n not in notes:
                notes.append(n)
        meta = existing.get(spec.name)
        if meta is None:
            states.append(TopicState(spec, exists=False))
            continue
        partitions = len(meta.partitions)
        actual_rf = min((len(p.replicas) for p in meta.partitions.values()), default=0)
        actual_config = configs.get(spec.name, {})
        drift: list[Drift] = []
        if partitions != spec.partitions:
            drift.append(
                Drift(spec.name, "partitions", "partitions", str(spec.partitions), str(partitions), fixable=partitions < spec.partitions)
            )
        if actual_rf != rf:
            drift.append(Drift(spec.name, "replication", "replication.factor", str(rf), str(actual_rf), fixable=False))
        for key, wanted in config.items():
            actual = actual_config.get(key)
            if actual != wanted:
                drift.append(Drift(spec.name, "config", key, wanted, str(actual), fixable=True))
        states.append(TopicState(spec, True, partitions, actual_rf, actual_config, tuple(drift)))
    return Plan(brokers=brokers, states=states, notes=notes)


def apply(
    admin: AdminClient,
    catalog: Catalog,
    *,
    fix: bool = False,
    timeout: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> ApplyReport:
    """Create missing topics; report drift; fix what can be fixed when ``fix``. Idempotent."""
    say = progress or (lambda _m: None)
    current = plan(admin, catalog, timeout=timeout)
    report = ApplyReport(brokers=current.brokers, notes=list(current.notes))

    missing = current.missing
    if missing:
        new = []
        for spec in missing:
            rf, config, _ = spec.effective(current.brokers)
            new.append(NewTopic(spec.name, spec.partitions, rf, config=config))
        say(f"creating {len(new)} topics")
        results = _wait(admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout), timeout * 2, "creating")
        for name, result in results.items():
            if isinstance(result, KafkaException):
                err = result.args[0]
                if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    # created concurrently by another apply: it is there, which is what we wanted
                    report.unchanged.append(name)
                    continue
                raise ProvisioningError(f"creating {name}: {result}", topic=name)
            report.created.append(name)
        # KRaft brokers learn about new topics a moment after CreateTopics returns:
        # return only once they are visible, so the next apply, list or produce sees them.
        _await(lambda: _visible(admin, {s.name: s.partitions for s in missing}, timeout), timeout, "new topics to appear")
        raced = [n for n in (s.name for s in missing) if n not in report.created]
        if raced:  # created concurrently by someone else: compare them like the others
            report.unchanged = [n for n in report.unchanged if n not in raced]
            sub = replace(catalog, topics=tuple(t for t in catalog.topics if t.name in raced))
            current.states.extend(s for s in plan(admin, sub, timeout=timeout).states if s.exists)

    for state in current.states:
        if not state.exists:
            continue
        if not state.drift:
            report.unchanged.append(state.spec.name)
            continue
        fixable = [d for d in state.drift if d.fixable]
        report.drift.extend(d for d in state.drift if not d.fixable)
        if not fix:
            report.drift.extend(fixable)
            continue
        _fix(admin, state.spec.name, fixable, timeout)
        report.fixed.extend(fixable)
        say(f"fixed {len(fixable)} drift on {state.spec.name}")
    report.drift.sort(key=lambda d: (d.topic, d.key))
    return report


def _await(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` (with the delays of :data:`ADMIN_RETRY`) until true; bounded by ``timeout``."""
    if not ADMIN_RETRY.wait_until(condition, timeout):
        raise ProvisioningError(f"timed out after {timeout}s waiting for {what}")


def _visible(admin: AdminClient, partitions: dict[str, int], timeout: float) -> bool:
    topics = admin.list_topics(timeout=timeout).topics
    return all(n in topics and topics[n].error is None and len(topics[n].partitions) >= p for n, p in partitions.items())


def _configs_are(admin: AdminClient, topic: str, wanted: dict[str, str], timeout: float) -> bool:
    actual = _describe(admin, [topic], timeout).get(topic, {})
    return all(actual.get(k) == v for k, v in wanted.items())


def _fix(admin: AdminClient, topic: str, drift: list[Drift], timeout: float) -> None:
    config = [d for d in drift if d.kind == "config"]
    if config:
        res = ConfigResource(
            ConfigResource.Type.TOPIC,
            topic,
            incremental_configs=[ConfigEntry(d.key, d.wanted, incremental_operation=AlterConfigOpType.SET) for d in config],
        )
        for _, result in _wait(admin.incremental_alter_configs([res], request_timeout=timeout), timeout, "altering").items():
            if isinstance(result, Exception):
                raise ProvisioningError(f"altering configs of {topic}: {result}", topic=topic)
        wanted = {d.key: d.wanted for d in config}
        _await(lambda: _configs_are(admin, topic, wanted, timeout), timeout, f"new configs of {topic}")
    for d in drift:
        if d.kind == "partitions":
            futures = admin.create_partitions([NewPartitions(topic, int(d.wanted))], request_timeout=timeout)
            for _, result in _wait(futures, timeout, "adding partitions to").items():
                if isinstance(result, Exception):
                    raise ProvisioningError(f"adding partitions to {topic}: {result}", topic=topic)
            _await(lambda: _visible(admin, {topic: int(d.wanted)}, timeout), timeout, f"partitions of {topic}")
