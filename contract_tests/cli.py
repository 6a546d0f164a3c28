"""`session-contract`: run the conformance suite against a deployment and report per property.

    session-contract run --base-url URL [--header 'Name: value'] [--junit-xml PATH] [--report-md PATH]
                         [--known-deviations FILE] [--max-examples N] [--seed N]
                         [--persistence-window S] [--max-rps N] [--time-budget S] [--volume N]
                         [--property GLOB] [--skip-property GLOB]
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

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
PACKAGE_DIR = Path(__file__).resolve().parent


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (and never echoes a --header value)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"session-contract: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="session-contract", description="Conformance suite for the session API contract.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="check a deployment, property by property")
    run.add_argument("--base-url", help="deployment to check (default: the reference implementation on loopback)")
    run.add_argument("--header", action="append", default=[], metavar="'Name: value'",
                     help="header sent with every request, repeatable (values never appear in any output)")
    run.add_argument("--junit-xml", metavar="PATH", help="write JUnit XML, one testcase per property id")
    run.add_argument("--report-md", metavar="PATH", help="write the Markdown report")
    run.add_argument("--known-deviations", metavar="FILE", help="YAML: property id -> reason")
    run.add_argument("--max-examples", type=int, default=25, metavar="N", help="examples per generated check (default: 25)")
    run.add_argument("--seed", type=int, metavar="N", help="seed for the generated checks")
    run.add_argument("--persistence-window", type=float, default=5.0, metavar="S", help="canary lifetime checked (default: 5)")
    run.add_argument("--volume", type=int, default=2000, metavar="N", help="sessions for persistence under volume (default: 2000)")
    run.add_argument("--concurrency", type=int, default=24, metavar="N", help="parallel requests (default: 24)")
    run.add_argument("--max-rps", type=float, default=0.0, metavar="N", help="requests per second at most (default: no limit)")
    run.add_argument("--time-budget", type=float, default=0.0, metavar="S", help="bound the run to about S seconds")
    run.add_argument("--property", action="append", default=[], metavar="GLOB",
                     help="check only the properties whose id matches (repeatable, e.g. 'persistence.*')")
    run.add_argument("--skip-property", action="append", default=[], metavar="GLOB",
                     help="do not check the properties whose id matches (repeatable)")
    run.add_argument("--quiet", action="store_true", help="no progress lines, only the final table")
    diff = commands.add_parser("diff", help="compare openapi.yaml with a deployment's own OpenAPI description", add_help=False)
    diff.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def pytest_args(ns: argparse.Namespace) -> list[str]:
    """The in-process pytest command line for a `run`."""
    args = [
        str(PACKAGE_DIR), "--rootdir", str(PACKAGE_DIR), "-c", os.devnull,
        "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:warnings", "--capture=sys",
        "-o", "python_files=test_*.py", "-o", "python_functions=test_*", "-o", "addopts=",
        "--max-examples", str(ns.max_examples), "--persistence-window", str(ns.persistence_window),
        "--volume", str(ns.volume), "--concurrency", str(ns.concurrency), "--max-rps", str(ns.max_rps),
        "--time-budget", str(ns.time_budget),
    ]
    if ns.base_url:
        args += ["--base-url", ns.base_url]
    for header in ns.header:
        args += ["--header", header]
    for glob in ns.property:
        args += ["--property", glob]
    for glob in ns.skip_property:
        args += ["--skip-property", glob]
    for flag, value in (("--known-deviations", ns.known_deviations), ("--contract-junit-xml", ns.junit_xml),
                        ("--report-md", ns.report_md), ("--seed", ns.seed)):
        if value is not None:
            args += [flag, str(value)]
    return args


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
        headers = dict(parse_header(raw) for raw in ns.header)
        load_deviations(ns.known_deviations)
    except (ValueError, DeviationsError) as exc:
        print(f"session-contract: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from fnmatch import fnmatch

    from contract_tests.properties import PROPERTIES

    for glob in [*ns.property, *ns.skip_property]:
        if not any(fnmatch(pid, glob) for pid in PROPERTIES):
            print(f"session-contract: error: no property id matches {glob!r}", file=sys.stderr)
            return EXIT_USAGE
    if ns.concurrency < 20:
        print("session-contract: error: --concurrency must be at least 20", file=sys.stderr)
        return EXIT_USAGE
    if ns.base_url:
        try:
            probe(ns.base_url, headers)
        except TargetUnreachable as exc:
            print(f"session-contract: {exc}", file=sys.stderr)
            return EXIT_USAGE
    observer = _Observer(out, ns.quiet)
    if not ns.quiet:
        observer.say(f"session-contract: checking {ns.base_url or 'the reference implementation (loopback)'}")
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
    observer.say(render_table(results, contract_run.redact))
    for label, path in (("JUnit XML", ns.junit_xml), ("Markdown report", ns.report_md)):
        if path:
            observer.say(f"{label}: {path}")
    if results.conformant:
        observer.say("conformant")
        return EXIT_OK
    return EXIT_VIOLATIONS


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
