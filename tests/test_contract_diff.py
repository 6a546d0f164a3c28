"""`session-contract diff` (contract_tests.diff) on FastAPI-style OpenAPI 3.1 descriptions of the session API."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from contract_tests.diff import main as diff
from contract_tests.openapi_shapes import Field, SchemaReader, api_shape
from reference_impl.serving import LiveServer, free_port
from session_spec import load_spec

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EQUIVALENT = FIXTURES / "fastapi_equivalent.openapi.json"
WITHOUT_PATCH_AND_404 = FIXTURES / "fastapi_without_patch_and_404.openapi.json"
SESSION_ID = "/api/v1/session/{session_id}"
EXPECTED_DRIFT = {
    f"operation:PATCH {SESSION_ID}",
    f"undocumented-error:GET {SESSION_ID} 404",
    f"undocumented-error:HEAD {SESSION_ID} 404",
    f"undocumented-error:DELETE {SESSION_ID} 404",
}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = diff(["--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def ids(report: dict[str, Any]) -> set[str]:
    return {difference["id"] for difference in report["differences"]}


def variant(tmp_path: Path, change) -> str:
    """The equivalent fixture with `change` applied, written to a file."""
    document = json.loads(EQUIVALENT.read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "variant.openapi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


# --- the fixtures ----------------------------------------------------------------------------------


def test_an_equivalent_fastapi_description_shows_no_differences(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--against", str(EQUIVALENT))
    assert (code, report["differences"]) == (0, [])
    assert report["deployment"]["openapi"] == "3.1.0" and report["contract"]["openapi"] == "3.0.3"


def test_a_description_without_patch_and_404s_reports_exactly_those(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--against", str(WITHOUT_PATCH_AND_404))
    assert code == 1
    assert ids(report) == EXPECTED_DRIFT
    assert all(d["contract"] == "documented" and d["deployment"] == "absent" for d in report["differences"])


def test_the_human_readable_report_names_each_difference(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff(["--against", str(WITHOUT_PATCH_AND_404)]) == 1
    out = capsys.readouterr().out
    assert "4 differences: 4 new, 0 known" in out
    for difference_id in EXPECTED_DRIFT:
        assert difference_id in out


def test_the_markdown_report_is_a_table_of_the_differences(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff(["--format", "md", "--against", str(WITHOUT_PATCH_AND_404)]) == 1
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| **new**")]
    assert len(rows) == 4 and any(f"`operation:PATCH {SESSION_ID}`" in row for row in rows)


# --- real drift is found ---------------------------------------------------------------------------


def test_a_get_summary_without_data_shows_as_field_differences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Like recent production builds, which answer GET with sessionId, createdAt, updatedAt, message.
    def summary_instead_of_data(document: dict[str, Any]) -> None:
        session = document["components"]["schemas"]["SessionResponse"]
        del session["properties"]["data"]
        session["properties"]["message"] = {"type": "string", "title": "Message"}
        session["required"] = ["sessionId", "createdAt", "updatedAt", "message"]

    code, report = run_json(capsys, "--against", variant(tmp_path, summary_instead_of_data))
    assert code == 1
    by_id = {d["id"]: d for d in report["differences"]}
    assert set(by_id) == {f"response-field:GET {SESSION_ID} 200 data", f"response-field:GET {SESSION_ID} 200 message"}
    assert (by_id[f"response-field:GET {SESSION_ID} 200 data"]["contract"], by_id[f"response-field:GET {SESSION_ID} 200 data"]["deployment"]) == ("object, required", "absent")
    assert by_id[f"response-field:GET {SESSION_ID} 200 message"]["deployment"] == "string, required"


def test_types_required_flags_parameters_and_extra_operations_and_statuses_differ(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def drift(document: dict[str, Any]) -> None:
        schemas = document["components"]["schemas"]
        schemas["SessionUpdateRequest"]["properties"]["data"] = {"type": "array", "items": {"type": "string"}}
        schemas["SessionCreatedResponse"]["properties"]["sessionId"] = {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}
        schemas["SessionMessageResponse"]["required"] = ["message"]
        document["paths"][SESSION_ID]["get"]["parameters"][0]["schema"] = {"type": "string", "title": "Session Id"}
        document["paths"][SESSION_ID]["get"]["parameters"].append({"name": "verbose", "in": "query", "required": False, "schema": {"type": "boolean"}})
        document["paths"]["/health"]["get"]["responses"]["503"] = {"description": "Down"}
        document["paths"]["/api/v1/sessions"] = {"get": {"responses": {"200": {"description": "ok"}}}}

    code, report = run_json(capsys, "--against", variant(tmp_path, drift))
    assert code == 1
    found = {d["id"]: (d["contract"], d["deployment"]) for d in report["differences"]}
    assert found == {
        f"request-field:PATCH {SESSION_ID} data": ("object, required", "array<string>, required"),
        f"response-field:POST {SESSION_ID} 201 sessionId": ("string(uuid), required", "string(uuid)|null, required"),
        "response-field:POST /api/v1/session 201 sessionId": ("string(uuid), required", "string(uuid)|null, required"),
        f"response-field:PATCH {SESSION_ID} 200 sessionId": ("string(uuid), required", "string(uuid), optional"),
        f"response-field:DELETE {SESSION_ID} 200 sessionId": ("string(uuid), required", "string(uuid), optional"),
        f"parameter:GET {SESSION_ID} path.session_id": ("string(uuid), required", "string, required"),
        f"parameter:GET {SESSION_ID} query.verbose": ("absent", "boolean, optional"),
        "status:GET /health 503": ("absent", "documented"),
    }
    assert report["other_operations"] == ["GET /api/v1/sessions"]


def test_leaving_out_the_not_offered_list_endpoint_is_no_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--against", variant(tmp_path, lambda d: d["paths"]["/api/v1/session"].pop("get")))
    assert (code, report["differences"]) == (0, [])


@pytest.mark.parametrize(
    "spellings",
    [
        [{"type": "string", "nullable": True}, {"type": ["string", "null"]}, {"anyOf": [{"type": "string"}, {"type": "null"}]}, {"oneOf": [{"type": "null"}, {"type": "string"}]}],
        [
            {"$ref": "#/components/schemas/Id"},
            {"type": "string", "format": "uuid", "title": "Id", "examples": ["123e4567-e89b-42d3-a456-426614174000"]},
            {"allOf": [{"$ref": "#/components/schemas/Id"}]},
        ],
        [{"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}, {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}],
        [{"type": "object", "additionalProperties": True}, {"additionalProperties": True}, {"type": ["object"]}],
        [{"enum": ["OK"]}, {"const": "OK"}, {"type": "string", "enum": ["OK"]}],
    ],
)
def test_equivalent_30_and_31_spellings_of_a_type_read_the_same(spellings: list[dict[str, Any]]) -> None:
    reader = SchemaReader({"components": {"schemas": {"Id": {"type": "string", "format": "uuid"}}}})
    assert len({reader.type_of(schema) for schema in spellings}) == 1


def test_fastapi_validation_errors_read_as_the_contracts() -> None:
    ours = api_shape(load_spec())
    theirs = api_shape(json.loads(EQUIVALENT.read_text(encoding="utf-8")))
    key = ("GET", "/api/v1/session/{}")
    assert ours.operations[key].responses["422"] == theirs.operations[key].responses["422"] == {"": Field("validation-error", True)}


# --- known deviations ------------------------------------------------------------------------------


def test_known_deviations_turn_the_exit_status_to_0_and_say_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known = tmp_path / "known-deviations.yaml"
    known.write_text(
        "# ids of the conformance suite's properties live in the same file and are ignored here\n"
        "list.always-404: production answers 405\n"
        f"'operation:PATCH {SESSION_ID}': recent production builds removed PATCH\n"
        "'undocumented-error:*': FastAPI documents only the errors a route declares\n"
        "'operation:DELETE /api/v1/gone': an old deviation\n",
        encoding="utf-8",
    )
    code, report = run_json(capsys, "--against", str(WITHOUT_PATCH_AND_404), "--known-deviations", str(known))
    assert code == 0 and (report["new"], report["known"]) == (0, 4)
    reasons = {d["id"]: d["reason"] for d in report["differences"]}
    assert reasons[f"operation:PATCH {SESSION_ID}"] == "recent production builds removed PATCH"
    assert reasons[f"undocumented-error:HEAD {SESSION_ID} 404"] == "FastAPI documents only the errors a route declares"
    assert report["stale_known_deviations"] == ["operation:DELETE /api/v1/gone"]


def test_a_difference_not_listed_as_known_still_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known = tmp_path / "known-deviations.yaml"
    known.write_text(f"'operation:PATCH {SESSION_ID}': removed\n", encoding="utf-8")
    code, report = run_json(capsys, "--against", str(WITHOUT_PATCH_AND_404), "--known-deviations", str(known))
    assert code == 1 and (report["new"], report["known"]) == (3, 1)


# --- over HTTP, and documents that cannot be had ---------------------------------------------------


@pytest.fixture(scope="module")
def description_server() -> Iterator[str]:
    """A loopback server answering like a FastAPI deployment's /openapi.json, plus a page that is not JSON."""
    drift = json.loads(WITHOUT_PATCH_AND_404.read_text(encoding="utf-8"))
    app = Starlette(routes=[
        Route("/openapi.json", lambda request: JSONResponse(drift)),
        Route("/docs", lambda request: HTMLResponse("<html><body>Swagger UI</body></html>")),
    ])
    with LiveServer(app) as server:
        yield server.base_url


