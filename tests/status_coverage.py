"""Which (operationId, status) pairs a served app answered: an ASGI recorder and the spec's documented pairs."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from session_spec import operations, path_pattern

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Pair = tuple[str, str]


class OperationMatcher:
    """Maps a request's method and path to the spec's operationId (None: the spec has no such operation)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._routes = [
            (op.method.upper(), path_pattern(op.path), op.operation_id)
            for op in operations(spec)
        ]

    def __call__(self, method: str, path: str) -> str | None:
        for route_method, pattern, operation_id in self._routes:
            if route_method == method and pattern.fullmatch(path):
                return operation_id
        return None


def documented_pairs(spec: dict[str, Any]) -> set[Pair]:
    """Every (operationId, status) the spec documents."""
    return {(op.operation_id, response.status) for op in operations(spec) for response in op.responses}


class StatusRecorder:
    """Records the status of every response an app wrapped by `wrap` sends for a documented operation.

    Requests the spec has no operation for (unknown paths, undocumented methods, trailing
    slashes) are not recorded: no operation could document their status.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.documented = documented_pairs(spec)
        self._match = OperationMatcher(spec)
        self._seen: set[Pair] = set()
        self._lock = threading.Lock()

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """`app` with its responses recorded; everything else passes through unchanged."""

        async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
            operation_id = self._match(scope["method"], scope["path"]) if scope["type"] == "http" else None
            if operation_id is None:
                await app(scope, receive, send)
                return

            async def send_and_record(message: Message) -> None:
                if message["type"] == "http.response.start":
                    self.record(operation_id, message["status"])
                await send(message)

            await app(scope, receive, send_and_record)

        return recorded

    def record(self, operation_id: str, status: int) -> None:
        with self._lock:
            self._seen.add((operation_id, str(status)))

    @property
    def seen(self) -> set[Pair]:
        with self._lock:
            return set(self._seen)

    def undocumented(self) -> set[Pair]:
        """Pairs the app served that the spec does not document."""
        return self.seen - self.documented

    def unproduced(self) -> set[Pair]:
        """Pairs the spec documents that the app has not served (yet)."""
        return self.documented - self.seen
