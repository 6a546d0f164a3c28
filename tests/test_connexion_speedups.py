"""connexion_speedups answers byte for byte as stock Connexion: its test, and the Connexion upgrade gate.

`DirectDispatch` (connexion_speedups.dispatch), the cached request and response validation
(connexion_speedups.validation), Swagger UI on its own paths (connexion_speedups.swagger_ui) and the
routing table (connexion_speedups.routing) must not change an answer. Two reference apps over HTTP on loopback,
one with them (`app_class=FastAsyncApp`) and the stock one (`create_app()`), get the same
requests: every operation, valid and invalid ids, good and bad bodies, unknown paths and methods.
Status, headers (but `date`) and body must be equal once each app's fresh ids and timestamps are
replaced by placeholders of the same length, and each server's address by `HOST`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import connexion
import httpx
import pytest
from connexion.middleware import MiddlewarePosition
from connexion.middleware.abstract import ROUTING_CONTEXT, RoutedMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.security import SecurityMiddleware
from connexion.resolver import Resolver
from connexion.spec import Specification
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connexion_speedups import FastAsyncApp
from connexion_speedups.dispatch import DecoratedOperation, DirectDispatch, DirectOperation
from connexion_speedups.routing import TableRouting
from connexion_speedups.swagger_ui import SwaggerUIOnItsPaths, literal_prefixes
from connexion_speedups.validation import CACHED_BODY_VALIDATORS, CachedRequestValidationMiddleware
from reference_impl import create_app
from reference_impl.handlers import SessionHandlers
from reference_impl.serving import serve_in_thread
from reference_impl.store import InMemorySessionStore
from session_spec import SPEC_PATH

SESSION = "/api/v1/session"
FIXED = "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e"
TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")

# (method, path, headers, body); "{new}" is the id the app's own POST answered.
REQUESTS: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", "/health", {}, None),
    ("HEAD", "/health", {}, None),
    ("POST", SESSION, {}, None),
    ("POST", SESSION, {"content-type": "application/json"}, b'{"ignored": true}'),
    ("GET", SESSION, {}, None),
    ("GET", f"{SESSION}/{{new}}", {}, None),
    ("HEAD", f"{SESSION}/{{new}}", {}, None),
    ("POST", f"{SESSION}/{FIXED}", {}, None),
    ("POST", f"{SESSION}/{FIXED}", {}, None),
    ("GET", f"{SESSION}/{FIXED.upper()}", {}, None),
    ("GET", f"{SESSION}/%7B{FIXED}%7D", {}, None),
    ("GET", f"{SESSION}/urn:uuid:{FIXED}", {}, None),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json"}, b'{"data": {"a": 1, "b": [1.5, "\\u00e9", null]}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "Application/JSON; charset=utf-8"}, b'{"data": {"a": {"deep": {}}}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json"}, b'{"data": {}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json; charset=nonesuch"}, b'{"data": {"c": 3}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/merge-patch+json"}, b'{"data": {"c": 3}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": ""}, b'{"data": {"n": NaN, "k": 1e400}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": ";charset=utf-8"}, b'{"data": {"n": NaN}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json; charset="}, b'{"data": {"e": 1}}'),
    ("PATCH", f"{SESSION}/{'a' * 36}", {"content-type": ""}, b'{"data": {}}'),
    ("POST", f"{SESSION}/{FIXED.replace('3', '4')}", {"content-type": ""}, b'{"data": {}}'),
    ("GET", f"{SESSION}/{FIXED}", {}, None),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json"}, b'{"data": 5}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json"}, b'{"nodata": {}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json"}, b"{not json"),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "text/plain"}, b'{"data": {}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {}, b'{"data": {}}'),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json"}, b'{"data": {"n": NaN}}'),
    ("GET", f"{SESSION}/not-a-uuid", {}, None),
    ("HEAD", f"{SESSION}/not-a-uuid", {}, None),
    ("DELETE", f"{SESSION}/not-a-uuid", {}, None),
    ("PATCH", f"{SESSION}/not-a-uuid", {"content-type": "application/json"}, b'{"data": {}}'),
    ("DELETE", f"{SESSION}/{FIXED}", {}, None),
    ("DELETE", f"{SESSION}/{FIXED}", {}, None),
    ("GET", f"{SESSION}/{FIXED}", {}, None),
    ("HEAD", f"{SESSION}/{FIXED}", {}, None),
    ("PATCH", f"{SESSION}/{FIXED}", {"content-type": "application/json"}, b'{"data": {}}'),
    ("DELETE", f"{SESSION}/{{new}}", {}, None),
    ("PUT", f"{SESSION}/{FIXED}", {}, None),
    ("DELETE", SESSION, {}, None),
    ("GET", "/nowhere", {}, None),
    ("POST", "/health", {}, None),
    ("DELETE", "/health", {}, None),
    ("OPTIONS", SESSION, {}, None),
    ("TRACE", SESSION, {}, None),
    ("GET", f"//api/v1/session/{FIXED}", {}, None),
    ("GET", f"{SESSION}/{FIXED}/extra", {}, None),
    ("GET", f"{SESSION}/a%2Fb", {}, None),
    ("GET", f"{SESSION}/%20", {}, None),
    ("GET", f"{SESSION}/%0A", {}, None),
    ("POST", f"{SESSION}%0A", {}, None),
    ("GET", "/health%0A", {}, None),
    ("GET", f"{SESSION}%0A", {}, None),
    ("GET", f"{SESSION}/{FIXED}/%0A", {}, None),
    ("DELETE", f"{SESSION}/{FIXED}%0A", {}, None),
    ("PATCH", f"{SESSION}/{FIXED}%0A", {"content-type": "application/json"}, b'{"nodata": 1}'),
    ("PATCH", f"{SESSION}/a%0Ab", {"content-type": "application/json"}, b'{"data": 1}'),
    ("GET", "/health/", {}, None),
    ("GET", f"{SESSION}/", {}, None),
    ("GET", "/api/v1/openapi.json", {}, None),
    ("GET", "/api/v1/ui", {}, None),
    ("GET", "/api/v1/ui/", {}, None),
    ("GET", "/api/v1/ui/index.html", {}, None),
    ("GET", "/api/v1/ui/swagger-ui-bundle.js", {}, None),
    ("GET", "/api/v1/ui/nothing-here.js", {}, None),
    ("POST", "/api/v1/ui/", {}, None),
    ("GET", "/api/v1/uix", {}, None),
    ("GET", "/api/v1/u", {}, None),
]


def exchanges(base_url: str) -> Iterator[tuple[int, list[tuple[str, str]], bytes | str]]:
    """Each request's answer: status, headers but `date`, body with ids, stamps and port as placeholders."""
    netloc = base_url.removeprefix("http://")  # 127.0.0.1:<port>; a bare port number may occur in any text
    with httpx.Client(base_url=base_url, timeout=10) as client:
        new = ""
        for method, path, headers, body in REQUESTS:
            response = client.request(method, path.replace("{new}", new), headers=headers, content=body)
            if method == "POST" and path == SESSION and response.status_code == 201:
                new = response.json()["sessionId"]
            content = response.content.replace(new.encode(), b"N" * len(new)) if new else response.content
            content = TIMESTAMP.sub(lambda match: b"T" * len(match.group()), content).replace(netloc.encode(), b"HOST")
            answer_headers = [
                (k, v.replace(netloc, "HOST").replace(new or "\0", "N" * len(new))) for k, v in response.headers.multi_items() if k != "date"
            ]
            # A long body (Swagger UI's scripts) is compared by digest: a failure message stays short.
            yield response.status_code, answer_headers, content if len(content) < 2000 else hashlib.sha256(content).hexdigest()