def test_a_description_served_over_http_is_fetched_and_compared(description_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--against", f"{description_server}/openapi.json")
    assert code == 1 and ids(report) == EXPECTED_DRIFT


def test_the_reference_implementations_served_spec_matches_the_contract(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--against", f"{base_url}/api/v1/openapi.json")
    assert (code, report["differences"]) == (0, [])


@pytest.mark.parametrize("content", [
    "{not json: [", "just a sentence", '{"swagger": "2.0", "paths": {}}',
    '{"openapi": "3.1.0", "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/nowhere"}}}}}}',
])
def test_a_file_that_is_not_an_openapi_3_description_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text(content, encoding="utf-8")
    assert diff(["--against", str(garbage)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("session-contract diff: cannot ") and captured.err.count("\n") == 1


def test_unreachable_missing_and_non_json_sources_exit_2(description_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for source in (f"http://127.0.0.1:{free_port()}/openapi.json", f"{description_server}/missing", f"{description_server}/docs", str(tmp_path / "absent.json")):
        assert diff(["--against", source, "--timeout", "5"]) == 2, source
        err = capsys.readouterr().err
        assert err.startswith("session-contract diff: cannot ") and err.count("\n") == 1, err


def test_the_module_runs_as_a_command_and_fails_in_one_line_without_traceback(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("<html>", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "contract_tests.diff", "--against", str(garbage)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.strip().splitlines()[-1].startswith("session-contract diff: cannot parse")


def test_other_modules_free_form_bodies_and_undocumented_errors_read_as_a_real_service_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against a real service: operations of its other modules are one line, a body it describes as
    a free-form object is one "not described" difference, its missing error statuses share a kind."""

    def service(document: dict[str, Any]) -> None:
        for index in range(5):
            document["paths"][f"/api/v1/module{index}/items"] = {"get": {"responses": {"200": {"description": "ok"}}},
                                                                "post": {"responses": {"200": {"description": "ok"}}}}
        response = document["paths"][SESSION_ID]["get"]["responses"]["200"]["content"]["application/json"]
        response["schema"] = {"type": "object", "additionalProperties": True, "title": "Response Get Session"}
        del document["paths"][SESSION_ID]["delete"]["responses"]["404"]

    code, report = run_json(capsys, "--against", variant(tmp_path, service))
    assert code == 1
    found = {d["id"]: (d["kind"], d["deployment"]) for d in report["differences"]}
    assert found == {
        f"response-field:GET {SESSION_ID} 200 (body)": ("response-field", "object, not described (free-form)"),
        f"undocumented-error:DELETE {SESSION_ID} 404": ("undocumented-error", "absent"),
    }
    assert len(report["other_operations"]) == 10
    diff(["--against", variant(tmp_path, service)])
    text = capsys.readouterr().out
    assert "not compared: 10 operations on paths the contract does not describe (GET /api/v1/module0/items, " in text
