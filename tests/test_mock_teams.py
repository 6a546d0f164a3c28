"""session-mock for teams (issue 21): proxy mode honours the controls, reset is a barrier, refusals are
loud, unknown hosts are refused. Each layer alone in-process first, then end-to-end over loopback.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from mock_server import cli as mock_cli
from mock_server.app import create_mock_app
from mock_server.examples import ResponseCatalogue
from mock_server.forced import ScenarioMiddleware
from mock_server.latency import Latency
from mock_server.proxy import ProxySettings
from mock_server.stand_in import StandIn
from reference_impl import create_app
from reference_impl.errors import ApiError
from reference_impl.serving import LiveServer
from reference_impl.store import InMemorySessionStore
from session_spec import SPEC_PATH, load_spec
from session_spec.rules import OperationTable
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
    assert "proxied; nothing stored here" in text
