"""The spec itself: valid OpenAPI 3.0.3, examples that hold, operationIds that resolve."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from reference_impl.handlers import SessionHandlers
from session_spec import HTTP_METHODS, SPEC_PATH, inline_refs, load_spec
from session_spec import operations as spec_operations
from session_spec import resolve as resolve_ref

SPEC: dict[str, Any] = load_spec()
METHODS = set(HTTP_METHODS)


def resolve(node: Any) -> Any:
    """Follow a local `$ref` of this spec (`session_spec.resolve`)."""
    return resolve_ref(SPEC, node)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, raw operation) in document order; the list of operations is session_spec's."""
    return [(op.path, op.method, SPEC["paths"][op.path][op.method]) for op in spec_operations(SPEC)]


def examples() -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example value) for every example in the spec's media types and parameters."""
    found = []
    for op in spec_operations(SPEC):
        media = [("request", op.request_body or [])]
        media += [(f"response {response.status}", response.bodies) for response in op.responses]
        for where, bodies in media:
            for body in bodies:
                for example in body.examples:
                    found.append((f"{op.title} {where} {body.media_type} {example.name}", body.schema, example.value))
    for name, parameter in SPEC["components"]["parameters"].items():
        found.append((f"parameter {name}", parameter["schema"], parameter["example"]))
    return found


def test_spec_is_valid_openapi_3_0_3() -> None:
    spec_dict, base_uri = read_from_filename(str(SPEC_PATH))
    assert spec_dict["openapi"] == "3.0.3"
    validate(spec_dict, base_uri=base_uri)


@pytest.mark.parametrize(("where", "schema", "value"), examples(), ids=[e[0] for e in examples()])
def test_every_example_matches_its_schema(where: str, schema: dict[str, Any], value: Any) -> None:
    # The engine that checks documents against the contract's schemas (as the proxy does): OpenAPI 3.0's dialect.
    OAS30Validator(inline_refs(SPEC, schema), format_checker=oas30_format_checker).validate(value)


def test_every_operation_is_documented_with_an_example_per_response() -> None:
    for path, method, op in operations():
        assert op.get("summary") and op.get("description"), f"{method} {path} lacks summary/description"
        for status, response in op["responses"].items():
            response = resolve(response)
            assert response.get("description"), f"{method} {path} {status} lacks a description"
            for media in response.get("content", {}).values():
                assert media.get("examples") or media.get("example"), f"{method} {path} {status} has no example"


def test_every_operation_id_resolves_and_every_handler_is_used() -> None:
    ids = {op["operationId"] for _, _, op in operations()}
    assert ids == SessionHandlers.operation_ids()
    for link in SPEC["components"]["links"].values():
        assert link["operationId"] in ids


def test_both_create_responses_link_to_get_head_patch_and_delete() -> None:
    wanted = {"get_session", "check_session_exists", "update_session", "delete_session"}
    for path, method in (("/api/v1/session", "post"), ("/api/v1/session/{session_id}", "post")):
        links = SPEC["paths"][path][method]["responses"]["201"]["links"]
        assert {resolve(link)["operationId"] for link in links.values()} == wanted


def test_every_validation_error_status_is_documented_for_id_operations() -> None:
    for method, op in SPEC["paths"]["/api/v1/session/{session_id}"].items():
        if method in METHODS:
            assert "422" in op["responses"], f"{method} lacks 422"


def test_every_request_body_has_an_example_per_media_type() -> None:
    for path, method, op in operations():
        for media_type, media in resolve(op.get("requestBody", {})).get("content", {}).items():
            assert media.get("examples") or media.get("example"), f"{method} {path} request {media_type} has no example"


def test_every_response_that_can_carry_a_body_documents_one() -> None:
    # HEAD answers and 204/304 never carry a body; every other documented status shows its body
    # (and so, by the test above, an example of it).
    for path, method, op in operations():
        for status, response in op["responses"].items():
            if method == "head" or status in {"204", "304"}:
                assert not resolve(response).get("content"), f"{method} {path} {status} cannot carry a body"
            else:
                assert resolve(response).get("content"), f"{method} {path} {status} documents no body"
