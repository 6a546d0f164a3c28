"""The conformance run's engine: it owns scheduling, time, cancellation and progress.

    engine = Engine(options, select_checks(...), on_event=print_progress)
    results = engine.run()        # a plain function call; pytest is never needed

What one run does, in order:
1. **set-up**: serve the reference on loopback if no base URL was given, probe the target, make the
   one `ContractClient`, and make the canary sessions if a selected check needs them;
2. **main phase**: every selected check whose `phase` is "main", on a pool of worker threads the
   engine owns (`workers` at once; costly checks first; the checks of one `exclusive` group take
   turns on its baton, `contract_tests.baton`, and share one worker). With `--time-budget S`, no
   check starts after S seconds;
3. **measure phase**: the measurements of rare, brief faults (`phase="measure"`: read-your-writes per
   write kind, the races), one at a time once every main check has ended, so nothing else of the run
   loads the target while they sample; each samples until its sample size (`--min-detectable-rate`)
   or until the budget or a stop ends it, then it is "inconclusive";
4. **last phase**: the checks that read what the others measured (`phase="last"`);
5. **cleanup**: every session the run created is deleted (`--concurrency` or MAX_LANES at once, the
   larger), bounded by `--cleanup-timeout`;
6. the results (`RunResults`) are returned and the last event is emitted.

Stopping is cooperative (see `contract_tests.cancel`). `stop()` (called by a signal handler, by the
budget's hard stop, or by a KeyboardInterrupt reaching the engine's own waits) sets the run's token:
no new request leaves, running checks end at their next request or wait, and after `STOP_GRACE`
seconds those still running are abandoned (their threads are daemons; they leave at their next
request). Cleanup then runs under its own bound. A second `stop()` sets the abort token: cleanup is
skipped at once and what was not yet confirmed deleted is reported as left behind, with its ids.
Every request is sent from a worker thread; the calling thread only waits, emits events and keeps
the books, so nothing it is interrupted in can hold a connection-pool lock.

Events (`RunStarted`, `CheckStarted`, `CheckFinished`, `Heartbeat`, `Stopping`, `CleanupStarted`,
`RunFinished`) go to `on_event`, in the calling thread, in order; a `Heartbeat` comes whenever
`HEARTBEAT` seconds pass without another event.
"""

from __future__ import annotations

import concurrent.futures
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from contract_tests.baton import Baton, holding
from contract_tests.cancel import Cancelled, CancelToken
from contract_tests.client import SHARED, ContractClient, Hygiene, current_property
from contract_tests.context import RunContext
from contract_tests.expect import CheckSkipped, ContractViolation, Inconclusive
from contract_tests.measure import MAX_LANES
from contract_tests.options import RunOptions
from contract_tests.printable import printable
from contract_tests.rates import Measured
from contract_tests.redaction import Redactor
from contract_tests.registry import Check
from contract_tests.report import FAIL, INCONCLUSIVE, KNOWN, NOT_CHECKED, PASS, PropertyResult, RunResults
from contract_tests.scripts import repeat_script, replay_script, scenario_script
from contract_tests.sessions import api_path, as_uuid, session_id_in
from contract_tests.target import probe, serve_reference
from contract_tests.transports import Throttled
from session_spec.credentials import without_credentials

REPEATED_SHAPES = {
    **{f"consistency.read-your-writes.{kind}": kind for kind in ("create", "create-with-id", "patch", "delete")},
    "concurrency.double-delete": "double-delete",
    "concurrency.create-with-id-single-winner": "create-with-id-race",
}
"""The measured properties and the pair their replay script repeats (`contract_tests.scripts.repeat_script`)."""
HARD_STOP_GRACE = 10.0  # seconds after --time-budget at which running checks are abandoned
STOP_GRACE = 5.0  # seconds running checks get to end after a stop, before they are abandoned
SETTLE_WRITES = 5.0  # seconds cleanup first waits, at most, for writes still under way (see `_settle_writes`)
HEARTBEAT = 4.0  # seconds without an event after which a heartbeat comes (so never 5 s without a line)
TICK = 0.2  # how often the engine's waits look at the clock
CANARY_COUNT = 3


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStarted:
    target: str
    seed: int
    properties: tuple[str, ...]
    time_budget: float


@dataclass(frozen=True)
class CheckStarted:
    property_id: str


@dataclass(frozen=True)
class CheckFinished:
    result: PropertyResult
    done: int
    total: int


