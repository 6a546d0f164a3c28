"""`SqliteSessionStore`: the `SessionStore` interface kept in one SQLite file (stdlib `sqlite3`).

Every write is one transaction committed with `synchronous=FULL` in WAL mode before the API
acknowledges it, so a `kill -9` at any moment never loses an acknowledged write, and SQLite's
journal makes the file loadable afterwards. A file that is not this store's (another application's
database, or not a database at all) is refused with `StateFileError`, never overwritten.

The file is locked exclusively while the mock runs, so a second mock cannot share it (one process
holds the state; the operating system drops the lock when the process dies, even by `kill -9`).
Calls run synchronously on the event loop: each operation is atomic for the single-process mock,
like `InMemorySessionStore`, and on loopback a commit costs well under the cost of the HTTP round trip.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from reference_impl.store import SessionExists, SessionRecord, SessionStore, StorageError, next_update_time, oldest_first

APPLICATION_ID = 0x5345534D  # "SESM": marks a file as a session-mock state file
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID
"""


class StateFileError(Exception):
    """The state file cannot be used; the message is one line meant for the operator."""


def _record(row: tuple[str, str, str, str]) -> SessionRecord:
    session_id, data, created_at, updated_at = row
    return SessionRecord(
        uuid.UUID(session_id), json.loads(data), datetime.fromisoformat(created_at), datetime.fromisoformat(updated_at)
    )


class SqliteSessionStore(SessionStore):
    """Sessions in a SQLite file that survives restarts and crashes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = self._open(self.path)
        self._owner = True
        self._table = "sessions"  # the default namespace's; `namespace(name)` gives another's

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        if path.is_dir():
            raise StateFileError(f"state file {path} is a directory")
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0.2)
        except sqlite3.Error as exc:
            raise StateFileError(f"cannot open state file {path}: {exc}") from None
        try:
            # One process owns the file: the exclusive lock taken here is held until close.
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            try:
                db.execute("BEGIN EXCLUSIVE")
                db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc):
                    raise StateFileError(f"state file {path} is in use by another process") from None
                raise
            application_id = db.execute("PRAGMA application_id").fetchone()[0]
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if application_id == 0 and not tables:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = FULL")
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    db.execute(_SCHEMA)
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif application_id != APPLICATION_ID:
                raise StateFileError(f"state file {path} is a SQLite database of another application; refusing to use it")
            else:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:
                    raise StateFileError(f"state file {path} has schema version {version}, this mock reads {SCHEMA_VERSION}")
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise StateFileError(f"state file {path} is damaged (SQLite quick_check failed)")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = FULL")
                for row in db.execute("SELECT session_id, data, created_at, updated_at FROM sessions LIMIT 1"):
                    _record(row)
        except StateFileError:
            db.close()
            raise
        except (sqlite3.Error, ValueError) as exc:
            db.close()
            raise StateFileError(f"state file {path} is not a usable session-mock state file: {exc}") from None
        return db

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StorageError(str(exc)) from exc

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        record = SessionRecord(session_id or uuid.uuid4())
        while True:
            try:
                self._write(
                    f"INSERT INTO {self._table} VALUES (?, ?, ?, ?)",
                    (str(record.session_id), "{}", record.created_at.isoformat(), record.updated_at.isoformat()),  # type: ignore[union-attr]
                )
                return record
            except sqlite3.IntegrityError:
                if session_id is not None:
                    raise SessionExists(str(session_id)) from None
                record = SessionRecord(uuid.uuid4())

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        row = self._db.execute(
            f"SELECT session_id, data, created_at, updated_at FROM {self._table} WHERE session_id = ?", (str(session_id),)
        ).fetchone()
        return _record(row) if row else None

    async def exists(self, session_id: uuid.UUID) -> bool:
        return self._db.execute(f"SELECT 1 FROM {self._table} WHERE session_id = ?", (str(session_id),)).fetchone() is not None

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        record = await self.get(session_id)
        if record is None:
            return None
        record.data.update(data)
        record.updated_at = next_update_time(record.updated_at)  # type: ignore[arg-type]
        self._write(
            f"UPDATE {self._table} SET data = ?, updated_at = ? WHERE session_id = ?",
            (json.dumps(record.data), record.updated_at.isoformat(), str(session_id)),
        )
        return record

    async def delete(self, session_id: uuid.UUID) -> bool:
        return self._write(f"DELETE FROM {self._table} WHERE session_id = ?", (str(session_id),)).rowcount > 0

    async def put(self, record: SessionRecord) -> None:
        await self.put_many([record])

    async def put_many(self, records: list[SessionRecord]) -> None:
        """Store whole records in one transaction (seeding): all or none."""
        rows = [
            (str(r.session_id), json.dumps(r.data), r.created_at.isoformat(), r.updated_at.isoformat())  # type: ignore[union-attr]
            for r in records
        ]
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(f"INSERT OR REPLACE INTO {self._table} VALUES (?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise StorageError(str(exc)) from exc

    async def clear(self) -> None:
        self._write(f"DELETE FROM {self._table}", ())

    async def count(self) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM {self._table}").fetchone()[0])

    async def records(self) -> list[SessionRecord]:
        rows = self._db.execute(f"SELECT session_id, data, created_at, updated_at FROM {self._table}").fetchall()
        return sorted(map(_record, rows), key=oldest_first)

    def namespace(self, name: str) -> SqliteSessionStore:
        """The sessions of namespace `name` (mock_server.namespaces) in the same file: a table of their own."""
        view = object.__new__(SqliteSessionStore)
        view.path, view._db, view._owner = self.path, self._db, False
        view._table = '"ns:' + name.replace('"', "") + '"'  # names are letters, digits, '_', '.', '-'
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(_SCHEMA.replace("CREATE TABLE sessions", f"CREATE TABLE IF NOT EXISTS {view._table}"))
        except sqlite3.Error as exc:
            raise StorageError(str(exc)) from exc
        return view

    async def close(self) -> None:
        if self._owner:  # a namespace's view shares the owner's connection
            self._db.close()

