"""The session API contract, `openapi.yaml`, shipped as package data, and its only reader.

Everything else in the toolkit asks this module for the spec: the raw bytes (`spec_bytes`), the
document as plain data (`load_spec`), local `$ref` resolution (`resolve`, `inline_refs`), the
operations in the order they are written (`operations`, `operations_by_path`, `find_operation`)
with their named examples (`Operation.example`), and the request paths a path template matches
(`path_pattern`). The contract's per-request rules (ids, strict JSON, the `Allow` rule, the lookup
from method and path to operationId) live in `session_spec.rules`. The repository's top-level
`openapi.yaml` is the file people edit; this package's `openapi.yaml` is the same file (a link in
the source tree, a copy in a built wheel), and a test proves the bytes are identical.

JSON-Schema engines, one per purpose:
- serving (the reference's request and response validation): Connexion's own, Python `jsonschema`
  Draft 4 with its format checker; `connexion_speedups.validators` only decides valid values faster
  with `jsonschema-rs` and hands every invalid one back to it;
- checking a document against the contract's schemas (the mock's `--proxy` checking a deployment's
  exchanges, tests/test_spec.py checking the examples): `openapi_schema_validator.OAS30Validator`,
  OpenAPI 3.0's dialect, which reports every error with its path;
- generating and checking traffic in the conformance suite: Schemathesis (and Hypothesis);
- checking the contract document itself (tests/test_spec.py): `openapi-spec-validator`.
"""

from __future__ import annotations

import copy
import importlib.metadata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from session_spec.rules import HTTP_METHODS as HTTP_METHODS  # re-exported: the spec format's operation keys
from session_spec.rules import path_pattern as path_pattern  # re-exported: path templates

SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
"""Where the packaged contract lies on disk (inside the installed package)."""
DEFAULT_SPEC_PATH = SPEC_PATH
DISTRIBUTION = "session-contract-toolkit"
"""The name the toolkit is installed under (pyproject.toml's `project.name`)."""


def toolkit_version() -> str:
    """The installed toolkit's version (from its distribution metadata), for every command's `--version`."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def spec_bytes(path: Path = SPEC_PATH) -> bytes:
    """The contract's bytes as written, for serving or hashing."""
    return Path(path).read_bytes()


@cache
def _cached(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} is not an OpenAPI document (its top level is not a mapping)")
    return loaded


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The OpenAPI document at `path`, as plain data (a fresh copy: callers may change it)."""
    return copy.deepcopy(_cached(Path(path).resolve()))


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """`node` with local `$ref`s (`#/...`, RFC 6901 JSON pointers) followed until it is not a reference.

    Raises ValueError for a remote `$ref`, a cycle, or a pointer to nothing.
    """
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, found {ref!r}")
        if ref in seen:
            raise ValueError(f"$ref cycle at {ref!r}")
        seen.add(ref)
        target: Any = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise ValueError(f"$ref {ref!r} points nowhere")
            target = target[part]
        node = target
    return node


def inline_refs(spec: dict[str, Any], node: Any) -> Any:
    """`node` with every local `$ref`, at any depth, replaced by what it names (for JSON Schema
    validators that do not know the document). Raises ValueError as `resolve` does; a recursive
    schema would not terminate (the contract has none)."""
    node = resolve(spec, node)
    if isinstance(node, dict):
        return {key: inline_refs(spec, value) for key, value in node.items()}
    if isinstance(node, list):
        return [inline_refs(spec, value) for value in node]
    return node


def ref_name(node: Any) -> str | None:
    """The last segment of a `$ref` (a component's name), or None when `node` is inline."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return str(node["$ref"]).rsplit("/", 1)[-1]
    return None


@dataclass(frozen=True)
class Example:
    """One named example of a request or response body."""

    name: str
    summary: str
    value: Any


@dataclass(frozen=True)
class Body:
    """A request or response body: its media type, schema (unresolved) and examples."""

    media_type: str
    schema: dict[str, Any]
    examples: list[Example]


@dataclass(frozen=True)
class Response:
    """One documented status of an operation."""

    status: str
    description: str
    bodies: list[Body]


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, with path-level parameters merged in and every `$ref` followed."""

    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    parameters: list[Parameter]
    request_body: list[Body] | None
    request_required: bool
    responses: list[Response] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def response(self, status: str) -> Response:
        """The documented response for `status` (KeyError when the operation does not document it)."""
        for response in self.responses:
            if response.status == status:
                return response
        raise KeyError(f"{self.title} documents no {status} response")

    def example(self, status: str, name: str, media_type: str = "application/json") -> Any:
        """The value of the named example of the `status` response body (KeyError when there is none)."""
        for body in self.response(status).bodies:
            if body.media_type == media_type:
                for example in body.examples:
                    if example.name == name:
                        return example.value
        raise KeyError(f"{self.title} {status} has no {media_type} example {name!r}")


def _examples(spec: dict[str, Any], media: dict[str, Any]) -> list[Example]:
    found = []
    for name, example in (media.get("examples") or {}).items():
        example = resolve(spec, example)
        found.append(Example(name, str(example.get("summary", "")), example.get("value")))
    if not found and "example" in media:
        found.append(Example("example", "", media["example"]))
    return found


def _bodies(spec: dict[str, Any], content: dict[str, Any] | None) -> list[Body]:
    return [
        Body(media_type, media.get("schema") or {}, _examples(spec, media))
        for media_type, media in (content or {}).items()
    ]


def _response(spec: dict[str, Any], status: str, response: dict[str, Any]) -> Response:
    return Response(status, str(response.get("description", "")), _bodies(spec, response.get("content")))


def _parameters(spec: dict[str, Any], path_item: dict[str, Any], operation: dict[str, Any]) -> list[Parameter]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = resolve(spec, raw)
        merged[(parameter["in"], parameter["name"])] = parameter
    return [
        Parameter(p["name"], p["in"], bool(p.get("required")), str(p.get("description", "")), p.get("schema") or {})
        for p in merged.values()
    ]


def operations(spec: dict[str, Any]) -> list[Operation]:
    """Every operation, in the order of the document."""
    found = []
    for path, path_item in spec.get("paths", {}).items():
        path_item = resolve(spec, path_item)
        for method, raw in path_item.items():
            if method not in HTTP_METHODS:
                continue
            request = resolve(spec, raw["requestBody"]) if "requestBody" in raw else None
            found.append(
                Operation(
                    method=method,
                    path=path,
                    operation_id=str(raw.get("operationId", f"{method} {path}")),
                    summary=str(raw.get("summary", "")),
                    description=str(raw.get("description", "")),
                    parameters=_parameters(spec, path_item, raw),
                    request_body=_bodies(spec, request.get("content")) if request else None,
                    request_required=bool(request and request.get("required")),
                    responses=[_response(spec, str(status), resolve(spec, response)) for status, response in raw.get("responses", {}).items()],
                )
            )
    return found


def operations_by_path(spec: dict[str, Any]) -> dict[str, list[Operation]]:
    """The operations grouped by path template, both in the order of the document."""
    grouped: dict[str, list[Operation]] = {}
    for operation in operations(spec):
        grouped.setdefault(operation.path, []).append(operation)
    return grouped


def find_operation(spec: dict[str, Any], method: str, path: str) -> Operation:
    """The operation documented for `method` (any case) on the path template `path` (KeyError if none)."""
    for operation in operations_by_path(spec).get(path, []):
        if operation.method == method.lower():
            return operation
    raise KeyError(f"{method.upper()} {path} is not documented")
