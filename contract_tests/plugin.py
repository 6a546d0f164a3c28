"""The pytest plugin of the conformance suite: options, the run's fixtures, results and reports.

Loaded only on request (`pytest -p contract_tests.plugin --pyargs contract_tests`; `session-contract
run` does that itself), never by installation alone, so other pytest runs of the environment do not
change. Its options are namespaced (`--contract-base-url`, ...; declared in `contract_tests.options`)
and cannot collide with other plugins' (pytest-base-url's `--base-url`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from contract_tests.client import SHARED, ContractClient, current_property
from contract_tests.deviations import DeviationsError, load_deviations
from contract_tests.options import add_plugin_options
from contract_tests.properties import PROPERTIES
from contract_tests.redaction import parse_header
from contract_tests.report import render_junit, render_markdown, render_table
from contract_tests.run import ContractOptions, ContractRun, TargetUnreachable, activate
from contract_tests.runner import independent

RUN_KEY = pytest.StashKey[ContractRun]()
# Independent checks start on the pool in this order first (the longest waits begin earliest).
START_FIRST = ("persistence.until-delete", "model.state-machine", "persistence.under-volume", "schema.stateful")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("session-contract", "session API conformance suite (contract_tests)")
    add_plugin_options(group)


def options_from(config: pytest.Config) -> ContractOptions:
    """The run's options, or a UsageError naming what is wrong (never a header's value)."""
    try:
        headers = dict(parse_header(raw) for raw in config.getoption("contract_header") or [])
        deviations = load_deviations(config.getoption("contract_known_deviations"))
    except (ValueError, DeviationsError) as exc:
        raise pytest.UsageError(str(exc)) from None
    concurrency = config.getoption("contract_concurrency")
    if concurrency < 20:
        raise pytest.UsageError("--contract-concurrency must be at least 20")
    return ContractOptions(
        base_url=config.getoption("contract_base_url"),
        headers=headers,
        known_deviations=deviations,
        max_examples=max(1, config.getoption("contract_max_examples")),
        seed=config.getoption("contract_seed"),
        persistence_window=max(0.0, config.getoption("contract_persistence_window")),
        volume=max(1, config.getoption("contract_volume")),
        concurrency=concurrency,
        max_rps=max(0.0, config.getoption("contract_max_rps")),
        time_budget=max(0.0, config.getoption("contract_time_budget")),
        junit_xml=config.getoption("contract_junit_xml"),
        report_md=config.getoption("contract_report_md"),
        race_rounds=max(1, config.getoption("contract_race_rounds")),
        request_timeout=max(0.1, config.getoption("contract_request_timeout")),
        request_log=config.getoption("contract_request_log"),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract_property(id): the contract property a conformance check proves")
    config.addinivalue_line("markers", "contract_sequential: run this conformance check in pytest's own thread, "
                                       "never concurrently with other checks")
    run = ContractRun(options_from(config))
    config.stash[RUN_KEY] = run
    activate(run.options)


# Modules whose import is costly, and the properties they check: not collected when none is selected.
COSTLY_MODULES = {"test_schema.py": ("schema.stateless", "schema.stateful")}


def selected(config: pytest.Config, property_id: str) -> bool:
    """Whether `--property`/`--skip-property` keep `property_id`."""
    select, skip = config.getoption("contract_property"), config.getoption("contract_skip_property")
    return (not select or any(fnmatch(property_id, g) for g in select)) and not any(fnmatch(property_id, g) for g in skip)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip importing Schemathesis (seconds) when no schema.* property is selected."""
    ids = COSTLY_MODULES.get(collection_path.name)
    if ids is None or collection_path.parent.name != "contract_tests":
        return None
    return True if not any(selected(config, pid) for pid in ids) else None


def property_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("contract_property")
    return marker.args[0] if marker else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Independent checks are planned for the pool (they run concurrently, see contract_tests.runner);
    the rest run first in pytest's thread meanwhile, and the read-your-writes tallies are read last."""
    if not any(property_of(item) for item in items):
        return
    select, skip = config.getoption("contract_property"), config.getoption("contract_skip_property")
    if select or skip:
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            pid = property_of(item)
            chosen = pid is None or ((not select or any(fnmatch(pid, g) for g in select)) and not any(fnmatch(pid, g) for g in skip))
            (keep if chosen else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    run = config.stash[RUN_KEY]
    order = {pid: index for index, pid in enumerate(PROPERTIES)}
    first = {pid: index for index, pid in enumerate(START_FIRST)}

    def rank(item: pytest.Item) -> tuple[int, int, int]:
        pid = property_of(item) or ""
        group = 2 if pid.startswith("consistency.") else 1 if independent(item, property_of(item)) else 0
        return group, pid == "persistence.until-delete", order.get(pid, -1)

    items.sort(key=rank)
    planned = [(item, pid) for item in items if (pid := property_of(item)) and independent(item, pid)]
    run.concurrent.plan(sorted(planned, key=lambda pair: first.get(pair[1], len(first))))
    run.collect([pid for item in items if (pid := property_of(item))])


# --- fixtures: nothing here runs unless a contract check asks for it ---------------------------


@pytest.fixture(scope="session")
def contract_run(request: pytest.FixtureRequest) -> ContractRun:
    return request.config.stash[RUN_KEY]


@pytest.fixture(scope="session")
def contract_client(contract_run: ContractRun) -> Iterator[ContractClient]:
    """The one client of the run (the target is started or probed on first use)."""
    try:
        client = contract_run.start()
    except TargetUnreachable as exc:
        pytest.exit(str(exc), returncode=2)
    yield client
    contract_run.finish()


@pytest.fixture(scope="session")
def contract_options(contract_run: ContractRun) -> ContractOptions:
    return contract_run.options


# --- per-check hooks -------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if property_of(item) is None:
        return
    run = item.config.stash[RUN_KEY]
    if run.client is not None:
        run.client.forget_last()
    pid = property_of(item)
    if pid is not None and pid.startswith("consistency."):
        run.concurrent.drain()  # the tallies are read only once every other check has ended
    if not run.concurrent.planned(item) and run.stop_reason():
        pytest.skip("time budget used up")
    current_property.set(property_of(item) or SHARED)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    current_property.set(SHARED)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Start the pool of independent checks at the first check; report a planned check's outcome."""
    if property_of(pyfuncitem) is None:
        return None
    run = pyfuncitem.config.stash[RUN_KEY]
    if run.client is not None:
        fixtures = {"contract_client": run.client, "contract_run": run, "contract_options": run.options}
        run.concurrent.start(run.client, fixtures, run.stop_reason)
    if not run.concurrent.planned(pyfuncitem):
        return None
    outcome = run.concurrent.outcome(pyfuncitem)
    run.durations[pyfuncitem.nodeid] = outcome.duration
    if outcome.error is not None:
        raise outcome.error
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome: Any = yield
    pid = property_of(item)
    if pid is not None:
        item.config.stash[RUN_KEY].record(pid, call, outcome.get_result(), item.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    if run is None or not run.collected:
        return
    results = run.finish()
    if run.options.junit_xml:
        _write(run.options.junit_xml, render_junit(results, run.redact))
    if run.options.report_md:
        _write(run.options.report_md, render_markdown(results, run.redact))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is None or run.final is None:
        return
    terminalreporter.section("session API contract")
    terminalreporter.write_line(render_table(run.final, run.redact))


def _write(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
