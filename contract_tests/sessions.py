"""Session paths and ids, and the book of sessions this run owns (the ownership guard and cleanup read it)."""

from __future__ import annotations

import contextvars
import threading
import uuid
from collections import Counter
from typing import Any

import httpx

SESSION_PATH = "/api/v1/session"
SHARED = ""  # the property key of requests no check made (canaries, cleanup)
# The property each request is charged to; set by the engine around each check (contract_tests.engine).
current_property: contextvars.ContextVar[str] = contextvars.ContextVar("current_property", default=SHARED)


def session_id_in(path: str) -> str | None:
    """The raw `{session_id}` segment of a session path, or None for other paths."""
    prefix = SESSION_PATH + "/"
    if not path.startswith(prefix):
        return None
    return path[len(prefix):]


def as_uuid(raw: str | None) -> uuid.UUID | None:
    """The UUID a raw id spells (any spelling Python accepts), or None."""
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None


def backoff(bound: float, first: float = 0.002, factor: float = 2.0, cap: float = 0.25) -> list[float]:
    """Sleep lengths (s) of a bounded exponential back-off whose sum stays within `bound`."""
    delays: list[float] = []
    delay, total = first, 0.0
    while total + delay <= bound:
        delays.append(delay)
        total += delay
        delay = min(delay * factor, cap)
    return delays


def data_of(response: httpx.Response) -> dict[str, Any] | None:
    """The `data` object of a GET answer, or None if it carries none."""
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        return None
    return data if isinstance(data, dict) else None


def api_path(url: httpx.URL, base_path: str) -> str:
    """The path of `url` below the target's base path (`/api/v1/session/...`), percent-decoded."""
    path = url.path
    base = base_path.rstrip("/")
    return path[len(base):] if base and path.startswith(base + "/") else path


class SessionBook:
    """The sessions this run created, deleted, reserved (fresh random ids) or may have created; thread-safe.

    - `live`: created (a 2xx answer) and not deleted since;
    - `deleted`: a DELETE of ours was acknowledged;
    - `reserved`: random ids handed out by `reserve()`, which the run may create, change and delete;
    - `uncertain`: a create-with-id whose answer never came (it may exist: cleanup must look);
    - `unanswered_creates`: creates without an id whose answer never came (their ids cannot be known);
    - `kept`: canaries that outlive the run (`contract_tests.canaries`): owned, never cleaned up.

    A create and a DELETE of one id that overlap in time (a concurrent history) are answered in an order
    the target chose and read in an order the threads chose: the last answer read says nothing certain
    about whether the id exists. So such an id is `uncertain` once they end (cleanup looks), until a
    write of it alone says again what it is (`begin_write`, `end_write`). Overlapping creates alone, or
    DELETEs alone, leave no doubt: any acknowledged one decides.
    """

    def __init__(self) -> None:
        self.live: set[uuid.UUID] = set()
        self.deleted: set[uuid.UUID] = set()
        self.reserved: set[uuid.UUID] = set()
        self.uncertain: set[uuid.UUID] = set()
        self.unanswered_creates = 0
        self.kept: set[uuid.UUID] = set()  # canaries that outlive the run: ours to read and delete, never cleaned up
        self.creator: dict[uuid.UUID, str] = {}  # the property whose request created each session
        self.writing: dict[uuid.UUID, Counter[str]] = {}  # the methods of each id's writes under way
        self.contended: set[uuid.UUID] = set()  # ids with a create and a DELETE under way at once
        self._lock = threading.Lock()

    def begin_write(self, sid: uuid.UUID, method: str) -> None:
        """A write (`method`: POST, PATCH or DELETE) of `sid` is about to leave; a create and a DELETE
        under way at once make the id contended."""
        with self._lock:
            under_way = self.writing.setdefault(sid, Counter())
            other = {"POST": "DELETE", "DELETE": "POST"}.get(method)
            if other is not None and under_way[other] > 0:
                self.contended.add(sid)
            under_way[method] += 1

    def end_write(self, sid: uuid.UUID, method: str) -> None:
        """A write of `sid` ended (answered or not), after its answer was recorded: a contended id
        becomes uncertain, so cleanup looks at it whatever the last answer said."""
        with self._lock:
            under_way = self.writing.get(sid, Counter())
            under_way[method] -= 1
            if sid in self.contended and sid not in self.kept:
                self.uncertain.add(sid)
            if under_way.total() <= 0:
                self.writing.pop(sid, None)
                self.contended.discard(sid)

    def reserve(self) -> uuid.UUID:
        sid = uuid.uuid4()
        with self._lock:
            self.reserved.add(sid)
        return sid

    def owns(self, sid: uuid.UUID) -> bool:
        with self._lock:
            return sid in self.live or sid in self.deleted or sid in self.reserved or sid in self.uncertain or sid in self.kept

    def keep(self, sid: uuid.UUID) -> None:
        """A canary (planted now or by an earlier run): the run may read and delete it; cleanup leaves it."""
        with self._lock:
            self.live.discard(sid)
            self.uncertain.discard(sid)
            self.kept.add(sid)

    def created(self, sid: uuid.UUID, by: str) -> None:
        with self._lock:
            self.live.add(sid)
            self.deleted.discard(sid)
            self.uncertain.discard(sid)
            self.creator[sid] = by

    def gone(self, sid: uuid.UUID) -> None:
        """A DELETE of ours was acknowledged, or cleanup saw the session gone."""
        with self._lock:
            if sid in self.kept:  # a canary deleted on purpose: no session of the run
                self.kept.discard(sid)
                return
            self.live.discard(sid)
            self.uncertain.discard(sid)
            self.deleted.add(sid)

    def confirmed_gone(self, sid: uuid.UUID) -> None:
        """Cleanup saw the session absent: a created one is now deleted; an uncertain one was never made."""
        with self._lock:
            if sid in self.live:
                self.live.discard(sid)
                self.deleted.add(sid)
            self.uncertain.discard(sid)

    def unanswered_create(self, sid: uuid.UUID | None) -> None:
        """A create left and no answer came back: the session may exist."""
        with self._lock:
            if sid is None:
                self.unanswered_creates += 1
            elif sid not in self.live:
                self.uncertain.add(sid)

    def live_of(self, property_id: str) -> set[uuid.UUID]:
        with self._lock:
            return {sid for sid in self.live if self.creator.get(sid) == property_id}

    def created_count(self) -> int:
        with self._lock:
            return len(self.live) + len(self.deleted)

    def to_clean(self) -> set[uuid.UUID]:
        """The sessions that may still exist: live ones, creates with an id that got no answer, and ids
        a create and a DELETE wrote at once."""
        with self._lock:
            return self.live | self.uncertain
