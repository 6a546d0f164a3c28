"""Shared fixtures: the reference implementation served by uvicorn on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from reference_impl import create_app
from reference_impl.serving import LiveServer
from session_spec import SPEC_PATH, load_spec
from tests.status_coverage import StatusRecorder

if TYPE_CHECKING:
    from tests.private_ca import Pki


@pytest.fixture(scope="session")
def served_statuses() -> Iterator[StatusRecorder]:
    """Every (operationId, status) the reference served in this run (see tests/test_status_coverage.py).

    At teardown, after every test that used the reference server, no served status may be
    undocumented: that check sees the whole run whatever the test order or `-k` selection.
    """
    recorder = StatusRecorder(load_spec(SPEC_PATH))
    yield recorder
    undocumented = sorted(recorder.undocumented())
    if undocumented:
        pytest.fail(f"the reference served statuses openapi.yaml does not document: {undocumented}", pytrace=False)


@pytest.fixture(scope="session")
def reference_server(served_statuses: StatusRecorder) -> Iterator[LiveServer]:
    """One reference implementation for the whole test session (tests use fresh ids, so they do not collide).

    Every response it sends is recorded by `served_statuses`.
    """
    app = create_app()
    with LiveServer(served_statuses.wrap(app)) as server:
        server.app = app  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="session")
def base_url(reference_server: LiveServer) -> str:
    return reference_server.base_url


@pytest.fixture()
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        yield http


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA with its server and client certificates (`tests.private_ca`), made once per test run."""
    from tests.private_ca import make_pki

    return make_pki(tmp_path_factory.mktemp("pki"))
