"""`create_app`: the Connexion app that serves openapi.yaml over a session store."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import connexion
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver

from reference_impl import errors
from reference_impl.bodyless import IgnoreBodyOfBodylessOperations, bodyless_operation_ids
from reference_impl.handlers import SessionHandlers
from reference_impl.json_body import StrictJsonBody, json_body_operation_ids
from reference_impl.served_spec import ANY_METHOD, SPEC_JSON_PATH, SPEC_YAML_PATH, ServedSpec
from reference_impl.store import InMemorySessionStore, SessionStore
from session_spec import SPEC_PATH, load_spec
from session_spec.rules import OperationTable

API_PREFIX = "/api/v1"
SWAGGER_UI_OPTIONS = SwaggerUIOptions(
    serve_spec=False,  # served as written (reference_impl.served_spec), not as Connexion's resolved copy
    spec_path=SPEC_JSON_PATH,
    swagger_ui_path=f"{API_PREFIX}/ui",
)


def reference_middlewares(spec: dict[str, Any]) -> list[Any]:
    """The reference's middleware list, outermost first: Connexion's `default_middlewares` with the
    strict JSON reader just before request validation (reference_impl.json_body) and the body-less
    operations' content type dropped just before Connexion's context (reference_impl.bodyless)."""
    middlewares: list[Any] = []
    for middleware in ConnexionMiddleware.default_middlewares:
        if middleware is RequestValidationMiddleware:
            middlewares.append(partial(StrictJsonBody, operation_ids=json_body_operation_ids(spec)))
        if middleware is ContextMiddleware:
            middlewares.append(partial(IgnoreBodyOfBodylessOperations, operation_ids=bodyless_operation_ids(spec)))
        middlewares.append(middleware)
    return middlewares


def create_app(
    store: SessionStore | None = None,
    *,
    spec_path: Path = SPEC_PATH,
    handlers_class: type[SessionHandlers] = SessionHandlers,
    app_class: type[connexion.AsyncApp] = connexion.AsyncApp,
    middlewares: Callable[[list[Any]], list[Any]] | None = None,
) -> connexion.AsyncApp:
    """The reference implementation: request and response validation on, errors in the contract's shape.

    Swagger UI is served at `/api/v1/ui/` and the spec at `/api/v1/openapi.json`.
    The store is reachable as `app.store` (the mock's admin routes use it). `handlers_class`
    lets a test build a deliberately different deployment from the same spec.

    The app is Connexion's own, configured only through its documented seams: its middleware list
    (`middlewares=`, `reference_middlewares`), a function resolver naming handlers after
    operationIds, and error handlers rendering the contract's shape. `app_class` may name a drop-in
    subclass of `connexion.AsyncApp`: the mock passes `connexion_speedups.FastAsyncApp`, which
    answers the same, faster. `middlewares` may turn the reference's list into the one to run (the
    mock declares its whole stack from it: mock_server.stack).
    """
    store = store if store is not None else InMemorySessionStore()
    spec = load_spec(spec_path)
    handlers = handlers_class(store)
    stack = reference_middlewares(spec)
    app = app_class(__name__, middlewares=stack if middlewares is None else middlewares(stack))
    app.add_api(
        spec_path,
        resolver=Resolver(function_resolver=handlers.resolve),
        validate_responses=True,
        strict_validation=False,
        swagger_ui_options=SWAGGER_UI_OPTIONS,
    )
    served = ServedSpec(spec)
    app.add_url_rule(SPEC_JSON_PATH, "openapi_json", served.json, methods=ANY_METHOD)
    app.add_url_rule(SPEC_YAML_PATH, "openapi_yaml", served.yaml, methods=ANY_METHOD)
    errors.register(app, OperationTable(spec).methods)
    app.store = store  # type: ignore[attr-defined]
    return app
