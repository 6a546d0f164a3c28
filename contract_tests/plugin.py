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

from contract_tests.client import ContractClient
from contract_tests.properties import PROPERTIES
from contract_tests.deviations import DeviationsError, load_deviations
from contract_tests.redaction import parse_header
from contract_tests.report import render_junit, render_markdown, render_table
from contract_tests.run import ContractOptions, ContractRun, TargetUnreachable

RUN_KEY = pytest.StashKey[ContractRun]()
RUN_LAST = ("persistence.until-delete", "consistency.read-your-writes")


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
    _addoption(group, "--volume", dest="contract_volume", type=int, default=2000, metavar="N",
               help="sessions created by the persistence-under-volume check (default: 2000)")
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
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract_property(id): the contract property a conformance check proves")
    config.stash[RUN_KEY] = ContractRun(options_from(config))


def property_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("contract_property")
    return marker.args[0] if marker else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Canaries are re-checked last, and the read-your-writes tally is read after every write."""
    if not any(property_of(item) for item in items):
        return
    select, skip = config.getoption("contract_select"), config.getoption("contract_skip")
    if select or skip:
        keep, drop = [], []
        for item in items:
            pid = property_of(item)
            chosen = pid is None or ((not select or any(fnmatch(pid, g) for g in select)) and not any(fnmatch(pid, g) for g in skip))
            (keep if chosen else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    last = {pid: index + 1 for index, pid in enumerate(RUN_LAST)}
    order = {pid: index for index, pid in enumerate(PROPERTIES)}

    def rank(item: pytest.Item) -> tuple[int, int]:
        pid = property_of(item) or ""
        return last.get(pid, 0), order.get(pid, -1)

    items.sort(key=rank)
    config.stash[RUN_KEY].collect([pid for item in items if (pid := property_of(item))])


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
    if run.over_budget():
        run.stopped = run.stopped or f"time budget of {run.options.time_budget:g} s used up; later checks not run"
        pytest.skip("time budget used up")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    pid = property_of(item)
    if pid is not None:
        item.config.stash[RUN_KEY].record(pid, call, outcome.get_result())


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
