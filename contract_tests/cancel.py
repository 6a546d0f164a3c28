"""Cooperative cancellation: one token per run that every request and every wait of the suite honours.

Nothing is ever thrown into another thread (an exception landing while a thread holds httpcore's
connection-pool lock can hang a run for good). Instead each thread asks the token at its next
request or wait, and leaves by raising `Cancelled`.

`Cancelled` derives from `BaseException`, not `Exception`, on purpose: Hypothesis (and Schemathesis
under it) catch `Exception` to shrink a failing example, and a cancelled run is not a failure to
shrink. It passes through them, and through any `except Exception` of a check, untouched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Cancelled(BaseException):
    """The run is stopping (Ctrl-C, SIGTERM, time budget): leave now; `reason` says why."""

    def __init__(self, reason: str = "cancelled") -> None:
        super().__init__(reason)
        self.reason = reason


class CancelToken:
    """A one-way switch shared by every thread of a run; thread-safe.

    `cancel(reason)` is idempotent (the first reason is kept). `check()` raises `Cancelled` once the
    token is set; `sleep(s)` waits up to `s` seconds and raises `Cancelled` as soon as it is set,
    so no wait of ours outlives a stop by more than the scheduler's latency.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._reason = ""
        self._lock = threading.Lock()
        self._wakers: dict[int, Callable[[], None]] = {}
        self._next = 0
        self.cancelled_at: float | None = None  # time.monotonic() of the first cancel

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> str:
        return self._reason

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._reason = reason
            self.cancelled_at = time.monotonic()
            self._event.set()
            wakers = list(self._wakers.values())
        for wake in wakers:
            wake()

    def on_cancel(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake()` (cheap, thread-safe: e.g. an `Event.set`) when the token is cancelled, at once if it
        already is; answers the function that forgets it. Lets a wait sleep until its own event or a
        stop, with no polling."""
        with self._lock:
            if not self._event.is_set():
                key = self._next
                self._next += 1
                self._wakers[key] = wake
                return lambda: self._forget(key)
        wake()
        return lambda: None

    def _forget(self, key: int) -> None:
        with self._lock:
            self._wakers.pop(key, None)

    def check(self) -> None:
        """Raise `Cancelled` if the run is stopping."""
        if self._event.is_set():
            raise Cancelled(self._reason)

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds` (s), or raise `Cancelled` the moment the run stops."""
        if seconds <= 0:
            self.check()
            return
        if self._event.wait(seconds):
            raise Cancelled(self._reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or `timeout` (s) passes; True if cancelled. Never raises."""
        return self._event.wait(timeout)


NEVER = CancelToken()
"""A token nobody cancels: the default for code used outside a run (tests of one layer)."""
