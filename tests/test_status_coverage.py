"""The spec's statuses are true: the reference produces every documented (operation, status) pair,
and produces no status the spec does not document.

How this stays right under any `-k` selection and any test order:
- conftest's session-scoped `served_statuses` recorder wraps the ASGI app of the shared
  `reference_server`, so every request any test sends to it is recorded as (operationId, status).
- Documented => produced: `test_every_documented_status_is_produced_by_the_reference` first drives
  a witness request for each pair no test has produced yet (so it also holds when run alone or
  first), then compares the recorded pairs with the spec. A status added to the spec without a
  witness here, and produced by no other test, fails by name.
- Produced => documented: checked here for everything recorded so far, and again at teardown of
  the session-scoped recorder, i.e. after every test that used the server, so statuses produced by
  tests that run after this module are checked too. (A teardown failure is reported by pytest as an
  error and fails the run through its normal machinery; a `pytest_sessionfinish` hook that rewrites
  the exit status would be easy to miss in the output and to break with other plugins.)
- Witnesses are also driven for pairs the spec no longer documents, so removing a status from the
  spec while the reference still produces it is caught as an undocumented status.
The documented 500 needs a failing store: it is served on its own LiveServer, wrapped by the same recorder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from reference_impl import StorageError, create_app
from reference_impl.serving import LiveServer
from reference_impl.store import InMemorySessionStore
from tests.status_coverage import Pair, StatusRecorder

SESSION = "/api/v1/session"
MALFORMED = f"{SESSION}/not-a-uuid"

Witness = Callable[[httpx.Client, StatusRecorder], httpx.Response]


def _existing(client: httpx.Client) -> str:
    return f"{SESSION}/{client.post(SESSION).json()['sessionId']}"


def _unknown() -> str:
    return f"{SESSION}/{uuid.uuid4()}"


class _FailingStore(InMemorySessionStore):
    async def create(self, session_id: uuid.UUID | None = None):
        raise StorageError("storage unavailable (test double)")


def _create_with_failing_store(client: httpx.Client, recorder: StatusRecorder) -> httpx.Response:
    with LiveServer(recorder.wrap(create_app(_FailingStore()))) as server:
        return httpx.post(server.base_url + SESSION, timeout=10)


def _create_twice(client: httpx.Client, recorder: StatusRecorder) -> httpx.Response:
    path = _unknown()
    client.post(path)
    return client.post(path)


WITNESSES: dict[Pair, Witness] = {
    ("create_session", "201"): lambda c, r: c.post(SESSION),
    ("create_session", "500"): _create_with_failing_store,
    ("list_sessions", "404"): lambda c, r: c.get(SESSION),
    ("create_session_with_id", "201"): lambda c, r: c.post(_unknown()),
    ("create_session_with_id", "409"): _create_twice,
    ("create_session_with_id", "422"): lambda c, r: c.post(MALFORMED),
    ("check_session_exists", "204"): lambda c, r: c.head(_existing(c)),
    ("check_session_exists", "404"): lambda c, r: c.head(_unknown()),
    ("check_session_exists", "422"): lambda c, r: c.head(MALFORMED),
    ("get_session", "200"): lambda c, r: c.get(_existing(c)),
    ("get_session", "404"): lambda c, r: c.get(_unknown()),
    ("get_session", "422"): lambda c, r: c.get(MALFORMED),
    ("update_session", "200"): lambda c, r: c.patch(_existing(c), json={"data": {"k": 1}}),
    ("update_session", "404"): lambda c, r: c.patch(_unknown(), json={"data": {"k": 1}}),
    ("update_session", "422"): lambda c, r: c.patch(_existing(c), json={"data": 5}),
    ("delete_session", "200"): lambda c, r: c.delete(_existing(c)),
    ("delete_session", "404"): lambda c, r: c.delete(_unknown()),
    ("delete_session", "422"): lambda c, r: c.delete(MALFORMED),
    ("health", "200"): lambda c, r: c.get("/health"),
}


def test_every_documented_status_is_produced_by_the_reference(client: httpx.Client, served_statuses: StatusRecorder) -> None:
    for pair in sorted((served_statuses.documented | WITNESSES.keys()) - served_statuses.seen):
        witness = WITNESSES.get(pair)
        if witness is not None:
            response = witness(client, served_statuses)
            assert str(response.status_code) == pair[1], f"witness for {pair} got {response.status_code}"
    missing = sorted(served_statuses.unproduced())
    assert not missing, f"documented in openapi.yaml but never produced by the reference in any test: {missing}"


def test_the_reference_produces_no_undocumented_status(client: httpx.Client, served_statuses: StatusRecorder) -> None:
    assert not served_statuses.undocumented(), sorted(served_statuses.undocumented())


def test_the_recorder_maps_requests_to_operations_and_flags_undocumented_statuses() -> None:
    spec = {
        "openapi": "3.0.3",
        "paths": {"/things/{id}": {"get": {"operationId": "get_thing", "responses": {"200": {"description": "ok"}}}}},
    }
    recorder = StatusRecorder(spec)

    async def app(scope, receive, send) -> None:
        status = 200 if scope["path"].endswith("/1") else 500
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with LiveServer(recorder.wrap(app), lifespan="off") as server:
        for path in ("/things/1", "/things/2", "/things/1/extra", "/elsewhere"):
            httpx.get(server.base_url + path, timeout=10)
        httpx.post(server.base_url + "/things/1", timeout=10)
    assert recorder.seen == {("get_thing", "200"), ("get_thing", "500")}
    assert recorder.undocumented() == {("get_thing", "500")}
    assert recorder.unproduced() == set()
