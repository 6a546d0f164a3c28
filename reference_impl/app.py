"""`create_app`: the Connexion app that serves openapi.yaml over a session store."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import connexion
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver

from reference_impl import errors
from reference_impl.bodyless import IgnoreBodyOfBodylessOperations, bodyless_operation_ids
from reference_impl.handlers import SessionHandlers
from reference_impl.json_body import StrictJsonBody, json_body_operation_ids
from session_spec import HTTP_METHODS, SPEC_PATH, load_spec
from reference_impl.store import InMemorySessionStore, SessionStore

API_PREFIX = "/api/v1"


def documented_methods(spec: dict[str, Any]) -> Callable[[str], list[str] | None]:
    """A function from a request path to the methods the spec documents for it (None: unknown path)."""
    table = []
    for template, item in spec["paths"].items():
        pattern = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)))
        table.append((pattern, sorted(m.upper() for m in item if m in HTTP_METHODS)))

    def lookup(path: str) -> list[str] | None:
        for pattern, methods in table:
            if pattern.fullmatch(path):
                return methods
        return None

    return lookup


def create_app(
    store: SessionStore | None = None,
    *,
    spec_path: Path = SPEC_PATH,
    handlers_class: type[SessionHandlers] = SessionHandlers,
) -> connexion.AsyncApp:
    """The reference implementation: request and response validation on, errors in the contract's shape.

    Swagger UI is served at `/api/v1/ui/` and the spec at `/api/v1/openapi.json`.
    The store is reachable as `app.store` (the mock's admin routes use it). `handlers_class`
    lets a test build a deliberately different deployment from the same spec.
    """
    store = store if store is not None else InMemorySessionStore()
    spec = load_spec(spec_path)
    handlers = handlers_class(store)
    app = connexion.AsyncApp(__name__)
    app.add_api(
        spec_path,
        resolver=Resolver(function_resolver=handlers.resolve),
        validate_responses=True,
        strict_validation=False,
        swagger_ui_options=SwaggerUIOptions(
            spec_path=f"{API_PREFIX}/openapi.json",
            swagger_ui_path=f"{API_PREFIX}/ui",
        ),
    )
    errors.register(app, documented_methods(spec))
    app.add_middleware(StrictJsonBody, position=MiddlewarePosition.BEFORE_VALIDATION, operation_ids=json_body_operation_ids(spec))
    app.add_middleware(IgnoreBodyOfBodylessOperations, operation_ids=bodyless_operation_ids(spec))
    app.store = store  # type: ignore[attr-defined]
    return app
