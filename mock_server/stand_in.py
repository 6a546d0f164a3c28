"""`StandIn`: how the mock stands in for a deployment other than the documented contract.

Three independent choices, each a layer that is absent (and costs nothing) when not chosen:
- `profile`: answer as a named deployment does (`mock_server.profile`, ASGI, inside CORS);
- `write_lag_ms`: commit each acknowledged write that much later (`mock_server.write_lag`, around the store);
- `proxy`: forward API requests to a real deployment and check each exchange (`mock_server.proxy`,
  where routing would be), with `/__mock/violations` (`mock_server.violations`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import connexion
from connexion.middleware import MiddlewarePosition

from mock_server.exchange_check import ExchangeChecker
from mock_server.profile import CONTRACT, Profile, ProfileMiddleware
from mock_server.proxy import EXCHANGE_NOTES, ProxyMiddleware, ProxySettings
from mock_server.violations import ViolationLog, ViolationRoutes
from mock_server.write_lag import with_write_lag
from reference_impl.store import SessionStore


@dataclass
class StandIn:
    """The stand-in choices of one mock; `StandIn()` is the plain contract mock."""

    profile: Profile = field(default_factory=lambda: Profile(CONTRACT))
    write_lag_ms: int = 0
    proxy: ProxySettings | None = None
    violations: ViolationLog = field(default_factory=ViolationLog)

    @property
    def journal_notes_key(self) -> str | None:
        """The scope key the journal offers for per-exchange notes (only the proxy writes any)."""
        return EXCHANGE_NOTES if self.proxy is not None else None

    def wrap_store(self, store: SessionStore) -> SessionStore:
        return with_write_lag(store, self.write_lag_ms)

    def install(self, app: connexion.AsyncApp) -> None:
        """Add the chosen layers to the mock app (call after its CORS layer has been added)."""
        if self.profile.rules:
            app.add_middleware(ProfileMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, profile=self.profile)
        if self.proxy is not None:
            app.add_middleware(ViolationRoutes, position=MiddlewarePosition.BEFORE_EXCEPTION, log=self.violations)
            app.add_middleware(
                ProxyMiddleware, position=MiddlewarePosition.BEFORE_ROUTING,
                settings=self.proxy, checker=ExchangeChecker(), violations=self.violations,
            )
