"""The session API contract made executable: a stock Connexion app over an in-memory store."""

import warnings

# Connexion imports starlette.testclient, which warns about httpx on import; the project's
# commands print it on every start otherwise. It concerns Connexion's test client, unused here.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from reference_impl.app import create_app
from reference_impl.store import (
    InMemorySessionStore,
    SessionExists,
    SessionRecord,
    SessionStore,
    StorageError,
)

__all__ = [
    "create_app",
    "InMemorySessionStore",
    "SessionExists",
    "SessionRecord",
    "SessionStore",
    "StorageError",
]
