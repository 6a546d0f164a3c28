"""Checks that need memory across requests: delete, merge, timestamps, isolation, persistence."""

from __future__ import annotations

import time

from contract_tests.client import ContractClient
from contract_tests.context import RunContext
from contract_tests.expect import (
    ContractViolation,
    Findings,
    expect,
    expect_status,
    json_body,
)
from contract_tests.registry import contract_property
from contract_tests.steps import (
    data_of,
    give_data,
    new_session,
    read,
    read_data,
    timestamp,
    try_give_data,
)


@contract_property("delete.then-404-everywhere")
def deleted_session_is_404_for_get_head_and_a_second_delete(contract_client: ContractClient) -> None:
    """Every step runs whatever an earlier one found. The client lets each DELETE settle (its
    visibility is consistency.read-your-writes.delete's business); a second DELETE sent *right after*
    the first is concurrency.double-delete's."""
    findings = Findings()
    for _ in range(3):
        sid = new_session(contract_client)
        response = contract_client.delete(sid)
        if not findings.status(response, 200, "DELETE a live session"):
            continue
        body = json_body(response, "DELETE")
        findings.check(isinstance(body, dict) and body.get("sessionId") == sid, f"DELETE answered {body!r}", response)
        findings.status(contract_client.get(sid), 404, "GET after DELETE")
        findings.status(contract_client.head(sid), 404, "HEAD after DELETE")
        findings.status(contract_client.delete(sid), 404, "second DELETE (after the first had settled)")
        findings.status(contract_client.get(sid), 404, "GET after a second DELETE of a deleted session")
    findings.raise_any()


@contract_property("delete.then-patch-404")
def patch_on_a_deleted_session_is_404(contract_client: ContractClient) -> None:
    sid = new_session(contract_client)
    expect_status(contract_client.delete(sid), 200, "DELETE a live session")
    response = contract_client.patch(sid, {"late": True})
    expect_status(response, 404, "PATCH after DELETE")
    expect_status(contract_client.get(sid), 404, "GET after PATCH of a deleted session")


@contract_property("delete.removes-only-target")
def delete_removes_that_session_and_nothing_else(contract_client: ContractClient) -> None:
    sids = [new_session(contract_client) for _ in range(6)]
    with_data = all([try_give_data(contract_client, sid, {"index": index}) for index, sid in enumerate(sids)])
    deleted: set[int] = set()
    for victim in (2, 0, 5):
        expect_status(contract_client.delete(sids[victim]), 200, "DELETE")
        deleted.add(victim)
        for index, sid in enumerate(sids):
            if index in deleted:
                continue
            response = contract_client.get(sid)
            expect(response.status_code == 200, f"deleting {sids[victim]} also removed {sid} (GET {response.status_code})", response)
            expect(not with_data or data_of(response) in (None, {"index": index}), f"deleting {sids[victim]} changed the data of {sid}", response)


@contract_property("patch.merges-top-level")
def patch_merges_at_the_top_level(contract_client: ContractClient) -> None:
    sid = new_session(contract_client)
    steps = [
        ({"a": 1, "b": {"x": 1}}, {"a": 1, "b": {"x": 1}}),
        ({"c": [1, 2]}, {"a": 1, "b": {"x": 1}, "c": [1, 2]}),
        ({"b": {"y": 2}}, {"a": 1, "b": {"y": 2}, "c": [1, 2]}),
        ({"a": None}, {"a": None, "b": {"y": 2}, "c": [1, 2]}),
        ({}, {"a": None, "b": {"y": 2}, "c": [1, 2]}),
    ]
    for patch, expected in steps:
        response = contract_client.patch(sid, patch)
        expect_status(response, 200, f"PATCH {patch}")
        body = json_body(response, "PATCH")
        expect(isinstance(body, dict) and body.get("sessionId") == sid and isinstance(body.get("message"), str),
               f"PATCH answered {body!r}", response)
        got = contract_client.get(sid)
        expect_status(got, 200, "GET after PATCH")
        expect(got.json().get("data") == expected, f"after PATCH {patch} data is {got.json().get('data')!r}, expected {expected!r}", got)


CLOCK_TICK = 1.05  # s: a clock of one-second resolution has advanced after this long


@contract_property("patch.timestamps")
def patch_moves_updated_at_strictly_forward_and_keeps_created_at(contract_client: ContractClient) -> None:
    """"PATCH moves updatedAt strictly forward": a PATCH sent after the clock has had time to advance
    (CLOCK_TICK since the stamp it replaces was read, enough for one-second resolution) must give a
    strictly later updatedAt; a PATCH sooner than that may leave it equal, never earlier."""
    sid = new_session(contract_client)
    first = read(contract_client, sid, "GET a new session")
    created, updated = timestamp(first, "createdAt"), timestamp(first, "updatedAt")
    expect(created <= updated, f"createdAt {first['createdAt']} is after updatedAt {first['updatedAt']}")
    stamped_at = time.monotonic()
    for step in range(4):
        if step == 3:  # the last PATCH surely comes after the clock could advance
            time.sleep(max(0.0, CLOCK_TICK - (time.monotonic() - stamped_at)))
        waited = time.monotonic() - stamped_at
        patched = contract_client.patch(sid, {"step": step})
        expect_status(patched, 200, "PATCH")
        body = read(contract_client, sid, "GET after PATCH")
        response = contract_client.last_response
        expect(body["createdAt"] == first["createdAt"] or timestamp(body, "createdAt") == created,
               f"PATCH changed createdAt from {first['createdAt']} to {body['createdAt']}", response)
        now = timestamp(body, "updatedAt", response)
        expect(now >= updated, f"PATCH moved updatedAt back from {updated.isoformat()} to {body['updatedAt']}", response)
        if waited >= CLOCK_TICK or step == 3:
            expect(now > updated, f"PATCH {waited:.2f} s after updatedAt {updated.isoformat()} was read left it at "
                   f"{body['updatedAt']}: it must move strictly forward", patched)
        expect(timestamp(body, "createdAt") <= now, f"createdAt {body['createdAt']} is after updatedAt {body['updatedAt']}", response)
        if now > updated:
            stamped_at = time.monotonic()
        updated = now


