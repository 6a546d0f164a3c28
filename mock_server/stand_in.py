"""`StandIn`: how the mock stands in for a deployment other than the documented contract.

Three independent choices, each a layer that is absent (and costs nothing) when not chosen:
- `profile`: answer as a named deployment does (`mock_server.profile`, ASGI, inside CORS);
- `write_lag_ms`: commit each acknowledged write that much later (`mock_server.write_lag`, around the store);
- `proxy`: forward API requests to a real deployment and check each exchange (`mock_server.proxy`,
  where routing would be), with `/__mock/violations` (`mock_server.violations`, served by the admin router).

Each choice is a layer of the one declared stack (mock_server.stack).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mock_server.profile import CONTRACT, Profile, ProfileMiddleware
from mock_server.proxy import EXCHANGE_NOTES, ProxyMiddleware, ProxySettings
from mock_server.record import Recording
from mock_server.violations import ViolationLog
from mock_server.write_lag import with_write_lag
from reference_impl.store import SessionStore
from session_spec import load_spec
from session_spec.exchanges import ExchangeChecker
from session_spec.rules import OperationTable


@dataclass
class StandIn:
    """The stand-in choices of one mock; `StandIn()` is the plain contract mock."""

    profile: Profile = field(default_factory=lambda: Profile(CONTRACT))
    write_lag_ms: int = 0
    proxy: ProxySettings | None = None
    violations: ViolationLog = field(default_factory=ViolationLog)
    record: Path | None = None  # with a proxy: where to write the sessions it saw (mock_server.record)

    @property
    def journal_notes_key(self) -> str | None:
        """The scope key the journal offers for per-exchange notes (only the proxy writes any)."""
        return EXCHANGE_NOTES if self.proxy is not None else None

    def wrap_store(self, store: SessionStore) -> SessionStore:
        return with_write_lag(store, self.write_lag_ms)

    def profile_layer(self) -> Any:
        """The profile's layer (mock_server.stack's `profile`), None for the contract itself."""
        return partial(ProfileMiddleware, profile=self.profile) if self.profile.rules else None

    def proxy_layer(self) -> Any:
        """The proxy's layer (mock_server.stack's `proxy`), None without --proxy."""
        if self.proxy is None:
            return None
        recording = Recording(self.record, OperationTable(load_spec())) if self.record is not None else None
        return partial(ProxyMiddleware, settings=self.proxy, checker=ExchangeChecker(), violations=self.violations, recording=recording)
