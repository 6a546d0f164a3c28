"""Whatever bytes and headers reach the mock, it answers a documented status with strict JSON (or, for
HEAD, no body), and never a 5xx.

A Hypothesis property sends odd-but-possible requests, the kind browsers, HTTP libraries and people
really send, to every operation of openapi.yaml and to the admin seed route, over real HTTP to the
mock on loopback (and to the bare reference implementation). Named tests keep the examples that
once answered 5xx or stored `NaN`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import create_mock_app
from mock_server.sqlite_store import SqliteSessionStore
from reference_impl import create_app
from reference_impl.serving import LiveServer
from session_spec import SPEC_PATH, load_spec, operations
from session_spec.rules import MAX_DEPTH

SESSION = "/api/v1/session"
OPERATIONS = operations(load_spec(SPEC_PATH))
SEED_STATUSES = {201, 400, 413, 415, 422}


def strict_json(text: str) -> Any:
    """`json.loads` that refuses NaN and Infinity, as a browser's `response.json()` does."""

    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


# --- odd-but-possible request parts --------------------------------------------------------------

content_types = st.one_of(
    st.none(),
    st.sampled_from([
        "application/json", "Application/JSON", "application/JSON", "APPLICATION/JSON; Charset=UTF-8",
        "application/json;charset=utf-8", "application/json; charset=latin-1", "application/json; charset=bogus",
        "application/json;;", "application/merge-patch+json", "application/vnd.api+json", "text/json",
        "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data",
        "multipart/form-data; boundary=xyz", "application/octet-stream", "*/*", "application", "/", ";", "",
        "application/json, text/plain", "json",
    ]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(str.strip),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
patch_documents = st.one_of(
    st.fixed_dictionaries({"data": st.dictionaries(st.text(max_size=10), json_values, max_size=5)}),
    json_values,
)


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


raw_bodies = st.one_of(
    st.just(b""),
    patch_documents.map(_encode),
    patch_documents.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-16")),
    patch_documents.map(lambda v: b"\xef\xbb\xbf" + _encode(v)),
    st.just('{"data": {"lone": "\\ud800"}}'.encode("utf-16")),
    st.sampled_from([
        b'{"data": {"score": NaN}}', b'{"data": {"score": Infinity}}', b'{"data": {"score": -Infinity}}',
        b'{"data": {"big": 1e400}}', b'{"data": {"n": ' + b"9" * 5000 + b"}}", b'{"data": {"n": -0}}',
        b'{"data": ' + nested(MAX_DEPTH + 50).encode() + b"}", b'{"data": {"x": ' + nested(480).encode() + b"}}",
        b'{"data": {"x": ' + nested(5000).encode() + b"}}", b'{"data": {"x": ' + nested(MAX_DEPTH - 3).encode() + b"}}",
        b'{"data": {}}', b"{", b"null", b"[]", b'"text"', b"\xff\xfe\x00", b"\x00" * 8, b'{"data": {"a": "\\ud800"}}',
        b'{"data": {"a": 1}, "data": {"b": 2}}', b'{"data": {"a": 1}} trailing', b"data=1", b"\xc3\x28",
        b'{"data": {"k": "\xe2\x82\xac"}}',
    ]),
    st.binary(max_size=64),
)

seed_bodies = st.one_of(
    raw_bodies,
    st.lists(
        st.fixed_dictionaries(
            {"sessionId": st.uuids().map(str)},
            optional={"data": st.dictionaries(st.text(max_size=8), json_values, max_size=3), "createdAt": st.sampled_from(
                ["2026-11-28T16:30:00+00:00", "2026-11-28T16:30:00Z", "2026-11-28T16:30:00", "yesterday", 5]
            )},
        ),
        max_size=3,
    ).map(_encode),
    st.sampled_from([
        b'[{"sessionId": "123e4567-e89b-42d3-a456-426614174000", "data": {"score": NaN}}]',
        b'[{"sessionId": "123e4567-e89b-42d3-a456-426614174000", "data": {"x": ' + nested(600).encode() + b"}}]",
    ]),
)

header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
extra_headers = st.dictionaries(
    st.sampled_from(["Accept", "Accept-Encoding", "Origin", "Accept-Charset", "X-Requested-With", "Cookie", "If-None-Match"]),
    st.one_of(header_values, st.sampled_from(["*/*", "application/json", "text/html", "gzip", "null", "http://localhost:5173"])),
    max_size=3,
)
# Preferences that force nothing (a forced status is a documented one anyway); malformed controls answer 400.
prefer_values = st.sampled_from(["return=minimal", "respond-async, wait=5", "example=nope", "code=abc", "delay=-1", "", "handling=lenient"])
odd_ids = st.sampled_from(["not-a-uuid", "%20", "123E4567-E89B-42D3-A456-426614174000", "{123e4567-e89b-42d3-a456-426614174000}",
                           "urn:uuid:123e4567-e89b-42d3-a456-426614174000", "00000000-0000-0000-0000-000000000000", "%00", "%E2%82%AC", "a b"])


# --- servers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["mock", "mock-state-file", "reference"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if request.param == "mock-state-file":
        store = SqliteSessionStore(tmp_path_factory.mktemp("state") / "mock.db")
        app = create_mock_app(store)
    else:
        store = None
        app = create_mock_app() if request.param == "mock" else create_app()
    with LiveServer(app) as live:
        live.is_mock = request.param.startswith("mock")  # type: ignore[attr-defined]
        yield live
    if store is not None:
        asyncio.run(store.close())


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=20.0) as client:
        yield client


@pytest.fixture(scope="module")
def mock_http() -> Iterator[httpx.Client]:
    """The mock alone: the admin routes are the mock's."""
    with LiveServer(create_mock_app()) as live, httpx.Client(base_url=live.base_url, timeout=20.0) as client:
        yield client


def assert_well_formed(response: httpx.Response, method: str, documented: set[int]) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.status_code in documented, (response.status_code, response.text[:300])
    if method == "HEAD" or response.status_code == 204:
        assert response.content == b""
        return
    assert response.headers["content-type"].split(";")[0] == "application/json"
    body = strict_json(response.text)
    if response.status_code >= 400:
        assert set(body) == {"detail"}
        if response.status_code == 422:
            assert isinstance(body["detail"], list) and all({"loc", "msg", "type"} <= set(p) for p in body["detail"])


def assert_session_still_readable(http: httpx.Client, sid: str) -> None:
    response = http.get(f"{SESSION}/{sid}")
    assert response.status_code == 200
    assert isinstance(strict_json(response.text)["data"], dict)


# --- the property --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    operation=st.sampled_from(OPERATIONS),
    which_id=st.one_of(st.just("live"), st.just("fresh"), odd_ids),
    content_type=content_types,
    body=raw_bodies,
    headers=extra_headers,
    prefer=st.one_of(st.none(), prefer_values),
)
def test_every_operation_answers_a_documented_status_with_strict_json_whatever_it_is_sent(
    http: httpx.Client,
    server: LiveServer,
    operation: Any,
    which_id: str,
    content_type: str | None,
    body: bytes,
    headers: dict[str, str],
    prefer: str | None,
) -> None:
    live = http.post(SESSION).json()["sessionId"]
    sid = {"live": live, "fresh": str(uuid.uuid4())}.get(which_id, which_id)
    path = operation.path.replace("{session_id}", sid)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if prefer is not None:
        headers["Prefer"] = prefer
    response = http.request(operation.method.upper(), path, content=body, headers=headers)
    documented = {int(r.status) for r in operation.responses if r.status.isdigit()}
    if prefer is not None and server.is_mock:  # type: ignore[attr-defined]
        documented.add(400)  # the mock's answer to a malformed scenario control
    assert_well_formed(response, operation.method.upper(), documented)
    if not (operation.method.upper() == "DELETE" and response.status_code == 200):
        assert_session_still_readable(http, live)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(content_type=content_types, body=seed_bodies, headers=extra_headers)
