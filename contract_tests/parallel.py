"""Parallel requests inside one check, on daemon threads that carry the check's charge.

A check that needs a burst of requests (a race, a concurrent history, 2,000 sessions) runs them
here. Two things differ from `concurrent.futures.ThreadPoolExecutor`:

- the threads are daemon threads: the interpreter joins a ThreadPoolExecutor's workers at exit,
  so a request the engine abandoned (see `contract_tests.engine`) could hold the process up to
  its deadline; a daemon thread never delays exit;
- each task runs in a copy of the submitting thread's `contextvars` context, so its requests are
  charged to the submitting check's property (`contract_tests.client.current_property`).

Cancellation stays cooperative: a task ends at its next request once the run's token is set
(`contract_tests.cancel`); nothing is thrown into these threads.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from contract_tests.baton import yielded

T = TypeVar("T")
R = TypeVar("R")
_STOP = object()


class _Future(Future[T]):
    """A future whose `result()` wait hands the waiting thread's baton on (`contract_tests.baton`)."""

    def result(self, timeout: float | None = None) -> T:
        with yielded():
            return super().result(timeout)


class ChargedThreadPool:
    """A fixed-size pool of daemon threads; `submit` and `map` as in `concurrent.futures`.

    Used as a context manager, leaving it waits for every submitted task (as ThreadPoolExecutor's
    `shutdown(wait=True)` does); a task's exception reaches whoever reads its future."""

    def __init__(self, max_workers: int, name: str = "contract-burst") -> None:
        self.max_workers = max(1, max_workers)
        self._name = name
        self._tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shut = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run `fn(*args, **kwargs)` on the pool, in a copy of the caller's context."""
        future: Future[T] = _Future()
        context = contextvars.copy_context()
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot submit to a pool that has been shut down")
            self._tasks.put((future, context, fn, args, kwargs))
            if len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn(item)` for each item, in order; the first exception is raised when its result is read."""
        futures = [self.submit(fn, item) for item in items]

        def results() -> Iterator[R]:
            for future in futures:
                with yielded():  # the caller only waits: its baton, if any, is handed on meanwhile
                    result = future.result()
                yield result

        return results()

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is _STOP:
                return
            future, context, fn, args, kwargs = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = context.run(fn, *args, **kwargs)
            except BaseException as exc:  # Cancelled included: it reaches the reader of the future
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True) -> None:
        """No new tasks; with `wait`, block until every submitted task has ended."""
        with self._lock:
            self._shut = True
            threads = list(self._threads)
        for _ in threads:
            self._tasks.put(_STOP)
        if wait:
            with yielded():
                for thread in threads:
                    thread.join()

    def __enter__(self) -> ChargedThreadPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True)


def concurrently(count: int, action: Callable[[int], T], *, together: bool = True) -> list[T]:
    """`action(i)` for i in range(count), on `count` daemon threads, charged to the caller's
    property. With `together`, a barrier releases them at once (a race); a task that fails before
    the barrier breaks it, so the others do not wait out its 30 s timeout."""
    barrier = threading.Barrier(count) if together and count > 1 else None

    def run(index: int) -> T:
        if barrier is not None:
            try:
                barrier.wait(timeout=30)
            except BaseException:
                barrier.abort()
                raise
        try:
            return action(index)
        except BaseException:
            if barrier is not None:
                barrier.abort()
            raise

    with ChargedThreadPool(max_workers=max(1, count)) as pool:
        futures = [pool.submit(run, i) for i in range(count)]
        with yielded():  # the caller only waits: its baton, if any, is handed on meanwhile
            return [f.result() for f in futures]
