"""``egov-bus outbox-relay`` against a real PostgreSQL (and SQLite): kill -9 mid-run loses nothing."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections import defaultdict
from pathlib import Path

import psycopg
import pytest

from adapters.outbox import ddl
from devtools.devstack import process
from tests.fixtures.adapters import EGOV_BUS, cli_env, end_offsets, read_records, run_cli

pytestmark = pytest.mark.integration

REGIONS = ("32.01", "33.01", "35", "51.71", "64")
ROWS = 4000
INVALID = {17: {"category": ""}, 1234: {"channel": None}}  # row index -> payload override


def complaint_payload(i: int) -> dict:
    payload = {"complaint_id": f"OB-{i:06d}", "category": "infrastruktur", "channel": "web", "is_anonymous": False}
    payload.update(INVALID.get(i, {}))
    return payload


def fill_postgres(dsn: str, source: str) -> list[tuple[int, str, str]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl("postgresql"))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO egov_outbox (event_type, region_code, source_system, occurred_at, payload) "
                "VALUES ('ComplaintReceived', %s, %s, now(), %s)",
                [(REGIONS[i % len(REGIONS)], source, json.dumps(complaint_payload(i))) for i in range(ROWS)],
            )
        return conn.execute("SELECT id, event_id::text, region_code FROM egov_outbox ORDER BY id").fetchall()


def counts(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return conn.execute("SELECT count(sent_at), count(rejected_at) FROM egov_outbox").fetchone()


def test_relay_killed_with_sigkill_and_restarted_loses_nothing(postgres, adapter_settings, theme_topics,
                                                               tmp_path: Path) -> None:
    dsn = postgres.create_database()
    source = f"outbox-{uuid.uuid4().hex[:8]}"
    rows = fill_postgres(dsn, source)
    since = end_offsets(adapter_settings, "egov.complaints.events")
    log = tmp_path / "relay.log"
    args = [EGOV_BUS, "outbox-relay", "--dsn", dsn, "--batch-size", "20", "--poll-interval", "0.05",
            "--log-level", "warning"]

    relay = process.start("relay", args, log, env=cli_env(adapter_settings))
    try:
        deadline = time.monotonic() + 60
        while counts(dsn)[0] == 0:
            assert process.is_running(relay), process.log_tail(log)
            assert time.monotonic() < deadline, "the relay sent nothing within 60s"
            time.sleep(0.01)
    finally:
        process.kill(relay)  # SIGKILL: no flush, no cleanup
    sent_at_kill, _ = counts(dsn)
    assert 0 < sent_at_kill < ROWS - len(INVALID), f"kill did not land mid-run ({sent_at_kill} sent)"

    result = run_cli(["outbox-relay", "--dsn", dsn, "--exit-when-empty", "--batch-size", "200",
                      "--log-level", "warning"], adapter_settings, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(dsn) == (ROWS - len(INVALID), len(INVALID))
    with psycopg.connect(dsn) as conn:
        rejected = conn.execute("SELECT id, last_error FROM egov_outbox WHERE rejected_at IS NOT NULL ORDER BY id")
        reasons = [r[1] for r in rejected]
    assert "category" in reasons[0] and "channel" in reasons[1]

    expected = [(event_id, region) for index, (_id, event_id, region) in enumerate(rows) if index not in INVALID]
    mine = lambda got: [r for r in got if r.headers["ce_source"].decode().endswith("/" + source)]  # noqa: E731
    records = read_records(adapter_settings, "egov.complaints.events", since=since,
                           until=lambda got: len({r.headers["ce_id"] for r in mine(got)}) >= len(expected))
    ours = mine(records)
    assert {r.headers["ce_id"].decode() for r in ours} == {event_id for event_id, _ in expected}
    assert len(ours) >= len(expected)  # at-least-once: the killed batch may be there twice
    # in order per region (first appearance of each event id)
    seen: dict[str, list[str]] = defaultdict(list)
    for record in ours:
        event_id = record.headers["ce_id"].decode()
        if event_id not in seen[record.key]:
            seen[record.key].append(event_id)
    for region in REGIONS:
        assert seen[region] == [e for e, r in expected if r == region]


def test_second_relay_on_the_same_table_is_refused(postgres, adapter_settings) -> None:
    from adapters.outbox import OutboxLockedError, PostgresOutbox

    dsn = postgres.create_database()
    first = PostgresOutbox(dsn)
    try:
        first.create_table()
        with pytest.raises(OutboxLockedError):
            PostgresOutbox(dsn)
    finally:
        first.close()


def test_sqlite_outbox(adapter_settings, theme_topics, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.executescript(ddl("sqlite"))
    source = f"sqlite-{uuid.uuid4().hex[:8]}"
    with conn:
        conn.executemany(
            "INSERT INTO egov_outbox (event_type, region_code, source_system, payload) VALUES (?, ?, ?, ?)",
            [("PermitApplied", "32.01", source, json.dumps({"permit_id": f"P-{i}", "permit_type": "PBG",
                                                             "applicant_kind": "perorangan"})) for i in range(50)]
            + [("PermitApplied", "32.01", source, "[1, 2]"), ("NoSuchEvent", "32.01", source, "{}")],
        )
    ids = [r[0] for r in conn.execute("SELECT event_id FROM egov_outbox ORDER BY id LIMIT 50")]
    conn.close()
    since = end_offsets(adapter_settings, "egov.licensing.events")
    result = run_cli(["outbox-relay", "--dsn", f"sqlite:///{db}", "--exit-when-empty"], adapter_settings,
                     cwd=Path("/"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "50 sent, 2 rejected" in result.stdout
    records = read_records(adapter_settings, "egov.licensing.events", since=since,
                           until=lambda got: set(ids) <= {r.headers["ce_id"].decode() for r in got})
    ours = [r.headers["ce_id"].decode() for r in records if r.headers["ce_source"].decode().endswith(source)]
    assert ours == ids
    errors = sqlite3.connect(db).execute("SELECT last_error FROM egov_outbox WHERE rejected_at IS NOT NULL").fetchall()
    assert "JSON object" in errors[0][0] and "NoSuchEvent" in errors[1][0]


def test_bad_dsn_is_a_clear_error(adapter_settings) -> None:
    result = run_cli(["outbox-relay", "--dsn", "mysql://u:secret@h/db"], adapter_settings)
    assert result.returncode == 1
    assert "unsupported --dsn" in result.stderr and "secret" not in result.stderr
