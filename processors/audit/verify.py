"""``egov-bus audit verify``: recompute the audit chain from the theme topics and name every difference.

Per chain (one theme partition), in the audit log's order: each audit record
must be well formed, its ``hash`` must match its canonical bytes, its
``digest`` its entries, its ``sig`` must be the centre's (a ``pusat`` key of
``egov.keys`` valid at its ``time``), and it must link to the one before
(``seq`` + 1, ``prev`` = that record's ``hash``; the first has ``seq`` 0 and no
``prev``). Then the entries of the chain, in order, are compared with the
records the theme partition holds over the audited offsets: a record whose
entry differs is **altered**, an audited one that is gone is **missing**, one
the audit log does not hold is **inserted**, one found elsewhere in the order
is **reordered** (two records exchanged are named together as swapped).

A copy or export of a theme topic (``--source-topic-suffix``) is read in place
of the topic, offsets mapped by position: the copy's n-th record is compared
with the n-th record the chain audits, so a copy must start where the chain
(or ``--from``) starts. Records after the last audited one are not audited
yet and only counted; audited records below a partition's log start (its
retention) are only counted too.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from processors.audit.chain import AuditRecord, entry_of
from processors.audit.exceptions import AuditError
from schemas.signing import CENTRE_CODE, KeyRecord


@dataclass
class Report:
    """What a verification found: one line per problem, and counts for the summary."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chains: int = 0
    audit_records: int = 0
    records: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        state = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        return (f"audit verify: {self.audit_records} audit record(s) in {self.chains} chain(s), "
                f"{self.records} record(s) checked: {state}")


@dataclass
class Link:
    """An audit record as read from the log (``record`` None when it did not parse)."""

    where: str  # egov.audit.log@offset
    kafka_key: str | None
    record: AuditRecord | None
    error: str | None = None


def parse_links(msgs: Sequence[Any]) -> dict[str, list[Link]]:
    """The audit log's records grouped into chains by their Kafka key, in log order."""
    chains: dict[str, list[Link]] = {}
    for msg in msgs:
        key = msg.key().decode("utf-8", "replace") if msg.key() is not None else None
        where = f"{msg.topic()}@{msg.offset()}"
        try:
            link = Link(where, key, AuditRecord.decode(msg.value() or b""))
        except AuditError as exc:
            link = Link(where, key, None, str(exc))
        chains.setdefault(key or "", []).append(link)
    return chains


def check_links(links: Sequence[Link], lookup: Callable[[str], KeyRecord | None], report: Report,
                since: datetime | None = None) -> list[AuditRecord]:
    """Check one chain's records and links; returns the records whose entries are then compared."""
    previous: AuditRecord | None = None
    selected: list[AuditRecord] = []
    for link in links:
        record = link.record
        if record is None:
            report.problems.append(f"audit record malformed at {link.where}: {link.error}")
            continue
        name = f"audit record {record.key}#{record.seq} ({link.where})"
        in_range = since is None or _time(record) >= since
        if in_range:
            report.audit_records += 1
            selected.append(record)
            for problem in record.problems():
                report.problems.append(f"{name}: {problem}")
            if link.kafka_key != record.key:
                report.problems.append(f"{name}: filed under the key {link.kafka_key!r}")
            signature = _signature_problem(record, lookup)
            if signature:
                report.problems.append(f"{name}: {signature}")
            if previous is None and since is None and (record.seq != 0 or record.prev is not None):
                report.problems.append(f"{name}: the chain's first record in the log is not its start "
                                       f"(seq {record.seq}): earlier audit records are missing")
            if previous is not None and (record.seq != previous.seq + 1 or record.prev != previous.hash):
                report.problems.append(f"{name}: does not link to #{previous.seq} before it (an audit record was "
                                       "removed, inserted or reordered)")
            elif previous is not None and record.first_offset <= previous.last_offset:
                report.problems.append(f"{name}: offsets {record.first_offset}..{record.last_offset} overlap #"
                                       f"{previous.seq}'s (up to {previous.last_offset})")
        previous = record
    return selected


def _time(record: AuditRecord) -> datetime:
    try:
        return datetime.fromisoformat(record.time)
    except ValueError:
        return datetime.max.replace(tzinfo=datetime.now().astimezone().tzinfo)


def _signature_problem(record: AuditRecord, lookup: Callable[[str], KeyRecord | None]) -> str | None:
    if record.kid is None or record.sig is None:
        return "unsigned (the worker had no centre key)"
    key = lookup(record.kid)
    if key is None:
        return f"signed by {record.kid}, which is not in the key register"
    if key.region_code != CENTRE_CODE:
        return f"signed by {record.kid}, a key of {key.region_code}, not the centre's"
    try:
        when = datetime.fromisoformat(record.time)
    except ValueError:
        return f"time {record.time!r} is not an ISO 8601 time"
    if not key.valid_at(when):
        return f"signed by {record.kid}, which was not valid at {record.time}"
    if not record.signature_valid(key.public_key):
        return f"the centre's signature ({record.kid}) does not match the record"
    return None


