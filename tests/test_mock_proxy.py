"""`session-mock --proxy URL`: every API request forwarded, each exchange checked against the contract.

In front of the reference (a whole `session-contract run` through it: 0 violations), in front of
broken deployments (each fault reported with its exchange), in front of a closed port (502) and a
deployment too slow to answer (504); header values and the --proxy URL's credentials pass through and
are never journaled, logged or shown. TLS to the deployment: tests/test_mock_proxy_tls.py.
"""

from __future__ import annotations

import base64
import logging
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server import cli as mock_cli
from mock_server.app import create_mock_app
from mock_server.proxy import ProxySettings
from mock_server.stand_in import StandIn
from reference_impl import create_app
from reference_impl.serving import LiveServer, free_port
from session_spec.exchanges import ExchangeChecker
from tests.broken_variants import BROKEN, PRODUCTION_LIKE, Variant
from tests.contract_helpers import FAST, session_contract
from tests.mock_process import MockProcess, run_cli

SECRET = "Bearer s3cr3t-T0KEN-never-journaled"
UNKNOWN = "123e4567-e89b-42d3-a456-426614174000"


@contextmanager
def proxy_to(url: str, *, strict: bool = False, timeout_s: float = 10.0) -> Iterator[httpx.Client]:
    """A mock in proxy mode on a loopback port, and a client for it."""
    app = create_mock_app(stand_in=StandIn(proxy=ProxySettings(url, strict, timeout_s)))
    with LiveServer(app) as server, httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        yield http


@contextmanager
def serving(variant: Variant) -> Iterator[str]:
    app, _ = variant.build()
    with LiveServer(app) as server:
        yield server.base_url


def variant(expected: str) -> Variant:
    return next(v for v in BROKEN if v.expected == expected)


def violations(http: httpx.Client) -> dict[str, Any]:
    return http.get("/__mock/violations").json()  # type: ignore[no-any-return]


def last_entry(http: httpx.Client) -> dict[str, Any]:
    return http.get("/__mock/requests").json()["requests"][-1]  # type: ignore[no-any-return]


def test_a_contract_run_through_the_proxy_in_front_of_the_reference_finds_no_violation(tmp_path: Path) -> None:
    with LiveServer(create_app()) as reference, MockProcess("--proxy", reference.base_url) as proxy:
        run = session_contract("--base-url", proxy.base_url, *FAST, "--max-examples", "2", "--volume", "30", tmp=tmp_path)
        summary = httpx.get(proxy.base_url + "/__mock/violations").json()
        journal = httpx.get(proxy.base_url + "/__mock/requests").json()["requests"]
    assert run.returncode == 0, run.stdout + run.stderr
    assert summary["exchanges"] > 500
    assert (summary["violations"], summary["byKind"]) == (0, {})
    # The suite's deliberately malformed requests are noted as the client's, not held against the deployment.
    assert summary["requestIssues"]["request.malformed-id"]["count"] > 0
    assert all(entry["violations"] == [] for entry in journal)


@pytest.mark.parametrize(
    ("fault", "request_args", "kind"),
    [
        ("list.always-404", ("GET", "/api/v1/session"), "status.undocumented"),
        ("create.fresh-id", ("POST", "/api/v1/session"), "status.undocumented"),
        ("input.malformed-is-4xx", ("GET", "/api/v1/session/not-a-uuid"), "status.invalid-request-not-4xx"),
        ("timestamps.iso8601-utc", ("CREATE_THEN_GET", ""), "body.schema"),
    ],
)
def test_a_broken_deployment_behind_the_proxy_is_reported_with_the_exchange(fault: str, request_args: tuple[str, str], kind: str) -> None:
    with serving(variant(fault)) as backend, proxy_to(backend) as http:
        method, path = request_args
        if method == "CREATE_THEN_GET":
            method, path = "GET", "/api/v1/session/" + http.post("/api/v1/session").json()["sessionId"]
        answer = http.request(method, path)
        entry = last_entry(http)
        summary = violations(http)
    assert answer.status_code < 502  # reported, not replaced: the client sees what the deployment said
    assert (entry["method"], entry["path"], entry["status"]) == (method, path, answer.status_code)
    assert kind in {v["kind"] for v in entry["violations"]}
    assert summary["byKind"][kind]["count"] >= 1
    assert summary["byKind"][kind]["example"]["path"] == path
    assert summary["exchangesWithViolations"] >= 1


def test_production_behind_the_proxy_shows_each_of_its_differences() -> None:
    with serving(PRODUCTION_LIKE) as backend, proxy_to(backend) as http:
        sid = http.post("/api/v1/session").json()["sessionId"]
        http.get("/api/v1/session")
        http.get(f"/api/v1/session/{sid}")
        http.patch(f"/api/v1/session/{sid}", json={"data": {}})
        http.delete(f"/api/v1/session/{sid}")
        summary = violations(http)
    # The list's 405 names only POST, the removed PATCH's 405 only GET: production's Allow headers.
    assert set(summary["byKind"]) == {"status.undocumented", "body.schema", "allow.mismatch"}
    assert "'data' is a required property" in summary["byKind"]["body.schema"]["example"]["message"]
    assert summary["exchanges"] == 5 and summary["exchangesWithViolations"] == 3


