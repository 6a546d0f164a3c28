"""`pytest -p contract_tests.plugin --pyargs contract_tests`: a thin adapter over the same engine.

Each test runs pytest in a subprocess (pytester), in a directory of its own, against a target on
loopback: collection chooses the checks (`-k`, `--contract-property`), one engine run runs them,
each item reports its own check's outcome, and a known deviation is an xfail with its reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_tests.properties import PROPERTIES
from reference_impl.serving import LiveServer
from tests.broken_variants import BROKEN, Variant

pytest_plugins = ["pytester"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(pytester.path / ".hypothesis"))
    return pytester.runpytest_subprocess("-p", "contract_tests.plugin", "--pyargs", "contract_tests", "-p", "no:cacheprovider",
                                         "--contract-persistence-window", "0", *args, timeout=300)


def test_k_chooses_the_checks_and_each_item_reports_its_own_outcome(pytester: pytest.Pytester, base_url: str) -> None:
    result = run(pytester, "--contract-base-url", base_url, "-k", "health or fresh", "-v", "--contract-report-json", "run.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_property?health.ok? PASSED*", "*test_property?create.fresh-id? PASSED*",
                                 "*session API contract*", "*verdict: conformant*"])
    report = (pytester.path / "run.json").read_text()
    assert '"health.ok"' in report and '"list.always-404"' not in report  # the engine ran only those two


def test_contract_property_deselects_and_a_failure_shows_its_reproduction(pytester: pytest.Pytester) -> None:
    variant = next(v for v in BROKEN if v.name == "list-answers-200")
    app, _ = variant.build()
    with LiveServer(app) as server:
        result = run(pytester, "--contract-base-url", server.base_url, "--contract-property", "list.*", "--contract-property", "health.ok")
    result.assert_outcomes(passed=1, failed=1, deselected=len(PROPERTIES) - 2)
    result.stdout.fnmatch_lines(["*test_property?list.always-404?*", "*reproduce: curl*", "*FAILED*test_property?list.always-404?*"])


def test_a_known_deviation_is_an_xfail_with_its_reason(pytester: pytest.Pytester, tmp_path: Path) -> None:
    variant = next(v for v in BROKEN if v.name == "list-answers-200")
    app, _ = variant.build()
    deviations = tmp_path / "deviations.yaml"
    deviations.write_text('list.always-404: "this deployment lists sessions"\n', encoding="utf-8")
    with LiveServer(app) as server:
        result = run(pytester, "--contract-base-url", server.base_url, "--contract-property", "list.*",
                     "--contract-known-deviations", str(deviations), "-rx")
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(["*XFAIL*list.always-404*known deviation: this deployment lists sessions*"])


def test_a_check_that_cannot_run_is_skipped_with_its_reason(pytester: pytest.Pytester) -> None:
    """Read-your-writes of PATCH against a deployment without PATCH (405, as recent production builds)."""
    app, _ = Variant("no-patch", None, refuse=lambda method, path: (405, {"detail": "Method Not Allowed"}) if method == "PATCH" else None).build()
    with LiveServer(app) as server:
        result = run(pytester, "--contract-base-url", server.base_url, "-k", "read-your-writes and patch", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*no patch write was acknowledged in * tries*"])


def test_a_bad_option_stops_pytest_with_one_line(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--contract-max-rps", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--contract-max-rps must be 0 (no limit) or at least 0.1, got -1*"])
