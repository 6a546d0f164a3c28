"""Batons: the checks of one `exclusive` group take turns running Python, and overlap their waits.

A check of an `exclusive` group (see `contract_tests.registry`) holds its group's baton while it runs,
and hands it on whenever it waits on the target: `yielded()` wraps every request the one client
sends and every wait for requests sent by helper threads (`parallel.concurrently`). So two checks
of one group never execute their own code (Hypothesis' included) at the same time, yet their
round trips overlap: against a far deployment the group costs about its longest member's wall
time, not the sum of all of them.

Why the `HYPOTHESIS` group needs it: on CPython 3.11, two threads building ASTs at once can fail
inside Hypothesis' example descriptions (the `ast` module's per-interpreter recursion state is not
guarded against thread switches). A thread that holds no baton (a helper thread sending requests,
a check of no group) never builds ASTs.

Which baton a thread holds is per thread (`threading.local`), not per context: the helper threads of
`ChargedThreadPool` copy the caller's context, and must not think they hold its baton.

Waiting for a baton honours the run's cancel token (no wait of ours outlives a stop), and a thread
cancelled while waiting to take its baton back leaves without it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from contract_tests.cancel import NEVER, CancelToken

POLL = 0.05  # s between two looks at the cancel token while waiting for a baton

_here = threading.local()  # .baton: the Baton this thread holds, .cancel: the token its waits honour


class Baton:
    """A lock taken by one check of a group at a time; `name` is the group's."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()

    def take(self, cancel: CancelToken) -> None:
        """Block until this thread holds the baton; raise `Cancelled` if `cancel` is set first."""
        while not self._lock.acquire(timeout=POLL):
            cancel.check()
        if cancel.cancelled:
            self._lock.release()
            cancel.check()

    def give(self) -> None:
        self._lock.release()


def held() -> Baton | None:
    """The baton the calling thread holds, if any (to hand to threads that run the same group's code)."""
    return getattr(_here, "baton", None)


@contextmanager
def holding(baton: Baton | None, cancel: CancelToken = NEVER) -> Iterator[None]:
    """Run the body holding `baton` (no-op for None); it is handed on around the body's waits (`yielded`)."""
    if baton is None:
        yield
        return
    mine: Baton = baton
    mine.take(cancel)
    _here.baton, _here.cancel = mine, cancel
    try:
        yield
    finally:
        still = getattr(_here, "baton", None) is mine  # not if a stop came while it was handed on
        _here.baton = None
        if still:
            mine.give()


@contextmanager
def yielded() -> Iterator[None]:
    """Hand this thread's baton on for the body (a wait on the target), and take it back after.
    A no-op in a thread that holds none."""
    baton: Baton | None = getattr(_here, "baton", None)
    if baton is None:
        yield
        return
    _here.baton = None
    baton.give()
    try:
        yield
    finally:
        baton.take(_here.cancel)  # raises Cancelled (without the baton) once the run stops
        _here.baton = baton
