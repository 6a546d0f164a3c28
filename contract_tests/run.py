"""The state of one conformance run: its options, its target, its client, its per-property results."""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from contract_tests.client import ContractClient
from contract_tests.expect import ContractViolation
from contract_tests.redaction import Redactor
from contract_tests.report import FAIL, KNOWN, NOT_CHECKED, PASS, PropertyResult, RunResults

HARD_STOP_GRACE = 10.0  # seconds after --time-budget at which a still-running check is interrupted
CANARY_COUNT = 3


class TargetUnreachable(Exception):
    """The target did not answer at all (connection refused, DNS, TLS, timeout)."""


@dataclass
class ContractOptions:
    """What the user asked for (`--base-url`, `--header`, ...)."""

    base_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    known_deviations: dict[str, str] = field(default_factory=dict)
    max_examples: int = 25
    seed: int | None = None
    persistence_window: float = 5.0
    volume: int = 2000
    concurrency: int = 24
    max_rps: float = 0.0
    time_budget: float = 0.0
    junit_xml: str | None = None
    report_md: str | None = None


def probe(base_url: str, headers: dict[str, str], timeout: float = 5.0) -> None:
    """Raise TargetUnreachable unless something answers HTTP at `base_url`."""
    try:
        httpx.get(base_url.rstrip("/") + "/health", headers=headers, timeout=timeout)
    except httpx.TransportError as exc:
        reason = type(exc).__name__
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise TargetUnreachable(f"target unreachable: {base_url} ({reason}{': ' + detail if detail else ''})") from None
    except httpx.InvalidURL as exc:
        raise TargetUnreachable(f"invalid --base-url {base_url!r}: {exc}") from None


def violation_text(excinfo: pytest.ExceptionInfo[BaseException] | None, client: ContractClient | None) -> tuple[str, str]:
    """(explanation, curl reproduction) for a failed check."""
    if excinfo is None:
        return "failed", ""
    exc = excinfo.value
    response = exc.response if isinstance(exc, ContractViolation) else None
    if isinstance(exc, ContractViolation):
        explanation = exc.explanation
    else:
        text = str(exc).strip() or type(exc).__name__
        lines = [line for line in text.splitlines() if line.strip()]
        explanation = f"{type(exc).__name__}: " + " / ".join(lines[:6])[:800]
    if isinstance(exc, ContractViolation) and exc.reproduction:
        return explanation, exc.reproduction
    if response is None and client is not None:
        response = client.last_response
    reproduction = client.curl(response.request) if (client is not None and response is not None) else ""
    return explanation, reproduction


