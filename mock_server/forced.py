"""`ScenarioMiddleware`: latency, `Prefer`/`__` delays, and forced responses from the spec's examples.

It sits after Connexion's routing (so it knows the operationId) and before request validation and
the handler. A forced response is answered here and never reaches the handler: it changes no state.
Errors it raises (an undocumented status, say) are rendered by reference_impl.errors.

A forced answer whose example names a session id names the request's id instead (canonical form),
so `Prefer: code=404` on `/api/v1/session/<id>` says `Session <id> not found`. Gateway failures
(502, 503, 504) can be forced on every operation, documented or not, since real gateways produce
them whatever the spec says; 503 carries `Retry-After` (RFC 9110 section 10.2.3).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.barrier import IN_FLIGHT, RETRY_AFTER_SECONDS
from mock_server.examples import DocumentedResponse, ResponseCatalogue
from mock_server.latency import Latency
from mock_server.scenarios import Scenario, read_scenario
from reference_impl.errors import ApiError, error_response
from session_spec.rules import MalformedId, OperationTable, parse_session_id

# Statuses a gateway in front of any deployment answers (a 503 asks clients to wait RETRY_AFTER_SECONDS).
GATEWAY_STATUSES = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _operation_id(scope: Scope) -> str | None:
    operation_id: str | None = scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")
    return operation_id


def _request_session_id(scope: Scope, operations: OperationTable | None = None) -> uuid.UUID | None:
    """The session id the request's path names (any accepted spelling), or None."""
    raw = scope.get("path_params", {}).get("session_id")
    if raw is None and operations is not None:  # no Connexion routing (the proxy): the path's last segment
        route = operations.route(scope["path"])
        raw = scope["path"].rsplit("/", 1)[-1] if route is not None and route.template.endswith("}") else None
    if not isinstance(raw, str):
        return None
    try:
        return parse_session_id(raw)
    except MalformedId:
        return None


def _documented(catalogue: ResponseCatalogue, operation_id: str, scenario: Scenario) -> DocumentedResponse:
    """The documented response the scenario names; a synthesized gateway failure; ApiError(400) otherwise."""
    statuses = catalogue.statuses(operation_id)
    if scenario.code is not None:
        documented = catalogue.response(operation_id, scenario.code)
        if documented is None and scenario.code in GATEWAY_STATUSES and scenario.example is None:
            return DocumentedResponse(scenario.code, {"gateway": {"detail": GATEWAY_STATUSES[scenario.code]}})
        if documented is None:
            raise ApiError(
                400,
                f"Status {scenario.code} is not documented for {operation_id}; "
                f"available statuses: {', '.join(map(str, statuses))} "
                f"(and {', '.join(map(str, GATEWAY_STATUSES))}, as a gateway would answer)",
            )
    else:
        documented = catalogue.find_example(operation_id, scenario.example or "")
    if documented is None or (scenario.example is not None and scenario.example not in documented.examples):
        names = catalogue.example_names(operation_id)
        raise ApiError(
            400,
            f"No example named {scenario.example!r} for {operation_id}"
            + (f" status {scenario.code}" if scenario.code is not None else "")
            + f"; available examples: {', '.join(names) or 'none'}",
        )
    return documented


def forced_response(
    catalogue: ResponseCatalogue, operation_id: str, method: str, scenario: Scenario, session_id: uuid.UUID | None = None
) -> Response:
    """The answer the scenario forces; its body names `session_id` wherever the example names an id."""
    documented = _documented(catalogue, operation_id, scenario)
    headers = {"Preference-Applied": scenario.applied()}
    if documented.status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if method == "HEAD" or not documented.has_body:
        return Response(status_code=documented.status, headers=headers)
    name = scenario.example or next(iter(documented.examples))
    text = json.dumps(documented.examples[name])
    if session_id is not None:
        text = _UUID.sub(str(session_id), text)
    return Response(text.encode(), status_code=documented.status, headers=headers, media_type="application/json")


class ScenarioMiddleware:
    """Applies `--latency`, `Prefer: delay=`, and forced `code=`/`example=` to routed API requests.

    `operations` (the proxy, which runs no Connexion routing) finds the operation from the spec's
    paths instead of Connexion's routing extension, so a forced answer never reaches the deployment.
    """

    def __init__(
        self,
        app: ASGIApp,
        catalogue: ResponseCatalogue,
        latency: Latency = Latency(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        operations: OperationTable | None = None,
    ) -> None:
        self.app = app
        self.catalogue = catalogue
        self.latency = latency
        self.sleep = sleep  # how a delay is waited for (a test records it instead)
        self.operations = operations

    def operation_id(self, scope: Scope) -> str | None:
        if scope["type"] != "http":
            return None
        if self.operations is not None:
            return self.operations.operation_id(scope["method"], scope["path"])
        return _operation_id(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation_id = self.operation_id(scope)
        if operation_id is None:
            await self.app(scope, receive, send)
            return
        prefer = [value.decode("latin-1") for name, value in scope["headers"] if name == b"prefer"]
        query_string = scope.get("query_string", b"")
        if not prefer and not query_string and not (self.latency.low_ms or self.latency.high_ms):
            # Nothing asked for and no --latency: the request goes on untouched.
            await self.app(scope, receive, send)
            return
        scenario, scope["query_string"] = read_scenario(prefer, query_string)
        response = (
            forced_response(self.catalogue, operation_id, scope["method"], scenario, _request_session_id(scope, self.operations))
            if scenario.forces_response
            else None
        )
        delay_ms = self.latency.sample_ms() + scenario.delay_ms
        if delay_ms:
            try:
                await self.sleep(delay_ms / 1000)
            except asyncio.CancelledError:
                # The server is shutting down mid-delay (uvicorn logs one line saying it cancels the
                # task): tell the client so in JSON and end quietly, since re-raising would make
                # uvicorn log a traceback for an expected stop.
                # A reset that cancels it (mock_server.barrier) says so instead.
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                note = scope.get(IN_FLIGHT)
                if note is not None and note.cancelled is not None:
                    await error_response(503, note.cancelled, {"Retry-After": str(RETRY_AFTER_SECONDS)})(scope, receive, send)
                    return
                shutting_down = {"Connection": "close", "Retry-After": str(RETRY_AFTER_SECONDS)}
                await error_response(503, "The mock is shutting down", shutting_down)(scope, receive, send)
                return
        if response is not None:
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)
