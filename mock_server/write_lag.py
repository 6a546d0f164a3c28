"""`--write-lag MS`: an acknowledged write becomes visible MS milliseconds after its answer.

Production commits each request to its database only after the answer has gone out, so for a few
milliseconds after a 2xx the write is invisible to everyone (a GET right after a 201 create may
answer 404; a second DELETE right after the first may answer 200 again). `LaggingStore` wraps any
`SessionStore` to reproduce that window: a write is checked against the committed state at once
(and answered from it), then queued and committed MS later, in the order the writes were
acknowledged. Reads see only committed writes. Handlers are unchanged.

A create of an id whose create is still waiting to commit answers 409, as production's unique key
makes a second insert of an uncommitted row wait and fail: the window hides writes from reads, it
does not let two creates of one id both succeed. Seeding (`put`) and reset (`clear`) are the mock's own
operations and take effect at once; `clear` drops queued writes, and `close` commits them before
closing the wrapped store.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from reference_impl.store import SessionExists, SessionRecord, SessionStore, next_update_time

Commit = Callable[[], Awaitable[Any]]
log = logging.getLogger("session_mock.write_lag")


class LaggingStore(SessionStore):
    """A `SessionStore` whose writes commit `lag_ms` milliseconds after they are acknowledged."""

    def __init__(self, inner: SessionStore, lag_ms: int) -> None:
        self.inner = inner
        self.lag_s = lag_ms / 1000
        self._queue: deque[tuple[float, Commit]] = deque()
        self._committer: asyncio.Task[None] | None = None
        self._pending_creates: set[uuid.UUID] = set()

    def _enqueue(self, commit: Commit) -> None:
        loop = asyncio.get_running_loop()
        self._queue.append((loop.time() + self.lag_s, commit))
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._commit_in_order())

    async def _commit_in_order(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            due, commit = self._queue[0]
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
                continue
            self._queue.popleft()
            try:
                await commit()
            except Exception:  # one failed commit must not stop the ones after it
                log.exception("a delayed write could not be committed")

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        if session_id is None:
            session_id = uuid.uuid4()
        elif session_id in self._pending_creates or await self.inner.exists(session_id):
            raise SessionExists(str(session_id))
        record = SessionRecord(session_id)
        self._pending_creates.add(session_id)

        async def commit_create() -> None:
            self._pending_creates.discard(record.session_id)
            await self.inner.put(record.copy())

        self._enqueue(commit_create)
        return record

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        return await self.inner.get(session_id)

    async def exists(self, session_id: uuid.UUID) -> bool:
        return await self.inner.exists(session_id)

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        current = await self.inner.get(session_id)
        if current is None:
            return None
        self._enqueue(lambda: self.inner.update(session_id, data))
        current.data.update(data)
        current.updated_at = next_update_time(current.updated_at)  # type: ignore[arg-type]
        return current

    async def delete(self, session_id: uuid.UUID) -> bool:
        if not await self.inner.exists(session_id):
            return False
        self._enqueue(lambda: self.inner.delete(session_id))
        return True

    async def put(self, record: SessionRecord) -> None:
        await self.inner.put(record)

    async def clear(self) -> None:
        self._queue.clear()
        self._pending_creates.clear()
        await self.inner.clear()

    async def count(self) -> int:
        return await self.inner.count()

    async def records(self) -> list[SessionRecord]:
        return await self.inner.records()

    async def close(self) -> None:
        self._queue = deque((0.0, commit) for _, commit in self._queue)  # due now: commit everything acknowledged
        if self._committer is not None and not self._committer.done():
            await self._committer
        elif self._queue:
            await self._commit_in_order()
        await self.inner.close()


def with_write_lag(store: SessionStore, lag_ms: int) -> SessionStore:
    """`store` itself when `lag_ms` is 0 (no layer, no cost), else a `LaggingStore` around it."""
    return LaggingStore(store, lag_ms) if lag_ms > 0 else store