@dataclass(frozen=True)
class Heartbeat:
    elapsed: float
    phase: str
    running: tuple[str, ...]
    requests: int


@dataclass(frozen=True)
class Stopping:
    reason: str
    abort: bool  # a second stop: cleanup is skipped


@dataclass(frozen=True)
class CleanupStarted:
    sessions: int


@dataclass(frozen=True)
class RunFinished:
    results: RunResults


Event = RunStarted | CheckStarted | CheckFinished | Heartbeat | Stopping | CleanupStarted | RunFinished


# --- outcomes ----------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """How one check ended, as its worker thread saw it."""

    check: Check
    status: str
    duration: float
    explanation: str = ""
    reproduction: str = ""
    skip_reason: str = ""
    measurements: list[Measured] = field(default_factory=list)
    script: str = ""


def _measured(value: object) -> list[Measured]:
    return [m for m in value if isinstance(m, Measured)] if isinstance(value, list) else []


def _cancelled_in(exc: BaseException) -> bool:
    return _found(exc, Cancelled) is not None


def _found(exc: BaseException, kind: type[Cancelled]) -> Cancelled | None:
    """The first `kind` in `exc` or the groups it holds."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        return next((found for inner in exc.exceptions if (found := _found(inner, kind)) is not None), None)
    return None


def violation_text(exc: BaseException, client: ContractClient | None) -> tuple[str, str]:
    """(explanation, reproduction) for a check that raised `exc`: a ContractViolation's own text and
    request, or any other error's type and first lines with the last request this thread sent."""
    response = exc.response if isinstance(exc, ContractViolation) else None
    if isinstance(exc, ContractViolation):
        explanation = exc.explanation
        if exc.reproduction:
            return explanation, exc.reproduction
    else:
        text = str(exc).strip() or type(exc).__name__
        lines = [line for line in text.splitlines() if line.strip()]
        explanation = f"{type(exc).__name__}: " + " / ".join(lines[:6])[:800]
    if response is None and client is not None:
        response = client.last_response
    reproduction = client.curl(response.request) if (client is not None and response is not None) else ""
    return explanation, reproduction


# --- the engine --------------------------------------------------------------------------------


@dataclass
class _Books:
    """What the calling thread keeps while checks run."""

    results: dict[str, PropertyResult] = field(default_factory=dict)
    running: dict[str, tuple[threading.Thread, float]] = field(default_factory=dict)  # id -> (thread, start)
    done: int = 0