def operations(app: object) -> dict[str, object]:
    """The app's innermost layer's operations by operationId (building its stack as a first request would)."""
    _, layers = app.middleware._build_middleware_stack()  # type: ignore[attr-defined]  # what the first request does
    layer: RoutedMiddleware = next(layer for layer in layers if isinstance(layer, DirectDispatch))
    return {key: operation for apis in layer.apis.values() for api in apis for key, operation in api.operations.items()}


class ScopeEcho:
    """A middleware that adds to each answer a header naming what routing left on the scope it saw."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app, self.name = app, name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_echo(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                seen = (
                    type(route).__name__, getattr(route, "path", None), sorted(scope.get("path_params", {}).items()),
                    type(scope.get("endpoint")).__name__, type(scope.get("router")).__name__, scope.get("root_path"), scope.get("app_root_path"),
                )
                message = {**message, "headers": [*message["headers"], (self.name.encode(), ascii(seen).encode())]}
            await send(message)

        await self.app(scope, receive, send_with_echo)


def fast_app(**options: Any) -> Any:
    """The reference app with the speed-ups, as the mock builds it."""
    return create_app(app_class=FastAsyncApp, **options)


def reference_app(fast: bool) -> Any:
    return fast_app() if fast else create_app()


def echoing_app(fast: bool) -> Any:
    """The reference app with a `ScopeEcho` at every place outside routing where a user could add one."""
    app = reference_app(fast)
    for position in (MiddlewarePosition.BEFORE_EXCEPTION, MiddlewarePosition.BEFORE_SWAGGER, MiddlewarePosition.BEFORE_ROUTING):
        app.add_middleware(ScopeEcho, position=position, name=f"x-scope-{position.name.lower()}")
    return app


def test_cached_operations_answer_as_stock_connexion() -> None:
    # Answers, and the scope that layers outside routing see (a user's error handler gets it too).
    with serve_in_thread(echoing_app(fast=True)) as direct, serve_in_thread(echoing_app(fast=False)) as connexions:
        for request, ours, theirs in zip(REQUESTS, exchanges(direct), exchanges(connexions), strict=True):
            assert ours == theirs, request


def test_every_reference_handler_is_called_directly() -> None:
    routed = operations(fast_app())
    assert set(routed) == SessionHandlers.operation_ids()
    assert all(isinstance(operation, DirectOperation) for operation in routed.values())


class UnusualHandlers(SessionHandlers):
    """Handlers with parameters DirectOperation does not supply: Connexion's own chain serves them."""

    async def get_session(self, session_id: str, **extra: object) -> tuple[dict[str, object], int]:  # type: ignore[override]
        return await super().get_session(session_id)

    async def health(self, user_agent: str | None = None) -> tuple[dict[str, str], int]:  # type: ignore[override]
        return {"message": "OK"}, 200


