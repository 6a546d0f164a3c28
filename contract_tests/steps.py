"""Small steps the checks share: make a session, give it data, read it, parse its timestamps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx

from contract_tests.client import ContractClient, data_of
from contract_tests.expect import (
    ContractViolation,
    blocked,
    expect,
    expect_status,
    json_body,
)

__all__ = ["blocked", "data_of", "give_data", "new_session", "read", "read_data", "timestamp", "try_give_data"]


def new_session(client: ContractClient) -> str:
    """Create a session; a check that merely needs one is blocked (not failed) if create is broken."""
    response = client.create()
    if not 200 <= response.status_code < 300:
        blocked(f"create answered {response.status_code} (see create.fresh-id)")
    try:
        return str(uuid.UUID(str(response.json()["sessionId"])))
    except (ValueError, KeyError, TypeError):
        blocked("create answered no usable sessionId (see create.fresh-id)")
        raise  # unreachable: blocked() skips


def give_data(client: ContractClient, sid: str, data: dict[str, Any]) -> None:
    """PATCH data into a session as a precondition; blocked if PATCH does not answer 200."""
    response = client.patch(sid, data)
    if response.status_code != 200:
        blocked(f"PATCH answered {response.status_code} (see patch.merges-top-level)")


def try_give_data(client: ContractClient, sid: str, data: dict[str, Any]) -> bool:
    """PATCH data in if the target offers PATCH; False (and no violation) if it does not."""
    return client.patch(sid, data).status_code == 200


def read(client: ContractClient, sid: str, what: str) -> dict[str, Any]:
    """GET a session that must exist; its JSON body."""
    response = client.get(sid)
    expect_status(response, 200, what)
    body = json_body(response, what)
    expect(isinstance(body, dict), f"{what}: body is not a JSON object", response)
    return dict(body)


def read_data(client: ContractClient, sid: str, what: str) -> dict[str, Any]:
    response = client.get(sid)
    expect_status(response, 200, what)
    body = json_body(response, what)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        blocked(f"GET answers no data object (see get.shape): {what}")
    return dict(body["data"])


def timestamp(body: dict[str, Any], name: str, response: httpx.Response | None = None) -> datetime:
    """An ISO 8601 date-time with a UTC offset, or a violation."""
    raw = body.get(name)
    if not isinstance(raw, str):
        raise ContractViolation(f"{name} is missing or not a string: {raw!r}", response)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ContractViolation(f"{name} {raw!r} is not an ISO 8601 date-time", response) from None
    expect(value.tzinfo is not None and value.utcoffset() is not None, f"{name} {raw!r} has no UTC offset", response)
    return value
