"""The documentation stays true: the README and docs/ are read with markdown-it-py, as the site reads them.

- every generated page and block is fresh (`session-docs reference --check docs/`);
- every command and subcommand has its reference page and heading, and the guides link them;
- every relative link reaches a file, and its anchor a heading there;
- examples that can be checked are: YAML and JSON parse, progress lines count the registry's
  properties, the admin routes table lists every route, and the `sh test` blocks run against a
  `session-mock` on a free loopback port (the convention is in docs/architecture.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import distribution
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import yaml

from contract_tests.properties import PROPERTIES
from session_docs import reference
from session_docs.cli import main as session_docs
from session_docs.markdown import PARSER, anchors, fences, headings, links, plain_text, slug
from session_spec import DISTRIBUTION
from tests.mock_process import MockProcess

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README = REPO / "README.md"
GUIDES = [DOCS / "mock.md", DOCS / "ci.md", DOCS / "maintainer.md"]
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
EXAMPLE_ADDRESS = "127.0.0.1:8090"


def text_of(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def name_of(page: Path) -> str:
    return str(page.relative_to(REPO))


# --- the README -------------------------------------------------------------------------------------


def test_the_readme_is_short_and_starts_with_the_two_set_up_commands() -> None:
    text = text_of(README)
    assert len(text.splitlines()) <= 150, "README.md is meant to stay short: move the detail into a guide under docs/"
    first = fences(text)[0]
    assert first.line <= 6 and first.info == "sh"
    assert first.content.splitlines() == [
        "make serve   # creates .venv, installs, runs session-mock on http://127.0.0.1:8090 (Swagger UI: /api/v1/ui/)",
        "make test    # creates .venv, installs, runs ruff, mypy and every test",
    ]


def test_the_readme_links_every_guide_and_reference_page() -> None:
    targets = {(README.parent / unquote(urlsplit(link.href).path)).resolve() for link in links(text_of(README))}
    for page in sorted(DOCS.rglob("*.md")):
        assert page.resolve() in targets, f"README.md does not link {name_of(page)}"


# --- (a) the generated pages are fresh --------------------------------------------------------------


def test_every_generated_page_and_block_is_fresh() -> None:
    problems = reference.check(DOCS)
    assert not problems, "\n".join(problems) + "\n(run `make docs-generated`)"


def test_check_names_a_stale_file_and_the_command_and_write_repairs_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    page = docs / "reference" / "session-mock.md"
    page.write_text(text_of(page).replace("#### `--port`", "#### `--prot`"), encoding="utf-8")
    (docs / "reference" / "session-gone.md").write_text(reference.MARK.format(source="x") + "\n", encoding="utf-8")
    guide = docs / "mock.md"
    guide.write_text(text_of(guide).replace("| `create_session` |", "| `create_sesion` |"), encoding="utf-8")
    assert session_docs(["reference", "--check", str(docs)]) == 1
    said = capsys.readouterr().err
    assert f"{page} is out of date; run `session-docs reference --write {docs}`" in said
    assert f"{guide} is out of date" in said and "session-gone.md is no longer generated" in said
    assert session_docs(["reference", "--write", str(docs)]) == 0
    assert session_docs(["reference", "--check", str(docs)]) == 0
    assert not (docs / "reference" / "session-gone.md").exists()
    assert text_of(page) == text_of(DOCS / "reference" / "session-mock.md") and text_of(guide) == text_of(DOCS / "mock.md")


def test_a_block_with_no_page_to_live_in_is_an_error_not_a_silent_loss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    architecture = docs / "architecture.md"
    architecture.write_text(re.sub(r"<!-- stack:start.*?<!-- stack:end -->", "", text_of(architecture), flags=re.DOTALL), encoding="utf-8")
    assert session_docs(["reference", "--check", str(docs)]) == 2
    assert "no page under" in capsys.readouterr().err


# --- (b) a reference page for every command, linked from the guides ---------------------------------


def test_every_installed_command_has_a_parser_for_its_reference_page() -> None:
    scripts = {ep.name for ep in distribution(DISTRIBUTION).entry_points if ep.group == "console_scripts"}
    assert set(reference.top_commands(reference.command_parsers())) == scripts


def command_paths() -> list[tuple[str, str]]:
    parsers = reference.command_parsers()
    return [(top, command.path) for top in reference.top_commands(parsers) for command in reference.commands(top, parsers)]


@pytest.mark.parametrize(("top", "path"), command_paths(), ids=[path for _, path in command_paths()])
def test_every_command_and_subcommand_has_its_section_on_its_reference_page(top: str, path: str) -> None:
    page = DOCS / "reference" / f"{top}.md"
    assert page.is_file(), f"{name_of(page)} is missing; run `make docs-generated`"
    assert slug(path) in anchors(text_of(page)), f"{name_of(page)} has no section for `{path}`"


def guide_links() -> set[tuple[Path, str]]:
    found = set()
    for guide in GUIDES:
        for link in links(text_of(guide)):
            parts = urlsplit(link.href)
            if not parts.scheme and parts.path:
                found.add(((guide.parent / unquote(parts.path)).resolve(), parts.fragment))
    return found


@pytest.mark.parametrize(("top", "path"), [(top, path) for top, path in command_paths() if path.count(" ") <= 1],
                         ids=[path for _, path in command_paths() if path.count(" ") <= 1])
def test_the_guides_link_every_command_and_subcommand_reference(top: str, path: str) -> None:
    page = (DOCS / "reference" / f"{top}.md").resolve()
    linked = guide_links()
    if path == top:
        assert any(target == page for target, _ in linked), f"no guide links {name_of(page)}"
    else:
        assert (page, slug(path)) in linked, f"no guide links `{path}`: reference/{top}.md#{slug(path)}"


def test_a_reference_page_says_what_the_parser_says_and_nothing_of_this_machine() -> None:
    import argparse

    toy = argparse.ArgumentParser(prog="toy", description="A toy <command> for *tests*.")
    toy.add_argument("--port", type=int, default=8090, help="port to listen on (default: %(default)s)")
    toy.add_argument("--tag", action="append", default=[], metavar="NAME", help="a tag (repeatable)")
    toy.add_argument("--colour", action=argparse.BooleanOptionalAction, default=True, help="colours (default: on)")
    steps = toy.add_subparsers(dest="step", required=True)
    go = steps.add_parser("go", help="go somewhere")
    where = go.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", metavar="PLACE", help="the place")
    where.add_argument("--home", action="store_true", help="home instead")
    page = reference.command_page("toy", {"toy": toy})
    assert "A toy \\<command\\> for \\*tests\\*." in page
    assert "#### `--port`\n\n`--port PORT` · default `8090`\n\nport to listen on\n" in page
    assert "#### `--tag`\n\n`--tag NAME` · repeatable\n" in page
    assert "#### `--colour`\n\nalso `--no-colour` · default on\n\ncolours\n" in page
    assert "usage: toy go [-h] (--to PLACE | --home)" in page and "#### `go --to`" in page
    assert {"toy", "toy-go", "--port", "go---to", "go---home"} <= anchors(page)
    for top in reference.top_commands(reference.command_parsers()):
        text = text_of(DOCS / "reference" / f"{top}.md")
        assert str(REPO) not in text and "site-packages" not in text, f"reference/{top}.md names a path of this machine"


def test_every_property_is_on_the_properties_page() -> None:
    text = text_of(DOCS / "reference" / "properties.md")
    for pid in PROPERTIES:
        assert f"| `{pid}` |" in text, pid


# --- (d) links ------------------------------------------------------------------------------------


def relative_links() -> list[tuple[Path, str, int]]:
    return [(page, link.href, link.line) for page in PAGES for link in links(text_of(page)) if not urlsplit(link.href).scheme]


@pytest.mark.parametrize(("page", "href", "line"), relative_links(), ids=[f"{name_of(p)}:{n}:{h}" for p, h, n in relative_links()])
def test_relative_links_reach_a_file_and_a_heading(page: Path, href: str, line: int) -> None:
    parts = urlsplit(href)
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
    assert target.exists(), f"{name_of(page)}:{line}: {href} leads nowhere"
    assert target.is_relative_to(REPO), f"{name_of(page)}:{line}: {href} leaves the repository"
    if parts.fragment:
        assert target.suffix == ".md", f"{name_of(page)}:{line}: {href}: an anchor into a file that is not Markdown"
        assert parts.fragment in anchors(text_of(target)), (
            f"{name_of(page)}:{line}: {href}: no heading of {name_of(target)} has the anchor #{parts.fragment}")


def test_anchors_are_githubs() -> None:
    assert slug("The `*` rule".replace("`", "")) == "the--rule"
    assert slug("--port") == "--port" and slug("session-contract canary plant") == "session-contract-canary-plant"
    assert slug("health.ok") == "healthok" and slug("Behind an ingress: `--root-path` and forwarded headers".replace("`", "")) == (
        "behind-an-ingress---root-path-and-forwarded-headers")
    found = headings("# A\n\n## B\n\n## B\n\n### `run --base-url`\n")
    assert [h.anchor for h in found] == ["a", "b", "b-1", "run---base-url"]


# --- examples that can be checked -------------------------------------------------------------------


def fenced(kind: str) -> list[tuple[Path, int, str]]:
    return [(page, fence.line, fence.content) for page in PAGES for fence in fences(text_of(page)) if fence.info.split()[:1] == [kind]]


@pytest.mark.parametrize(("page", "line", "content"), fenced("yaml"), ids=[f"{name_of(p)}:{n}" for p, n, _ in fenced("yaml")])
def test_yaml_examples_parse(page: Path, line: int, content: str) -> None:
    yaml.safe_load(content)


@pytest.mark.parametrize(("page", "line", "content"), fenced("json"), ids=[f"{name_of(p)}:{n}" for p, n, _ in fenced("json")])
def test_json_examples_parse(page: Path, line: int, content: str) -> None:
    json.loads(content)


def test_progress_examples_count_the_registrys_properties() -> None:
    text = text_of(DOCS / "ci.md")
    shown = [found for fence in fences(text) for found in re.findall(r"^\[\s*\d+/(\d+)\]|, (\d+) properties\)", fence.content, re.MULTILINE)]
    counted = [int(total or started) for total, started in shown]
    counted += [int(n) for n in re.findall(r"\ball (\d+) properties\b", text)]
    assert counted and set(counted) == {len(PROPERTIES)}, f"docs/ci.md shows {sorted(set(counted))} properties; the registry has {len(PROPERTIES)}"


def table_after(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells as plain text) of the first table after the heading `heading`."""
    tokens = PARSER.parse(markdown)
    start = next(i for i, t in enumerate(tokens) if t.type == "inline" and tokens[i - 1].type == "heading_open" and plain_text(t) == heading)
    rows: list[list[str]] = []
    for token in tokens[start:]:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(plain_text(token))
        elif token.type == "table_close":
            return rows
    raise AssertionError(f"no table after the heading {heading!r}")


