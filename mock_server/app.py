"""`create_mock_app`: the reference implementation with the mock's layers around it.

The whole stack is declared once, outermost first, in mock_server.stack; this module only makes
the layers the options ask for and hands the list to `reference_impl.create_app`, on the
speed-ups (`connexion_speedups.FastAsyncApp`). No handler is re-implemented here. With a proxy
(`StandIn.proxy`) the mock is the proxy's own app instead (mock_server.proxy_app), sharing the
outer layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import connexion

from connexion_speedups import FastAsyncApp
from mock_server.admin import ADMIN_ROOT, AdminRoutes
from mock_server.barrier import GRACE_S, ResetBarrier, ResetBarrierMiddleware
from mock_server.body_limit import ONE_MIB, BodyLimitMiddleware
from mock_server.cors import JsonCORSMiddleware, cors_options
from mock_server.examples import ResponseCatalogue
from mock_server.forced import ScenarioMiddleware
from mock_server.forwarded import ForwardedMiddleware
from mock_server.hosts import AllowedHosts, AllowedHostsMiddleware
from mock_server.journal import JournalMiddleware, RequestJournal
from mock_server.latency import Latency
from mock_server.lifespan import CloseStoreOnShutdown, FreezeHeapAfterStartup
from mock_server.namespaces import NamespacedJournal, NamespacedStore, NamespaceMiddleware
from mock_server.proxy_app import create_proxy_app
from mock_server.sqlite_store import SqliteSessionStore
from mock_server.stack import Layer, middlewares, mock_stack, proxy_stack
from mock_server.stand_in import StandIn
from reference_impl import create_app
from reference_impl.app import reference_middlewares
from reference_impl.store import InMemorySessionStore, SessionRecord, SessionStore
from session_spec import SPEC_PATH, load_spec
from session_spec.rules import OperationTable


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
    freeze_heap: bool = False,
    fixtures: list[SessionRecord] | None = None,
    reset_grace_s: float = GRACE_S,
    allowed_hosts: Sequence[str] | None = (),
    root_path: str = "",
    forwarded_allow_ips: Sequence[str] = (),
) -> connexion.AsyncApp:
    """The mock as an ASGI app; `app.store` is its store, `app.journal` its request journal and
    `app.layers` its declared stack (mock_server.stack).

    `cors=False` leaves CORS out (what a browser meets against a deployment without it); `stand_in`
    chooses a production profile, a write lag or a proxy (mock_server.stand_in); `freeze_heap`
    (the `session-mock` command) freezes the start-up heap (mock_server.lifespan); `fixtures` (the
    `--seed` records) are what `POST /__mock/reset` restores, after waiting `reset_grace_s` for
    requests in flight (mock_server.barrier). `allowed_hosts` are the names it answers to besides
    the loopback names (mock_server.hosts; None: any host, no layer). `root_path` is the public path
    prefix, and proxies at `forwarded_allow_ips` may send X-Forwarded-Prefix/-Host/-Proto (mock_server.forwarded).
    """
    stand_in = stand_in if stand_in is not None else StandIn()
    journal = RequestJournal(journal_size) if stand_in.proxy is not None else NamespacedJournal(journal_size)
    barrier = ResetBarrier(reset_grace_s)
    shared = {
        "forwarded": partial(ForwardedMiddleware, root_path=root_path, trusted=forwarded_allow_ips) if root_path or forwarded_allow_ips else None,
        "namespaces": NamespaceMiddleware if stand_in.proxy is None else None,  # proxy mode has none
        "barrier": partial(ResetBarrierMiddleware, barrier=barrier, exempt=f"{ADMIN_ROOT}/"),
        "freeze_heap": FreezeHeapAfterStartup if freeze_heap else None,
        "journal": partial(JournalMiddleware, journal=journal, notes_key=stand_in.journal_notes_key, not_journaled=f"{ADMIN_ROOT}/"),
        "hosts": partial(AllowedHostsMiddleware, hosts=AllowedHosts(allowed_hosts)) if allowed_hosts is not None else None,
        "cors": partial(JsonCORSMiddleware, **cors_options(cors_origins, cors_credentials)) if cors else None,
        "body_limit": partial(BodyLimitMiddleware, max_bytes=max_body_bytes),
    }
    if stand_in.proxy is not None:  # the deployment answers: no store, no reference (mock_server.proxy_app)
        proxy = create_proxy_app(
            spec_path,
            **shared,
            admin=partial(AdminRoutes, store=None, journal=journal, violations=stand_in.violations, barrier=barrier),
            scenarios=partial(ScenarioMiddleware, catalogue=ResponseCatalogue(spec_path), latency=latency, operations=OperationTable(load_spec(spec_path))),
            proxy=stand_in.proxy_layer(),
        )
        proxy.journal = journal  # type: ignore[attr-defined]
        return proxy
    base = store if store is not None else InMemorySessionStore()

    def namespace_store(name: str) -> SessionStore:
        """A namespace's own store: a table of the state file, or memory (mock_server.namespaces)."""
        return stand_in.wrap_store(base.namespace(name) if isinstance(base, SqliteSessionStore) else InMemorySessionStore())

    store = NamespacedStore(stand_in.wrap_store(base), make=namespace_store, fixtures=list(fixtures or []))
    layers: list[Layer] = []

    def declare(reference: list[Any]) -> list[Any]:
        layers.extend(mock_stack(
            reference,
            **shared,
            close_store=partial(CloseStoreOnShutdown, store=store),
            profile=stand_in.profile_layer(),
            admin=partial(AdminRoutes, store=store, journal=journal, barrier=barrier, fixtures=fixtures),
            scenarios=partial(ScenarioMiddleware, catalogue=ResponseCatalogue(spec_path), latency=latency),
        ))
        return middlewares(layers)

    app = create_app(store, spec_path=spec_path, app_class=FastAsyncApp, middlewares=declare)
    app.journal = journal  # type: ignore[attr-defined]
    app.layers = layers  # type: ignore[attr-defined]
    return app


def declared_stack() -> list[Layer]:
    """Every layer the mock can run, in order (for the documentation's flow section, docs/architecture.md)."""
    off = dict.fromkeys(["close_store", "forwarded", "namespaces", "barrier", "freeze_heap", "journal", "hosts", "cors", "profile", "body_limit", "admin", "scenarios"])
    return mock_stack(reference_middlewares(load_spec()), **off)


def declared_proxy_stack() -> list[Layer]:
    """Every layer the proxy can run, in order (for the documentation's flow section, docs/architecture.md)."""
    names = [
        "server_error", "forwarded", "namespaces", "barrier", "freeze_heap", "journal", "hosts", "cors", "exceptions", "body_limit", "admin",
        "swagger_ui", "scenarios", "proxy",
    ]
    return proxy_stack(**dict.fromkeys(names))