@contract_property("timestamps.unchanged-by-reads-and-errors")
def reads_and_refused_requests_change_no_timestamp(contract_client: ContractClient) -> None:
    """"Nothing else changes either timestamp (a GET, HEAD, 404, 409 or 422 changes no record)":
    after a while (so a changed stamp would differ), GET, HEAD, a conflicting create-with-id (409) and
    a PATCH with a malformed body (422) leave createdAt and updatedAt as they were. Needs no PATCH."""
    sid = new_session(contract_client)
    before = read(contract_client, sid, "GET a new session")
    time.sleep(CLOCK_TICK)
    contract_client.head(sid)
    contract_client.get(sid)
    contract_client.create_with_id(sid)
    contract_client.request("PATCH", f"/api/v1/session/{sid}", content=b'{"data": [1]}', headers={"Content-Type": "application/json"})
    after = read(contract_client, sid, "GET after HEAD, GET, a conflicting create and a malformed PATCH")
    expect((after.get("createdAt"), after.get("updatedAt")) == (before.get("createdAt"), before.get("updatedAt")),
           f"a GET, HEAD, 409 or 422 changed the timestamps: createdAt {before.get('createdAt')} -> {after.get('createdAt')}, "
           f"updatedAt {before.get('updatedAt')} -> {after.get('updatedAt')}", contract_client.last_response)


@contract_property("data.isolated-per-session")
def changing_one_sessions_data_never_changes_another(contract_client: ContractClient) -> None:
    one, two, three = (new_session(contract_client) for _ in range(3))
    shared = {"shared": {"deep": [1, 2]}, "own": "one"}
    give_data(contract_client, one, shared)
    give_data(contract_client, two, {"shared": {"deep": [1, 2]}, "own": "two"})
    give_data(contract_client, one, {"own": "changed", "extra": 1})
    expect(read_data(contract_client, two, "GET the other session") == {"shared": {"deep": [1, 2]}, "own": "two"},
           "PATCHing one session changed another's data", contract_client.last_response)
    expect(read_data(contract_client, three, "GET an untouched session") == {},
           "PATCHing other sessions changed an untouched session's data", contract_client.last_response)
    expect(read_data(contract_client, one, "GET the patched session") == {"shared": {"deep": [1, 2]}, "own": "changed", "extra": 1},
           "the patched session does not hold its own merge", contract_client.last_response)


@contract_property("persistence.until-delete", canaries=True, cost=5.0)
def canaries_made_at_the_start_are_unchanged_after_the_window(contract_client: ContractClient, contract_run: RunContext) -> None:
    """This run's canaries must hold for --persistence-window; with --canary-state, the canaries an
    earlier run planted (hours or days ago, across redeploys) must hold too. Those are then deleted and
    the file keeps only this run's, for the next run. The note says what was covered."""
    if contract_run.canary_error is not None:
        raise contract_run.canary_error
    expect(contract_run.canaries, "no canary session could be made at the start of the run")
    wait = contract_run.options.persistence_window - (time.monotonic() - contract_run.canaries_made_at)
    contract_run.cancel.sleep(max(0.0, min(wait, contract_run.remaining_budget())))
    age = time.monotonic() - contract_run.canaries_made_at
    for sid, snapshot in contract_run.canaries.items():
        response = contract_client.get(sid)
        expect(response.status_code == 200, f"canary {sid} is gone after {age:.1f} s (GET {response.status_code})", response)
        expect(response.json() == snapshot, f"canary {sid} changed after {age:.1f} s: {response.json()!r}", response)
        expect_status(contract_client.head(sid), 204, f"HEAD on canary after {age:.1f} s")
    held = f"{len(contract_run.canaries)} canar{'y' if len(contract_run.canaries) == 1 else 'ies'} held for {age:.0f} s"
    state = contract_run.options.canary_state
    if state is None:
        contract_run.notes["persistence.until-delete"] = held
        return
    from contract_tests.canaries import check, clear, save_state

    earlier = contract_run.previous_canaries
    found = check(contract_client, earlier)
    clear(contract_client, [*found.intact, *(c for c, _ in found.changed)])
    save_state(state, contract_run.target, contract_run.planted)
    covered = found.summary() if earlier else "no canaries from an earlier run yet"
    contract_run.notes["persistence.until-delete"] = f"{covered}; {held}; {len(contract_run.planted)} planted for the next run"
    if not found.ok:
        raise ContractViolation(f"canaries of an earlier run: {found.summary()}", found.first_response)

