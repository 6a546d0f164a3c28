"""One known-deviations format and one loader for `session-contract run` and `session-contract diff`."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract_tests.deviations import DIFFERENCE_KINDS, DIFFERENCE_SHAPES, DeviationsError, KnownDeviations, glob_matches, load_known_deviations
from contract_tests.diff import Difference, classify, compare, load_shape
from contract_tests.diff import main as diff
from contract_tests.openapi_shapes import api_shape
from contract_tests.options import OPTION_BY_NAME, UsageError, build_options
from reference_impl.serving import LiveServer
from session_spec import SPEC_PATH
from tests.contract_helpers import session_contract

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SESSION_ID = "/api/v1/session/{session_id}"
COMBINED = (
    "list.always-404: production answers 405\n"
    f"'operation:PATCH {SESSION_ID}': recent production builds removed PATCH\n"
    "'undocumented-error:* 404': production documents no 404\n"
)


def test_one_file_holds_property_ids_for_run_and_difference_ids_for_diff(tmp_path: Path) -> None:
    path = tmp_path / "known.yaml"
    path.write_text(COMBINED, encoding="utf-8")
    known = load_known_deviations(path)
    assert known.properties == {"list.always-404": "production answers 405"}
    assert set(known.differences) == {f"operation:PATCH {SESSION_ID}", "undocumented-error:* 404"}


def test_the_production_file_has_both_kinds() -> None:
    known = load_known_deviations(REPO / "deviations" / "production.yaml")
    assert "list.always-404" in known.properties and f"operation:PATCH {SESSION_ID}" in known.differences


@pytest.mark.parametrize("content", ["list.always-4O4: typo\n", "'operations:PATCH /x': unknown kind\n", "- a list\n", "a: [unclosed\n"])
def test_a_key_that_is_neither_kind_or_a_bad_file_is_an_error_naming_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "known.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DeviationsError) as error:
        load_known_deviations(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_run_and_diff_both_accept_the_combined_file(tmp_path: Path, reference_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "known.yaml"
    path.write_text(COMBINED, encoding="utf-8")
    assert diff(["--against", str(FIXTURES / "fastapi_without_patch_and_404.openapi.json"), "--known-deviations", str(path)]) == 0
    capsys.readouterr()
    run = session_contract("--base-url", reference_server.base_url, "--property", "health.*", "--property", "list.*",
                           "--persistence-window", "0", "--known-deviations", str(path), tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


PRODUCTION = REPO / "deviations" / "production.yaml"
PRODUCTION_DESCRIPTION = FIXTURES / "production_2026-12.openapi.json"


def test_production_deviations_list_only_ids_run_or_diff_can_produce(capsys: pytest.CaptureFixture[str]) -> None:
    """Every property id is a registered check's; every difference id is one `diff` reports against
    production's description today (none stale), and together they are exactly its differences."""
    import json

    from contract_tests.registry import load_checks

    known = load_known_deviations(PRODUCTION)
    assert set(known.properties) <= set(load_checks())
    assert diff(["--format", "json", "--against", str(PRODUCTION_DESCRIPTION)]) == 1
    report = json.loads(capsys.readouterr().out)
    produced = {difference["id"] for difference in report["differences"]}
    assert set(known.differences) == produced
    assert len(produced) == 9 and len(report["other_operations"]) == 61


