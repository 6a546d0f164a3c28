"""Stand-ins for what real networks do to answers, shared by the tests and the benchmarks."""

from __future__ import annotations

import asyncio
import random
from typing import Any


class Jitter:
    """20 to 120 ms before each answer, and 1 % of answers stalled 1.5 s (a seeded RNG: the same every run)."""

    def __init__(self, app: Any, seed: int = 19) -> None:
        self.app, self.random, self.stalled = app, random.Random(seed), 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            delay = self.random.uniform(0.020, 0.120)
            if self.random.random() < 0.01:
                delay, self.stalled = 1.5, self.stalled + 1
            await asyncio.sleep(delay)
        await self.app(scope, receive, send)
