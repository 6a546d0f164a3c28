"""Persistence over days: canaries planted by one run are checked by the next (`--canary-state FILE`), and
`session-contract canary plant|check|clear` do each step alone. A store that forgets on a restart fails;
`session-mock --state-file` passes. Canaries are never cleaned up nor counted as left behind.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from contract_tests.engine import Engine
from contract_tests.options import RunOptions
from contract_tests.registry import select_checks
from contract_tests.report import FAIL, PASS
from reference_impl import create_app
from reference_impl.serving import LiveServer
from reference_impl.store import InMemorySessionStore
from tests.mock_process import MockProcess
from tests.test_engine import BASE, StandIn

PERSISTENCE = ["--property", "persistence.until-delete", "--persistence-window", "0", "--seed", "1"]


def engine_run(stand_in: StandIn, **options: object) -> Engine:
    engine = Engine(RunOptions(base_url=BASE, seed=1, **{"persistence_window": 0, **options}),  # type: ignore[arg-type]
                    select_checks(("persistence.until-delete",), ()), transport=httpx.MockTransport(stand_in), handle_signals=False)
    engine.run()
    return engine


def test_without_a_state_file_the_check_says_what_it_covered() -> None:
    engine = engine_run(StandIn(), persistence_window=1)
    result = engine._books.results["persistence.until-delete"]
    assert result.status == PASS and result.note == "3 canaries held for 1 s"


def test_canaries_outlive_the_run_and_the_next_run_checks_them(tmp_path: Path) -> None:
    state = tmp_path / "canaries.json"
    stand_in = StandIn()
    first = engine_run(stand_in, canary_state=str(state))
    result = first._books.results["persistence.until-delete"]
    assert result.status == PASS, result.explanation
    assert result.note == "no canaries from an earlier run yet; 3 canaries held for 0 s; 3 planted for the next run"
    planted = {c["sessionId"] for c in json.loads(state.read_text())["canaries"]}
    assert len(planted) == 3 and set(stand_in.sessions) == planted  # not cleaned up
    assert first.client is not None and first.client.sessions.to_clean() == set()

    second = engine_run(stand_in, canary_state=str(state))
    result = second._books.results["persistence.until-delete"]
    assert result.status == PASS, result.explanation
    assert result.note.startswith("3 canaries planted 0 s ago: all intact; 3 canaries held for 0 s")
    now = {c["sessionId"] for c in json.loads(state.read_text())["canaries"]}
    assert len(now) == 3 and not now & planted and set(stand_in.sessions) == now  # the old ones deleted, new ones kept

    forgetful = engine_run(StandIn(), canary_state=str(state))  # a restart that lost everything
    result = forgetful._books.results["persistence.until-delete"]
    assert result.status == FAIL
    assert "canaries of an earlier run: 3 canaries planted 0 s ago: 3 gone; first:" in result.explanation


def contract(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contract_tests.cli", *args], capture_output=True, text=True, timeout=240, cwd=cwd)


def test_an_in_memory_store_restarted_between_two_runs_fails(tmp_path: Path) -> None:
    state = str(tmp_path / "canaries.json")
    with LiveServer(create_app(InMemorySessionStore())) as server:
        first = contract("run", "--base-url", server.base_url, "--canary-state", state, *PERSISTENCE, cwd=tmp_path)
        port = server.port
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"canaries: 3 planted for the next run, not cleaned up; ids kept in {state}" in first.stdout
    assert ", 0 left behind" in first.stdout
    with LiveServer(create_app(InMemorySessionStore()), port=port) as restarted:
        second = contract("run", "--base-url", restarted.base_url, "--canary-state", state, *PERSISTENCE, cwd=tmp_path)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "FAILED persistence.until-delete" in second.stdout and "3 gone" in second.stdout


def test_session_mock_with_a_state_file_keeps_the_canaries_across_a_restart(tmp_path: Path) -> None:
    state, database = str(tmp_path / "canaries.json"), tmp_path / "mock.sqlite"
    with MockProcess("--state-file", database) as mock:
        first = contract("run", "--base-url", mock.base_url, "--canary-state", state, *PERSISTENCE, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    with MockProcess("--state-file", database) as mock:
        second = contract("run", "--base-url", mock.base_url, "--canary-state", state, *PERSISTENCE, cwd=tmp_path)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "pass (3 canaries planted" in second.stdout and "ago: all intact" in second.stdout
        cleared = contract("canary", "clear", "--base-url", mock.base_url, "--state", state, cwd=tmp_path)
        assert cleared.returncode == 0, cleared.stderr
    assert not Path(state).exists()


def test_canary_plant_check_and_clear_each_do_one_step(tmp_path: Path) -> None:
    state = str(tmp_path / "state" / "canaries.json")
    store = InMemorySessionStore()
    with LiveServer(create_app(store)) as server:
        base = ["--base-url", server.base_url, "--state", state]
        planted = contract("canary", "plant", *base, "--count", "4", cwd=tmp_path)
        assert planted.returncode == 0, planted.stderr
        assert f"planted 4 canaries on {server.base_url}; ids kept in {state} (4 in all)" in planted.stdout
        ids = [c["sessionId"] for c in json.loads(Path(state).read_text())["canaries"]]
        intact = contract("canary", "check", *base, cwd=tmp_path)
        assert intact.returncode == 0 and intact.stdout.startswith("4 canaries planted ") and "ago: all intact" in intact.stdout

        api = f"{server.base_url}/api/v1/session"
        assert httpx.delete(f"{api}/{ids[0]}").status_code == 200
        assert httpx.patch(f"{api}/{ids[1]}", json={"data": {"canary": "overwritten"}}).status_code == 200
        broken = contract("canary", "check", *base, "--clear", cwd=tmp_path)
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert ": 1 gone, 1 changed; first: " + ids[0] + " is gone (GET 404)" in broken.stdout
        assert "cleared 3 canaries" in broken.stdout
        assert json.loads(Path(state).read_text())["canaries"] == [] and asyncio.run(store.count()) == 0

        nothing = contract("canary", "check", *base, cwd=tmp_path)
        assert nothing.returncode == 2 and "no canaries recorded" in nothing.stderr
        assert contract("canary", "plant", *base, cwd=tmp_path).returncode == 0
        assert contract("canary", "clear", *base, cwd=tmp_path).returncode == 0
        assert asyncio.run(store.count()) == 0 and not Path(state).exists()
