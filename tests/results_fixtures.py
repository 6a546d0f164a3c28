"""Writes tests/fixtures/results/*.json: real `session-contract run --report-json` reports for the docs
site's results pages (tests/test_docs_site.py, tests/test_docs_browser.py). Run again when the report
format gains a field the site shows:

    .venv/bin/python -m tests.results_fixtures

Three deployments, five runs, every outcome:
- `staging`: the mock (`session-mock`) twice: an older short run (a few properties; the rest absent),
  then a full default run: conformant.
- `production`: the production-like double (tests/broken_variants.PRODUCTION_LIKE) with the shipped
  deviations file: known deviations, violations with explanations, replay scripts, rates and lag
  windows. The older run goes through a throttling gateway and plants canaries (--canary-state); the
  newer run checks those canaries (their age is in persistence.until-delete's note).
- `dev`: one measurement with too small a time budget: inconclusive.
The state file and the report paths are temporary; their names stay in each report's `options`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from reference_impl.serving import LiveServer
from tests.broken_variants import PRODUCTION_LIKE
from tests.contract_helpers import FAST_VARIANT
from tests.mock_process import MockProcess
from tests.test_contract_throttling import ThrottlingGateway

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "results"
DEVIATIONS = str(REPO / "deviations" / "production.yaml")


def run(out: Path, base_url: str, *args: str) -> None:
    command = [sys.executable, "-m", "contract_tests.cli", "run", "--base-url", base_url, "--quiet", *args, "--report-json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    print(f"{out.name}: exit {done.returncode}: {done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr}")
    if done.returncode == 2:
        raise SystemExit(done.stderr)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with MockProcess() as mock:
        run(OUT / "staging-older.json", mock.base_url, "--label", "staging", "--seed", "7", "--persistence-window", "1",
            "--property", "health.*", "--property", "create.*", "--property", "persistence.until-delete")
        run(OUT / "staging.json", mock.base_url, "--label", "staging", "--seed", "11")
        run(OUT / "dev.json", mock.base_url, "--label", "dev", "--seed", "3", "--property", "health.*",
            "--property", "consistency.read-your-writes.create", "--min-detectable-rate", "0.0005", "--time-budget", "1")
    app, _store = PRODUCTION_LIKE.build()
    gateway = ThrottlingGateway(app, per_second=400)
    with tempfile.TemporaryDirectory() as scratch, LiveServer(gateway) as server:
        state = str(Path(scratch) / "canaries.json")
        production = ["--label", "production", *FAST_VARIANT, "--known-deviations", DEVIATIONS, "--canary-state", state]
        run(OUT / "production-older.json", server.base_url, *production)
        gateway.per_second = 1_000_000
        run(OUT / "production.json", server.base_url, *production, "--seed", "2")


if __name__ == "__main__":
    main()
