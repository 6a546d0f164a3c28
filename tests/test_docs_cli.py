"""The real `session-docs` command as a subprocess: every mistake in what it is given, or where it is told to
write, is one line on stderr starting `session-docs:` and exit 2 (1 only for a stale `--check`), never a
traceback, and nothing is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.site_inputs import FIXTURE_GUIDES, REPORTS

OK_SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def session_docs(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "session_docs.cli", *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def one_line_error(run: subprocess.CompletedProcess[str], *words: str, code: int = 2) -> str:
    assert run.returncode == code, run.stdout + run.stderr
    lines = [line for line in run.stderr.splitlines() if not line.startswith("session-docs: note:")]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("session-docs: ") and "Traceback" not in run.stderr + run.stdout
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def build(out: Path, *more: str | Path) -> subprocess.CompletedProcess[str]:
    return session_docs("build", out, "--docs", FIXTURE_GUIDES, *more)


def test_a_good_build_says_where_the_site_is(tmp_path: Path) -> None:
    run = build(tmp_path / "site", "--results", *REPORTS)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert run.stdout.strip() == f"wrote 23 files to {tmp_path / 'site'}; open {tmp_path / 'site' / 'index.html'}"


def test_the_default_guides_or_none(tmp_path: Path) -> None:
    """Without --docs the packaged guides (the repository's docs/, or a copy in the wheel); a note when there are none."""
    run = session_docs("build", tmp_path / "site")
    assert run.returncode == 0, run.stderr
    if not (Path(__file__).resolve().parent.parent / "docs").is_dir():
        assert run.stderr.startswith("session-docs: note: no guides at ")
    assert session_docs("build", tmp_path / "bare", "--no-docs").stderr == ""


# --- where the site goes ------------------------------------------------------------------------------------------


def test_an_output_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "site").write_text("a file", encoding="utf-8")
    one_line_error(build(tmp_path / "site"), f"cannot write the site to {tmp_path / 'site'}: it is a file, not a folder")
    one_line_error(build(tmp_path / "site" / "inner"), "cannot write the site to", "Not a directory")
    assert (tmp_path / "site").read_text(encoding="utf-8") == "a file"


def test_an_output_folder_holding_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    one_line_error(build(tmp_path), "holds other files (notes.txt)", "choose a new or empty folder")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_output_folder_inside_the_guides(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n", encoding="utf-8")
    one_line_error(session_docs("build", docs / "site", "--docs", docs), "is inside the guides folder")


@pytest.mark.skipif(ROOT, reason="root may write anywhere: see the read-only file system case")
def test_an_output_folder_without_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    one_line_error(build(locked / "site"), "cannot write the site to", "Permission denied")


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="no /sys")
def test_an_output_folder_where_nobody_may_write() -> None:
    """/sys refuses new folders even to root (read-only, or not permitted): one line all the same."""
    line = one_line_error(build(Path("/sys/session-docs-site")), "cannot write the site to /sys/session-docs-site: ")
    assert any(word in line for word in ("Permission denied", "Operation not permitted", "Read-only file system")), line


# --- the spec -----------------------------------------------------------------------------------------------------------


def test_a_missing_or_unreadable_spec(tmp_path: Path) -> None:
    one_line_error(session_docs("--spec", tmp_path / "nope.yaml", "build", tmp_path / "site"), f"--spec {tmp_path / 'nope.yaml'}: no such file")
    one_line_error(session_docs("--spec", tmp_path, "build", tmp_path / "site"), "is a folder, not an OpenAPI document")
    one_line_error(session_docs("--spec", tmp_path / "nope.yaml", "table"), "no such file")
    assert not (tmp_path / "site").exists()


@pytest.mark.skipif(ROOT, reason="root reads any file")
def test_a_spec_without_read_permission(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_bytes(OK_SPEC.read_bytes())
    spec.chmod(0o000)
    one_line_error(session_docs("--spec", spec, "build", tmp_path / "site"), "cannot read it: Permission denied")


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="no /proc")
def test_a_file_that_refuses_to_be_read_even_by_root(tmp_path: Path) -> None:
    """/proc/self/mem answers a plain read with EIO: what an unreadable spec or report looks like to anyone."""
    one_line_error(session_docs("--spec", "/proc/self/mem", "build", tmp_path / "site"), "--spec /proc/self/mem: cannot read it: ")
    one_line_error(build(tmp_path / "site", "--results", "/proc/self/mem"), "--results /proc/self/mem: cannot read it: ")


