"""`create_mock_app`: the reference implementation with the mock's layers around it.

Outermost first: Connexion's server-error guard, closing the store at shutdown, the request journal, CORS, Connexion's exception
handling (reference_impl.errors), the 1 MiB body limit, the `/__mock/` admin routes, Swagger UI,
routing, then the scenario layer (latency, delays, forced responses), request validation, the
reference handlers and response validation. No handler is re-implemented here.
"""

from __future__ import annotations

from pathlib import Path

import connexion
from connexion.middleware import MiddlewarePosition

from mock_server.admin import AdminRoutes
from mock_server.body_limit import ONE_MIB, BodyLimitMiddleware
from mock_server.cors import JsonCORSMiddleware, cors_options
from mock_server.examples import ResponseCatalogue
from mock_server.forced import ScenarioMiddleware
from mock_server.journal import JournalMiddleware, RequestJournal
from mock_server.latency import Latency
from mock_server.lifespan import CloseStoreOnShutdown
from reference_impl import create_app
from session_spec import SPEC_PATH
from reference_impl.store import InMemorySessionStore, SessionStore


def create_mock_app(
    store: SessionStore | None = None,
    *,
    cors_origins: list[str] | None = None,
    cors_credentials: bool = True,
    latency: Latency = Latency(),
    journal_size: int = 500,
    max_body_bytes: int = ONE_MIB,
    spec_path: Path = SPEC_PATH,
) -> connexion.AsyncApp:
    """The mock as an ASGI app; `app.store` is its store and `app.journal` its request journal."""
    store = store if store is not None else InMemorySessionStore()
    journal = RequestJournal(journal_size)
    app = create_app(store, spec_path=spec_path)
    # Each add at a position goes inside the ones added before it at that position.
    app.add_middleware(CloseStoreOnShutdown, position=MiddlewarePosition.BEFORE_EXCEPTION, store=store)
    app.add_middleware(JournalMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, journal=journal)
    app.add_middleware(JsonCORSMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, **cors_options(cors_origins, cors_credentials))
    app.add_middleware(BodyLimitMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER, max_bytes=max_body_bytes)
    app.add_middleware(AdminRoutes, position=MiddlewarePosition.BEFORE_SWAGGER, store=store, journal=journal)
    app.add_middleware(
        ScenarioMiddleware, position=MiddlewarePosition.BEFORE_SECURITY, catalogue=ResponseCatalogue(spec_path), latency=latency
    )
    app.journal = journal  # type: ignore[attr-defined]
    return app
