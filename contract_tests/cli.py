"""`session-contract`: run the conformance suite against a deployment and report per property.

    session-contract run [--base-url URL] [options]     (see `session-contract run --help`)
    session-contract canary plant|check|clear --base-url URL --state FILE
    session-contract diff ARGS...

`run` parses its options once into a validated `RunOptions`, calls the engine
(`contract_tests.engine`) and renders its events: progress lines from the first second, a line per
check as it ends, a heartbeat at least every 5 s, then the final table and the reports asked for
(JUnit XML, Markdown, JSON).

Exit codes: 0 conformant, 1 violations (or an incomplete run), 2 usage error or target unreachable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from contract_tests.options import OPTION_BY_NAME, OPTIONS, RunOptions, UsageError, add_cli_options, build_options
from session_spec import toolkit_version

if TYPE_CHECKING:
    from contract_tests.report import RunResults

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
_ENGINE_RAN = False  # whether this process's engine run has ended (for the message of a late interrupt)
LEFT_BEHIND_SHOWN = 200  # ids printed on the terminal after a stop; every id is in the JSON report


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (and never echoes a --header value)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from session_spec.credentials import usage_text

        self.exit(EXIT_USAGE, f"session-contract: error: {usage_text(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="session-contract", description="Conformance suite for the session API contract.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {toolkit_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="check a deployment, property by property", epilog=_run_epilog(),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_cli_options(run)
    run.add_argument("--quiet", action="store_true", help="no progress lines, only the final table")
    canary = commands.add_parser("canary", help="plant, check or clear canary sessions that outlive a run (persistence over days)",
                                 epilog="exit codes: 0 done (check: every canary intact); 1 a canary gone or changed (check), "
                                        "not deleted (clear) or not planted (plant); 2 usage error or target unreachable")
    steps = canary.add_subparsers(dest="step", required=True)
    for step, text in (("plant", "create canary sessions and record them in the state file (added to any already there)"),
                       ("check", "check the canaries in the state file: each must still answer exactly as when planted"),
                       ("clear", "delete every canary in the state file, then the file")):
        command = steps.add_parser(step, help=text, description=text)
        for name in ("base-url", "header", "cacert", "cert", "key", "request-timeout"):
            kwargs = OPTION_BY_NAME[name].kwargs()
            if name == "base-url":  # no default target here: the canaries live on one deployment
                kwargs["help"] = "the deployment the canaries live on: http(s)://host[:port][/prefix] (required)"
            command.add_argument(OPTION_BY_NAME[name].cli_flag, **kwargs)
        command.add_argument("--state", required=True, metavar="FILE", help="the canary state file (JSON: ids, data, times)")
        if step == "plant":
            command.add_argument("--count", type=int, default=3, metavar="N", help="canaries to plant (default: %(default)s)")
        if step == "check":
            command.add_argument("--clear", action="store_true", help="delete the canaries checked (exit 1 still, if any was gone or changed)")
    diff = commands.add_parser("diff", help="compare openapi.yaml with a deployment's own OpenAPI description", add_help=False)
    diff.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _run_epilog() -> str:
    from contract_tests.properties import PROPERTIES

    width = max(len(pid) for pid in PROPERTIES)
    lines = ["property ids (for --property, --skip-property and --known-deviations):"]
    lines += [f"  {pid.ljust(width)}  {statement}" for pid, statement in PROPERTIES.items()]
    lines += ["", "stopping: Ctrl-C or SIGTERM stops sending within 1 s, abandons requests in flight after 5 s, deletes",
              "  what the run created (bounded by --cleanup-timeout), writes every report asked for, exits 1;",
              "  a second Ctrl-C skips the deletion and prints the ids left behind.",
              "", "exit codes:", "  0  conformant (every failure is a listed known deviation, nothing left behind)",
              "  1  violations, sessions left behind, or an incomplete run (interrupted, out of time)",
              "  2  usage error or target unreachable"]
    return "\n".join(lines)


class Progress:
    """Renders the engine's events as lines (a terminal and a CI log alike: no cursor tricks)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def __call__(self, event: object) -> None:
        from contract_tests.engine import CheckFinished, CleanupStarted, Heartbeat, RunStarted, Stopping
        from contract_tests.report import FAIL, INCONCLUSIVE, KNOWN, NOT_CHECKED, PASS

        if isinstance(event, RunStarted):
            budget = f", time budget {event.time_budget:g} s" if event.time_budget else ""
            self.say(f"session-contract: checking {event.target} (seed {event.seed}, {len(event.properties)} properties{budget})")
        elif isinstance(event, CheckFinished):
            r = event.result
            label = {PASS: "pass", FAIL: "FAIL", KNOWN: "known", NOT_CHECKED: "not checked", INCONCLUSIVE: "INCONCLUSIVE"}[r.status]
            self.say(f"[{event.done:2d}/{event.total}] {label:11s} {r.property_id}  ({r.duration:.1f} s, {r.requests} requests)")
        elif isinstance(event, Heartbeat):
            running = f": running {', '.join(event.running)}" if event.running else ""
            self.say(f"  ... {event.elapsed:.0f} s, {event.phase}{running}; {event.requests} requests so far")
        elif isinstance(event, Stopping):
            if event.abort:
                self.say("session-contract: stopped again: skipping cleanup")
            else:
                self.say(f"session-contract: stopping ({event.reason}): no new requests; running checks get 5 s")
        elif isinstance(event, CleanupStarted):
            self.say(f"cleanup: deleting {event.sessions} sessions the run created")


