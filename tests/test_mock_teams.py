"""session-mock for teams (issue 21): proxy mode honours the controls, reset is a barrier, refusals are
loud, unknown hosts are refused. Each layer alone in-process first, then end-to-end over loopback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from contract_tests import diff as contract_diff
from mock_server import cli as mock_cli
from mock_server.app import create_mock_app
from mock_server.barrier import ResetBarrier, ResetBarrierMiddleware
from mock_server.cors import JsonCORSMiddleware, cors_options
from mock_server.examples import ResponseCatalogue
from mock_server.forced import ScenarioMiddleware
from mock_server.forwarded import ForwardedMiddleware, check_root_path
from mock_server.hosts import AllowedHosts, AllowedHostsMiddleware, check_allowed_host
from mock_server.latency import Latency
from mock_server.profile import available_profiles, load_profile
from mock_server.proxy import ProxySettings
from mock_server.record import Recording
from mock_server.seed import load_seed
from mock_server.stand_in import StandIn
from reference_impl import create_app
from reference_impl.errors import ApiError
from reference_impl.serving import LiveServer
from reference_impl.store import InMemorySessionStore, SessionRecord
from session_spec import SPEC_PATH, load_spec
from session_spec.rules import OperationTable
from tests.mock_process import MockProcess, run_cli
from tests.test_mock_layers import Inner, call

SID = uuid.UUID("3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e")


# --- 1. proxy mode honours the controls -----------------------------------------------------------


def proxy_scenarios(latency: Latency, slept: list[float]) -> tuple[Any, Inner]:
    """The scenarios layer as the proxy runs it: the operation found from the spec's paths, no Connexion routing."""

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    deployment = Inner(201, {"sessionId": str(SID), "createdAt": "2024-01-01T00:00:00Z"})
    layer = ScenarioMiddleware(deployment, ResponseCatalogue(SPEC_PATH), latency, sleep=record_sleep, operations=OperationTable(load_spec()))
    return layer, deployment


def test_in_proxy_mode_a_forced_answer_is_given_by_the_mock_and_never_reaches_the_deployment() -> None:
    app, deployment = proxy_scenarios(Latency(), [])
    forced = call(app, "POST", "/api/v1/session", json={"data": {}}, headers={"Prefer": "code=500"})
    by_query = call(app, "GET", f"/api/v1/session/{SID}?__code=404")
    assert forced.status_code == 500 and forced.headers["preference-applied"] == "code=500"
    assert by_query.status_code == 404 and str(SID) in by_query.text
    assert deployment.calls == []


def test_in_proxy_mode_latency_and_prefer_delay_apply_before_forwarding_and_controls_are_stripped() -> None:
    slept: list[float] = []
    app, deployment = proxy_scenarios(Latency.parse("800"), slept)
    answer = call(app, "GET", f"/api/v1/session/{SID}?__delay=200&keep=1")
    assert answer.status_code == 201
    assert slept == [1.0]
    assert [scope["query_string"] for scope in deployment.calls] == [b"keep=1"]


def test_in_proxy_mode_an_undocumented_status_is_refused_and_not_forwarded() -> None:
    app, deployment = proxy_scenarios(Latency(), [])
    with pytest.raises(ApiError, match="Status 418 is not documented") as raised:
        call(app, "POST", "/api/v1/session", json={"data": {}}, headers={"Prefer": "code=418"})
    assert raised.value.status == 400 and deployment.calls == []