def test_strict_mode_turns_a_violating_answer_into_a_502_naming_the_violation() -> None:
    with serving(variant("list.always-404")) as backend, proxy_to(backend, strict=True) as http:
        answer = http.get("/api/v1/session")
        created = http.post("/api/v1/session")
    assert answer.status_code == 502
    assert "status.undocumented" in answer.json()["detail"] and "answered 200" in answer.json()["detail"]
    assert answer.json()["upstreamStatus"] == 200
    assert created.status_code == 201  # conforming answers pass unchanged


def test_a_closed_port_answers_502_with_a_clear_detail() -> None:
    port = free_port()
    with proxy_to(f"http://127.0.0.1:{port}", timeout_s=5) as http:
        answer = http.post("/api/v1/session")
        entry = last_entry(http)
    assert answer.status_code == 502
    assert answer.json()["detail"].startswith(f"Cannot reach the deployment at http://127.0.0.1:{port}")
    assert entry["violations"][0]["kind"] == "deployment.unreachable"


def test_a_deployment_that_does_not_answer_in_time_gets_a_504_not_a_hang() -> None:
    # A listening socket that is never served: connecting succeeds, no answer ever comes.
    with socket.create_server(("127.0.0.1", 0)) as silent, proxy_to(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.5) as http:
        answer = http.get("/health")
    assert answer.status_code == 504
    assert "did not answer within 0.5 s" in answer.json()["detail"]


class RequireHeader:
    """A gateway in front of the reference: 401 unless the request carries the expected Authorization."""

    def __init__(self, app: Any, expected: str) -> None:
        self.app, self.expected = app, expected.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != self.expected:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"detail": "unauthorized"}'})
            return
        await self.app(scope, receive, send)


def test_authorization_reaches_the_deployment_and_is_never_journaled_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with LiveServer(RequireHeader(create_app(), SECRET)) as backend, proxy_to(backend.base_url) as http:
        created = http.post("/api/v1/session", headers={"Authorization": SECRET})
        refused = http.get(f"/api/v1/session/{UNKNOWN}")
        journal = http.get("/__mock/requests").text
        summary = http.get("/__mock/violations").text
    assert created.status_code == 201
    assert refused.status_code == 401
    for text in (journal, summary, caplog.text):
        assert "s3cr3t" not in text


def test_credentials_in_the_proxy_url_reach_the_deployment_and_appear_in_no_output(tmp_path: Path) -> None:
    token, key = "tok-" + secrets.token_hex(12), "key-" + secrets.token_hex(12)
    basic = "Basic " + base64.b64encode(f"ci:{token}".encode()).decode()
    app, _ = variant("list.always-404").build()  # a fault, so that the violation report has an entry
    outputs: dict[str, str] = {}
    with LiveServer(RequireHeader(app, basic)) as backend:
        with_credentials = backend.base_url.replace("http://", f"http://ci:{token}@")
        for log_format in ("text", "json"):
            with MockProcess("--proxy", with_credentials, "--log-format", log_format) as mock:
                created = httpx.post(mock.base_url + "/api/v1/session", headers={"X-Api-Key": key, "Authorization": "Bearer " + key})
                listed = httpx.get(mock.base_url + "/api/v1/session", headers={"X-Api-Key": key})
                outputs |= {f"journal ({log_format})": httpx.get(mock.base_url + "/__mock/requests").text,
                            f"violations ({log_format})": httpx.get(mock.base_url + "/__mock/violations").text,
                            f"banner ({log_format})": "\n".join(mock.banner), f"log ({log_format})": mock.stderr_text()}
            assert created.status_code == 201  # the URL's credentials reached the deployment, in place of the request's own
            assert listed.status_code == 200 and "status.undocumented" in outputs[f"violations ({log_format})"]
        assert backend.base_url in outputs["banner (text)"]  # shown, without its credentials
    port = free_port()  # nothing listens there: the 502's detail names the URL
    with MockProcess("--proxy", f"http://ci:{token}@127.0.0.1:{port}", ready="/__mock/violations") as down:
        unreachable = httpx.post(down.base_url + "/api/v1/session")
        outputs |= {"502 detail": unreachable.text, "violations (down)": httpx.get(down.base_url + "/__mock/violations").text,
                    "journal (down)": httpx.get(down.base_url + "/__mock/requests").text, "log (down)": down.stderr_text()}
    assert unreachable.status_code == 502 and f"127.0.0.1:{port}" in unreachable.json()["detail"]
    for number, args in enumerate([
        ["--proxy", f"ftp://ci:{token}@127.0.0.1"], ["--proxy", f"http://ci:{token}@127.0.0.1:x"],
        ["--proxy", f"http://ci:{token}@127.0.0.1:9", "--write-lag", "5"], ["--proxy", f"http://ci:{token}@127.0.0.1:9", f"http://ci:{token}@x"],
        [f"--proxy-u=http://ci:{token}@127.0.0.1:9"],
    ]):
        done = run_cli(*args)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        outputs[f"usage error {number}"] = done.stdout + done.stderr
    for name, text in outputs.items():
        for secret in (token, key, basic.split()[1]):
            assert secret not in text, f"{name} shows a secret: {text}"


