"""Benchmark session-mock on loopback: requests/s and p50/p99 latency per operation, start-up time
to the first answer, and memory per stored session.

    .venv/bin/python bench/mock_bench.py                    # in-memory store
    .venv/bin/python bench/mock_bench.py --state-file       # SQLite state file (synchronous=FULL)

The mock runs as the real CLI (`python -m mock_server`) in its own process; the load comes from
httpx.AsyncClient in this process with a fixed number of requests per operation, so on a small
machine client and server share the CPUs. Every loop is bounded; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.mock_process import MockProcess

SESSION = "/api/v1/session"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(
    name: str, operation: Callable[[httpx.AsyncClient, int], Awaitable[int]], client: httpx.AsyncClient, requests: int, concurrency: int
) -> dict[str, object]:
    """Run `operation` `requests` times with `concurrency` workers; per-call latency and overall rate.

    A few untimed calls first: Connexion builds each operation's validators on its first request.
    """
    for n in range(min(20, requests)):
        await operation(client, n)
    latencies: list[float] = []
    calls = iter(range(requests))
    answered = 0

    async def worker() -> None:
        nonlocal answered
        for n in calls:
            started = time.perf_counter()
            done = await operation(client, n)  # not `answered += await ...`: that loses updates
            answered += done
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "operation": name,
        "requests": answered,
        "rps": answered / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
    }


async def run_load(base_url: str, requests: int, concurrency: int) -> list[dict[str, object]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as client:
        existing = [(await client.post(SESSION)).json()["sessionId"] for _ in range(200)]

        async def create(c: httpx.AsyncClient, n: int) -> int:
            assert (await c.post(SESSION)).status_code == 201
            return 1

        async def get_existing(c: httpx.AsyncClient, n: int) -> int:
            assert (await c.get(f"{SESSION}/{random.choice(existing)}")).status_code == 200
            return 1

        async def head_existing(c: httpx.AsyncClient, n: int) -> int:
            assert (await c.head(f"{SESSION}/{random.choice(existing)}")).status_code == 204
            return 1

        async def get_unknown(c: httpx.AsyncClient, n: int) -> int:
            assert (await c.get(f"{SESSION}/{uuid.uuid4()}")).status_code == 404
            return 1

        async def mix(c: httpx.AsyncClient, n: int) -> int:
            sid = (await c.post(SESSION)).json()["sessionId"]
            assert (await c.get(f"{SESSION}/{sid}")).status_code == 200
            assert (await c.head(f"{SESSION}/{sid}")).status_code == 204
            assert (await c.delete(f"{SESSION}/{sid}")).status_code == 200
            return 4

        results = []
        for name, operation, count in [
            ("create (POST)", create, requests),
            ("get existing", get_existing, requests),
            ("HEAD existing", head_existing, requests),
            ("get unknown id (404)", get_unknown, requests),
            ("create-get-head-delete mix (latency per 4-request cycle)", mix, requests // 4),
        ]:
            results.append(await measure(name, operation, client, count, concurrency))
        return results


def memory_per_session(mock: MockProcess, sessions: int) -> tuple[int, float]:
    """RSS growth of the mock while `sessions` empty sessions are seeded, per session (bytes)."""
    with httpx.Client(base_url=mock.base_url, timeout=60.0) as http:
        http.post("/__mock/reset")
        before = rss_kib(mock.process.pid)  # type: ignore[union-attr]
        for start in range(0, sessions, 1000):
            seed = [{"sessionId": str(uuid.uuid4())} for _ in range(min(1000, sessions - start))]
            assert http.post("/__mock/sessions", json=seed).status_code == 201
        after = rss_kib(mock.process.pid)  # type: ignore[union-attr]
        http.post("/__mock/reset")
    return after - before, (after - before) * 1024 / sessions


def traced_bytes_per_session(sessions: int, state_file: Path | None) -> float:
    """Python heap allocated by the store itself per created session (tracemalloc, in this process)."""
    from mock_server.sqlite_store import SqliteSessionStore
    from reference_impl.store import InMemorySessionStore

    store = SqliteSessionStore(state_file) if state_file else InMemorySessionStore()

    async def fill() -> None:
        for _ in range(sessions):
            await store.create()

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    asyncio.run(fill())
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    asyncio.run(store.close())
    return (after - before) / sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per operation (default: %(default)s)")
    parser.add_argument(
        "--concurrency", default="1,8", help="comma-separated numbers of concurrent client connections (default: %(default)s)"
    )
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions stored for the memory figure (default: %(default)s)")
    parser.add_argument("--startups", type=int, default=3, help="start-ups timed (default: %(default)s)")
    parser.add_argument("--state-file", action="store_true", help="run the mock with a SQLite state file in a temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        extra = ["--state-file", str(Path(folder) / "bench.db")] if args.state_file else []
        startups = []
        for _ in range(args.startups):
            started = time.perf_counter()
            with MockProcess(*extra):
                startups.append(time.perf_counter() - started)
        levels = [int(level) for level in args.concurrency.split(",")]
        with MockProcess(*extra) as mock:
            results = {level: asyncio.run(run_load(mock.base_url, args.requests, level)) for level in levels}
            grown_kib, per_session = memory_per_session(mock, args.sessions)
        traced = traced_bytes_per_session(args.sessions, Path(folder) / "traced.db" if args.state_file else None)

    store = "SQLite state file" if args.state_file else "in memory"
    print(f"session-mock, store {store}, {args.requests} requests per operation\n")
    print("| operation | concurrency | requests | req/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for level, rows in results.items():
        for row in rows:
            print(f"| {row['operation']} | {level} | {row['requests']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} |")
    print(f"\nstart-up to first answer: median {statistics.median(startups):.2f} s over {len(startups)} (min {min(startups):.2f} s)")
    print(f"memory: the mock's RSS grew {grown_kib} KiB for {args.sessions} seeded sessions = {per_session:.0f} bytes per session")
    print(f"memory: the store's Python heap (tracemalloc) grew {traced:.0f} bytes per created session")


if __name__ == "__main__":
    main()