def test_a_forced_answer_through_a_real_proxy_leaves_the_deployment_untouched() -> None:
    store = InMemorySessionStore()
    with LiveServer(create_app(store)) as deployment:
        proxy = create_mock_app(stand_in=StandIn(proxy=ProxySettings(deployment.base_url)), latency=Latency.parse("1"))
        with LiveServer(proxy) as mock, httpx.Client(base_url=mock.base_url) as http:
            forced = http.post("/api/v1/session", json={"data": {"a": 1}}, headers={"Prefer": "code=500"})
            forced_by_query = http.post("/api/v1/session?__code=503", json={"data": {"a": 1}})
            refused = http.post("/api/v1/session", json={"data": {"a": 1}}, headers={"Prefer": "code=418"})
            assert asyncio.run(store.count()) == 0  # the deployment saw nothing
            created = http.post("/api/v1/session", json={"data": {"a": 1}})
    assert forced.status_code == 500 and forced_by_query.status_code == 503
    assert forced_by_query.headers["retry-after"] == "1"
    assert refused.status_code == 400 and "418" in refused.json()["detail"]
    assert created.status_code == 201 and asyncio.run(store.count()) == 1


def test_the_banner_says_latency_and_forced_answers_apply_before_forwarding() -> None:
    parser = mock_cli.build_parser()
    args = parser.parse_args(["--proxy", "http://127.0.0.1:9", "--latency", "800"])
    text = mock_cli.banner("http://127.0.0.1:8090", args, InMemorySessionStore(), 0)
    assert "Latency      800 ms before forwarding" in text
    assert "never forwarded" in text
    assert "proxied; nothing stored here" in text and "sessions stored" not in text  # nothing is stored in proxy mode
    assert "/__mock/violations (GET)" in text and "/__mock/namespace" not in text  # proxy mode's admin routes


# --- 3. reset as a barrier ------------------------------------------------------------------------


