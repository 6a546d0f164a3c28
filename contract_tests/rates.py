"""Rates measured by sampling, with their 95 % confidence bounds: `k of n`, the Wilson score interval,
the exact upper bound for `0 of n`, the sample size a pass needs, and the window of lags.

    sample_size(0.01)               # 299: 0 misses in 299 tries bound the rate below 1 % at 95 %
    Rate(3, 299).text()             # "3 of 299 (1.0 %; 95 % interval 0.3 % to 2.9 %)"
    Rate(0, 299).text()             # "0 of 299 (below 1.0 % at 95 % confidence)"

The Wilson interval (Wilson 1927) keeps its coverage near 95 % for small k, unlike the normal
approximation; for k = 0 the bound quoted is the exact one-sided bound 1 - 0.05^(1/n) (Clopper-Pearson),
the same rule that sets the sample size, so a pass states exactly what it rules out.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

CONFIDENCE = 0.95
Z = 1.959963984540054  # the two-sided 95 % quantile of the normal distribution


def sample_size(min_detectable_rate: float, confidence: float = CONFIDENCE) -> int:
    """The n for which 0 misses in n tries bound the rate below `min_detectable_rate` at `confidence`:
    the smallest n with (1 - R)^n <= 1 - confidence."""
    if not 0 < min_detectable_rate < 1:
        raise ValueError(f"a rate between 0 and 1 is needed, got {min_detectable_rate}")
    return math.ceil(math.log(1 - confidence) / math.log(1 - min_detectable_rate) - 1e-9)


def zero_upper_bound(n: int, confidence: float = CONFIDENCE) -> float:
    """The exact one-sided upper bound of the rate after 0 of n (1.0 for n = 0)."""
    return 1.0 if n <= 0 else 1 - (1 - confidence) ** (1 / n)


def wilson(k: int, n: int, z: float = Z) -> tuple[float, float]:
    """The Wilson score interval of k successes in n tries ((0, 1) for n = 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


@dataclass(frozen=True)
class Rate:
    """k of n tries broke the rule."""

    k: int
    n: int

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else 0.0

    def interval(self) -> tuple[float, float]:
        """The 95 % interval: Wilson's, with the exact upper bound for k = 0."""
        return (0.0, zero_upper_bound(self.n)) if self.k == 0 else wilson(self.k, self.n)

    def text(self) -> str:
        if self.n == 0:
            return "0 of 0 (nothing measured)"
        low, high = self.interval()
        if self.k == 0:
            return f"0 of {self.n} (below {percent(high)} at 95 % confidence)"
        return f"{self.k} of {self.n} ({percent(self.value)}; 95 % interval {percent(low)} to {percent(high)})"

    def as_json(self) -> dict[str, float | int]:
        low, high = self.interval()
        return {"k": self.k, "n": self.n, "rate": round(self.value, 6), "low95": round(low, 6), "high95": round(high, 6)}


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def window_text(lags_ms: list[float]) -> str:
    """`window median 4.1 ms, p95 9.8 ms, max 12.0 ms` of the lags seen ("" when none)."""
    if not lags_ms:
        return ""
    return (f"window median {statistics.median(lags_ms):.1f} ms, p95 {percentile(lags_ms, 0.95):.1f} ms, "
            f"max {max(lags_ms):.1f} ms")


def window_json(lags_ms: list[float]) -> dict[str, float] | None:
    if not lags_ms:
        return None
    return {"medianMs": round(statistics.median(lags_ms), 3), "p95Ms": round(percentile(lags_ms, 0.95), 3),
            "maxMs": round(max(lags_ms), 3)}


@dataclass(frozen=True)
class Measured:
    """One measured shape of a property (a write kind, or a race's "right after" or "at once"):
    how often the rule broke, the lags seen, and the sample size a conclusive answer needs."""

    shape: str
    rate: Rate
    needed: int
    lags_ms: tuple[float, ...] = ()

    @property
    def complete(self) -> bool:
        return self.rate.k > 0 or self.rate.n >= self.needed

    def text(self) -> str:
        parts = [f"{self.shape}: {self.rate.text()}"]
        window = window_text(list(self.lags_ms))
        if window:
            parts.append(window)
        if not self.complete:
            parts.append(f"inconclusive: {self.needed} tries needed")
        return "; ".join(parts)

    def as_json(self) -> dict[str, object]:
        return {"shape": self.shape, **self.rate.as_json(), "needed": self.needed, "window": window_json(list(self.lags_ms)),
                "text": self.text()}
