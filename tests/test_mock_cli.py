"""The real `session-mock` CLI as a subprocess: options, start-up banner, start-up errors, shutdown, persistence."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import signal
import socket
import sqlite3
import time
import uuid
from pathlib import Path

import httpx

from tests.mock_process import MockProcess, run_cli

SESSION = "/api/v1/session"
OPTIONS = ["--host", "--port", "--cors-origin", "--seed", "--latency", "--state-file", "--log-format"]


def assert_one_line_error(result, *words: str) -> None:
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("session-mock: error:")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_help_explains_every_option() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for option in OPTIONS:
        assert option in result.stdout
    assert "--workers" not in result.stdout
    for words in ["127.0.0.1", "8090", "repeatable", "MIN-MAX", "SQLite", "json"]:
        assert words in result.stdout


def test_startup_prints_the_api_swagger_ui_and_admin_urls_and_each_answers() -> None:
    with MockProcess() as mock:
        banner = "\n".join(mock.banner)
        for path in ["/api/v1/session", "/api/v1/ui/", "/__mock/reset", "/__mock/requests", "/__mock/sessions"]:
            assert mock.base_url + path in banner
        assert httpx.get(mock.base_url + "/api/v1/ui/").status_code == 200
        assert httpx.get(mock.base_url + "/__mock/requests").status_code == 200
        assert httpx.post(mock.base_url + SESSION, headers={"Prefer": "code=500"}).json() == {"detail": "Unable to create session"}


def test_seed_file_sessions_are_served_at_startup(tmp_path: Path) -> None:
    sid = str(uuid.uuid4())
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps([{"sessionId": sid, "data": {"step": "discovery"}}]))
    with MockProcess("--seed", seed) as mock:
        assert httpx.get(f"{mock.base_url}{SESSION}/{sid}").json()["data"] == {"step": "discovery"}


def test_a_bad_seed_file_stops_startup_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"sessionId": "nope"}]')
    assert_one_line_error(run_cli("--port", "0", "--seed", bad), "seed", "sessionId")
    bad.write_text("[{")
    assert_one_line_error(run_cli("--port", "0", "--seed", bad), "not valid JSON")
    assert_one_line_error(run_cli("--port", "0", "--seed", tmp_path / "missing.json"), "cannot read")


def test_malformed_option_values_are_refused() -> None:
    for args in (["--latency", "fast"], ["--latency", "50-10"], ["--log-format", "xml"], ["--port", "http"], ["--port", "70000"], ["--port", "-1"]):
        result = run_cli(*args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_port_in_use_stops_startup_with_one_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        assert_one_line_error(run_cli("--port", str(taken.getsockname()[1])), "cannot listen")


def test_cors_origin_is_repeatable_and_replaces_the_default() -> None:
    with MockProcess("--cors-origin", "http://a.example:1", "--cors-origin", "http://b.example:2") as mock:
        def allowed(origin: str) -> str | None:
            return httpx.options(
                mock.base_url + SESSION, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
            ).headers.get("access-control-allow-origin")

        assert allowed("http://a.example:1") == "http://a.example:1"
        assert allowed("http://b.example:2") == "http://b.example:2"
        assert allowed("http://localhost:5173") is None


def test_log_format_json_writes_one_json_object_per_line_with_the_access_fields() -> None:
    mock = MockProcess("--log-format", "json", "--latency", "1-3").start()
    try:
        httpx.post(mock.base_url + SESSION)
    finally:
        assert mock.signal(signal.SIGTERM) == 0
    lines = [json.loads(line) for line in mock.stderr_text().splitlines() if line.strip()]
    access = [line for line in lines if line.get("path") == SESSION]
    assert access and access[0]["status"] == 201 and access[0]["method"] == "POST"
    mock.stop()


def test_sigterm_and_sigint_stop_the_mock_cleanly_with_a_consistent_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    for signum in (signal.SIGTERM, signal.SIGINT):
        mock = MockProcess("--state-file", state).start()
        sid = httpx.post(mock.base_url + SESSION).json()["sessionId"]
        assert mock.signal(signum) == 0
        assert "Traceback" not in mock.stderr_text()
        mock.stop()
        with contextlib.closing(sqlite3.connect(state)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT count(*) FROM sessions WHERE session_id = ?", (sid,)).fetchone()[0] == 1


def test_sessions_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with MockProcess("--state-file", state) as mock:
        sid = httpx.post(mock.base_url + SESSION).json()["sessionId"]
        httpx.patch(f"{mock.base_url}{SESSION}/{sid}", json={"data": {"kept": True}})
        before = httpx.get(f"{mock.base_url}{SESSION}/{sid}").json()
    with MockProcess("--state-file", state) as mock:
        assert httpx.get(f"{mock.base_url}{SESSION}/{sid}").json() == before
        assert "sessions stored: 1" in "\n".join(mock.banner)


def test_every_acknowledged_write_survives_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    mock = MockProcess("--state-file", state).start()
    with httpx.Client(base_url=mock.base_url) as http:
        ids = [http.post(SESSION).json()["sessionId"] for _ in range(30)]
        for n, sid in enumerate(ids):
            assert http.patch(f"{SESSION}/{sid}", json={"data": {"n": n}}).status_code == 200
        assert http.delete(f"{SESSION}/{ids[0]}").status_code == 200
        last = str(uuid.uuid4())
        assert http.post(f"{SESSION}/{last}").status_code == 201
    mock.signal(signal.SIGKILL)
    mock.stop()
    with MockProcess("--state-file", state) as again, httpx.Client(base_url=again.base_url) as http:
        assert http.head(f"{SESSION}/{ids[0]}").status_code == 404
        assert http.head(f"{SESSION}/{last}").status_code == 204
        for n, sid in enumerate(ids[1:], start=1):
            assert http.get(f"{SESSION}/{sid}").json()["data"] == {"n": n}


def test_without_a_state_file_sessions_live_in_memory_only() -> None:
    with MockProcess() as mock:
        sid = httpx.post(mock.base_url + SESSION).json()["sessionId"]
        assert "memory" in "\n".join(mock.banner)
    with MockProcess() as mock:
        assert httpx.head(f"{mock.base_url}{SESSION}/{sid}").status_code == 404


def test_a_foreign_or_corrupt_state_file_stops_startup_with_one_line_and_is_left_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        db.execute("INSERT INTO invoices VALUES (1, 9.5)")
    db.close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"definitely not a database\n" * 100)
    for path, words in [(foreign, ("another application",)), (garbage, ("not a usable",)), (tmp_path, ("directory",))]:
        before = path.read_bytes() if path.is_file() else None
        assert_one_line_error(run_cli("--port", "0", "--state-file", path), str(path), *words)
        if before is not None:
            assert path.read_bytes() == before
    with sqlite3.connect(foreign) as db:
        assert db.execute("SELECT total FROM invoices").fetchall() == [(9.5,)]
    db.close()


def test_a_second_mock_on_a_state_file_in_use_stops_with_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with MockProcess("--state-file", state) as mock:
        sid = httpx.post(mock.base_url + SESSION).json()["sessionId"]
        assert_one_line_error(run_cli("--port", "0", "--state-file", state), "in use by another process")
        assert httpx.head(f"{mock.base_url}{SESSION}/{sid}").status_code == 204


def test_sigterm_with_a_delayed_request_in_flight_answers_it_503_json_and_exits_0() -> None:
    mock = MockProcess().start()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.post, mock.base_url + SESSION, headers={"Prefer": "delay=60000"}, timeout=30.0)
        time.sleep(1.0)  # on loopback the request reaches the mock's delay well within this
        assert not pending.done()
        assert mock.signal(signal.SIGTERM) == 0
        answer = pending.result()
    mock.stop()
    assert answer.status_code == 503
    assert answer.json() == {"detail": "The mock is shutting down"}
