"""Naming what differs between the audited entries and a topic (or its copy): unit tests of the comparison."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from processors.audit.chain import AuditRecord
from processors.audit.verify import Link, Report, check_links, compare
from schemas.signing import KeyRecord, raw_public_key
from tests.processors.audit.test_chain import CENTRE

T = "egov.budgeting.events"


def _entries(n: int) -> list[tuple[int, bytes]]:
    return [(100 + i, hashlib.sha256(b"%d" % i).digest()) for i in range(n)]


def _copy(entries: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    return [(i, e) for i, (_, e) in enumerate(entries)]


def test_an_untouched_partition_has_nothing_to_report() -> None:
    entries = _entries(20)
    assert compare(T, 3, entries, list(entries), copy=False) == []
    assert compare(T, 3, entries, _copy(entries), copy=True) == []


def test_a_copy_with_one_altered_one_deleted_and_two_swapped_records_names_each() -> None:
    entries = _entries(20)
    tampered = list(entries)
    tampered[3] = (103, b"\x00" * 32)
    tampered[10], tampered[11] = tampered[11], tampered[10]
    del tampered[15]
    assert compare(T, 3, entries, _copy(tampered), copy=True) == [
        f"altered   {T}[3]@103: differs from the audited record (at copy position 3)",
        f"reordered {T}[3]@110 and @111: swapped",
        f"missing   {T}[3]@115: audited, not found",
    ]


def test_inserted_and_moved_records_are_named() -> None:
    entries = _entries(10)
    extra = list(entries)
    extra.insert(4, (0, b"\x01" * 32))
    assert compare(T, 0, entries, _copy(extra), copy=True) == [
        f"inserted  {T}[0] after @103: a record the audit log does not hold (copy position 4)"]
    moved = list(entries)
    moved.insert(8, moved.pop(1))
    assert compare(T, 0, entries, _copy(moved), copy=True) == [
        f"reordered {T}[0]@101: out of its audited place (copy position 8)"]
    assert compare(T, 0, entries, entries[:5] + entries[6:], copy=False) == [f"missing   {T}[0]@105: audited, not found"]


def _chain(n: int) -> list[AuditRecord]:
    out, prev = [], None
    for seq in range(n):
        record = AuditRecord.build(T, 1, seq, prev, [(seq * 2, hashlib.sha256(b"%d" % seq).digest())],
                                   "2026-01-01T00:00:00.000+00:00", CENTRE)
        out.append(record)
        prev = record.hash
    return out


def _lookup(kid: str):
    key = KeyRecord(CENTRE.key_id, "pusat", raw_public_key(CENTRE.private_key), datetime(2025, 1, 1, tzinfo=timezone.utc))
    return key if kid == key.key_id else None


def test_chain_links_and_signatures() -> None:
    chain = _chain(4)
    links = [Link(f"egov.audit.log@{i}", r.key, r) for i, r in enumerate(chain)]
    report = Report()
    assert check_links(links, _lookup, report) == chain and report.problems == []

    report = Report()
    check_links(links[:1] + links[2:], _lookup, report)  # an audit record removed
    assert report.problems == [f"audit record {T}:1#2 (egov.audit.log@2): does not link to #0 before it (an audit "
                               "record was removed, inserted or reordered)"]
    report = Report()
    check_links([links[0], links[2], links[1], links[3]], _lookup, report)
    assert len(report.problems) == 3 and all("does not link" in p for p in report.problems)
    report = Report()
    check_links(links[1:], _lookup, report)
    assert report.problems == [f"audit record {T}:1#1 (egov.audit.log@1): the chain's first record in the log is not "
                               "its start (seq 1): earlier audit records are missing"]
    unsigned = AuditRecord.build(T, 1, 0, None, [(0, b"\x00" * 32)], "2026-01-01T00:00:00.000+00:00", None)
    report = Report()
    check_links([Link("egov.audit.log@9", unsigned.key, unsigned)], _lookup, report)
    assert report.problems == [f"audit record {T}:1#0 (egov.audit.log@9): unsigned (the worker had no centre key)"]
