"""PATCH at its edges: nested objects replaced whole, the empty PATCH, and a PATCH that changes no value."""

from __future__ import annotations

from datetime import datetime

from contract_tests.client import ContractClient
from contract_tests.expect import expect, expect_status
from contract_tests.registry import contract_property
from contract_tests.steps import give_data, new_session, read, timestamp


def patch_and_read(client: ContractClient, sid: str, data: dict[str, object], what: str) -> tuple[dict[str, object], datetime]:
    """PATCH (must answer 200), then GET: (data, updatedAt)."""
    expect_status(client.patch(sid, data), 200, what)
    body = read(client, sid, f"GET after {what}")
    return body.get("data"), timestamp(body, "updatedAt", client.last_response)  # type: ignore[return-value]


@contract_property("patch.edge-cases")
def patch_replaces_nested_objects_and_every_patch_moves_updated_at(contract_client: ContractClient) -> None:
    sid = new_session(contract_client)
    give_data(contract_client, sid, {"tree": {"a": {"b": {"c": 1, "keep?": True}}, "side": [1]}, "other": 1})
    data, before = patch_and_read(contract_client, sid, {"tree": {"a": {"b": {"d": 2}}}}, "PATCH of a nested object")
    expect(data == {"tree": {"a": {"b": {"d": 2}}}, "other": 1},
           f"a nested object was merged into instead of replaced: data is {data!r}", contract_client.last_response)
    data, after = patch_and_read(contract_client, sid, {}, 'PATCH {"data": {}}')
    expect(data == {"tree": {"a": {"b": {"d": 2}}}, "other": 1}, f'PATCH {{"data": {{}}}} changed the data to {data!r}',
           contract_client.last_response)
    expect(after > before, f'PATCH {{"data": {{}}}} did not move updatedAt ({before.isoformat()} -> {after.isoformat()})',
           contract_client.last_response)
    data, again = patch_and_read(contract_client, sid, {"other": 1}, "PATCH writing a key's current value")
    expect(again > after, f"a PATCH writing a key's current value did not move updatedAt ({after.isoformat()} -> {again.isoformat()})",
           contract_client.last_response)
