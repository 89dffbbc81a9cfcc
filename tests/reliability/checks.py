"""The checks after a fault, one function each, and the results file the docs' table is made from.

Each check adds its figures to a :class:`CheckReport` and its failures as one line naming the
offending event ids (at most :data:`SHOWN`, then how many more); :meth:`CheckReport.raise_if_failed`
fails the test with all of them at once, so one run shows everything that went wrong.

* :func:`check_topics_exactly_once`: every accepted event is in its theme topic exactly once, counted
  by the ``ce_id`` header: none missing (lost), none twice (duplicated), nothing nobody accepted and
  nothing in another theme's topic (unexpected).
* :func:`check_views_exact`: every view row equals the oracle's recomputation from the accepted events
  (:mod:`tests.fixtures.views_oracle`, none of the processors' code); ``integration_index`` counts every
  event once, so its surplus over the oracle is the number of events counted twice.
* :func:`check_dlqs_empty`: no dead letter in any DLQ of the prefix (the simulator's events are all valid).
* :func:`check_spools_empty`: no event left in a publisher's spool (all forwarded).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import schemas
from schemas.cloudevents import HEADER_ID
from tests.fixtures.views_oracle import actual_views, comparable, expected_views, scan_topic

#: Offending ids named in one failure line.
SHOWN = 20
RESULTS_ENV = "EGOV_TEST_RELIABILITY_RESULTS"
DEFAULT_RESULTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability" / "results.json"


def _some(ids: Iterable[Any]) -> str:
    ids = sorted(map(str, ids))
    more = f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
    return ", ".join(ids[:SHOWN]) + more


@dataclass
class Accepted:
    """What the publishers accepted: each event id with its theme topic, and the views they make."""

    ids: dict[str, str]
    expected: dict

    @classmethod
    def of(cls, events: Iterable[Any], prefix: str) -> "Accepted":
        """One pass over ``events`` (a generator is fine: a soak's millions are not kept)."""
        ids: dict[str, str] = {}

        def tap() -> Iterator[Any]:
            for e in events:
                ids[str(e.envelope.event_id)] = f"{prefix}.{schemas.event_type(type(e).__name__).topic}"
                yield e

        expected = expected_views(tap())
        return cls(ids, expected)


@dataclass
class CheckReport:
    """The figures of one fault's checks, and the failures found."""

    accepted: int = 0
    in_topics: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    double_counted: int = 0
    under_counted: int = 0
    view_rows_wrong: int = 0
    dead_letters: int = 0
    spooled: int = 0
    failures: list[str] = field(default_factory=list)

    def raise_if_failed(self) -> None:
        if self.failures:
            raise AssertionError("after the fault:\n" + "\n".join(f"- {f}" for f in self.failures))

    def figures(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "failures"}


def _header(msg: Any, name: str) -> str | None:
    for key, value in msg.headers() or []:
        if key == name:
            return value.decode() if value is not None else None
    return None


def check_topics_exactly_once(settings: Any, theme_topics: list[str], accepted: Accepted, report: CheckReport) -> None:
    """Every accepted event in its theme topic exactly once; nothing else in the theme topics."""
    seen: Counter = Counter()
    wrong_topic: list[str] = []
    for topic in theme_topics:

        def count(msg: Any, topic: str = topic) -> None:
            event_id = _header(msg, HEADER_ID) or f"(no ce_id at {topic}[{msg.partition()}]@{msg.offset()})"
            seen[event_id] += 1
            if accepted.ids.get(event_id, topic) != topic:
                wrong_topic.append(event_id)

        scan_topic(settings, topic, count, idle_timeout=60)
    missing = [i for i in accepted.ids if i not in seen]
    twice = {i: n for i, n in seen.items() if n > 1}
    unexpected = [i for i in seen if i not in accepted.ids]
    report.in_topics = sum(seen.values())
    report.lost = len(missing)
    report.duplicated = sum(n - 1 for n in twice.values())
    report.unexpected = len(unexpected) + len(wrong_topic)
    if missing:
        report.failures.append(f"{len(missing)} accepted event(s) missing from their theme topic (lost): {_some(missing)}")
    if twice:
        report.failures.append(f"{len(twice)} event(s) in their theme topic more than once (duplicated): "
                               + _some(f"{i} x{n}" for i, n in twice.items()))
    if unexpected:
        report.failures.append(f"{len(unexpected)} record(s) in the theme topics that no publisher accepted: {_some(unexpected)}")
    if wrong_topic:
        report.failures.append(f"{len(wrong_topic)} event(s) in another theme's topic: {_some(wrong_topic)}")


def check_views_exact(settings: Any, registry: Any, prefix: str, accepted: Accepted, report: CheckReport) -> None:
    """Every view row equals the oracle's; ``integration_index``'s surplus is the events counted twice."""
    actual = actual_views(settings, registry, prefix)
    got = comparable(actual, accepted.expected)
    wrong = {k: (got[k], v) for k, v in accepted.expected.items() if got[k] != v}
    extra = [k for k in actual if k not in accepted.expected]
    surplus = shortfall = 0
    for (view, key), want in accepted.expected.items():
        if view == "integration_index":
            have = (got[(view, key)] or {}).get("events_total", 0)
            surplus += max(0, have - want["events_total"])
            shortfall += max(0, want["events_total"] - have)
    surplus += sum(actual[k].get("events_total", 0) for k in extra if k[0] == "integration_index")
    report.double_counted, report.under_counted = surplus, shortfall
    report.view_rows_wrong = len(wrong) + len(extra)
    if wrong:
        shown = "; ".join(f"{view} {key}: {have} != expected {want}"
                          for (view, key), (have, want) in sorted(wrong.items())[:5])
        report.failures.append(f"{len(wrong)} view row(s) differ from the recomputation ({surplus} event(s) counted "
                               f"twice, {shortfall} not counted), e.g. {shown}")
    if extra:
        report.failures.append(f"{len(extra)} view row(s) that no accepted event makes: {_some(f'{v} {k}' for v, k in extra)}")


def check_dlqs_empty(settings: Any, dlq_topics: list[str], report: CheckReport) -> None:
    """No dead letter in any of ``dlq_topics`` (each named with its stage and error class)."""
    letters: list[str] = []
    for topic in dlq_topics:

        def keep(msg: Any, topic: str = topic) -> None:
            letters.append(f"{_header(msg, HEADER_ID) or '?'} in {topic.rsplit('.', 2)[-2]} "
                           f"({_header(msg, 'error.stage')}: {_header(msg, 'error.class')})")

        scan_topic(settings, topic, keep)
    report.dead_letters = len(letters)
    if letters:
        report.failures.append(f"{len(letters)} dead letter(s): {_some(letters)}")


def spool_depth(path: Path | str) -> int:
    """Events in a spool file, read-only (its publisher may hold the file's lock meanwhile); 0 without one."""
    path = Path(path)
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return int(db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])


def check_spools_empty(spool_paths: Iterable[Path | str], report: CheckReport) -> None:
    """Every publisher's spool has forwarded everything it held."""
    depths = {str(p): spool_depth(p) for p in spool_paths}
    report.spooled = sum(depths.values())
    full = {p: d for p, d in depths.items() if d}
    if full:
        report.failures.append("events left in spools: " + ", ".join(f"{p}: {d}" for p, d in full.items()))


def results_path() -> Path:
    """Where the results of the fault tests go (``EGOV_TEST_RELIABILITY_RESULTS``, else test-artifacts/reliability/)."""
    return Path(os.environ.get(RESULTS_ENV) or DEFAULT_RESULTS)


def record_result(fault: str, report: CheckReport, **measured: Any) -> Path:
    """Merge one fault's outcome into the results file (keyed by ``fault``: a rerun replaces its row)."""
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(path.read_text()) if path.exists() else {}
    results[fault] = {**report.figures(), **measured, "passed": not report.failures}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def conclude(fault: str, report: CheckReport, **measured: Any) -> None:
    """Record one fault's outcome (:func:`record_result`), then fail if any check failed."""
    record_result(fault, report, **measured)
    report.raise_if_failed()
