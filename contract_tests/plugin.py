"""The pytest plugin (entry point `pytest11`): options, the run's fixtures, results and reports.

Installed, it registers its options in every pytest run, but it only starts a server, talks to a
target or writes a report when tests of the `contract_tests` package are collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from contract_tests.client import SHARED, ContractClient, current_property
from contract_tests.deviations import DeviationsError, load_deviations
from contract_tests.properties import PROPERTIES
from contract_tests.redaction import parse_header
from contract_tests.report import render_junit, render_markdown, render_table
from contract_tests.run import ContractOptions, ContractRun, TargetUnreachable, activate
from contract_tests.runner import independent

RUN_KEY = pytest.StashKey[ContractRun]()
# Independent checks start on the pool in this order first (the longest waits begin earliest).
START_FIRST = ("persistence.until-delete", "model.state-machine", "persistence.under-volume", "schema.stateful")


def _addoption(group: Any, name: str, **kwargs: Any) -> None:
    """Register `--name`; if another plugin already owns it (pytest-base-url's --base-url), reuse it."""
    try:
        group.addoption(name, **kwargs)
    except ValueError:
        pass


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("session-contract", "session API conformance suite (contract_tests)")
    _addoption(group, "--base-url", dest="base_url", default=None, metavar="URL",
               help="deployment to check; without it the reference implementation is served on loopback")
    _addoption(group, "--header", dest="contract_headers", action="append", default=[], metavar="'Name: value'",
               help="header sent with every request (repeatable); values never appear in any output")
    _addoption(group, "--known-deviations", dest="contract_known_deviations", default=None, metavar="FILE",
               help="YAML mapping property id -> reason; those failures are reported as known")
    _addoption(group, "--max-examples", dest="contract_max_examples", type=int, default=25, metavar="N",
               help="Hypothesis/Schemathesis examples per generated check (default: 25)")
    _addoption(group, "--seed", dest="contract_seed", type=int, default=None, metavar="N",
               help="seed for the generated checks, to repeat a run")
    _addoption(group, "--persistence-window", dest="contract_persistence_window", type=float, default=5.0,
               metavar="S", help="seconds canary sessions must survive (default: 5)")
    _addoption(group, "--volume", dest="contract_volume", type=int, default=300, metavar="N",
               help="sessions created by the persistence-under-volume check (default: 300)")
    _addoption(group, "--concurrency", dest="contract_concurrency", type=int, default=24, metavar="N",
               help="parallel requests in the concurrency checks (default: 24, at least 20)")
    _addoption(group, "--max-rps", dest="contract_max_rps", type=float, default=0.0, metavar="N",
               help="at most N requests per second (default: 0, no limit)")
    _addoption(group, "--time-budget", dest="contract_time_budget", type=float, default=0.0, metavar="S",
               help="stop starting checks after S seconds, interrupt 10 s later (default: 0, no budget)")
    _addoption(group, "--property", dest="contract_select", action="append", default=[], metavar="GLOB",
               help="check only the properties whose id matches (repeatable, e.g. 'persistence.*')")
    _addoption(group, "--skip-property", dest="contract_skip", action="append", default=[], metavar="GLOB",
               help="do not check the properties whose id matches (repeatable)")
    _addoption(group, "--report-md", dest="contract_report_md", default=None, metavar="PATH",
               help="write the Markdown report here")
    _addoption(group, "--contract-junit-xml", dest="contract_junit_xml", default=None, metavar="PATH",
               help="write JUnit XML with one testcase per property id")
    _addoption(group, "--race-rounds", dest="contract_race_rounds", type=int, default=10, metavar="N",
               help="rounds of each race check (double DELETE, create-with-id on one id); default: 10")
    _addoption(group, "--request-timeout", dest="contract_request_timeout", type=float, default=15.0, metavar="S",
               help="seconds to wait for one answer before that check fails (default: 15)")
    _addoption(group, "--request-log", dest="contract_request_log", default=None, metavar="PATH",
               help="write every request sent, one a line: the property it was for ('(shared)': canaries, cleanup), method, path")


def options_from(config: pytest.Config) -> ContractOptions:
    """The run's options, or a UsageError naming what is wrong (never a header's value)."""
    try:
        headers = dict(parse_header(raw) for raw in config.getoption("contract_headers") or [])
        deviations = load_deviations(config.getoption("contract_known_deviations"))
    except (ValueError, DeviationsError) as exc:
        raise pytest.UsageError(str(exc)) from None
    concurrency = config.getoption("contract_concurrency")
    if concurrency < 20:
        raise pytest.UsageError("--concurrency must be at least 20")
    return ContractOptions(
        base_url=config.getoption("base_url"),
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
    select, skip = config.getoption("contract_select"), config.getoption("contract_skip")
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
    select, skip = config.getoption("contract_select"), config.getoption("contract_skip")
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
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
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
