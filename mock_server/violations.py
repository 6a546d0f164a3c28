"""`ViolationLog` (what the proxy found, counted by kind) and `GET /__mock/violations`, which serves it.

Summary shape:
`{"exchanges": int, "exchangesWithViolations": int, "violations": int,
  "byKind": {kind: {"count": int, "example": {"method", "path", "status", "message"}}},
  "requestIssues": {kind: {"count": int, "example": {...}}}}`
where `example` is the first exchange that showed that kind. `POST /__mock/reset` also empties it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.exchange_check import Finding
from session_spec.rules import allow_header

VIOLATIONS_PATH = "/__mock/violations"
RESET_PATH = "/__mock/reset"
SEED_PATH = "/__mock/sessions"


class ViolationLog:
    """Totals over every proxied exchange since start (or the last reset); not bounded like the journal."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.exchanges = 0
        self.exchanges_with_violations = 0
        self.by_kind: dict[str, dict[str, Any]] = {}
        self.request_issues: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _count(table: dict[str, dict[str, Any]], findings: list[Finding], method: str, path: str, status: int) -> None:
        for finding in findings:
            entry = table.setdefault(
                finding.kind, {"count": 0, "example": {"method": method, "path": path, "status": status, "message": finding.message}}
            )
            entry["count"] += 1

    def record(self, method: str, path: str, status: int, violations: list[Finding], request_issues: list[Finding]) -> None:
        self.exchanges += 1
        self.exchanges_with_violations += bool(violations)
        self._count(self.by_kind, violations, method, path, status)
        self._count(self.request_issues, request_issues, method, path, status)

    def summary(self) -> dict[str, Any]:
        return {
            "exchanges": self.exchanges,
            "exchangesWithViolations": self.exchanges_with_violations,
            "violations": sum(entry["count"] for entry in self.by_kind.values()),
            "byKind": self.by_kind,
            "requestIssues": self.request_issues,
        }


class ViolationRoutes:
    """The proxy's admin routes: serves `GET /__mock/violations`, clears the log on `POST /__mock/reset`
    (then passes it on), and refuses `POST /__mock/sessions` (409: the mock's own store is not used)."""

    def __init__(self, app: ASGIApp, log: ViolationLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == VIOLATIONS_PATH:
            if scope["method"] in ("GET", "HEAD"):
                response = JSONResponse(self.log.summary())
            else:
                allowed = allow_header(["GET"])  # it serves HEAD too
                response = JSONResponse(
                    {"detail": f"Method {scope['method']} not allowed; this path accepts {allowed}"}, 405, {"Allow": allowed}
                )
            await response(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == SEED_PATH and scope["method"] == "POST":
            detail = "With --proxy the sessions live in the proxied deployment: create them there"
            await JSONResponse({"detail": detail}, 409)(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == RESET_PATH and scope["method"] == "POST":
            self.log.clear()
        await self.app(scope, receive, send)
