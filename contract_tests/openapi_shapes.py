"""OpenAPI 3.0 and 3.1 documents reduced to shapes that compare equal when they describe the same API.

A shape keeps what a client depends on: operations (method and path, parameter names in the path
template ignored), documented statuses, parameters, and the fields of JSON request and response
bodies with their types and whether they are required. It drops what does not change the API:
titles, descriptions, examples (3.0 `example`, 3.1 `examples` arrays), operationIds, tags, and how
a schema is spelled: `$ref` to a component or inline, 3.1 type lists such as `["string", "null"]`,
3.0 `nullable: true` and `anyOf`/`oneOf` with a `{"type": "null"}` branch all read the same. A body
in the FastAPI request-validation shape (`{"detail": [{"loc", "msg", "type", ...}]}`, as FastAPI's
`HTTPValidationError`/`ValidationError` components and the contract's `ValidationError` spell it)
is one type, `validation-error`, whatever extra keys (`input`, `ctx`) a FastAPI version adds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from session_spec import HTTP_METHODS, resolve

VALIDATION_ERROR = "validation-error"
_MAX_DEPTH = 12


class UnreadableDocument(ValueError):
    """The document is not an OpenAPI 3 description this module can read."""


@dataclass(frozen=True)
class Field:
    """One field (or parameter): its type as text (e.g. `string(uuid)`, `object|null`) and whether it is required."""

    type: str
    required: bool

    def __str__(self) -> str:
        return f"{self.type}, {'required' if self.required else 'optional'}"


BodyFields = dict[str, Field]
"""Dotted field paths (`data`, `detail[].loc`) to fields; the key "" is the body itself."""


@dataclass
class OperationShape:
    method: str
    path: str
    parameters: dict[str, Field] = field(default_factory=dict)
    request: BodyFields | None = None
    request_required: bool = False
    responses: dict[str, BodyFields | None] = field(default_factory=dict)


@dataclass
class ApiShape:
    version: str
    operations: dict[tuple[str, str], OperationShape]


def path_key(path: str) -> str:
    """A path template with its parameter names erased: `/a/{id}` and `/a/{session_id}` are one path."""
    return re.sub(r"\{[^}/]*\}", "{}", path)


class SchemaReader:
    """Types and fields of the schemas of one document, `$ref`s followed."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any) -> Any:
        """`node` with local `$ref`s followed (`session_spec.resolve`); UnreadableDocument when one cannot be."""
        try:
            return resolve(self.document, node)
        except ValueError as exc:
            raise UnreadableDocument(str(exc)) from exc

    def _merged(self, schema: Any) -> dict[str, Any]:
        """The schema resolved, with `allOf` merged and a single non-null `anyOf`/`oneOf` branch unwrapped."""
        schema = self.resolve(schema)
        if schema is True or not isinstance(schema, dict):
            return {}
        if "allOf" in schema:
            merged: dict[str, Any] = {key: value for key, value in schema.items() if key != "allOf"}
            for part in schema["allOf"]:
                part = self._merged(part)
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                for key in ("type", "format", "items", "nullable"):
                    if key in part:
                        merged.setdefault(key, part[key])
            if not merged.get("properties"):
                merged.pop("properties", None)
            return merged
        for key in ("anyOf", "oneOf"):
            branches = [self._merged(branch) for branch in schema.get(key, [])]
            concrete = [branch for branch in branches if not _is_null(branch)]
            if key in schema and len(concrete) == 1:
                unwrapped = dict(concrete[0])
                if len(branches) > 1 or schema.get("nullable"):
                    unwrapped["nullable"] = True
                return unwrapped
        return schema

    def is_validation_error(self, schema: Any) -> bool:
        schema = self._merged(schema)
        detail = self._merged(schema.get("properties", {}).get("detail", {}))
        items = self._merged(detail.get("items", {}))
        return _types_of(detail) == ["array"] and {"loc", "msg", "type"} <= set(items.get("properties", {}))

    def type_of(self, schema: Any, depth: int = 0) -> str:
        """The schema's type as text: `string(uuid)`, `array<integer|string>`, `object|null`, `any`, ..."""
        merged = self._merged(schema)
        if depth > _MAX_DEPTH:
            return "…"
        if self.is_validation_error(merged):
            return VALIDATION_ERROR
        nullable = bool(merged.get("nullable"))
        branches = merged.get("anyOf") or merged.get("oneOf")
        if branches:
            names = {self.type_of(branch, depth + 1) for branch in branches}
            nullable = nullable or "null" in names
            base = "|".join(sorted(names - {"null"})) or "null"
        else:
            types = _types_of(merged)
            nullable = nullable or "null" in types
            base = "|".join(sorted(self._simple(merged, t, depth) for t in types if t != "null")) or ("null" if types else "any")
        return f"{base}|null" if nullable and base not in {"any", "null"} else base

    def _simple(self, schema: dict[str, Any], type_: str, depth: int) -> str:
        if type_ == "string" and schema.get("format"):
            return f"string({schema['format']})"
        if type_ == "array":
            return f"array<{self.type_of(schema.get('items', {}), depth + 1)}>"
        return type_

    def fields(self, schema: Any) -> BodyFields:
        """Every field of a body schema by dotted path; "" is the body itself."""
        found: BodyFields = {"": Field(self.type_of(schema), True)}
        self._walk(schema, "", found, 0)
        return found

    def _walk(self, schema: Any, prefix: str, found: BodyFields, depth: int) -> None:
        merged = self._merged(schema)
        if depth > _MAX_DEPTH or self.is_validation_error(merged):
            return
        required = set(merged.get("required", []))
        for name, prop in (merged.get("properties") or {}).items():
            path = f"{prefix}.{name}" if prefix else name
            found[path] = Field(self.type_of(prop), name in required)
            self._walk(prop, path, found, depth + 1)
        if "array" in _types_of(merged) and "items" in merged:
            self._walk(merged["items"], f"{prefix}[]", found, depth + 1)


