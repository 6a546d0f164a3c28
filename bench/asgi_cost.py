"""CPU cost per request of the mock's ASGI app alone (no sockets, no uvicorn), per scenario.

    .venv/bin/python bench/asgi_cost.py                   # µs of CPU per request, mock vs ceiling
    .venv/bin/python bench/asgi_cost.py --targets mock,reference,fast-reference,ceiling  # the stock reference beside it
    .venv/bin/python bench/asgi_cost.py --profile get     # cProfile of one scenario, top 30 by own time
    valgrind --tool=callgrind .venv/bin/python bench/asgi_cost.py --requests 500 --scenarios get

Calls the app in-process with ASGI messages, the way uvicorn would, so the figure is the app's own
cost: what the middleware layers, validation, handler and store take. CPU time (process time), not
wall-clock, so other work on the machine moves it much less than a load test; instruction counts
from callgrind or `perf stat -e instructions` move even less.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
import uuid
from pathlib import Path
from typing import cast

from starlette.types import ASGIApp, Message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SESSION = "/api/v1/session"


async def call(app: ASGIApp, method: str, path: str) -> tuple[int, bytes]:
    """One HTTP request through the ASGI app: its status and body."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8090"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8090), "state": {},
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def scenario_calls(app: ASGIApp, scenario: str, requests: int) -> None:
    import json

    status, body = await call(app, "POST", SESSION)
    assert status == 201, (status, body)
    live = json.loads(body)["sessionId"]
    unknown = str(uuid.uuid4())
    for _ in range(requests):
        if scenario == "create":
            status, _ = await call(app, "POST", SESSION)
        elif scenario == "get":
            status, _ = await call(app, "GET", f"{SESSION}/{live}")
        elif scenario == "head":
            status, _ = await call(app, "HEAD", f"{SESSION}/{live}")
        elif scenario == "unknown":
            status, _ = await call(app, "GET", f"{SESSION}/{unknown}")
        elif scenario == "health":
            status, _ = await call(app, "GET", "/health")
        assert status in (200, 201, 204, 404), status


def build(target: str) -> ASGIApp:
    """`mock` (the mock, speed-ups on), `reference` (the reference on stock Connexion),
    `fast-reference` (the reference with connexion_speedups) or `ceiling` (a bare Starlette app)."""
    if target == "ceiling":
        from ceiling_app import app

        return app
    if target in ("reference", "fast-reference"):
        from connexion_speedups import FastAsyncApp
        from reference_impl import create_app

        return cast(ASGIApp, create_app(app_class=FastAsyncApp) if target == "fast-reference" else create_app())
    from mock_server.app import create_mock_app

    return cast(ASGIApp, create_mock_app())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3, help="measurements per scenario; the best is shown")
    parser.add_argument("--scenarios", default="create,get,head,unknown,health")
    parser.add_argument("--targets", default="mock,ceiling")
    parser.add_argument("--profile", metavar="SCENARIO", help="cProfile this scenario on the mock instead")
    args = parser.parse_args()
    if args.profile:
        app = build("mock")
        asyncio.run(scenario_calls(app, args.profile, 200))
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(scenario_calls(app, args.profile, args.requests))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    for target in args.targets.split(","):
        app = build(target)
        for scenario in args.scenarios.split(","):
            asyncio.run(scenario_calls(app, scenario, 200))  # warm: Connexion builds its stack on first use
            spent = []
            for _ in range(args.repeat):
                started = time.process_time()
                asyncio.run(scenario_calls(app, scenario, args.requests))
                spent.append(time.process_time() - started)
            print(f"{target:<8} {scenario:<8} {min(spent) / args.requests * 1e6:8.1f} µs CPU per request (best of {args.repeat})")


if __name__ == "__main__":
    main()