def test_diff_against_production_exits_0_with_its_deviations_and_names_anything_new(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diff(["--against", str(PRODUCTION_DESCRIPTION), "--known-deviations", str(PRODUCTION)]) == 0
    out = capsys.readouterr().out
    assert "9 differences: 0 new, 9 known" in out and "stale" not in out
    import json

    document = json.loads(PRODUCTION_DESCRIPTION.read_text(encoding="utf-8"))
    del document["paths"]["/api/v1/session/{session_id}"]["head"]["responses"]["204"]
    changed = tmp_path / "changed.openapi.json"
    changed.write_text(json.dumps(document), encoding="utf-8")
    assert diff(["--against", str(changed), "--known-deviations", str(PRODUCTION)]) == 1
    out = capsys.readouterr().out
    assert "1 new" in out and "HEAD /api/v1/session/{session_id} 204" in out


# --- one-line errors: file, line and column ------------------------------------------------------


def _write(tmp_path: Path, content: str | bytes, name: str = "known.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(DeviationsError) as caught:
        load_known_deviations(path)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(("content", "expected"), [
    ("list.always-404: a\nget.shape: [unclosed\n",
     ":3:1: invalid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence, line 2 column 12)"),
    ("list.always-404: a\n\tget.shape: b\n", ":2:1: invalid YAML: found character '\\t' that cannot start any token (while scanning for the next token)"),
    ("list.always-404: a: b\n", ":1:19: invalid YAML: mapping values are not allowed here"),
    ("list.always-404: a\n---\nget.shape: b\n",
     ":2:1: invalid YAML: found another document (expected a single document in the stream, line 1 column 1)"),
    ("list.always-404: a\nget.shape: b\x07\n", ":2:13: invalid YAML: unacceptable character #x0007 (special characters are not allowed)"),
    (b"list.always-404: a\nget.shape: \xff\n", ":2:12: the known-deviations file is not UTF-8 text (byte 0xff)"),
], ids=["flow", "tab", "mapping-value", "two-documents", "control-character", "not-utf8"])
def test_a_yaml_error_names_the_file_line_and_column(tmp_path: Path, content: str | bytes, expected: str) -> None:
    path = _write(tmp_path, content)
    assert _error(path) == f"{path}{expected}"


@pytest.mark.parametrize(("content", "expected"), [
    ("schema.*: a\nlist.always-404: b\n'schema.*': c\n", ":3:1: duplicate key 'schema.*' (first at line 1)"),
    ("{list.always-404: a, \"list.always-404\": b}\n", ":1:22: duplicate key 'list.always-404' (first at line 1)"),
], ids=["block", "flow"])
def test_a_duplicate_key_is_refused_naming_both_lines(tmp_path: Path, content: str, expected: str) -> None:
    """PyYAML keeps the last of two equal keys silently; the loader refuses them, however each is spelt."""
    path = _write(tmp_path, content)
    assert _error(path) == f"{path}{expected}"


@pytest.mark.parametrize(("content", "expected"), [
    ("- list.always-404\n", ":1:1: the top level must be a mapping of ids to reasons, not a list"),
    ("list.always-404 production answers 405\n", ":1:1: the top level must be a mapping of ids to reasons, not a string"),
    ("# a comment and nothing else\n", ": the known-deviations file is empty: map property or difference ids to reasons (or write {} for a file that lists none)"),
    ("", ": the known-deviations file is empty: map property or difference ids to reasons (or write {} for a file that lists none)"),
    ("? [list.always-404]\n: a\n", ":1:3: a key must be an id, not a list"),
], ids=["list", "string", "comment-only", "empty", "list-key"])
def test_a_file_that_is_not_a_mapping_of_ids_is_an_error(tmp_path: Path, content: str, expected: str) -> None:
    path = _write(tmp_path, content)
    assert _error(path) == f"{path}{expected}"


def test_an_explicit_empty_mapping_lists_nothing(tmp_path: Path) -> None:
    assert load_known_deviations(_write(tmp_path, "{}  # nothing known\n")) == KnownDeviations()


@pytest.mark.parametrize(("value", "column", "got"), [
    ("", 17, "nothing"), ("~", 18, "nothing"), ("''", 18, "an empty string"), ("'   '", 18, "a blank string"),
    ("405", 18, "int 405"), ("yes", 18, "bool yes"), ("[a]", 18, "a list"), ("{a: b}", 18, "a mapping"),
])
def test_a_reason_must_be_a_non_empty_string(tmp_path: Path, value: str, column: int, got: str) -> None:
    path = _write(tmp_path, f"get.shape: no data\nlist.always-404: {value}\n".replace(": \n", ":\n"))
    assert _error(path) == f"{path}:2:{column}: the reason for 'list.always-404' must be a non-empty string, got {got}"


def test_every_unknown_id_is_listed_at_once_with_the_nearest_known_one(tmp_path: Path) -> None:
    path = _write(tmp_path, (
        "concurency.double-delete: a\n"
        "list.always-404: production answers 405\n"
        "schma.*: b\n"
        "'undocumented-eror:POST /api/v1/session 500': c\n"
        "nothing-like-an-id: d\n"
    ))
    assert _error(path) == "; ".join([
        f"{path}:1:1: unknown id 'concurency.double-delete' (did you mean 'concurrency.double-delete'?)",
        f"{path}:3:1: unknown id 'schma.*' (a glob that matches no property id and no difference id; did you mean 'schema.*'?)",
        f"{path}:4:1: unknown id 'undocumented-eror:POST /api/v1/session 500' (did you mean 'undocumented-error:POST /api/v1/session 500'?)",
        f"{path}:5:1: unknown id 'nothing-like-an-id' (neither a property id (session-contract run --help lists them) "
        "nor a difference id (KIND:METHOD PATH ...))",
    ])


def test_problems_of_several_sorts_come_in_one_message_in_file_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "get.shape:\nlist.always-404: a\nlist.always-40: b\nlist.always-404: c\n")
    assert _error(path) == "; ".join([
        f"{path}:1:11: the reason for 'get.shape' must be a non-empty string, got nothing",
        f"{path}:3:1: unknown id 'list.always-40' (did you mean 'list.always-404'?)",
        f"{path}:4:1: duplicate key 'list.always-404' (first at line 2)",
    ])


# --- which difference ids are known ----------------------------------------------------------------
# A concrete difference id cannot be enumerated (paths, statuses and fields come from the deployment's
# description), so a key of diff's kind is known when it has its kind's shape (DIFFERENCE_SHAPES).

WELL_FORMED = [
    f"operation:PATCH {SESSION_ID}",
    "status:GET /api/v1/session 405",
    "undocumented-error:POST /api/v1/session 500",
    "undocumented-error:GET /health 4XX",
    f"parameter:GET {SESSION_ID} path.session_id",
    "request-body:POST /api/v1/session",
    f"request-field:PATCH {SESSION_ID} data.key",
    f"response-body:HEAD {SESSION_ID} default",
    f"response-field:GET {SESSION_ID} 200 (body)",
    "response-field:GET /health 200 items[].name with space",
]


@pytest.mark.parametrize("key", WELL_FORMED)
def test_a_difference_id_in_its_kinds_shape_is_known_to_diff_only(tmp_path: Path, key: str) -> None:
    known = load_known_deviations(_write(tmp_path, f"{json.dumps(key)}: a reason\n"))
    assert known == KnownDeviations(differences={key: "a reason"})


def test_the_well_formed_examples_cover_every_kind() -> None:
    assert {key.partition(":")[0] for key in WELL_FORMED} == set(DIFFERENCE_KINDS)


@pytest.mark.parametrize(("key", "kind"), [
    ("undocumented-error:POST /api/v1/session", "undocumented-error"),  # no status
    ("undocumented-error:POST /api/v1/session 200", "undocumented-error"),  # not an error status
    ("operation:FETCH /api/v1/session", "operation"),  # not a method
    ("status:GET api/v1/session 404", "status"),  # a path starts with /
    ("operation:PATCH /api/v1/session 404", "operation"),  # an operation has no status
    ("parameter:GET /api/v1/session body.limit", "parameter"),  # not a parameter location
    ("response-field:GET /health 200", "response-field"),  # no field
    ("operation:* 404", "operation"),  # a glob no operation id matches
    ("status:* 4040", "status"),  # a status has three characters
], ids=lambda value: value if " " not in value else None)
def test_a_key_of_a_known_kind_in_the_wrong_shape_is_unknown_and_shows_the_shape(tmp_path: Path, key: str, kind: str) -> None:
    path = _write(tmp_path, f"{json.dumps(key)}: a reason\n")
    glob = "a glob that matches no property id and no difference id; " if "*" in key else ""
    assert _error(path) == f"{path}:1:1: unknown id {key!r} ({glob}a difference id of kind {kind} is {DIFFERENCE_SHAPES[kind]})"


def _drifted() -> dict[str, Any]:
    """The FastAPI-style fixture with a difference of each remaining kind: parameter, request body and field, response body."""
    document = json.loads((FIXTURES / "fastapi_equivalent.openapi.json").read_text(encoding="utf-8"))
    operations = document["paths"][SESSION_ID]
    operations["get"]["parameters"].append({"name": "X-Trace Id", "in": "header", "required": False, "schema": {"type": "string"}})
    operations["patch"]["requestBody"]["required"] = False
    document["components"]["schemas"]["SessionUpdateRequest"]["properties"]["data"] = {"type": "array", "items": {"type": "string"}}
    del operations["delete"]["responses"]["200"]["content"]
    return document


def test_every_difference_diff_reports_on_the_fixtures_is_a_known_id(tmp_path: Path) -> None:
    """The shapes follow `diff`: each id it produces (against every fixture description and one with a
    difference of every kind, both ways round) is accepted as a plain key."""
    contract = load_shape(str(SPEC_PATH))
    shapes = [*(load_shape(str(path)) for path in sorted(FIXTURES.glob("*.openapi.json"))), api_shape(_drifted())]
    produced = {d.id for shape in shapes for d in [*compare(contract, shape), *compare(shape, contract)]}
    assert {i.partition(":")[0] for i in produced} == set(DIFFERENCE_KINDS)
    path = _write(tmp_path, "".join(f"{json.dumps(i)}: listed\n" for i in sorted(produced)))
    assert set(load_known_deviations(path).differences) == produced


# --- the glob rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("glob", "id_", "matches"), [
    ("schema.*", "schema.stateless", True),
    ("schema.*", "schemaX", False),  # `.` is itself, not any character
    ("schema.*", "schemaXstateless", False),
    ("schema.*", "schema", False),
    ("schema.stateless*", "schema.stateless", True),  # `*` matches no character too
    ("consistency.*", "consistency.read-your-writes.create", True),  # `*` crosses `.`
    ("*.create", "consistency.read-your-writes.create", True),
    ("Schema.*", "schema.stateless", False),  # case counts
    ("undocumented-error:*", "undocumented-error:POST /api/v1/session 500", True),  # crosses spaces and `/`
    ("*:POST /api/v1/session 500", "undocumented-error:POST /api/v1/session 500", True),  # crosses `:` and `-`
    ("*404", "undocumented-error:GET /api/v1/session/{session_id} 404", True),
    ("status:* 404", "status:GET /api/v1/session 4040", False),  # the whole id
    ("undocumented-error:*", "status:GET /api/v1/session 404", False),
    ("response-field:* items[].name", "response-field:GET /x 200 items[].name", True),  # `[` is itself
    ("response-field:* items[].name", "response-field:GET /x 200 itemsa.name", False),
    ("list.always-40?", "list.always-404", False),  # `?` is itself
])
def test_a_star_matches_any_run_of_characters_and_nothing_else_is_special(glob: str, id_: str, matches: bool) -> None:
    assert glob_matches(glob, id_) is matches


