"""Request bodies read as production's framework (FastAPI) reads them, and strict JSON only.

Rules, for every operation whose spec declares an `application/json` request body:

- The media type is compared case-insensitively and may be any JSON type, `application/json` or
  `application/<anything>+json` (FastAPI's rule); parameters such as `charset` are ignored, since
  JSON text is UTF-8 (RFC 8259 section 8.1). Such a body is handed on as `application/json`.
- A body sent without `Content-Type` answers 422 in FastAPI's list form, as FastAPI does with its
  default strict content-type check; another media type is left to Connexion (422 as well).
- Only strict JSON (RFC 8259) is accepted: `NaN`, `Infinity`, `-Infinity`, numbers that overflow a
  double (`1e400`) and integers longer than Python's 4300-digit conversion limit answer 422, so
  nothing non-standard is ever stored or served.
- A body may nest objects and arrays at most `MAX_DEPTH` levels deep (the body itself is level 1).
  Deeper bodies answer 422: every later step (validation, the store, the response encoder) then
  stays far from Python's recursion limit.

Errors are raised as `RequestValidationError` and rendered by `reference_impl.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from reference_impl.errors import RequestValidationError
from session_spec import HTTP_METHODS

MAX_DEPTH = 200
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class JsonBodyError(RequestValidationError):
    """A body that is not strict JSON within the limits; `malformed` when it is not JSON at all."""

    def __init__(self, msg: str, type_: str = "json_invalid", *, malformed: bool = False) -> None:
        super().__init__([{"loc": ["body"], "msg": msg, "type": type_}])
        self.msg = msg
        self.malformed = malformed


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


def json_body_operation_ids(spec: dict[str, Any]) -> frozenset[str]:
    """The operationIds whose request body is declared as `application/json`."""
    return frozenset(
        operation["operationId"]
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS and "application/json" in operation.get("requestBody", {}).get("content", {})
    )


class StrictJsonBody:
    """Connexion middleware (after routing, before validation) applying the rules above.

    A body it accepts is handed on as `application/json` UTF-8 bytes, with `Content-Length` set.
    Requests to other operations pass through untouched.
    """

    def __init__(self, app: ASGIApp, operation_ids: frozenset[str]) -> None:
        self.app = app
        self.operation_ids = operation_ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if scope["type"] != "http" or routing.get("operation_id") not in self.operation_ids:
            await self.app(scope, receive, send)
            return
        content_type = next((value for name, value in scope["headers"] if name == b"content-type"), None)
        if content_type is not None and not is_json_media_type(content_type.decode("latin-1")):
            await self.app(scope, receive, send)  # Connexion answers 422 for another media type
            return
        body = await _read_body(receive)
        if body and content_type is None:
            raise RequestValidationError([{
                "loc": ["body"],
                "msg": "Send the body with Content-Type: application/json",
                "type": "model_attributes_type",
            }])
        if body:
            document = parse_json(body)
            if not _is_plain_utf8(body):  # UTF-16/32 or a byte-order mark: hand on plain (ASCII) JSON
                body = json.dumps(document).encode()
        replaced = (b"content-type", b"content-length", b"transfer-encoding")
        headers = [(name, value) for name, value in scope["headers"] if name not in replaced]
        if body:
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(body)).encode()))
        scope = dict(scope)
        scope["headers"] = headers
        await self.app(scope, replay_body(body, receive), send)


def _is_plain_utf8(body: bytes) -> bool:
    if body.startswith(b"\xef\xbb\xbf"):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more_body = message.get("more_body", False)
    return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app `body` (already read) as one message, then defers to `receive`."""
    sent = False

    async def replaying_receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying_receive