def test_the_seed_route_answers_a_documented_status_with_strict_json_whatever_it_is_sent(
    mock_http: httpx.Client, content_type: str | None, body: bytes, headers: dict[str, str]
) -> None:
    http = mock_http
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = http.post("/__mock/sessions", content=body, headers=headers)
    assert_well_formed(response, "POST", SEED_STATUSES)
    if response.status_code == 201:
        for sid in response.json()["sessionIds"]:
            assert_session_still_readable(http, sid)


# --- the examples that once answered 5xx or stored NaN -------------------------------------------


def new_session(http: httpx.Client) -> str:
    response = http.post(SESSION)
    assert response.status_code == 201
    return response.json()["sessionId"]


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/JSON", "APPLICATION/JSON; Charset=UTF-8", "application/merge-patch+json"])
def test_patch_compares_the_media_type_case_insensitively_and_accepts_json_types(http: httpx.Client, content_type: str) -> None:
    sid = new_session(http)
    response = http.patch(f"{SESSION}/{sid}", content=b'{"data": {"step": "discovery"}}', headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert http.get(f"{SESSION}/{sid}").json()["data"] == {"step": "discovery"}


def test_patch_with_a_json_body_and_no_content_type_answers_422_in_fastapis_list_form(http: httpx.Client) -> None:
    sid = new_session(http)
    response = http.patch(f"{SESSION}/{sid}", content=b'{"data": {"a": 1}}')
    assert "content-type" not in response.request.headers
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert http.get(f"{SESSION}/{sid}").json()["data"] == {}


@pytest.mark.parametrize("content_type", ["", ";charset=utf-8", "; charset=utf-8"])
@pytest.mark.parametrize("body", ['{"data": {"n": NaN, "k": 1e400}}', '{"data": {"a": ' + "[" * 5000 + "]" * 5000 + "}}"])
def test_patch_with_an_empty_media_type_is_refused_and_stores_nothing(http: httpx.Client, content_type: str, body: str) -> None:
    sid = new_session(http)
    response = http.patch(f"{SESSION}/{sid}", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422, response.text
    assert "Invalid Content-type" in response.text
    assert strict_json(http.get(f"{SESSION}/{sid}").text)["data"] == {}


def test_patch_nested_480_levels_deep_answers_422_and_leaves_the_session_as_it_was(http: httpx.Client) -> None:
    sid = new_session(http)
    body = '{"data": {"x": ' + nested(480) + "}}"
    assert len(body) < 1024
    response = http.patch(f"{SESSION}/{sid}", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_too_deep"
    assert http.get(f"{SESSION}/{sid}").json()["data"] == {}


def test_patch_nested_up_to_the_documented_limit_round_trips(http: httpx.Client) -> None:
    sid = new_session(http)
    value = json.loads(nested(MAX_DEPTH - 2))  # the body object and `data` are the first two levels
    response = http.patch(f"{SESSION}/{sid}", json={"data": {"x": value}})
    assert response.status_code == 200
    assert strict_json(http.get(f"{SESSION}/{sid}").text)["data"] == {"x": value}
    too_deep = http.patch(f"{SESSION}/{sid}", json={"data": {"x": [value]}})
    assert too_deep.status_code == 422


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_patch_with_nan_or_infinity_answers_422_and_get_keeps_serving_strict_json(http: httpx.Client, constant: str) -> None:
    sid = new_session(http)
    assert http.patch(f"{SESSION}/{sid}", json={"data": {"score": 1}}).status_code == 200
    response = http.patch(f"{SESSION}/{sid}", content=f'{{"data": {{"score": {constant}}}}}', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert strict_json(http.get(f"{SESSION}/{sid}").text)["data"] == {"score": 1}


@pytest.mark.parametrize("leaf", ["NaN", nested(600)])
def test_seed_route_answers_422_to_nan_and_to_600_levels_of_nesting(mock_http: httpx.Client, leaf: str) -> None:
    http = mock_http
    sid = str(uuid.uuid4())
    seed = f'[{{"sessionId": "{sid}", "data": {{"x": {leaf}}}}}]'
    response = http.post("/__mock/sessions", content=seed, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert http.get(f"{SESSION}/{sid}").status_code == 404


def test_the_store_copies_data_of_any_depth_without_recursion() -> None:
    from reference_impl.store import InMemorySessionStore, SessionRecord

    store = InMemorySessionStore()
    deep: Any = {}
    for _ in range(20_000):
        deep = {"x": [deep]}
    sid = uuid.uuid4()
    asyncio.run(store.put(SessionRecord(sid, {"deep": deep})))
    record = asyncio.run(store.get(sid))
    assert record is not None and record.data["deep"] is not deep


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from([SESSION, f"{SESSION}/{uuid.uuid4()}", "/health", "/__mock/sessions", "/nope"]),
    origin=st.one_of(st.sampled_from(["http://localhost:5173", "https://evil.example", "null", "http://127.0.0.1:3000"]), header_values),
    method=st.one_of(st.sampled_from(["GET", "POST", "PATCH", "DELETE", "HEAD", "PUT", "get"]), header_values),
    requested_headers=st.one_of(st.none(), st.sampled_from(["content-type", "content-type, prefer", "x-anything", ""]), header_values),
    private_network=st.one_of(st.none(), st.sampled_from(["true", "false", ""])),
)
def test_every_cors_preflight_answers_200_or_a_json_400(
    mock_http: httpx.Client, path: str, origin: str, method: str, requested_headers: str | None, private_network: str | None
) -> None:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if requested_headers is not None:
        headers["Access-Control-Request-Headers"] = requested_headers
    if private_network is not None:
        headers["Access-Control-Request-Private-Network"] = private_network
    response = mock_http.options(path, headers=headers)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert set(strict_json(response.text)) == {"detail"}
        assert "access-control-allow-private-network" not in response.headers
    elif private_network is not None:
        assert response.headers["access-control-allow-private-network"] == "true"
        assert response.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_json_in_any_unicode_encoding_json_allows_is_read_and_served_back_as_utf8(http: httpx.Client, encoding: str) -> None:
    sid = new_session(http)
    body = '{"data": {"text": "h\u00e9llo \u20ac", "lone": "\\ud800"}}'.encode(encoding)
    response = http.patch(f"{SESSION}/{sid}", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert strict_json(http.get(f"{SESSION}/{sid}").text)["data"] == {"text": "h\u00e9llo \u20ac", "lone": "\ud800"}
