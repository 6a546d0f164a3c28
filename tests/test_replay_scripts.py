"""Reproductions that replay: a failure's bash script, run against real servers on loopback, shows the
failure again (the deterministic script of a session's requests, and a measured pair repeated)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from contract_tests.scripts import SentRequest, repeat_script, replay_script
from reference_impl import create_app
from reference_impl.serving import LiveServer
from tests.broken_variants import BROKEN, Variant, head_always_204
from tests.contract_helpers import session_contract

SID = "2f0d4a3e-0c5c-4f50-9c7e-3b1f6c9f4a10"


def bash(script: str, base_url: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "replay.sh"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "BASE": base_url, **env})


def test_a_failing_checks_script_replays_its_sessions_requests_and_shows_the_failure_again(tmp_path: Path) -> None:
    """The run's JSON report holds the script; replayed against a fresh server of the same broken
    variant (PATCH of a deleted session upserts it), its last request answers 200 again, where the
    reference answers 404. The create is replayed as create-with-id of the recorded id."""
    variant = next(v for v in BROKEN if v.name == "patch-upserts-deleted")
    app, _ = variant.build()
    with LiveServer(app) as server:
        run = session_contract("--base-url", server.base_url, "--property", "delete.then-patch-404", "--seed", "1",
                               "--report-json", str(tmp_path / "report.json"), tmp=tmp_path / "run")
    assert run.returncode == 1 and "replay script:" in run.stdout
    [entry] = [p for p in json.loads((tmp_path / "report.json").read_text())["properties"] if p["id"] == "delete.then-patch-404"]
    script = entry["script"]
    assert script.startswith("#!/usr/bin/env bash") and '-X POST "$BASE"/api/v1/session/' in script
    assert "replay script" in run.report_md.read_text() or "Replay script" in run.report_md.read_text()
    app, _ = variant.build()
    with LiveServer(app) as broken:
        again = bash(script, broken.base_url, tmp_path)
    with LiveServer(create_app()) as reference:
        right = bash(script, reference.base_url, tmp_path)
    assert "--- the failing request: PATCH" in again.stdout and "HTTP/1.1 200" in again.stdout, again.stdout + again.stderr
    assert "201 POST /api/v1/session/" in again.stdout and "200 DELETE" in again.stdout
    assert "HTTP/1.1 404" in right.stdout, right.stdout + right.stderr


def test_a_state_machines_script_replays_its_steps_over_every_session_of_the_scenario(tmp_path: Path) -> None:
    """A fault that needs two sessions (DELETE also removes the newest other one): model.state-machine's
    script holds the scenario's steps on every session it touched, in order, creates as create-with-id of
    the recorded ids; replayed against a fresh broken server the failing read fails again, and against
    the reference it does not. One machine (`--max-examples 5`): parallel machines share the target, so
    another machine's DELETE could be the one that removed this scenario's session."""
    variant = next(v for v in BROKEN if v.name == "delete-removes-another")
    app, _ = variant.build()
    with LiveServer(app) as server:
        run = session_contract("--base-url", server.base_url, "--property", "model.state-machine", "--seed", "3", "--max-examples", "5",
                               "--report-json", str(tmp_path / "report.json"), tmp=tmp_path / "run")
    assert run.returncode == 1, run.stdout + run.stderr
    [entry] = [p for p in json.loads((tmp_path / "report.json").read_text())["properties"] if p["id"] == "model.state-machine"]
    script = entry["script"]
    assert "requests of the run on the scenario's" in script, script
    creates = {line.split('"$BASE"')[1].split()[0] for line in script.splitlines() if "-X POST" in line}
    assert len(creates) >= 2 and "-X DELETE" in script  # two sessions at least: the deleted one and its victim
    last = script.rstrip().splitlines()[-1]
    app, _ = variant.build()
    with LiveServer(app) as broken:
        again = bash(script, broken.base_url, tmp_path)
    with LiveServer(create_app()) as reference:
        right = bash(script, reference.base_url, tmp_path)
    assert "--- the failing request:" in again.stdout and "HTTP/1.1 404" in again.stdout, again.stdout + again.stderr
    assert ("-I" in last and "HTTP/1.1 204" in right.stdout) or "HTTP/1.1 200" in right.stdout, right.stdout + right.stderr


def test_header_values_become_variables_the_script_names_and_bodies_are_shell_safe(tmp_path: Path) -> None:
    requests = [SentRequest("POST", "/api/v1/session", status=201),
                SentRequest("PATCH", f"/api/v1/session/{SID}", b'{"data": {"q": "it\'s $HOME `x`"}}', "application/json", 200)]
    script = replay_script(requests, sid=SID, base_url="http://127.0.0.1:1", header_names=["Authorization"], what="t")
    assert "CONTRACT_HEADER_1" in script and "Bearer" not in script
    with LiveServer(create_app()) as server:
        refused = bash(script, server.base_url, tmp_path)
        ran = bash(script, server.base_url, tmp_path, CONTRACT_HEADER_1="Bearer x")
        stored = subprocess.run(["curl", "-s", f"{server.base_url}/api/v1/session/{SID}"], capture_output=True, text=True).stdout
    assert refused.returncode != 0 and "set CONTRACT_HEADER_1 to the value of the Authorization header" in refused.stderr
    assert ran.returncode == 0 and "HTTP/1.1 200" in ran.stdout
    assert json.loads(stored)["data"] == {"q": "it's $HOME `x`"}


def test_a_rate_based_failures_script_repeats_its_pair_and_counts(tmp_path: Path) -> None:
    script = repeat_script("delete", 5, base_url="http://127.0.0.1:1", header_names=[], what="consistency.read-your-writes.delete")
    with LiveServer(create_app()) as server:
        clean = bash(script, server.base_url, tmp_path)
    app, _ = Variant("head-always-204", None, rewrite=head_always_204).build()
    with LiveServer(app) as server:
        broken = bash(script, server.base_url, tmp_path)
    assert clean.returncode == 0 and "0 of 5 tries broke the rule" in clean.stdout, clean.stdout + clean.stderr
    assert broken.returncode == 1 and "5 of 5 tries broke the rule" in broken.stdout and "GET 404, HEAD 204" in broken.stdout
