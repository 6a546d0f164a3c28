"""Independent checks run concurrently, so a run against a distant deployment is not latency-bound.

pytest runs one test at a time, and against a target 30 ms away almost every request waits for the
one before it. A check is *independent* when it makes its own sessions and needs nothing but the
run's shared fixtures (`contract_client`, `contract_run`, `contract_options`): such checks are
started together on a thread pool (`ContractRun.check_workers` threads) as soon as the first check
runs, while pytest keeps walking the items; when pytest reaches an independent check it waits for
that check's outcome and reports it as if it had run there (pass, failure with its own reproduction,
skip). Checks that read the run's totals (`consistency.*`), parametrised checks (Schemathesis'
stateless phase) and checks marked `contract_sequential` run in pytest's thread while the pool works.

Hypothesis is thread-safe (since 6.136), but on CPython 3.11 two threads turning source into AST
objects at once can fail ("SystemError: AST constructor recursion depth mismatch": the converter's
depth counter is shared by all threads), and Hypothesis calls `ast.parse` when it describes
examples. `serialize_ast_parsing()` therefore wraps `ast.parse` in one lock for the run.

Each check's requests are charged to it through `client.current_property`, so per-property request
counts stay right however the checks interleave. A check that wants a burst of its own requests uses
`concurrently()`, which keeps that charge on the burst's threads.
"""

from __future__ import annotations

import ast
import contextvars
import inspect
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from contract_tests.client import ContractClient, current_property
from contract_tests.expect import ContractViolation

T = TypeVar("T")
SHARED_FIXTURES = frozenset({"contract_client", "contract_run", "contract_options"})
RUN_LAST_PREFIXES = ("consistency.",)
_AST_LOCK = threading.RLock()
_ORIGINAL_PARSE = ast.parse


def _serialized_parse(*args: Any, **kwargs: Any) -> Any:
    with _AST_LOCK:
        return _ORIGINAL_PARSE(*args, **kwargs)


def serialize_ast_parsing() -> None:
    """Make `ast.parse` hold one process-wide lock (see the module docstring); idempotent."""
    ast.parse = _serialized_parse


class ChargedThreadPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitting thread's context, so the requests
    they send are charged to the submitting check's property (`client.current_property`)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def concurrently(count: int, action: Callable[[int], T], *, together: bool = True) -> list[T]:
    """`action(i)` for i in range(count), on `count` threads; with `together` they are released at
    once by a barrier (a race). Each thread runs in a copy of the caller's context, so its requests
    are charged to the caller's property."""
    barrier = threading.Barrier(count) if together and count > 1 else None
    contexts = [contextvars.copy_context() for _ in range(count)]

    def run(index: int) -> T:
        if barrier is not None:
            barrier.wait(timeout=30)
        return action(index)

    with ThreadPoolExecutor(max_workers=max(1, count)) as pool:
        futures = [pool.submit(contexts[i].run, run, i) for i in range(count)]
        return [f.result() for f in futures]


@dataclass
class Outcome:
    """How one independent check ended: its exception (None: passed) and its own wall time."""

    error: BaseException | None
    duration: float


def independent(item: pytest.Item, property_id: str | None) -> bool:
    """Whether `item` may run on the pool: a contract check needing only the run's shared fixtures."""
    if property_id is None or property_id.startswith(RUN_LAST_PREFIXES):
        return False
    if item.get_closest_marker("contract_sequential") is not None or getattr(item, "callspec", None) is not None:
        return False
    # Exactly pytest's Function: plugins' subclasses (Schemathesis' per-operation items) run their own way.
    if type(item) is not pytest.Function:
        return False
    # What the check itself asks for: its parameters. Autouse fixtures of other installed plugins
    # (pytest-base-url's `_verify_url`, say) join `fixturenames` but run in pytest's thread at set-up.
    names = set(inspect.signature(item.function).parameters)
    return names <= SHARED_FIXTURES


class ConcurrentChecks:
    """The pool of independent checks of one run; started once, drained before cleanup."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.items: dict[str, tuple[pytest.Function, str]] = {}  # nodeid -> (item, property id)
        self.futures: dict[str, Future[Outcome]] = {}
        self.pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def plan(self, items: Iterable[tuple[pytest.Item, str]]) -> None:
        """Remember the independent checks, in the order they should start."""
        for item, pid in items:
            if isinstance(item, pytest.Function):
                self.items[item.nodeid] = (item, pid)

    def planned(self, item: pytest.Item) -> bool:
        return item.nodeid in self.items

    def start(self, client: ContractClient, fixtures: dict[str, Any], stop: Callable[[], str | None]) -> None:
        """Submit every planned check (idempotent). `stop()` returning a reason skips checks not yet begun."""
        with self._lock:
            if self.pool is not None:
                return
            serialize_ast_parsing()
            self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="contract-check")
            for nodeid, (item, pid) in self.items.items():
                wanted = inspect.signature(item.obj).parameters
                kwargs = {name: fixtures[name] for name in wanted if name in fixtures}
                self.futures[nodeid] = self.pool.submit(self._run, client, item, pid, kwargs, stop)

    @staticmethod
    def _run(client: ContractClient, item: pytest.Function, pid: str, kwargs: dict[str, Any],
             stop: Callable[[], str | None]) -> Outcome:
        reason = stop()
        if reason:
            return Outcome(pytest.skip.Exception(reason, _use_item_location=False), 0.0)
        token = current_property.set(pid)
        client.forget_last()
        began = time.monotonic()
        try:
            item.obj(**kwargs)
            return Outcome(None, time.monotonic() - began)
        except BaseException as exc:
            if not (isinstance(exc, ContractViolation) and (exc.response is not None or exc.reproduction)):
                last = client.last_response
                if last is not None:
                    exc.contract_reproduction = client.curl(last.request)  # type: ignore[attr-defined]
            return Outcome(exc, time.monotonic() - began)
        finally:
            current_property.reset(token)

    def outcome(self, item: pytest.Item) -> Outcome:
        """Wait for a planned check's outcome."""
        future = self.futures.get(item.nodeid)
        if future is None:
            raise RuntimeError(f"{item.nodeid} was planned but never started")
        return future.result()

    def drain(self, wait: bool = True) -> None:
        """Let running checks end (or, with `wait=False`, abandon them) and refuse new ones."""
        with self._lock:
            pool = self.pool
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
