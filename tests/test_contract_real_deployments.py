"""`session-contract run` against stand-ins for what real deployments do: a gateway that adds a path
prefix, a server that echoes control bytes, a target that hangs one request, a target that keeps
what it is told to delete, plus the run's own promises (seed repeats, canaries only when needed,
hints, help)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from contract_tests.client import ContractClient
from contract_tests.printable import printable, shell_word
from reference_impl import create_app
from reference_impl.serving import LiveServer
from reference_impl.store import InMemorySessionStore
from tests.broken_variants import BROKEN
from tests.contract_helpers import FAST, session_contract

UUIDS = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


class StripPrefix:
    """A gateway: serves the app under `/gw` only (404 elsewhere), stripping the prefix."""

    def __init__(self, app: Any, prefix: str = "/gw") -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if not scope["path"].startswith(self.prefix + "/"):
                await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": b'{"detail": "no route"}'})
                return
            scope = {**scope, "path": scope["path"][len(self.prefix):], "raw_path": scope["raw_path"][len(self.prefix):]}
        await self.app(scope, receive, send)


class HangList:
    """Answers everything, except that `GET /api/v1/session` hangs for a few seconds."""

    def __init__(self, app: Any, hang: float = 4.0) -> None:
        self.app, self.hang = app, hang

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].rstrip("/") == "/api/v1/session":
            await asyncio.sleep(self.hang)
        await self.app(scope, receive, send)


class KeepingStore(InMemorySessionStore):
    """DELETE answers 200 but keeps the session."""

    async def delete(self, session_id: uuid.UUID) -> bool:
        return session_id in self._sessions


def test_a_base_url_with_a_path_prefix_works_in_every_layer(tmp_path: Path) -> None:
    with LiveServer(StripPrefix(create_app())) as server:
        run = session_contract("--base-url", server.base_url + "/gw", *FAST, "--max-examples", "3",
                               "--property", "schema.*", "--property", "create.*", "--property", "model.*",
                               "--property", "health.ok", tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(run.testcases.values()) == {"pass"}


def test_echoed_control_bytes_are_escaped_in_every_output(tmp_path: Path) -> None:
    echoing = next(v for v in BROKEN if v.name == "detail-without-id-control-bytes")
    app, _ = echoing.build()
    with LiveServer(app) as server:
        run = session_contract("--base-url", server.base_url, *FAST, "--property", "errors.*", tmp=tmp_path)
    assert run.returncode == 1 and run.failed == {"errors.json-detail"}
    outputs = {"stdout": run.stdout, "markdown": run.report_md.read_text(encoding="utf-8"),
               "junit": run.junit.read_text(encoding="utf-8")}
    for name, text in outputs.items():
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]", text), name
    assert "\\x00\\x1b[31m\\ud800 gone" in run.stdout
    ET.parse(run.junit)  # parses


def test_printable_escapes_controls_and_lone_surrogates_and_keeps_text() -> None:
    assert printable("a\x00b\x1b[2Jc\ud800d\ne") == "a\\x00b\\x1b[2Jc\\ud800d\ne"
    assert printable("línea\n", keep_newlines=False) == "línea\\x0a"
    assert printable("plain ünïcode ✓") == "plain ünïcode ✓"


def test_curl_lines_are_shell_safe_and_bash_reads_back_the_exact_body(base_url: str) -> None:
    body = b'{"data": {"a": "\x00\x1b[31m\xed\xa0\x80 \' \\" $HOME `x` %s \xff"}}'
    with ContractClient(base_url) as contract:
        response = contract.request("PATCH", f"/api/v1/session/{contract.fresh_id()}", content=body,
                                    headers={"Content-Type": "application/json"})
        curl = contract.curl(response.request)
    assert "\x00" not in curl and "\x1b" not in curl
    feed, _, rest = curl.partition(" | ")
    assert rest.startswith("curl ") and rest.endswith("--data-binary @-")
    echoed = subprocess.run(["bash", "-c", feed], capture_output=True, check=True).stdout
    assert echoed == body
    assert shell_word("plain") == "plain" and shell_word("a b") == "'a b'"
    assert subprocess.run(["bash", "-c", f"printf %s {shell_word('x' + chr(27) + 'é')}"], capture_output=True, check=True).stdout == "x\x1bé".encode()


def test_a_hanging_request_fails_only_its_own_property_with_its_curl(tmp_path: Path) -> None:
    with LiveServer(HangList(create_app())) as server:
        run = session_contract("--base-url", server.base_url, *FAST, "--request-timeout", "1", "--property", "list.*",
                               "--property", "health.ok", "--property", "create.*", "--property", "errors.*", tmp=tmp_path)
    assert run.returncode == 1
    assert run.failed == {"list.always-404"}, run.stdout
    section = run.stdout.split("FAILED list.always-404:", 1)[1].split("\n\n", 1)[0]
    assert "no answer (ReadTimeout" in section
    assert re.search(r"reproduce: curl -i \S+/api/v1/session\n", section + "\n")


def test_cleanup_reports_sessions_left_behind_in_every_output(tmp_path: Path) -> None:
    app = create_app(KeepingStore())
    with LiveServer(app) as server:
        run = session_contract("--base-url", server.base_url, "--property", "create.fresh-id", tmp=tmp_path)
    assert run.returncode == 1 and run.testcases["create.fresh-id"] == "pass"
    assert "cleanup: 5 sessions created, 5 left behind (" in run.stdout
    assert "5 left behind" in run.report_md.read_text()
    assert run.testcases["hygiene.cleanup"] == "fail"
    assert "verdict: NOT conformant: 5 sessions left behind" in run.stdout


def test_canaries_are_made_only_when_a_persistence_property_is_selected(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    with LiveServer(create_app()) as server:
        run = session_contract("--base-url", server.base_url, "--property", "health.ok", "--request-log", str(log), tmp=tmp_path)
    assert run.returncode == 0
    assert log.read_text().splitlines() == ["health.ok GET /health"]
    assert "1 requests in" in run.stdout


def request_sequence(tmp: Path, *options: str) -> list[str]:
    """The requests the checks of one run sent to a fresh reference (cleanup's concurrent order left
    out), ids replaced by their order of appearance."""
    log = tmp / "requests.log"
    with LiveServer(create_app()) as server:
        run = session_contract("--base-url", server.base_url, "--request-log", str(log), *options, tmp=tmp)
    assert run.returncode == 0, run.stdout + run.stderr
    names: dict[str, str] = {}
    return [UUIDS.sub(lambda m: names.setdefault(str(uuid.UUID(m.group(0))), f"<id{len(names)}>"), line)
            for line in log.read_text().splitlines() if not line.startswith("(shared)")]


def test_one_seed_sends_the_same_requests_twice_and_max_examples_reaches_schemathesis(tmp_path: Path) -> None:
    options = ("--property", "schema.stateless", "--seed", "7")
    first = request_sequence(tmp_path / "a", *options, "--max-examples", "2")
    second = request_sequence(tmp_path / "b", *options, "--max-examples", "2")
    more = request_sequence(tmp_path / "c", *options, "--max-examples", "8")
    # The operations are tested at once (each on the check's baton), so their requests interleave in
    # an order of the network's making (ids numbered by first appearance): the same requests, in any order.
    assert sorted(re.sub(r"<id\d+>", "<id>", line) for line in first) == sorted(re.sub(r"<id\d+>", "<id>", line) for line in second)
    assert len(more) > len(first)


def test_the_seed_is_printed_and_a_base_url_ending_in_api_v1_gets_a_hint(tmp_path: Path) -> None:
    with LiveServer(create_app()) as server:
        run = session_contract("--base-url", server.base_url + "/api/v1", "--property", "health.ok", tmp=tmp_path)
    assert "hint: --base-url ends in /api/v1" in run.stdout
    assert re.search(r"seed: \d+ \(repeat with --seed \d+\)", run.stdout)
    seed = ET.parse(run.junit).getroot().find("testsuite/properties/property[@name='seed']")
    assert seed is not None and seed.get("value", "").isdigit()
    assert run.stdout.rstrip().splitlines()[-1].startswith("verdict: NOT conformant")


def test_run_help_lists_the_property_ids_and_exit_codes() -> None:
    done = subprocess.run([sys.executable, "-m", "contract_tests.cli", "run", "--help"], capture_output=True, text=True, check=True)
    assert "consistency.read-your-writes.delete" in done.stdout and "concurrency.double-delete" in done.stdout
    assert "exit codes:" in done.stdout and "2  usage error" in done.stdout
