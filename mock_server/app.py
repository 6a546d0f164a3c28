"""`create_mock_app`: the reference implementation with the mock's layers around it.

Outermost first: Connexion's server-error guard, closing the store at shutdown, the request journal, CORS, Connexion's exception
handling (reference_impl.errors), the 1 MiB body limit, the `/__mock/` admin routes, Swagger UI,
routing, then the scenario layer (latency, delays, forced responses), request validation, the
reference handlers and response validation. A stand-in (mock_server.stand_in) adds its profile
layer just inside CORS and its proxy where routing would be. No handler is re-implemented here.
"""

from __future__ import annotations

from pathlib import Path

import connexion
from connexion.middleware import MiddlewarePosition

from connexion_speedups import FastAsyncApp
from mock_server.admin import AdminRoutes
from mock_server.body_limit import ONE_MIB, BodyLimitMiddleware
from mock_server.cors import JsonCORSMiddleware, cors_options
from mock_server.examples import ResponseCatalogue
from mock_server.forced import ScenarioMiddleware
from mock_server.journal import JournalMiddleware, RequestJournal
from mock_server.latency import Latency
from mock_server.lifespan import CloseStoreOnShutdown
from mock_server.stand_in import StandIn
from reference_impl import create_app
from reference_impl.store import InMemorySessionStore, SessionStore
from session_spec import SPEC_PATH


def create_mock_app(
    store: SessionStore | None = None,
    *,
    cors_origins: list[str] | None = None,
    cors_credentials: bool = True,
    latency: Latency = Latency(),
    journal_size: int = 500,
    max_body_bytes: int = ONE_MIB,
    spec_path: Path = SPEC_PATH,
    cors: bool = True,
    stand_in: StandIn | None = None,
) -> connexion.AsyncApp:
    """The mock as an ASGI app; `app.store` is its store and `app.journal` its request journal.

    `cors=False` leaves CORS out (what a browser meets against a deployment without it); `stand_in`
    chooses a production profile, a write lag or a proxy (mock_server.stand_in).
    """
    stand_in = stand_in if stand_in is not None else StandIn()
    store = stand_in.wrap_store(store if store is not None else InMemorySessionStore())
    journal = RequestJournal(journal_size)
    app = create_app(store, spec_path=spec_path, app_class=FastAsyncApp)  # the reference, with the speed-ups
    # Each add at a position goes inside the ones added before it at that position.
    app.add_middleware(CloseStoreOnShutdown, position=MiddlewarePosition.BEFORE_EXCEPTION, store=store)
    app.add_middleware(
        JournalMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, journal=journal, notes_key=stand_in.journal_notes_key
    )
    if cors:
        app.add_middleware(JsonCORSMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, **cors_options(cors_origins, cors_credentials))
    stand_in.install(app)
    app.add_middleware(BodyLimitMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER, max_bytes=max_body_bytes)
    app.add_middleware(AdminRoutes, position=MiddlewarePosition.BEFORE_SWAGGER, store=store, journal=journal)
    app.add_middleware(
        ScenarioMiddleware, position=MiddlewarePosition.BEFORE_SECURITY, catalogue=ResponseCatalogue(spec_path), latency=latency
    )
    app.journal = journal  # type: ignore[attr-defined]
    return app
