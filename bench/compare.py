"""Side-by-side throughput and tail latency: session-mock, Stoplight Prism and a Starlette ceiling.

    .venv/bin/python bench/compare.py                 # every target, 8 s per scenario
    .venv/bin/python bench/compare.py --duration 3 --targets mock,prism

In one run, each target server is started on a free loopback port and pinned to one core
(`taskset -c 0`), and the load generator is pinned to the other (`taskset -c 1`): wrk with one
thread and 32 connections (`wrk -t1 -c32`, Debian package `wrk`) running bench/wrk/scenarios.lua.
Targets: `mock` (session-mock, in-memory store), `mock-sqlite` (session-mock with `--state-file`),
`prism` (Stoplight Prism mocking openapi.yaml; installed with npm into bench/.prism/ on first use)
and `ceiling` (bench/ceiling_app.py: a minimal Starlette app of the same contract on uvicorn with
uvloop and httptools, validating nothing). Scenarios run one after the other, each against every
target in turn, so background load on a shared machine hits all targets alike.

Without wrk, `--load httpx` (chosen automatically) drives the same scenarios from
bench/fallback_load.py, an httpx/asyncio client: it is much slower than wrk, so it caps every
target near its own speed and the figures are LESS ACCURATE (ratios near 1.0 mean little).

Prints requests/s, p50 and p99 per scenario and target, the answers' status codes, and the
ratios mock/Prism, mock/ceiling and mock-sqlite/mock. It also prints req/CPU-s: requests answered
per second of CPU the server process used (user + system, from /proc), i.e. its throughput had it
its core to itself. On a machine busy with other work, wall-clock rps and p99 move by tens of per
cent between runs while req/CPU-s moves much less; on a quiet machine the two agree closely.
Only 127.0.0.1 is contacted (npm's registry aside, once).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from reference_impl.serving import free_port  # noqa: E402
from session_spec import SPEC_PATH  # noqa: E402

PRISM_VERSION = "5.14.2"
PRISM_DIR = BENCH / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
LUA_SCRIPT = BENCH / "wrk" / "scenarios.lua"
SESSION = "/api/v1/session"


@dataclass(frozen=True)
class Scenario:
    """One load pattern: its key for the load generators, and the statuses a correct target answers."""

    key: str
    title: str
    expected: frozenset[int]


SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in [
        Scenario("create", "create (POST /api/v1/session)", frozenset({201})),
        Scenario("get", "get of a live session", frozenset({200})),
        Scenario("head", "HEAD of a live session", frozenset({204})),
        Scenario("unknown", "get of an unknown id (404)", frozenset({404})),
        Scenario("loop", "create, HEAD, get, delete loop", frozenset({200, 201, 204})),
    ]
}

TARGETS = {
    "mock": "session-mock (in-memory store)",
    "mock-sqlite": "session-mock --state-file (SQLite)",
    "reference": "the reference on stock Connexion (python -m reference_impl; no speed-ups)",
    "prism": f"Stoplight Prism {PRISM_VERSION} (npm), default logging (a line per request)",
    "prism-quiet": f"Stoplight Prism {PRISM_VERSION} (npm) with -v warn (no line per request)",
    "ceiling": "Starlette ceiling (bench/ceiling_app.py)",
}
# Prism keeps no state: its `unknown` answers the documented example with 200, as the issue notes.
STATELESS = {"prism", "prism-quiet"}


@dataclass
class Result:
    target: str
    scenario: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: int = 0
    cpu_seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Requests answered per second of CPU the server used: its throughput if it had its core
        to itself, much less moved by other work on the machine than `rps`."""
        return self.requests / self.cpu_seconds if self.cpu_seconds else 0.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/compare.py",
        description="Throughput and tail latency of session-mock next to Stoplight Prism and a Starlette ceiling.",
    )
    parser.add_argument("--duration", type=_whole(1), default=8, help="whole seconds of load per scenario and target (default: %(default)s)")
    parser.add_argument("--warmup", type=_whole(0), default=2, help="whole seconds of unmeasured load before each measurement; 0 for none (default: %(default)s)")
    parser.add_argument("--connections", type=_whole(1), default=32, help="concurrent connections (default: %(default)s)")
    parser.add_argument(
        "--targets", type=_names(TARGETS), default=list(TARGETS),
        help=f"comma-separated targets among {', '.join(TARGETS)} (default: all)",
    )
    parser.add_argument(
        "--scenarios", type=_names(SCENARIOS), default=list(SCENARIOS),
        help=f"comma-separated scenarios among {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument(
        "--load", choices=["auto", "wrk", "httpx"], default="auto",
        help="load generator: wrk, or the less accurate httpx fallback; auto picks wrk when installed (default: %(default)s)",
    )
    parser.add_argument("--server-cpu", type=_core, default=0, help="core the target servers are pinned to (default: %(default)s)")
    parser.add_argument("--client-cpu", type=_core, default=1, help="core the load generator is pinned to (default: %(default)s)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
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


def _core(text: str) -> int:
    cores = os.cpu_count() or 1
    if not text.isdigit() or int(text) >= cores:
        raise argparse.ArgumentTypeError(f"a core of this machine, 0 to {cores - 1} (got {text!r})")
    return int(text)


def _names(table: dict[str, Any]) -> Any:
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in table]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose among {', '.join(table)} (got {text!r})")
        return names

    return parse