def test_a_glob_over_property_ids_is_read_by_run_and_one_over_difference_ids_by_diff(tmp_path: Path) -> None:
    known = load_known_deviations(_write(tmp_path, "schema.*: Schemathesis finds 405s\n'undocumented-error:*': FastAPI documents no errors\n"))
    assert known.properties == {"schema.stateless": "Schemathesis finds 405s", "schema.stateful": "Schemathesis finds 405s"}
    assert known.differences == {"undocumented-error:*": "FastAPI documents no errors"}


def test_a_glob_that_can_match_both_kinds_of_id_serves_both_commands(tmp_path: Path) -> None:
    known = load_known_deviations(_write(tmp_path, "'*404': anything ending in 404\n"))
    assert set(known.properties) == {"list.always-404", "delete.then-patch-404"}
    assert known.differences == {"*404": "anything ending in 404"}


def test_an_exact_key_wins_over_a_glob_wherever_it_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known = load_known_deviations(_write(tmp_path, (
        "schema.*: the glob\nschema.stateful: the exact id\n"
        "'undocumented-error:*': the glob\n'undocumented-error:POST /api/v1/session 500': the exact id\n"
    )))
    assert known.properties == {"schema.stateless": "the glob", "schema.stateful": "the exact id"}
    findings, stale = classify([Difference("undocumented-error", "POST", "/api/v1/session", "500", None, "documented", "absent"),
                                Difference("undocumented-error", "GET", "/health", "503", None, "documented", "absent")], known.differences)
    assert [f.reason for f in findings] == ["the exact id", "the glob"] and stale == []


