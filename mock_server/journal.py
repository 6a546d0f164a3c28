"""`RequestJournal` (the last N requests: method, path, status, time) and the middleware that fills it.

The middleware also writes one access-log line per request to the `session_mock.access` logger.
Requests under `not_journaled` (the mock passes the admin routes' `/__mock/`) are logged but not
journaled, so reading the journal does not change it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("session_mock.access")


@dataclass(frozen=True)
class JournalEntry:
    method: str
    path: str
    query: str
    status: int
    time: str
    durationMs: float
    notes: dict[str, Any] | None = None  # what the proxy found in this exchange (violations, requestIssues, upstreamError)


def _entry_json(entry: JournalEntry) -> dict[str, Any]:
    document = asdict(entry)
    notes = document.pop("notes")
    return {**document, **notes} if notes else document


Noted = tuple[str, str, str, int, float, float, dict[str, Any] | None]
"""A request as `RequestJournal.note` keeps it: method, path, query, status, received at, ms, notes."""


def _as_entry(item: JournalEntry | Noted) -> JournalEntry:
    if isinstance(item, JournalEntry):
        return item
    method, path, query, status, received_at, duration_ms, notes = item
    when = datetime.fromtimestamp(received_at, UTC).isoformat(timespec="milliseconds")
    return JournalEntry(method, path, query, status, when, duration_ms, notes)


def _printable(text: str) -> str:
    """`text` with control characters escaped (`\\x1b`, `\\n`): a request path must not forge log lines
    or send terminal escapes (paths arrive percent-decoded)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class RequestJournal:
    """A bounded, oldest-first record of the requests the mock received."""

    def __init__(self, limit: int = 500) -> None:
        self.limit = limit
        # JournalEntry objects, or the raw fields `note` keeps (turned into entries when read).
        self._entries: deque[JournalEntry | Noted] = deque(maxlen=limit)

    def record(self, entry: JournalEntry) -> None:
        self._entries.append(entry)

    def note(
        self, method: str, path: str, query: str, status: int, received_at: float, duration_ms: float, notes: dict[str, Any] | None = None
    ) -> None:
        """Record a request without building its entry: `received_at` (seconds since the epoch) is
        formatted only when the journal is read, so a request pays for one tuple."""
        self._entries.append((method, path, query, status, received_at, duration_ms, notes))

    def entries(self) -> list[dict[str, Any]]:
        return [_entry_json(_as_entry(entry)) for entry in self._entries]

    def clear(self) -> None:
        self._entries.clear()


class JournalMiddleware:
    """Outermost layer: notes each HTTP request's answer status in the journal and the access log."""

    def __init__(self, app: ASGIApp, journal: RequestJournal, notes_key: str | None = None, not_journaled: str | None = None) -> None:
        self.app = app
        self.journal = journal
        self.not_journaled = not_journaled
        self.notes_key = notes_key  # when set, inner layers may add notes to the entry via scope[notes_key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        received_at = time.time()
        status = 500
        path, query = scope["path"], scope.get("query_string", b"").decode("latin-1")
        notes: dict[str, Any] | None = None
        if self.notes_key is not None:
            notes = scope[self.notes_key] = {}

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if self.not_journaled is None or not path.startswith(self.not_journaled):
                self.journal.note(scope["method"], path, query, status, received_at, duration_ms, notes)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s%s %d %.1fms", scope["method"], _printable(path), f"?{_printable(query)}" if query else "", status, duration_ms,
                    extra={"method": scope["method"], "path": path, "query": query, "status": status, "duration_ms": duration_ms},
                )
