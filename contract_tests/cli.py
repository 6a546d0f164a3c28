"""`session-contract`: run the conformance suite against a deployment and report per property.

    session-contract run --base-url URL [--header 'Name: value'] [--junit-xml PATH] [--report-md PATH]
                         [--known-deviations FILE] [--max-examples N] [--seed N]
                         [--persistence-window S] [--max-rps N] [--time-budget S] [--volume N]
                         [--property GLOB] [--skip-property GLOB] [--race-rounds N]
                         [--request-timeout S] [--request-log PATH] [--concurrency N]
    session-contract diff ARGS...

Exit codes: 0 conformant, 1 violations (or an incomplete run), 2 usage error or target unreachable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import pytest

from contract_tests.options import add_cli_options
from contract_tests.options import pytest_args as options_pytest_args
from session_spec import toolkit_version

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
PACKAGE_DIR = Path(__file__).resolve().parent


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (and never echoes a --header value)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"session-contract: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="session-contract", description="Conformance suite for the session API contract.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {toolkit_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="check a deployment, property by property", epilog=_run_epilog(),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_cli_options(run)
    run.add_argument("--quiet", action="store_true", help="no progress lines, only the final table")
    diff = commands.add_parser("diff", help="compare openapi.yaml with a deployment's own OpenAPI description", add_help=False)
    diff.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _run_epilog() -> str:
    from contract_tests.properties import PROPERTIES

    width = max(len(pid) for pid in PROPERTIES)
    lines = ["property ids (for --property, --skip-property and --known-deviations):"]
    lines += [f"  {pid.ljust(width)}  {statement}" for pid, statement in PROPERTIES.items()]
    lines += ["", "exit codes:", "  0  conformant (every failure is a listed known deviation, nothing left behind)",
              "  1  violations, sessions left behind, or an incomplete run",
              "  2  usage error or target unreachable"]
    return "\n".join(lines)


def pytest_args(ns: argparse.Namespace) -> list[str]:
    """The in-process pytest command line for a `run`: the suite's package, its plugin, the options."""
    return [
        str(PACKAGE_DIR), "--rootdir", str(PACKAGE_DIR), "-c", os.devnull, "-p", "contract_tests.plugin",
        "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:warnings", "--capture=sys",
        "-o", "python_files=test_*.py", "-o", "python_functions=test_*", "-o", "addopts=",
        *options_pytest_args(ns),
    ]


class _Observer:
    """Receives the run's progress and final results from inside pytest."""

    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet
        self.run: Any = None

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        from contract_tests.plugin import RUN_KEY

        self.run = config.stash[RUN_KEY]
        if not self.quiet:
            self.run.progress = self.say


def run(ns: argparse.Namespace, out: TextIO) -> int:
    from contract_tests.deviations import DeviationsError, load_deviations
    from contract_tests.redaction import parse_header
    from contract_tests.report import render_table
    from contract_tests.run import TargetUnreachable, probe

    try:
        headers = dict(parse_header(raw) for raw in ns.contract_header)
        load_deviations(ns.contract_known_deviations)
    except (ValueError, DeviationsError) as exc:
        print(f"session-contract: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from fnmatch import fnmatch

    from contract_tests.properties import PROPERTIES

    for glob in [*ns.contract_property, *ns.contract_skip_property]:
        if not any(fnmatch(pid, glob) for pid in PROPERTIES):
            print(f"session-contract: error: no property id matches {glob!r}", file=sys.stderr)
            return EXIT_USAGE
    if ns.contract_concurrency < 20:
        print("session-contract: error: --concurrency must be at least 20", file=sys.stderr)
        return EXIT_USAGE
    if ns.contract_base_url:
        try:
            probe(ns.contract_base_url, headers)
        except TargetUnreachable as exc:
            print(f"session-contract: {exc}", file=sys.stderr)
            return EXIT_USAGE
    observer = _Observer(out, ns.quiet)
    if not ns.quiet:
        observer.say(f"session-contract: checking {ns.contract_base_url or 'the reference implementation (loopback)'}")
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    # Hypothesis' caches go to a temporary directory, not into the caller's working directory.
    scratch = tempfile.mkdtemp(prefix="session-contract-")
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", scratch)
    try:
        code = pytest.main(pytest_args(ns), plugins=[observer])
    except KeyboardInterrupt:
        code = pytest.ExitCode.INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(scratch, ignore_errors=True)
    contract_run = observer.run
    if code == EXIT_USAGE and (contract_run is None or contract_run.final is None):
        return EXIT_USAGE
    if contract_run is None or contract_run.final is None:
        print(f"session-contract: the suite did not run (pytest exit code {int(code)})", file=sys.stderr)
        return EXIT_USAGE
    results = contract_run.final
    if code == pytest.ExitCode.INTERRUPTED and not results.stopped:
        results.stopped = "interrupted"
    observer.say("")
    for label, path in (("JUnit XML", ns.contract_junit_xml), ("Markdown report", ns.contract_report_md)):
        if path:
            observer.say(f"{label}: {path}")
    observer.say(render_table(results, contract_run.redact))  # ends with the verdict line
    return EXIT_OK if results.conformant else EXIT_VIOLATIONS


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt("SIGTERM")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diff"]:
        from contract_tests.diff import main as diff_main  # written on another branch

        sys.exit(diff_main(argv[1:]))
    ns = build_parser().parse_args(argv)
    sys.exit(run(ns, sys.stdout))


if __name__ == "__main__":
    main()