class ContractRun:
    """One run: lazily started on first use, finished (cleanup, reports) exactly once."""

    def __init__(self, options: ContractOptions) -> None:
        self.options = options
        self.redact = Redactor(options.headers.values())
        self.started = time.monotonic()
        self.client: ContractClient | None = None
        self.server: Any = None
        self.base_url: str = options.base_url or "(reference implementation on loopback)"
        self.canaries: dict[str, dict[str, Any]] = {}
        self.canaries_made_at = 0.0
        self.collected: dict[str, int] = {}
        self.results: dict[str, PropertyResult] = {}
        self.progress: Callable[[str], None] | None = None
        self.stopped = ""
        self.final: RunResults | None = None
        self._timer: threading.Timer | None = None
        self._requests_before = 0
        self._previous_sigterm: Any = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> ContractClient:
        """Serve the reference if no target was given, check the target answers, make canaries."""
        if self.client is not None:
            return self.client
        if self.options.base_url is None:
            from reference_impl import create_app
            from reference_impl.serving import LiveServer

            app = create_app()
            self.server = LiveServer(app).start()
            self.server.app = app
            self.base_url = self.server.base_url
        else:
            self.base_url = self.options.base_url.rstrip("/")
        probe(self.base_url, self.options.headers)
        self.client = ContractClient(
            self.base_url, self.options.headers, max_rps=self.options.max_rps,
            burst=self.options.concurrency, redactor=self.redact
        )
        self._install_stops()
        self._make_canaries()
        return self.client

    def _install_stops(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
        if self.options.time_budget > 0:
            remaining = self.options.time_budget - self.elapsed() + HARD_STOP_GRACE
            self._timer = threading.Timer(max(remaining, 0.1), self._hard_stop)
            self._timer.daemon = True
            self._timer.start()

    def _hard_stop(self) -> None:
        self.stopped = f"time budget of {self.options.time_budget:g} s exceeded; interrupted"
        _thread.interrupt_main()

    def _make_canaries(self) -> None:
        """Sessions made at the start and only read again at the very end."""
        assert self.client is not None
        for index in range(CANARY_COUNT):
            created = self.client.create()
            try:
                sid = created.json()["sessionId"]
            except (ValueError, KeyError, TypeError):
                continue
            self.client.patch(sid, {"canary": index, "nested": {"kept": [index, "x"]}})
            snapshot = self.client.get(sid)
            if snapshot.status_code == 200:
                self.canaries[sid] = snapshot.json()
        self.canaries_made_at = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def over_budget(self) -> bool:
        return self.options.time_budget > 0 and self.elapsed() >= self.options.time_budget

    def remaining_budget(self) -> float:
        if self.options.time_budget <= 0:
            return float("inf")
        return max(self.options.time_budget - self.elapsed(), 0.0)

    def finish(self) -> RunResults:
        """Delete every session the run created, stop the reference, compute the results. Idempotent."""
        if self.final is not None:
            return self.final
        if self._timer is not None:
            self._timer.cancel()
        created, left = 0, []
        if self.client is not None:
            previous = _ignore_sigint()
            try:
                created = self.client.created_count()
                _, left = self.client.cleanup()
            finally:
                _restore_sigint(previous)
                self.client.close()
        if self.server is not None:
            self.server.stop()
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        for pid, result in self.results.items():
            if pid in self.options.known_deviations and result.status == PASS:
                result.trim = True
        self.final = RunResults(
            target=self.base_url,
            properties=self.results,
            requests=self.client.request_count if self.client else 0,
            writes_checked=self.client.writes.checked if self.client else 0,
            writes_missed=len(self.client.writes.misses) if self.client else 0,
            sessions_created=created,
            sessions_left=left,
            elapsed=self.elapsed(),
            stopped=self.stopped,
        )
        return self.final

    # --- results -------------------------------------------------------------------------------

    def collect(self, property_ids: list[str]) -> None:
        for pid in property_ids:
            self.collected[pid] = self.collected.get(pid, 0) + 1
            self.results.setdefault(pid, PropertyResult(pid))

    def record(self, pid: str, call: pytest.CallInfo[Any], report: pytest.TestReport) -> None:
        """Fold one test phase's report into its property; known deviations become xfail."""
        result = self.results.setdefault(pid, PropertyResult(pid))
        result.duration += report.duration
        if self.client is not None:
            result.requests += self.client.request_count - self._requests_before
            self._requests_before = self.client.request_count
        if report.failed:
            explanation, reproduction = violation_text(call.excinfo, self.client)
            if result.status not in (FAIL, KNOWN):
                result.explanation = self.redact(explanation)
                result.reproduction = self.redact(reproduction)
            reason = self.options.known_deviations.get(pid)
            if reason is not None:
                result.status = KNOWN
                result.known_reason = reason
                report.outcome = "skipped"
                report.wasxfail = f"known deviation: {reason}"
            else:
                result.status = FAIL
        elif report.skipped and not hasattr(report, "wasxfail"):
            if result.status == NOT_CHECKED:
                longrepr = report.longrepr
                result.skip_reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")
        elif report.passed and report.when == "call" and result.status == NOT_CHECKED:
            result.status = PASS
            result.skip_reason = ""
        if report.when == "teardown" and self.progress is not None:
            self._report_progress(pid)

    def _report_progress(self, pid: str) -> None:
        remaining = self.collected.get(pid, 1) - 1
        self.collected[pid] = remaining
        if remaining > 0 or self.progress is None:
            return
        done = sum(1 for n in self.collected.values() if n <= 0)
        result = self.results[pid]
        label = {PASS: "pass", FAIL: "FAIL", KNOWN: "known", NOT_CHECKED: "not checked"}[result.status]
        self.progress(f"[{done:2d}/{len(self.collected)}] {label:11s} {pid}  ({result.duration:.1f} s, {result.requests} requests)")


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt("SIGTERM")


def _ignore_sigint() -> Any:
    """Let cleanup finish: a second Ctrl-C or SIGTERM while deleting sessions is ignored."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _restore_sigint(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
