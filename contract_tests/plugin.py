"""The pytest way in: `pytest -p contract_tests.plugin --pyargs contract_tests [--contract-...]`.

A thin adapter over the same engine `session-contract run` calls (`contract_tests.engine`):
- collection makes one item per registered check (`contract_tests/test_contract.py`, parametrised
  by property id), so `-k` and `--contract-property`/`--contract-skip-property` choose the checks;
- one engine run (the session-scoped `contract_results` fixture) runs every collected check with
  its pool, phases, canaries and cleanup; each item then reports its own check's outcome;
- a known deviation is `pytest.mark.xfail(strict=False)` with its reason, added at collection.

Loaded only on request, never by installation alone, so other pytest runs of the environment do not
change. Its options are namespaced (`--contract-base-url`, ...; declared in `contract_tests.options`)
and cannot collide with other plugins' (pytest-base-url's `--base-url`).
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.options import RunOptions, UsageError, add_plugin_options, build_options
from contract_tests.properties import PROPERTIES
from contract_tests.registry import load_checks, matches
from contract_tests.report import RunResults, render_table

OPTIONS_KEY = pytest.StashKey[RunOptions]()
RESULTS_KEY = pytest.StashKey[RunResults]()
PARAMETER = "contract_property_id"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("session-contract", "session API conformance suite (contract_tests)")
    add_plugin_options(group)


def pytest_configure(config: pytest.Config) -> None:
    """Parse the options once; a bad one stops pytest with a one-line usage error."""
    try:
        config.stash[OPTIONS_KEY] = build_options(vars(config.option), known_ids=lambda: list(PROPERTIES))
    except UsageError as exc:
        raise pytest.UsageError(str(exc).replace("--", "--contract-", 1) if str(exc).startswith("--") else str(exc)) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if PARAMETER in metafunc.fixturenames:
        ids = list(load_checks())
        metafunc.parametrize(PARAMETER, ids, ids=ids)


def property_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get(PARAMETER) if callspec is not None else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--contract-property`/`--contract-skip-property` deselect; known deviations become xfail."""
    options = config.stash[OPTIONS_KEY]
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        pid = property_of(item)
        (keep if pid is None or matches(pid, options.select, options.skip) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    for item in items:
        pid = property_of(item)
        if pid is not None and pid in options.known_deviations:
            item.add_marker(pytest.mark.xfail(reason=f"known deviation: {options.known_deviations[pid]}", strict=False))


@pytest.fixture(scope="session")
def contract_results(request: pytest.FixtureRequest) -> RunResults:
    """One engine run of every collected check (run on first use; reports written at the end)."""
    from contract_tests.cli import write_reports
    from contract_tests.engine import Engine
    from contract_tests.target import TargetUnreachable

    config = request.config
    options = config.stash[OPTIONS_KEY]
    wanted = {pid for item in request.session.items if (pid := property_of(item)) is not None}
    checks = [check for pid, check in load_checks().items() if pid in wanted]
    engine = Engine(options, checks)
    try:
        results = engine.run()
    except TargetUnreachable as exc:
        pytest.exit(str(exc), returncode=2)
    write_reports(options, results)
    config.stash[RESULTS_KEY] = results
    return results


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    done = config.stash.get(RESULTS_KEY, None)
    if done is None:
        return
    results = done
    terminalreporter.section("session API contract")
    terminalreporter.write_line(render_table(results))
