"""Operations that take no request body ignore whatever body a request carries, as FastAPI does.

Connexion parses a form body on every request (to hand uploaded files to handlers), so a request
with `Content-Type: multipart/form-data` and no boundary made every body-less operation answer an
undocumented 400 (found by the status-coverage test). Dropping the content type of such requests,
after routing and validation, lets the handler answer as it would without a body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from session_spec import operations

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def bodyless_operation_ids(spec: dict[str, Any]) -> frozenset[str]:
    """The operationIds of the spec's operations that declare no requestBody."""
    return frozenset(operation.operation_id for operation in operations(spec) if operation.request_body is None)


class IgnoreBodyOfBodylessOperations:
    """Connexion middleware (placed after routing): hides the content type of requests to body-less operations."""

    def __init__(self, app: ASGIApp, operation_ids: frozenset[str]) -> None:
        self.app = app
        self.operation_ids = operation_ids

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if (
            scope["type"] == "http"
            and routing.get("operation_id") in self.operation_ids
            and any(name == b"content-type" for name, _ in scope["headers"])
        ):
            scope = dict(scope)
            scope["headers"] = [(name, value) for name, value in scope["headers"] if name != b"content-type"]
        await self.app(scope, receive, send)
