"""`create_app`: the Connexion app that serves openapi.yaml over a session store."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import connexion
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver

from reference_impl import errors
from reference_impl.bodyless import IgnoreBodyOfBodylessOperations, bodyless_operation_ids
from reference_impl.dispatch import DirectDispatch
from reference_impl.handlers import SessionHandlers
from reference_impl.json_body import StrictJsonBody, json_body_operation_ids
from reference_impl.routing import TableRouting
from reference_impl.served_spec import ANY_METHOD, SPEC_JSON_PATH, SPEC_YAML_PATH, ServedSpec
from reference_impl.store import InMemorySessionStore, SessionStore
from reference_impl.swagger_ui import SwaggerUIOnItsPaths
from reference_impl.validation import CachedRequestValidationMiddleware, CachedResponseValidationMiddleware
from reference_impl.validators import compiled_validator_map
from session_spec import SPEC_PATH, load_spec, operations_by_path, path_pattern

API_PREFIX = "/api/v1"


def documented_methods(spec: dict[str, Any]) -> Callable[[str], list[str] | None]:
    """A function from a request path to the methods the spec documents for it (None: unknown path)."""
    table = [
        (path_pattern(template), sorted(op.method.upper() for op in ops))
        for template, ops in operations_by_path(spec).items()
    ]

    def lookup(path: str) -> list[str] | None:
        for pattern, methods in table:
            if pattern.fullmatch(path):
                return methods
        return None

    return lookup


# Connexion's middlewares the reference replaces by subclasses doing their spec-only work once.
REPLACEMENTS: dict[type, type] = {
    RequestValidationMiddleware: CachedRequestValidationMiddleware,
    ResponseValidationMiddleware: CachedResponseValidationMiddleware,
    SwaggerUIMiddleware: SwaggerUIOnItsPaths,
    RoutingMiddleware: TableRouting,
}


class ReferenceApp(connexion.AsyncApp):  # type: ignore[misc]
    """Connexion's `AsyncApp`, whose `add_middleware` also finds positions at the reference's replacements.

    Connexion's own `add_middleware` finds `position` (e.g. `BEFORE_ROUTING`) by the exact class,
    and this app runs subclasses of some of them (`REPLACEMENTS`: `TableRouting`, ...), so
    `app.add_middleware(..., position=...)` works as on a stock app: as there, each add at a position
    goes inside the ones added before it at that position. Raises RuntimeError once the app has
    started, ValueError if no middleware stands at `position`.
    """

    def add_middleware(
        self, middleware_class: Any, position: MiddlewarePosition = MiddlewarePosition.BEFORE_CONTEXT, **options: Any
    ) -> None:
        if self.middleware.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        stack = self.middleware.middlewares
        for index, entry in enumerate(stack):
            entry_class = entry.func if isinstance(entry, partial) else entry
            if entry_class is position.value or entry_class is REPLACEMENTS.get(position.value):
                stack.insert(index, partial(middleware_class, **options))
                return
        raise ValueError(f"Could not insert middleware at position {position.name}: no {position.value.__name__} in the stack")


def create_app(
    store: SessionStore | None = None,
    *,
    spec_path: Path = SPEC_PATH,
    handlers_class: type[SessionHandlers] = SessionHandlers,
    stock_connexion: bool = False,
) -> connexion.AsyncApp:
    """The reference implementation: request and response validation on, errors in the contract's shape.

    Swagger UI is served at `/api/v1/ui/` and the spec at `/api/v1/openapi.json`.
    The store is reachable as `app.store` (the mock's admin routes use it). `handlers_class`
    lets a test build a deliberately different deployment from the same spec.
    `stock_connexion=True` leaves out the per-operation caches (reference_impl.validation,
    reference_impl.dispatch) and runs Connexion's own middlewares as they are: the answers are the
    same (tests/test_dispatch.py compares the two), only slower.
    """
    store = store if store is not None else InMemorySessionStore()
    spec = load_spec(spec_path)
    handlers = handlers_class(store)
    # Connexion's middlewares, with its request and response validation doing spec-only work once
    # (reference_impl.validation), Swagger UI consulted only on its paths (reference_impl.swagger_ui),
    # routes found in a table (reference_impl.routing),
    # and DirectDispatch innermost: handlers set up once per operation (reference_impl.dispatch).
    middlewares: list[Any] = []
    for middleware in ConnexionMiddleware.default_middlewares:
        if middleware is RequestValidationMiddleware:  # strict JSON is checked just before validation
            middlewares.append(partial(StrictJsonBody, operation_ids=json_body_operation_ids(spec)))
        middlewares.append(middleware if stock_connexion else REPLACEMENTS.get(middleware, middleware))
    app = ReferenceApp(__name__, middlewares=middlewares if stock_connexion else [*middlewares, DirectDispatch])
    app.add_api(
        spec_path,
        resolver=Resolver(function_resolver=handlers.resolve),
        validate_responses=True,
        validator_map=compiled_validator_map(),
        strict_validation=False,
        swagger_ui_options=SwaggerUIOptions(
            serve_spec=False,  # served as written below, not as Connexion's resolved copy
            spec_path=SPEC_JSON_PATH,
            swagger_ui_path=f"{API_PREFIX}/ui",
        ),
    )
    served = ServedSpec(spec)
    app.add_url_rule(SPEC_JSON_PATH, "openapi_json", served.json, methods=ANY_METHOD)
    app.add_url_rule(SPEC_YAML_PATH, "openapi_yaml", served.yaml, methods=ANY_METHOD)
    errors.register(app, documented_methods(spec))
    app.add_middleware(IgnoreBodyOfBodylessOperations, operation_ids=bodyless_operation_ids(spec))
    app.store = store  # type: ignore[attr-defined]
    return app