def test_the_admin_routes_table_lists_every_route_the_mock_serves() -> None:
    from mock_server.admin import AdminRoutes
    from mock_server.journal import RequestJournal
    from mock_server.violations import ViolationLog
    from reference_impl.store import InMemorySessionStore

    served = set()
    for routes in (AdminRoutes(None, InMemorySessionStore(), RequestJournal()), AdminRoutes(None, None, RequestJournal(), ViolationLog())):  # type: ignore[arg-type]
        served |= {f"{method} {path}" for path, methods in routes.routes.items() for method in methods}
    listed = {row[0] for row in table_after(text_of(DOCS / "mock.md"), "Admin routes")[1:]}
    assert served - listed == set(), f"docs/mock.md's admin routes table misses {sorted(served - listed)}"
    assert listed - served == set(), f"docs/mock.md's admin routes table lists routes the mock does not serve: {sorted(listed - served)}"


# --- (c) the runnable shell examples ----------------------------------------------------------------


def runnable() -> list[tuple[Path, int, str]]:
    return [(page, fence.line, fence.content) for page in PAGES for fence in fences(text_of(page)) if fence.info.split() == ["sh", "test"]]


def test_there_are_runnable_examples_in_every_guide() -> None:
    pages = {page for page, _, _ in runnable()}
    assert set(GUIDES) <= pages


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    with MockProcess() as process:
        yield process


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder to run examples in, with the repository's files they name."""
    folder = tmp_path_factory.mktemp("examples")
    for name in ("docs", "deviations", "openapi.yaml"):
        (folder / name).symlink_to(REPO / name)
    return folder


@pytest.mark.parametrize(("page", "line", "script"), runnable(), ids=[f"{name_of(p)}:{n}" for p, n, _ in runnable()])
def test_runnable_example(page: Path, line: int, script: str, mock: MockProcess, scratch: Path) -> None:
    address = mock.base_url.removeprefix("http://")
    for namespace in ("", "worker-1", "worker-2"):  # each example starts from an empty mock
        headers = {"X-Mock-Namespace": namespace} if namespace else {}
        assert httpx.post(f"{mock.base_url}/__mock/reset?fixtures=none", headers=headers, timeout=10).status_code == 200
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("COLUMNS", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace(EXAMPLE_ADDRESS, address)],
                          cwd=scratch, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"{name_of(page)}:{line} exited {done.returncode}\n{script}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
