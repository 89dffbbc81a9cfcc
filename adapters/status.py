"""The regional side's part of ``egov-bus status``: the depth of the local publishers' spools."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.table import Table

from bus.status import Section, StatusOptions


def spool_depth(path: Path) -> tuple[int, float | None]:
    """Records waiting in the spool file ``path`` and the unix time the oldest was accepted.

    Read-only and without the spool's lock: the publisher that owns the file keeps running.
    """
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        count, oldest = db.execute("SELECT COUNT(*), MIN(accepted_at) FROM spool").fetchone()
    except sqlite3.OperationalError:  # created but never written: no table yet
        return 0, None
    finally:
        db.close()
    return int(count), oldest


def collect_spools(settings: Any, options: StatusOptions, _now: datetime) -> list[dict[str, Any]]:
    """One entry per spool file in ``EGOV_SPOOL_DIR`` and each ``--spool-dir`` (a missing directory: none)."""
    out = []
    for directory in dict.fromkeys(Path(d).resolve() for d in (settings.spool_dir, *options.spool_dirs)):
        for path in sorted(Path(directory).glob("**/*.sqlite")):
            try:
                depth, oldest = spool_depth(path)
            except sqlite3.Error as exc:
                out.append({"path": str(path), "depth": None, "oldest": None, "error": str(exc)})
                continue
            at = None if oldest is None else datetime.fromtimestamp(oldest, tz=timezone.utc)
            out.append({"path": str(path), "depth": depth,
                        "oldest": None if at is None else at.strftime("%Y-%m-%dT%H:%M:%SZ"), "error": None})
    return out


def render_spools(spools: list[dict[str, Any]], now: datetime) -> Table:
    """The spools as a table (the oldest waiting record's age readable)."""
    from bus.status.render import when

    table = Table("spool", "waiting", "oldest waiting", title="Local spools (events waiting for the broker)",
                  title_justify="left")
    for s in spools:
        depth = s["error"] if s["depth"] is None else f"{s['depth']:,}"
        table.add_row(s["path"], depth, when(s["oldest"], now))
    if not spools:
        table.add_row("(no spool files)", "", "")
    return table


SECTION = Section("spools", collect_spools, render_spools, needs=None)