def _types_of(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, list):
        return [str(t) for t in declared]
    if isinstance(declared, str):
        return [declared]
    if "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else list(schema["enum"])
        return sorted({_json_type(value) for value in values})
    if "properties" in schema or "additionalProperties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return []


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_null(schema: dict[str, Any]) -> bool:
    return _types_of(schema) == ["null"]


def _json_media(content: dict[str, Any] | None) -> dict[str, Any] | None:
    if not content:
        return None
    for media_type, media in content.items():
        if "json" in media_type:
            return media or {}
    return next(iter(content.values())) or {}


def api_shape(document: Any) -> ApiShape:
    """The shape of an OpenAPI 3.0 or 3.1 document; UnreadableDocument when it is not one."""
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        found = document.get("swagger") if isinstance(document, dict) else None
        raise UnreadableDocument(f"not an OpenAPI 3 document{f' (Swagger {found})' if found else ''}")
    if not isinstance(document.get("paths", {}), dict):
        raise UnreadableDocument("'paths' is not a mapping")
    reader = SchemaReader(document)
    shapes: dict[tuple[str, str], OperationShape] = {}
    try:
        for path, item in (document.get("paths") or {}).items():
            item = reader.resolve(item) or {}
            for method, raw in item.items():
                if method not in HTTP_METHODS or not isinstance(raw, dict):
                    continue
                shapes[(method.upper(), path_key(path))] = _operation(reader, method.upper(), path, item, raw)
    except (KeyError, TypeError, AttributeError) as exc:
        raise UnreadableDocument(f"malformed operation: {exc!r}") from exc
    return ApiShape(str(document["openapi"]), shapes)


def _operation(reader: SchemaReader, method: str, path: str, item: dict[str, Any], raw: dict[str, Any]) -> OperationShape:
    shape = OperationShape(method, path)
    for parameter in [*item.get("parameters", []), *raw.get("parameters", [])]:
        parameter = reader.resolve(parameter)
        schema = parameter.get("schema")
        if schema is None:
            schema = (_json_media(parameter.get("content")) or {}).get("schema", {})
        shape.parameters[f"{parameter['in']}.{parameter['name']}"] = Field(reader.type_of(schema), bool(parameter.get("required")))
    if "requestBody" in raw:
        body = reader.resolve(raw["requestBody"])
        media = _json_media(body.get("content"))
        shape.request = reader.fields(media.get("schema", {})) if media is not None else None
        shape.request_required = bool(body.get("required"))
    for status, response in (raw.get("responses") or {}).items():
        media = _json_media(reader.resolve(response).get("content"))
        shape.responses[str(status).upper() if str(status) != "default" else "default"] = (
            reader.fields(media.get("schema", {})) if media is not None else None
        )
    return shape
