"""Soak: do default `session-contract run`s pass a correct target every time, report from the first
seconds, and stop cleanly, leaving nothing behind, when interrupted at any moment?

    .venv/bin/python bench/soak.py --quick                    # a smoke run: about 2 minutes
    .venv/bin/python bench/soak.py --runs 50 --interrupts 50 --out soak.json

Starts `session-mock` twice on free loopback ports, one in memory and one with `--state-file` in a
temporary folder, then:

1. Runs `session-contract run --base-url URL` with default options `--runs` times against each store
   (alternating stores). A run that exits non-zero against the correct mock is a false failure; its
   output is kept in the `--keep` folder. Per run: wall time, time from process start to the first
   line on stdout and to the first progress line (`--progress-regex`, by default the suite's
   `[ n/N]` line per finished check), and the longest gap between two consecutive stdout lines
   (each line timestamped as it is read).
2. Interrupts `--interrupts` more runs (any 4 in a row cover each store with each signal)
   at a moment drawn uniformly from [1 s, typical run length] (`--seed`; the typical length is the
   median wall time of step 1, or `--run-length`), with SIGINT and SIGTERM alternately, sent to the
   run's process group as a terminal's Ctrl-C is. Measures the time from the signal to the exit; a
   run still alive 10 s after the signal is a hang, and after 60 s it is killed with SIGKILL. Records
   its exit code, whether its output says "interrupted", the left-behind count it reports
   (`N left behind`) and whether that matches the store.

Before and after every run, `GET /__mock/sessions` counts the stored sessions (after a 0.5 s settle);
the difference is what the run left behind, then `POST /__mock/reset` empties the store for the next.
Every run gets default SIGINT and SIGTERM handling, whatever this process inherited (a shell sets
SIGINT to ignored for a background job). Prints a line per run, a summary table, and writes it as
JSON with every run's figures to `--out`. SIGTERM or Ctrl-C stops the soak, the run in progress and
the servers. Only 127.0.0.1 is contacted. A benchmark, never a test: tests/test_bench_soak.py checks
only its command line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from reference_impl.serving import free_port  # noqa: E402

STORES = {"memory": "session-mock, in memory", "state-file": "session-mock --state-file (SQLite)"}
HANG_AFTER = 10.0  # seconds from the signal to the exit beyond which an interrupted run counts as a hang
KILL_AFTER = 60.0  # seconds from the signal after which an interrupted run is killed with SIGKILL
SETTLE = 0.5  # seconds between a run's exit and counting the store (answers still in flight land)
DEFAULT_RUN_LENGTH = 20.0  # seconds, when no run of step 1 measured it and --run-length is not given
PROGRESS = r"^\s*\[\s*\d+\s*/\s*\d+\s*\]"  # the suite's line per finished check: "[ 3/39] pass ..."
LEFT_BEHIND = re.compile(r"(\d+) left behind")
QUICK = {"runs": 2, "interrupts": 2}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2), without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="bench/soak.py",
        description="Soak session-contract against session-mock: false failures, progress, and clean stops on SIGINT/SIGTERM.",
    )
    parser.add_argument("--runs", type=_whole(0), default=50, metavar="N", help="default runs per store, each must pass (default: %(default)s; 0 for none)")
    parser.add_argument("--interrupts", type=_whole(0), default=50, metavar="M", help="runs interrupted at a random moment, in all (default: %(default)s; 0 for none)")
    parser.add_argument(
        "--quick", action="store_true",
        help=f"a smoke run of about 2 minutes: {QUICK['runs']} runs per store and {QUICK['interrupts']} interrupts (overrides --runs and --interrupts)",
    )
    parser.add_argument("--seed", type=_whole(0), default=None, metavar="N", help="seed of the interrupt moments and of nothing else (default: random, printed)")
    parser.add_argument(
        "--run-length", type=_seconds(1.0), default=None, metavar="S",
        help=f"typical run length: interrupts fall in [1 s, S] (default: the median wall time of the runs, else {DEFAULT_RUN_LENGTH:g})",
    )
    parser.add_argument(
        "--run-timeout", type=_seconds(10.0), default=300.0, metavar="S",
        help="a run (not interrupted) still alive after S seconds is killed and counts as failed (default: %(default)g)",
    )
    parser.add_argument("--stores", type=_names(STORES), default=list(STORES), help=f"comma-separated stores among {', '.join(STORES)} (default: both)")
    parser.add_argument("--progress-regex", type=_regex, default=PROGRESS, metavar="REGEX", help="what a progress line matches (default: %(default)r)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="folder for failing and interrupted runs' output and the servers' logs (default: a new temporary folder)")
    parser.add_argument("--out", type=Path, metavar="PATH", help="also write the summary and every run's figures as JSON to PATH")
    return parser


def _whole(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"a whole number of at least {minimum} (got {text!r})")
        return value

    return parse


def _seconds(minimum: float) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not value >= minimum or value == float("inf"):
            raise argparse.ArgumentTypeError(f"seconds, at least {minimum:g} (got {text!r})")
        return value

    return parse


def _names(table: dict[str, str]) -> Any:
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names or any(name not in table for name in names):
            raise argparse.ArgumentTypeError(f"choose among {', '.join(table)} (got {text!r})")
        return list(dict.fromkeys(names))

    return parse


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression ({exc}): {text!r}") from None
    return text


def console_script(name: str) -> Path:
    """The command `name` of this environment (next to its Python), as a user of it runs it."""
    return Path(sys.executable).parent / name


def default_signals() -> None:
    """In the child, before exec: SIGINT and SIGTERM as a fresh process has them. An ignored signal
    stays ignored across exec, and a shell starts a background job with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class Server:
    store: str
    base_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def serve(store: str, folder: Path, logs: Path) -> Iterator[Server]:
    """session-mock over `store` (a state file in `folder`) on a free loopback port, its log in `logs`,
    up once /health answers; stopped afterwards."""
    import httpx

    port = free_port()
    command = [str(console_script("session-mock")), "--host", "127.0.0.1", "--port", str(port)]
    if store == "state-file":
        command += ["--state-file", str(folder / "soak-state.db")]
    log = (logs / f"session-mock-{store}.log").open("wb")
    process = subprocess.Popen(
        command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=default_signals
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base_url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = Path(log.name).read_text(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"session-mock ({store}) did not start; the end of its log: {' / '.join(tail) or '(empty)'}")
            time.sleep(0.1)
        yield Server(store, base_url, process)
    finally:
        stop(process, signal.SIGTERM, grace=10)
        log.close()


def stop(process: subprocess.Popen[bytes], signum: int, grace: float) -> None:
    """Signal the process group of `process`, then SIGKILL it if it has not exited within `grace` seconds."""
    if process.poll() is not None:
        return
    with _gone_is_fine():
        os.killpg(process.pid, signum)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with _gone_is_fine():
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def _gone_is_fine() -> Iterator[None]:
    try:
        yield
    except ProcessLookupError:
        pass


def stored(server: Server) -> int:
    """How many sessions the mock holds now, from `GET /__mock/sessions`."""
    import httpx

    answer = httpx.get(server.base_url + "/__mock/sessions", timeout=30)
    answer.raise_for_status()
    return int(answer.json()["count"])


def reset(server: Server) -> None:
    import httpx

    httpx.post(server.base_url + "/__mock/reset", timeout=30).raise_for_status()


@dataclass
class Run:
    """One `session-contract run`, as watched from outside."""

    kind: str  # "run" or "interrupt"
    store: str
    index: int
    exit_code: int | None = None
    wall_s: float = 0.0
    first_line_s: float | None = None
    first_progress_s: float | None = None
    max_gap_s: float = 0.0
    lines: int = 0
    timed_out: bool = False  # killed at --run-timeout (a plain run) or KILL_AFTER (an interrupted one)
    stored_before: int = 0
    stored_after: int = 0
    # interrupted runs only
    signal: str | None = None
    signal_at_s: float | None = None
    exited_before_signal: bool = False
    exit_after_signal_s: float | None = None
    hang: bool = False
    says_interrupted: bool = False
    reported_left_behind: int | None = None
    output: str | None = None  # where its output was kept

    @property
    def left_behind(self) -> int:
        return self.stored_after - self.stored_before

    @property
    def count_matches_store(self) -> bool:
        return self.reported_left_behind == self.left_behind


@dataclass
class Watched:
    """What `watch` saw: times in seconds since the process started."""

    exit_code: int
    wall_s: float  # when it exited
    lines: list[tuple[float, str]]  # stdout, each line with the time it was read
    stderr: str
    signal_at_s: float | None  # when the signal went, if it did
    killed: bool


def watch(command: list[str], *, signal_at: float | None, signum: int, kill_at: float, scratch: Path) -> Watched:
    """Run `command`, timestamping each stdout line as it is read; send `signum` to its process group
    `signal_at` seconds after the start (if still alive), and SIGKILL it at `kill_at` seconds after the
    signal (or after the start, without one). One thread: a selector over stdout with short waits."""
    with (scratch / "stderr").open("w+b") as stderr:
        start = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=default_signals
        )
        assert process.stdout is not None
        try:
            lines: list[tuple[float, str]] = []
            pending = b""
            sent: float | None = None
            killed = False
            exited: float | None = None
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                open_pipe = True
                while exited is None or open_pipe:
                    now = time.monotonic() - start
                    if exited is None and process.poll() is not None:
                        exited = now
                    if exited is not None and open_pipe and not selector.select(0):
                        break  # exited, and nothing more to read now (a grandchild may hold the pipe open)
                    if exited is None and signal_at is not None and sent is None and now >= signal_at:
                        with _gone_is_fine():
                            os.killpg(process.pid, signum)
                        sent = now
                    deadline = sent + kill_at if sent is not None else kill_at if signal_at is None else float("inf")
                    if exited is None and not killed and now >= deadline:
                        with _gone_is_fine():
                            os.killpg(process.pid, signal.SIGKILL)
                        killed = True
                    if not open_pipe:
                        time.sleep(0.05)
                        continue
                    for _ in selector.select(0.05):
                        chunk = os.read(process.stdout.fileno(), 65536)
                        stamp = time.monotonic() - start
                        if not chunk:
                            open_pipe = False
                            selector.unregister(process.stdout)
                            break
                        pending += chunk
                        *complete, pending = pending.split(b"\n")
                        lines.extend((stamp, line.decode("utf-8", "replace")) for line in complete)
            if pending:
                lines.append((time.monotonic() - start, pending.decode("utf-8", "replace")))
            code = process.wait()
        finally:
            stop(process, signal.SIGKILL, grace=10)
            process.stdout.close()
        stderr.seek(0)
        return Watched(code, exited or time.monotonic() - start, lines, stderr.read().decode("utf-8", "replace"), sent, killed)


