"""session-mock over real HTTP (in-process uvicorn on loopback): CORS, forced responses, admin routes, bad input."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from mock_server import create_mock_app
from mock_server.latency import Latency
from reference_impl.serving import LiveServer
from session_spec import find_operation, load_spec

SESSION = "/api/v1/session"
SPEC = load_spec()


@pytest.fixture(scope="module")
def mock() -> Iterator[LiveServer]:
    app = create_mock_app()
    with LiveServer(app) as server:
        server.app = app  # type: ignore[attr-defined]
        yield server


@pytest.fixture()
def http(mock: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock.base_url, timeout=10.0) as client:
        yield client


def stored_count(server: LiveServer) -> int:
    return asyncio.run(server.app.store.count())  # type: ignore[attr-defined]


def new_session(http: httpx.Client) -> str:
    response = http.post(SESSION)
    assert response.status_code == 201
    return response.json()["sessionId"]


def preflight(http: httpx.Client, origin: str, method: str, path: str = SESSION) -> httpx.Response:
    return http.options(
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type, prefer"},
    )


# --- CORS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:3000", "http://localhost:4200"])
@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE", "HEAD"])
def test_preflight_from_any_local_dev_server_port_succeeds(http: httpx.Client, origin: str, method: str) -> None:
    response = preflight(http, origin, method, f"{SESSION}/{uuid.uuid4()}")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert method in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize("origin", ["http://evil.example", "https://localhost:5173", "http://localhost.evil.example:80"])
def test_preflight_from_a_non_local_origin_is_refused(http: httpx.Client, origin: str) -> None:
    response = preflight(http, origin, "POST")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_cross_origin_answers_allow_the_origin_and_expose_the_headers_a_client_reads(http: httpx.Client) -> None:
    response = http.post(SESSION, headers={"Origin": "http://localhost:5173", "Prefer": "code=500"})
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "preference-applied" in exposed and "allow" in exposed
    error = http.get("/no/such/path", headers={"Origin": "http://localhost:5173"})
    assert error.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_cors_origins_option_replaces_the_local_default() -> None:
    with LiveServer(create_mock_app(cors_origins=["http://app.example:8080"])) as server, httpx.Client(base_url=server.base_url) as http:
        assert preflight(http, "http://app.example:8080", "PATCH").headers["access-control-allow-origin"] == "http://app.example:8080"
        refused = preflight(http, "http://localhost:5173", "PATCH")
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


# --- forced responses ----------------------------------------------------------------------------


def spec_example(path: str, method: str, status: str, name: str) -> object:
    return find_operation(SPEC, method, path).example(status, name)


def naming(example: object, sid: str) -> object:
    """The spec example with every session id in it replaced by `sid`, as forced answers name the request's id."""
    return json.loads(re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", sid, json.dumps(example)))


def test_prefer_code_500_answers_the_documented_500_and_creates_nothing(http: httpx.Client, mock: LiveServer) -> None:
    before = stored_count(mock)
    response = http.post(SESSION, headers={"Prefer": "code=500"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Unable to create session"}
    assert response.headers["preference-applied"] == "code=500"
    assert stored_count(mock) == before


def test_query_parameter_code_works_like_the_prefer_header(http: httpx.Client) -> None:
    response = http.post(SESSION, params={"__code": "500"})
    assert response.status_code == 500
    assert response.json() == spec_example("/api/v1/session", "post", "500", "storageFailure")


def test_prefer_example_picks_the_named_example(http: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    response = http.get(f"{SESSION}/{sid}", headers={"Prefer": "example=updated"})
    assert response.status_code == 200
    assert response.json() == naming(spec_example("/api/v1/session/{session_id}", "get", "200", "updated"), sid)


def test_prefer_code_and_example_together_pick_that_example_of_that_status(http: httpx.Client) -> None:
    response = http.patch(f"{SESSION}/{uuid.uuid4()}", json={"data": {}}, params={"__code": "422", "__example": "malformedBody"})
    assert response.status_code == 422
    assert response.json() == spec_example("/api/v1/session/{session_id}", "patch", "422", "malformedBody")


def test_prefer_is_read_among_other_preferences(http: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    response = http.get(SESSION + "/" + sid, headers={"Prefer": 'return=minimal, code=404; example="notFound"'})
    assert response.status_code == 404
    assert response.json() == naming(spec_example("/api/v1/session/{session_id}", "get", "404", "notFound"), sid)


def test_forcing_an_undocumented_status_answers_400_naming_the_available_ones(http: httpx.Client) -> None:
    response = http.post(SESSION, headers={"Prefer": "code=418"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "418" in detail and "201" in detail and "500" in detail


def test_forcing_an_unknown_example_answers_400_naming_the_available_ones(http: httpx.Client) -> None:
    response = http.get(f"{SESSION}/{uuid.uuid4()}", params={"__example": "nope"})
    assert response.status_code == 400
    assert "fresh" in response.json()["detail"] and "updated" in response.json()["detail"]


@pytest.mark.parametrize("control", ["__code=abc", "__code=99", "__delay=-5", "__delay=999999999"])
def test_malformed_scenario_controls_answer_400(http: httpx.Client, control: str) -> None:
    response = http.post(f"{SESSION}?{control}")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_forced_responses_never_change_state(http: httpx.Client, mock: LiveServer) -> None:
    sid = new_session(http)
    fresh = str(uuid.uuid4())
    before = stored_count(mock)
    assert http.delete(f"{SESSION}/{sid}", headers={"Prefer": "code=200"}).status_code == 200
    assert http.patch(f"{SESSION}/{sid}", json={"data": {"x": 1}}, headers={"Prefer": "code=200"}).status_code == 200
    assert http.post(f"{SESSION}/{fresh}", headers={"Prefer": "code=201"}).status_code == 201
    assert http.post(SESSION, params={"__code": "201"}).status_code == 201
    assert http.get(f"{SESSION}/{sid}").json()["data"] == {}
    assert http.head(f"{SESSION}/{fresh}").status_code == 404
    assert stored_count(mock) == before


@pytest.mark.parametrize("status", [204, 404, 422])
def test_forced_head_responses_have_no_body(http: httpx.Client, status: int) -> None:
    response = http.head(f"{SESSION}/{uuid.uuid4()}", headers={"Prefer": f"code={status}"})
    assert response.status_code == status
    assert response.content == b""


def test_a_delayed_request_is_otherwise_answered_normally(http: httpx.Client) -> None:
    sid = http.post(SESSION, headers={"Prefer": "delay=20"}).json()["sessionId"]
    assert http.get(f"{SESSION}/{sid}", params={"__delay": "10", "other": "kept"}).status_code == 200


def test_latency_option_answers_normally_over_http() -> None:
    # The delay itself is asserted in-process (tests/test_mock_layers.py), where it can be recorded.
    with LiveServer(create_mock_app(latency=Latency.parse("5-15"))) as server:
        assert httpx.post(server.base_url + SESSION).status_code == 201


# --- admin routes --------------------------------------------------------------------------------


def test_reset_empties_the_store_and_the_journal(http: httpx.Client, mock: LiveServer) -> None:
    sid = new_session(http)
    response = http.post("/__mock/reset")
    assert response.status_code == 200
    assert stored_count(mock) == 0
    assert http.get("/__mock/requests").json()["requests"] == []
    assert http.head(f"{SESSION}/{sid}").status_code == 404


def test_journal_lists_method_path_status_and_time_of_api_requests(http: httpx.Client) -> None:
    http.post("/__mock/reset")
    sid = new_session(http)
    http.head(f"{SESSION}/{sid}")
    http.post(SESSION, params={"__code": "500"})
    entries = http.get("/__mock/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", SESSION, 201),
        ("HEAD", f"{SESSION}/{sid}", 204),
        ("POST", SESSION, 500),
    ]
    assert entries[2]["query"] == "__code=500"
    assert all(e["time"].endswith("+00:00") for e in entries)


def test_journal_keeps_only_the_last_n_requests() -> None:
    with LiveServer(create_mock_app(journal_size=3)) as server, httpx.Client(base_url=server.base_url) as http:
        ids = [new_session(http) for _ in range(5)]
        for sid in ids:
            http.get(f"{SESSION}/{sid}")
        journal = http.get("/__mock/requests").json()
        assert journal["limit"] == 3
        assert [e["path"] for e in journal["requests"]] == [f"{SESSION}/{sid}" for sid in ids[-3:]]


def test_seed_route_stores_sessions_as_given(http: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    seed = [{"sessionId": sid.upper(), "data": {"status": "seeded"}, "createdAt": "2026-01-01T00:00:00+00:00", "updatedAt": "2026-01-02T00:00:00+00:00"}]
    response = http.post("/__mock/sessions", json=seed)
    assert response.status_code == 201
    assert response.json()["sessionIds"] == [sid]
    session = http.get(f"{SESSION}/{sid}").json()
    assert session["data"] == {"status": "seeded"}
    assert session["createdAt"].startswith("2026-01-01T00:00:00")
    assert session["updatedAt"].startswith("2026-01-02T00:00:00")


@pytest.mark.parametrize(
    "seed",
    [
        {"sessionId": "not a list"},
        [{"data": {}}],
        [{"sessionId": "nope"}],
        [{"sessionId": str(uuid.uuid4()), "data": [1, 2]}],
        [{"sessionId": str(uuid.uuid4()), "createdAt": "2026-01-01T00:00:00"}],
        [{"sessionId": str(uuid.uuid4()), "createdAt": "2026-01-02T00:00:00+00:00", "updatedAt": "2026-01-01T00:00:00+00:00"}],
        [{"sessionId": str(uuid.uuid4()), "colour": "red"}],
        ["a string"],
        # No room left for a PATCH to move updatedAt strictly forward: it would fail with a 500.
        [{"sessionId": str(uuid.uuid4()), "createdAt": "9999-12-31T23:59:59.999999+00:00"}],
    ],
    ids=["object", "no-id", "bad-id", "data-not-object", "naive-time", "updated-before-created", "unknown-field", "not-object",
         "end-of-time"],
)
def test_seed_route_rejects_bad_seeds_with_422_and_stores_nothing(http: httpx.Client, mock: LiveServer, seed: object) -> None:
    before = stored_count(mock)
    response = http.post("/__mock/sessions", json=seed)
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert problems and {"loc", "msg", "type"} <= set(problems[0])
    assert stored_count(mock) == before


def test_seed_route_answers_400_to_malformed_json_and_415_to_other_content(http: httpx.Client) -> None:
    malformed = http.post("/__mock/sessions", content=b"[{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and "JSON" in malformed.json()["detail"]
    wrong_type = http.post("/__mock/sessions", content=b"[]", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and "detail" in wrong_type.json()


def test_unknown_admin_paths_and_methods_answer_json_404_and_405(http: httpx.Client) -> None:
    assert http.get("/__mock/nothing").status_code == 404
    wrong = http.get("/__mock/reset")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST" and "detail" in wrong.json()
    assert "POST /__mock/reset" in http.get("/__mock/").json()["routes"]


def test_admin_routes_stay_out_of_the_served_spec(http: httpx.Client) -> None:
    paths = http.get("/api/v1/openapi.json").json()["paths"]
    assert not [path for path in paths if "__mock" in path]


# --- bad input -----------------------------------------------------------------------------------


def test_malformed_json_and_wrong_content_type_get_json_422s(http: httpx.Client) -> None:
    sid = new_session(http)
    for content, content_type in [(b"{not json", "application/json"), (b'{"data": {}}', "text/plain")]:
        response = http.patch(f"{SESSION}/{sid}", content=content, headers={"Content-Type": content_type})
        assert response.status_code == 422
        assert isinstance(response.json()["detail"], list)


def test_bodies_over_one_mib_get_a_json_413(http: httpx.Client) -> None:
    sid = new_session(http)
    big = b'{"data": {"x": "' + b"a" * (1024 * 1024) + b'"}}'
    declared = http.patch(f"{SESSION}/{sid}", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "limit" in declared.json()["detail"]
    chunked = http.patch(
        f"{SESSION}/{sid}", content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413 and "detail" in chunked.json()
    assert http.get(f"{SESSION}/{sid}").json()["data"] == {}


def test_a_body_just_under_one_mib_is_accepted_declared_or_chunked(http: httpx.Client) -> None:
    sid = new_session(http)
    body = b'{"data": {"x": "' + b"a" * (1024 * 1024 - 100) + b'"}}'
    assert http.patch(f"{SESSION}/{sid}", content=body, headers={"Content-Type": "application/json"}).status_code == 200
    chunked = iter([b'{"data": {"y":', b' "chunked"}}'])
    assert http.patch(f"{SESSION}/{sid}", content=chunked, headers={"Content-Type": "application/json"}).status_code == 200
    assert http.get(f"{SESSION}/{sid}").json()["data"]["y"] == "chunked"


def test_unknown_paths_and_methods_get_json_errors(http: httpx.Client) -> None:
    unknown = http.get("/nothing/here")
    assert unknown.status_code == 404 and "detail" in unknown.json()
    method = http.put(SESSION)
    assert method.status_code == 405 and method.headers["allow"] == "GET, HEAD, POST" and "detail" in method.json()


@pytest.mark.parametrize(
    "method, path, content",
    [
        ("PATCH", f"{SESSION}/{uuid.uuid4()}", b"\xff\xfe"),
        ("PATCH", f"{SESSION}/{uuid.uuid4()}", b"[]"),
        ("PATCH", f"{SESSION}/{uuid.uuid4()}", b'{"data": null}'),
        ("POST", f"{SESSION}/%00", b""),
        ("POST", "/__mock/sessions", b"\xff"),
        ("POST", "/__mock/sessions", b"null"),
    ],
)
def test_hostile_input_never_gets_a_5xx_or_a_stack_trace(http: httpx.Client, method: str, path: str, content: bytes) -> None:
    response = http.request(method, path, content=content, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text and "detail" in response.json()
