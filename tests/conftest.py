"""Shared fixtures: the reference implementation served by uvicorn on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reference_impl import create_app
from reference_impl.serving import LiveServer


@pytest.fixture(scope="session")
def reference_server() -> Iterator[LiveServer]:
    """One reference implementation for the whole test session (tests use fresh ids, so they do not collide)."""
    app = create_app()
    with LiveServer(app) as server:
        server.app = app  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="session")
def base_url(reference_server: LiveServer) -> str:
    return reference_server.base_url


@pytest.fixture()
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        yield http