class Soak:
    def __init__(self, args: argparse.Namespace, servers: dict[str, Server], keep: Path) -> None:
        self.args = args
        self.servers = servers
        self.keep = keep
        self.progress = re.compile(args.progress_regex)
        self.command = [str(console_script("session-contract")), "run", "--base-url"]
        self.runs: list[Run] = []

    def one(self, kind: str, store: str, index: int, signal_at: float | None = None, signum: int = signal.SIGINT) -> Run:
        server = self.servers[store]
        run = Run(kind, store, index, stored_before=stored(server))
        kill_at = KILL_AFTER if signal_at is not None else self.args.run_timeout
        with tempfile.TemporaryDirectory(prefix="soak-run-") as scratch:
            watched = watch([*self.command, server.base_url], signal_at=signal_at, signum=signum, kill_at=kill_at, scratch=Path(scratch))
        time.sleep(SETTLE)
        run.stored_after = stored(server)
        if run.stored_after:
            reset(server)
        stamps = [stamp for stamp, _ in watched.lines]
        run.exit_code, run.wall_s, run.lines, run.timed_out = watched.exit_code, watched.wall_s, len(stamps), watched.killed
        run.first_line_s = stamps[0] if stamps else None
        run.first_progress_s = next((stamp for stamp, line in watched.lines if self.progress.search(line)), None)
        run.max_gap_s = max((b - a for a, b in zip(stamps, stamps[1:], strict=False)), default=0.0)
        text = "\n".join(line for _, line in watched.lines) + "\n" + watched.stderr
        if signal_at is not None:
            run.signal, run.signal_at_s = signal.Signals(signum).name, signal_at
            run.exited_before_signal = watched.signal_at_s is None
            if watched.signal_at_s is not None:
                run.exit_after_signal_s = watched.wall_s - watched.signal_at_s
                run.hang = run.exit_after_signal_s > HANG_AFTER
            run.says_interrupted = "interrupted" in text.lower()
            counts = LEFT_BEHIND.findall(text)
            run.reported_left_behind = int(counts[-1]) if counts else None
        if kind == "interrupt" or run.exit_code != 0 or run.left_behind:
            path = self.keep / f"{kind}-{index:03d}-{store}.txt"
            timed = "\n".join(f"{stamp:8.2f}  {line}" for stamp, line in watched.lines)
            path.write_text(f"$ {' '.join(self.command)} {server.base_url}\n{describe(run)}\n\n--- stdout (seconds since start) ---\n{timed}\n--- stderr ---\n{watched.stderr}")
            run.output = str(path)
        self.runs.append(run)
        print(describe(run), flush=True)
        return run


