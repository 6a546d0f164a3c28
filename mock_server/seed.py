"""The seed format shared by `--seed FILE` and `POST /__mock/sessions`, and loading it into a store.

A seed is a JSON array of sessions:

    [{"sessionId": "<uuid>", "data": {...}, "createdAt": "<ISO 8601 with offset>", "updatedAt": "..."}]

`data` defaults to `{}`, `createdAt` to now and `updatedAt` to `createdAt`. A seeded session
replaces any stored session with the same id. A seed is checked whole before anything is stored.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from reference_impl.store import SessionRecord, SessionStore, utc_now
from session_spec.rules import MalformedId, parse_session_id

SEED_KEYS = {"sessionId", "data", "createdAt", "updatedAt"}
LATEST_SEED_TIME = datetime(9999, 1, 1, tzinfo=UTC)
"""Seeded timestamps lie before this (and after its year-1 twin), so later PATCHes can move updatedAt on."""


class SeedError(Exception):
    """A seed that does not follow the format; `problems` are FastAPI-style `{loc, msg, type}` items."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems))
        self.problems = problems


def _timestamp(value: Any, loc: list[str | int], problems: list[dict[str, Any]]) -> datetime | None:
    if not isinstance(value, str):
        problems.append({"loc": loc, "msg": "Input should be an ISO 8601 date-time string", "type": "datetime_type"})
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        problems.append({"loc": loc, "msg": "Input should be a valid ISO 8601 date-time", "type": "datetime_parsing"})
        return None
    if parsed.utcoffset() is None:
        problems.append({"loc": loc, "msg": "Date-time needs a UTC offset", "type": "timezone_aware"})
        return None
    if not LATEST_SEED_TIME.replace(year=1) < parsed < LATEST_SEED_TIME:
        # A PATCH must be able to move updatedAt strictly forward: leave room before datetime's end.
        problems.append({"loc": loc, "msg": "Date-time must lie after 0001-01-01 and before 9999-01-01", "type": "datetime_range"})
        return None
    return parsed


def parse_seed(document: Any) -> list[SessionRecord]:
    """The records a seed document describes; raises SeedError listing every problem."""
    if not isinstance(document, list):
        raise SeedError([{"loc": ["body"], "msg": "A seed is a JSON array of sessions", "type": "list_type"}])
    problems: list[dict[str, Any]] = []
    records: list[SessionRecord] = []
    seen: set[uuid.UUID] = set()
    for index, item in enumerate(document):
        loc: list[str | int] = ["body", index]
        if not isinstance(item, dict):
            problems.append({"loc": loc, "msg": "Each session is a JSON object", "type": "dict_type"})
            continue
        for extra in sorted(set(item) - SEED_KEYS):
            problems.append({"loc": [*loc, extra], "msg": "Unknown field", "type": "extra_forbidden"})
        sid: uuid.UUID | None = None
        if "sessionId" not in item:
            problems.append({"loc": [*loc, "sessionId"], "msg": "Field required", "type": "missing"})
        elif not isinstance(item["sessionId"], str):
            problems.append({"loc": [*loc, "sessionId"], "msg": "Input should be a valid UUID", "type": "uuid_type"})
        else:
            try:
                sid = parse_session_id(item["sessionId"])
            except MalformedId:
                problems.append({"loc": [*loc, "sessionId"], "msg": "Input should be a valid UUID", "type": "uuid_parsing"})
            if sid is not None and sid in seen:
                problems.append({"loc": [*loc, "sessionId"], "msg": "Duplicate sessionId in this seed", "type": "duplicate"})
        data = item.get("data", {})
        if not isinstance(data, dict):
            problems.append({"loc": [*loc, "data"], "msg": "Input should be a JSON object", "type": "dict_type"})
        created = _timestamp(item["createdAt"], [*loc, "createdAt"], problems) if "createdAt" in item else utc_now()
        updated = _timestamp(item["updatedAt"], [*loc, "updatedAt"], problems) if "updatedAt" in item else created
        if created is not None and updated is not None and updated < created:
            problems.append({"loc": [*loc, "updatedAt"], "msg": "updatedAt must not be before createdAt", "type": "value_error"})
        if sid is not None and isinstance(data, dict) and created is not None and updated is not None:
            seen.add(sid)
            records.append(SessionRecord(sid, data, created, updated))
    if problems:
        raise SeedError(problems)
    return records


async def load_seed(store: SessionStore, records: list[SessionRecord]) -> None:
    """Store every record, in one transaction where the store offers one (`put_many`)."""
    put_many = getattr(store, "put_many", None)
    if put_many is not None:
        await put_many(records)
        return
    for record in records:
        await store.put(record)
