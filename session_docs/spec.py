"""Reading openapi.yaml: the document, its `$ref`s, and its operations in the order they are written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference_impl.spec import HTTP_METHODS, SPEC_PATH, load_spec, resolve

DEFAULT_SPEC_PATH = SPEC_PATH


def ref_name(node: Any) -> str | None:
    """The last segment of a `$ref` (a component's name), or None when `node` is inline."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
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