def test_the_glob_rule_is_stated_once_and_the_user_documentation_quotes_it() -> None:
    """The module docstring states the rule; the README (or the guide it moves to, under docs/) has the same sentence."""
    import contract_tests.deviations as module

    def words(text: str) -> str:
        return " ".join(text.split())

    rule = re.search(r"A key containing `\*`.*?is an error\.", words(module.__doc__ or ""))
    assert rule is not None
    documents = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    assert sum(rule.group() in words(path.read_text(encoding="utf-8")) for path in documents if path.exists()) == 1


@pytest.mark.parametrize("path", sorted((REPO / "deviations").glob("*.yaml")), ids=lambda path: path.name)
def test_every_shipped_deviations_file_loads(path: Path) -> None:
    known = load_known_deviations(path)
    assert known.properties or known.differences


# --- the same errors from run, the pytest plugin and diff, before anything is sent --------------


DUPLICATE = "schema.*: a\nlist.always-404: b\n'schema.*': c\n"


def test_run_and_the_pytest_plugin_report_the_loaders_message_as_a_usage_error(tmp_path: Path) -> None:
    """`session-contract run` and the plugin both build their options with `build_options`."""
    path = _write(tmp_path, DUPLICATE)
    with pytest.raises(UsageError) as caught:
        build_options({OPTION_BY_NAME["known-deviations"].dest: str(path)})
    assert str(caught.value) == _error(path) == f"{path}:3:1: duplicate key 'schema.*' (first at line 1)"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening): a request there would fail at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("session-contract")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "contract_tests.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_run_exits_2_with_one_line_before_any_request(tmp_path: Path, closed_port: int) -> None:
    """Were the file read after the target is probed, the closed port would be the error."""
    _write(tmp_path, DUPLICATE)
    done = _cli("run", "--base-url", f"http://127.0.0.1:{closed_port}", "--known-deviations", "known.yaml", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "session-contract: error: known.yaml:3:1: duplicate key 'schema.*' (first at line 1)\n")


def test_diff_exits_2_with_one_line_before_fetching_the_description(tmp_path: Path, closed_port: int) -> None:
    _write(tmp_path, "'undocumented-eror:*': FastAPI documents no errors\n")
    done = _cli("diff", "--against", f"http://127.0.0.1:{closed_port}/openapi.json", "--known-deviations", "known.yaml", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("session-contract diff: known.yaml:1:1: unknown id 'undocumented-eror:*' "
                           "(a glob that matches no property id and no difference id; did you mean 'undocumented-error:*'?)\n")


def test_a_key_of_star_alone_is_refused_since_it_would_excuse_everything(tmp_path: Path) -> None:
    path = tmp_path / "all.yaml"
    path.write_text('"*": we accept anything\n"schema.*": Schemathesis is noisy here\n', encoding="utf-8")
    with pytest.raises(DeviationsError, match=r"all.yaml:1:1: '\*' names every property and every difference"):
        load_known_deviations(path)