@pytest.mark.parametrize("operation_id", ["get_session", "health"])
def test_handlers_it_cannot_call_as_connexion_would_keep_connexions_chain(operation_id: str) -> None:
    routed = operations(fast_app(handlers_class=UnusualHandlers))
    assert isinstance(routed[operation_id], DecoratedOperation)
    assert isinstance(routed["delete_session"], DirectOperation)


def test_swagger_ui_layer_is_skipped_only_where_no_route_of_it_can_match() -> None:
    _, layers = fast_app().middleware._build_middleware_stack()
    swagger_ui = next(layer for layer in layers if isinstance(layer, SwaggerUIOnItsPaths))
    assert swagger_ui.prefixes == ("/api/v1/ui",)
    # A route that starts with a parameter could match any path: nothing is skipped then.
    endpoint = lambda request: None  # noqa: E731
    assert literal_prefixes([Mount("/docs", routes=[Route("/{page}", endpoint)]), Route("/a/", endpoint)]) == {"/docs", "/a"}
    assert "" in literal_prefixes([Route("/{anything}", endpoint)])


class RoutingProbe:
    """A routing layer over the spec whose next app records what it is passed on."""

    def __init__(self, layer_class: type[RoutingMiddleware]) -> None:
        self.forwarded: list[Message] = []
        self.layer = layer_class(self.record)
        handlers = SessionHandlers(InMemorySessionStore())
        self.layer.add_api(Specification.load(SPEC_PATH), resolver=Resolver(function_resolver=handlers.resolve))

    async def record(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.forwarded.append(scope)

    async def route(self, method: str, path: str, preset: dict[str, object] | None = None) -> tuple[object, ...]:
        """What a request leaves: the scope passed on (routing context, path parameters; "answered"
        for a slash redirect) and what the outer layers then see on their scope."""
        self.forwarded.clear()
        scope: dict[str, object] = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b"", **(preset or {})}

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            self.forwarded.append(message)

        await self.layer(scope, receive, send)
        route, endpoint = scope.pop("route", None), scope.pop("endpoint", None)
        outer = (
            sorted(scope), scope.get("path_params"), scope.get("app_root_path"), scope.get("root_path"), type(scope.get("router")).__name__,
            type(route).__name__, getattr(route, "path", None), getattr(endpoint, "operation_id", type(endpoint).__name__),
        )
        if len(self.forwarded) != 1 or "extensions" not in self.forwarded[0]:
            return "answered", outer
        inner = self.forwarded[0]
        return inner["extensions"].get(ROUTING_CONTEXT), inner.get("path_params"), sorted(inner), outer


PROBES = {"table": RoutingProbe(TableRouting), "connexion": RoutingProbe(RoutingMiddleware)}


segments = st.sampled_from(["api", "v1", "session", "health", FIXED, "", "ui", "%2F", "x y", "é"]) | st.text(max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "TRACE"]),
    path=st.one_of(
        st.lists(segments, max_size=5).map(lambda parts: "/" + "/".join(parts)),
        st.builds(lambda tail: f"{SESSION}/{tail}", st.text(max_size=40)),
        st.builds(lambda path, tail: path + tail, st.sampled_from([SESSION, "/health", f"{SESSION}/{FIXED}", "/"]), st.sampled_from(["\n", "\n\n", "/\n", "\r"])),
        st.sampled_from([SESSION, f"{SESSION}/", "/health", "/health/", f"{SESSION}/{FIXED}", f"{SESSION}/{FIXED}/"]),
    ),
)
def test_routing_table_routes_as_connexions_router(method: str, path: str) -> None:
    for preset in ({}, {"root_path": ""}, {"path_params": {"injected": 1}, "app_root_path": ""}):
        table = asyncio.run(PROBES["table"].route(method, path, dict(preset)))
        assert table == asyncio.run(PROBES["connexion"].route(method, path, dict(preset))), preset


