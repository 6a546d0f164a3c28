"""`session-contract run` as a CI job meets it: known deviations, secrets, exit codes, interruptions."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reference_impl import create_app
from reference_impl.serving import LiveServer, free_port
from tests.broken_variants import BROKEN, PRODUCTION_LIKE, PRODUCTION_LIKE_VIOLATIONS, PRODUCTION_RATES, PRODUCTION_RATES_VIOLATIONS
from tests.contract_helpers import FAST_VARIANT, session_contract

REPO = Path(__file__).resolve().parent.parent
PRODUCTION_DEVIATIONS = str(REPO / "deviations" / "production.yaml")
SECRET = "Bearer s3cr3t-T0KEN-do-not-print"


@pytest.mark.parametrize("path", ["", "/api/v1"], ids=["root", "api-path"])
def test_unreachable_target_exits_2_with_one_line_and_no_traceback(tmp_path: Path, path: str) -> None:
    """Also when the base URL ends in /api/v1: reachability comes before the hint about the path."""
    run = session_contract("--base-url", f"http://127.0.0.1:{free_port()}{path}", tmp=tmp_path, timeout=60)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "unreachable" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_malformed_header_is_a_usage_error_that_does_not_echo_it(tmp_path: Path) -> None:
    run = session_contract("--header", "no-colon-s3cr3t", tmp=tmp_path, timeout=60)
    assert run.returncode == 2
    assert "s3cr3t" not in run.stderr + run.stdout


def test_production_like_target_fails_on_exactly_its_real_violations_with_the_shipped_deviations(tmp_path: Path) -> None:
    """Commit-after-answer lag, racy create-with-id and racy DELETE are faults, not deviations: with
    deviations/production.yaml the run names exactly those, with rates and windows, and nothing else;
    the lag never makes cleanup report a session as left behind."""
    app, store = PRODUCTION_LIKE.build()
    with LiveServer(app) as server:
        known = session_contract("--base-url", server.base_url, *FAST_VARIANT, "--known-deviations", PRODUCTION_DEVIATIONS, tmp=tmp_path / "known")
        plain = session_contract("--base-url", server.base_url, *FAST_VARIANT, "--property", "list.*", "--property", "get.*", tmp=tmp_path / "plain")
        left = asyncio.run(store.count())
    assert known.returncode == 1, known.stdout + known.stderr
    assert known.failed == PRODUCTION_LIKE_VIOLATIONS, known.stdout
    assert "KNOWN list.always-404:" in known.stdout and known.testcases["list.always-404"] == "skipped"
    assert known.testcases["delete.then-404-everywhere"] == "pass"  # its PATCH step is a deviation of its own
    for kind in ("create", "delete"):
        assert re.search(rf"  {kind}: \d+ of \d+ \([\d.]+ %; 95 % interval [\d.]+ % to [\d.]+ %\) not visible at once; "
                         r"window median [\d.]+ ms, p95 [\d.]+ ms, max [\d.]+ ms", known.stdout)
    assert re.search(r"  right after: [1-9]\d* of \d+ \([\d.]+ %; 95 % interval [\d.]+ % to [\d.]+ %\) "
                     r"\(broken samples saw: \d+ x \(200 then 200\)", known.stdout), known.stdout
    assert re.search(r"  4 at once: [1-9]\d* of \d+ .*500 x\d+", known.stdout), known.stdout
    assert ", 0 left behind" in known.stdout and known.testcases["hygiene.cleanup"] == "pass"
    assert known.stdout.rstrip().splitlines()[-1].startswith(f"verdict: NOT conformant: {len(PRODUCTION_LIKE_VIOLATIONS)} properties violated")
    assert plain.returncode == 1 and plain.failed == {"list.always-404", "get.shape"}
    assert left == 0


def test_a_known_deviation_that_now_holds_is_reported_for_trimming(tmp_path: Path) -> None:
    deviations = tmp_path / "dev.yaml"
    deviations.write_text("list.always-404: production answers 405\n")
    with LiveServer(create_app()) as server:
        run = session_contract("--base-url", server.base_url, "--property", "list.*", "--known-deviations", str(deviations), tmp=tmp_path)
    assert run.returncode == 0
    assert "trim it" in run.stdout


class RequireHeader:
    """A gateway: 401 unless the request carries the expected Authorization header."""

    def __init__(self, app: Any, expected: str) -> None:
        self.app, self.expected = app, expected.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != self.expected:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"detail": "unauthorized"}'})
            return
        await self.app(scope, receive, send)


def test_header_values_reach_the_target_but_never_any_output(tmp_path: Path) -> None:
    head_fault = next(v for v in BROKEN if v.expected == "head.agrees-with-get")
    app, _ = head_fault.build()
    with LiveServer(RequireHeader(app, SECRET)) as server:
        run = session_contract(
            "--base-url", server.base_url, "--header", f"Authorization: {SECRET}", "--header", "X-Trace: s3cr3t-T0KEN",
            *FAST_VARIANT, "--property", "health.*", "--property", "head.*", "--property", "schema.*", "--max-examples", "2",
            tmp=tmp_path,
        )
    assert run.returncode == 1
    assert run.testcases["health.ok"] == "pass"  # the header did reach the gateway
    assert "head.agrees-with-get" in run.failed
    assert "-H 'Authorization: <redacted>'" in run.stdout
    for text in (run.stdout, run.stderr, run.junit.read_text(), run.report_md.read_text()):
        assert "s3cr3t" not in text


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_run_still_deletes_every_session_it_created(signum: int, tmp_path: Path) -> None:
    app = create_app()
    with LiveServer(app) as server:
        command = [sys.executable, "-m", "contract_tests.cli", "run", "--base-url", server.base_url,
                   "--persistence-window", "120", "--volume", "40", "--property", "persistence.*", "--property", "create.*"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        assert process.stdout is not None
        for line in process.stdout:
            if "persistence.under-volume" in line:  # next: the canaries' long wait
                break
        assert asyncio.run(app.store.count()) > 0
        time.sleep(0.5)  # let the run finish printing that line: the signal lands while it waits for the canaries
        process.send_signal(signum)
        try:
            rest, errors = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, errors = process.communicate()
            raise AssertionError(f"the interrupted run did not end within 60 s:\n{rest[-3000:]}\n{errors[-3000:]}") from None
        left = asyncio.run(app.store.count())
    assert process.returncode == 1
    assert "interrupted" in rest and "Traceback" not in errors
    assert left == 0


def test_time_budget_ends_the_run_early_and_still_cleans_up(tmp_path: Path) -> None:
    app = create_app()
    with LiveServer(app) as server:
        run = session_contract("--base-url", server.base_url, "--persistence-window", "120", "--time-budget", "2",
                               "--skip-property", "schema.*", "--max-examples", "3", tmp=tmp_path)
        left = asyncio.run(store_count(app))
    assert run.returncode == 1
    assert "time budget" in run.stdout
    assert left == 0


async def store_count(app: Any) -> int:
    return await app.store.count()


def test_diff_subcommand_only_dispatches_to_contract_tests_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from contract_tests import cli

    seen: list[list[str]] = []
    fake = types.ModuleType("contract_tests.diff")
    fake.main = lambda argv: seen.append(argv) or 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "contract_tests.diff", fake)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["diff", "--left", "a", "--right", "b"])
    assert exit_.value.code == 3 and seen == [["--left", "a", "--right", "b"]]


def test_every_request_of_the_run_goes_through_the_one_client(tmp_path: Path) -> None:
    import re

    app = create_app()
    seen = {"requests": 0}

    async def counting(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen["requests"] += 1
        await app(scope, receive, send)

    with LiveServer(counting) as server:
        run = session_contract("--base-url", server.base_url, "--property", "schema.*", "--property", "model.*",
                               "--max-examples", "3", "--persistence-window", "0", tmp=tmp_path)
    counted = re.search(r"(\d+) requests in", run.stdout)
    assert run.returncode == 0 and counted is not None
    assert seen["requests"] == int(counted.group(1)) + 1  # plus the one /health probe (made once per process)


def test_faults_at_production_rates_are_measured_in_the_quiet_phase_and_reported_as_rates(tmp_path: Path) -> None:
    """The production-rate double (2 % of creates and DELETEs commit 2 to 10 ms late, a DELETE race window
    hit ~10 % of the time; seeded): a focused run of the measurements at the default sample size (299 per
    measured shape) fails read-your-writes of create and delete with `k of n`, the 95 % interval and the
    window, and both races with each shape's rate; it passes create-with-id and PATCH with the bound they
    rule out. (At 2 %, 0 misses in 299 samples has probability 0.98^299 = 0.2 %; at 10 %, 2e-14.)"""
    app, store = PRODUCTION_RATES.build()
    with LiveServer(app) as server:
        run = session_contract("--base-url", server.base_url, "--seed", "1", "--property", "consistency.*",
                               "--property", "concurrency.double-delete", "--property", "concurrency.create-with-id-single-winner",
                               tmp=tmp_path)
        left = asyncio.run(store.count())
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.failed == PRODUCTION_RATES_VIOLATIONS, run.stdout
    section = run.stdout.split("FAILED concurrency.double-delete:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"  right after: [1-9]\d* of \d+ \([\d.]+ %; 95 % interval", section), section
    assert re.search(r"  at once: \d+ of \d+ \(", section) and "reproduce: curl -i -X DELETE" in section
    assert re.search(r"FAILED consistency.read-your-writes.create: .*\n  create: [1-9]\d* of (29[89]|30\d) \([\d.]+ %; 95 % interval "
                     r"[\d.]+ % to [\d.]+ %\); window median [\d.]+ ms, p95 [\d.]+ ms, max [\d.]+ ms", run.stdout), run.stdout
    assert re.search(r"pass \(patch: 0 of \d+ \(below 1.0 % at 95 % confidence\)\)", run.stdout), run.stdout
    assert left == 0


def test_a_measurement_whose_time_runs_out_is_inconclusive_and_the_run_exits_1(tmp_path: Path) -> None:
    with LiveServer(create_app()) as server:
        run = session_contract("--base-url", server.base_url, "--seed", "1", "--property", "consistency.read-your-writes.create",
                               "--min-detectable-rate", "0.0005", "--time-budget", "1", tmp=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.testcases["consistency.read-your-writes.create"] == "inconclusive"
    assert re.search(r"inconclusive \(create: 0 of \d+ \(below [\d.]+ % at 95 % confidence\); inconclusive: 5990 tries needed", run.stdout)
    assert "measurement inconclusive" in run.stdout.rstrip().splitlines()[-1]
