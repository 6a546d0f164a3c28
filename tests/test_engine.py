"""The engine alone, in-process: scheduling, phases, budget, cooperative stop, events.

The target is a small in-memory session store behind `httpx.MockTransport` (a stand-in deployment,
not the engine), and the checks are small functions made here, so each test says exactly what the
engine must do with them. The real checks against real servers are proven in test_contract_suite.py
and test_contract_cli.py."""

from __future__ import annotations

import json
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract_tests import engine as engine_module
from contract_tests.baton import Baton, held, holding, yielded
from contract_tests.cancel import Cancelled, CancelToken
from contract_tests.client import ContractClient
from contract_tests.context import RunContext
from contract_tests.engine import CheckFinished, CheckStarted, CleanupStarted, Engine, Heartbeat, RunFinished, RunStarted, Stopping
from contract_tests.expect import CheckSkipped, ContractViolation, Inconclusive
from contract_tests.options import RunOptions
from contract_tests.rates import Measured, Rate
from contract_tests.registry import Check
from contract_tests.report import FAIL, INCONCLUSIVE, KNOWN, NOT_CHECKED, PASS, render_json, render_junit, render_markdown, render_table

BASE = "http://stand-in.test"


class StandIn:
    """A correct in-memory session API served through httpx.MockTransport; thread-safe."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests += 1
            path = request.url.path
            if path == "/health":
                return httpx.Response(200, json={"message": "OK"})
            if path == "/api/v1/session" and request.method == "POST":
                sid = str(uuid.uuid4())
                self.sessions[sid] = {}
                return httpx.Response(201, json={"sessionId": sid, "message": "created"})
            sid = path.rsplit("/", 1)[-1]
            if request.method == "POST":
                self.sessions[sid] = {}
                return httpx.Response(201, json={"sessionId": sid, "message": "created"})
            if sid not in self.sessions:
                return httpx.Response(404, json={"detail": f"Session {sid} not found"})
            if request.method == "HEAD":
                return httpx.Response(204)
            if request.method == "GET":
                return httpx.Response(200, json={"sessionId": sid, "data": self.sessions[sid],
                                                 "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"})
            if request.method == "PATCH":
                self.sessions[sid].update(json.loads(request.content)["data"])
                return httpx.Response(200, json={"sessionId": sid, "message": "updated"})
            del self.sessions[sid]
            return httpx.Response(200, json={"sessionId": sid, "message": "Session deleted successfully"})


def make_check(pid: str, func: Callable[..., Any], **traits: Any) -> Check:
    return Check(pid, func, **traits)


def run_engine(checks: list[Check], stand_in: StandIn | None = None, events: list[Any] | None = None,
               workers: int | None = None, **options: Any) -> tuple[Engine, Any]:
    stand_in = stand_in or StandIn()
    seen = events if events is not None else []
    engine = Engine(RunOptions(base_url=BASE, seed=1, **options), checks, on_event=seen.append,
                    transport=httpx.MockTransport(stand_in), handle_signals=False, workers=workers)
    return engine, engine.run()


def creates(client: ContractClient) -> None:
    for _ in range(3):
        assert client.create().status_code == 201


def test_every_check_runs_once_and_events_come_in_order() -> None:
    ran: list[str] = []
    checks = [make_check("health.ok", lambda contract_client: ran.append("health")),
              make_check("create.fresh-id", lambda contract_client: (creates(contract_client), ran.append("create")))]
    events: list[Any] = []
    stand_in = StandIn()
    engine, results = run_engine(checks, stand_in, events)
    assert sorted(ran) == ["create", "health"]
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    finished = [e for e in events if isinstance(e, CheckFinished)]
    assert [e.done for e in finished] == [1, 2] and {e.result.property_id for e in finished} == {"health.ok", "create.fresh-id"}
    assert sum(isinstance(e, CheckStarted) for e in events) == 2
    assert any(isinstance(e, CleanupStarted) for e in events)
    assert results.properties["health.ok"].status == PASS and results.conformant
    assert stand_in.sessions == {} and results.hygiene.created == 3  # cleanup deleted what the run made


def test_outcomes_pass_fail_known_and_not_checked() -> None:
    def violated(contract_client: ContractClient) -> None:
        response = contract_client.get(str(uuid.uuid4()))
        raise ContractViolation("GET answered what it should not", response)

    def blocked(contract_client: ContractClient) -> None:
        raise CheckSkipped("blocked: create is broken")

    def crashes() -> None:
        raise RuntimeError("the check itself broke")

    checks = [make_check("get.shape", violated), make_check("list.always-404", violated),
              make_check("patch.timestamps", blocked), make_check("errors.json-detail", crashes)]
    _, results = run_engine(checks, known_deviations={"list.always-404": "production answers 405"})
    p = results.properties
    assert p["get.shape"].status == FAIL and "curl" in p["get.shape"].reproduction
    assert p["list.always-404"].status == KNOWN and p["list.always-404"].known_reason == "production answers 405"
    assert p["patch.timestamps"].status == NOT_CHECKED and p["patch.timestamps"].skip_reason == "blocked: create is broken"
    assert p["errors.json-detail"].status == FAIL and "RuntimeError: the check itself broke" in p["errors.json-detail"].explanation
    assert not results.conformant


def test_a_passing_known_deviation_is_marked_for_trimming() -> None:
    _, results = run_engine([make_check("health.ok", lambda: None)], known_deviations={"health.ok": "was broken"})
    assert results.properties["health.ok"].status == PASS and results.properties["health.ok"].trim


def test_checks_of_one_exclusive_group_never_overlap_and_costly_checks_start_first() -> None:
    active: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    started: list[str] = []
    lock = threading.Lock()

    def exclusive(name: str) -> Callable[[], None]:
        def body() -> None:
            with lock:
                started.append(name)
                active.append(name)
                if len(active) > 1:
                    overlaps.append(tuple(active))
            time.sleep(0.2)
            with lock:
                active.remove(name)
        return body

    checks = [make_check("health.ok", exclusive("a"), exclusive="g"),
              make_check("get.shape", exclusive("b"), exclusive="g", cost=9.0),
              make_check("create.fresh-id", exclusive("c"), exclusive="g", cost=5.0)]
    events: list[Any] = []
    run_engine(checks, events=events)
    assert overlaps == [] and sorted(started) == ["a", "b", "c"]
    # started costliest first; the group's members then take turns on its baton in whatever order they reach it
    assert [e.property_id for e in events if isinstance(e, CheckStarted)] == ["get.shape", "create.fresh-id", "health.ok"]


def test_checks_of_one_exclusive_group_overlap_their_waits_on_the_target() -> None:
    # They take turns running their own code (the test above), not waiting for answers: against a far
    # target the group costs about its longest member's wall time, not the sum of its members'.
    both_in_flight = threading.Barrier(2)
    met: list[bool] = []

    class Meeting(StandIn):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.headers.get("x-meet"):
                try:
                    both_in_flight.wait(timeout=5)
                    met.append(True)
                except threading.BrokenBarrierError:
                    met.append(False)
            return super().__call__(request)

    def body(contract_client: ContractClient) -> None:
        assert contract_client.request("GET", "/health", headers={"x-meet": "1"}).status_code == 200

    checks = [make_check("health.ok", body, exclusive="g"), make_check("get.shape", body, exclusive="g")]
    _, results = run_engine(checks, Meeting())
    assert met == [True, True] and results.conformant


def test_a_thread_waiting_for_its_groups_baton_leaves_when_the_run_stops() -> None:
    baton, token = Baton("g"), CancelToken()
    left: list[BaseException] = []

    def second() -> None:
        try:
            with holding(baton, token):
                left.append(AssertionError("took a baton that was held"))
        except Cancelled as exc:
            left.append(exc)

    with holding(baton, token):
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.1)
        token.cancel("stopped")
        waiter.join(timeout=5)
        assert held() is baton  # the stop did not take it from its holder
    assert [type(e) for e in left] == [Cancelled] and held() is None
    with holding(baton, CancelToken()), yielded():
        assert held() is None  # handed on for the wait: a waiter could take it now
        assert baton._lock.acquire(timeout=1)
        baton._lock.release()


def test_the_last_phase_starts_after_every_main_check_has_ended() -> None:
    order: list[str] = []
    checks = [make_check("consistency.read-your-writes.create", lambda: order.append("last"), phase="last"),
              make_check("health.ok", lambda: (time.sleep(0.3), order.append("main")))]
    run_engine(checks)
    assert order == ["main", "last"]


def test_measurements_run_alone_after_the_main_phase_and_before_the_last() -> None:
    order: list[str] = []
    running = threading.Semaphore(1)  # two measurements at once would load the target each samples

    def measuring(name: str) -> Callable[[], None]:
        def measure() -> None:
            assert running.acquire(blocking=False), "two measurements ran at once"
            time.sleep(0.05)
            order.append(name)
            running.release()
        return measure

    checks = [make_check("consistency.read-your-writes.create", lambda: order.append("last"), phase="last"),
              make_check("concurrency.double-delete", measuring("measure-1"), phase="measure"),
              make_check("consistency.read-your-writes.delete", measuring("measure-2"), phase="measure"),
              make_check("health.ok", lambda: (time.sleep(0.2), order.append("main")))]
    _, results = run_engine(checks, workers=4)
    assert order == ["main", "measure-1", "measure-2", "last"]
    assert all(r.status == PASS for r in results.properties.values())


def test_a_measurement_cut_short_is_inconclusive_with_its_bound_and_the_run_is_incomplete() -> None:
    cut = Measured("create", Rate(0, 120), needed=299)

    def out_of_time() -> None:
        raise Inconclusive(f"{cut.text()} (the time budget ran out)", [cut])

    def enough() -> list[Measured]:
        return [Measured("delete", Rate(0, 299), needed=299)]

    _, results = run_engine([make_check("consistency.read-your-writes.create", out_of_time, phase="measure"),
                             make_check("consistency.read-your-writes.delete", enough, phase="measure")])
    result = results.properties["consistency.read-your-writes.create"]
    assert result.status == INCONCLUSIVE and result.measurements == [cut]
    assert "0 of 120 (below 2.5 % at 95 % confidence); inconclusive: 299 tries needed" in result.measured_text()
    assert results.properties["consistency.read-your-writes.delete"].status == PASS
    assert not results.conformant and "1 measurement inconclusive (consistency.read-your-writes.create)" in results.verdict()
    table = render_table(results)
    assert "inconclusive (create: 0 of 120" in table and "pass (delete: 0 of 299 (below 1.0 % at 95 % confidence))" in table
    assert "inconclusive (create: 0 of 120" in render_markdown(results)
    junit = ET.fromstring(render_junit(results))
    case = next(c for c in junit.iter("testcase") if c.get("name") == "consistency.read-your-writes.create")
    error = case.find("error")
    assert error is not None and error.get("type") == "inconclusive" and junit.find("testsuite").get("errors") == "1"  # type: ignore[union-attr]
    document = json.loads(render_json(results, tool_version="t", options={}))
    [entry] = [p for p in document["properties"] if p["id"] == "consistency.read-your-writes.create"]
    assert entry["outcome"] == "inconclusive" and entry["measurements"][0]["n"] == 120
    assert entry["measurements"][0]["high95"] == pytest.approx(0.02465, abs=1e-4) and entry["measurements"][0]["needed"] == 299
    assert document["schemaVersion"] == 1 and document["verdict"]["conformant"] is False


def test_a_label_names_the_deployment_and_leaves_its_target_in_every_report() -> None:
    # --label once replaced the URL as the target of every report (JSON, JUnit, Markdown, progress).
    events: list[Any] = []
    _, results = run_engine([make_check("health.ok", lambda: None)], events=events, label="staging")
    document = json.loads(render_json(results, tool_version="t", options={}))
    assert document["deployment"] == {"label": "staging", "target": BASE}
    assert f"- target: {BASE}" in render_markdown(results)
    assert any(p.get("name") == "target" and p.get("value") == BASE for p in ET.fromstring(render_junit(results)).iter("property"))
    assert events[0].target == f"{BASE} (staging)"


def test_canaries_are_made_before_the_checks_that_need_them() -> None:
    seen: dict[str, Any] = {}

    def needs_canaries(contract_run: RunContext) -> None:
        seen.update(contract_run.canaries)

    stand_in = StandIn()
    _, results = run_engine([make_check("persistence.until-delete", needs_canaries, canaries=True)], stand_in)
    assert len(seen) == 3 and results.properties["persistence.until-delete"].status == PASS
    assert stand_in.sessions == {}


def test_stop_ends_running_checks_at_their_next_request_and_cleanup_still_runs() -> None:
    stand_in = StandIn(delay=0.01)
    started = threading.Event()

    def busy(contract_client: ContractClient) -> None:
        started.set()
        while True:
            contract_client.create()

    holder: dict[str, Engine] = {}
    events: list[Any] = []
    engine = Engine(RunOptions(base_url=BASE, seed=1), [make_check("create.fresh-id", busy), make_check("health.ok", lambda: None)],
                    on_event=events.append, transport=httpx.MockTransport(stand_in), handle_signals=False, workers=1)
    holder["engine"] = engine
    threading.Thread(target=lambda: (started.wait(10), time.sleep(0.2), engine.stop("interrupted")), daemon=True).start()
    began = time.monotonic()
    results = engine.run()
    assert time.monotonic() - began < 30  # not a speed claim: it ends, with time to spare
    assert results.stopped == "interrupted" and not results.conformant
    assert results.properties["create.fresh-id"].status == NOT_CHECKED
    assert "stopped: interrupted" in results.properties["create.fresh-id"].skip_reason
    assert results.properties["health.ok"].skip_reason.startswith("not started")
    assert any(isinstance(e, Stopping) and not e.abort for e in events)
    assert stand_in.sessions == {} and results.hygiene.left_behind == [] and results.hygiene.created > 0


class SlowCreatesWithId(StandIn):
    """Takes `slow` seconds over each create-with-id before making it: a loaded server's backlog."""

    def __init__(self, slow: float) -> None:
        super().__init__()
        self.slow = slow
        self.landed = threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path != "/api/v1/session":
            time.sleep(self.slow)
            response = super().__call__(request)
            self.landed.set()
            return response
        return super().__call__(request)


