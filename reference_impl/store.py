"""Session storage: the interface every store keeps, and the in-memory store."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


class StorageError(Exception):
    """The store could not carry out an operation (the API answers 500 where documented)."""


class SessionExists(Exception):
    """A session with the requested id already exists."""


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and scalars), made without recursion.

    `copy.deepcopy` recurses (about 480 levels of nesting exhaust Python's default recursion
    limit); this copies any depth with an explicit stack. Scalars are immutable and shared.
    """
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, (dict, list)):
                child: Any = {} if isinstance(item, dict) else []
                stack.append((item, child))
                item = child
            if isinstance(target, dict):
                target[key] = item
            else:
                target.append(item)
    return root


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SessionRecord:
    """One stored session. `data` belongs to this record alone."""

    session_id: uuid.UUID
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.updated_at is None:
            self.updated_at = self.created_at

    def copy(self) -> SessionRecord:
        return SessionRecord(self.session_id, copy_json(self.data), self.created_at, self.updated_at)

    def to_json(self) -> dict[str, Any]:
        """The record in the contract's `Session` shape (sharing `data`: stores hand out copies)."""
        return {
            "sessionId": str(self.session_id),
            "data": self.data,
            "createdAt": self.created_at.isoformat(timespec="microseconds"),
            "updatedAt": self.updated_at.isoformat(timespec="microseconds"),  # type: ignore[union-attr]
        }


def next_update_time(previous: datetime) -> datetime:
    """Now, but strictly after `previous`, so `updatedAt` only ever moves forward."""
    return max(utc_now(), previous + timedelta(microseconds=1))


class SessionStore(abc.ABC):
    """What the handlers need from storage. Every method returns copies, never shared objects."""

    @abc.abstractmethod
    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        """Create an empty session; a fresh uuid4 when no id is given. Raises SessionExists."""

    @abc.abstractmethod
    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        """The session, or None."""

    async def exists(self, session_id: uuid.UUID) -> bool:
        return await self.get(session_id) is not None

    @abc.abstractmethod
    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        """Merge `data` into the session's data at the top level; None if there is no session."""

    @abc.abstractmethod
    async def delete(self, session_id: uuid.UUID) -> bool:
        """Remove the session; False if there was none."""

    @abc.abstractmethod
    async def put(self, record: SessionRecord) -> None:
        """Store a whole record as given, replacing any with its id (seeding and restore)."""

    @abc.abstractmethod
    async def clear(self) -> None:
        """Remove every session."""

    @abc.abstractmethod
    async def count(self) -> int:
        """How many sessions are stored."""

    @abc.abstractmethod
    async def records(self) -> list[SessionRecord]:
        """Every stored session (copies), for the mock's `GET /__mock/sessions`."""

    async def close(self) -> None:
        """Release resources; the default store has none."""


class InMemorySessionStore(SessionStore):
    """Sessions in a dict, for one process. Operations never await midway, so each is atomic."""

    def __init__(self) -> None:
        self._sessions: dict[uuid.UUID, SessionRecord] = {}

    async def create(self, session_id: uuid.UUID | None = None) -> SessionRecord:
        if session_id is None:
            session_id = uuid.uuid4()
            while session_id in self._sessions:
                session_id = uuid.uuid4()
        elif session_id in self._sessions:
            raise SessionExists(str(session_id))
        record = SessionRecord(session_id)
        self._sessions[session_id] = record
        return record.copy()

    async def get(self, session_id: uuid.UUID) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        return record.copy() if record else None

    async def exists(self, session_id: uuid.UUID) -> bool:
        return session_id in self._sessions

    async def update(self, session_id: uuid.UUID, data: dict[str, Any]) -> SessionRecord | None:
        record = self._sessions.get(session_id)
        if record is None:
            return None
        record.data.update(copy_json(data))
        record.updated_at = next_update_time(record.updated_at)  # type: ignore[arg-type]
        return record.copy()

    async def delete(self, session_id: uuid.UUID) -> bool:
        return self._sessions.pop(session_id, None) is not None

    async def put(self, record: SessionRecord) -> None:
        self._sessions[record.session_id] = record.copy()

    async def clear(self) -> None:
        self._sessions.clear()

    async def count(self) -> int:
        return len(self._sessions)

    async def records(self) -> list[SessionRecord]:
        return [record.copy() for record in self._sessions.values()]
