"""Connexion validators that compile each schema once, through Connexion's public `validator_map`.

Connexion's stock validators build a new `jsonschema` validator for every request (and deep-copy
every parameter's schema first), then walk the schema in Python. These subclasses decide validity
with a validator compiled once per schema by jsonschema-rs, and hand every invalid value back to
the stock code path, so a rejected request or response gets exactly the message and exception
Connexion would give (a valid one never depends on the fast path's messages).

Same verdicts as the stock validators: the schema keywords are JSON Schema Draft 4's (the dialect
Connexion applies to OpenAPI 3.0 schemas), and every `format` the schema names is checked by the
very checker Connexion uses (`jsonschema`'s Draft 4 `FORMAT_CHECKER`, which checks `date-time` but
not `uuid`: malformed ids are caught by `session_spec.rules.parse_session_id`), unknown
formats pass, as in Draft 4. Schemas that use what only Connexion's extended validators
understand (`nullable`, `x-nullable`, `readOnly`/`writeOnly`), or whose semantics could differ
between the two engines (`pattern`, `patternProperties`: ECMA 262 against Python regular
expressions; a remaining `$ref`), keep the stock validator.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator

# Keywords that only Connexion's extended Draft 4 validators understand, or that the two engines
# might read differently: a schema using any of them keeps the stock (slow, exact) validator.
STOCK_ONLY_KEYWORDS = frozenset({"nullable", "x-nullable", "readOnly", "writeOnly", "x-writeOnly", "pattern", "patternProperties", "$ref"})
_FORMAT_CHECKER = Draft4Validator.FORMAT_CHECKER

CompiledCheck = Callable[[Any], bool]


def _walk(node: Any, keys: set[str], formats: set[str]) -> None:
    if isinstance(node, dict):
        keys.update(key for key in node if isinstance(key, str))
        if isinstance(node.get("format"), str):
            formats.add(node["format"])
        for value in node.values():
            _walk(value, keys, formats)
    elif isinstance(node, list):
        for value in node:
            _walk(value, keys, formats)


def _format_check(name: str) -> Callable[[str], bool]:
    """Connexion's verdict on `format: name` (what `FormatChecker.conforms` answers, without its
    per-call lookups)."""
    if name not in _FORMAT_CHECKER.checkers:
        return lambda value: True
    check, raises = _FORMAT_CHECKER.checkers[name]

    def conforms(value: str) -> bool:
        try:
            return bool(check(value))
        except raises:
            return False

    return conforms


def compile_check(schema: dict[str, Any]) -> CompiledCheck | None:
    """A fast `is_valid` for `schema` with the stock validator's verdicts; None if it must stay stock.

    The OpenAPI `components` Connexion attaches to a schema (to resolve references) are not part
    of what is checked and are left out.
    """
    body = {key: value for key, value in schema.items() if key != "components"}
    keys: set[str] = set()
    formats: set[str] = set()
    _walk(body, keys, formats)
    if keys & STOCK_ONLY_KEYWORDS:
        return None
    validator = jsonschema_rs.Draft4Validator(
        body, validate_formats=True, formats={name: _format_check(name) for name in formats}
    )
    return validator.is_valid


class CompiledChecks:
    """Compiled checks by schema object: the spec's schema dicts live as long as the app."""

    def __init__(self) -> None:
        self._checks: dict[int, tuple[dict[str, Any], CompiledCheck | None]] = {}

    def get(self, schema: dict[str, Any]) -> CompiledCheck | None:
        entry = self._checks.get(id(schema))
        if entry is None or entry[0] is not schema:
            # The schema itself is kept in the entry, so its id cannot be reused by another object.
            entry = (schema, compile_check(schema))
            self._checks[id(schema)] = entry
        return entry[1]


_CHECKS = CompiledChecks()


class CompiledParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Connexion's parameter validator with each parameter's schema compiled once.

    When an operation has only path parameters (and validation is not strict), the path
    parameters are read with the operation's URI parser straight from the scope, as
    `ConnexionRequest.path_params` would, without building a request object.
    """

    def validate(self, scope: MutableMapping[str, Any]) -> None:
        if self.strict_validation or any(self.parameters.get(where) for where in ("query", "header", "cookie")):
            super().validate(scope)
            return
        path_params = self.uri_parser.resolve_path(scope.get("path_params", {}))
        for param in self.parameters.get("path", []):
            error = self.validate_parameter("path", path_params.get(param["name"].replace("-", "_")), param)
            if error:
                raise BadRequestProblem(detail=error)

    @staticmethod
    def validate_parameter(parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None) -> str | None:
        if value is not None and not (is_nullable(param) and is_null(value)):
            check = _CHECKS.get(param.get("schema", param))
            if check is not None and check(value):
                return None
        result: str | None = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        return result


class CompiledJSONRequestBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Connexion's JSON request body validator with the body schema compiled once."""

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is not None:
            check = _CHECKS.get(self._schema)
            if check is not None and check(body):
                return None
        result: dict[str, Any] | None = super()._validate(body)
        return result


class CompiledJSONResponseBodyValidator(JSONResponseBodyValidator):  # type: ignore[misc]
    """Connexion's JSON response body validator with each response schema compiled once."""

    def _validate(self, body: Any) -> None:
        check = _CHECKS.get(self._schema)
        if check is not None and check(body):
            return
        super()._validate(body)


def compiled_validator_map() -> dict[str, Any]:
    """A `validator_map` for `connexion.AsyncApp.add_api`: Connexion's own, JSON validators compiled."""
    body = MediaTypeDict(VALIDATOR_MAP["body"])
    response = MediaTypeDict(VALIDATOR_MAP["response"])
    body["*/*json"] = CompiledJSONRequestBodyValidator
    response["*/*json"] = CompiledJSONResponseBodyValidator
    return {"parameter": CompiledParameterValidator, "body": body, "response": response}


__all__ = [
    "CompiledJSONRequestBodyValidator",
    "CompiledJSONResponseBodyValidator",
    "CompiledParameterValidator",
    "compile_check",
    "compiled_validator_map",
]
