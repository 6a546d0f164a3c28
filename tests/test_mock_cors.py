"""CORS over real HTTP: credentials, Private Network Access preflights, refused preflights as JSON,
and `--cors-origin` values a browser could never send refused at start-up."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mock_server import create_mock_app
from mock_server.cors import check_origin
from reference_impl.serving import LiveServer
from tests.mock_process import run_cli
from tests.test_mock_cli import assert_one_line_error

SESSION = "/api/v1/session"
DEV_SERVER = "http://localhost:5173"


@pytest.fixture(scope="module")
def mock() -> Iterator[httpx.Client]:
    with LiveServer(create_mock_app()) as server, httpx.Client(base_url=server.base_url) as http:
        yield http


# The preflight Chrome's Private Network Access sent (Chrome 104 to 141) when a less private page
# called a server on loopback: an ordinary CORS preflight plus the PNA request header.
def pna_preflight(http: httpx.Client, origin: str) -> httpx.Response:
    return http.options(SESSION, headers={
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
        "Access-Control-Request-Private-Network": "true",
    })


def test_a_private_network_access_preflight_from_an_allowed_origin_is_allowed(mock: httpx.Client) -> None:
    response = pna_preflight(mock, DEV_SERVER)
    assert 200 <= response.status_code < 300
    assert response.headers["access-control-allow-private-network"] == "true"
    assert response.headers["access-control-allow-origin"] == DEV_SERVER


def test_a_private_network_access_preflight_for_an_origin_given_with_cors_origin_is_allowed() -> None:
    origin = "https://app.example.com"
    with LiveServer(create_mock_app(cors_origins=[origin])) as server, httpx.Client(base_url=server.base_url) as http:
        response = pna_preflight(http, origin)
        assert response.status_code == 200
        assert response.headers["access-control-allow-private-network"] == "true"
        refused = pna_preflight(http, "https://other.example.com")
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        assert "access-control-allow-private-network" not in refused.headers


def test_a_refused_preflight_answers_json_naming_why(mock: httpx.Client) -> None:
    response = mock.options(SESSION, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert "https://evil.example" in detail and "PUT" in detail


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_credentialed_requests_get_the_origin_echoed_and_allow_credentials(mock: httpx.Client, method: str) -> None:
    preflight = mock.options(SESSION, headers={"Origin": DEV_SERVER, "Access-Control-Request-Method": method})
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert preflight.headers["access-control-allow-origin"] == DEV_SERVER
    answer = mock.post(SESSION, headers={"Origin": DEV_SERVER, "Cookie": "sid=abc"})
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert answer.headers["access-control-allow-origin"] == DEV_SERVER
    assert "Origin" in answer.headers["vary"]


def test_any_origin_with_credentials_echoes_the_origin_never_a_star() -> None:
    with LiveServer(create_mock_app(cors_origins=["*"])) as server, httpx.Client(base_url=server.base_url) as http:
        for response in (
            http.post(SESSION, headers={"Origin": "https://app.example"}),
            http.options(SESSION, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "PATCH"}),
        ):
            assert response.headers["access-control-allow-origin"] == "https://app.example"
            assert response.headers["access-control-allow-credentials"] == "true"


def test_without_cors_credentials_no_answer_allows_credentials() -> None:
    with LiveServer(create_mock_app(cors_credentials=False)) as server, httpx.Client(base_url=server.base_url) as http:
        response = http.post(SESSION, headers={"Origin": DEV_SERVER})
        assert response.headers["access-control-allow-origin"] == DEV_SERVER
        assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("origin", ["http://localhost:5173", "https://app.example.com", "http://[::1]:3000", "null", "*",
                                    "capacitor://localhost", "http://127.0.0.1:8080"])
def test_origins_a_browser_sends_are_accepted(origin: str) -> None:
    assert check_origin(origin) == origin


@pytest.mark.parametrize(("origin", "reason"), [
    ("localhost:5173", "no scheme"),
    ("http://localhost:5173/", "path"),
    ("http://localhost:5173/app", "path"),
    ("http://LOCALHOST:5173", "lowercase"),
    ("http://localhost:80", "default port"),
    ("https://example.com:443", "default port"),
    ("http://user@localhost:5173", "user info"),
    ("http://localhost:99999", "invalid port"),
    ("5173", "no scheme"),
    ("http://", "no scheme or host"),
    ("http://bücher.example", "punycode"),
    ("http://*.example.com", "never sends"),
    ("http://local host:5173", "never sends"),
    ("http://localhost:0", "port 0"),
    ("http://localhost:5173,http://localhost:3000", "several origins"),
])
def test_origins_a_browser_never_sends_are_refused_with_the_reason(origin: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_origin(origin)


def test_the_cli_refuses_an_origin_without_scheme_and_a_reversed_latency_in_one_line() -> None:
    assert_one_line_error(run_cli("--cors-origin", "localhost:5173"), "--cors-origin", "localhost:5173", "scheme")
    assert_one_line_error(run_cli("--latency", "200-50"), "--latency", "MAX below MIN", "50-200")
    assert_one_line_error(run_cli("--latency", "100-60001"), "--latency", "over 60000 ms")
