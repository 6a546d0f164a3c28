"""Each of the mock's layers alone, in-process: one layer around a tiny app, called through
`httpx.ASGITransport`, as Starlette tests its own middleware. No server, no sockets.

Layers that sit inside Connexion's exception handling raise `ApiError` for Connexion to render;
here the raise itself is the answer under test.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from mock_server.admin import AdminRoutes
from mock_server.app import create_mock_app, declared_proxy_stack, declared_stack
from mock_server.body_limit import BodyLimitMiddleware
from mock_server.cors import JsonCORSMiddleware, cors_options
from mock_server.examples import ResponseCatalogue
from mock_server.forced import ScenarioMiddleware
from mock_server.journal import JournalMiddleware, RequestJournal
from mock_server.latency import Latency
from mock_server.profile import ProfileMiddleware, load_profile
from mock_server.proxy import ProxySettings
from mock_server.stack import flow_section, middlewares
from mock_server.stand_in import StandIn
from mock_server.violations import ViolationLog
from reference_impl.app import reference_middlewares
from reference_impl.errors import ApiError, RequestValidationError
from reference_impl.json_body import StrictJsonBody
from reference_impl.store import InMemorySessionStore, SessionRecord
from session_spec import SPEC_PATH, load_spec

SID = uuid.UUID("3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e")
ARCHITECTURE_PAGE = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


class Inner:
    """The tiny app a layer wraps: answers 200 JSON naming what it received, and counts its calls."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.calls: list[Scope] = []
        self.status, self.body = status, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.calls.append(scope)
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        received = {"headers": {k.decode(): v.decode() for k, v in scope["headers"]}, "body": b"".join(chunks).decode()}
        payload = json.dumps(self.body if self.body is not None else received).encode()
        await send({"type": "http.response.start", "status": self.status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


def call(app: Any, method: str, path: str, **options: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            return await client.request(method, path, **options)

    return asyncio.run(go())


class Routed:
    """Stands in for Connexion's routing: marks every request as the given operation."""

    def __init__(self, app: Any, operation_id: str) -> None:
        self.app, self.operation_id = app, operation_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, "extensions": {"connexion_routing": {"operation_id": self.operation_id}}}
        await self.app(scope, receive, send)


# --- scenarios: --latency and Prefer: delay -------------------------------------------------------


def scenario_app(latency: Latency, slept: list[float]) -> tuple[Any, Inner]:
    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    inner = Inner()
    layer = ScenarioMiddleware(inner, ResponseCatalogue(SPEC_PATH), latency, sleep=record_sleep)
    return Routed(layer, "health"), inner


def test_latency_delays_every_routed_request_by_a_time_within_its_range() -> None:
    slept: list[float] = []
    app, inner = scenario_app(Latency.parse("5-15"), slept)
    for _ in range(20):
        assert call(app, "GET", "/health").status_code == 200
    assert len(slept) == 20 and all(0.005 <= seconds <= 0.015 for seconds in slept), slept
    assert len(inner.calls) == 20


def test_a_prefer_delay_adds_to_the_latency_and_no_latency_means_no_wait() -> None:
    slept: list[float] = []
    app, _ = scenario_app(Latency.parse("7"), slept)
    call(app, "GET", "/health", headers={"Prefer": "delay=20"})
    assert slept == [pytest.approx(0.027)]
    slept.clear()
    app, _ = scenario_app(Latency(), slept)
    call(app, "GET", "/health")
    assert slept == []


def test_a_forced_answer_never_reaches_the_app() -> None:
    slept: list[float] = []
    app, inner = scenario_app(Latency(), slept)
    answer = call(app, "GET", "/health", headers={"Prefer": "code=503"})
    assert (answer.status_code, answer.headers["retry-after"], inner.calls) == (503, "1", [])


# --- body limit ----------------------------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read() -> None:
    inner = Inner()
    with pytest.raises(ApiError) as refused:
        call(BodyLimitMiddleware(inner, max_bytes=10), "POST", "/x", content=b"x" * 11)
    assert refused.value.status == 413 and "10 bytes" in refused.value.detail and inner.calls == []


def test_a_chunked_body_within_the_limit_is_handed_on_with_its_length() -> None:
    inner = Inner()

    async def chunks() -> Any:
        yield b"12345"
        yield b"678"

    answer = call(BodyLimitMiddleware(inner, max_bytes=10), "POST", "/x", content=chunks())
    received = answer.json()
    assert received["body"] == "12345678" and received["headers"]["content-length"] == "8"
    assert "transfer-encoding" not in received["headers"]
    with pytest.raises(ApiError):
        call(BodyLimitMiddleware(Inner(), max_bytes=7), "POST", "/x", content=chunks())


# --- journal -------------------------------------------------------------------------------------


def test_the_journal_notes_api_requests_with_their_status_but_not_admin_requests() -> None:
    journal = RequestJournal(limit=2)
    app = JournalMiddleware(Inner(status=404), journal, not_journaled="/__mock/")
    call(app, "GET", "/api/v1/session", params={"a": "1"})
    call(app, "GET", "/__mock/requests")
    entries = journal.entries()
    assert [(e["method"], e["path"], e["query"], e["status"]) for e in entries] == [("GET", "/api/v1/session", "a=1", 404)]
    call(app, "POST", "/one")
    call(app, "POST", "/two")
    assert [e["path"] for e in journal.entries()] == ["/one", "/two"]  # bounded, oldest dropped


# --- production profile --------------------------------------------------------------------------


def test_the_production_profile_refuses_what_production_does_not_serve_without_calling_the_app() -> None:
    inner = Inner()
    app = ProfileMiddleware(inner, load_profile("production"))
    listing = call(app, "GET", "/api/v1/session")
    patch = call(app, "PATCH", f"/api/v1/session/{SID}", json={"data": {}})
    assert (listing.status_code, listing.headers["allow"], listing.json()) == (405, "POST", {"detail": "Method Not Allowed"})
    assert (patch.status_code, patch.headers["allow"]) == (405, "GET")
    assert inner.calls == []


def test_the_production_profile_rewrites_get_into_a_summary_without_data() -> None:
    record = {"sessionId": str(SID), "data": {"a": 1}, "createdAt": "t", "updatedAt": "t"}
    app = ProfileMiddleware(Inner(body=record), load_profile("production"))
    answer = call(app, "GET", f"/api/v1/session/{SID}")
    assert answer.json() == {"sessionId": str(SID), "createdAt": "t", "updatedAt": "t", "message": "Session found"}
    assert answer.headers["content-length"] == str(len(answer.content))


# --- the one admin router ------------------------------------------------------------------------


def admin(violations: ViolationLog | None = None) -> tuple[AdminRoutes, InMemorySessionStore, Inner]:
    store, inner = InMemorySessionStore(), Inner()
    return AdminRoutes(inner, store, RequestJournal(), violations), store, inner


def test_get_sessions_lists_the_count_and_every_stored_record() -> None:
    router, store, inner = admin()
    assert call(router, "GET", "/__mock/sessions").json() == {"count": 0, "sessions": []}
    asyncio.run(store.put(SessionRecord(SID, {"k": [1, None]})))
    listed = call(router, "GET", "/__mock/sessions").json()
    assert listed["count"] == 1 and listed["sessions"][0]["sessionId"] == str(SID) and listed["sessions"][0]["data"] == {"k": [1, None]}
    head = call(router, "HEAD", "/__mock/sessions")
    assert head.status_code == 200 and head.content == b""
    assert inner.calls == []


def test_every_admin_405_names_head_beside_get() -> None:
    router, _, _ = admin(ViolationLog())
    for path, allow in [("/__mock/violations", "GET, HEAD"), ("/__mock/sessions", "GET, HEAD, POST"), ("/__mock/reset", "POST")]:
        with pytest.raises(ApiError) as refused:
            call(router, "DELETE", path)
        assert (refused.value.status, refused.value.headers) == (405, {"Allow": allow}), path


def test_with_the_proxy_the_router_serves_violations_and_refuses_the_unused_store() -> None:
    log = ViolationLog()
    router, _, inner = admin(log)
    assert call(router, "GET", "/__mock/violations").json()["exchanges"] == 0
    with pytest.raises(ApiError) as refused:
        call(router, "GET", "/__mock/sessions")
    assert refused.value.status == 409
    plain, _, _ = admin()
    with pytest.raises(ApiError) as missing:
        call(plain, "GET", "/__mock/violations")
    assert missing.value.status == 404
    assert call(router, "GET", "/api/v1/session").status_code == 200 and len(inner.calls) == 1  # not an admin path: passed on


# --- the stack, declared once --------------------------------------------------------------------


def test_the_mock_runs_the_reference_layers_in_the_references_order() -> None:
    app = create_mock_app()
    reference = reference_middlewares(load_spec())
    ours = [layer.middleware_class for layer in app.layers if layer.middleware is not None]
    theirs = [getattr(entry, "func", entry) for entry in reference]
    assert [cls for cls in ours if cls in theirs] == theirs
    assert middlewares(app.layers) == [layer.middleware for layer in app.layers if layer.middleware is not None]


def test_off_features_leave_no_layer() -> None:
    names = [layer.name for layer in create_mock_app(cors=False).layers if layer.middleware is not None]
    assert "CORS" not in names and "proxy" not in names and "production profile" not in names and "heap freeze" not in names
    assert "request journal" in names and "admin routes" in names


def test_the_architecture_pages_flow_section_is_the_declared_stack() -> None:
    text = ARCHITECTURE_PAGE.read_text(encoding="utf-8")
    found = re.search(r"<!-- stack:start[^\n]*-->\n(.*?)\n<!-- stack:end -->", text, re.DOTALL)
    assert found is not None, "docs/architecture.md has no <!-- stack:start --> ... <!-- stack:end --> section"
    assert found.group(1) == flow_section(declared_stack(), declared_proxy_stack()), "regenerate it: make docs-generated"


def test_the_flow_section_writer_keeps_the_page_around_it(tmp_path: Path) -> None:
    from mock_server.stack import write_flow_section

    page = tmp_path / "page.md"
    page.write_text("# Page\n\n<!-- stack:start (generated) -->\nstale\n<!-- stack:end -->\n\nAfter.\n", encoding="utf-8")
    write_flow_section(page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Page\n\n<!-- stack:start (generated) -->\n") and text.endswith("\n<!-- stack:end -->\n\nAfter.\n")
    assert flow_section(declared_stack(), declared_proxy_stack()) in text and "stale" not in text


def proxy_app() -> Any:
    return create_mock_app(stand_in=StandIn(proxy=ProxySettings("http://127.0.0.1:9")))


def test_the_proxy_is_its_own_app_with_the_mocks_outer_layers_and_no_store() -> None:
    app = proxy_app()
    names = [layer.name for layer in app.layers if layer.middleware is not None]
    assert names == [
        "server-error guard", "reset barrier", "request journal", "allowed hosts", "CORS", "exception handling", "body limit", "admin routes",
        "Swagger UI", "scenarios", "proxy",
    ]
    assert not hasattr(app, "store")


def test_the_proxy_apps_admin_errors_are_rendered_in_the_contracts_shape() -> None:
    app = proxy_app()
    assert call(app, "POST", "/__mock/reset").json() == {
        "message": "Mock reset", "sessionsRemoved": 0, "fixturesRestored": 0, "requestsWaitedFor": 0, "requestsCancelled": 0,
    }
    listing = call(app, "GET", "/__mock/sessions")
    assert listing.status_code == 409 and "proxied deployment" in listing.json()["detail"]
    refused = call(app, "DELETE", "/__mock/violations")
    assert (refused.status_code, refused.headers["allow"], refused.headers["content-type"]) == (405, "GET, HEAD", "application/json")
    assert call(app, "HEAD", "/__mock/nowhere").content == b""
    too_big = call(app, "POST", "/api/v1/session", content=b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413 and too_big.json()["detail"].startswith("Request body too large")


# --- CORS and the reference's strict JSON layer --------------------------------------------------


def test_a_refused_preflight_answers_json_naming_the_reason_and_an_allowed_one_passes_no_further() -> None:
    inner = Inner()
    app = JsonCORSMiddleware(inner, **cors_options(None))
    asked = {"access-control-request-method": "PATCH"}
    refused = call(app, "OPTIONS", "/api/v1/session", headers={"origin": "http://evil.example", **asked})
    assert refused.status_code == 400 and refused.headers["content-type"] == "application/json"
    assert refused.json() == {"detail": "CORS preflight refused: origin http://evil.example is not allowed (see --cors-origin)"}
    allowed = call(app, "OPTIONS", "/api/v1/session", headers={"origin": "http://localhost:5173", **asked})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert inner.calls == []


def test_the_strict_json_layer_hands_on_plain_json_and_refuses_nan_with_a_422_problem() -> None:
    inner = Inner()
    app = Routed(StrictJsonBody(inner, operation_ids=frozenset({"update_session"})), "update_session")
    passed = call(app, "PATCH", f"/api/v1/session/{SID}", content=b'{"data": {}}', headers={"content-type": "Application/Merge-Patch+JSON"})
    assert passed.json()["headers"]["content-type"] == "application/json" and passed.json()["body"] == '{"data": {}}'
    with pytest.raises(RequestValidationError) as refused:
        call(app, "PATCH", f"/api/v1/session/{SID}", content=b'{"data": {"n": NaN}}', headers={"content-type": "application/json"})
    assert refused.value.errors[0]["loc"] == ["body"] and len(inner.calls) == 1
