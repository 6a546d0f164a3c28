"""`make` notices a `.venv` made with another Python, or one that no longer runs, and rebuilds it
(checked with `make -n`, which prints the recipe without running it: no venv is built here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def plan(directory: Path, target: str = "venv") -> str:
    # A clean environment: under `make test-pythons` the outer make's variables (VENV=...) would leak in.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VENV", "PYTHON"}}
    done = subprocess.run(["make", "-n", target, f"PYTHON={sys.executable}", "VENV=.venv"], cwd=directory, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fake_venv(directory: Path, python_script: str | None) -> None:
    shutil.copy(REPO / "Makefile", directory / "Makefile")
    shutil.copy(REPO / "pyproject.toml", directory / "pyproject.toml")
    bin_dir = directory / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    if python_script is not None:
        python = bin_dir / "python"
        python.write_text(python_script, encoding="utf-8")
        python.chmod(0o755)
    later = (directory / "pyproject.toml").stat().st_mtime + 10
    for name, when in ((".runtime-stamp", later), (".installed-stamp", later + 1)):
        stamp = directory / ".venv" / name
        stamp.touch()
        os.utime(stamp, (when, when))


def test_a_venv_of_the_same_python_is_kept(tmp_path: Path) -> None:
    fake_venv(tmp_path, f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    assert "rm -rf .venv" not in plan(tmp_path)


def test_a_venv_of_another_python_is_rebuilt(tmp_path: Path) -> None:
    fake_venv(tmp_path, "#!/bin/sh\necho /opt/other-python-3.10.0\n")
    assert "rm -rf .venv" in plan(tmp_path) and "-m venv .venv" in plan(tmp_path)


def test_a_venv_that_no_longer_runs_is_rebuilt(tmp_path: Path) -> None:
    fake_venv(tmp_path, None)
    assert "rm -rf .venv" in plan(tmp_path)


def test_make_serve_installs_the_runtime_only_and_make_test_the_test_tools(tmp_path: Path) -> None:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    serve = plan(tmp_path, "serve")
    assert "pip install --quiet -e ." in serve and ".[test]" not in serve
    assert "session-mock" in serve
    assert ".[test]" in plan(tmp_path, "test") and ".[test]" in plan(tmp_path, "lint")
