"""`ExchangeChecker`: one request and its answer, checked against openapi.yaml and the contract's per-request rules.

The contract's per-exchange rules, in the neutral contract package; used by the mock's proxy (`--proxy URL`). Bodies are validated with `openapi_schema_validator.OAS30Validator`
(JSON Schema for OpenAPI 3.0, with its format checker: the JSON-Schema engine for checking a
deployment's exchanges, which reports every error with its path) against the schemas the spec
documents; the spec is read through `session_spec`, and the per-request rules (ids, strict JSON,
media types, the `Allow` rule, which operation a request names) come from `session_spec.rules`.
Two kinds of findings:

- request issues (`request.*`): the client's request does not follow the spec (an undocumented path
  or method, a malformed session id, a body that is not the documented JSON). They are reported,
  never held against the deployment; they only change what it must answer (a 4xx).
- violations: the deployment's answer breaks the contract.
  `status.undocumented`     a status openapi.yaml does not document for the operation (for an
                            undocumented method on a documented path, anything but 405; for an
                            unknown path, anything but 404 or a redirect)
  `status.invalid-request-not-4xx`  a malformed id or body not answered with a 4xx
                            ("Malformed ids and bodies get a 4xx with a JSON body, never a 5xx")
  `body.not-json`           a documented JSON answer, or an error answer, whose body is not JSON
  `body.schema`             the JSON body does not match the documented schema
  `error.no-detail`         an error answer without `{"detail": ...}` (FastAPI's error convention)
  `allow.missing` / `allow.mismatch`   a 405 without `Allow`, or with other methods than the path
                            documents (HEAD may join GET; RFC 9110, 15.5.6: a 405 MUST carry Allow)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

from session_spec import SPEC_PATH, load_spec, resolve
from session_spec.rules import (
    MAX_DEPTH,
    JsonBodyError,
    MalformedId,
    OperationTable,
    allow_conforms,
    is_json_media_type,
    parse_json,
    parse_session_id,
)

MAX_MESSAGE = 300


@dataclass(frozen=True)
class Finding:
    """One request issue or violation: a stable kind and a one-line message."""

    kind: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Operation:
    """A documented (method, path template) with what the spec says of it."""

    operation_id: str
    method: str
    template: str
    spec: dict[str, Any]


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _strict_json(body: bytes, max_depth: int = 10**6) -> Any:
    """The JSON document in `body` (the reference's strict reader: no NaN or Infinity, bounded
    nesting); ValueError for anything else, a body nested too deep for Python's parser included."""
    try:
        return parse_json(body, max_depth)
    except JsonBodyError as exc:
        raise ValueError(exc.msg) from None


