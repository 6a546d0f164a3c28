"""The comparison bench's fallback load generator, for machines without wrk: httpx on asyncio.

    python bench/fallback_load.py BASE_URL SCENARIO LIVE_ID UNKNOWN_ID --seconds 8 --connections 32

LESS ACCURATE than wrk: one Python process makes far fewer requests per second than wrk, so on a
fast target the client, not the server, is the limit. It runs the same scenarios as
bench/wrk/scenarios.lua and prints the same `BENCH {...}` line (counts, statuses, p50/p99 in µs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

import httpx

SESSION = "/api/v1/session"


async def one_step(client: httpx.AsyncClient, scenario: str, live_id: str, unknown_id: str, statuses: Counter[str], latencies: list[float]) -> None:
    async def call(method: str, path: str) -> httpx.Response:
        started = time.perf_counter()
        response = await client.request(method, path)
        latencies.append(time.perf_counter() - started)
        statuses[str(response.status_code)] += 1
        return response

    if scenario == "create":
        await call("POST", SESSION)
    elif scenario == "get":
        await call("GET", f"{SESSION}/{live_id}")
    elif scenario == "head":
        await call("HEAD", f"{SESSION}/{live_id}")
    elif scenario == "unknown":
        await call("GET", f"{SESSION}/{unknown_id}")
    else:
        created = await call("POST", SESSION)
        sid = created.json().get("sessionId", live_id)
        await call("HEAD", f"{SESSION}/{sid}")
        await call("GET", f"{SESSION}/{sid}")
        await call("DELETE", f"{SESSION}/{sid}")


async def drive(base_url: str, scenario: str, live_id: str, unknown_id: str, seconds: float, connections: int) -> dict[str, object]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                try:
                    await one_step(client, scenario, live_id, unknown_id, statuses, latencies)
                except httpx.TransportError:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def percentile(fraction: float) -> int:
        return int(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1e6)

    return {
        "requests": len(latencies), "duration_us": int(elapsed * 1e6), "p50_us": percentile(0.5), "p99_us": percentile(0.99),
        "max_us": int(ordered[-1] * 1e6), "socket_errors": errors, "statuses": dict(statuses),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("scenario", choices=["create", "get", "head", "unknown", "loop"])
    parser.add_argument("live_id")
    parser.add_argument("unknown_id")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(drive(args.base_url, args.scenario, args.live_id, args.unknown_id, args.seconds, args.connections))
    print("BENCH " + json.dumps(result))


if __name__ == "__main__":
    main()
