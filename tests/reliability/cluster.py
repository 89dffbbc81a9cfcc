"""The fault suite's cluster: the dev stack's brokers and registry, stopped and started on purpose.

:class:`Cluster` wraps a running :class:`devtools.devstack.DevStack` (3 KRaft brokers when the stack
offers them, else its single node, whose id is ``None``) with what a fault needs: which broker leads
the most partitions, a SIGKILL and a restart, a rolling restart that waits for full ISRs between
nodes, the registry stopped and started, and the registry's schema ids.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import AdminClient

from bus.settings import EgovSettings, load_settings
from devtools.devstack import DevStack
from tests.fixtures.processors import wait_until

#: Node id of the single-node stack (its methods take no node argument).
SINGLE = None


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    """:func:`~tests.fixtures.processors.wait_until` where an error means "not yet" (parts come back)."""
    return wait_until(predicate, timeout, what, interval, retry_errors=True)


@dataclass
class Cluster:
    """A running dev stack and the settings that reach it."""

    stack: DevStack
    info: Any
    settings: EgovSettings

    @classmethod
    def start(cls, state_dir, brokers: int = 3) -> "Cluster":
        """Start a stack of ``brokers`` nodes (1 or 3) in ``state_dir``; a cluster also gets the relay
        listeners the regional faults cut (unused by the others)."""
        stack = DevStack(state_dir)
        info = stack.up(brokers=brokers, relay=brokers > 1, progress=lambda _m: None)
        env = info.env()
        durability = {name: int(env[var]) for name, var in (("topic_replication_factor", "EGOV_TOPIC_REPLICATION_FACTOR"),
                                                              ("topic_min_insync_replicas", "EGOV_TOPIC_MIN_INSYNC_REPLICAS"))
                      if var in env}
        settings = load_settings(
            env_file=None, bootstrap_servers=info.bootstrap_servers, schema_registry_url=info.schema_registry_url,
            schema_auto_register=True, **durability,
        )
        return cls(stack, info, settings)

    # -- what runs ---------------------------------------------------------------------

    @property
    def node_ids(self) -> list[int | None]:
        """The brokers' node ids (``[None]`` on the single-node stack)."""
        nodes = getattr(self.info, "nodes", None) or []
        return [n["node_id"] for n in nodes] or [SINGLE]

    def env(self) -> dict[str, str]:
        """The ``EGOV_*`` settings a process on this cluster gets (connection, replication)."""
        return dict(self.info.env())

    def admin(self) -> AdminClient:
        return AdminClient(self.settings.librdkafka_config())

    def leaders(self, topics: Iterable[str] | None = None) -> Counter:
        """How many partitions of ``topics`` (default: all) each broker leads."""
        md = self.admin().list_topics(timeout=10)
        wanted = set(topics) if topics is not None else None
        counts: Counter = Counter()
        for name, topic in md.topics.items():
            if wanted is None or name in wanted:
                for part in topic.partitions.values():
                    counts[part.leader] += 1
        return counts

    def busiest_broker(self, topics: Iterable[str]) -> int | None:
        """The node that leads the most partitions of ``topics`` (the single node's ``None`` without a cluster)."""
        if self.node_ids == [SINGLE]:
            return SINGLE
        counts = self.leaders(topics)
        return max(self.node_ids, key=lambda n: (counts.get(n, 0), -int(n)))

    def under_replicated(self) -> list[str]:
        """``topic[partition]`` of every partition whose ISR lacks one of its replicas."""
        md = self.admin().list_topics(timeout=10)
        return [f"{name}[{p}]" for name, t in md.topics.items() for p, part in t.partitions.items()
                if part.error is not None or set(part.isrs) != set(part.replicas) or part.leader < 0]

    def wait_fully_replicated(self, timeout: float = 180.0) -> None:
        """Until every partition's ISR has all its replicas again (after a broker came back)."""
        last: list[str] = []

        def full() -> bool:
            last[:] = self.under_replicated()
            return not last

        try:
            wait_for(full, timeout, "every partition's ISR to be full", interval=1.0)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; still short: {', '.join(last[:10])}") from None

    # -- faults ----------------------------------------------------------------------------

    def kill_broker(self, node_id: int | None) -> None:
        """SIGKILL one broker (no controlled shutdown)."""
        self.stack.stop_broker(node_id, hard=True)

    def stop_broker(self, node_id: int | None) -> None:
        """SIGTERM one broker: a controlled shutdown that moves its leaderships first."""
        self.stack.stop_broker(node_id, hard=False)

    def start_broker(self, node_id: int | None) -> None:
        """Restart a stopped broker with its data; returns once it answers."""
        self.stack.start_broker(node_id)

    def rolling_restart(self, on_node: Callable[[int | None, float], None] | None = None) -> None:
        """Each broker in turn: controlled stop, start, wait for full ISRs; ``on_node(id, seconds)`` after each."""
        for node in self.node_ids:
            began = time.monotonic()
            self.stop_broker(node)
            self.start_broker(node)
            self.wait_fully_replicated()
            if on_node is not None:
                on_node(node, time.monotonic() - began)

    def ensure_running(self) -> None:
        """Start whatever a failed test left stopped (brokers, registry), then wait for full ISRs."""
        status = self.stack.status()
        for node in self.node_ids:
            if not status.get("kafka" if node is SINGLE else f"kafka-{node}", True):
                self.start_broker(node)
        if not status.get("registry", True):
            self.start_registry()
        self.wait_fully_replicated()

    def stop_registry(self) -> None:
        self.stack.stop_registry()

    def start_registry(self) -> None:
        self.stack.start_registry()

    # -- the registry's view -----------------------------------------------------------------

    def _registry_get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.settings.schema_registry_url.rstrip('/')}{path}", timeout=10) as resp:
            return json.loads(resp.read())

    def schema_ids(self, subject_prefix: str) -> dict[str, int]:
        """``subject -> id`` of the latest version of every subject starting with ``subject_prefix`` (ccompat API)."""
        subjects = [s for s in self._registry_get("/subjects") if s.startswith(subject_prefix)]
        return {s: int(self._registry_get(f"/subjects/{urllib.request.quote(s, safe='')}/versions/latest")["id"])
                for s in sorted(subjects)}
