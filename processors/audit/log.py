"""The worker's side of the audit log: collect each interval's records, append their audit records in its commit.

The stream loop hands every record it runs to :meth:`AuditLog.add` (per theme
partition, in offset order); the :class:`~processors.checkpointing.Checkpointer`
asks :meth:`AuditLog.close_interval` for the interval's audit records and
sends them in the same Kafka transaction as the consumed offsets, so an audit
record exists exactly when its interval committed.

The head of each partition's chain (its last record's ``seq`` and ``hash``)
lives in the worker's task state under ``a<topic>``: it goes into the
changelog in the same transaction and into RocksDB once committed, so a
restarted worker, or the next owner of the partition, restores it with the
rest of the task and continues the chain where the last commit left it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from processors.audit.chain import AuditRecord, Entry, build_records, entry_of
from processors.audit.exceptions import AuditError
from processors.pipeline import Outgoing
from processors.state import keys as K
from schemas.signing import SigningKey

log = logging.getLogger("egov.processors.audit")

#: Task-state (and changelog) key prefix of a chain's head: ``a<topic>`` -> JSON ``{"seq", "hash", "last_offset"}``.
HEAD = b"a"


def head_key(topic: str) -> bytes:
    return HEAD + topic.encode()


def commit_time(now_s: float) -> str:
    """The ``time`` of an audit record: the commit's UTC wall-clock time, to the millisecond."""
    return datetime.fromtimestamp(now_s, UTC).isoformat(timespec="milliseconds")


class AuditLog:
    """Entries of the open interval per theme partition, and the audit records that close it."""

    def __init__(self, topic: str, get: Callable[[bytes], bytes | None], key: SigningKey | None) -> None:
        self.topic = topic
        self._get = get  # a task-state read of the local store (committed heads)
        self.key = key
        self.pending: dict[tuple[str, int], list[Entry]] = {}
        if key is None:
            log.warning("no centre signing key (EGOV_CENTRE_SIGNING_KEY_FILE): audit records are written unsigned, "
                        "and `egov-bus audit verify` reports them")

    def add(self, topic: str, partition: int, records: Sequence[Any]) -> None:
        """Records of ``topic[partition]`` that ran in this interval, in offset order."""
        entries = self.pending.get((topic, partition))
        if entries is None:
            entries = self.pending[(topic, partition)] = []
        entries.extend(entry_of(m) for m in records)

    def head(self, topic: str, partition: int) -> tuple[int, str | None]:
        """``(next seq, previous hash)`` of the partition's chain as last committed."""
        raw = self._get(K.task_prefix(partition) + head_key(topic))
        if raw is None:
            return 0, None
        data = json.loads(raw)
        return int(data["seq"]) + 1, str(data["hash"])

    def close_interval(self, now_s: float) -> tuple[list[AuditRecord], dict[int, list[tuple[bytes, bytes]]]]:
        """The interval's audit records, and per task the changelog records of the new chain heads."""
        records: list[AuditRecord] = []
        heads: dict[int, list[tuple[bytes, bytes]]] = {}
        when = commit_time(now_s)
        for (topic, partition), entries in sorted(self.pending.items()):
            if not entries:
                continue
            seq, prev = self.head(topic, partition)
            built = build_records(topic, partition, seq, prev, entries, when, self.key)
            last = built[-1]
            head = json.dumps({"seq": last.seq, "hash": last.hash, "last_offset": last.last_offset},
                              sort_keys=True, separators=(",", ":")).encode()
            heads.setdefault(partition, []).append((head_key(topic), head))
            records += built
        return records, heads

    def outgoing(self, record: AuditRecord) -> Outgoing:
        return Outgoing(self.topic, record.key.encode(), record.encode())

    def reset(self) -> None:
        """The interval is over (committed or aborted): its entries are forgotten."""
        self.pending = {}


def open_audit_log(producer: Any, topic: str, get: Callable[[bytes], bytes | None], key: SigningKey | None,
                   timeout_s: float) -> AuditLog:
    """An :class:`AuditLog` appending to ``topic``; :class:`AuditError` when the topic does not exist."""
    # All topics, not this one: asking for one by name may auto-create it with none of the catalogue's settings.
    found = producer.list_topics(timeout=timeout_s).topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        why = found.error.str() if found is not None and found.error is not None else "it does not exist"
        raise AuditError(f"the audit log {topic} cannot be written ({why}): the operator creates it with "
                         "`egov-bus topics apply`; EGOV_AUDIT_LOG=false runs without it", topic=topic)
    return AuditLog(topic, get, key)


__all__ = ["AuditLog", "HEAD", "head_key", "commit_time", "open_audit_log"]
