"""Benchmark: wall time and request count of a default `session-contract run` against a local server.

Starts the server on a free loopback port in its own process (the reference implementation,
`python -m reference_impl`, or with `--server mock` the mock server, `python -m mock_server`, which
must accept `--host` and `--port`), runs `session-contract run --base-url ...` with default options
`--repeat` times, and prints one row per run plus the median. Nothing is timed inside the suite
itself; this script is the only stopwatch.

    .venv/bin/python bench/contract_run.py [--server reference|mock] [--repeat 3] [--json PATH] [-- run options]
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
import time
from pathlib import Path

import httpx

from reference_impl.serving import free_port

SUMMARY = re.compile(r"(\d+) requests in ([\d.]+) s; read-your-writes: (\d+) of (\d+) writes")


def server_command(server: str, port: int) -> tuple[str, list[str]]:
    module = "mock_server" if server == "mock" else "reference_impl"
    if importlib.util.find_spec(module) is None:
        raise SystemExit(f"{module} is not installed")
    return module, [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)]


def wait_until_up(base_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(base_url + "/health", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"server at {base_url} did not come up")


def one_run(base_url: str, extra: list[str]) -> dict[str, float | int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "contract_tests.cli", "run", "--base-url", base_url, "--quiet", *extra],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    match = SUMMARY.search(done.stdout)
    if match is None:
        raise SystemExit(f"no summary in the run's output (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {"exit": done.returncode, "wall_s": round(wall, 2), "suite_s": float(match.group(2)),
            "requests": int(match.group(1)), "writes_checked": int(match.group(4))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["reference", "mock"], default="reference")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("extra", nargs="*", help="options passed to `session-contract run` (after --)")
    args = parser.parse_args()
    port = free_port()
    name, command = server_command(args.server, port)
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(base_url)
        runs = [one_run(base_url, args.extra) for _ in range(args.repeat)]
    finally:
        server.terminate()
        server.wait(10)
    print(f"server: {name} on {base_url}; python {platform.python_version()}; {platform.machine()}")
    print("run  exit  wall (s)  suite (s)  requests  writes checked")
    for index, run in enumerate(runs, 1):
        print(f"{index:>3}  {run['exit']:>4}  {run['wall_s']:>8}  {run['suite_s']:>9}  {run['requests']:>8}  {run['writes_checked']:>14}")
    median = {key: statistics.median(float(r[key]) for r in runs) for key in ("wall_s", "suite_s", "requests")}
    print(f"median: {median['wall_s']:.1f} s wall, {median['suite_s']:.1f} s in the suite, {median['requests']:.0f} requests")
    if args.json:
        args.json.write_text(json.dumps({"server": name, "runs": runs, "median": median}, indent=2) + "\n")


if __name__ == "__main__":
    main()
