"""Benchmark: wall time and request count of a default `session-contract run` against a local server,
with no added latency and with 30 ms added to every answer (a deployment in another region); with
`--jitter`, against the reference behind a far, jittery network instead: 20 to 120 ms of random latency
per answer and 1 % of answers stalled 1.5 s (`tests.stand_ins.Jitter`, served in this process), where a
default run must give its verdict within 60 s with no false failure (issue 19, item 4).

Starts the server on a free loopback port in its own process (the reference implementation,
`python -m reference_impl`, or the mock server, `python -m mock_server`, which must accept `--host`,
`--port` and `--latency`; any latency above 0 needs the mock), runs `session-contract run --base-url
...` with default options `--repeat` times per latency, and prints one row per run, the median, and
the properties that took the most wall time (from the run's JUnit XML). Nothing is timed inside the
suite itself; this script is the only stopwatch.

    .venv/bin/python bench/contract_run.py [--server reference|mock] [--latency 0 30] [--repeat 1]
                                           [--jitter] [--json PATH] [-- run options]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

from reference_impl.serving import free_port

SUMMARY = re.compile(r"(\d+) requests in ([\d.]+) s .*?read-your-writes: (\d+) of (\d+) writes")


def server_command(server: str, port: int, latency: float) -> tuple[str, list[str]]:
    module = "mock_server" if server == "mock" or latency > 0 else "reference_impl"
    if importlib.util.find_spec(module) is None:
        raise SystemExit(f"{module} is not installed")
    command = [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)]
    if latency > 0:
        command += ["--latency", f"{latency:g}"]
    return module, command


def wait_until_up(base_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(base_url + "/health", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"server at {base_url} did not come up")


def one_run(base_url: str, extra: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "contract_tests.cli", "run", "--base-url", base_url, "--quiet",
                               "--junit-xml", str(junit), *extra], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        match = SUMMARY.search(done.stdout)
        if match is None or not junit.exists():
            raise SystemExit(f"no summary in the run's output (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
        testcases = list(ET.parse(junit).getroot().iter("testcase"))
        cases = {case.get("name", ""): (float(case.get("time", "0")), _requests(case)) for case in testcases}
        failed = [case.get("name", "") for case in testcases if case.find("failure") is not None or case.find("error") is not None]
        if done.returncode != 0:  # a correct target must pass: show why this run did not
            print(f"run exited {done.returncode}; failed: {', '.join(failed) or '(none by name)'}", file=sys.stderr)
            print("\n".join(line for line in done.stdout.splitlines() if line.startswith(("FAILED", "  "))), file=sys.stderr)
    slowest = sorted(cases.items(), key=lambda kv: -kv[1][0])[:6]
    return {"exit": done.returncode, "wall_s": round(wall, 2), "suite_s": float(match.group(2)),
            "requests": int(match.group(1)), "writes_checked": int(match.group(4)), "failed": failed,
            "slowest": [{"property": name, "wall_s": round(t, 1), "requests": n} for name, (t, n) in slowest]}


def _requests(case: ET.Element) -> int:
    prop = case.find("properties/property[@name='requests']")
    return int(prop.get("value", "0")) if prop is not None else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["reference", "mock"], default="reference")
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 30.0], metavar="MS",
                        help="added latency per answer, one series per value (default: 0 30; >0 serves the mock)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jitter", action="store_true", help="the reference behind 20-120 ms of jitter with 1 %% of answers stalled 1.5 s")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("extra", nargs="*", help="options passed to `session-contract run` (after --)")
    args = parser.parse_args()
    figures: list[dict[str, object]] = []
    print(f"python {platform.python_version()}; {platform.machine()}")
    if args.jitter:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: tests.stand_ins
        from reference_impl import create_app
        from reference_impl.serving import LiveServer
        from tests.stand_ins import Jitter

        jitter = Jitter(create_app())
        with LiveServer(jitter) as live:
            runs = [one_run(live.base_url, args.extra) for _ in range(args.repeat)]
        print("\nserver: reference behind 20-120 ms of jitter, 1 % of answers stalled 1.5 s")
        print("run  exit  wall (s)  suite (s)  requests  failed")
        for index, run in enumerate(runs, 1):
            print(f"{index:>3}  {run['exit']:>4}  {run['wall_s']:>8}  {run['suite_s']:>9}  {run['requests']:>8}  {', '.join(run['failed']) or '-'}")  # type: ignore[arg-type]
        print(f"answers stalled: {jitter.stalled}; most wall time (last run):")
        for row in runs[-1]["slowest"]:  # type: ignore[attr-defined]
            print(f"  {row['property']:<44} {row['wall_s']:>6.1f} s  {row['requests']:>6} requests")
        figures.append({"server": "reference+jitter", "latency_ms": "20-120, 1 % stalled 1.5 s", "runs": runs, "stalled": jitter.stalled})
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return
    for latency in args.latency:
        port = free_port()
        name, command = server_command(args.server, port, latency)
        base_url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_up(base_url)
            runs = [one_run(base_url, args.extra) for _ in range(args.repeat)]
        finally:
            server.terminate()
            server.wait(10)
        print(f"\nserver: {name}, {latency:g} ms added latency, on {base_url}")
        print("run  exit  wall (s)  suite (s)  requests  writes checked")
        for index, run in enumerate(runs, 1):
            print(f"{index:>3}  {run['exit']:>4}  {run['wall_s']:>8}  {run['suite_s']:>9}  {run['requests']:>8}  {run['writes_checked']:>14}")
        median = {key: statistics.median(float(r[key]) for r in runs) for key in ("wall_s", "suite_s", "requests")}  # type: ignore[arg-type]
        print(f"median: {median['wall_s']:.1f} s wall, {median['suite_s']:.1f} s in the suite, {median['requests']:.0f} requests")
        print("most wall time (last run; independent checks overlap, so these do not add up):")
        for row in runs[-1]["slowest"]:  # type: ignore[attr-defined]
            print(f"  {row['property']:<44} {row['wall_s']:>6.1f} s  {row['requests']:>6} requests")
        figures.append({"server": name, "latency_ms": latency, "runs": runs, "median": median})
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
