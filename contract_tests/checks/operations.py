"""One check per operation-level property: statuses, shapes, ids, errors, malformed input."""

from __future__ import annotations

import uuid

from contract_tests.client import SESSION_PATH, ContractClient
from contract_tests.expect import expect, expect_status, json_body
from contract_tests.registry import contract_property
from contract_tests.steps import data_of, new_session, read, timestamp, try_give_data


@contract_property("health.ok")
def health_answers_200_ok(contract_client: ContractClient) -> None:
    response = contract_client.request("GET", "/health")
    expect_status(response, 200, "GET /health")
    body = json_body(response, "GET /health")
    expect(isinstance(body, dict) and body.get("message") == "OK", "GET /health body lacks \"message\": \"OK\"", response)


@contract_property("create.fresh-id")
def create_answers_201_with_a_fresh_uuid4_each_time(contract_client: ContractClient) -> None:
    seen: set[str] = set()
    for _ in range(5):
        response = contract_client.create()
        expect_status(response, 201, "POST /api/v1/session")
        body = json_body(response, "POST /api/v1/session")
        raw = body.get("sessionId") if isinstance(body, dict) else None
        expect(isinstance(body, dict) and isinstance(body.get("message"), str), "create answer lacks a message string", response)
        try:
            sid = uuid.UUID(str(raw))
        except ValueError:
            sid = None
        expect(sid is not None and sid.version == 4, f"sessionId {raw!r} is not a UUID v4", response)
        expect(raw == str(sid), f"sessionId {raw!r} is not in canonical lowercase hyphenated form", response)
        expect(raw not in seen, f"create answered sessionId {raw} twice", response)
        seen.add(str(raw))


@contract_property("create.read-your-writes")
def created_session_is_visible_at_once_to_get_and_head(contract_client: ContractClient) -> None:
    for _ in range(10):
        sid = new_session(contract_client)
        expect_status(contract_client.get(sid), 200, "GET right after create")
        expect_status(contract_client.head(sid), 204, "HEAD right after create")


@contract_property("create-with-id.same-id")
def create_with_a_fresh_id_answers_201_with_that_id(contract_client: ContractClient) -> None:
    sid = contract_client.fresh_id()
    response = contract_client.create_with_id(sid)
    expect_status(response, 201, "POST /api/v1/session/{fresh id}")
    body = json_body(response, "create-with-id")
    expect(isinstance(body, dict) and body.get("sessionId") == sid, f"create-with-id answered sessionId {body!r}, not {sid}", response)
    expect_status(contract_client.get(sid), 200, "GET after create-with-id")
    spelled = contract_client.fresh_id()
    response = contract_client.create_with_id(spelled.upper())
    expect_status(response, 201, "create-with-id with an uppercase id")
    expect(json_body(response, "create-with-id").get("sessionId") == spelled, "create-with-id does not answer the canonical lowercase id", response)


@contract_property("create-with-id.conflict-409")
def create_with_an_existing_id_is_409_and_leaves_it_untouched(contract_client: ContractClient) -> None:
    for make in ("create", "create-with-id"):
        if make == "create":
            sid = new_session(contract_client)
        else:
            sid = contract_client.fresh_id()
            expect_status(contract_client.create_with_id(sid), 201, "create-with-id on a fresh id")
        try_give_data(contract_client, sid, {"keep": "me", "n": 1})
        before = read(contract_client, sid, "GET before the conflicting create")
        response = contract_client.create_with_id(sid)
        expect_status(response, 409, f"create-with-id on an existing id (made by {make})")
        body = json_body(response, "409 answer")
        expect(isinstance(body, dict) and isinstance(body.get("detail"), str), "409 answer lacks a detail string", response)
        after = contract_client.get(sid)
        expect(after.status_code == 200 and after.json() == before, "the conflicting create changed the existing session", after)


@contract_property("create-with-id.after-delete")
def a_deleted_id_can_be_created_again_as_a_new_empty_session(contract_client: ContractClient) -> None:
    sid = new_session(contract_client)
    patched = try_give_data(contract_client, sid, {"old": True})
    expect_status(contract_client.delete(sid), 200, "DELETE")
    response = contract_client.create_with_id(sid)
    expect_status(response, 201, "create-with-id on a deleted id")
    got = contract_client.get(sid)
    expect_status(got, 200, "GET after re-creating a deleted id")
    if patched and data_of(got) is not None:
        expect(data_of(got) == {}, "a re-created session still holds the deleted session's data", got)


@contract_property("get.shape")
def get_answers_the_session_shape(contract_client: ContractClient) -> None:
    sid = new_session(contract_client)
    response = contract_client.get(sid)
    expect_status(response, 200, "GET a live session")
    body = json_body(response, "GET")
    expect(isinstance(body, dict), "GET body is not an object", response)
    missing = [k for k in ("sessionId", "data", "createdAt", "updatedAt") if k not in body]
    expect(not missing, f"GET answer lacks {', '.join(missing)}", response)
    expect(body["sessionId"] == sid, f"GET answered sessionId {body['sessionId']!r} for {sid}", response)
    expect(body["data"] == {}, f"a new session's data is {body['data']!r}, not {{}}", response)


