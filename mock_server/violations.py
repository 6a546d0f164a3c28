"""`ViolationLog`: what the proxy found, counted by kind (served at `GET /__mock/violations` by mock_server.admin).

Summary shape:
`{"exchanges": int, "exchangesWithViolations": int, "violations": int,
  "byKind": {kind: {"count": int, "example": {"method", "path", "status", "message"}}},
  "requestIssues": {kind: {"count": int, "example": {...}}}}`
where `example` is the first exchange that showed that kind. `POST /__mock/reset` also empties it.
"""

from __future__ import annotations

from typing import Any

from session_spec.exchanges import Finding


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