class Engine:
    """One conformance run of `checks` against `options.base_url` (or the reference). Use once."""

    def __init__(self, options: RunOptions, checks: list[Check], on_event: Callable[[Event], None] | None = None,
                 *, workers: int | None = None, handle_signals: bool = True, transport: httpx.BaseTransport | None = None) -> None:
        self.options = options
        self.checks = list(checks)
        self.on_event = on_event or (lambda event: None)
        self.workers = workers or max(2, options.concurrency // 4)
        self.handle_signals = handle_signals
        self.transport = transport  # for in-process tests: every request of the run goes through it
        self.cancel = CancelToken()  # set by the first stop: no new request, checks end
        self.abort = CancelToken()  # set by the second stop: cleanup is skipped
        self.redact = Redactor(options.headers.values())
        self.context = RunContext(options, self.cancel)
        self.client: ContractClient | None = None
        self.server: Any = None
        self.target = options.deployment_target if options.base_url is None else options.base_url
        self.hint = ""
        self.stopped = ""
        self.throttled_out = ""  # why a gateway's throttling left a check unchecked, if it did
        self.phase = "set-up"
        self.started_at = datetime.now(UTC)
        self.finished_at: datetime | None = None
        self._books = _Books()
        self._batons = {c.exclusive: Baton(c.exclusive) for c in self.checks if c.exclusive is not None}
        self._phase_workers = self.workers
        self._finished: queue.SimpleQueue[_Outcome] = queue.SimpleQueue()
        self._last_event = time.monotonic()
        self._stops = 0
        self._announced = False  # whether the Stopping event was emitted
        self._lock = threading.Lock()

    # --- stopping ----------------------------------------------------------------------------

    def stop(self, reason: str = "interrupted") -> None:
        """Stop the run cooperatively (thread- and signal-safe: it only sets tokens). The first call
        ends the checks; a second one also skips cleanup."""
        with self._lock:
            self._stops += 1
            first = self._stops == 1
        if first:
            self.stopped = self.stopped or reason
            self.cancel.cancel(reason)
        else:
            self.abort.cancel("stopped twice: cleanup skipped")

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop("interrupted" if signum == signal.SIGINT else "interrupted (SIGTERM)")

    # --- events and waits --------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._last_event = time.monotonic()
        self.on_event(event)

    def _announce_stop(self) -> None:
        """The `Stopping` event, once, as soon as the calling thread sees the run's token set."""
        if self.cancel.cancelled and not self._announced:
            self._announced = True
            self._emit(Stopping(self.stopped or self.cancel.reason, abort=False))

    def _tick(self) -> None:
        """Heartbeat when due, the budget's hard stop, and the announcement of a stop."""
        self._announce_stop()
        if self.options.time_budget > 0 and self.context.elapsed() >= self.options.time_budget + HARD_STOP_GRACE \
                and not self.cancel.cancelled:
            self.stop(f"time budget of {self.options.time_budget:g} s exceeded; interrupted")
            self.stopped = f"time budget of {self.options.time_budget:g} s exceeded; running checks abandoned"
        if time.monotonic() - self._last_event >= HEARTBEAT:
            requests = self.client.request_count if self.client is not None else 0
            self._emit(Heartbeat(self.context.elapsed(), self.phase, tuple(self._books.running), requests))

    def _wait_thread(self, thread: threading.Thread, bound: Callable[[], bool]) -> bool:
        """Wait for `thread` while `bound()` holds; True if it ended. A KeyboardInterrupt reaching this
        wait (no signal handler installed, e.g. under pytest) stops the run instead of ending it."""
        while thread.is_alive() and bound():
            try:
                thread.join(TICK)
                self._tick()
            except KeyboardInterrupt:
                self.stop("interrupted")
        return not thread.is_alive()

    def _in_worker(self, action: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=action, name=name, daemon=True)
        thread.start()
        return thread

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> RunResults:
        """Run every check; return the results. Raises TargetUnreachable if the target does not answer."""
        previous: list[tuple[signal.Signals, Any]] = []
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous.append((signum, signal.signal(signum, self._on_signal)))
        try:
            return self._run()
        finally:
            for signum, handler in previous:
                signal.signal(signum, handler)

    def _run(self) -> RunResults:
        for check in self.checks:
            self._books.results[check.id] = PropertyResult(check.id)
        target = self.options.deployment_target
        if self.options.label:
            target += f" ({self.options.label})"
        self._emit(RunStarted(target, self.options.seed, tuple(c.id for c in self.checks),
                              self.options.time_budget))
        failure: list[BaseException] = []
        setup = self._in_worker(lambda: self._setup(failure), "contract-setup")
        self._wait_thread(setup, lambda: not self.cancel.cancelled)
        if failure and not isinstance(failure[0], Cancelled):
            self._shutdown_server()
            raise failure[0]
        if setup.is_alive():  # stopped during set-up: give it the grace every check gets
            self._wait_thread(setup, self._within_grace)
        if self.client is not None and not self.cancel.cancelled:
            self.phase = "main"
            self._run_phase([c for c in self.checks if c.phase == "main"])
            self.phase = "measure"
            self._run_phase([c for c in self.checks if c.phase == "measure"], workers=1)
            self.phase = "last"
            self._run_phase([c for c in self.checks if c.phase == "last"])
        self._abandon_running()
        hygiene = self._cleanup()
        return self._finish(hygiene)

    def _setup(self, failure: list[BaseException]) -> None:
        try:
            if self.options.base_url is None:
                self.server = serve_reference()
                self.target = self.server.base_url
            else:
                self.target = self.options.base_url
            self.hint = probe(self.target, self.options.headers, transport=self.transport, tls=self.options.tls)
            self.cancel.check()
            client = ContractClient(
                self.target, self.options.headers, max_rps=self.options.max_rps, burst=self.options.concurrency,
                redactor=self.redact, timeout=self.options.request_timeout, concurrency=self.options.concurrency,
                cancel=self.cancel, transport=self.transport, tls=self.options.tls,
                budget=lambda: self.context.remaining_budget() + HARD_STOP_GRACE,
            )
            if self.options.request_log:
                client.log = []
            self.client = client
            if any(check.canaries for check in self.checks):
                self._make_canaries(client)
        except BaseException as exc:
            failure.append(exc)

    def _make_canaries(self, client: ContractClient) -> None:
        """Sessions made before any check starts and read again by the checks that need them. With
        --canary-state, the earlier run's canaries are adopted (the guard accepts them, cleanup leaves
        them) and this run's are planted to outlive it: the file lists both until the old ones are checked."""
        token = current_property.set(SHARED)
        try:
            if self.options.canary_state:
                from contract_tests.canaries import keep, load_state, plant, save_state

                previous = load_state(self.options.canary_state)
                keep(client, [c.session_id for c in previous])
                self.context.previous_canaries = previous
                self.context.target = self.options.deployment_label
                planted = plant(client, CANARY_COUNT)
                self.context.planted = planted
                self.context.canaries = {c.session_id: c.snapshot for c in planted}
                save_state(self.options.canary_state, self.context.target, [*previous, *planted])
            else:
                for index in range(CANARY_COUNT):
                    created = client.create()
                    try:
                        sid = created.json()["sessionId"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    client.patch(sid, {"canary": index, "nested": {"kept": [index, "x"]}})
                    snapshot = client.get(sid)
                    if snapshot.status_code == 200:
                        self.context.canaries[sid] = snapshot.json()
        except ContractViolation as violation:  # e.g. no answer: only the checks that need canaries fail
            self.context.canary_error = violation
        finally:
            current_property.reset(token)
        self.context.canaries_made_at = time.monotonic()

    def _within_grace(self) -> bool:
        at = self.cancel.cancelled_at
        return at is None or time.monotonic() - at < STOP_GRACE

    def _busy_workers(self) -> int:
        """Workers in use: one per running check, but one per group for the checks of an `exclusive`
        group (they take turns on the group's baton, so together they run like one check)."""
        running = [c for c in self.checks if c.id in self._books.running]
        return sum(c.exclusive is None for c in running) + len({c.exclusive for c in running if c.exclusive is not None})

    def _startable(self, check: Check) -> bool:
        """Whether `check` may start now: a free worker, or a running member of its group to share one with."""
        if check.exclusive is not None and any(c.exclusive == check.exclusive for c in self.checks if c.id in self._books.running):
            return True
        return self._busy_workers() < self._phase_workers

    def _run_phase(self, checks: list[Check], workers: int | None = None) -> None:
        pending = sorted(checks, key=lambda c: -c.cost)  # stable: registry order among equals
        self._phase_workers = workers or self.workers
        while pending or self._books.running:
            try:
                if self.cancel.cancelled:
                    self._announce_stop()
                    break
                if pending and self.context.over_budget():
                    self.stopped = self.stopped or f"time budget of {self.options.time_budget:g} s used up; later checks not run"
                    for check in pending:
                        self._books.results[check.id].skip_reason = "time budget used up"
                    pending = []
                while pending:
                    startable = next((c for c in pending if self._startable(c)), None)
                    if startable is None:
                        break
                    pending.remove(startable)
                    self._start(startable)
                try:
                    outcome = self._finished.get(timeout=TICK)
                except queue.Empty:
                    self._tick()
                    continue
                self._record(outcome)
            except KeyboardInterrupt:
                self.stop("interrupted")
        for check in pending:
            result = self._books.results[check.id]
            result.skip_reason = result.skip_reason or f"not started: {self.stopped or 'run stopped'}"

    def _start(self, check: Check) -> None:
        self._emit(CheckStarted(check.id))
        thread = threading.Thread(target=self._run_check, args=(check,), name=f"check-{check.id}", daemon=True)
        self._books.running[check.id] = (thread, time.monotonic())
        thread.start()

    def _run_check(self, check: Check) -> None:
        """A worker thread: run one check and report how it ended (never raises)."""
        client = self.client
        assert client is not None
        token = current_property.set(check.id)
        client.forget_last()
        began = time.monotonic()
        try:
            with holding(self._batons.get(check.exclusive or ""), self.cancel):
                measured = check(contract_client=client, contract_run=self.context)
            outcome = _Outcome(check, PASS, time.monotonic() - began, measurements=_measured(measured))
        except Inconclusive as cut:
            outcome = _Outcome(check, INCONCLUSIVE, time.monotonic() - began, cut.explanation, measurements=_measured(cut.measurements))
        except CheckSkipped as skipped:
            outcome = _Outcome(check, NOT_CHECKED, time.monotonic() - began, skip_reason=skipped.reason)
        except BaseException as exc:
            duration = time.monotonic() - began
            throttled = _found(exc, Throttled)
            if throttled is not None and not self.cancel.cancelled:  # the gateway's doing, not the contract's
                self.throttled_out = self.throttled_out or throttled.reason
                outcome = _Outcome(check, NOT_CHECKED, duration, skip_reason=throttled.reason)
            elif _cancelled_in(exc) or self.cancel.cancelled:
                outcome = _Outcome(check, NOT_CHECKED, duration, skip_reason=f"stopped: {self.cancel.reason or 'run stopped'}")
            else:
                explanation, reproduction = violation_text(exc, client)
                measurements = _measured(getattr(exc, "measurements", []))
                outcome = _Outcome(check, FAIL, duration, explanation, reproduction, measurements=measurements,
                                   script=self._script(check.id, exc, measurements))
        finally:
            current_property.reset(token)
        self._finished.put(outcome)

    def _script(self, property_id: str, exc: BaseException, measurements: list[Measured]) -> str:
        """The replay script of a failure (see `contract_tests.scripts`), or "" when none can be made."""
        client = self.client
        if client is None:
            return ""
        try:
            names = list(self.options.headers)
            base = without_credentials(client.base_url)
            if measurements:
                shape = REPEATED_SHAPES.get(property_id)
                tries = max(m.needed for m in measurements)
                return repeat_script(shape, tries, base_url=base, header_names=names, what=property_id) if shape else ""
            response = exc.response if isinstance(exc, ContractViolation) and exc.response is not None else client.last_response
            if response is None:
                return ""
            failing = (response.request.method, response.status_code)
            scenario = getattr(exc, "sessions", None)
            if scenario:  # a state machine's steps over several sessions, in the order their answers came
                ids = [(raw, as_uuid(raw)) for raw in scenario]
                steps = sorted(((raw, r) for raw, sid in ids if sid is not None for r in client.session_requests.of(sid)
                                if r.charged == property_id), key=lambda step: step[1].seq)
                path = api_path(response.request.url, client.base_path)
                last = max((i for i, (_, r) in enumerate(steps) if (r.method, r.status) == failing and r.path.split("?")[0] == path),
                           default=len(steps) - 1)
                steps = steps[:last + 1]
                return scenario_script(steps, base_url=base, header_names=names, what=property_id) if steps else ""
            sid = as_uuid(session_id_in(api_path(response.request.url, client.base_path)))
            if sid is None:
                return ""
            sent = [r for r in client.session_requests.of(sid) if r.charged == property_id]
            # The script ends at the failing request (the one whose answer the violation shows: for a
            # Schemathesis check that judges a request by a follow-up, the follow-up), not at whatever
            # the check sent after it, such as a state machine's teardown.
            last = max((i for i, r in enumerate(sent) if (r.method, r.status) == failing), default=len(sent) - 1)
            sent = sent[:last + 1]
            return replay_script(sent, sid=str(sid), base_url=base, header_names=names, what=property_id) if sent else ""
        except Exception:  # a script is a convenience: never let it hide the failure itself
            return ""

    def _record(self, outcome: _Outcome) -> None:
        self._books.running.pop(outcome.check.id, None)
        result = self._books.results[outcome.check.id]
        result.duration = outcome.duration
        result.measurements = outcome.measurements
        result.note = printable(self.context.notes.get(outcome.check.id, ""), keep_newlines=False)
        if self.client is not None:
            result.requests = self.client.requests_by_property.get(outcome.check.id, 0)
        if outcome.status == FAIL:
            result.explanation = printable(self.redact(outcome.explanation))
            result.reproduction = printable(self.redact(outcome.reproduction), keep_newlines=False)
            result.script = printable(self.redact(outcome.script))
            reason = self.options.known_deviations.get(outcome.check.id)
            if reason is not None:
                result.status, result.known_reason = KNOWN, reason
            else:
                result.status = FAIL
        elif outcome.status == PASS:
            result.status = PASS
            result.trim = outcome.check.id in self.options.known_deviations
        elif outcome.status == INCONCLUSIVE:
            result.status = INCONCLUSIVE
            result.explanation = printable(self.redact(outcome.explanation))
        else:
            result.status = NOT_CHECKED
            result.skip_reason = outcome.skip_reason
        self._books.done += 1
        self._emit(CheckFinished(result, self._books.done, len(self.checks)))

    def _abandon_running(self) -> None:
        """After a stop: collect what ends within the grace, abandon the rest (daemon threads)."""
        self._announce_stop()
        while self._books.running and self._within_grace():
            try:
                self._record(self._finished.get(timeout=TICK))
            except queue.Empty:
                self._tick()
            except KeyboardInterrupt:
                self.stop("interrupted")
        for pid in list(self._books.running):
            self._books.running.pop(pid)
            result = self._books.results[pid]
            result.status = NOT_CHECKED
            result.skip_reason = "abandoned: still running when the run stopped"
            self._books.done += 1
            self._emit(CheckFinished(result, self._books.done, len(self.checks)))
        for result in self._books.results.values():
            if result.status == NOT_CHECKED and not result.skip_reason:
                result.skip_reason = f"not started: {self.stopped or 'run stopped'}"

    def _cleanup(self) -> Hygiene:
        """Delete what the run created, bounded by --cleanup-timeout; a second stop skips it."""
        client = self.client
        if client is None:
            self._shutdown_server()
            return Hygiene()
        self.phase = "cleanup"
        self._emit(CleanupStarted(len(client.live)))
        outcome: list[Hygiene] = []
        bound = self.options.cleanup_timeout
        began = time.monotonic()

        def clean() -> None:
            try:
                self._settle_writes(client, min(SETTLE_WRITES, bound / 2))
                # as many at once as the measurements' lanes: a far target's round trips overlap
                outcome.append(client.cleanup(max(client.concurrency, MAX_LANES), timeout=bound - (time.monotonic() - began),
                                              abort=self.abort))
            except BaseException:  # skipped by a second stop: what is not confirmed gone is reported below
                return

        worker = self._in_worker(clean, "contract-cleanup")
        announced = False

        def going() -> bool:
            nonlocal announced
            if self.abort.cancelled and not announced:
                announced = True
                self._emit(Stopping("stopped twice: cleanup skipped", abort=True))
            return not self.abort.cancelled and time.monotonic() - began < bound + STOP_GRACE

        self._wait_thread(worker, going)
        if outcome:
            hygiene = outcome[0]
        else:  # skipped or over its bound: whatever is not confirmed gone is left behind
            hygiene = Hygiene(created=client.created_count(), left_behind=sorted(str(sid) for sid in set(client.live)))
            hygiene.errors.append("cleanup skipped" if self.abort.cancelled else f"cleanup did not end within {bound:g} s")
        if not self.abort.cancelled:
            client.close()
        self._shutdown_server()
        return hygiene

    def _settle_writes(self, client: ContractClient, bound: float) -> None:
        """Before cleanup looks: wait (at most `bound` s; a second stop ends it) for the measured samples
        left running (`RunContext.stragglers`) and for every write still under way, abandoned ones
        included. A create answered after cleanup had looked would leave its session behind, unseen; a
        create-with-id cleanup found absent could still arrive."""
        ends = time.monotonic() + max(bound, 0.0)
        while not self.abort.cancelled and (left := ends - time.monotonic()) > 0:
            running = [future for future in self.context.stragglers if not future.done()]
            if running:
                concurrent.futures.wait(running, timeout=min(TICK, left))
            elif not client.writes_in_flight.wait_idle(min(TICK, left)):
                continue
            elif not any(not future.done() for future in self.context.stragglers):
                return

    def _shutdown_server(self) -> None:
        if self.server is not None and not self.abort.cancelled:
            self.server.stop()
            self.server = None

    def _finish(self, hygiene: Hygiene) -> RunResults:
        self.finished_at = datetime.now(UTC)
        client = self.client
        if client is not None:
            for pid, result in self._books.results.items():
                result.requests = client.requests_by_property.get(pid, 0)
            if self.options.request_log and client.log is not None:
                with open(self.options.request_log, "w", encoding="utf-8") as log:
                    log.writelines(f"{printable(line, keep_newlines=False)}\n" for line in list(client.log))
        results = RunResults(
            target=self.options.deployment_target if self.options.base_url is not None else self.target,
            properties=self._books.results,
            requests=client.request_count if client else 0,
            shared_requests=client.requests_by_property.get(SHARED, 0) if client else 0,
            writes=client.writes if client else None,
            hygiene=hygiene,
            elapsed=self.context.elapsed(),
            stopped=self.stopped or self.throttled_out,
            throttling=client.throttling if client else None,
            rate_limit=client.limiter.rate if client else 0.0,
            canaries_kept=len(self.context.planted),
            canary_state=self.options.canary_state or "",
            seed=self.options.seed,
            hint=self.hint,
            label=self.options.deployment_label,
            started_at=self.started_at,
            finished_at=self.finished_at,
        )
        self._emit(RunFinished(results))
        return results