def test_validation_caches_stay_bounded_whatever_content_types_clients_send() -> None:
    # JSON bodies reach validation as `application/json` (reference_impl.json_body); a body-less
    # operation sees whatever media type and charset a client names.
    app = fast_app()
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        for n in range(3 * CACHED_BODY_VALIDATORS):
            answer = client.post(SESSION, content=b"x", headers={"content-type": f"text/x-{n}; charset=c{n}"})
            assert answer.status_code == 201, answer.text
        layer = next(layer for layer in app.middleware.middleware_stack if isinstance(layer, CachedRequestValidationMiddleware))
        operation = layer.apis[""][0].operations["create_session"]
        assert len(operation._body_validators) == CACHED_BODY_VALIDATORS  # one per media type and charset until full


SECOND_API = {
    "openapi": "3.0.3",
    "info": {"title": "a second API at the root", "version": "1"},
    "paths": {
        "/health": {"post": {"operationId": "second_health", "responses": {"200": {"description": "ok"}}}},
        "/extra": {"get": {"operationId": "extra", "responses": {"200": {"description": "ok"}}}},
    },
}


async def _second(*args: object, **kwargs: object) -> tuple[dict[str, str], int]:
    return {"message": "second"}, 200


def test_a_second_api_at_the_root_is_routed_as_by_stock_connexion() -> None:
    # Starlette sends every path to the first root mount (405 there for another method), so the
    # table must not flatten two APIs into one.
    answers = []
    for fast in (True, False):
        app = reference_app(fast)
        app.add_api(SECOND_API, resolver=Resolver(function_resolver=lambda operation_id: _second))
        with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
            answers.append([(r.status_code, r.content) for r in (client.get("/health"), client.post("/health"), client.get("/extra"))])
    assert answers[0] == answers[1]


@pytest.mark.parametrize("position", list(MiddlewarePosition), ids=lambda position: position.name)
def test_connexions_add_middleware_finds_every_position_as_on_a_stock_app(position: MiddlewarePosition) -> None:
    indexes = []
    for fast in (True, False):
        app = reference_app(fast)
        app.add_middleware(Marker, position=position)
        entries = [getattr(entry, "func", entry) for entry in app.middleware.middlewares]
        indexes.append(entries.index(Marker))
        assert issubclass(entries[indexes[-1] + 1], position.value)
    assert indexes[0] == indexes[1]


class Marker:
    """A middleware that only marks a place in the stack."""

    def __init__(self, app: object) -> None:
        self.app = app


def test_a_users_subclass_of_a_positions_middleware_is_not_taken_for_the_position() -> None:
    # Connexion finds a position by the exact class; so does FastAsyncApp (or the class's replacement).
    class AuditSecurity(SecurityMiddleware):  # type: ignore[misc]
        pass

    orders = []
    for app in (fast_app(), connexion.AsyncApp(__name__)):
        app.add_middleware(AuditSecurity, position=MiddlewarePosition.BEFORE_SECURITY)
        app.add_middleware(Marker, position=MiddlewarePosition.BEFORE_SECURITY)
        names = [getattr(entry, "func", entry).__name__ for entry in app.middleware.middlewares]
        orders.append(names[names.index("AuditSecurity") : names.index("SecurityMiddleware") + 1])
    assert orders[0] == orders[1] == ["AuditSecurity", "Marker", "SecurityMiddleware"], orders


def test_the_reference_runs_connexions_own_stack_and_only_the_mock_opts_into_the_speed_ups() -> None:
    from connexion.middleware import ConnexionMiddleware

    from mock_server import create_mock_app

    def classes(app: Any) -> list[type]:
        return [getattr(entry, "func", entry) for entry in app.middleware.middlewares]

    stock, mock = classes(create_app()), classes(create_mock_app())
    assert not [cls for cls in stock if cls.__module__.startswith("connexion_speedups")]
    assert [cls for cls in stock if cls in ConnexionMiddleware.default_middlewares] == ConnexionMiddleware.default_middlewares
    assert create_app().middleware.options.validator_map is None  # Connexion's own validators
    assert {DirectDispatch, TableRouting, SwaggerUIOnItsPaths, CachedRequestValidationMiddleware} <= set(mock)
