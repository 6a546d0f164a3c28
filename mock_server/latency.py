"""`--latency MS` or `MIN-MAX`: an artificial delay added before every API answer."""

from __future__ import annotations

import random
from dataclasses import dataclass

from mock_server.scenarios import MAX_DELAY_MS as MAX_LATENCY_MS  # the same cap as a `Prefer: delay=`


@dataclass(frozen=True)
class Latency:
    """A delay in milliseconds, fixed (`low == high`) or drawn uniformly from [low, high]."""

    low_ms: int = 0
    high_ms: int = 0

    @classmethod
    def parse(cls, text: str) -> Latency:
        """`"250"` or `"100-400"`, at most `MAX_LATENCY_MS`; raises ValueError with a readable message otherwise."""
        low, sep, high = text.strip().partition("-")
        if not low.isdigit() or (sep and not high.isdigit()):
            raise ValueError(f"latency must be MS or MIN-MAX in whole milliseconds, not {text!r}")
        latency = cls(int(low), int(high) if sep else int(low))
        if latency.high_ms < latency.low_ms:
            raise ValueError(f"latency range {text!r} has MAX below MIN; write {latency.high_ms}-{latency.low_ms}")
        if latency.high_ms > MAX_LATENCY_MS:
            raise ValueError(f"latency {text!r} is over {MAX_LATENCY_MS} ms, the longest delay the mock applies (as for Prefer: delay)")
        return latency

    def sample_ms(self) -> int:
        return self.low_ms if self.low_ms == self.high_ms else random.randint(self.low_ms, self.high_ms)

    def __str__(self) -> str:
        return f"{self.low_ms} ms" if self.low_ms == self.high_ms else f"{self.low_ms}-{self.high_ms} ms"
