"""The worker's audit log: entries per partition, records linked to the committed head."""

from __future__ import annotations

import json

from processors.audit.chain import AuditRecord, entry_digest
from processors.audit.log import AuditLog, commit_time, head_key
from processors.state import keys as K
from tests.processors.audit.test_chain import CENTRE


class Msg:
    def __init__(self, offset: int, value: bytes, key: bytes = b"32.01") -> None:
        self._offset, self._value, self._key = offset, value, key

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value

    def headers(self) -> list:
        return [("ce_id", b"id-%d" % self._offset)]


def test_records_per_partition_chained_to_the_committed_head() -> None:
    state: dict[bytes, bytes] = {}
    audit = AuditLog("egov.audit.log", state.get, CENTRE)
    audit.add("egov.budgeting.events", 3, [Msg(0, b"a"), Msg(1, b"b")])
    audit.add("egov.treasury.events", 3, [Msg(5, b"c")])
    audit.add("egov.budgeting.events", 3, [Msg(3, b"d")])  # offset 2: a transaction marker
    records, heads = audit.close_interval(1767225600.25)
    assert [(r.key, r.seq, r.prev, r.first_offset, r.last_offset, r.count) for r in records] == [
        ("egov.budgeting.events:3", 0, None, 0, 3, 3), ("egov.treasury.events:3", 0, None, 5, 5, 1)]
    assert records[0].time == commit_time(1767225600.25) == "2026-01-01T00:00:00.250+00:00"
    assert records[0].offsets == [[0, 2], [3, 1]]  # runs of offsets
    assert records[0].entry_list()[1] == (1, entry_digest(b"32.01", b"b", [("ce_id", b"id-1")]))
    assert list(heads) == [3] and [k for k, _ in heads[3]] == [head_key("egov.budgeting.events"),
                                                             head_key("egov.treasury.events")]
    out = audit.outgoing(records[0])
    assert (out.topic, out.key) == ("egov.audit.log", b"egov.budgeting.events:3")
    assert AuditRecord.decode(out.value) == records[0]

    # Committed: the heads reach the task state; the next interval links to them.
    for key, value in heads[3]:
        state[K.task_prefix(3) + key] = value
    assert json.loads(heads[3][0][1]) == {"seq": 0, "hash": records[0].hash, "last_offset": 3}
    audit.reset()
    audit.add("egov.budgeting.events", 3, [Msg(4, b"e")])
    (nxt,), _ = audit.close_interval(1767225601.0)
    assert (nxt.seq, nxt.prev, nxt.first_offset) == (1, records[0].hash, 4)


def test_an_aborted_interval_leaves_no_trace() -> None:
    state: dict[bytes, bytes] = {}
    audit = AuditLog("egov.audit.log", state.get, None)
    audit.add("t", 0, [Msg(0, b"a")])
    audit.reset()
    assert audit.close_interval(0.0) == ([], {})
