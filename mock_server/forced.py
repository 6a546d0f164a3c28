"""`ScenarioMiddleware`: latency, `Prefer`/`__` delays, and forced responses from the spec's examples.

It sits after Connexion's routing (so it knows the operationId) and before request validation and
the handler. A forced response is answered here and never reaches the handler: it changes no state.
Errors it raises (an undocumented status, say) are rendered by reference_impl.errors.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.examples import ResponseCatalogue
from mock_server.latency import Latency
from mock_server.scenarios import Scenario, read_scenario
from reference_impl.errors import ApiError, render


def _operation_id(scope: Scope) -> str | None:
    return scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")


def forced_response(catalogue: ResponseCatalogue, operation_id: str, method: str, scenario: Scenario) -> Response:
    """The documented response the scenario names; ApiError(400) when the spec documents none."""
    statuses = catalogue.statuses(operation_id)
    if scenario.code is not None:
        documented = catalogue.response(operation_id, scenario.code)
        if documented is None:
            raise ApiError(
                400,
                f"Status {scenario.code} is not documented for {operation_id}; "
                f"available statuses: {', '.join(map(str, statuses))}",
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
    headers = {"Preference-Applied": scenario.applied()}
    if method == "HEAD" or not documented.has_body:
        return Response(status_code=documented.status, headers=headers)
    name = scenario.example or next(iter(documented.examples))
    body: Any = documented.examples[name]
    return Response(json.dumps(body).encode(), status_code=documented.status, headers=headers, media_type="application/json")


class ScenarioMiddleware:
    """Applies `--latency`, `Prefer: delay=`, and forced `code=`/`example=` to routed API requests."""

    def __init__(self, app: ASGIApp, catalogue: ResponseCatalogue, latency: Latency = Latency()) -> None:
        self.app = app
        self.catalogue = catalogue
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation_id = _operation_id(scope) if scope["type"] == "http" else None
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
        response = forced_response(self.catalogue, operation_id, scope["method"], scenario) if scenario.forces_response else None
        delay_ms = self.latency.sample_ms() + scenario.delay_ms
        if delay_ms:
            try:
                await asyncio.sleep(delay_ms / 1000)
            except asyncio.CancelledError:
                # The server is shutting down mid-delay: tell the client so in JSON, then stop.
                error = render(None, 503, "The mock is shutting down", {"Connection": "close"})
                await Response(error.body, error.status_code, dict(error.headers), error.content_type)(scope, receive, send)
                raise
        if response is not None:
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)
