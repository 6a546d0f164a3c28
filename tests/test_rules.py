"""The contract's per-request rules (session_spec.rules), each stated once for every component."""

from __future__ import annotations

import uuid

import pytest

from session_spec import load_spec
from session_spec.rules import (
    MAX_DEPTH,
    JsonBodyError,
    MalformedId,
    OperationTable,
    allow_conforms,
    allow_header,
    allowed_methods,
    is_json_media_type,
    parse_json,
    parse_session_id,
    path_pattern,
)

SID = uuid.UUID("3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e")


@pytest.mark.parametrize("spelling", [str(SID), str(SID).upper(), SID.hex, f"{{{SID}}}", f"urn:uuid:{SID}", f"URN:UUID:{SID.hex.upper()}"])
def test_every_accepted_spelling_of_an_id_names_the_same_session(spelling: str) -> None:
    assert parse_session_id(spelling) == SID


@pytest.mark.parametrize("raw", ["", "not-a-uuid", f"{{{SID}", f"{SID}}}", f" {SID}", f"{SID}\n", str(SID)[:-1], f"urn:{SID}"])
def test_anything_else_is_a_malformed_id(raw: str) -> None:
    with pytest.raises(MalformedId):
        parse_session_id(raw)


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e400}', b'{"a": ' + b"9" * 5000 + b"}"])
def test_strict_json_refuses_what_rfc_8259_does_not_define(body: bytes) -> None:
    with pytest.raises(JsonBodyError) as refused:
        parse_json(body)
    assert not refused.value.malformed and refused.value.problem["loc"] == ["body"]


def test_strict_json_bounds_nesting_and_tells_malformed_from_refused() -> None:
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    with pytest.raises(JsonBodyError) as deep:
        parse_json(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    assert deep.value.type == "json_too_deep"
    with pytest.raises(JsonBodyError) as broken:
        parse_json(b"{not json")
    assert broken.value.malformed


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [("application/json", True), ("Application/JSON; charset=utf-8", True), ("application/merge-patch+json", True),
     ("text/json", False), ("application/jsonx", False), ("", False), ("application/x-www-form-urlencoded", False)],
)
def test_json_media_types_are_compared_as_fastapi_compares_them(content_type: str, is_json: bool) -> None:
    assert is_json_media_type(content_type) is is_json


def test_allow_names_the_served_methods_and_head_beside_get() -> None:
    assert allowed_methods(["post", "GET", "DELETE", "PATCH"]) == ["DELETE", "GET", "HEAD", "PATCH", "POST"]
    assert allow_header(["POST"]) == "POST"
    assert allow_header(["GET"]) == "GET, HEAD"


@pytest.mark.parametrize(
    ("allow", "conforms"),
    [("GET, POST", True), ("GET, HEAD, POST", True), ("GET, HEAD, OPTIONS, POST", True), ("get,post", True),
     ("GET", False), ("GET, POST, PUT", False), ("", False)],
)
def test_a_405s_allow_conforms_when_it_names_the_documented_methods(allow: str, conforms: bool) -> None:
    assert allow_conforms(allow, {"GET", "POST"}) is conforms


def test_path_templates_match_one_segment_per_parameter() -> None:
    pattern = path_pattern("/api/v1/session/{session_id}")
    assert pattern.fullmatch(f"/api/v1/session/{SID}")
    assert not pattern.fullmatch(f"/api/v1/session/{SID}/extra")
    assert not pattern.fullmatch("/api/v1/session/")


def test_the_operation_table_finds_each_documented_operation_by_method_and_path() -> None:
    table = OperationTable(load_spec())
    item = f"/api/v1/session/{SID}"
    assert table.operation_id("PATCH", item) == "update_session"
    assert table.operation_id("head", item) == "check_session_exists"
    assert table.operation_id("GET", "/api/v1/session") == "list_sessions"
    assert table.operation_id("PUT", item) is None
    assert table.operation_id("GET", "/nowhere") is None
    assert table.methods(item) == ["DELETE", "GET", "HEAD", "PATCH", "POST"]
    assert table.methods("/nowhere") is None