def pinned(cpu: int, command: list[str]) -> list[str]:
    """`command` pinned to one core with taskset, when taskset exists and the core does."""
    if shutil.which("taskset") and cpu < (os.cpu_count() or 1):
        return ["taskset", "-c", str(cpu), *command]
    return command


def ensure_prism() -> Path:
    """The Prism binary, installed from the npm registry into bench/.prism/ if missing."""
    if PRISM_BIN.exists():
        return PRISM_BIN
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("Prism is not installed in bench/.prism/ and npm is not available to install it")
    print(f"installing @stoplight/prism-cli@{PRISM_VERSION} into {PRISM_DIR.relative_to(REPO)}/ (once)", flush=True)
    PRISM_DIR.mkdir(exist_ok=True)
    subprocess.run(
        [npm, "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", f"@stoplight/prism-cli@{PRISM_VERSION}"],
        check=True, stdout=subprocess.DEVNULL,
    )
    return PRISM_BIN


def server_command(target: str, port: int, folder: Path) -> list[str]:
    if target == "mock":
        return [sys.executable, "-m", "mock_server", "--port", str(port)]
    if target == "mock-sqlite":
        return [sys.executable, "-m", "mock_server", "--port", str(port), "--state-file", str(folder / "bench.db")]
    if target == "reference":
        return [sys.executable, "-m", "reference_impl", "--port", str(port)]
    if target == "prism":
        return [str(ensure_prism()), "mock", str(SPEC_PATH), "-h", "127.0.0.1", "-p", str(port)]
    if target == "prism-quiet":
        return [str(ensure_prism()), "mock", str(SPEC_PATH), "-h", "127.0.0.1", "-p", str(port), "-v", "warn"]
    if target == "ceiling":
        return [sys.executable, str(BENCH / "ceiling_app.py"), "--port", str(port)]
    raise ValueError(target)


@dataclass
class Server:
    target: str
    base_url: str
    live_id: str
    process: subprocess.Popen[bytes]


