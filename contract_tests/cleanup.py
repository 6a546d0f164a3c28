"""Cleanup: delete what the run created, under a time limit of its own, and say truly what is left.

It runs after the run's cancel token was cancelled (Ctrl-C, SIGTERM, time budget), so it sends on a
token of its own, which is cancelled when its `timeout` passes or when `abort` (a second Ctrl-C) is.
A session counts as gone only when a HEAD answered 404 after our DELETE; everything else the run created,
or may have created (a create-with-id whose answer never came), is reported left behind, by id.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import httpx

from contract_tests.cancel import NEVER, Cancelled, CancelToken
from contract_tests.expect import ContractViolation
from contract_tests.ledgers import Hygiene
from contract_tests.sessions import SESSION_PATH, SessionBook, backoff
from contract_tests.transports import Throttled

SETTLE_BOUND = 4.0  # seconds cleanup re-checks a deleted session before calling it left behind


class Send(Protocol):
    """Sends one request on `cancel`, ending by `deadline` (absolute `time.monotonic()`), unchecked for writes."""

    def __call__(self, method: str, path: str, *, cancel: CancelToken, deadline: float) -> httpx.Response: ...


def _watch(token: CancelToken, abort: CancelToken, ends: float, timeout: float, finished: threading.Event) -> None:
    """Cancels the cleanup's `token` when `abort` is cancelled or the time limit passes (a daemon thread)."""
    while True:
        if abort.cancelled:
            token.cancel(f"skipped ({abort.reason or 'aborted'})")
            return
        if time.monotonic() >= ends:
            token.cancel(f"its time limit of {timeout:g} s passed")
            return
        if finished.wait(0.05):
            return


def clean_up(book: SessionBook, send: Send, *, workers: int, timeout: float = 30.0, abort: CancelToken = NEVER) -> Hygiene:
    """Delete every session in `book` that may still exist, `workers` at a time (daemon threads). Sessions
    created while it runs (answers of requests still in flight) are taken in further rounds. No request
    leaves after `timeout` seconds, nor after `abort` is cancelled; what was not confirmed gone by then is
    reported left behind."""
    token = CancelToken()
    ends = time.monotonic() + max(timeout, 0.0)
    finished = threading.Event()
    if abort.cancelled:
        token.cancel(f"skipped ({abort.reason or 'aborted'})")
    threading.Thread(target=_watch, args=(token, abort, ends, timeout, finished), name="contract-cleanup-watch", daemon=True).start()
    attempted: set[uuid.UUID] = set()
    confirmed: set[uuid.UUID] = set()
    errors: list[str] = []
    acknowledged = [0]
    lock = threading.Lock()

    def settle(sid: uuid.UUID) -> None:
        path = f"{SESSION_PATH}/{sid}"
        try:
            response = send("DELETE", path, cancel=token, deadline=ends)
            deleted = 200 <= response.status_code < 300
            if deleted:
                with lock:
                    acknowledged[0] += 1
            if not deleted and response.status_code != 404:
                return
            # Real deployments may commit a DELETE after answering it: re-check with back-off.
            for delay in [0.0, *backoff(SETTLE_BOUND, first=0.01, cap=0.5)]:
                token.sleep(delay)
                if send("HEAD", path, cancel=token, deadline=ends).status_code == 404:
                    book.confirmed_gone(sid)
                    with lock:
                        confirmed.add(sid)
                    return
        except Throttled as exc:  # a gateway held it back beyond cleanup's time: say so
            with lock:
                errors.append(exc.reason)
        except Cancelled:
            return
        except (ContractViolation, httpx.HTTPError) as exc:
            with lock:
                errors.append(str(exc))

    try:
        while not token.cancelled:
            pending = sorted(book.to_clean() - attempted, key=str)
            if not pending:
                break
            attempted.update(pending)
            _run_on_daemons(settle, pending, max(1, min(workers, len(pending))), ends)
    finally:
        finished.set()
    left = (attempted - confirmed) | book.to_clean()
    return Hygiene(
        created=book.created_count(),
        deleted=acknowledged[0],
        left_behind=[str(sid) for sid in sorted(left, key=str)],
        errors=errors,
        unknown=book.unanswered_creates,
        stopped=token.reason if token.cancelled and left else "",
    )


def _run_on_daemons(work: Callable[[uuid.UUID], None], items: list[uuid.UUID], workers: int, ends: float) -> None:
    """`work(item)` for each item on `workers` daemon threads (new threads start with an empty context:
    their requests are charged to SHARED); waits for them at most until shortly after `ends`."""
    queue = list(reversed(items))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            work(item)

    threads = [threading.Thread(target=worker, name="contract-cleanup", daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(ends - time.monotonic(), 0.0) + 1.0)
