"""The state of one conformance run: its options, its target, its client, its per-property results."""

from __future__ import annotations

import _thread
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from contract_tests.client import SHARED, ContractClient, Hygiene, current_property
from contract_tests.expect import ContractViolation
from contract_tests.printable import printable
from contract_tests.redaction import Redactor
from contract_tests.report import (
    FAIL,
    KNOWN,
    NOT_CHECKED,
    PASS,
    PropertyResult,
    RunResults,
)
from contract_tests.runner import ConcurrentChecks

HARD_STOP_GRACE = 10.0  # seconds after --time-budget at which a still-running check is interrupted
CANARY_COUNT = 3
CANARY_PROPERTIES = ("persistence.until-delete",)  # the properties that need canaries made at the start


_ACTIVE: list[ContractOptions] = []  # the options of the run in this process (set by the plugin)


def activate(options: ContractOptions) -> None:
    """Make `options` the ones modules read at import time (before pytest builds their tests)."""
    _ACTIVE[:] = [options]


def active_options() -> ContractOptions | None:
    """The options of the run being collected in this process, or None outside a run."""
    return _ACTIVE[0] if _ACTIVE else None


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
    race_rounds: int = 10
    request_timeout: float = 15.0
    request_log: str | None = None


_PROBED: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}


def probe(base_url: str, headers: dict[str, str], timeout: float = 5.0) -> str:
    """Raise TargetUnreachable unless something answers HTTP at `base_url`; a one-line hint (or "")
    when `base_url` looks like the API's path rather than the service root. Asks the target once per
    process (the CLI probes before pytest starts, the run again when it begins)."""
    key = (base_url, tuple(sorted(headers.items())))
    if key not in _PROBED:
        _PROBED[key] = _probe(base_url, headers, timeout)
    return _PROBED[key]


def _probe(base_url: str, headers: dict[str, str], timeout: float) -> str:
    root = base_url.rstrip("/")
    try:
        health = httpx.get(root + "/health", headers=headers, timeout=timeout)
        if root.endswith("/api/v1"):
            return (f"hint: --base-url ends in /api/v1, but the suite adds /api/v1 itself; "
                    f"try --base-url {root.removesuffix('/api/v1') or '/'}")
        if health.status_code == 404:
            probe_id = "00000000-0000-4000-8000-000000000000"
            api = httpx.get(f"{root}/api/v1/session/{probe_id}", headers=headers, timeout=timeout)
            named = api.status_code == 404 and probe_id in api.text
            if not named and api.status_code in (404, 405):
                return ("hint: --base-url answers 404 on /health and on /api/v1/session/{id}; "
                        "is it the service root (without /api/v1, with any gateway prefix)?")
    except httpx.TransportError as exc:
        reason = type(exc).__name__
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise TargetUnreachable(f"target unreachable: {base_url} ({reason}{': ' + detail if detail else ''})") from None
    except httpx.InvalidURL as exc:
        raise TargetUnreachable(f"invalid --base-url {base_url!r}: {exc}") from None
    return ""


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
    carried = getattr(exc, "contract_reproduction", "")
    if carried and response is None:
        return explanation, carried
    if response is None and client is not None:
        response = client.last_response
    reproduction = client.curl(response.request) if (client is not None and response is not None) else ""
    return explanation, reproduction


class ContractRun:
    """One run: lazily started on first use, finished (cleanup, reports) exactly once."""

    def __init__(self, options: ContractOptions) -> None:
        if options.seed is None:
            options.seed = random.SystemRandom().randrange(1, 2**31)
        self.options = options
        self.redact = Redactor(options.headers.values())
        self.check_workers = max(2, options.concurrency // 4)
        self.concurrent = ConcurrentChecks(self.check_workers)
        self.canary_error: ContractViolation | None = None
        self.hint = ""
        self.durations: dict[str, float] = {}
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
        self.hint = probe(self.base_url, self.options.headers)
        self.client = ContractClient(
            self.base_url, self.options.headers, max_rps=self.options.max_rps,
            burst=self.options.concurrency, redactor=self.redact, timeout=self.options.request_timeout,
            concurrency=self.options.concurrency,
        )
        if self.options.request_log:
            self.client.log = []
        self._install_stops()
        if any(pid in self.collected for pid in CANARY_PROPERTIES):
            token = current_property.set(SHARED)
            try:
                self._make_canaries()
            except ContractViolation as violation:  # e.g. no answer: only the canary property fails
                self.canary_error = violation
            finally:
                current_property.reset(token)
        return self.client

    def stop_reason(self) -> str | None:
        """Why a check not yet begun should be skipped (time budget used up), or None."""
        if self.over_budget():
            self.stopped = self.stopped or f"time budget of {self.options.time_budget:g} s used up; later checks not run"
            return "time budget used up"
        return None

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
        if self.client is not None:
            self.client.stopping.set()  # checks still running on the pool end at their next request
        self.concurrent.drain()
        hygiene = Hygiene()
        if self.client is not None:
            self.client.stopping.clear()
            previous = _ignore_sigint()
            try:
                hygiene = self.client.cleanup()
            finally:
                _restore_sigint(previous)
                self.client.close()
            for pid, result in self.results.items():
                result.requests = self.client.requests_by_property.get(pid, 0)
            if self.options.request_log and self.client.log is not None:
                with open(self.options.request_log, "w", encoding="utf-8") as log:
                    log.writelines(f"{printable(line, keep_newlines=False)}\n" for line in self.client.log)
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
            shared_requests=self.client.requests_by_property.get(SHARED, 0) if self.client else 0,
            writes=self.client.writes if self.client else None,
            hygiene=hygiene,
            elapsed=self.elapsed(),
            stopped=self.stopped,
            seed=self.options.seed,
            hint=self.hint,
        )
        return self.final

    # --- results -------------------------------------------------------------------------------

    def collect(self, property_ids: list[str]) -> None:
        for pid in property_ids:
            self.collected[pid] = self.collected.get(pid, 0) + 1
            self.results.setdefault(pid, PropertyResult(pid))

    def record(self, pid: str, call: pytest.CallInfo[Any], report: pytest.TestReport, nodeid: str = "") -> None:
        """Fold one test phase's report into its property; known deviations become xfail."""
        result = self.results.setdefault(pid, PropertyResult(pid))
        own = self.durations.get(nodeid) if report.when == "call" else None
        result.duration += own if own is not None else report.duration
        if self.client is not None:
            result.requests = self.client.requests_by_property.get(pid, 0)
        if report.failed:
            explanation, reproduction = violation_text(call.excinfo, self.client)
            if result.status not in (FAIL, KNOWN):
                result.explanation = printable(self.redact(explanation))
                result.reproduction = printable(self.redact(reproduction), keep_newlines=False)
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
