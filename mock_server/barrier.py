"""`ResetBarrier` and its layer: `POST /__mock/reset` as a barrier between e2e tests.

The layer notes every request in flight (the admin routes aside). A reset then
1. holds new requests until it is done (they wait, then run against the reset state),
2. waits up to `grace_s` (5 s) for the requests that started before it,
3. cancels those still running: each answers 503 with `Retry-After`, as at shutdown,
4. runs its clearing only once every one of them has ended,
so nothing that started before a reset lands in the store or the journal after it. All of this
within the request's namespace (mock_server.namespaces): a reset never touches other workers' requests.

Cancelling is `Task.cancel()` on the request's own task (uvicorn runs each request in one); the
layer turns that cancellation back into an answer (`Task.uncancel()`), and lets any other
cancellation (shutdown) through untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import namespaces
from reference_impl.errors import error_response

T = TypeVar("T")
GRACE_S = 5.0
RETRY_AFTER_SECONDS = 1
IN_FLIGHT = "session_mock.in_flight"
"""Scope key of the request's `InFlight` note (inner layers read `cancelled` from it)."""
CANCELLED_BY_RESET = "Cancelled by POST /__mock/reset: the request was still running after the reset's 5 s grace"


@dataclass(eq=False)
class InFlight:
    """One request in flight: its task, and why the barrier cancelled it (None: not cancelled)."""

    task: asyncio.Task[Any] | None
    namespace: str = ""
    cancelled: str | None = None
    started_answer: bool = False
    done: asyncio.Event | None = None  # made only when a reset waits for this request


@dataclass
class ResetOutcome:
    """What a reset waited for and cancelled, and what its clearing returned."""

    waited_for: int
    cancelled: int
    cleared: Any


class ResetBarrier:
    """The requests in flight, and the gate a reset closes while it runs (see the module docstring)."""

    def __init__(self, grace_s: float = GRACE_S) -> None:
        self.grace_s = grace_s
        self.in_flight: set[InFlight] = set()
        self._open: dict[str, asyncio.Event] = {}  # by namespace: the resets running
        self._locks: dict[str, asyncio.Lock] = {}

    async def enter(self) -> InFlight:
        namespace = namespaces.current.get()
        while (opened := self._open.get(namespace)) is not None:  # a reset of this namespace is running
            await opened.wait()
        note = InFlight(asyncio.current_task(), namespace)
        self.in_flight.add(note)
        return note

    def leave(self, note: InFlight) -> None:
        self.in_flight.discard(note)
        if note.done is not None:
            note.done.set()

    async def reset(self, clear: Callable[[], Awaitable[T]]) -> ResetOutcome:
        """Wait for (then cancel) the requests in flight, run `clear`, and let held requests go on."""
        namespace = namespaces.current.get()
        lock = self._locks.setdefault(namespace, asyncio.Lock())
        async with lock:  # two resets at once run one after the other
            self._open[namespace] = asyncio.Event()
            try:
                before = [note for note in self.in_flight if note.namespace == namespace]
                for note in before:
                    note.done = asyncio.Event()
                pending = {asyncio.ensure_future(note.done.wait()) for note in before if note.done is not None}
                cancelled = 0
                if pending:
                    _, pending = await asyncio.wait(pending, timeout=self.grace_s)
                    for note in before:
                        if note.task is not None and note.done is not None and not note.done.is_set():
                            note.cancelled = CANCELLED_BY_RESET
                            note.task.cancel()
                            cancelled += 1
                    if pending:
                        await asyncio.wait(pending)
                return ResetOutcome(len(before), cancelled, await clear())
            finally:
                self._open.pop(namespace).set()


class ResetBarrierMiddleware:
    """Notes each request in flight for `barrier`; a request the barrier cancels answers 503 (JSON)."""

    def __init__(self, app: ASGIApp, barrier: ResetBarrier, exempt: str) -> None:
        self.app = app
        self.barrier = barrier
        self.exempt = exempt  # the admin routes' prefix: a reset must not wait for itself

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        note = await self.barrier.enter()
        scope[IN_FLIGHT] = note

        async def send_noting_start(message: Message) -> None:
            if message["type"] == "http.response.start":
                note.started_answer = True
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except asyncio.CancelledError:
            if note.cancelled is None or note.task is None:
                raise  # not ours (the server is shutting down)
            note.task.uncancel()
            if not note.started_answer:
                await error_response(503, note.cancelled, {"Retry-After": str(RETRY_AFTER_SECONDS)})(scope, receive, send)
        finally:
            self.barrier.leave(note)