class ExchangeChecker:
    """Knows openapi.yaml's operations, documented statuses and schemas."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec if spec is not None else load_spec(SPEC_PATH)
        self.table = OperationTable(self.spec)
        self.operations: dict[str, dict[str, Operation]] = {
            route.template: {
                method: Operation(operation_id, method, route.template, self.spec["paths"][route.template][method.lower()])
                for method, operation_id in route.operation_ids.items()
            }
            for route in self.table.routes
        }
        self._validators: dict[int, OAS30Validator] = {}

    # --- the spec -----------------------------------------------------------------------------

    def path_item(self, path: str) -> tuple[str, dict[str, Operation]] | None:
        route = self.table.route(path)
        return None if route is None else (route.template, self.operations[route.template])

    def _validator(self, schema: dict[str, Any]) -> OAS30Validator:
        key = id(schema)
        if key not in self._validators:
            # Local $refs (#/components/...) resolve against the root of the schema document.
            self._validators[key] = OAS30Validator({**schema, "components": self.spec.get("components", {})}, format_checker=oas30_format_checker)
        return self._validators[key]

    def _schema_errors(self, schema: dict[str, Any], document: Any) -> list[str]:
        errors = sorted(self._validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:3]]

    def documented_responses(self, operation: Operation) -> dict[int, dict[str, Any]]:
        responses = operation.spec.get("responses", {})
        return {int(status): resolve(self.spec, response) for status, response in responses.items() if str(status).isdigit()}

    # --- requests -----------------------------------------------------------------------------

    def check_request(self, method: str, path: str, content_type: str, body: bytes) -> tuple[Operation | None, list[Finding]]:
        """The documented operation the request names (None: none) and what in it breaks the spec."""
        found = self.path_item(path)
        if found is None:
            return None, [Finding("request.undocumented-path", f"openapi.yaml documents no path {path}")]
        template, operations = found
        operation = operations.get(method)
        if operation is None:
            return None, [Finding("request.undocumented-method", f"openapi.yaml documents {', '.join(sorted(operations))} for {template}, not {method}")]
        issues: list[Finding] = []
        if "{session_id}" in template:
            raw = path.rsplit("/", 1)[-1]
            try:
                parse_session_id(raw)
            except MalformedId:
                issues.append(Finding("request.malformed-id", _short(f"{raw!r} is not a UUID in any accepted spelling")))
        request_body = resolve(self.spec, operation.spec.get("requestBody", {}))
        schema = request_body.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            issues += self._request_body_issues(schema, request_body.get("required", False), content_type, body)
        return operation, issues

    def _request_body_issues(self, schema: dict[str, Any], required: bool, content_type: str, body: bytes) -> list[Finding]:
        if not body:
            return [Finding("request.body-missing", "the operation requires a JSON body")] if required else []
        if not is_json_media_type(content_type):  # JSON, in any letter case (RFC 9110, 8.3.1)
            return [Finding("request.content-type", f"the body is sent as {content_type or 'no content type'}, not application/json")]
        try:
            document = _strict_json(body, MAX_DEPTH)
        except (ValueError, UnicodeDecodeError) as exc:
            return [Finding("request.body-not-json", _short(f"the body is not JSON: {exc}"))]
        return [Finding("request.body-schema", _short(error)) for error in self._schema_errors(schema, document)]

    # --- answers ------------------------------------------------------------------------------

    def check_response(
        self, method: str, path: str, operation: Operation | None, request_issues: list[Finding],
        status: int, headers: dict[str, str], body: bytes,
    ) -> list[Finding]:
        """The contract violations in the deployment's answer to this request."""
        if operation is None:
            return self._undocumented_request_violations(method, path, status, headers, body)
        violations: list[Finding] = []
        invalid_kinds = ("request.malformed-id", "request.body-not-json", "request.body-schema", "request.body-missing", "request.content-type")
        invalid_input = [i for i in request_issues if i.kind in invalid_kinds]
        if invalid_input and not 400 <= status < 500:
            violations.append(Finding("status.invalid-request-not-4xx", f"{method} {path} answered {status} to a request with {invalid_input[0].kind.removeprefix('request.')}"))
        documented = self.documented_responses(operation)
        response = documented.get(status)
        if response is None:
            statuses = ", ".join(map(str, sorted(documented)))
            violations.append(Finding("status.undocumented", f"{method} {operation.template} answered {status}; openapi.yaml documents {statuses} for {operation.operation_id}"))
            violations += self._error_shape(method, status, headers, body)
            if status == 405:
                violations += self._allow(operation.template, headers)
            return violations
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None or method == "HEAD":
            return violations
        document, problem = self._json_body(status, headers, body)
        if problem is not None:
            return violations + [problem]
        violations += [Finding("body.schema", _short(f"{method} {operation.template} {status}: {error}")) for error in self._schema_errors(schema, document)]
        return violations

    def _undocumented_request_violations(self, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> list[Finding]:
        found = self.path_item(path)
        if found is None:
            if status == 404 or 300 <= status < 400:
                return self._error_shape(method, status, headers, body)
            return [Finding("status.undocumented", f"{method} {path} (no such path in openapi.yaml) answered {status}, not 404")]
        template, _ = found
        if status != 405:
            return [Finding("status.undocumented", f"{method} {template} (method not documented) answered {status}, not 405")]
        return self._error_shape(method, status, headers, body) + self._allow(template, headers)

    def _json_body(self, status: int, headers: dict[str, str], body: bytes) -> tuple[Any, Finding | None]:
        content_type = headers.get("content-type", "")
        if not is_json_media_type(content_type):
            return None, Finding("body.not-json", f"the {status} answer is {content_type or 'without a content type'}, not application/json")
        try:
            return _strict_json(body), None
        except (ValueError, UnicodeDecodeError) as exc:
            return None, Finding("body.not-json", _short(f"the {status} answer's body is not JSON: {exc}"))

    def _error_shape(self, method: str, status: int, headers: dict[str, str], body: bytes) -> list[Finding]:
        if status < 400 or method == "HEAD":
            return []
        document, problem = self._json_body(status, headers, body)
        if problem is not None:
            return [problem]
        if not isinstance(document, dict) or "detail" not in document:
            return [Finding("error.no-detail", f"the {status} answer is not {{\"detail\": ...}}")]
        return []

    def _allow(self, template: str, headers: dict[str, str]) -> list[Finding]:
        allow = headers.get("allow")
        documented = set(self.operations[template])
        if allow is None:
            return [Finding("allow.missing", f"405 on {template} without an Allow header")]
        if not allow_conforms(allow, documented):
            return [Finding("allow.mismatch", f"405 on {template} has Allow: {allow}; openapi.yaml documents {', '.join(sorted(documented))}")]
        return []
