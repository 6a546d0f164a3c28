"""Throttling gateways: a 429 (or a 503 to a GET or HEAD) with `Retry-After` is the gateway's answer, not the
API's. The client waits as told, sends the request again, lowers its rate, and the report says how much
throttling it met; beyond the budget the run is incomplete, never violated.

One layer in-process (`Throttle` over `RateLimit` over `httpx.MockTransport`, on a fake clock), then a
whole run through a loopback gateway that allows N requests a second in front of the reference.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests.cancel import Cancelled, CancelToken
from contract_tests.ledgers import ThrottleLedger
from contract_tests.transports import PAIRED, RateLimit, RateLimiter, Throttle, Throttled, retry_after
from reference_impl import create_app
from reference_impl.serving import LiveServer
from reference_impl.store import InMemorySessionStore
from tests.contract_helpers import FAST_VARIANT


class FakeClock(CancelToken):
    """A cancel token whose `sleep` only advances a fake clock (and records the sleeps)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: float = 100.0) -> None:
        super().__init__()
        self.now = now
        self.slept: list[float] = []
        monkeypatch.setattr(time, "monotonic", lambda: self.now)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def answers(*script: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport giving the scripted answers in turn (the last one from then on), and the requests it saw."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        answer = script[min(len(seen), len(script) - 1)]
        seen.append(request)
        return answer(request) if callable(answer) else answer

    return httpx.MockTransport(handle), seen


def stack(inner: httpx.BaseTransport, clock: CancelToken, *, max_rps: float = 0.0, budget: float = float("inf")) -> tuple[Throttle, RateLimiter, ThrottleLedger]:
    limiter, ledger = RateLimiter(max_rps, burst=4), ThrottleLedger()
    return Throttle(RateLimit(inner, limiter, clock), limiter, ledger, clock, budget=lambda: budget), limiter, ledger


def send(transport: httpx.BaseTransport, method: str = "GET") -> httpx.Response:
    with httpx.Client(transport=transport, base_url="http://target") as http:
        return http.request(method, "/api/v1/session/x")


def busy(seconds: int) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": str(seconds)}, json={"detail": "slow down"})


OK = httpx.Response(200, json={"ok": True})


def test_a_429_with_retry_after_is_waited_out_and_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    inner, seen = answers(busy(3), busy(2), OK)
    layer, limiter, ledger = stack(inner, clock)
    assert send(layer, "POST").status_code == 200  # a 429 was not processed: even a write is sent again
    assert [r.method for r in seen] == ["POST"] * 3
    assert clock.slept == [3.0, 2.0]  # the waits were the rate limit's, on the cancel token
    assert (ledger.throttled, ledger.waited) == (2, 5.0)
    assert ledger.summary().startswith("throttled 2 requests, waited 5 s")
    assert limiter.rate > 0  # "no limit" became a limit below what was being sent


def test_a_samples_read_back_is_not_sent_again_but_holds_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    # A read-back paired with its write skips the rate limit: sent again it would not wait out the hold, and
    # (measured at 80 rps with 32 lanes) it was throttled again and again until it gave up after 120 s.
    clock = FakeClock(monkeypatch)
    inner, seen = answers(busy(3), OK)
    layer, limiter, ledger = stack(inner, clock)
    with httpx.Client(transport=layer, base_url="http://target") as http:
        paired = http.build_request("HEAD", "/api/v1/session/x", extensions={PAIRED: True})
        assert http.send(paired).status_code == 429  # its answer: the measurement discards the sample
        assert len(seen) == 1 and ledger.throttled == 1
        assert http.request("GET", "/api/v1/session/x").status_code == 200  # the next start waits out the hold
    assert clock.slept == [3.0]


def test_a_503_with_retry_after_is_retried_for_get_and_head_only(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    unavailable = httpx.Response(503, headers={"Retry-After": "1"}, json={"detail": "maintenance"})
    for method, statuses in {"GET": [503, 200], "HEAD": [503, 200], "POST": [503], "PATCH": [503], "DELETE": [503]}.items():
        inner, seen = answers(unavailable, OK)
        layer, _, ledger = stack(inner, clock)
        assert send(layer, method).status_code == statuses[-1], method
        assert len(seen) == len(statuses), method
        assert ledger.throttled == len(statuses) - 1, method


def test_answers_without_a_valid_retry_after_are_the_apis_own(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    for answer in (httpx.Response(429), httpx.Response(429, headers={"Retry-After": "soon"}), httpx.Response(500, headers={"Retry-After": "1"})):
        inner, seen = answers(answer, OK)
        layer, _, ledger = stack(inner, clock)
        assert send(layer).status_code == answer.status_code and len(seen) == 1 and ledger.throttled == 0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": "120"}), now) == 120.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": later}), now) == 90.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), now) == 0.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "-5"}), now) is None


def test_throttling_beyond_the_budget_gives_up_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    inner, seen = answers(busy(30), OK)
    layer, _, ledger = stack(inner, clock, budget=10.0)
    with pytest.raises(Throttled, match=r"GET /api/v1/session/x answered 429 with Retry-After 30 s, beyond the time budget"):
        send(layer)
    assert len(seen) == 1 and clock.slept == [] and len(ledger.gave_up) == 1
    assert issubclass(Throttled, Cancelled)  # it passes through Hypothesis and `except Exception` like a stop


