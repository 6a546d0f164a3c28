"""`session-mock`: the reference implementation dressed for frontend work.

CORS for local dev servers, forced responses from the spec's examples (`Prefer: code=500`),
latency, seed data, admin routes under `/__mock/`, and an optional crash-safe SQLite state file.
"""

import warnings

# Connexion imports starlette.testclient, which warns about httpx on every start of the CLI.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from mock_server.app import create_mock_app  # noqa: E402

__all__ = ["create_mock_app"]