# -- records against entries ------------------------------------------------------------------


def compare(topic: str, partition: int, expected: Sequence[tuple[int, bytes]], actual: Sequence[tuple[int, bytes]],
            copy: bool) -> list[str]:
    """Lines naming each altered, missing, inserted or reordered record of ``actual`` against ``expected``.

    Both are ``(offset, entry digest)`` in order; in a copy, ``actual``'s
    offsets are its own (named as copy positions) and ``expected``'s name the
    records.
    """
    want = [e for _, e in expected]
    got = [e for _, e in actual]
    if want == got:
        return []
    name = f"{topic}[{partition}]"

    def at(j: int) -> str:
        return f"copy position {j}" if copy else f"@{actual[j][0]}"

    matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
    matched: dict[int, int] = {}  # actual index -> expected index, in equal blocks
    missing: list[int] = []
    inserted: list[int] = []
    pairs: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            matched.update({j1 + k: i1 + k for k in range(i2 - i1)})
            continue
        n = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        pairs += [(i1 + k, j1 + k) for k in range(n)]
        missing += range(i1 + n, i2)
        inserted += range(j1 + n, j2)
    # A record gone from one place and found at another was moved, not lost.
    unplaced_expected = missing + [i for i, _ in pairs]
    unplaced_actual = inserted + [j for _, j in pairs]
    by_digest: dict[bytes, list[int]] = {}
    for j in unplaced_actual:
        by_digest.setdefault(got[j], []).append(j)
    moved: dict[int, int] = {}
    for i in unplaced_expected:
        js = by_digest.get(want[i])
        if js:
            moved[i] = js.pop(0)
    moved_actual = set(moved.values())
    lines = []
    for i, j in pairs:
        if i in moved and j in moved_actual:
            continue
        if i in moved:
            inserted.append(j)
        elif j in moved_actual:
            missing.append(i)
        else:
            lines.append((i, f"altered   {name}@{expected[i][0]}: differs from the audited record"
                             + (f" (at copy position {j})" if copy else "")))
    for i in missing:
        if i not in moved:
            lines.append((i, f"missing   {name}@{expected[i][0]}: audited, not found"))
    for j in inserted:
        if j not in moved_actual:
            before = max((matched[k] for k in matched if k < j), default=-1)
            where = f"after @{expected[before][0]}" if before >= 0 else "before the first audited record"
            lines.append((before, f"inserted  {name} {where}: a record the audit log does not hold ({at(j)})"))
    swapped: set[int] = set()
    for i, j in sorted(moved.items()):
        if i in swapped:
            continue
        before = max((matched[k] for k in matched if k < j), default=-1)
        after = min((matched[k] for k in matched if k > j), default=len(expected))
        jumped = list(range(i + 1, before + 1)) if i < before else list(range(after, i))
        if len(jumped) == 1 and jumped[0] not in moved:
            other = jumped[0]
            swapped.add(other)
            low, high = sorted((i, other))
            lines.append((low, f"reordered {name}@{expected[low][0]} and @{expected[high][0]}: swapped"))
        else:
            lines.append((i, f"reordered {name}@{expected[i][0]}: out of its audited place ({at(j)})"))
    return [text for _, text in sorted(lines, key=lambda x: x[0])]


def verify_chain(reader: Any, records: Sequence[AuditRecord], source_topic: str | None, report: Report) -> None:
    """Compare the chain's audited entries with what the theme partition (or its copy) holds now."""
    if not records:
        return
    topic, partition = records[0].topic, records[0].partition
    expected: list[tuple[int, bytes]] = []
    for record in records:
        try:
            expected += record.entry_list()
        except AuditError:
            continue  # already reported by its record's own checks
    if not expected:
        return
    if source_topic is None:
        low, _ = reader.bounds(topic, partition)
        gone = [e for e in expected if e[0] < low]
        if gone:
            report.notes.append(f"{topic}[{partition}]: {len(gone)} audited record(s) below the log start {low} "
                                "(retention): not checked")
            expected = expected[len(gone):]
            if not expected:
                return
        actual = [entry_of(m) for m in reader.read(topic, partition, expected[0][0], expected[-1][0] + 1)]
        copy = False
    else:
        actual = [(i, entry_of(m)[1]) for i, m in enumerate(reader.read(source_topic, partition))]
        copy = True
        if len(actual) > len(expected):
            report.notes.append(f"{source_topic}[{partition}]: {len(actual) - len(expected)} record(s) after the "
                                "last audited one: not audited yet")
            # Records past the audited ones are compared only as far as they could be moved ones.
            tail = {e for _, e in expected}
            actual = actual[:len(expected)] + [a for a in actual[len(expected):] if a[1] in tail]
    report.records += len(expected)
    report.problems += compare(topic, partition, expected, actual, copy)


__all__ = ["Report", "Link", "parse_links", "check_links", "compare", "verify_chain"]