class Slow:
    """An app whose answer waits until `release` is set (or for ever), counting the requests it finished."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.finished = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.started += 1
        await self.release.wait()
        self.finished += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})


def barrier_app(grace_s: float) -> tuple[Any, ResetBarrier, Slow]:
    barrier = ResetBarrier(grace_s)
    slow = Slow()
    return ResetBarrierMiddleware(slow, barrier=barrier, exempt="/__mock/"), barrier, slow


async def _request(app: Any, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        return await client.get(path)


def test_a_reset_waits_for_requests_that_started_before_it_and_clears_only_after_they_end() -> None:
    async def scenario() -> tuple[list[str], httpx.Response, Any]:
        app, barrier, slow = barrier_app(grace_s=30)
        order: list[str] = []
        in_flight = asyncio.ensure_future(_request(app, "/api/v1/session"))
        while slow.started == 0:
            await asyncio.sleep(0)

        async def clear() -> str:
            order.append(f"clear after {slow.finished} finished")
            return "cleared"

        reset = asyncio.ensure_future(barrier.reset(clear))
        await asyncio.sleep(0.01)
        order.append("released")
        slow.release.set()
        answer = await in_flight
        return order, answer, await reset

    order, answer, outcome = asyncio.run(scenario())
    assert order == ["released", "clear after 1 finished"]
    assert answer.status_code == 200
    assert (outcome.waited_for, outcome.cancelled, outcome.cleared) == (1, 0, "cleared")


def test_a_request_still_running_after_the_grace_is_cancelled_with_a_json_503_and_retry_after() -> None:
    async def scenario() -> tuple[httpx.Response, Any, int]:
        app, barrier, slow = barrier_app(grace_s=0.01)
        in_flight = asyncio.ensure_future(_request(app, "/api/v1/session"))
        while slow.started == 0:
            await asyncio.sleep(0)

        async def clear() -> int:
            return slow.finished

        outcome = await barrier.reset(clear)
        return await in_flight, outcome, slow.finished

    answer, outcome, finished = asyncio.run(scenario())
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert "POST /__mock/reset" in answer.json()["detail"]
    assert (outcome.waited_for, outcome.cancelled, outcome.cleared, finished) == (1, 1, 0, 0)


def test_requests_arriving_during_a_reset_wait_for_it_and_admin_routes_are_not_held() -> None:
    async def scenario() -> tuple[list[str], int]:
        app, barrier, slow = barrier_app(grace_s=30)
        order: list[str] = []
        first = asyncio.ensure_future(_request(app, "/api/v1/session"))
        while slow.started == 0:
            await asyncio.sleep(0)

        async def clear() -> None:
            order.append(f"clear with {slow.started} started")

        reset = asyncio.ensure_future(barrier.reset(clear))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(_request(app, "/api/v1/session"))
        admin = asyncio.ensure_future(_request(app, "/__mock/requests"))
        await asyncio.sleep(0.01)
        order.append(f"{slow.started} started while the reset waits")
        slow.release.set()
        await asyncio.gather(first, second, admin, reset)
        return order, slow.started

    order, started = asyncio.run(scenario())
    # The admin request ran at once (it is the third start); the held API request only after the clearing.
    assert order == ["2 started while the reset waits", "clear with 2 started"]
    assert started == 3


def test_reset_restores_the_seed_fixtures_by_default_and_fixtures_none_leaves_the_store_empty() -> None:
    fixture = SessionRecord(SID, {"user": "fixture"})
    app = create_mock_app(fixtures=[fixture])
    created = call(app, "POST", "/api/v1/session", json={"data": {}})
    assert created.status_code == 201
    restored = call(app, "POST", "/__mock/reset")
    assert restored.json()["fixturesRestored"] == 1 and restored.json()["sessionsRemoved"] == 1
    assert call(app, "GET", f"/api/v1/session/{SID}").json()["data"] == {"user": "fixture"}
    emptied = call(app, "POST", "/__mock/reset?fixtures=none")
    assert emptied.json()["fixturesRestored"] == 0
    assert call(app, "GET", "/__mock/sessions").json()["count"] == 0
    refused = call(app, "POST", "/__mock/reset?fixtures=maybe")
    assert refused.status_code == 400 and "fixtures='maybe'" in refused.json()["detail"]
    assert call(app, "POST", "/__mock/reset?keep=1").status_code == 400


def test_a_request_in_a_latency_delay_during_a_reset_answers_503_and_never_lands_in_store_or_journal() -> None:
    async def scenario() -> tuple[httpx.Response, httpx.Response, int, list[Any]]:
        app = create_mock_app(latency=Latency.parse("60000"), reset_grace_s=0.05)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            await client.get("/__mock/requests")  # the app builds its stack on its first request
            delayed = asyncio.ensure_future(client.post("/api/v1/session", json={"data": {}}))
            await asyncio.sleep(0.05)
            reset = await client.post("/__mock/reset")
            answer = await delayed
            sessions = (await client.get("/__mock/sessions")).json()["count"]
            journal = (await client.get("/__mock/requests")).json()["requests"]
        return answer, reset, sessions, journal

    answer, reset, sessions, journal = asyncio.run(scenario())
    assert answer.status_code == 503 and "POST /__mock/reset" in answer.json()["detail"]
    assert reset.json()["requestsCancelled"] == 1
    assert (sessions, journal) == (0, [])


def test_over_http_a_reset_of_the_command_restores_its_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps([{"sessionId": str(SID), "data": {"user": "fixture"}}]), encoding="utf-8")
    with MockProcess("--seed", seed) as mock, httpx.Client(base_url=mock.base_url) as http:
        http.delete(f"/api/v1/session/{SID}")
        http.post("/api/v1/session", json={"data": {}})
        reset = http.post("/__mock/reset").json()
        sessions = http.get("/__mock/sessions").json()
    assert (reset["sessionsRemoved"], reset["fixturesRestored"]) == (1, 1)
    assert [record["sessionId"] for record in sessions["sessions"]] == [str(SID)]


# --- 7. loud refusals -----------------------------------------------------------------------------


def cors_layer(origins: list[str] | None = None) -> tuple[Any, Inner]:
    inner = Inner()
    return JsonCORSMiddleware(inner, **cors_options(origins)), inner


def preflight(method: str, origin: str = "http://localhost:5173") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method}


def test_a_preflight_for_a_method_in_another_letter_case_answers_200_without_it_and_logs_why(caplog: pytest.LogCaptureFixture) -> None:
    app, inner = cors_layer()
    with caplog.at_level(logging.WARNING, logger="session_mock.cors"):
        answer = call(app, "OPTIONS", "/api/v1/session/x", headers=preflight("patch"))
    assert answer.status_code == 200 and inner.calls == []
    assert not {"patch", "PATCH"} & set(answer.headers["access-control-allow-methods"].split(", "))
    [line] = [record.getMessage() for record in caplog.records]
    assert "http://localhost:5173" in line and "'patch'" in line and "case-sensitive" in line


def test_a_refused_preflight_is_one_log_line_naming_origin_method_and_reason(caplog: pytest.LogCaptureFixture) -> None:
    app, _ = cors_layer()
    with caplog.at_level(logging.WARNING, logger="session_mock.cors"):
        answer = call(app, "OPTIONS", "/api/v1/session", headers=preflight("POST", "https://evil.example"))
    assert answer.status_code == 400 and "not allowed" in answer.json()["detail"]
    [line] = [record.getMessage() for record in caplog.records]
    assert "https://evil.example" in line and "POST" in line and "not allowed" in line


def test_a_refused_origins_simple_request_is_answered_without_cors_headers_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    app, inner = cors_layer(["http://localhost:5173"])
    with caplog.at_level(logging.WARNING, logger="session_mock.cors"):
        refused = call(app, "GET", "/health", headers={"Origin": "http://localhost:3000"})
        allowed = call(app, "GET", "/health", headers={"Origin": "http://localhost:5173"})
        same_origin = call(app, "POST", "/health", headers={"Origin": "http://localhost"})
    assert [r.status_code for r in (refused, allowed, same_origin)] == [200, 200, 200] and len(inner.calls) == 3
    assert "access-control-allow-origin" not in refused.headers
    [line] = [record.getMessage() for record in caplog.records]
    assert "http://localhost:3000" in line and "GET /health" in line and "browser hides the answer" in line


# --- 8. allowed hosts -----------------------------------------------------------------------------


def test_loopback_names_pass_and_any_other_host_gets_a_json_403_naming_the_option(caplog: pytest.LogCaptureFixture) -> None:
    inner = Inner()
    app = AllowedHostsMiddleware(inner, AllowedHosts(["api.example.com", "*.ingress.example"]))
    allowed = ["localhost:8090", "LOCALHOST", "app.localhost:5173", "127.0.0.1:8090", "[::1]:8090", "[::1]",
               "api.example.com", "a.b.ingress.example:443", "localhost."]
    for host in allowed:
        assert call(app, "GET", "/health", headers={"Host": host}).status_code == 200, host
    with caplog.at_level(logging.WARNING, logger="session_mock.hosts"):
        for host in ["rebound.attacker.example", "127.0.0.2", "ingress.example", "example.com", "[::2]:8090", "localhost.attacker.example"]:
            refused = call(app, "POST", "/__mock/reset", headers={"Host": host})
            assert refused.status_code == 403, host
            assert "--allowed-host" in refused.json()["detail"] and "DNS rebinding" in refused.json()["detail"]
    assert len(inner.calls) == len(allowed)
    assert len(caplog.records) == 6 and "rebound.attacker.example" in caplog.records[0].getMessage()


def test_allowed_host_values_are_checked_and_star_allows_any_host() -> None:
    for bad in ["example.com:8080", "a*.example.com", "http://x.example", ""]:
        with pytest.raises(ValueError):
            check_allowed_host(bad)
    assert check_allowed_host("*.Example.com") == "*.example.com"
    app = AllowedHostsMiddleware(Inner(), AllowedHosts(["*"]))
    assert call(app, "GET", "/health", headers={"Host": "anything.example"}).status_code == 200
    assert AllowedHosts(["::1", "10.0.0.5"]).allows("[::1]:1") and AllowedHosts(["10.0.0.5"]).allows("10.0.0.5:8090")


def test_the_mock_app_refuses_unknown_hosts_by_default_and_the_proxy_too() -> None:
    refused = call(create_mock_app(), "GET", "/api/v1/session", headers={"Host": "evil.example"})
    assert refused.status_code == 403 and refused.json()["detail"].startswith("Host 'evil.example' is not allowed")
    proxy = create_mock_app(stand_in=StandIn(proxy=ProxySettings("http://127.0.0.1:9")))
    assert call(proxy, "GET", "/api/v1/session", headers={"Host": "evil.example"}).status_code == 403
    assert call(create_mock_app(allowed_hosts=None), "GET", "/health", headers={"Host": "evil.example"}).status_code == 200


def test_the_command_refuses_a_rebound_host_over_http_and_its_banner_tells_wildcard_binds() -> None:
    with MockProcess("--allowed-host", "*.ingress.example") as mock:
        rebound = httpx.get(mock.base_url + "/__mock/sessions", headers={"Host": "rebound.attacker.example"})
        ingress = httpx.get(mock.base_url + "/health", headers={"Host": "mock.ingress.example"})
        by_address = httpx.get(mock.base_url + "/health")
    assert rebound.status_code == 403 and "rebound.attacker.example" in rebound.json()["detail"]
    assert ingress.status_code == 200 and by_address.status_code == 200
    assert any("Hosts" in line and "*.ingress.example" in line for line in mock.banner)
    args = mock_cli.build_parser().parse_args(["--host", "0.0.0.0"])
    assert "--allowed-host" in "\n".join(mock_cli.describe_hosts(args))


# --- 6. a profile serves what production describes -------------------------------------------------


def test_the_production_profile_serves_productions_description_and_the_contract_profile_the_contract() -> None:
    production = create_mock_app(stand_in=StandIn(profile=load_profile("production")))
    served = call(production, "GET", "/api/v1/openapi.json").json()
    validate(served)
    item = served["paths"]["/api/v1/session/{session_id}"]
    assert "patch" not in item and "405" in served["paths"]["/api/v1/session"]["get"]["responses"]
    summary = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "data" not in served["components"]["schemas"][summary]["properties"]
    assert served["servers"] == [{"url": "http://localhost", "description": "this server"}]
    assert "patch:" not in call(production, "GET", "/api/v1/openapi.yaml").text
    assert call(production, "POST", "/api/v1/openapi.json").status_code == 405
    contract = call(create_mock_app(), "GET", "/api/v1/openapi.json").json()
    assert "patch" in contract["paths"]["/api/v1/session/{session_id}"]
    assert "production" not in available_profiles()[2:] and available_profiles() == ["contract", "production"]


def test_session_contract_diff_against_the_production_profile_shows_productions_differences() -> None:
    with LiveServer(create_mock_app(stand_in=StandIn(profile=load_profile("production")))) as mock:
        report = contract_diff.run(contract_diff._parser().parse_args(["--against", mock.base_url + "/api/v1/openapi.json"]))
    ids = {finding.difference.id for finding in report.new}
    assert "operation:PATCH /api/v1/session/{session_id}" in ids
    assert any(i.startswith("response-field:GET /api/v1/session/{session_id} 200 data") for i in ids), ids
    assert any("GET /api/v1/session" in i and "405" in i for i in ids), ids


# --- 2. root path and X-Forwarded-Prefix ---------------------------------------------------------


class Seen:
    """Notes the scope each request reaches it with."""

    def __init__(self) -> None:
        self.scopes: list[Any] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def forwarded_headers(prefix: str = "/mock") -> dict[str, str]:
    return {"X-Forwarded-Prefix": prefix, "X-Forwarded-Host": "mock.team.example", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_count_only_from_trusted_proxies_and_root_path_is_stripped_when_present() -> None:
    seen = Seen()
    trusting = ForwardedMiddleware(seen, trusted=["127.0.0.1"])
    call(trusting, "GET", "/api/v1/ui/", headers=forwarded_headers())
    untrusted = ForwardedMiddleware(seen, root_path="/base", trusted=["10.0.0.9"])
    call(untrusted, "GET", "/api/v1/ui/", headers=forwarded_headers())
    call(untrusted, "GET", "/base/health")
    trusted, ignored, prefixed = seen.scopes
    assert (trusted["root_path"], trusted["scheme"], dict(trusted["headers"])[b"host"]) == ("/mock", "https", b"mock.team.example")
    assert (ignored["root_path"], ignored["scheme"], dict(ignored["headers"])[b"host"]) == ("/base", "http", b"localhost")
    assert (prefixed["path"], prefixed["root_path"]) == ("/health", "/base")
    # Swagger UI's paths follow ASGI's convention (path starts with root_path) for its nested mounts.
    assert (trusted["path"], ignored["path"]) == ("/mock/api/v1/ui/", "/base/api/v1/ui/")
    for bad in ["mock", "/api", "/__mock/x", "/a b"]:
        with pytest.raises(ValueError):
            check_root_path(bad)


def test_behind_a_prefix_swagger_ui_and_the_served_spec_use_the_public_url() -> None:
    app = create_mock_app(forwarded_allow_ips=["127.0.0.1"], allowed_hosts=["mock.team.example"])
    ui = call(app, "GET", "/api/v1/ui/", headers=forwarded_headers())
    spec = call(app, "GET", "/api/v1/openapi.json", headers=forwarded_headers()).json()
    assert 'url: "/mock/api/v1/openapi.json"' in ui.text
    assert spec["servers"][0]["url"] == "https://mock.team.example/mock"
    assert call(app, "GET", "/api/v1/ui", headers=forwarded_headers()).headers["location"].startswith("/mock/api/v1/ui/")
    rebound = call(app, "GET", "/health", headers={**forwarded_headers(), "X-Forwarded-Host": "evil.example"})
    assert rebound.status_code == 403  # the forwarded host is the one the allowed-hosts check reads
    direct = create_mock_app(root_path="/mock")
    assert call(direct, "GET", "/mock/health").status_code == 200
    assert 'url: "/mock/api/v1/openapi.json"' in call(direct, "GET", "/api/v1/ui/").text


def test_the_command_with_a_root_path_prints_public_urls_that_answer() -> None:
    with MockProcess("--root-path", "/mock/") as mock:
        ui = httpx.get(mock.base_url + "/api/v1/ui/")
        health = httpx.get(mock.base_url + "/health")
    assert mock.base_url.endswith("/mock") and any("Root path    /mock" in line for line in mock.banner)
    assert any(line.strip().startswith("Swagger UI") and "/mock/api/v1/ui/" in line for line in mock.banner)
    assert health.status_code == 200 and 'url: "/mock/api/v1/openapi.json"' in ui.text


# --- 5. record and replay -------------------------------------------------------------------------


def test_a_recording_keeps_created_and_read_sessions_merges_patches_and_drops_deleted_ones(tmp_path: Path) -> None:
    recording = Recording(tmp_path / "recorded.json", OperationTable(load_spec()))
    other = "123e4567-e89b-42d3-a456-426614174000"
    created = json.dumps({"sessionId": str(SID), "message": "Session created successfully"}).encode()
    stamp = "2026-11-28T16:30:00.123456+00:00"
    recording.observe("POST", "/api/v1/session", 201, b"", created)
    recording.observe("PATCH", f"/api/v1/session/{SID}", 200, b'{"data": {"step": 1}}', b'{"message": "ok"}')
    recording.observe("PATCH", f"/api/v1/session/{SID}", 200, b'{"data": {"more": true}}', b'{"message": "ok"}')
    recording.observe("POST", f"/api/v1/session/{other}", 201, b"", b'{"message": "created"}')
    recording.observe("GET", f"/api/v1/session/{other}", 200, b"",
                      json.dumps({"sessionId": other, "data": {"x": 1}, "createdAt": stamp, "updatedAt": stamp}).encode())
    recording.observe("GET", "/api/v1/session/3f2b8c1e-0000-4b6c-8d7e-9f0a1b2c3d4e", 404, b"", b'{"detail": "gone"}')
    recording.observe("DELETE", f"/api/v1/session/{other}", 200, b"", b'{"message": "deleted"}')
    recording.observe("GET", "/health", 200, b"", b'{"status": "ok"}')
    recording.write()
    written = json.loads((tmp_path / "recorded.json").read_text(encoding="utf-8"))
    assert written == [{"sessionId": str(SID), "data": {"step": 1, "more": True}}]
    assert [str(record.session_id) for record in mock_cli.read_seed(tmp_path / "recorded.json")] == [str(SID)]


def test_record_through_the_proxy_then_replay_offline_with_seed(tmp_path: Path) -> None:
    file = tmp_path / "recorded.json"
    with LiveServer(create_app()) as deployment:
        with MockProcess("--proxy", deployment.base_url, "--record", file) as proxy, httpx.Client(base_url=proxy.base_url) as http:
            kept = http.post("/api/v1/session").json()["sessionId"]
            http.patch(f"/api/v1/session/{kept}", json={"data": {"step": "discovery"}})
            read = http.get(f"/api/v1/session/{kept}").json()
            dropped = http.post("/api/v1/session").json()["sessionId"]
            http.delete(f"/api/v1/session/{dropped}")
            assert any(line.strip().startswith("Record") for line in proxy.banner)
    with MockProcess("--seed", file) as offline, httpx.Client(base_url=offline.base_url) as http:
        replayed = http.get(f"/api/v1/session/{kept}").json()
        gone = http.get(f"/api/v1/session/{dropped}").status_code
    assert replayed == read and gone == 404


def test_record_without_proxy_is_a_one_line_usage_error() -> None:
    done = run_cli("--record", "x.json")
    assert done.returncode == 2 and "--record needs --proxy" in done.stderr and len(done.stderr.splitlines()) == 1


# --- 4. state per worker: namespaces --------------------------------------------------------------


def test_each_namespace_has_its_own_sessions_journal_and_reset_and_starts_from_the_fixtures() -> None:
    fixture = SessionRecord(SID, {"user": "fixture"})

    async def scenario() -> dict[str, Any]:
        app = create_mock_app(fixtures=[fixture])
        await load_seed(app.store, [fixture])  # the default namespace is seeded by the command
        seen: dict[str, Any] = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            one, two = {"X-Mock-Namespace": "w1"}, {"X-Mock-Namespace": "w2"}
            sid_one = (await client.post("/api/v1/session", headers=one)).json()["sessionId"]
            sid_two = (await client.post("/api/v1/session", headers=two)).json()["sessionId"]
            seen["cross"] = [(await client.get(f"/api/v1/session/{sid_one}", headers=h)).status_code for h in (one, two, {})]
            seen["fixture"] = [(await client.get(f"/api/v1/session/{SID}", headers=h)).status_code for h in (one, two, {})]
            seen["journal"] = [len((await client.get("/__mock/requests", headers=h)).json()["requests"]) for h in (one, two, {})]
            seen["reset"] = (await client.post("/__mock/reset", headers=one)).json()
            seen["after"] = [(await client.get(f"/api/v1/session/{s}", headers=h)).status_code for s, h in ((sid_one, one), (sid_two, two))]
            seen["counts"] = [(await client.get("/__mock/sessions", headers=h)).json()["count"] for h in (one, two, {})]
            cookie = await client.post("/__mock/namespace?name=w2")
            seen["cookie"] = cookie.headers["set-cookie"]
            seen["by_cookie"] = (await client.get(f"/api/v1/session/{sid_two}", cookies={"session_mock_ns": "w2"})).status_code
            seen["bad"] = await client.get("/health", headers={"X-Mock-Namespace": "../etc"})
        return seen

    seen = asyncio.run(scenario())
    assert seen["cross"] == [200, 404, 404] and seen["fixture"] == [200, 200, 200]
    assert seen["journal"] == [3, 3, 2]
    assert seen["reset"]["sessionsRemoved"] == 2 and seen["reset"]["fixturesRestored"] == 1
    assert seen["after"] == [404, 200] and seen["counts"] == [1, 2, 1]
    assert seen["cookie"].startswith("session_mock_ns=w2") and seen["by_cookie"] == 200
    assert seen["bad"].status_code == 400 and "not a namespace name" in seen["bad"].json()["detail"]


def test_a_reset_waits_only_for_requests_of_its_own_namespace() -> None:
    async def scenario() -> tuple[Any, httpx.Response]:
        app = create_mock_app(latency=Latency.parse("60000"), reset_grace_s=0.05)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            await client.get("/__mock/requests")
            slow = asyncio.ensure_future(client.post("/api/v1/session", headers={"X-Mock-Namespace": "w2"}))
            await asyncio.sleep(0.05)
            other = (await client.post("/__mock/reset", headers={"X-Mock-Namespace": "w1"})).json()
            own = (await client.post("/__mock/reset", headers={"X-Mock-Namespace": "w2"})).json()
            return (other, own), await slow

    (other, own), slow = asyncio.run(scenario())
    assert (other["requestsWaitedFor"], other["requestsCancelled"]) == (0, 0)
    assert (own["requestsWaitedFor"], own["requestsCancelled"]) == (1, 1) and slow.status_code == 503


def test_the_proxy_has_no_namespaces() -> None:
    proxy = create_mock_app(stand_in=StandIn(proxy=ProxySettings("http://127.0.0.1:9")))
    assert call(proxy, "POST", "/__mock/namespace?name=w1").status_code == 404


def test_the_state_file_keeps_every_namespace_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "mock.db"
    with MockProcess("--state-file", state) as mock:
        sid = httpx.post(mock.base_url + "/api/v1/session", headers={"X-Mock-Namespace": "w1"}).json()["sessionId"]
        httpx.patch(mock.base_url + f"/api/v1/session/{sid}", json={"data": {"step": 1}}, headers={"X-Mock-Namespace": "w1"})
    with MockProcess("--state-file", state) as again:
        kept = httpx.get(again.base_url + f"/api/v1/session/{sid}", headers={"X-Mock-Namespace": "w1"})
        elsewhere = [httpx.get(again.base_url + f"/api/v1/session/{sid}", headers=h).status_code for h in ({"X-Mock-Namespace": "w2"}, {})]
    assert kept.status_code == 200 and kept.json()["data"] == {"step": 1}
    assert elsewhere == [404, 404]


def test_the_root_pointer_carries_the_public_prefix() -> None:
    """`GET /` links, like Swagger UI's, start with the prefix the mock is served under (found by review)."""

    async def fetch() -> dict[str, Any]:
        app = create_mock_app(root_path="/mock")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            return dict((await client.get("/")).json())

    links = asyncio.run(fetch())
    assert links["swaggerUi"] == "/mock/api/v1/ui/" and links["admin"] == "/mock/__mock/" and links["api"] == "/mock/api/v1/session"


def test_the_wildcard_address_the_banner_prints_is_an_allowed_host() -> None:
    args = mock_cli.build_parser().parse_args(["--host", "0.0.0.0"])
    assert AllowedHosts(mock_cli.allowed_hosts(args, "0.0.0.0")).allows("0.0.0.0:8090")
    assert not AllowedHosts(mock_cli.allowed_hosts(args, "0.0.0.0")).allows("evil.example")
