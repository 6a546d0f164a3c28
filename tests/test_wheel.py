"""The toolkit as a user installs it: sdist and wheel from `python -m build`, accepted by
`twine check`, and the wheel alone in a fresh venv giving working `session-mock`,
`session-contract` and `session-docs` from a directory that is not the checkout.

Offline by design: the build runs `--no-isolation` with the build backend of the test venv, the
wheel is installed `--no-deps --no-index`, and the fresh venv reaches its dependencies through a
`.pth` line naming the test venv's site-packages. Python adds that directory at the END of
`sys.path` and does not process the `.pth` files inside it, so the checkout's editable install is
invisible there: the toolkit's own modules can only come from the wheel (the test checks where
they are imported from).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reference_impl.serving import free_port
from tests.site_inputs import FIXTURE_GUIDES

REPO = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", "build", "dist", "site", "__pycache__", ".hypothesis", ".pytest_cache", ".schemathesis"}


@dataclass
class Installed:
    dist: Path
    venv: Path
    elsewhere: Path

    def command(self, name: str) -> Path:
        return self.venv / "bin" / name

    def run(self, name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.command(name)), *args], cwd=self.elsewhere, env=clean_env(),
                              capture_output=True, text=True, timeout=timeout)


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    return env


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIP_DIRS or n.startswith(".venv") or n.endswith(".egg-info")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Build from a copy of the source tree (the checkout stays untouched), install the wheel alone."""
    root = tmp_path_factory.mktemp("wheel")
    source, dist, fresh, elsewhere = root / "source", root / "dist", root / "venv", root / "elsewhere"
    shutil.copytree(REPO, source, symlinks=True, ignore=_ignore)
    if not (source / "docs").is_dir():  # until the guides are written: the placeholders, under the real names,
        shutil.copytree(FIXTURE_GUIDES, source / "docs")  # with a link to a repository file as the real ci.md has
        with (source / "docs" / "ci.md").open("a", encoding="utf-8") as ci:
            ci.write("\nThe shipped [deviations file](../deviations/production.yaml).\n")
    build = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    venv.create(fresh, with_pip=False)
    wheel = next(dist.glob("*.whl"))
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(fresh / "bin" / "python"), "install",
                          "--quiet", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    purelib = subprocess.run([str(fresh / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "test-venv-dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n", encoding="utf-8")
    elsewhere.mkdir()
    yield Installed(dist, fresh, elsewhere)


def test_build_makes_an_sdist_and_a_wheel_that_twine_accepts(installed: Installed) -> None:
    files = sorted(installed.dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"], files
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("PASSED") == 2


def test_the_wheel_ships_the_very_bytes_of_the_top_level_openapi_yaml(installed: Installed) -> None:
    written = (REPO / "openapi.yaml").read_bytes()
    with zipfile.ZipFile(next(installed.dist.glob("*.whl"))) as wheel:
        assert wheel.read("session_spec/openapi.yaml") == written
        assert any(name.endswith("licenses/LICENSE") for name in wheel.namelist())
    located = installed.run("python", "-c", "import session_spec; print(session_spec.SPEC_PATH)")
    assert located.returncode == 0, located.stderr
    packaged = Path(located.stdout.strip())
    assert packaged.is_relative_to(installed.venv) and packaged.read_bytes() == written


def test_every_command_answers_version_from_another_directory(installed: Installed) -> None:
    for name in ("session-mock", "session-contract", "session-docs"):
        answer = installed.run(name, "--version")
        assert answer.returncode == 0 and answer.stdout.startswith(f"{name} 0."), answer.stdout + answer.stderr


def test_installed_mock_serves_and_installed_suite_finds_it_conformant(installed: Installed) -> None:
    port = free_port()
    log = installed.elsewhere / "mock.log"
    with log.open("wb") as sink:
        mock = subprocess.Popen([str(installed.command("session-mock")), "--port", str(port)], cwd=installed.elsewhere,
                                env=clean_env(), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert mock.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        created = httpx.post(f"{base_url}/api/v1/session", timeout=5)
        assert created.status_code == 201
        assert httpx.head(f"{base_url}/api/v1/session/{created.json()['sessionId']}", timeout=5).status_code == 204
        run = installed.run("session-contract", "run", "--base-url", base_url, "--property", "health.*",
                            "--property", "create.*", "--property", "list.*", "--persistence-window", "0", "--quiet",
                            timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "conformant" in run.stdout
    finally:
        mock.terminate()
        mock.wait(30)


def test_installed_docs_build_the_site_from_the_packaged_contract(installed: Installed) -> None:
    built = installed.run("session-docs", "build", "site")
    assert built.returncode == 0, built.stdout + built.stderr
    site = installed.elsewhere / "site"
    assert (site / "index.html").is_file() and (site / "contract.html").is_file()
    assert (site / "openapi.yaml").read_bytes() == (REPO / "openapi.yaml").read_bytes()


def test_the_wheel_and_the_sdist_ship_the_guides_and_the_installed_docs_render_them(installed: Installed) -> None:
    """session_docs/guides links to docs/ in the source tree; the sdist and the wheel hold copies, so the
    installed `session-docs build` renders the same guides with no checkout around."""
    docs = installed.dist.parent / "source" / "docs"
    guides = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    assert {"ci.md", "mock.md", "reference/session-mock.md", "reference/properties.md"} <= set(guides)
    with zipfile.ZipFile(next(installed.dist.glob("*.whl"))) as wheel:
        for name in guides:
            assert wheel.read(f"session_docs/guides/{name}") == (docs / name).read_bytes(), name
        assert "session_docs/templates/site.css" in wheel.namelist()
    with tarfile.open(next(installed.dist.glob("*.tar.gz"))) as sdist:
        shipped = {member.name.split("/", 1)[1] for member in sdist.getmembers() if member.isfile()}
    assert {f"session_docs/guides/{name}" for name in guides} <= shipped
    built = installed.run("session-docs", "build", "guided-site")
    assert built.returncode == 0 and built.stderr == "", built.stdout + built.stderr
    site = installed.elsewhere / "guided-site"
    for name in guides:
        assert (site / name).with_suffix(".html").is_file(), name
    assert 'href="ci.html#' in (site / "index.html").read_text(encoding="utf-8")
    # ../deviations/production.yaml is not in the wheel: its link is text there, without a note to the user
    if "../deviations/production.yaml" in (docs / "ci.md").read_text(encoding="utf-8"):  # always so with the placeholders
        assert '<a class="repository-file" title="a file of the repository, not part of this site">' in (site / "ci.html").read_text(encoding="utf-8")
