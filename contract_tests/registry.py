"""The one registry of conformance checks: each check declared once, where it is defined.

    @check("delete.then-patch-404")
    def deleted_session_refuses_patch(contract_client: ContractClient) -> None: ...

A check is a plain function. The engine calls it with the arguments its parameters name:
`contract_client` (the run's `ContractClient`) and `contract_run` (the run's `RunContext`: options,
canaries, budget). It passes by returning, fails by raising `ContractViolation`, and is "not checked"
by raising `CheckSkipped`. It never needs pytest.

The property ids and their one-line statements live in `contract_tests.properties` (importable
without importing any check: the documentation build reads them); a check's *traits*, which tell
the engine how to schedule it, are declared here beside the check itself:

- `canaries`: needs the canary sessions the engine makes before any check starts;
- `phase`: `"main"`; `"measure"` for measurements of rare, brief faults (read-your-writes, races): they
  run after the main phase, one at a time, so nothing else of the run loads the target while they
  sample; or `"last"` for checks that read what the others measured (once every other check has ended);
- `exclusive`: checks naming the same group never execute their own code at the same time: they take
  turns on the group's baton and overlap only their waits on the target (`contract_tests.baton`;
  `HYPOTHESIS`: on CPython 3.11 two threads building ASTs at once can fail inside Hypothesis' example
  descriptions);
- `cost`: rough seconds against a loopback target; costly checks start first, so the run's longest
  waits overlap everything else;
- `measures`: the write kinds (`create`, `create-with-id`, `patch`, `delete`) whose read-your-writes
  tally the check reports.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from contract_tests.deviations import glob_matches
from contract_tests.expect import CheckSkipped
from contract_tests.properties import PROPERTIES

Phase = Literal["main", "measure", "last"]
HYPOTHESIS = "hypothesis"
"""The `exclusive` group of checks that run Hypothesis (see the module docstring)."""

CHECK_MODULES: tuple[str, ...] = (
    "contract_tests.checks.operations",
    "contract_tests.checks.adversarial_ids",
    "contract_tests.checks.semantics",
    "contract_tests.checks.patch_edges",
    "contract_tests.checks.fidelity",
    "contract_tests.checks.malformed_input",
    "contract_tests.checks.volume",
    "contract_tests.checks.concurrency",
    "contract_tests.checks.concurrent_writers",
    "contract_tests.checks.history",
    "contract_tests.checks.model",
    "contract_tests.checks.schema",
    "contract_tests.checks.read_your_writes",
)
"""The modules that define checks, imported by `load_checks()`."""

__all__ = ["CHECK_MODULES", "HYPOTHESIS", "REGISTRY", "Check", "CheckSkipped", "check", "contract_property", "load_checks", "matches", "select_checks"]

INJECTABLE = frozenset({"contract_client", "contract_run"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Check:
    """One registered check: the property it proves, the function that proves it, its traits."""

    id: str
    func: Callable[..., object]
    canaries: bool = False
    phase: Phase = "main"
    exclusive: str | None = None
    cost: float = 1.0
    measures: tuple[str, ...] = ()

    @property
    def statement(self) -> str:
        return PROPERTIES[self.id]

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.func).parameters)

    def __call__(self, **available: Any) -> object:
        """Call the check with the arguments its parameters name, taken from `available`; a measurement
        returns what it measured (a list of `contract_tests.rates.Measured`)."""
        return self.func(**{name: available[name] for name in self.parameters})


REGISTRY: dict[str, Check] = {}
"""Property id -> its check, in registration order. Filled by importing CHECK_MODULES."""


def check(property_id: str, *, canaries: bool = False, phase: Phase = "main", exclusive: str | None = None,
          cost: float = 1.0, measures: Iterable[str] = ()) -> Callable[[F], F]:
    """Register the decorated function as the check of `property_id` (a key of `PROPERTIES`).

    Raises KeyError for an unknown id, ValueError for a second check of one id or a parameter the
    engine cannot supply (see `INJECTABLE`)."""
    if property_id not in PROPERTIES:
        raise KeyError(f"unknown contract property {property_id!r}")

    def register(func: F) -> F:
        unknown = set(inspect.signature(func).parameters) - INJECTABLE
        if unknown:
            raise ValueError(f"check {property_id}: cannot supply parameter(s) {sorted(unknown)}; use {sorted(INJECTABLE)}")
        existing = REGISTRY.get(property_id)
        if existing is not None and existing.func.__qualname__ != func.__qualname__:
            raise ValueError(f"property {property_id} already has a check ({existing.func.__qualname__})")
        REGISTRY[property_id] = Check(property_id, func, canaries=canaries, phase=phase, exclusive=exclusive,
                                      cost=cost, measures=tuple(measures))
        return func

    return register


def load_checks() -> dict[str, Check]:
    """Import every check module (idempotent) and return the registry, in `PROPERTIES` order."""
    for name in CHECK_MODULES:
        importlib.import_module(name)
    return {pid: REGISTRY[pid] for pid in PROPERTIES if pid in REGISTRY}


def matches(property_id: str, select: Iterable[str] = (), skip: Iterable[str] = ()) -> bool:
    """Whether `--property` globs (`select`, empty: all) keep `property_id` and no `--skip-property` glob drops it.
    The glob rule is the deviations file's (`contract_tests.deviations.glob_matches`): only `*` is a wildcard."""
    select, skip = list(select), list(skip)
    return (not select or any(glob_matches(g, property_id) for g in select)) and not any(glob_matches(g, property_id) for g in skip)


def select_checks(select: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Check]:
    """The registered checks that `select` and `skip` keep, in `PROPERTIES` order."""
    select, skip = list(select), list(skip)
    return [c for pid, c in load_checks().items() if matches(pid, select, skip)]


contract_property = check
"""`@contract_property("id", ...)`: the name the check modules use for `check`."""