def run(ns: argparse.Namespace, out: TextIO) -> int:
    from contract_tests.engine import Engine
    from contract_tests.properties import PROPERTIES
    from contract_tests.registry import select_checks
    from contract_tests.target import TargetUnreachable, probe

    try:
        options = build_options(vars(ns), known_ids=lambda: list(PROPERTIES))
    except UsageError as exc:
        print(f"session-contract: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if options.canary_state:
        from contract_tests.canaries import CanaryStateError, load_state

        try:
            load_state(options.canary_state)
        except CanaryStateError as exc:
            print(f"session-contract: error: {exc}", file=sys.stderr)
            return EXIT_USAGE

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    if not ns.quiet:  # before the target is even asked: the first line within a second
        say(f"session-contract: starting: {options.deployment_target}")
    if options.base_url is not None:
        try:
            probe(options.base_url, options.headers, tls=options.tls)
        except TargetUnreachable as exc:
            print(f"session-contract: {exc}", file=sys.stderr)
            return EXIT_USAGE
    progress = Progress(say if not ns.quiet else (lambda line: None))
    # Hypothesis' caches go to a temporary directory, not into the caller's working directory.
    scratch = tempfile.mkdtemp(prefix="session-contract-")
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", scratch)
    try:
        engine = Engine(options, select_checks(options.select, options.skip), on_event=progress)
        try:
            results = engine.run()
            global _ENGINE_RAN
            _ENGINE_RAN = True
        except TargetUnreachable as exc:
            print(f"session-contract: {exc}", file=sys.stderr)
            return EXIT_USAGE
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    written = write_reports(options, results)
    say("")
    for label, path in written:
        say(f"{label}: {path}")
    from contract_tests.report import render_table

    say(render_table(results))  # ends with the verdict line
    left = results.hygiene.left_behind
    if left and results.stopped:
        shown = ", ".join(left[:LEFT_BEHIND_SHOWN])
        more = f" ... and {len(left) - LEFT_BEHIND_SHOWN} more" if len(left) > LEFT_BEHIND_SHOWN else ""
        say(f"left behind ({len(left)}): {shown}{more}")
    code = EXIT_OK if results.conformant else EXIT_VIOLATIONS
    if engine.abort.cancelled:  # a second stop: exit now, without waiting for abandoned requests
        out.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def canary(ns: argparse.Namespace, out: TextIO) -> int:
    """`session-contract canary plant|check|clear`: each step of persistence over days alone.
    Exit 0 done (all intact), 1 a canary gone or changed (check) or not deleted (clear), 2 usage or unreachable."""
    from contract_tests.canaries import CanaryStateError, check, clear, load_state, plant, save_state
    from contract_tests.client import ContractClient
    from contract_tests.expect import ContractViolation
    from contract_tests.target import TargetUnreachable, probe

    def fail(message: str) -> int:
        print(f"session-contract canary: {message}", file=sys.stderr)
        return EXIT_USAGE

    try:
        options = build_options(vars(ns))
        if options.base_url is None:
            raise UsageError("--base-url is required: the deployment whose canaries these are")
        earlier = load_state(ns.state)
        if ns.step != "plant" and not earlier:
            raise UsageError(f"no canaries recorded in {ns.state}")
        probe(options.base_url, options.headers, tls=options.tls)
    except (UsageError, CanaryStateError) as exc:
        return fail(f"error: {exc}")
    except TargetUnreachable as exc:
        return fail(str(exc))
    label = options.deployment_label

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    with ContractClient(options.base_url, options.headers, tls=options.tls, timeout=options.request_timeout,
                        verify_writes=False) as client:
        try:
            if ns.step == "plant":
                planted = plant(client, max(1, ns.count))
                save_state(ns.state, label, [*earlier, *planted])
                say(f"planted {len(planted)} canaries on {label}; ids kept in {ns.state} ({len(earlier) + len(planted)} in all)")
                return EXIT_OK if len(planted) == max(1, ns.count) else EXIT_VIOLATIONS
            if ns.step == "check":
                found = check(client, earlier)
                say(found.summary())
                for canary_, seen in [*found.missing, *found.changed]:
                    say(f"  {canary_.session_id} (planted {canary_.planted_at.isoformat()}) {seen}")
                if ns.clear:
                    checked = [*found.intact, *(c for c, _ in found.changed)]
                    kept = clear(client, checked)
                    save_state(ns.state, label, [c for c in earlier if c.session_id in kept])
                    say(f"cleared {len(checked) - len(kept)} canaries{'; not deleted: ' + ', '.join(kept) if kept else ''}")
                return EXIT_OK if found.ok else EXIT_VIOLATIONS
            kept = clear(client, earlier)
            if kept:
                save_state(ns.state, label, [c for c in earlier if c.session_id in kept])
                say(f"cleared {len(earlier) - len(kept)} canaries; not deleted (still in {ns.state}): {', '.join(kept)}")
                return EXIT_VIOLATIONS
            Path(ns.state).unlink(missing_ok=True)
            say(f"cleared {len(earlier)} canaries; {ns.state} removed")
            return EXIT_OK
        except CanaryStateError as exc:
            return fail(f"error: {exc}")
        except ContractViolation as exc:
            print(f"session-contract canary: {client.redact(exc.explanation)}", file=sys.stderr)
            return EXIT_VIOLATIONS


def write_reports(options: RunOptions, results: RunResults) -> list[tuple[str, str]]:
    """Write the JUnit XML, Markdown and JSON reports asked for; [(label, path)] of those written."""
    from contract_tests.report import render_json, render_junit, render_markdown

    written: list[tuple[str, str]] = []
    renders: tuple[tuple[str, str | None, Callable[[], str]], ...] = (
        ("JUnit XML", options.junit_xml, lambda: render_junit(results)),
        ("Markdown report", options.report_md, lambda: render_markdown(results)),
        ("JSON report", options.report_json,
         lambda: render_json(results, tool_version=toolkit_version(), options=options_for_report(options))),
    )
    for label, path, render in renders:
        if path:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(), encoding="utf-8")
            written.append((label, path))
    return written