def test_a_stop_ends_a_throttled_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)

    def busy_then_stop(request: httpx.Request) -> httpx.Response:
        clock.cancel("test stop")
        return busy(5)

    inner, seen = answers(busy_then_stop, OK)
    layer, _, _ = stack(inner, clock)
    with pytest.raises(Cancelled, match="test stop"):
        send(layer)
    assert len(seen) == 1


def test_parallel_throttled_answers_hold_every_start_and_lower_the_rate_once(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    limiter = RateLimiter(0.0, burst=20)
    for _ in range(10):
        limiter.wait(clock)  # ten starts within a second: the rate being sent
    limiter.throttled(2.0)
    lowered = limiter.rate
    assert 0 < lowered <= 10 * RateLimiter.SLOWER
    limiter.throttled(2.0)  # told again in the same second (another thread's answer): not lowered twice
    assert limiter.rate == lowered
    before = clock.now
    limiter.wait(clock)
    assert clock.now - before >= 2.0  # a new start waits for the hold


# --- a whole run behind a throttling gateway on loopback -------------------------------------------------


class ThrottlingGateway:
    """Lets at most `per_second` requests through in each wall-clock second; answers the others 429 with
    `Retry-After: 1` (a fixed window, as many API gateways count)."""

    def __init__(self, app: Any, per_second: int) -> None:
        self.app = app
        self.per_second = per_second
        self.window = 0
        self.used = 0
        self.refused = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            second = int(time.time())
            if second != self.window:
                self.window, self.used = second, 0
            self.used += 1
            if self.used > self.per_second:
                self.refused += 1
                await send({"type": "http.response.start", "status": 429,
                            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")]})
                await send({"type": "http.response.body", "body": b'{"detail": "rate limit exceeded"}'})
                return
        await self.app(scope, receive, send)


# Bursts (the concurrency checks), canaries, deletes and their read-backs: a few hundred requests in all.
# (The measured properties, races and read-your-writes, are left out: at 59 samples a shape they send
# thousands of requests, minutes at 80 a second.)
PROPERTIES = ["--property", "concurrency.creates-distinct-none-lost", "--property", "concurrency.deletes-leave-others-intact",
              "--property", "concurrency.patches-disjoint-keys-survive", "--property", "delete.then-404-everywhere",
              "--property", "persistence.until-delete"]


def test_a_run_behind_a_throttling_gateway_passes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    store = InMemorySessionStore()
    gateway = ThrottlingGateway(create_app(store), per_second=80)
    with LiveServer(gateway) as server:
        report = tmp_path / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "contract_tests.cli", "run", "--base-url", server.base_url, *FAST_VARIANT,
             *PROPERTIES, "--report-json", str(report), "--junit-xml", str(tmp_path / "junit.xml")],
            capture_output=True, text=True, timeout=400, cwd=tmp_path,
        )
        left = asyncio.run(store.count())
    assert gateway.refused > 0, "the gateway never throttled: the test proves nothing"
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(report.read_text())
    throttling = document["throttling"]
    assert throttling["throttled"] > 0 and throttling["gaveUp"] == []
    assert document["cleanup"]["leftBehind"] == []
    assert left == 0
    line = next(line for line in done.stdout.splitlines() if line.startswith("throttling: "))
    assert line.startswith(f"throttling: throttled {throttling['throttled']} requests, waited ")
    print(line)  # the figure for the report (pytest -s)


def test_throttling_beyond_patience_leaves_that_check_unchecked_and_the_run_incomplete() -> None:
    from contract_tests.engine import Engine
    from contract_tests.options import RunOptions
    from contract_tests.registry import Check
    from contract_tests.report import NOT_CHECKED, PASS, render_junit, render_table
    from tests.test_engine import BASE, StandIn

    stand_in = StandIn()

    def gateway(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/held"):
            return httpx.Response(429, headers={"Retry-After": "3600"})
        return stand_in(request)

    def held(contract_client: Any) -> None:
        contract_client.request("GET", "/api/v1/session/held")

    def fine(contract_client: Any) -> None:
        assert contract_client.create().status_code == 201

    engine = Engine(RunOptions(base_url=BASE, seed=1), [Check("get.shape", held), Check("create.fresh-id", fine)],
                    transport=httpx.MockTransport(gateway), handle_signals=False)
    results = engine.run()
    held_result = results.properties["get.shape"]
    assert held_result.status == NOT_CHECKED and held_result.skip_reason.startswith("throttled beyond the budget: GET /api/v1/session/held")
    assert results.properties["create.fresh-id"].status == PASS
    assert not results.failures and not results.conformant
    assert "run incomplete: throttled beyond the budget" in results.verdict()
    assert "throttling: throttled 0 requests, waited 0 s; gave up 1 time: GET /api/v1/session/held answered 429" in render_table(results)
    assert '<property name="throttled" value="0" />' in render_junit(results)
