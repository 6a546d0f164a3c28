"""`session-contract run` as a user meets it at its edges: misconfiguration, Ctrl-C and SIGTERM at any
moment, answers that drip or hang, progress in a CI log, the JSON report. Real subprocesses against
servers on loopback."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_impl import create_app
from reference_impl.serving import LiveServer

COMMAND = [sys.executable, "-m", "contract_tests.cli", "run"]


def _default_signals() -> None:
    """A shell that starts a job in the background sets SIGINT to "ignore" for it: undo that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class CountingServer:
    """A TCP listener on loopback that counts connections and answers nothing useful."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize(("args", "says"), [
    (["--base-url", ""], "--base-url is empty"),
    (["--base-url", "  "], "--base-url is empty"),
    (["--base-url", "{host}"], "needs a scheme"),
    (["--base-url", "ftp://{host}"], "scheme 'ftp' is not supported"),
    (["--base-url", "http://{host}?x=1"], "takes no query or fragment"),
    (["--base-url", "http://{host}/prefix#top"], "takes no query or fragment"),
    (["--max-rps", "-1"], "--max-rps must be 0 (no limit) or at least 0.1, got -1"),
    (["--time-budget", "-5"], "--time-budget must be 0 (no budget) or at least 1"),
    (["--concurrency", "5"], "--concurrency must be 20 to 1000, got 5"),
    (["--max-examples", "0"], "--max-examples must be 1 to 100000"),
    (["--request-timeout", "0"], "--request-timeout must be 0.1 to 3600"),
    (["--cleanup-timeout", "nan"], "--cleanup-timeout expects a finite number"),
    (["--volume", "many"], "--volume expects an integer, got 'many'"),
    (["--property", "no.such.*"], "no property id matches 'no.such.*'"),
], ids=lambda value: value if isinstance(value, str) else " ".join(value))
def test_misconfiguration_is_one_line_exit_2_before_anything_is_sent(args: list[str], says: str, tmp_path: Path) -> None:
    server = CountingServer()
    try:
        host = server.url.removeprefix("http://")
        argv = [a.replace("{host}", host) for a in args]
        if "--base-url" not in argv:
            argv = ["--base-url", server.url, *argv]
        done = subprocess.run([*COMMAND, *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        time.sleep(0.3)
    finally:
        server.close()
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in done.stderr
    assert done.stdout == "" and server.connections == 0


def test_help_states_each_numeric_options_range() -> None:
    done = subprocess.run([*COMMAND, "--help"], capture_output=True, text=True, timeout=60)
    text = " ".join(done.stdout.split())
    for phrase in ("0 (no limit) or at least 0.1", "0 (no budget) or at least 1", "20 to 1000", "--report-json PATH", "--label NAME",
                   "--cleanup-timeout S"):
        assert phrase in text


def _start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], list[tuple[float, str]]]:
    """Start a run; its stdout lines are collected with the time each arrived."""
    process = subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                               preexec_fn=_default_signals)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic(), line.rstrip("\n")))

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def _wait(process: subprocess.Popen[str], timeout: float, lines: list[tuple[float, str]]) -> float:
    began = time.monotonic()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        shown = "\n".join(line for _, line in lines[-40:])
        raise AssertionError(f"the run did not end within {timeout} s of the signal:\n{shown}") from None
    time.sleep(0.2)  # let the reader take the last lines
    return time.monotonic() - began


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_at_a_random_moment_ends_the_run_cleans_up_and_tells_the_truth(signum: int, tmp_path: Path) -> None:
    """Ctrl-C or SIGTERM somewhere in a default run: it ends (a generous bound: this proves it ends,
    the soak benchmark measures how fast), exit 1, "interrupted", nothing left on the target."""
    app = create_app()
    moment = random.Random().uniform(1.0, 12.0)
    with LiveServer(app) as server:
        process, lines = _start(["--base-url", server.base_url, "--report-json", "run.json"], tmp_path)
        time.sleep(moment)
        process.send_signal(signum)
        _wait(process, 60, lines)
        left = asyncio.run(_count(app))
    output = "\n".join(line for _, line in lines)
    assert process.returncode in (0, 1), output  # 0 only if the run had already ended
    if process.returncode == 1:
        assert "interrupted" in output
    assert left == 0, f"stopped at {moment:.1f} s: {left} sessions left behind\n{output[-2000:]}"
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["cleanup"]["leftBehind"] == []


def test_a_second_ctrl_c_skips_cleanup_and_prints_the_ids_left_behind(tmp_path: Path) -> None:
    """A target whose DELETEs take 3 s each: the first Ctrl-C starts cleanup, the second skips it."""
    app = create_app()

    async def slow_deletes(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "DELETE":
            await asyncio.sleep(3)
        await app(scope, receive, send)

    with LiveServer(slow_deletes) as server:
        process, lines = _start(["--base-url", server.base_url, "--property", "persistence.until-delete",
                                 "--persistence-window", "120", "--cleanup-timeout", "60"], tmp_path)
        deadline = time.monotonic() + 60
        while not any("checking" in line for _, line in lines) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # the canaries are made: three sessions live on the target
        process.send_signal(signal.SIGINT)
        while not any(line.startswith("cleanup: deleting") for _, line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _wait(process, 30, lines)
        count = asyncio.run(_count(app))
        output = "\n".join(line for _, line in lines)
        left_line = next((line for _, line in lines if line.startswith("left behind (")), "")
        printed = left_line.partition(": ")[2].split(", ") if left_line else []
        found = [httpx.head(f"{server.base_url}/api/v1/session/{sid}").status_code for sid in printed]
    assert process.returncode == 1
    assert "skipping cleanup" in output
    assert count == 3 and left_line.startswith("left behind (3): "), output[-2000:]
    assert found == [204] * 3  # exactly the sessions still on the target


def test_progress_arrives_from_the_first_second_and_never_pauses_long(tmp_path: Path) -> None:
    """The first line is printed before the checks are even imported; a heartbeat keeps a quiet
    phase (a 12 s persistence window) visible in a CI log."""
    app = create_app()
    with LiveServer(app) as server:
        began = time.monotonic()
        process, lines = _start(["--base-url", server.base_url, "--property", "persistence.until-delete", "--property", "health.*",
                                 "--persistence-window", "12"], tmp_path)
        _wait(process, 120, lines)
    assert process.returncode == 0, "\n".join(line for _, line in lines)
    stamps = [began] + [t for t, _ in lines]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert any("... " in line and "running persistence.until-delete" in line for _, line in lines)
    assert max(gaps) < 8.0  # the heartbeat comes every 5 s; 3 s of slack for a busy machine


def test_the_json_report_holds_what_the_other_formats_show(tmp_path: Path) -> None:
    app = create_app()
    with LiveServer(app) as server:
        done = subprocess.run([*COMMAND, "--base-url", server.base_url, "--label", "staging", "--property", "health.*",
                               "--property", "create.*", "--header", "X-Token: t0k3n-v4lue", "--report-json", "out/run.json", "--seed", "7"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (tmp_path / "out" / "run.json").read_text()
    report = json.loads(text)
    assert report["schemaVersion"] == 1 and report["tool"]["name"] == "session-contract"
    assert report["deployment"]["label"] == "staging" and report["seed"] == 7
    assert report["options"]["header"] == {"X-Token": "<redacted>"} and "t0k3n-v4lue" not in text
    assert report["startedAt"] <= report["finishedAt"] and report["verdict"]["conformant"] is True
    ids = [p["id"] for p in report["properties"]]
    assert ids == ["health.ok", "create.fresh-id", "create.read-your-writes"]
    assert all(p["outcome"] == "pass" and p["requests"] > 0 for p in report["properties"])
    assert report["cleanup"]["leftBehind"] == [] and report["requests"]["total"] > 0


async def _count(app: Any) -> int:
    return int(await app.store.count())



async def _dripping(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/health answers at once; every other answer drips one byte a second, or (`/api/v1/session`
    with a HEAD) never sends its headers at all."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/health":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"message": "OK"}'})
        return
    if scope["method"] == "HEAD":
        await asyncio.sleep(3600)  # hung: no headers, ever
    await _drip(send, 201, b'{"sessionId": "00000000-0000-4000-8000-000000000000", "message": "' + b"x" * 120 + b'"}')


async def _drip(send: Any, status: int, body: bytes) -> None:
    """Headers at once, then `body` a byte a second."""
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"),
                                                                             (b"content-length", str(len(body)).encode())]})
    for index in range(len(body)):
        await send({"type": "http.response.body", "body": body[index:index + 1], "more_body": index < len(body) - 1})
        await asyncio.sleep(1.0)


def test_answers_that_drip_or_hang_are_bounded_by_the_request_timeout_and_the_budget(tmp_path: Path) -> None:
    """`--request-timeout 2 --time-budget 5` against a target whose answers drip or hang: the run
    ends by itself (it used to take 48 s, and SIGTERM could not stop it)."""
    with LiveServer(_dripping) as server:
        process, lines = _start(["--base-url", server.base_url, "--request-timeout", "2", "--time-budget", "5",
                                 "--skip-property", "schema.*", "--cleanup-timeout", "5"], tmp_path)
        _wait(process, 90, lines)
    output = "\n".join(line for _, line in lines)
    assert process.returncode == 1 and "time budget of 5 s" in output, output[-3000:]
    assert "2 s" in output  # a failure names the whole-exchange deadline


def test_sigterm_stops_a_run_stuck_on_dripping_answers(tmp_path: Path) -> None:
    with LiveServer(_dripping) as server:
        process, lines = _start(["--base-url", server.base_url, "--request-timeout", "30", "--cleanup-timeout", "5"], tmp_path)
        time.sleep(4)
        process.send_signal(signal.SIGTERM)
        _wait(process, 60, lines)
    output = "\n".join(line for _, line in lines)
    assert process.returncode == 1 and "interrupted" in output, output[-3000:]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_in_the_first_moments_says_so_in_one_line(signum: int, tmp_path: Path) -> None:
    """Interrupted while still starting (imports, the probe): one line, exit 1, never a silent exit 2."""
    app = create_app()
    with LiveServer(app) as server:
        process, lines = _start(["--base-url", server.base_url], tmp_path)
        deadline = time.monotonic() + 60
        while not lines and time.monotonic() < deadline:  # Python's own handlers are in place: it printed
            time.sleep(0.01)
        process.send_signal(signum)
        _wait(process, 60, lines)
        left = asyncio.run(_count(app))
        assert process.stderr is not None
        errors = process.stderr.read()
    output = "\n".join(line for _, line in lines)
    assert process.returncode == 1 and "Traceback" not in errors
    assert "interrupted" in output + errors
    assert left == 0


def _ignoring_sigint() -> None:
    """As a shell starts a background job: SIGINT ignored (and Python keeps it so unless told)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_ctrl_c_while_the_target_is_first_asked_stops_the_run_even_if_the_shell_ignored_sigint(tmp_path: Path) -> None:
    """A run started in the background and interrupted while its first request waited: the interrupt was
    lost (SIGINT inherited as ignored), the request timed out, and it said "unreachable", exit 2."""
    silent = socket.socket()  # listens, never answers: the first request waits
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        process = subprocess.Popen([*COMMAND, "--base-url", f"http://127.0.0.1:{silent.getsockname()[1]}"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, cwd=tmp_path, preexec_fn=_ignoring_sigint)
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()  # "starting: ...", printed before the target is asked
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, errors = process.communicate(timeout=60)
    finally:
        silent.close()
    assert "starting" in first
    assert process.returncode == 1 and "interrupted" in out + errors and "unreachable" not in errors and "Traceback" not in errors


async def _dripping_everything(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every answer, /health's included: headers at once, then its body a byte a second."""
    if scope["type"] != "http":
        return
    await _drip(send, 200, b'{"message": "OK, slowly, one byte at a time"}')


def test_a_first_answer_that_drips_is_bounded_as_a_whole(tmp_path: Path) -> None:
    """The first request (is anything there?) had only httpx's per-read timeout: a /health body dripping
    a byte a second held the run, silent, for as long as the body lasted."""
    with LiveServer(_dripping_everything) as server:
        done = subprocess.run([*COMMAND, "--base-url", server.base_url, "--request-timeout", "2", "--time-budget", "5"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=60, preexec_fn=_default_signals)
    assert done.returncode == 2 and "no complete answer to GET /health within 5 s" in done.stderr, done.stderr
    assert done.stdout.startswith("session-contract: starting:")
