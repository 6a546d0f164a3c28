"""Run `session-contract` as a real subprocess against a server in this process, and read its JUnit XML."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# Cheap settings for the variant runs: the defaults are for real deployments.
# Schemathesis is left out of the variant runs: it is the slowest layer, and tests/test_schemathesis.py
# and the reference run below cover it.
# --min-detectable-rate 0.05: 59 samples per measurement (faults of the variants here are far more frequent).
FAST = ["--persistence-window", "2", "--volume", "80", "--max-examples", "4", "--concurrency", "20", "--seed", "1",
        "--min-detectable-rate", "0.05"]
FAST_VARIANT = [*FAST, "--skip-property", "schema.*"]


@dataclass
class CliRun:
    """What one `session-contract run` printed and wrote."""

    returncode: int
    stdout: str
    stderr: str
    junit: Path
    report_md: Path

    @property
    def testcases(self) -> dict[str, str]:
        """property id -> "pass" / "fail" / "skipped" / "inconclusive", from the JUnit XML."""
        outcome: dict[str, str] = {}
        for case in ET.parse(self.junit).getroot().iter("testcase"):
            if case.find("failure") is not None:
                outcome[case.get("name", "")] = "fail"
            elif case.find("error") is not None:
                outcome[case.get("name", "")] = "inconclusive"
            elif case.find("skipped") is not None:
                outcome[case.get("name", "")] = "skipped"
            else:
                outcome[case.get("name", "")] = "pass"
        return outcome

    @property
    def failed(self) -> set[str]:
        return {name for name, result in self.testcases.items() if result == "fail"}


def session_contract(*args: str, tmp: Path, timeout: float = 240) -> CliRun:
    """`session-contract run ARGS --junit-xml ... --report-md ...` in a subprocess."""
    tmp.mkdir(parents=True, exist_ok=True)
    junit, report = tmp / "junit.xml", tmp / "report.md"
    command = [sys.executable, "-m", "contract_tests.cli", "run", *args, "--junit-xml", str(junit), "--report-md", str(report)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tmp)
    return CliRun(done.returncode, done.stdout, done.stderr, junit, report)