@contextmanager
def serve(target: str, cpu: int, folder: Path) -> Iterator[Server]:
    """Start one target pinned to `cpu`, wait for /health, create the live session; stop it afterwards."""
    import httpx

    port = free_port()
    log = (folder / f"{target}.log").open("wb")
    process = subprocess.Popen(
        pinned(cpu, server_command(target, port, folder)), cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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
                raise RuntimeError(f"{target} did not start; the end of its log: {' / '.join(tail) or '(empty)'}")
            time.sleep(0.1)
        created = httpx.post(base_url + SESSION, timeout=5)
        live_id = created.json()["sessionId"]
        yield Server(target, base_url, live_id, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def load_command(kind: str, server: Server, scenario: str, seconds: int, connections: int, unknown_id: str) -> list[str]:
    if kind == "wrk":
        return [
            "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(LUA_SCRIPT),
            server.base_url, "--", scenario, server.live_id, unknown_id,
        ]
    return [
        sys.executable, str(BENCH / "fallback_load.py"), server.base_url, scenario, server.live_id, unknown_id,
        "--seconds", f"{seconds:g}", "--connections", str(connections),
    ]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` and its descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = (int(fields[11]) + int(fields[12])) / ticks
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return total


def run_load(kind: str, server: Server, scenario: str, seconds: int, connections: int, cpu: int, unknown_id: str) -> Result:
    """One measurement: the load generator's `BENCH {...}` line parsed into a Result."""
    command = pinned(cpu, load_command(kind, server, scenario, seconds, connections, unknown_id))
    cpu_before = cpu_seconds(server.process.pid)
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    cpu_used = cpu_seconds(server.process.pid) - cpu_before
    lines = [line for line in finished.stdout.splitlines() if line.startswith("BENCH ")]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(f"load generator failed on {server.target}/{scenario}: {finished.stderr.strip() or finished.stdout.strip()}")
    data = json.loads(lines[-1].removeprefix("BENCH "))
    return Result(
        server.target, scenario, data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1000, data["p99_us"] / 1000,
        data["statuses"], data["socket_errors"], cpu_used,
    )


def status_note(result: Result) -> str:
    expected = SCENARIOS[result.scenario].expected
    if result.target in STATELESS and result.scenario == "unknown":
        expected = frozenset({200})
    unexpected = {code: n for code, n in result.statuses.items() if int(code) not in expected}
    note = " ".join(f"{code}:{n}" for code, n in sorted(result.statuses.items()))
    if result.socket_errors:
        note += f" socket-errors:{result.socket_errors}"
    if unexpected:
        note += "  UNEXPECTED"
    return note


def report(results: list[Result], targets: list[str], scenarios: list[str], kind: str) -> str:
    by = {(r.target, r.scenario): r for r in results}
    lines = []
    for scenario in scenarios:
        lines.append(f"\n{SCENARIOS[scenario].title}")
        lines.append(f"  {'target':<13} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'req/CPU-s':>10}   statuses")
        for target in targets:
            r = by.get((target, scenario))
            if r:
                lines.append(
                    f"  {target:<13} {r.rps:>9,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.per_cpu_second:>10,.0f}   {status_note(r)}"
                )
    pairs = [(a, b) for a, b in [("mock", "prism"), ("mock", "prism-quiet"), ("mock", "ceiling"), ("mock-sqlite", "mock"), ("mock", "reference")] if a in targets and b in targets]
    if pairs:
        lines.append(
            "\nRatios: rps and req/CPU-s, higher is better for the first named; p99, lower is better for the first named"
        )
    for a, b in pairs:
        lines.append(f"  {a}/{b}")
        lines.append(f"    {'scenario':<10} {'rps':>8} {'req/CPU-s':>10} {'p99':>8}")
        for scenario in scenarios:
            ra, rb = by.get((a, scenario)), by.get((b, scenario))
            if ra and rb and rb.rps and rb.p99_ms and rb.per_cpu_second:
                lines.append(
                    f"    {scenario:<10} {ra.rps / rb.rps:>7.2f}x {ra.per_cpu_second / rb.per_cpu_second:>9.2f}x"
                    f" {ra.p99_ms / rb.p99_ms:>7.2f}x"
                )
    for prism in ("prism", "prism-quiet"):
        if "mock" in targets and prism in targets:
            verdicts = []
            for scenario in scenarios:
                ra, rb = by.get(("mock", scenario)), by.get((prism, scenario))
                if ra and rb:
                    ok = ra.rps >= rb.rps and ra.p99_ms <= rb.p99_ms
                    verdicts.append(f"{scenario}: {'yes' if ok else 'NO'}")
            lines.append(f"\nMock at or above {prism}'s rps with p99 at or below {prism}'s: " + ", ".join(verdicts))
    if kind != "wrk":
        lines.append("\nLoad from the httpx fallback, not wrk: LESS ACCURATE; the client, not the server, is the limit.")
    return "\n".join(lines)


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.server_cpu == args.client_cpu:
        parser.error("--server-cpu and --client-cpu must differ: the load would compete with the servers")
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json: no folder {str(args.json.parent)!r} to write into")
    # SIGTERM (kill, timeout) unwinds like Ctrl-C, so the servers started below are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    kind = args.load if args.load != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    if kind == "wrk" and not shutil.which("wrk"):
        print("bench/compare.py: error: wrk is not installed (apt-get install wrk), or use --load httpx", file=sys.stderr)
        return 2
    if "prism" in args.targets or "prism-quiet" in args.targets:
        try:
            ensure_prism()
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"bench/compare.py: error: {exc}; run without prism with --targets", file=sys.stderr)
            return 2
    unknown_id = str(uuid.uuid4())
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, load generator {kind}"
        f" (-t1 -c{args.connections}, {args.duration:g} s per scenario after {args.warmup:g} s warm-up),"
        f" servers on core {args.server_cpu}, load on core {args.client_cpu}; load average at start {load_average()}",
        flush=True,
    )
    try:
        results = measure(args, kind, unknown_id)
    except RuntimeError as exc:
        print(f"bench/compare.py: error: {exc}", file=sys.stderr)
        return 1
    print(report(results, args.targets, args.scenarios, kind))
    print(f"\nload average at end {load_average()}")
    if args.json:
        args.json.write_text(json.dumps([{**vars(r), "rps": r.rps, "per_cpu_second": r.per_cpu_second} for r in results], indent=2))
    return 0


def measure(args: argparse.Namespace, kind: str, unknown_id: str) -> list[Result]:
    """Every scenario against every target, the targets started once and stopped at the end."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as name, ExitStack() as stack:
        folder = Path(name)
        servers = {target: stack.enter_context(serve(target, args.server_cpu, folder)) for target in args.targets}
        for scenario in args.scenarios:
            for target in args.targets:
                server = servers[target]
                if args.warmup > 0:
                    run_load(kind, server, scenario, args.warmup, args.connections, args.client_cpu, unknown_id)
                result = run_load(kind, server, scenario, args.duration, args.connections, args.client_cpu, unknown_id)
                results.append(result)
                print(
                    f"  {scenario:<8} {target:<12} {result.rps:>9,.0f} req/s  p99 {result.p99_ms:.2f} ms"
                    f"  {result.per_cpu_second:,.0f} req/CPU-s",
                    flush=True,
                )
    return results


if __name__ == "__main__":
    sys.exit(main())