def test_a_spec_that_is_not_yaml_or_not_openapi(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: x\npaths: {}\n", encoding="utf-8")
    one_line_error(session_docs("--spec", spec, "build", tmp_path / "site"), "not valid YAML: expected ',' or '}', but got ':' at line 3, column 6")
    one_line_error(session_docs("--spec", spec, "table", "--check", OK_SPEC), "not valid YAML")
    spec.write_text("- a list\n", encoding="utf-8")
    one_line_error(session_docs("--spec", spec, "build", tmp_path / "site"), "not an OpenAPI document (its top level is list")
    spec.write_text("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a: {get: {responses: {}}}\n  b: {}\n", encoding="utf-8")
    one_line_error(session_docs("--spec", spec, "build", tmp_path / "site"), "not a valid OpenAPI document")
    spec.write_bytes(b"openapi: \xff\n")
    one_line_error(session_docs("--spec", spec, "build", tmp_path / "site"), "not UTF-8 text")
    assert not (tmp_path / "site").exists()


# --- the guides -----------------------------------------------------------------------------------------------------------


def test_a_missing_or_empty_guides_folder_or_a_guide_that_is_not_text(tmp_path: Path) -> None:
    one_line_error(session_docs("build", tmp_path / "site", "--docs", tmp_path / "nope"), "--docs", "no such folder")
    (tmp_path / "empty").mkdir()
    one_line_error(session_docs("build", tmp_path / "site", "--docs", tmp_path / "empty"), "holds no Markdown guides")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ci.md").write_bytes(b"# CI\n\xe9t\xe9\n")
    one_line_error(session_docs("build", tmp_path / "site", "--docs", tmp_path / "docs"), "ci.md: not UTF-8 text (byte 0xe9 at offset 5)")
    (tmp_path / "docs" / "ci.md").write_text("# CI\n", encoding="utf-8")
    (tmp_path / "docs" / "results.md").write_text("# Results\n", encoding="utf-8")
    one_line_error(session_docs("build", tmp_path / "site", "--docs", tmp_path / "docs"), "results.md: its page results.html is one the site writes itself")
    assert not (tmp_path / "site").exists()


# --- the reports ------------------------------------------------------------------------------------------------------------


def good_report() -> dict:
    return json.loads(REPORTS[0].read_text(encoding="utf-8"))


def broken_reports() -> list[tuple[str, str | bytes | dict, str]]:
    """(file name, contents, the message expected after the name)."""
    newer = {**good_report(), "schemaVersion": 2}
    no_label = good_report()
    del no_label["deployment"]["label"]
    no_properties = good_report()
    del no_properties["properties"]
    odd_outcome = good_report()
    odd_outcome["properties"][0]["outcome"] = "flaky"
    wrong_type = good_report()
    wrong_type["properties"][0]["measurements"] = [{"shape": "create", "k": "3", "n": 10, "rate": 0.3, "low95": 0.1, "high95": 0.6}]
    bad_date = {**good_report(), "startedAt": "yesterday"}
    return [
        ("text.json", "not a report\n", "not JSON (Expecting value at line 1, column 1)"),
        ("cut.json", json.dumps(good_report())[:500], "not JSON (Unterminated string starting at"),
        ("latin1.json", b'{"a": "\xe9"}', "not a JSON report (not UTF-8 text: byte 0xe9 at offset 7)"),
        ("list.json", "[1, 2]", "not a session-contract report (its top level is a list, not an object)"),
        ("nover.json", "{}", "not a session-contract report: required field schemaVersion is missing"),
        ("newer.json", newer, "schemaVersion 2 is newer than this toolkit reads (1): upgrade session-contract-toolkit"),
        ("zero.json", {**good_report(), "schemaVersion": 0}, "unknown schemaVersion 0"),
        ("label.json", no_label, "required field deployment.label is missing"),
        ("props.json", no_properties, "required field properties is missing"),
        ("outcome.json", odd_outcome, "properties[0].outcome 'flaky' is none of pass, fail, known, not checked, inconclusive"),
        ("type.json", wrong_type, "field properties[0].measurements[0].k is a string, not an integer"),
        ("date.json", bad_date, "field startedAt is not an ISO 8601 date: 'yesterday'"),
    ]


@pytest.mark.parametrize(("name", "contents", "expected"), broken_reports(), ids=[case[0] for case in broken_reports()])
def test_a_report_that_cannot_be_shown(tmp_path: Path, name: str, contents: str | bytes | dict, expected: str) -> None:
    path = tmp_path / name
    if isinstance(contents, bytes):
        path.write_bytes(contents)
    else:
        path.write_text(contents if isinstance(contents, str) else json.dumps(contents), encoding="utf-8")
    one_line_error(build(tmp_path / "site", "--results", REPORTS[0], path), f"session-docs: --results {path}: {expected}")
    assert not (tmp_path / "site").exists()


def test_a_missing_report_or_a_folder(tmp_path: Path) -> None:
    one_line_error(build(tmp_path / "site", "--results", tmp_path / "run.json"), f"--results {tmp_path / 'run.json'}: no such file")
    one_line_error(build(tmp_path / "site", "--results", tmp_path), "is a folder, not a report file")
    one_line_error(build(tmp_path / "site", "--results"), "error: argument --results: expected at least one argument")


# --- the README's generated tables -------------------------------------------------------------------------------------------


def test_readme_mistakes_and_staleness(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    one_line_error(session_docs("table", "--write", readme), f"{readme}: no such file")
    readme.write_text("# A README without markers\n", encoding="utf-8")
    for command in ("table", "properties"):
        one_line_error(session_docs(command, "--write", readme), "block found; add the two marker comments")
        one_line_error(session_docs(command, "--check", readme), "block found; add the two marker comments")
    assert readme.read_text(encoding="utf-8") == "# A README without markers\n"
    readme.write_text("<!-- operations-table:start -->\n| stale |\n<!-- operations-table:end -->\n", encoding="utf-8")
    one_line_error(session_docs("table", "--check", readme), "operations table is out of date", code=1)
    one_line_error(session_docs("table", "--check", tmp_path), "is a folder, not a Markdown file")


def test_usage_errors_are_one_line_too() -> None:
    one_line_error(session_docs("build"), "error: the following arguments are required: SITE")
    one_line_error(session_docs("publish"), "error: argument command: invalid choice")
    one_line_error(session_docs("build", "x", "--colour"), "error: unrecognized arguments: --colour")
    one_line_error(session_docs("build", "x", "--docs", "docs", "--no-docs"), "error: argument --no-docs: not allowed with argument --docs")
