"""`SqliteSessionStore` keeps the `SessionStore` contract, persists across instances, and refuses foreign files."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from mock_server import create_mock_app
from mock_server.sqlite_store import SqliteSessionStore, StateFileError
from reference_impl.serving import LiveServer
from reference_impl.store import SessionExists, SessionRecord


def run(coro):
    return asyncio.run(coro)


@pytest.fixture()
def store(tmp_path: Path):
    store = SqliteSessionStore(tmp_path / "state.db")
    yield store
    run(store.close())


def test_create_get_update_delete_keep_the_store_contract(store: SqliteSessionStore) -> None:
    record = run(store.create())
    assert uuid.UUID(str(record.session_id)).version == 4
    assert run(store.get(record.session_id)).data == {}
    updated = run(store.update(record.session_id, {"a": 1, "b": {"c": 2}}))
    merged = run(store.update(record.session_id, {"a": 3}))
    assert merged.data == {"a": 3, "b": {"c": 2}}
    assert merged.created_at == record.created_at
    assert record.created_at <= updated.updated_at < merged.updated_at
    assert run(store.exists(record.session_id))
    assert run(store.delete(record.session_id)) is True
    assert run(store.get(record.session_id)) is None and run(store.delete(record.session_id)) is False
    assert run(store.update(record.session_id, {"x": 1})) is None


def test_create_with_a_taken_id_raises_and_leaves_the_session_untouched(store: SqliteSessionStore) -> None:
    sid = uuid.uuid4()
    run(store.create(sid))
    run(store.update(sid, {"keep": True}))
    with pytest.raises(SessionExists):
        run(store.create(sid))
    assert run(store.get(sid)).data == {"keep": True}


def test_records_are_copies_and_sessions_are_isolated(store: SqliteSessionStore) -> None:
    one, two = run(store.create()), run(store.create())
    run(store.update(one.session_id, {"list": [1]}))
    fetched = run(store.get(one.session_id))
    fetched.data["list"].append(2)
    assert run(store.get(one.session_id)).data == {"list": [1]}
    assert run(store.get(two.session_id)).data == {}


def test_put_clear_and_count(store: SqliteSessionStore) -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    run(store.put(SessionRecord(uuid.uuid4(), {"seeded": True}, created)))
    run(store.create())
    assert run(store.count()) == 2
    run(store.clear())
    assert run(store.count()) == 0


def test_sessions_survive_closing_and_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SqliteSessionStore(path)
    record = run(first.create())
    run(first.update(record.session_id, {"step": 2}))
    run(first.close())
    second = SqliteSessionStore(path)
    assert run(second.get(record.session_id)).data == {"step": 2}
    run(second.close())


def test_the_file_is_marked_as_ours_and_written_with_full_sync_in_wal_mode(store: SqliteSessionStore) -> None:
    pragma = lambda name: store._db.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("application_id") == 0x5345534D
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2  # FULL
    assert pragma("locking_mode") == "exclusive"


def test_a_second_store_on_a_file_in_use_is_refused_and_the_file_is_free_after_close(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SqliteSessionStore(path)
    run(first.create())
    with pytest.raises(StateFileError, match="in use by another process"):
        SqliteSessionStore(path)
    run(first.close())
    second = SqliteSessionStore(path)
    assert run(second.count()) == 1
    run(second.close())


def test_an_empty_file_becomes_a_new_state_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    store = SqliteSessionStore(path)
    assert run(store.count()) == 0
    run(store.close())


def test_foreign_and_damaged_files_are_refused_with_one_line(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00garbage" * 1000)
    for path in (foreign, garbage, tmp_path):
        with pytest.raises(StateFileError) as error:
            SqliteSessionStore(path)
        assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_the_mock_over_a_state_file_keeps_the_http_contract(tmp_path: Path) -> None:
    store = SqliteSessionStore(tmp_path / "state.db")
    with LiveServer(create_mock_app(store)) as server, httpx.Client(base_url=server.base_url) as http:
        sid = http.post("/api/v1/session").json()["sessionId"]
        assert http.head(f"/api/v1/session/{sid.upper()}").status_code == 204
        assert http.post(f"/api/v1/session/{sid}").status_code == 409
        assert http.patch(f"/api/v1/session/{sid}", json={"data": {"a": 1}}).status_code == 200
        assert http.get(f"/api/v1/session/{{{sid}}}").json()["data"] == {"a": 1}
        assert http.delete(f"/api/v1/session/{sid}").status_code == 200
        assert http.get(f"/api/v1/session/{sid}").status_code == 404
        assert http.post(f"/api/v1/session/{sid}").status_code == 201
        assert http.post("/__mock/reset").json()["sessionsRemoved"] == 1
    run(store.close())