def describe(run: Run) -> str:
    first = f"{run.first_progress_s:.1f}" if run.first_progress_s is not None else "-"
    text = f"  {run.kind:<9} {run.index:>3} {run.store:<10} exit {run.exit_code!s:>4}  {run.wall_s:6.1f} s  first progress {first:>5} s  max gap {run.max_gap_s:5.1f} s"
    if run.signal:
        if run.exited_before_signal:
            text += f"  {run.signal} due at {run.signal_at_s:.1f} s: exited before it"
        else:
            text += f"  {run.signal} at {run.signal_at_s:.1f} s, exit {run.exit_after_signal_s:.1f} s later"
        text += f"{'  HANG' if run.hang else ''}{'  KILLED' if run.timed_out else ''}; says interrupted: {'yes' if run.says_interrupted else 'NO'}"
        text += f"; reported left behind {run.reported_left_behind if run.reported_left_behind is not None else '-'}"
    elif run.timed_out:
        text += "  KILLED at --run-timeout"
    text += f"; left in store {run.left_behind}"
    return text


def _max(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(max(present), 2) if present else None


def summarise(runs: list[Run], stores: list[str]) -> dict[str, Any]:
    per_store: dict[str, Any] = {}
    for store in stores:
        plain = [r for r in runs if r.kind == "run" and r.store == store]
        walls = [r.wall_s for r in plain]
        per_store[store] = {
            "runs": len(plain),
            "false_failures": sum(r.exit_code != 0 for r in plain),
            "median_wall_s": round(statistics.median(walls), 2) if walls else None,
            "max_wall_s": _max(list(walls)),
            "max_first_line_s": _max([r.first_line_s for r in plain]),
            "max_first_progress_s": _max([r.first_progress_s for r in plain]),
            "runs_without_progress_line": sum(r.first_progress_s is None for r in plain),
            "max_gap_between_lines_s": _max([r.max_gap_s for r in plain]),
            "sessions_left_behind": sum(r.left_behind for r in plain),
        }
    stopped = [r for r in runs if r.kind == "interrupt"]
    signalled = [r for r in stopped if not r.exited_before_signal]
    interrupts = {
        "count": len(stopped),
        "exited_before_signal": len(stopped) - len(signalled),
        "hangs_over_10s": sum(r.hang for r in signalled),
        "killed_after_60s": sum(r.timed_out for r in signalled),
        "max_time_to_exit_s": _max([r.exit_after_signal_s for r in signalled]),
        "sessions_left_behind": sum(r.left_behind for r in stopped),
        "exit_codes": sorted({r.exit_code for r in stopped if r.exit_code is not None}),
        "say_interrupted": sum(r.says_interrupted for r in signalled),
        "left_behind_count_matches_store": sum(r.count_matches_store for r in signalled),
    }
    return {"stores": per_store, "interrupts": interrupts}


def table(summary: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    lines = [f"\n{'store':<11} {'runs':>4} {'false fail':>10} {'median s':>8} {'max s':>6} {'1st line s':>10} {'1st progress s':>14} {'max gap s':>9} {'left':>5}"]
    for store, s in summary["stores"].items():
        lines.append(
            f"{store:<11} {s['runs']:>4} {s['false_failures']:>10} {show(s['median_wall_s']):>8} {show(s['max_wall_s']):>6}"
            f" {show(s['max_first_line_s']):>10} {show(s['max_first_progress_s']):>14} {show(s['max_gap_between_lines_s']):>9} {s['sessions_left_behind']:>5}"
        )
    i = summary["interrupts"]
    signalled = i["count"] - i["exited_before_signal"]
    lines += [
        f"\ninterrupts: {i['count']} ({i['exited_before_signal']} ended before the signal); hangs over {HANG_AFTER:g} s: {i['hangs_over_10s']}"
        f" (killed after {KILL_AFTER:g} s: {i['killed_after_60s']}); max time to exit: {show(i['max_time_to_exit_s'])} s",
        f"  sessions left behind: {i['sessions_left_behind']}; exit codes: {', '.join(map(str, i['exit_codes'])) or '-'};"
        f" said \"interrupted\": {i['say_interrupted']} of {signalled}; left-behind count true: {i['left_behind_count_matches_store']} of {signalled}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.interrupts = QUICK["runs"], QUICK["interrupts"]
    if args.out and not args.out.parent.is_dir():
        parser.error(f"--out: no folder {str(args.out.parent)!r} to write into")
    if args.keep and not (args.keep.is_dir() or args.keep.parent.is_dir()):
        parser.error(f"--keep: no folder {str(args.keep.parent)!r} to make it in")
    for name in ("session-mock", "session-contract"):
        if not console_script(name).exists():
            parser.error(f"no {name} next to {sys.executable}: run `make venv` and this script with .venv/bin/python")
    # SIGTERM (kill, timeout) unwinds like Ctrl-C, so the run in progress and the servers are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    keep = args.keep or Path(tempfile.mkdtemp(prefix="soak-"))
    keep.mkdir(exist_ok=True)
    print(
        f"soak: {args.runs} runs per store ({', '.join(args.stores)}), {args.interrupts} interrupts, seed {seed};"
        f" failing and interrupted runs' output in {keep}/",
        flush=True,
    )
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="soak-state-") as state, ExitStack() as stack:
        try:
            servers = {store: stack.enter_context(serve(store, Path(state), keep)) for store in args.stores}
        except RuntimeError as exc:
            print(f"bench/soak.py: error: {exc}", file=sys.stderr)
            return 1
        soak = Soak(args, servers, keep)
        for index in range(args.runs):
            for store in args.stores:
                soak.one("run", store, index + 1)
        walls = [run.wall_s for run in soak.runs if run.exit_code == 0]
        typical = args.run_length or (statistics.median(walls) if walls else DEFAULT_RUN_LENGTH)
        moments = random.Random(seed)
        for index in range(args.interrupts):
            store = args.stores[(index // 2 + index) % len(args.stores)]  # with 2 stores: memory, state-file, state-file, memory, ...
            signum = signal.SIGINT if index % 2 == 0 else signal.SIGTERM
            soak.one("interrupt", store, index + 1, signal_at=moments.uniform(1.0, max(typical, 1.0)), signum=signum)
    summary = summarise(soak.runs, args.stores)
    print(table(summary))
    print(f"\n{time.time() - started:.0f} s in all; typical run length {typical:.1f} s; output kept in {keep}/")
    if args.out:
        document = {
            "seed": seed, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "typical_run_length_s": round(typical, 2),
            "options": {"runs": args.runs, "interrupts": args.interrupts, "stores": args.stores, "progress_regex": args.progress_regex},
            "summary": summary,
            "runs": [{**asdict(run), "left_behind": run.left_behind} for run in soak.runs],
        }
        args.out.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