@contract_property("head.agrees-with-get")
def head_agrees_with_get_for_live_deleted_and_unknown_ids(contract_client: ContractClient) -> None:
    live = new_session(contract_client)
    gone = new_session(contract_client)
    expect_status(contract_client.delete(gone), 200, "DELETE")
    unknown = contract_client.fresh_id()
    for sid, state in ((live, "live"), (gone, "deleted"), (unknown, "never created")):
        for _ in range(3):
            got, head = contract_client.get(sid), contract_client.head(sid)
            agree = (got.status_code, head.status_code) in {(200, 204), (404, 404)}
            expect(agree, f"{state} session: GET answered {got.status_code} but HEAD {head.status_code}", head)
            expect(not head.content, f"HEAD on a {state} session carried a body", head)
    expect(contract_client.head(live).status_code == 204, "HEAD on a live session is not 204")
    expect(contract_client.head(unknown).status_code == 404, "HEAD on an unknown id is not 404")


@contract_property("ids.equivalent-spellings")
def other_spellings_of_an_id_name_the_same_session(contract_client: ContractClient) -> None:
    sid = new_session(contract_client)
    plain = uuid.UUID(sid).hex
    for spelling in (sid.upper(), plain, "{" + sid + "}", "urn:uuid:" + sid):
        response = contract_client.request("GET", f"{SESSION_PATH}/{spelling}")
        expect_status(response, 200, f"GET with the id spelled {spelling!r}")
        expect(response.json().get("sessionId") == sid, f"GET {spelling!r} did not answer the canonical id {sid}", response)
        expect_status(contract_client.request("HEAD", f"{SESSION_PATH}/{spelling}"), 204, f"HEAD {spelling!r}")


@contract_property("timestamps.iso8601-utc")
def timestamps_are_iso8601_with_a_utc_offset(contract_client: ContractClient) -> None:
    sid = new_session(contract_client)
    response = contract_client.get(sid)
    body = read(contract_client, sid, "GET a new session")
    created, updated = timestamp(body, "createdAt", response), timestamp(body, "updatedAt", response)
    expect(created <= updated, f"createdAt {body['createdAt']} is after updatedAt {body['updatedAt']}", response)
    if not try_give_data(contract_client, sid, {"tick": 1}):
        return  # no PATCH on this target: the timestamps of a new session are all there is to check
    response = contract_client.get(sid)
    body = read(contract_client, sid, "GET after PATCH")
    timestamp(body, "createdAt", response)
    timestamp(body, "updatedAt", response)


@contract_property("list.always-404")
def list_answers_404_whatever_the_state(contract_client: ContractClient) -> None:
    def check(when: str) -> None:
        response = contract_client.request("GET", SESSION_PATH)
        expect_status(response, 404, f"GET /api/v1/session {when}")
        body = json_body(response, "list answer")
        expect(isinstance(body, dict) and isinstance(body.get("detail"), str), "list answer lacks a detail string", response)

    check("at the start of the check")
    sids = [new_session(contract_client) for _ in range(3)]
    check("with sessions present")
    for sid in sids:
        contract_client.delete(sid)
    check("after deleting them")


@contract_property("errors.json-detail")
def error_answers_carry_a_json_detail(contract_client: ContractClient) -> None:
    """404 details are documented as `Session <id> not found` (PATCH: `... not found or update
    failed`); the wording around the id may vary, the id itself (canonical form) must be named."""
    unknown = contract_client.fresh_id()
    for response, what in (
        (contract_client.get(unknown), "GET an unknown id"),
        (contract_client.delete(unknown), "DELETE an unknown id"),
    ):
        expect_status(response, 404, what)
        expect(response.headers.get("content-type", "").startswith("application/json"), f"{what}: not application/json", response)
        body = json_body(response, what)
        expect(isinstance(body, dict) and isinstance(body.get("detail"), str), f"{what}: body is not {{\"detail\": str}}", response)
        expect(unknown in body["detail"], f"{what}: detail \"{body['detail'][:120]}\" does not name the id {unknown} "
               f"(documented: \"Session <id> not found\")", response)
    sid = new_session(contract_client)
    conflict = contract_client.create_with_id(sid)
    expect_status(conflict, 409, "create-with-id on an existing id")
    expect(isinstance(json_body(conflict, "409").get("detail"), str), "409 body is not {\"detail\": str}", conflict)
    invalid = contract_client.request("GET", f"{SESSION_PATH}/not-a-uuid")
    expect_status(invalid, 422, "GET a malformed id")
    detail = json_body(invalid, "422").get("detail")
    expect(
        isinstance(detail, list) and detail and all(isinstance(d, dict) and {"loc", "msg", "type"} <= set(d) for d in detail),
        "422 body is not {\"detail\": [{\"loc\", \"msg\", \"type\"}, ...]}",
        invalid,
    )
