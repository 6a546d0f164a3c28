"""Request bodies read as production's framework (FastAPI) reads them, and strict JSON only.

Rules, for every operation whose spec declares an `application/json` request body:

- The media type is compared case-insensitively and may be any JSON type, `application/json` or
  `application/<anything>+json` (FastAPI's rule); parameters such as `charset` are ignored, since
  JSON text is UTF-8 (RFC 8259 section 8.1). Such a body is handed on as `application/json`.
- A body sent without `Content-Type` answers 422 in FastAPI's list form, as FastAPI does with its
  default strict content-type check; another media type is left to Connexion (422 as well).
- Only strict JSON (RFC 8259, read by `session_spec.rules.parse_json`) is accepted: `NaN`, `Infinity`, `-Infinity`, numbers that overflow a
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

from reference_impl.asgi_body import read_body, replay_body
from reference_impl.errors import RequestValidationError
from session_spec import HTTP_METHODS
from session_spec.rules import JsonBodyError, is_json_media_type, parse_json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
        body = await read_body(receive)
        if body and content_type is None:
            raise RequestValidationError([{
                "loc": ["body"],
                "msg": "Send the body with Content-Type: application/json",
                "type": "model_attributes_type",
            }])
        if body:
            try:
                document = parse_json(body)
            except JsonBodyError as exc:
                raise RequestValidationError([exc.problem]) from None
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
