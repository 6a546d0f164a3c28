"""State per e2e worker: a namespace chosen per request gives each its own sessions, journal and reset.

The namespace comes from the `X-Mock-Namespace` header (a test runner adds it per browser context,
e.g. Playwright's `extraHTTPHeaders`), else from the `session_mock_ns` cookie (set by
`POST /__mock/namespace?name=NAME`, for apps that already send credentials). Without either, the
request is in the default namespace: the mock behaves as it always did.

`NamespaceMiddleware` puts the request's namespace in a context variable; `NamespacedStore` and
`NamespacedJournal` answer for the namespace of the request they serve; the reset barrier
(mock_server.barrier) waits only for the requests of the resetting namespace. A namespace starts
from the `--seed` fixtures when first used. With `--state-file` each namespace is a table of the
one file (mock_server.sqlite_store), so the file keeps every namespace. Proxy mode has none.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from http.cookies import SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.journal import RequestJournal
from mock_server.seed import load_seed
from reference_impl.errors import error_response
from reference_impl.store import SessionRecord, SessionStore

DEFAULT = ""
HEADER = b"x-mock-namespace"
COOKIE = "session_mock_ns"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NAME_RULE = "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
current: ContextVar[str] = ContextVar("session_mock_namespace", default=DEFAULT)


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"Namespace {name!r} is not a namespace name: {NAME_RULE}")
    return name


def _namespace(scope: Scope) -> str:
    cookie_header = None
    for name, value in scope["headers"]:
        if name == HEADER:
            return str(value.decode("latin-1")).strip()
        if name == b"cookie":
            cookie_header = value.decode("latin-1")
    if cookie_header and COOKIE in cookie_header:
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(cookie_header)
        except Exception:  # a malformed Cookie header names no namespace
            return DEFAULT
        if COOKIE in cookies:
            return str(cookies[COOKIE].value)
    return DEFAULT


class NamespaceMiddleware:
    """Sets the request's namespace (module docstring); a malformed name answers 400 JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = _namespace(scope)
        if name and not NAME.fullmatch(name):
            await error_response(400, f"Namespace {name!r} (X-Mock-Namespace or the {COOKIE} cookie) is not a namespace name: {NAME_RULE}")(
                scope, receive, send
            )
            return
        token = current.set(name)
        try:
            await self.app(scope, receive, send)
        finally:
            current.reset(token)


class NamespacedStore(SessionStore):
    """The store of the current request's namespace: `default` for the default one, else one made
    by `make` and loaded with `fixtures` when the namespace is first used."""

    def __init__(self, default: SessionStore, make: Callable[[str], SessionStore], fixtures: list[SessionRecord]) -> None:
        self.default = default
        self.make = make
        self.fixtures = fixtures
        self.others: dict[str, SessionStore] = {}

    async def store(self) -> SessionStore:
        name = current.get()
        if name == DEFAULT:
            return self.default
        store = self.others.get(name)
        if store is None:
            store = self.others[name] = self.make(name)
            await load_seed(store, self.fixtures)
        return store

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        return await (await self.store()).create(session_id)

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        return await (await self.store()).get(session_id)

    async def exists(self, session_id: uuid.UUID) -> bool:
        return await (await self.store()).exists(session_id)

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        return await (await self.store()).update(session_id, data)

    async def delete(self, session_id: uuid.UUID) -> bool:
        return await (await self.store()).delete(session_id)

    async def put(self, record: SessionRecord) -> None:
        await (await self.store()).put(record)

    async def put_many(self, records: list[SessionRecord]) -> None:
        await load_seed(await self.store(), records)

    async def clear(self) -> None:
        await (await self.store()).clear()

    async def count(self) -> int:
        return await (await self.store()).count()

    async def records(self) -> list[SessionRecord]:
        return await (await self.store()).records()

    async def close(self) -> None:
        for store in [self.default, *self.others.values()]:
            await store.close()


class NamespacedJournal(RequestJournal):
    """A request journal per namespace (each of `limit` entries); this one is the default namespace's."""

    def __init__(self, limit: int = 500) -> None:
        super().__init__(limit)
        self.others: dict[str, RequestJournal] = {}

    def _journal(self) -> RequestJournal | None:
        name = current.get()
        if name == DEFAULT:
            return None
        journal = self.others.get(name)
        if journal is None:
            journal = self.others[name] = RequestJournal(self.limit)
        return journal

    def note(
        self, method: str, path: str, query: str, status: int, received_at: float, duration_ms: float, notes: dict[str, Any] | None = None
    ) -> None:
        journal = self._journal()
        if journal is None:
            super().note(method, path, query, status, received_at, duration_ms, notes)
        else:
            journal.note(method, path, query, status, received_at, duration_ms, notes)

    def entries(self) -> list[dict[str, Any]]:
        journal = self._journal()
        return super().entries() if journal is None else journal.entries()

    def clear(self) -> None:
        journal = self._journal()
        if journal is None:
            super().clear()
        else:
            journal.clear()
