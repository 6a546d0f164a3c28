"""Canary sessions that outlive a run: planted by one run (or `session-contract canary plant`), checked
by a later one, hours or days later, so `persistence.until-delete` covers TTLs and redeploys, not just
the seconds of one run.

The state file (`--canary-state FILE`, `canary ... --state FILE`) is JSON, written atomically:

    {"version": 1, "target": "https://staging.example", "canaries": [
        {"sessionId": "...", "plantedAt": "2026-12-05T10:00:00+00:00", "data": {...},
         "createdAt": "...", "updatedAt": "..."}]}

Each canary is the GET body recorded when it was planted; a later GET must answer exactly that, and HEAD
204. The ids in the file are the run's own to read and, for `canary check --clear` and `canary clear`,
to delete (the ownership guard accepts them); no run's cleanup deletes them, and they are not counted
as left behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract_tests.client import SHARED, ContractClient, current_property
from contract_tests.expect import ContractViolation

STATE_VERSION = 1


class CanaryStateError(ValueError):
    """The state file cannot be read or written; one line for the user."""


@dataclass(frozen=True)
class Canary:
    session_id: str
    planted_at: datetime
    snapshot: dict[str, Any]  # the GET body recorded when it was planted

    def as_json(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "plantedAt": self.planted_at.isoformat(), **{
            k: v for k, v in self.snapshot.items() if k != "sessionId"}}

    @classmethod
    def from_json(cls, entry: Any) -> Canary:
        if not isinstance(entry, dict) or not isinstance(entry.get("sessionId"), str) or not isinstance(entry.get("plantedAt"), str):
            raise ValueError("a canary needs sessionId and plantedAt")
        planted = datetime.fromisoformat(entry["plantedAt"])
        snapshot = {k: v for k, v in entry.items() if k != "plantedAt"}
        return cls(entry["sessionId"], planted if planted.tzinfo else planted.replace(tzinfo=UTC), snapshot)


def load_state(path: str | os.PathLike[str]) -> list[Canary]:
    """The canaries recorded in `path` ([] when it does not exist); CanaryStateError when it is unusable."""
    target = Path(path)
    if not target.exists():
        return []
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
            raise ValueError(f"not a canary state file of version {STATE_VERSION}")
        return [Canary.from_json(entry) for entry in document.get("canaries", [])]
    except (OSError, ValueError) as exc:
        raise CanaryStateError(f"canary state {path}: cannot be read ({exc})") from None


def save_state(path: str | os.PathLike[str], target: str, canaries: Iterable[Canary]) -> None:
    """Write the state atomically (a crash leaves the old file or the new one, never half of one)."""
    where = Path(path)
    document = {"version": STATE_VERSION, "target": target, "canaries": [c.as_json() for c in canaries]}
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=where.parent, prefix=f".{where.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2)
            out.write("\n")
        os.replace(temporary, where)
    except OSError as exc:
        raise CanaryStateError(f"canary state {path}: cannot be written ({exc.strerror or exc})") from None


def plant(client: ContractClient, count: int) -> list[Canary]:
    """Create `count` canaries with data of their own, each kept by the client (never cleaned up)."""
    planted: list[Canary] = []
    token = current_property.set(SHARED)
    try:
        for index in range(count):
            created = client.create()
            try:
                sid = str(created.json()["sessionId"])
            except (ValueError, KeyError, TypeError):
                raise ContractViolation(f"creating a canary answered {created.status_code}", created) from None
            keep(client, [sid])
            client.patch(sid, {"canary": index, "nested": {"kept": [index, "x"]}, "note": "a session-contract canary"})
            snapshot = client.get(sid)
            if snapshot.status_code == 200 and isinstance(snapshot.json(), dict):
                planted.append(Canary(sid, datetime.now(UTC), snapshot.json()))
    finally:
        current_property.reset(token)
    return planted


def keep(client: ContractClient, ids: Iterable[str]) -> None:
    """The client may read and delete these canaries, and its cleanup leaves them alone."""
    for sid in ids:
        parsed = _uuid(sid)
        if parsed is not None:
            client.sessions.keep(parsed)


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@dataclass
class CanaryCheck:
    """What a later look at the canaries found."""

    intact: list[Canary] = field(default_factory=list)
    missing: list[tuple[Canary, str]] = field(default_factory=list)  # (canary, what was seen)
    changed: list[tuple[Canary, str]] = field(default_factory=list)
    first_response: Any = None  # the first bad answer, for the reproduction

    @property
    def ok(self) -> bool:
        return not self.missing and not self.changed

    def summary(self, now: datetime | None = None) -> str:
        """`12 canaries planted 26 h ago: all intact`, or which are gone or changed."""
        every = self.intact + [c for c, _ in self.missing] + [c for c, _ in self.changed]
        if not every:
            return "no canaries to check"
        oldest = min(c.planted_at for c in every)
        head = f"{len(every)} canar{'y' if len(every) == 1 else 'ies'} planted {age_text(oldest, now)} ago"
        if self.ok:
            return f"{head}: all intact"
        parts = [f"{len(self.missing)} gone" if self.missing else "", f"{len(self.changed)} changed" if self.changed else ""]
        first = (self.missing or self.changed)[0]
        return f"{head}: {', '.join(p for p in parts if p)}; first: {first[0].session_id} {first[1]}"


def check(client: ContractClient, canaries: Iterable[Canary]) -> CanaryCheck:
    """GET and HEAD each canary: it must answer 200 with its recorded body, and 204."""
    found = CanaryCheck()
    token = current_property.set(current_property.get() or SHARED)
    try:
        for canary in canaries:
            keep(client, [canary.session_id])
            get = client.get(canary.session_id)
            if get.status_code != 200:
                found.missing.append((canary, f"is gone (GET {get.status_code})"))
                found.first_response = found.first_response or get
                continue
            try:
                body = get.json()
            except ValueError:
                body = None
            if body != canary.snapshot:
                found.changed.append((canary, f"changed: GET answered {get.text[:300]!r}"))
                found.first_response = found.first_response or get
                continue
            head = client.head(canary.session_id)
            if head.status_code != 204:
                found.missing.append((canary, f"HEAD answered {head.status_code} (GET 200)"))
                found.first_response = found.first_response or head
                continue
            found.intact.append(canary)
    finally:
        current_property.reset(token)
    return found


def clear(client: ContractClient, canaries: Iterable[Canary]) -> list[str]:
    """Delete the canaries; the ids whose DELETE answered neither 2xx nor 404 (those may still exist)."""
    failed: list[str] = []
    token = current_property.set(SHARED)
    try:
        for canary in canaries:
            keep(client, [canary.session_id])
            response = client.delete(canary.session_id, check_write=False)
            if not (200 <= response.status_code < 300 or response.status_code == 404):
                failed.append(canary.session_id)
    finally:
        current_property.reset(token)
    return failed


def age_text(planted: datetime, now: datetime | None = None) -> str:
    """`12 s`, `5 min`, `26 h`, `4 d`."""
    seconds = max(((now or datetime.now(UTC)) - planted).total_seconds(), 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 120 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 72 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"
