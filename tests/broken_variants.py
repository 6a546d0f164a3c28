"""Deliberately broken deployments of the session API, one fault each, and one that is correct but
different in incidental ways. The conformance suite must fail each broken one on the named property
and pass the correct one. Built from the reference by subclassing its store or handlers, or by a small
ASGI middleware that rewrites answers after Connexion has validated them."""

from __future__ import annotations

import asyncio
import collections
import copy
import itertools
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mock_server.profile import ProfileMiddleware, load_profile
from reference_impl import create_app
from reference_impl.errors import ApiError
from reference_impl.handlers import SessionHandlers
from reference_impl.store import (
    InMemorySessionStore,
    SessionExists,
    SessionRecord,
    StorageError,
    next_update_time,
    utc_now,
)

Scope = dict[str, Any]
Rewrite = Callable[[str, str, int, Any], tuple[int, Any] | None]
Refuse = Callable[[str, str], tuple[int, Any] | None]


class RewriteAnswers:
    """ASGI middleware: `rewrite(method, path, status, json_body)` may return a new (status, body)."""

    def __init__(self, app: Any, rewrite: Rewrite, latency: float = 0.0, refuse: Refuse | None = None) -> None:
        self.app = app
        self.rewrite = rewrite
        self.latency = latency
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.latency:
            await asyncio.sleep(self.latency)
        refused = self.refuse(scope["method"], scope["path"]) if self.refuse else None
        if refused is not None:
            await self._answer(scope, {"status": refused[0], "headers": []}, json.dumps(refused[1]).encode(), send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await self._answer(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _answer(self, scope: Scope, start: dict[str, Any], body: bytes, send: Callable[[Any], Awaitable[None]]) -> None:
        status = start["status"]
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        changed = self.rewrite(scope["method"], scope["path"], status, parsed)
        headers = list(start.get("headers", []))
        if changed is not None:
            status, parsed = changed
            body = b"" if scope["method"] == "HEAD" or parsed is None else json.dumps(parsed).encode()
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            if parsed is not None and not any(k.lower() == b"content-type" for k, _ in headers):
                headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# --- store faults ------------------------------------------------------------------------------


class ExpiringStore(InMemorySessionStore):
    """Sessions silently expire a few seconds after they were created."""

    def __init__(self, ttl: float) -> None:
        super().__init__()
        self.ttl = timedelta(seconds=ttl)

    def _expire(self) -> None:
        now = utc_now()
        for sid, record in list(self._sessions.items()):
            if now - record.created_at > self.ttl:
                del self._sessions[sid]

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        self._expire()
        return await super().get(session_id)

    async def exists(self, session_id: uuid.UUID) -> bool:
        self._expire()
        return await super().exists(session_id)


class EvictingStore(InMemorySessionStore):
    """Keeps only the newest `capacity` sessions (an LRU cache posing as storage)."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        record = await super().create(session_id)
        while len(self._sessions) > self.capacity:
            del self._sessions[next(iter(self._sessions))]
        return record


class SharedDataStore(InMemorySessionStore):
    """Every session's data is the same dict object (a mutable default shared between records)."""

    def __init__(self) -> None:
        super().__init__()
        self.shared: dict[str, Any] = {}

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        record = await super().create(session_id)
        self._sessions[record.session_id].data = self.shared
        return record


class StaleReadStore(InMemorySessionStore):
    """Every `every`-th PATCH and DELETE is applied only a little later: a replica that lags."""

    def __init__(self, every: int = 30, lag: float = 0.3) -> None:
        super().__init__()
        self.counters = {"update": itertools.count(1), "delete": itertools.count(1)}
        self.every = every
        self.lag = lag

    def _lagging(self, kind: str) -> bool:
        return next(self.counters[kind]) % self.every == 0

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        if session_id in self._sessions and self._lagging("update"):
            asyncio.get_running_loop().call_later(self.lag, self._apply, session_id, copy.deepcopy(data))
            return self._sessions[session_id].copy()
        return await super().update(session_id, data)

    def _apply(self, session_id: uuid.UUID, data: dict[str, Any]) -> None:
        record = self._sessions.get(session_id)
        if record is not None:
            record.data.update(data)

    async def delete(self, session_id: uuid.UUID) -> bool:
        if session_id in self._sessions and self._lagging("delete"):
            asyncio.get_running_loop().call_later(self.lag, self._sessions.pop, session_id, None)
            return True
        return await super().delete(session_id)


class ReplacingStore(InMemorySessionStore):
    """PATCH replaces the data instead of merging into it."""

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        if record is not None:
            record.data = {}
        return await super().update(session_id, data)


class RestampingStore(InMemorySessionStore):
    """PATCH merges the data, then sets updatedAt to `restamp(previous updatedAt)`."""

    def restamp(self, previous: Any) -> Any:
        raise NotImplementedError

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        if record is None:
            return None
        previous = record.updated_at
        await super().update(session_id, data)
        record.updated_at = self.restamp(previous)
        return record.copy()


class BackwardsClockStore(RestampingStore):
    """Each PATCH stamps updatedAt a second earlier than the last one."""

    def restamp(self, previous: Any) -> Any:
        return previous - timedelta(seconds=1)


class WrongDeleteStore(InMemorySessionStore):
    """DELETE also removes the newest other session."""

    async def delete(self, session_id: uuid.UUID) -> bool:
        found = await super().delete(session_id)
        if found and self._sessions:
            del self._sessions[next(reversed(self._sessions))]
        return found


class NoConflictStore(InMemorySessionStore):
    """Create-with-id on an existing id quietly succeeds (no 409), leaving the session as it was."""

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        if session_id is not None and session_id in self._sessions:
            return self._sessions[session_id].copy()
        return await super().create(session_id)


class OverwritingStore(InMemorySessionStore):
    """Create-with-id on an existing id answers 409 but has already reset the session to empty."""

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        if session_id is not None and session_id in self._sessions:
            self._sessions[session_id] = SessionRecord(session_id)
            raise SessionExists(str(session_id))
        return await super().create(session_id)


class RacyCreateWithIdStore(InMemorySessionStore):
    """Check-then-insert with an await in between: parallel create-with-id can all win."""

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        if session_id is None:
            return await super().create(None)
        if session_id in self._sessions:
            raise SessionExists(str(session_id))
        await asyncio.sleep(0.01)
        record = SessionRecord(session_id)
        self._sessions[session_id] = record
        return record.copy()


class LostCreatesStore(InMemorySessionStore):
    """Copy-on-write with a stale snapshot: parallel creates overwrite each other's inserts."""

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        snapshot = dict(self._sessions)
        sid = session_id or uuid.uuid4()
        if sid in snapshot:
            raise SessionExists(str(sid))
        await asyncio.sleep(0.01)
        record = SessionRecord(sid)
        snapshot[sid] = record
        self._sessions = snapshot
        return record.copy()


class FrozenUpdatedAtStore(RestampingStore):
    """PATCH merges the data but never touches updatedAt."""

    def restamp(self, previous: Any) -> Any:
        return previous


class TouchingReadStore(InMemorySessionStore):
    """A GET stamps updatedAt ("last accessed"), as a cache layer might."""

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        if record is not None:
            record.updated_at = utc_now()
        return await super().get(session_id)


class UpsertingStore(InMemorySessionStore):
    """PATCH on a missing id creates the session (an upsert) instead of answering 404."""

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        if session_id not in self._sessions:
            self._sessions[session_id] = SessionRecord(session_id)
        return await super().update(session_id, data)


class CommitAfterAnswerStore(InMemorySessionStore):
    """Like production on PostgreSQL: some writes are committed only `lag` seconds after they were
    answered (every `create_every`-th create and every `delete_every`-th DELETE), so a read right
    after the answer may miss them and a second DELETE right after the first may find the session
    still there (200). Create-with-id checks, then inserts: the loser of a race finds the row on
    insert and fails with a storage error (500 "Unable to create session") instead of a 409."""

    def __init__(self, lag: float = 0.008, create_every: int = 5, delete_every: int = 2) -> None:
        super().__init__()
        self.lag = lag
        self.creates = itertools.count(1)
        self.deletes = itertools.count(1)
        self.create_every = create_every
        self.delete_every = delete_every

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        if session_id is not None:
            if session_id in self._sessions:
                raise SessionExists(str(session_id))
            await asyncio.sleep(0.002)  # the check and the insert are two statements
            if session_id in self._sessions:
                raise StorageError("duplicate key value violates unique constraint")
            return await super().create(session_id)
        record = SessionRecord(uuid.uuid4())
        if next(self.creates) % self.create_every == 0:
            asyncio.get_running_loop().call_later(self.lag, self._sessions.__setitem__, record.session_id, record)
        else:
            self._sessions[record.session_id] = record
        return record.copy()

    async def delete(self, session_id: uuid.UUID) -> bool:
        if session_id in self._sessions and next(self.deletes) % self.delete_every == 0:
            asyncio.get_running_loop().call_later(self.lag, self._sessions.pop, session_id, None)
            return True
        return await super().delete(session_id)


class ProductionRateStore(CommitAfterAnswerStore):
    """Like production at the rates measured on it (commit after answering, racy DELETE): a random
    (seeded) `lag_rate` of creates (without an id) and DELETEs commit 2 to 10 ms after their answer,
    never every k-th one; and on a random `race_rate` of DELETEs the row lingers for `race_window`
    seconds for a second DELETE only, which then answers 200 too (GET and HEAD already see it gone).
    Create-with-id keeps the check-then-insert race of the parent (500 for the loser)."""

    def __init__(self, seed: int = 18, lag_rate: float = 0.02, race_rate: float = 0.10, race_window: float = 0.005) -> None:
        super().__init__()
        self.random = random.Random(seed)
        self.lag_rate = lag_rate
        self.race_rate = race_rate
        self.race_window = race_window
        self.lingering: dict[uuid.UUID, float] = {}  # deleted id -> until when a second DELETE still finds it

    def _lag(self) -> float | None:
        return self.random.uniform(0.002, 0.010) if self.random.random() < self.lag_rate else None

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        if session_id is not None:
            return await super().create(session_id)
        record = SessionRecord(uuid.uuid4())
        lag = self._lag()
        if lag is not None:
            asyncio.get_running_loop().call_later(lag, self._sessions.__setitem__, record.session_id, record)
        else:
            self._sessions[record.session_id] = record
        return record.copy()

    async def delete(self, session_id: uuid.UUID) -> bool:
        until = self.lingering.pop(session_id, 0.0)
        if session_id not in self._sessions:
            return time.monotonic() < until
        lag = self._lag()
        if lag is not None:
            asyncio.get_running_loop().call_later(lag, self._sessions.pop, session_id, None)
            return True
        if self.random.random() < self.race_rate:
            self.lingering[session_id] = time.monotonic() + self.race_window
        return await InMemorySessionStore.delete(self, session_id)


class ProductionHandlers(SessionHandlers):
    """Create-with-id answers a storage failure with production's 500 body."""

    async def create_session_with_id(self, session_id: str) -> tuple[dict[str, str], int]:
        try:
            return await super().create_session_with_id(session_id)
        except StorageError:
            raise ApiError(500, "Unable to create session") from None


# --- handler and answer faults -----------------------------------------------------------------


def _is_session_list(method: str, path: str) -> bool:
    return path.rstrip("/") == "/api/v1/session"


def create_answers_200(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    """POST /api/v1/session answers 200 instead of 201."""
    return (200, body) if method == "POST" and _is_session_list(method, path) and status == 201 else None


def head_always_204(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    """HEAD answers 204 even for sessions that do not exist."""
    return (204, None) if method == "HEAD" and status == 404 else None


def list_answers_200(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    """GET /api/v1/session lists nothing with 200 instead of 404."""
    return (200, []) if method == "GET" and _is_session_list(method, path) else None


def malformed_id_500(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    """A malformed id crashes the handler: 500."""
    return (500, {"detail": "Internal Server Error"}) if status == 422 and path.startswith("/api/v1/session/") else None


def naive_timestamps(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    """Timestamps lose their UTC offset."""
    if method == "GET" and status == 200 and isinstance(body, dict) and "createdAt" in body:
        for key in ("createdAt", "updatedAt"):
            body[key] = body[key].replace("+00:00", "")
        return status, body
    return None


def incidental_differences(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    """Correct but different: other messages, extra fields, `Z` timestamps."""
    if not isinstance(body, dict):
        return None
    if "message" in body and path != "/health":
        body["message"] = "ok: done"
    if isinstance(body.get("detail"), str):
        body["detail"] = "Nope. " + body["detail"]
    for key in ("createdAt", "updatedAt"):
        if isinstance(body.get(key), str):
            body[key] = body[key].replace("+00:00", "Z")
    body["servedBy"] = "variant-b"
    return status, body


def detail_without_id(method: str, path: str, status: int, body: Any) -> tuple[int, Any] | None:
    """404 details that do not name the id, with control characters a careless server echoes
    (NUL, ESC, a lone surrogate): the reports must stay printable and the JUnit XML parseable."""
    if status == 404 and method != "HEAD" and path.startswith("/api/v1/session/"):
        return 404, {"detail": "Not found: \x00\x1b[31m\ud800 gone"}
    return None


def production_profile(app: Any, store: Any) -> Any:
    """Production's documented differences (list 405, GET without `data`, PATCH removed, 405s with
    production's `Allow`), as the mock ships them: `session-mock --profile production`'s layer."""
    return ProfileMiddleware(app, load_profile("production"))


@dataclass
class Variant:
    """A deployment to serve, and the property the suite must fail on (None: must pass)."""

    name: str
    expected: str | None
    store_factory: Callable[[], InMemorySessionStore] = InMemorySessionStore
    rewrite: Rewrite | None = None
    latency: float = 0.0
    handlers_class: type[SessionHandlers] = SessionHandlers
    refuse: Refuse | None = None
    wrap: Callable[[Any, Any], Any] | None = None  # (app, store) -> app: an outer ASGI layer

    def build(self) -> tuple[Any, InMemorySessionStore]:
        """(ASGI app, its store)."""
        store = self.store_factory()
        app: Any = create_app(store, handlers_class=self.handlers_class)
        if self.rewrite is not None or self.latency or self.refuse is not None:
            app = RewriteAnswers(app, self.rewrite or (lambda *a: None), self.latency, self.refuse)
        if self.wrap is not None:
            app = self.wrap(app, store)
        return app, store


BROKEN = [
    Variant("expiry-after-1.5s", "persistence.until-delete", lambda: ExpiringStore(ttl=1.5)),
    Variant("eviction-beyond-60", "persistence.under-volume", lambda: EvictingStore(capacity=60)),
    Variant("create-answers-200", "create.fresh-id", rewrite=create_answers_200),
    Variant("head-always-204", "head.agrees-with-get", rewrite=head_always_204),
    Variant("shared-data-object", "data.isolated-per-session", SharedDataStore),
    Variant("stale-read-1-in-10", "consistency.read-your-writes.patch", lambda: StaleReadStore(every=10)),
    Variant("patch-replaces", "patch.merges-top-level", ReplacingStore),
    Variant("updated-at-backwards", "patch.timestamps", BackwardsClockStore),
    Variant("list-answers-200", "list.always-404", rewrite=list_answers_200),
    Variant("malformed-id-500", "input.malformed-is-4xx", rewrite=malformed_id_500),
    Variant("delete-removes-another", "delete.removes-only-target", WrongDeleteStore),
    Variant("no-409-on-existing-id", "create-with-id.conflict-409", NoConflictStore),
    Variant("create-with-id-overwrites", "create-with-id.conflict-409", OverwritingStore),
    Variant("racy-create-with-id", "concurrency.create-with-id-single-winner", RacyCreateWithIdStore),
    Variant("lost-parallel-creates", "concurrency.creates-distinct-none-lost", LostCreatesStore),
    Variant("timestamps-without-offset", "timestamps.iso8601-utc", rewrite=naive_timestamps),
    Variant("updated-at-frozen", "patch.timestamps", FrozenUpdatedAtStore),
    Variant("detail-without-id-control-bytes", "errors.json-detail", rewrite=detail_without_id),
    Variant("get-touches-updated-at", "timestamps.unchanged-by-reads-and-errors", TouchingReadStore),
    Variant("patch-upserts-deleted", "delete.then-patch-404", UpsertingStore),
]

CORRECT_BUT_DIFFERENT = Variant("incidental-differences", None, rewrite=incidental_differences, latency=0.002)

# Like the production service with its known deviations and faults: fails the run unless deviations/production.yaml is given.
# The deviations are the shipped production profile (mock_server/profiles/production.yaml); only what a
# profile cannot express is added: writes committed after answering and the racy create-with-id (the
# store), and the 500 body that race gives (the handlers).
PRODUCTION_LIKE = Variant("production-like", "list.always-404", CommitAfterAnswerStore, handlers_class=ProductionHandlers, wrap=production_profile)
# What a run against PRODUCTION_LIKE with deviations/production.yaml must name, and nothing else.
PRODUCTION_LIKE_VIOLATIONS = {
    "consistency.read-your-writes.create",
    "consistency.read-your-writes.delete",
    "concurrency.double-delete",
    "concurrency.create-with-id-single-winner",
    # The same faults seen by the concurrent checks: a 500 from the lost create-with-id race, and a
    # DELETE whose commit lags behind its answer, explain no order of the history.
    "concurrency.create-with-id-and-delete-explained",
    "linearizability.concurrent-history",
}


# The production service's faults alone, at production's rates (2 % of writes commit late, a DELETE race
# hit ~10 % of the time): what a run must find without any deviations file.
PRODUCTION_RATES = Variant("production-rates", "consistency.read-your-writes.delete", ProductionRateStore,
                           handlers_class=ProductionHandlers)
PRODUCTION_RATES_VIOLATIONS = {
    "consistency.read-your-writes.create",
    "consistency.read-your-writes.delete",
    "concurrency.double-delete",
    "concurrency.create-with-id-single-winner",
}


# --- blind spots: faults that only adversarial data, concurrent clients or odd spellings reveal -----


def _doubles_beyond_2_53(value: Any) -> Any:
    """Integers beyond 2^53 as IEEE doubles, the way a JavaScript or float64 layer keeps them."""
    if isinstance(value, dict):
        return {key: _doubles_beyond_2_53(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_doubles_beyond_2_53(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return float(value)
    return value


class DoubleIntegersStore(InMemorySessionStore):
    """Stores integers beyond 2^53 as doubles: 2^53 + 1 comes back as 9007199254740992.0."""

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        return await super().update(session_id, _doubles_beyond_2_53(data))


class SkipUnchangedPatchStore(InMemorySessionStore):
    """A PATCH that changes no value (`{}`, or a key's current value) is skipped: updatedAt stays."""

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        if record is not None and all(key in record.data and record.data[key] == value for key, value in data.items()):
            return record.copy()
        return await super().update(session_id, data)


class HeadTouchesStore(InMemorySessionStore):
    """HEAD refreshes a last-access time, and that is what updatedAt reports."""

    async def exists(self, session_id: uuid.UUID) -> bool:
        record = self._sessions.get(session_id)
        if record is not None:
            record.updated_at = next_update_time(record.updated_at)  # type: ignore[arg-type]
        return record is not None


class WrongOnceStore(InMemorySessionStore):
    """The first read of a session after start-up answers a stray key in `data`; every later read is right.

    Hypothesis replays a failing sequence to report it, and here the replay passes: the suite must
    still report the violation it saw, with its curl line.
    """

    def __init__(self) -> None:
        super().__init__()
        self.first_read = True

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        record = await super().get(session_id)
        if record is not None and self.first_read:
            self.first_read = False
            record.data = {**record.data, "stray": True}
        return record


class LostUpdateStore(InMemorySessionStore):
    """PATCH reads, merges and writes back with an await between: parallel PATCHes overwrite each other."""

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        if record is None:
            return None
        merged = {**record.data, **copy.deepcopy(data)}
        await asyncio.sleep(0.005)
        record.data = merged
        record.updated_at = next_update_time(record.updated_at)  # type: ignore[arg-type]
        return record.copy()


class TwoPhaseCreateStore(InMemorySessionStore):
    """Create-with-id reserves the id, awaits its durable write, then publishes the record again: a
    DELETE in between answers 200, yet the session is back afterwards."""

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        if session_id is None:
            return await super().create(None)
        if session_id in self._sessions:
            raise SessionExists(str(session_id))
        record = SessionRecord(session_id)
        self._sessions[session_id] = record
        await asyncio.sleep(0.05)  # the durable write: wide enough that DELETEs sent at once land in it
        self._sessions[session_id] = record
        return record.copy()


class LaggingReplicaStore(InMemorySessionStore):
    """Reads go to a replica that applies each write `lag` seconds late, but only under concurrent load:
    while 3 or more requests are in flight, or 4 or more arrived within the last 20 ms (`CountInFlight`
    keeps both). Sequential use, even a GET and a HEAD sent together, never sees the lag."""

    def __init__(self, lag: float = 0.05, threshold: int = 3, burst: int = 4, window: float = 0.02) -> None:
        super().__init__()
        self.replica: dict[uuid.UUID, SessionRecord] = {}
        self.lag = lag
        self.threshold = threshold
        self.burst = burst
        self.window = window
        self.in_flight = 0
        self.arrivals: collections.deque[float] = collections.deque(maxlen=burst)

    def _under_load(self) -> bool:
        recent = len(self.arrivals) == self.burst and time.monotonic() - self.arrivals[0] <= self.window
        return self.in_flight >= self.threshold or recent

    def _replicate(self, session_id: uuid.UUID) -> None:
        record = self._sessions.get(session_id)
        snapshot = record.copy() if record is not None else None

        def apply() -> None:
            if snapshot is None:
                self.replica.pop(session_id, None)
            else:
                self.replica[session_id] = snapshot

        asyncio.get_running_loop().call_later(self.lag, apply)

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        record = await super().create(session_id)
        self._replicate(record.session_id)
        return record

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        record = await super().update(session_id, data)
        self._replicate(session_id)
        return record

    async def delete(self, session_id: uuid.UUID) -> bool:
        found = await super().delete(session_id)
        self._replicate(session_id)
        return found

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        if not self._under_load():
            return await super().get(session_id)
        record = self.replica.get(session_id)
        return record.copy() if record is not None else None

    async def exists(self, session_id: uuid.UUID) -> bool:
        if not self._under_load():
            return await super().exists(session_id)
        return session_id in self.replica


class CountInFlight:
    """ASGI layer: keeps `store.in_flight`, the number of requests being answered, and `store.arrivals`,
    when the latest requests arrived."""

    def __init__(self, app: Any, store: Any) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.store.in_flight += 1
        self.store.arrivals.append(time.monotonic())
        try:
            await self.app(scope, receive, send)
        finally:
            self.store.in_flight -= 1


class _PrefixKeyed(dict):  # type: ignore[type-arg]
    """A dict keyed by the first 30 hex digits of a UUID (a truncated index)."""

    @staticmethod
    def _key(key: Any) -> Any:
        return uuid.UUID(int=key.int >> 8 << 8) if isinstance(key, uuid.UUID) else key

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._key(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(self._key(key), value)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(self._key(key))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._key(key), default)

    def pop(self, key: Any, *default: Any) -> Any:
        return super().pop(self._key(key), *default)


class PrefixMatchStore(InMemorySessionStore):
    """Looks sessions up by the first 30 of their 32 hex digits: an id differing only at the end finds another session."""

    def __init__(self) -> None:
        super().__init__()
        self._sessions = _PrefixKeyed()


class CaseSensitiveMediaType:
    """ASGI layer: a PATCH whose Content-Type is not exactly `application/json` gets 415 (RFC 9110 says
    media types are case-insensitive)."""

    def __init__(self, app: Any, store: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "http" and scope["method"] == "PATCH":
            declared = dict(scope["headers"]).get(b"content-type", b"application/json").split(b";")[0].strip()
            if declared != b"application/json":
                body = json.dumps({"detail": f"Unsupported media type {declared.decode('latin-1')}"}).encode()
                await send({"type": "http.response.start", "status": 415,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


# Each blind-spot variant and the one property that must catch it (its test selects only that property).
BLIND_SPOTS = [
    Variant("big-integers-as-doubles", "data.round-trips-exactly", DoubleIntegersStore),
    Variant("unchanged-patch-keeps-updated-at", "patch.edge-cases", SkipUnchangedPatchStore),
    Variant("head-touches-updated-at", "model.state-machine", HeadTouchesStore),
    Variant("answers-wrong-once", "model.state-machine", WrongOnceStore),
    Variant("lost-update", "concurrency.patches-disjoint-keys-survive", LostUpdateStore),
    Variant("lost-update-in-history", "linearizability.concurrent-history", LostUpdateStore),
    Variant("create-with-id-two-phase", "concurrency.create-with-id-and-delete-explained", TwoPhaseCreateStore),
    # A lag long enough that a loaded machine, which spreads the requests out, still meets it.
    Variant("lagging-replica-under-load", "linearizability.concurrent-history", lambda: LaggingReplicaStore(lag=0.3), wrap=CountInFlight),
    Variant("ids-matched-by-prefix", "ids.adversarial", PrefixMatchStore),
    Variant("eviction-beyond-1500", "persistence.under-volume", lambda: EvictingStore(capacity=1500)),
    Variant("media-type-case-sensitive", "input.malformed-is-4xx", wrap=CaseSensitiveMediaType),
]