def options_for_report(options: RunOptions) -> dict[str, object]:
    """The run's options as the JSON report shows them: header names only, no credentials."""
    from session_spec.credentials import without_credentials

    shown: dict[str, object] = {}
    for option in OPTIONS:
        key = option.dest.removeprefix("contract_")
        value = getattr(options, {"property": "select", "skip_property": "skip"}.get(key, key), None)
        if option.name == "header":
            value = dict.fromkeys(options.headers, "<redacted>")
        elif option.name == "known-deviations":
            value = sorted(options.known_deviations)
        elif option.name == "base-url" and value is not None:
            value = without_credentials(str(value))
        elif isinstance(value, tuple):
            value = list(value)
        shown[key] = value
    return shown


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diff"]:
        from contract_tests.diff import main as diff_main  # written on another branch

        sys.exit(diff_main(argv[1:]))
    ns = build_parser().parse_args(argv)
    # Until the engine installs its own (cooperative) handlers, a stop is an ordinary interrupt of
    # this single thread: no request is in flight yet, and nothing has been created.
    # SIGINT too: a shell starts a background job with SIGINT ignored, and Python then leaves it so; a
    # Ctrl-C (or `kill -INT`) in the first moments was lost, and the run went on to its end.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt_before_start)
        signal.signal(signal.SIGINT, _interrupt_before_start)
    try:
        code = canary(ns, sys.stdout) if ns.command == "canary" else run(ns, sys.stdout)
    except KeyboardInterrupt:
        when = "after the run, while writing its reports" if _ENGINE_RAN else "before any check started; nothing was created"
        print(f"session-contract: interrupted {when}", file=sys.stderr)
        code = EXIT_VIOLATIONS
    sys.exit(code)


def _interrupt_before_start(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
