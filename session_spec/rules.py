"""The contract's per-request rules, each written once: the reference, the mock and the proxy import them.

- Ids (`parse_session_id`): a UUID in any spelling the contract accepts (canonical, uppercase,
  unhyphenated, braced, `urn:uuid:`); anything else is malformed (`MalformedId`, answered 422).
- Strict JSON and media types (`parse_json`, `is_json_media_type`): RFC 8259 JSON only (no `NaN`
  or `Infinity`, no number that overflows a double), nested at most `MAX_DEPTH` levels, sent as
  `application/json` or `application/<x>+json` in any letter case (FastAPI's rule).
- The 405 `Allow` rule (`allowed_methods`, `allow_header`, `allow_conforms`): a 405 names exactly
  the methods the path serves, and HEAD wherever GET is served (RFC 9110, 9.3.2 and 15.5.6).
- Path templates (`path_pattern`) and the lookup from method and path to the documented operation
  (`OperationTable`), so a layer can apply per-operation behaviour without Connexion's routing.

Nothing here knows a web framework: errors are plain `ValueError`s that each caller renders.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
"""The operation keys of an OpenAPI 3.0 path item (OpenAPI 3.0.3, "Path Item Object")."""

# --- ids ------------------------------------------------------------------------------------------

_UUID_SPELLING = re.compile(
    r"(?:urn:uuid:)?(\{)?([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})(?(1)\})",
    re.IGNORECASE,
)
MALFORMED_ID_PROBLEM: dict[str, Any] = {"loc": ["path", "session_id"], "msg": "Input should be a valid UUID", "type": "uuid_parsing"}
"""The 422 problem (FastAPI's list form) for a malformed id."""


class MalformedId(ValueError):
    """A path segment that is no UUID in any accepted spelling."""


def parse_session_id(raw: str) -> uuid.UUID:
    """The UUID `raw` names, in any accepted spelling; MalformedId for anything else."""
    match = _UUID_SPELLING.fullmatch(raw)
    if match is None:
        raise MalformedId(raw)
    return uuid.UUID(match.group(2))


# --- strict JSON and media types ------------------------------------------------------------------

MAX_DEPTH = 200
"""How deep a request body may nest objects and arrays (the body itself is level 1)."""


class JsonBodyError(ValueError):
    """A body that is not strict JSON within the limits; `malformed` when it is not JSON at all."""

    def __init__(self, msg: str, type_: str = "json_invalid", *, malformed: bool = False) -> None:
        super().__init__(msg)
        self.msg = msg
        self.type = type_
        self.malformed = malformed

    @property
    def problem(self) -> dict[str, Any]:
        """The 422 problem (FastAPI's list form) for this body."""
        return {"loc": ["body"], "msg": self.msg, "type": self.type}


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or `application/<x>+json`, in any letter case, with any parameters."""
    media_type = content_type.partition(";")[0].strip().lower()
    main, _, sub = media_type.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _refuse_constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not a JSON number (RFC 8259)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonBodyError(f"Number {text[:40]} is too large for a double")
    return value


def nesting_depth(value: Any) -> int:
    """How many levels of objects and arrays `value` nests (a scalar is 0), computed without recursion."""
    depth = 0
    level: list[Any] = [value]
    while level:
        containers = [item for item in level if isinstance(item, (dict, list))]
        if not containers:
            break
        depth += 1
        level = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)]
    return depth


def parse_json(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `body` (UTF-8, -16 or -32, as `json.loads` detects); JsonBodyError otherwise.

    Cheap for ordinary bodies: the depth is measured only when the body holds more opening
    brackets than the limit allows.
    """
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JsonBodyError:
        raise
    except RecursionError:
        raise JsonBodyError(f"JSON nested deeper than {max_depth} levels", "json_too_deep") from None
    except json.JSONDecodeError as exc:
        raise JsonBodyError(f"Invalid JSON: {exc}", malformed=True) from None
    except UnicodeDecodeError:
        raise JsonBodyError("Body is not UTF-8 encoded JSON", malformed=True) from None
    except ValueError as exc:  # e.g. an integer past the 4300-digit conversion limit
        raise JsonBodyError(f"Unacceptable JSON number: {str(exc)[:80]}") from None
    if body.count(b"[") + body.count(b"{") > max_depth and nesting_depth(value) > max_depth:
        raise JsonBodyError(f"JSON nested deeper than {max_depth} levels", "json_too_deep")
    return value


# --- the 405 Allow rule ---------------------------------------------------------------------------


def allowed_methods(served: Iterable[str]) -> list[str]:
    """What a 405's `Allow` names for a path serving `served`: those methods, and HEAD wherever GET is served."""
    methods = {method.upper() for method in served}
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def allow_header(served: Iterable[str]) -> str:
    """The `Allow` header value for a path serving `served` (e.g. `GET, HEAD, POST`)."""
    return ", ".join(allowed_methods(served))


def allow_conforms(allow: str, documented: Iterable[str]) -> bool:
    """Whether a 405's `Allow` value names the documented methods: all of them, HEAD at most beside
    GET (RFC 9110, 9.3.2), OPTIONS at most besides, and nothing else."""
    documented_set = {method.upper() for method in documented}
    sent = {part.strip().upper() for part in allow.split(",") if part.strip()}
    return documented_set <= sent - {"OPTIONS"} <= set(allowed_methods(documented_set))


# --- path templates and operations ----------------------------------------------------------------


def path_pattern(template: str) -> re.Pattern[str]:
    """A regular expression for the concrete paths of a path template: each `{name}` is one segment."""
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)))


@dataclass(frozen=True)
class PathRoute:
    """One documented path: its template, the pattern of its concrete paths, and METHOD -> operationId."""

    template: str
    pattern: re.Pattern[str]
    operation_ids: dict[str, str]

    @property
    def methods(self) -> list[str]:
        """The documented methods, sorted (upper case)."""
        return sorted(self.operation_ids)


class OperationTable:
    """The spec's paths in document order, looked up by a concrete request path (first full match wins)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.routes = [
            PathRoute(
                template,
                path_pattern(template),
                {
                    method.upper(): str(operation.get("operationId", f"{method} {template}"))
                    for method, operation in item.items()
                    if method in HTTP_METHODS and isinstance(operation, dict)
                },
            )
            for template, item in spec.get("paths", {}).items()
        ]

    def route(self, path: str) -> PathRoute | None:
        """The documented path `path` is a concrete instance of, or None."""
        return next((route for route in self.routes if route.pattern.fullmatch(path)), None)

    def methods(self, path: str) -> list[str] | None:
        """The methods the spec documents for `path` (sorted), or None for an undocumented path."""
        route = self.route(path)
        return None if route is None else route.methods

    def operation_id(self, method: str, path: str) -> str | None:
        """The operationId documented for `method` on `path`, or None."""
        route = self.route(path)
        return None if route is None else route.operation_ids.get(method.upper())
