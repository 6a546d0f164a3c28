"""HTTP details on every route the mock serves, and the error states a frontend really meets.

- a 405 lists the methods the route answers, and HEAD works wherever GET does;
- `GET /` points to Swagger UI and the API;
- a forced answer that echoes an id carries the request's id;
- gateway failures (502, 503 with `Retry-After`, 504) can be forced on every operation, while other
  undocumented statuses still answer 400;
- stopping the mock while a delayed request waits logs one line, not a traceback.
"""

from __future__ import annotations

import concurrent.futures
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from mock_server import create_mock_app
from reference_impl.serving import LiveServer
from session_spec import SPEC_PATH, load_spec, operations
from tests.mock_process import MockProcess

SESSION = "/api/v1/session"
OPERATIONS = operations(load_spec(SPEC_PATH))
GET_ROUTES = ["/api/v1/openapi.json", "/api/v1/openapi.yaml", "/api/v1/ui/", "/__mock/", "/__mock/requests", "/health", SESSION, "/"]


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with LiveServer(create_mock_app()) as server, httpx.Client(base_url=server.base_url, timeout=10.0) as client:
        yield client


@pytest.mark.parametrize("path", GET_ROUTES)
def test_head_works_wherever_get_does_and_a_405_lists_get_and_head(http: httpx.Client, path: str) -> None:
    get, head = http.get(path), http.head(path)
    assert head.status_code == get.status_code
    assert head.content == b""
    wrong = http.put(path, content=b"{}")
    assert wrong.status_code == 405
    allow = {method.strip() for method in wrong.headers["allow"].split(",")}
    assert {"GET", "HEAD"} <= allow
    assert wrong.json()["detail"].endswith(wrong.headers["allow"])


@pytest.mark.parametrize(("path", "allow"), [
    ("/__mock/reset", "POST"),
    ("/__mock/sessions", "GET, HEAD, POST"),
    (f"{SESSION}/{uuid.uuid4()}", "DELETE, GET, HEAD, PATCH, POST"),
    (SESSION, "GET, HEAD, POST"),
    ("/health", "GET, HEAD"),
])
def test_a_405_lists_exactly_what_the_route_answers(http: httpx.Client, path: str, allow: str) -> None:
    response = http.request("PUT", path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow


def test_get_root_points_to_swagger_ui_and_the_api(http: httpx.Client) -> None:
    response = http.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["swaggerUi"] == "/api/v1/ui/" and body["api"] == SESSION
    for link in (body["swaggerUi"], body["openapi"], body["health"], body["admin"]):
        assert http.get(link).status_code == 200


@pytest.mark.parametrize("spelling", [str, lambda sid: str(sid).upper(), lambda sid: sid.hex, lambda sid: f"urn:uuid:{sid}"])
def test_a_forced_404_names_the_requested_id_in_canonical_form(http: httpx.Client, spelling: object) -> None:
    sid = uuid.uuid4()
    response = http.get(f"{SESSION}/{spelling(sid)}", headers={"Prefer": "code=404"})  # type: ignore[operator]
    assert response.status_code == 404
    assert response.json() == {"detail": f"Session {sid} not found"}


def test_a_forced_example_names_the_requested_id(http: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    response = http.get(f"{SESSION}/{sid}", headers={"Prefer": "example=updated"})
    assert response.status_code == 200 and response.json()["sessionId"] == sid
    deleted = http.delete(f"{SESSION}/{sid}", headers={"Prefer": "code=200"})
    assert deleted.json()["sessionId"] == sid


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.operation_id)
@pytest.mark.parametrize("code", [502, 503, 504])
def test_gateway_failures_can_be_forced_on_every_operation(http: httpx.Client, operation: object, code: int) -> None:
    method = operation.method.upper()  # type: ignore[attr-defined]
    path = operation.path.replace("{session_id}", str(uuid.uuid4()))  # type: ignore[attr-defined]
    response = http.request(method, path, headers={"Prefer": f"code={code}"})
    assert response.status_code == code
    assert response.headers["preference-applied"] == f"code={code}"
    assert ("retry-after" in response.headers) == (code == 503)
    if code == 503:
        assert int(response.headers["retry-after"]) >= 0
    if method == "HEAD":
        assert response.content == b""
    else:
        assert set(response.json()) == {"detail"}


def test_other_undocumented_statuses_still_answer_400_naming_what_can_be_forced(http: httpx.Client) -> None:
    response = http.get(f"{SESSION}/{uuid.uuid4()}", headers={"Prefer": "code=418"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "418" in detail and "404" in detail and "503" in detail


def test_stopping_the_mock_while_a_delayed_request_waits_logs_one_line_not_a_traceback() -> None:
    mock = MockProcess().start()
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(httpx.post, mock.base_url + SESSION, headers={"Prefer": "delay=60000"}, timeout=30.0)
            time.sleep(1.0)  # on loopback the request reaches the mock's delay well within this
            assert mock.signal(signal.SIGTERM) == 0
            answer = pending.result()
            assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
        log = mock.stderr_text()
    finally:
        mock.stop()
    assert "Traceback" not in log and "CancelledError" not in log
    shutdown_lines = [line for line in log.splitlines() if "ERROR" in line or "WARNING" in line]
    assert len(shutdown_lines) <= 1, log
