"""Secrets stay secret: a random token given every supported way appears in no output of the suite.

The token goes as a `--header` value, as the password in `--base-url`'s userinfo (of `run` and `canary`), as a
`diff --header` value and in `diff --against`'s userinfo, and into every usage and error message a user can provoke
with it. A gateway in front of the reference lets a request through only with the token, so every run
proves the token reached the target; then every output is searched for it: terminal, stderr, JUnit,
Markdown, JSON report, request log, canary state file (curl lines are in the terminal and the reports).
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reference_impl.serving import LiveServer, free_port
from tests.broken_variants import BROKEN
from tests.contract_helpers import FAST_VARIANT

TOKEN = "tok-" + secrets.token_hex(12)
USER = "ci"
BASIC = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()


class TokenGateway:
    """Answers 401 unless the request carries the token (`X-Api-Key`, or Basic auth with it as password)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.let_through = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if headers.get(b"x-api-key") != TOKEN.encode() and headers.get(b"authorization") != BASIC.encode():
                await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": b'{"detail": "unauthorized"}'})
                return
            self.let_through += 1
        await self.app(scope, receive, send)


def command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contract_tests.cli", *args], capture_output=True, text=True, timeout=240, cwd=cwd)


@pytest.fixture(scope="module")
def gateway() -> Any:
    head_fault = next(v for v in BROKEN if v.expected == "head.agrees-with-get")  # a failure: its curl line is shown
    app, _ = head_fault.build()
    guarded = TokenGateway(app)
    with LiveServer(guarded) as server:
        yield server, guarded


def test_a_token_given_every_supported_way_appears_in_no_output(gateway: Any, tmp_path: Path) -> None:
    server, guarded = gateway
    host = server.base_url.removeprefix("http://")
    outputs: dict[str, str] = {}

    def run(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        where = tmp_path / name
        where.mkdir()
        files = {"junit": where / "junit.xml", "markdown": where / "report.md", "json": where / "report.json", "request log": where / "requests.log"}
        done = command("run", *args, *FAST_VARIANT, "--seed", "1111", "--property", "health.*", "--property", "head.*",
                       "--junit-xml", str(files["junit"]), "--report-md", str(files["markdown"]),
                       "--report-json", str(files["json"]), "--request-log", str(files["request log"]), cwd=where)
        outputs[f"{name}: terminal"], outputs[f"{name}: stderr"] = done.stdout, done.stderr
        for label, path in files.items():
            outputs[f"{name}: {label}"] = path.read_text(encoding="utf-8")
        assert done.returncode == 1, done.stdout + done.stderr  # the HEAD fault, found through the gateway
        assert "FAILED head.agrees-with-get" in done.stdout and "reproduce: curl" in done.stdout
        outcomes = {p["id"]: p["outcome"] for p in json.loads(outputs[f"{name}: json"])["properties"]}
        assert outcomes["health.ok"] == "pass"  # the token reached the target
        assert "(seed 1111," in done.stdout and "--seed 1111" in done.stdout  # a header value `1` takes no digit out
        return done

    before = guarded.let_through
    by_header = run("header", "--base-url", server.base_url, "--header", f"X-Api-Key: {TOKEN}", "--header", "X-Api-Version: 1")
    assert "-H 'X-Api-Key: <redacted>'" in by_header.stdout and "-H 'X-Api-Version: <redacted>'" in by_header.stdout
    assert f"target: {server.base_url}" in by_header.stdout
    by_userinfo = run("userinfo", "--base-url", f"http://{USER}:{TOKEN}@{host}/")
    assert "-H 'Authorization: <redacted>'" in by_userinfo.stdout
    assert f"target: {server.base_url}" in by_userinfo.stdout  # the label: the URL without its credentials
    assert guarded.let_through > before

    spec = f"{host}/api/v1/openapi.json"
    for name, args in {
        "diff with --header": ["--against", f"http://{spec}", "--header", f"X-Api-Key: {TOKEN}"],
        "diff with userinfo": ["--against", f"http://{USER}:{TOKEN}@{spec}", "--format", "md"],
        "diff with userinfo, json": ["--against", f"http://{USER}:{TOKEN}@{spec}", "--format", "json"],
    }.items():
        done = command("diff", *args, cwd=tmp_path)
        assert done.returncode in (0, 1), done.stderr  # fetched: the token reached the gateway
        outputs[f"{name}: stdout"], outputs[f"{name}: stderr"] = done.stdout, done.stderr

    state = tmp_path / "canaries.json"
    for step in ("plant", "check", "clear"):
        credentials = ["--base-url", f"http://{USER}:{TOKEN}@{host}"] if step != "check" else ["--base-url", server.base_url, "--header", f"X-Api-Key: {TOKEN}"]
        done = command("canary", step, *credentials, "--state", str(state), cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs[f"canary {step}: stdout"], outputs[f"canary {step}: stderr"] = done.stdout, done.stderr
        if step == "plant":
            outputs["canary state file"] = state.read_text(encoding="utf-8")

    dead = f"127.0.0.1:{free_port()}"
    for name, args in {
        "run: unknown option": ["run", "--heder", f"X-Api-Key: {TOKEN}"],
        "run: header without a colon": ["run", "--header", TOKEN],
        "run: URL without a scheme": ["run", "--base-url", f"{USER}:{TOKEN}@{host}"],
        "run: URL and header both give Authorization": ["run", "--base-url", f"http://{USER}:{TOKEN}@{host}", "--header", f"Authorization: {TOKEN}"],
        "run: unreachable": ["run", "--base-url", f"http://{USER}:{TOKEN}@{dead}"],
        "diff: unknown option": ["diff", "--against", "x.json", "--heder", f"X-Api-Key: {TOKEN}"],
        "diff: header without a colon": ["diff", "--against", f"http://{spec}", "--header", TOKEN],
        "diff: refused": ["diff", "--against", f"http://{USER}:{TOKEN}@{dead}/openapi.json"],
        "diff: 401": ["diff", "--against", f"http://{spec}", "--header", f"X-Api-Key: not-{TOKEN}"],
    }.items():
        done = command(*args, cwd=tmp_path)
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.strip(), name
        outputs[f"{name}: stdout"], outputs[f"{name}: stderr"] = done.stdout, done.stderr

    leaked = [name for name, text in outputs.items() if TOKEN in text or BASIC.split()[1] in text]
    assert leaked == []
    assert len(outputs) == 43  # the figure in docs/ci.md and the closing note


@pytest.mark.parametrize("value", ["Bearer {token}\nX-Other: y", "Bearer {token}\u00c9"], ids=["line-break", "non-ascii"])
@pytest.mark.parametrize("command", [["run", "--base-url", "http://127.0.0.1:9"],
                                     ["diff", "--against", "http://127.0.0.1:9/openapi.json"]], ids=["run", "diff"])
def test_a_header_value_httpx_cannot_send_is_a_usage_error_that_never_shows_it(command: list[str], value: str) -> None:
    """httpx's own errors for such a value quote it (a line break) or end in a traceback (non-ASCII)."""
    token = secrets.token_hex(8)
    done = subprocess.run([sys.executable, "-m", "contract_tests.cli", *command, "--header", f"Authorization: {value.format(token=token)}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert token not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert "--header Authorization" in done.stderr
