"""Issue 19, items 4 to 7, on the new engine: far and jittery networks, shared deployments, other clocks
and spellings of time, and every URL a user writes. Each stand-in is a small ASGI layer in front of the
reference on loopback; each run selects the few properties the stand-in could fool (cheap by design).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from reference_impl import create_app
from reference_impl.serving import LiveServer
from reference_impl.store import InMemorySessionStore
from tests.contract_helpers import FAST_VARIANT, session_contract
from tests.stand_ins import Jitter
from tests.test_contract_real_deployments import StripPrefix

Scope = dict[str, Any]


# --- 4. far and jittery networks -----------------------------------------------------------------------


def test_jitter_and_stalled_answers_cause_no_false_failure(tmp_path: Path) -> None:
    jitter = Jitter(create_app())
    with LiveServer(jitter) as server:
        run = session_contract("--base-url", server.base_url, *FAST_VARIANT, "--race-rounds", "4",
                               "--property", "create.*", "--property", "delete.*", "--property", "head.*", "--property", "get.*",
                               "--property", "consistency.*", "--property", "concurrency.double-delete",
                               "--property", "persistence.until-delete", tmp=tmp_path)
    assert jitter.stalled > 0, "no answer was stalled: the test proves less than it says"
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(run.testcases.values()) <= {"pass", "skipped"} and "fail" not in run.testcases.values()


# --- 5. shared deployments -----------------------------------------------------------------------------


class Watch:
    """Records who changed which session: requests with `X-Client: other` are the other client's."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.theirs: set[str] = set()
        self.touched: list[str] = []  # the run's PATCH or DELETE of a session the other client made

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            other = dict(scope["headers"]).get(b"x-client") == b"other"
            sid = scope["path"].rsplit("/", 1)[-1]
            if not other and scope["method"] in ("PATCH", "DELETE") and sid in self.theirs:
                self.touched.append(f"{scope['method']} {sid}")
        await self.app(scope, receive, send)


class OtherClient(threading.Thread):
    """Another user's traffic at tens of requests a second: create, patch, read back, delete, own sessions only."""

    def __init__(self, base_url: str, watch: Watch) -> None:
        super().__init__(daemon=True)
        self.base_url, self.watch = base_url, watch
        self.stop = threading.Event()
        self.cycles = 0
        self.surprises: list[str] = []

    def run(self) -> None:
        api = self.base_url + "/api/v1/session"
        with httpx.Client(headers={"X-Client": "other"}, timeout=10) as http:
            kept: list[str] = []
            while not self.stop.is_set():
                sid = http.post(api).json()["sessionId"]
                self.watch.theirs.add(sid)
                mine = {"owner": "other", "n": self.cycles}
                if http.patch(f"{api}/{sid}", json={"data": mine}).status_code != 200:
                    self.surprises.append(f"PATCH {sid}")
                got = http.get(f"{api}/{sid}")
                if got.status_code != 200 or got.json()["data"] != mine:
                    self.surprises.append(f"GET {sid}: {got.status_code}")
                kept.append(sid)
                if len(kept) > 5:
                    old = kept.pop(0)
                    if http.get(f"{api}/{old}").status_code != 200 or http.delete(f"{api}/{old}").status_code != 200:
                        self.surprises.append(f"own session {old} was gone before its owner deleted it")
                self.cycles += 1
                time.sleep(0.05)


def test_other_clients_traffic_causes_no_finding_and_is_never_touched(tmp_path: Path) -> None:
    watch = Watch(create_app())
    with LiveServer(watch) as server:
        other = OtherClient(server.base_url, watch)
        other.start()
        try:
            run = session_contract("--base-url", server.base_url, *FAST_VARIANT, "--race-rounds", "4",
                                   "--property", "delete.*", "--property", "concurrency.*", "--property", "create.*",
                                   "--property", "persistence.*", "--property", "list.*", "--property", "data.*",
                                   "--property", "linearizability.*", tmp=tmp_path)
        finally:
            other.stop.set()
            other.join(15)
    assert other.cycles >= 20, "the other client hardly ran: the test proves less than it says"
    assert run.returncode == 0, run.stdout + run.stderr
    assert watch.touched == [] and other.surprises == []


# --- 6. other clocks and spellings of time ------------------------------------------------------------


class OtherClock:
    """Answers with every timestamp 7 minutes ahead of the truth, in +01:00, with microseconds."""

    SHIFT = timedelta(minutes=7)
    ZONE = timezone(timedelta(hours=1))

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rewritten = 0

    def shift(self, value: Any) -> Any:
        if isinstance(value, dict):
            for key in ("createdAt", "updatedAt"):
                if isinstance(value.get(key), str):
                    moment = datetime.fromisoformat(value[key].replace("Z", "+00:00"))
                    value[key] = (moment + self.SHIFT).astimezone(self.ZONE).isoformat(timespec="microseconds")
                    self.rewritten += 1
        return value

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def hold(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            if body and dict(start["headers"]).get(b"content-type", b"").startswith(b"application/json"):
                try:
                    body = json.dumps(self.shift(json.loads(body))).encode()
                except ValueError:
                    pass
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


def test_a_server_clock_minutes_off_answering_in_plus_one_hour_passes(tmp_path: Path) -> None:
    clock = OtherClock(create_app())
    with LiveServer(clock) as server:
        answer = httpx.post(server.base_url + "/api/v1/session")
        sample = httpx.get(f"{server.base_url}/api/v1/session/{answer.json()['sessionId']}").json()["createdAt"]
        run = session_contract("--base-url", server.base_url, *FAST_VARIANT, "--max-examples", "3",
                               "--property", "timestamps.*", "--property", "patch.*", "--property", "get.shape",
                               "--property", "create.*", "--property", "model.*", "--property", "schema.stateless", tmp=tmp_path)
    assert sample.endswith("+01:00") and len(sample.split(".")[1]) == len("123456+01:00")
    assert clock.rewritten > 0
    assert run.returncode == 0, run.stdout + run.stderr


# --- 7. every URL a user writes -----------------------------------------------------------------------


class RequireBasic:
    """A gateway that answers 401 unless the request carries Basic auth for ci:pa:ss."""

    EXPECTED = b"Basic " + base64.b64encode(b"ci:pa:ss")

    def __init__(self, app: Any) -> None:
        self.app = app
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != self.EXPECTED:
            self.refused += 1
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"detail": "unauthorized"}'})
            return
        await self.app(scope, receive, send)


def serve_on_ipv6(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no ::1")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start on ::1"
        time.sleep(0.01)
    return server, thread, sock.getsockname()[1]


def test_an_ipv6_literal_with_userinfo_a_prefix_and_a_trailing_slash_works_in_every_layer(tmp_path: Path) -> None:
    store = InMemorySessionStore()
    gateway = RequireBasic(StripPrefix(create_app(store)))
    server, thread, port = serve_on_ipv6(gateway)
    try:
        run = session_contract("--base-url", f"http://ci:pa%3Ass@[::1]:{port}/gw/", *FAST_VARIANT, "--max-examples", "2",
                               "--property", "schema.*", "--property", "create.*", "--property", "delete.then-404-everywhere",
                               "--property", "persistence.until-delete", "--property", "health.ok", tmp=tmp_path)
        left = asyncio.run(store.count())
    finally:
        server.should_exit = True
        thread.join(10)
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(run.testcases.values()) == {"pass"}  # Schemathesis' layers included
    assert gateway.refused == 0 and left == 0
    assert f"target: http://[::1]:{port}/gw" in run.stdout and "pa%3Ass" not in run.stdout
