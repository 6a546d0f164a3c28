"""The toolkit is a good pytest citizen: beside pytest-base-url (which pytest-playwright brings),
a pytest run that does not ask for the conformance suite is unchanged, and one that asks gets it.

pytest runs in a subprocess, in a directory of its own, with pytest-base-url importable (the `test`
extra installs it): exactly the environment that used to stop at start-up with "option dest
'base_url' already used".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest_base_url  # noqa: F401  (the neighbour must really be there, or this proves nothing)

from reference_impl.serving import LiveServer

NEIGHBOUR_TEST = '''
def test_uses_pytest_base_url(base_url):
    assert base_url == "http://neighbour.example"
'''


def pytest_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(directory / ".hypothesis")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=directory, env=env, capture_output=True, text=True, timeout=180,
    )


def test_a_run_that_does_not_ask_for_the_suite_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "test_neighbour.py").write_text(NEIGHBOUR_TEST, encoding="utf-8")
    run = pytest_in(tmp_path, "--base-url", "http://neighbour.example", "test_neighbour.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    help_text = pytest_in(tmp_path, "--help").stdout
    assert "--base-url" in help_text  # pytest-base-url's option is there ...
    assert "--contract-" not in help_text and "session-contract" not in help_text  # ... ours is not


def test_the_plugin_on_request_lives_beside_pytest_base_url(tmp_path: Path, reference_server: LiveServer) -> None:
    (tmp_path / "test_neighbour.py").write_text(NEIGHBOUR_TEST, encoding="utf-8")
    help_text = pytest_in(tmp_path, "-p", "contract_tests.plugin", "--help").stdout
    assert "--base-url" in help_text and "--contract-base-url" in help_text and "--contract-known-deviations" in help_text
    neighbour = pytest_in(tmp_path, "-p", "contract_tests.plugin", "--base-url", "http://neighbour.example", "test_neighbour.py")
    assert neighbour.returncode == 0, neighbour.stdout + neighbour.stderr
    suite = pytest_in(
        tmp_path, "-p", "contract_tests.plugin", "--pyargs", "contract_tests",
        "--base-url", "http://neighbour.example", "--contract-base-url", reference_server.base_url,
        "--contract-property", "health.*", "--contract-property", "list.*",
        "--contract-persistence-window", "0", "-q",
    )
    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert "session API contract" in suite.stdout and "health." in suite.stdout and "passed" in suite.stdout
