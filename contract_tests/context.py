"""What a check sees of its run (`contract_run`): the options, the canaries, the budget, the token."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from contract_tests.cancel import CancelToken
from contract_tests.expect import ContractViolation
from contract_tests.options import RunOptions


@dataclass
class RunContext:
    """The run as the checks see it. `canaries` maps each canary session id to the GET body recorded
    when it was made (`canaries_made_at`, time.monotonic()); `canary_error` is why none could be made."""

    options: RunOptions
    cancel: CancelToken
    started: float = field(default_factory=time.monotonic)
    canaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    canaries_made_at: float = 0.0
    canary_error: ContractViolation | None = None
    shared: dict[str, Any] = field(default_factory=dict)  # what the measurements hand on to each other (settled sessions)
    previous_canaries: list[Any] = field(default_factory=list)  # `canaries.Canary`s an earlier run planted (--canary-state)
    planted: list[Any] = field(default_factory=list)  # this run's canaries, as `canaries.Canary`, when they outlive it
    target: str = ""  # the deployment, as the canary state file records it
    notes: dict[str, str] = field(default_factory=dict)  # property id -> what a passing check covered
    stragglers: list[Any] = field(default_factory=list)  # futures of measured samples not waited for: cleanup waits

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def over_budget(self) -> bool:
        """Whether `--time-budget` is used up (never, without one)."""
        return self.options.time_budget > 0 and self.elapsed() >= self.options.time_budget

    def remaining_budget(self) -> float:
        """Seconds left of `--time-budget` (infinite without one)."""
        if self.options.time_budget <= 0:
            return float("inf")
        return max(self.options.time_budget - self.elapsed(), 0.0)
