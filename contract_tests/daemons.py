"""The client's helper threads: reusable daemon threads, and `Beside` (one call run next to the caller's)."""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class DaemonWorkers:
    """Reusable daemon threads for the client's helpers (each exchange under a deadline, the HEAD beside a
    read-back GET): a job goes to an idle thread, or to a new one when none is idle; a thread idle for
    `linger` seconds ends. Daemon threads, because an abandoned exchange must never hold up the process's
    exit (a `ThreadPoolExecutor`'s workers are joined at exit); reused, because starting a thread per
    request costs more than the request on loopback. Each job runs in the context it is given."""

    def __init__(self, name: str, linger: float = 10.0) -> None:
        self.name = name
        self.linger = linger
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None], context: contextvars.Context | None = None) -> None:
        run = functools.partial((context or contextvars.Context()).run, job)
        with self._lock:
            if self._idle:
                self._idle.pop().hand(run)
                return
        worker = _Worker(self)
        worker.hand(run)
        threading.Thread(target=worker.loop, name=self.name, daemon=True).start()


class _Worker:
    """One thread of `DaemonWorkers`: runs the job it is handed, then waits (at most `linger` s) for the next."""

    def __init__(self, owner: DaemonWorkers) -> None:
        self.owner = owner
        self.job: Callable[[], None] | None = None
        self.wake = threading.Event()

    def hand(self, job: Callable[[], None]) -> None:
        self.job = job
        self.wake.set()

    def loop(self) -> None:
        while True:
            if not self.wake.wait(self.owner.linger):
                with self.owner._lock:
                    if self.job is None:  # still idle: leave (no job can be handed to it any more)
                        self.owner._idle.remove(self)
                        return
            self.wake.clear()
            job, self.job = self.job, None
            if job is not None:
                try:
                    job()
                except BaseException:  # jobs hand their own outcome back; never kill the thread
                    pass
            with self.owner._lock:
                self.owner._idle.append(self)


HELPERS = DaemonWorkers("contract-helper")


class Beside(Generic[T]):
    """Runs `fn` on a helper daemon thread, in a copy of the caller's context (so its requests are
    charged to the caller's property); `result()` waits for it."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        HELPERS.submit(self._run, contextvars.copy_context())

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to whoever waits for the result
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set whenever there is no error