def test_cors_is_added_for_a_deployment_that_sends_none_and_the_deployments_own_is_dropped() -> None:
    origin = "http://localhost:5173"
    with serving(PRODUCTION_LIKE) as backend, proxy_to(backend) as http:
        simple = http.post("/api/v1/session", headers={"Origin": origin})
        preflight = http.options(
            "/api/v1/session/" + simple.json()["sessionId"],
            headers={"Origin": origin, "Access-Control-Request-Method": "DELETE"},
        )
    assert simple.headers["access-control-allow-origin"] == origin
    assert preflight.status_code == 200 and "DELETE" in preflight.headers["access-control-allow-methods"]


def test_reset_empties_the_violation_totals_and_seeding_is_refused() -> None:
    with serving(variant("list.always-404")) as backend, proxy_to(backend) as http:
        http.get("/api/v1/session")
        assert violations(http)["violations"] == 1
        assert http.post("/__mock/reset").status_code == 200
        assert violations(http) == {"exchanges": 0, "exchangesWithViolations": 0, "violations": 0, "byKind": {}, "requestIssues": {}}
        refused = http.delete("/__mock/violations")
        # The route serves HEAD as it serves GET, so its 405 names both (it named only GET before).
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
        assert http.head("/__mock/violations").status_code == 200
        seeding = http.post("/__mock/sessions", json=[{"sessionId": UNKNOWN}])
        assert seeding.status_code == 409 and "proxied deployment" in seeding.json()["detail"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--proxy", "http://127.0.0.1:9", "--write-lag", "5"], "--write-lag shapes the mock's own answers"),
        (["--proxy", "http://127.0.0.1:9", "--profile", "production"], "--profile production shape"),
        (["--proxy", "ftp://example"], "needs an http:// or https:// URL"),
        (["--proxy-strict"], "--proxy-strict needs --proxy URL"),
        (["--proxy", "http://127.0.0.1:9", "--proxy-timeout", "0"], "must be seconds above 0"),
    ],
)
def test_proxy_options_are_checked_with_a_one_line_usage_error(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        mock_cli.main(args)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err



def test_the_exchange_checker_tells_each_kind_of_violation_apart() -> None:
    checker = ExchangeChecker()
    path = f"/api/v1/session/{UNKNOWN}"
    operation, issues = checker.check_request("DELETE", path, "", b"")
    assert operation is not None and issues == []
    as_json = {"content-type": "application/json"}

    def kinds(status: int, headers: dict[str, str], body: bytes, method: str = "DELETE", where: str = path) -> set[str]:
        op, found = checker.check_request(method, where, headers.get("content-type", ""), b"")
        return {v.kind for v in checker.check_response(method, where, op, found, status, headers, body)}

    assert kinds(404, as_json, b'{"detail": "gone"}') == set()
    assert kinds(404, as_json, b'{"error": "gone"}') == {"body.schema"}
    assert kinds(404, {"content-type": "text/html"}, b"<h1>gone</h1>") == {"body.not-json"}
    assert kinds(200, as_json, b'{"message": NaN, "sessionId": "x"}') == {"body.not-json"}
    assert kinds(418, as_json, b'{"oops": 1}') == {"status.undocumented", "error.no-detail"}
    assert kinds(405, as_json, b'{"detail": "no"}', method="PUT") == {"allow.missing"}
    assert kinds(405, {**as_json, "allow": "GET"}, b'{"detail": "no"}', method="PUT") == {"allow.mismatch"}
    assert kinds(405, {**as_json, "allow": "DELETE, GET, HEAD, PATCH, POST"}, b'{"detail": "no"}', method="PUT") == set()
    assert kinds(200, as_json, b"{}", method="GET", where="/nowhere") == {"status.undocumented"}
    assert kinds(200, as_json, b'{"detail": "ok"}', method="GET", where="/api/v1/session/not-a-uuid") == {
        "status.invalid-request-not-4xx", "body.schema",
    }
    _, body_issues = checker.check_request("PATCH", path, "text/plain", b'{"data": {}}')
    assert [i.kind for i in body_issues] == ["request.content-type"]
    _, body_issues = checker.check_request("PATCH", path, "application/json", b'{"data": []}')
    assert [i.kind for i in body_issues] == ["request.body-schema"]