def test_a_write_still_under_way_after_a_stop_is_waited_for_before_cleanup_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The create-with-id outlives its caller (its grace after the stop is 0.2 s; it lands after 1 s):
    cleanup waits for it, then deletes what it made. Looking first, cleanup would find the id absent,
    call it never made, and the session would appear afterwards, left behind and unreported."""
    monkeypatch.setattr("contract_tests.client.WRITE_GRACE", 0.2)
    stand_in = SlowCreatesWithId(slow=1.0)
    sent = threading.Event()

    def slow_create(contract_client: ContractClient) -> None:
        sent.set()
        contract_client.request("POST", f"/api/v1/session/{contract_client.fresh_id()}")

    engine = Engine(RunOptions(base_url=BASE, seed=1), [make_check("create-with-id.same-id", slow_create)],
                    transport=httpx.MockTransport(stand_in), handle_signals=False)
    threading.Thread(target=lambda: (sent.wait(10), time.sleep(0.1), engine.stop("interrupted")), daemon=True).start()
    results = engine.run()
    assert stand_in.landed.wait(10)  # look once the slow create has been made
    assert results.stopped == "interrupted"
    assert stand_in.sessions == {} and results.hygiene.left_behind == []


def test_a_check_that_ignores_the_token_is_abandoned_after_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "STOP_GRACE", 0.5)
    release = threading.Event()
    engine = Engine(RunOptions(base_url=BASE, seed=1), [make_check("health.ok", lambda: release.wait(30))],
                    transport=httpx.MockTransport(StandIn()), handle_signals=False)
    threading.Timer(0.5, engine.stop).start()
    results = engine.run()
    release.set()
    assert results.properties["health.ok"].skip_reason == "abandoned: still running when the run stopped"


def test_a_second_stop_skips_cleanup_and_reports_every_id_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in = StandIn()
    made: list[str] = []

    def make_then_wait(contract_client: ContractClient, contract_run: RunContext) -> None:
        for _ in range(4):
            made.append(contract_client.create().json()["sessionId"])
        contract_run.cancel.sleep(60)

    events: list[Any] = []
    engine = Engine(RunOptions(base_url=BASE, seed=1), [make_check("create.fresh-id", make_then_wait)], on_event=events.append,
                    transport=httpx.MockTransport(stand_in), handle_signals=False)
    original = engine._emit

    def stop_twice_at_cleanup(event: Any) -> None:
        original(event)
        if isinstance(event, CleanupStarted):
            engine.stop()

    monkeypatch.setattr(engine, "_emit", stop_twice_at_cleanup)
    threading.Timer(0.5, engine.stop).start()
    results = engine.run()
    assert engine.abort.cancelled
    assert sorted(results.hygiene.left_behind) == sorted(made) == sorted(stand_in.sessions)


def test_no_check_starts_after_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    checks = [make_check("get.shape", lambda: (time.sleep(1.5), ran.append("slow")), cost=9.0),
              make_check("health.ok", lambda: ran.append("late"))]
    _, results = run_engine(checks, workers=1, time_budget=1.0)
    assert ran == ["slow"] and results.properties["health.ok"].skip_reason == "time budget used up"
    assert "time budget of 1 s used up" in results.stopped and not results.conformant


def test_the_budget_abandons_checks_that_overrun_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "HARD_STOP_GRACE", 0.5)
    monkeypatch.setattr(engine_module, "STOP_GRACE", 0.5)

    def forever(contract_run: RunContext) -> None:
        contract_run.cancel.sleep(120)

    _, results = run_engine([make_check("health.ok", forever)], time_budget=1.0)
    assert "exceeded" in results.stopped and results.properties["health.ok"].status == NOT_CHECKED


def test_a_heartbeat_comes_while_a_check_runs_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "HEARTBEAT", 0.3)
    events: list[Any] = []
    run_engine([make_check("health.ok", lambda: time.sleep(1.2))], events=events)
    beats = [e for e in events if isinstance(e, Heartbeat)]
    assert beats and beats[0].running == ("health.ok",) and beats[0].phase == "main"


def test_cancelled_passes_through_hypothesis_unshrunk() -> None:
    calls: list[int] = []

    @settings(max_examples=50, database=None)
    @given(st.integers())
    def example(n: int) -> None:
        calls.append(n)
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        example()
    assert len(calls) == 1  # no shrinking, no retry: the stop goes straight through


def test_a_stopped_check_inside_hypothesis_is_not_checked_not_failed() -> None:
    def generated(contract_client: ContractClient, contract_run: RunContext) -> None:
        @settings(max_examples=1000, database=None, deadline=None)
        @given(st.integers())
        def each(n: int) -> None:
            if n == 3 or len(calls) > 5:
                contract_run.cancel.cancel("interrupted")
            calls.append(n)
            contract_client.get(str(uuid.uuid4()))

        each()

    calls: list[int] = []
    _, results = run_engine([make_check("model.state-machine", generated)])
    assert results.properties["model.state-machine"].status == NOT_CHECKED
