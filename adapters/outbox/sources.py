"""Reading and marking rows of ``egov_outbox`` in PostgreSQL and SQLite.

Every database error leaves a source as an :class:`OutboxError`: the relay
retries those under its retry policy (the rows stay unsent), instead of dying
on a driver exception when the database drops a connection mid-run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from adapters.outbox.exceptions import OutboxDsnError, OutboxError, OutboxLockedError

TABLE = "egov_outbox"
_COLUMNS = "id, event_id, event_type, region_code, source_system, occurred_at, payload"
_MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class OutboxRow:
    """One event waiting in the outbox."""

    id: int
    event_id: str
    event_type: str
    region_code: str
    source_system: str
    occurred_at: datetime
    payload: dict[str, Any]


def ddl(dialect: str) -> str:
    """The shipped DDL for ``postgresql`` or ``sqlite``."""
    if dialect not in ("postgresql", "sqlite"):
        raise OutboxDsnError(f"no outbox DDL for {dialect!r}; expected postgresql or sqlite")
    return resources.files("adapters.outbox").joinpath("ddl", f"{dialect}.sql").read_text()


class OutboxSource(Protocol):
    """What the relay needs from a database."""

    description: str

    def create_table(self) -> None: ...
    def fetch(self, limit: int) -> list[OutboxRow]: ...
    def mark_sent(self, ids: Sequence[int]) -> None: ...
    def mark_rejected(self, row_id: int, reason: str) -> None: ...
    def record_failure(self, ids: Sequence[int], reason: str) -> None: ...
    def pending(self) -> int: ...
    def close(self) -> None: ...


@contextmanager
def _database(what: str, errors: type[Exception] | tuple[type[Exception], ...]) -> Iterator[None]:
    """Turn a driver error of ``what`` into an :class:`OutboxError` naming it."""
    try:
        yield
    except errors as exc:
        raise OutboxError(f"{what} failed: {exc}".strip(), operation=what) from exc


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _payload(value: Any, row_id: int) -> Any:
    if isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value  # the relay rejects a non-object payload with a reason


class PostgresOutbox:
    """``egov_outbox`` in PostgreSQL through psycopg 3.

    Holds a session advisory lock so that a second relay on the same table
    refuses to start instead of interleaving rows.
    """

    _LOCK_KEY = 0x65676F76  # "egov"

    def __init__(self, dsn: str, *, connect_timeout_s: float = 10.0) -> None:
        import psycopg

        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(connect_timeout_s)))
        except psycopg.Error as exc:
            raise OutboxError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc
        info = self._conn.info
        self.description = f"postgresql://{info.host}:{info.port}/{info.dbname}"
        # Bound every statement: a stuck database must not hang the relay forever.
        self._conn.execute("SET statement_timeout = '30s'")
        locked = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._LOCK_KEY,)).fetchone()[0]
        if not locked:
            self._conn.close()
            raise OutboxLockedError(f"another outbox relay holds the lock on {self.description}")

    def create_table(self) -> None:
        with _database(f"creating {TABLE}", self._psycopg.Error):
            self._conn.execute(ddl("postgresql"))

    def fetch(self, limit: int) -> list[OutboxRow]:
        with _database(f"reading {TABLE}", self._psycopg.Error):
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM {TABLE} WHERE sent_at IS NULL AND rejected_at IS NULL ORDER BY id LIMIT %s",
                (limit,),
            ).fetchall()
        return [OutboxRow(r[0], str(r[1]), r[2], r[3], r[4], _utc(r[5]), _payload(r[6], r[0])) for r in rows]

    def mark_sent(self, ids: Sequence[int]) -> None:
        if ids:
            with _database(f"marking {TABLE} rows sent", self._psycopg.Error):
                self._conn.execute(f"UPDATE {TABLE} SET sent_at = now() WHERE id = ANY(%s)", (list(ids),))

    def mark_rejected(self, row_id: int, reason: str) -> None:
        with _database(f"marking {TABLE} row {row_id} rejected", self._psycopg.Error):
            self._conn.execute(
                f"UPDATE {TABLE} SET rejected_at = now(), last_error = %s WHERE id = %s",
                (reason[:_MAX_ERROR_CHARS], row_id),
            )

    def record_failure(self, ids: Sequence[int], reason: str) -> None:
        if ids:
            with _database(f"recording a failed attempt in {TABLE}", self._psycopg.Error):
                self._conn.execute(
                    f"UPDATE {TABLE} SET attempts = attempts + 1, last_error = %s WHERE id = ANY(%s)",
                    (reason[:_MAX_ERROR_CHARS], list(ids)),
                )

    def pending(self) -> int:
        with _database(f"counting pending {TABLE} rows", self._psycopg.Error):
            return self._conn.execute(
                f"SELECT count(*) FROM {TABLE} WHERE sent_at IS NULL AND rejected_at IS NULL"
            ).fetchone()[0]

    def close(self) -> None:
        self._conn.close()


class SqliteOutbox:
    """``egov_outbox`` in an SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise OutboxError(f"SQLite database {self.path} does not exist", path=str(self.path))
        self.description = f"sqlite:///{self.path}"
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA busy_timeout = 30000")

    def create_table(self) -> None:
        with _database(f"creating {TABLE}", sqlite3.Error):
            self._conn.executescript(ddl("sqlite"))

    def fetch(self, limit: int) -> list[OutboxRow]:
        with _database(f"reading {TABLE}", sqlite3.Error):
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM {TABLE} WHERE sent_at IS NULL AND rejected_at IS NULL ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [OutboxRow(r[0], str(r[1]), r[2], r[3], r[4], _utc(r[5]), _payload(r[6], r[0])) for r in rows]

    def _now(self) -> str:
        return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _transaction(self, what: str, sql: str, params: list[tuple[Any, ...]]) -> None:
        with _database(what, sqlite3.Error):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(sql, params)
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                # Leave no transaction open: the retry of the same rows begins a new one.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def mark_sent(self, ids: Sequence[int]) -> None:
        if ids:
            now = self._now()
            self._transaction(f"marking {TABLE} rows sent", f"UPDATE {TABLE} SET sent_at = ? WHERE id = ?",
                              [(now, i) for i in ids])

    def mark_rejected(self, row_id: int, reason: str) -> None:
        with _database(f"marking {TABLE} row {row_id} rejected", sqlite3.Error):
            self._conn.execute(
                f"UPDATE {TABLE} SET rejected_at = ?, last_error = ? WHERE id = ?",
                (self._now(), reason[:_MAX_ERROR_CHARS], row_id),
            )

    def record_failure(self, ids: Sequence[int], reason: str) -> None:
        if ids:
            self._transaction(f"recording a failed attempt in {TABLE}",
                              f"UPDATE {TABLE} SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                              [(reason[:_MAX_ERROR_CHARS], i) for i in ids])

    def pending(self) -> int:
        with _database(f"counting pending {TABLE} rows", sqlite3.Error):
            return self._conn.execute(
                f"SELECT count(*) FROM {TABLE} WHERE sent_at IS NULL AND rejected_at IS NULL"
            ).fetchone()[0]

    def close(self) -> None:
        self._conn.close()


def open_outbox(dsn: str) -> OutboxSource:
    """``postgresql://…`` / ``postgres://…`` (or a libpq ``key=value`` string), ``sqlite:///path.db``."""
    scheme = urlparse(dsn).scheme.lower()
    if scheme in ("postgresql", "postgres") or (not scheme and "=" in dsn):
        return PostgresOutbox(dsn)
    if scheme == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute/path.db
        if not dsn.lower().startswith("sqlite:///"):
            raise OutboxDsnError("an SQLite --dsn is sqlite:///relative/path.db or sqlite:////absolute/path.db")
        return SqliteOutbox(dsn[len("sqlite:///") :])
    raise OutboxDsnError(
        f"unsupported --dsn {dsn.split('@')[-1]!r}: use postgresql://user@host:port/db or sqlite:///path/to/file.db"
    )
