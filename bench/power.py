"""Power of the conformance suite: how often a default run detects each fault of the production-rate
double, and how often it fails a correct deployment (the reference), per property.

Serves `tests.broken_variants.PRODUCTION_RATES` (2 % of creates and DELETEs commit 2 to 10 ms after
their answer, a DELETE race window a second DELETE hits about 10 % of the time; the double's random
seed changes per run) and the reference on loopback, each in this process, runs `session-contract
run` against each `--runs` times (default options unless given after `--`), and prints per property
the detection rate against the double (for the faults it has) and the false-failure rate against the
reference. The issue's bar: every fault detected in at least 19 of 20 runs, 0 false failures in 20.

    .venv/bin/python bench/power.py [--runs 20] [--json PATH] [-- run options]
    .venv/bin/python bench/power.py --runs 5 -- --property 'consistency.*' --property 'concurrency.*'
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reference_impl import create_app  # noqa: E402
from reference_impl.serving import LiveServer  # noqa: E402
from tests.broken_variants import PRODUCTION_RATES_VIOLATIONS, ProductionHandlers, ProductionRateStore, Variant  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs against each target (default 20)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="options for session-contract run, after --")
    return parser


def outcomes(base_url: str, seed: int, options: list[str], place: Path) -> tuple[dict[str, str], float, int]:
    """One run: property id -> outcome (from its JSON report), its wall time and its request count."""
    report = place / f"report-{seed}.json"
    command = [sys.executable, "-m", "contract_tests.cli", "run", "--base-url", base_url, "--seed", str(seed),
               "--quiet", "--report-json", str(report), *options]
    began = time.monotonic()
    subprocess.run(command, capture_output=True, text=True, cwd=place, timeout=1800, check=False)
    wall = time.monotonic() - began
    document = json.loads(report.read_text(encoding="utf-8"))
    return {p["id"]: p["outcome"] for p in document["properties"]}, wall, document["requests"]["total"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = [o for o in args.options if o != "--"]
    failed: dict[str, dict[str, int]] = {"double": {}, "reference": {}}
    walls: dict[str, list[float]] = {"double": [], "reference": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            double = Variant("production-rates", None, partial(ProductionRateStore, seed=1000 + run),
                             handlers_class=ProductionHandlers)
            for target, app in (("double", double.build()[0]), ("reference", create_app())):
                with LiveServer(app) as server:
                    seen, wall, requests = outcomes(server.base_url, run + 1, options, Path(tmp))
                walls[target].append(wall)
                for pid, outcome in seen.items():
                    failed[target].setdefault(pid, 0)
                    failed[target][pid] += outcome == "fail"
                print(f"run {run + 1}/{args.runs} {target}: {wall:.1f} s, {requests} requests, "
                      f"failed: {sorted(p for p, o in seen.items() if o == 'fail')}", flush=True)
    runs = args.runs
    print(f"\n{'property':45s} {'detected (double)':>18s} {'false failures (reference)':>27s}")
    figures: dict[str, Any] = {"runs": runs, "properties": {}}
    for pid in sorted(set(failed["double"]) | set(failed["reference"])):
        detected = failed["double"].get(pid, 0)
        false = failed["reference"].get(pid, 0)
        fault = pid in PRODUCTION_RATES_VIOLATIONS
        print(f"{pid:45s} {(f'{detected} of {runs}' if fault else f'({detected} of {runs})'):>18s} {f'{false} of {runs}':>27s}")
        figures["properties"][pid] = {"fault": fault, "detected": detected, "falseFailures": false}
    misses = sorted(p for p in PRODUCTION_RATES_VIOLATIONS if p in failed["double"] and failed["double"][p] < runs - runs // 20)
    falses = [p for p, n in failed["reference"].items() if n]
    print(f"\nmedian wall time: double {sorted(walls['double'])[runs // 2]:.1f} s, reference {sorted(walls['reference'])[runs // 2]:.1f} s")
    print(f"faults detected in fewer than {runs - runs // 20} of {runs} runs: {misses or 'none'}; "
          f"properties failing the reference: {falses or 'none'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if misses or falses else 0


if __name__ == "__main__":
    sys.exit(main())
