"""The served spec is the written spec: `/api/v1/openapi.json` (and `.yaml`, and Swagger UI's source)
give the document of `openapi.yaml`, components and names intact, with `servers` naming the server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import yaml

from mock_server.app import create_mock_app
from reference_impl.serving import LiveServer
from session_spec import load_spec


@pytest.fixture(scope="module")
def mock() -> Iterator[LiveServer]:
    with LiveServer(create_mock_app()) as server:
        yield server


@pytest.fixture(params=["reference", "mock"])
def server(request: pytest.FixtureRequest) -> LiveServer:
    return request.getfixturevalue("reference_server" if request.param == "reference" else "mock")  # type: ignore[no-any-return]


def without_servers(document: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in document.items() if key != "servers"}


def test_openapi_json_is_the_written_document_with_this_server(server: LiveServer) -> None:
    served = httpx.get(f"{server.base_url}/api/v1/openapi.json", timeout=10)
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/json")
    document = served.json()
    written = load_spec()
    assert without_servers(document) == without_servers(written)
    assert document["servers"] == [{"url": server.base_url, "description": "this server"}]
    # What client generators name their models after is there, unresolved.
    assert "Session" in document["components"]["schemas"]
    get = document["paths"]["/api/v1/session/{session_id}"]["get"]["responses"]["200"]
    assert get["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Session"}


def test_openapi_yaml_is_the_same_document(server: LiveServer) -> None:
    served = httpx.get(f"{server.base_url}/api/v1/openapi.yaml", timeout=10)
    assert served.status_code == 200
    assert yaml.safe_load(served.text) == httpx.get(f"{server.base_url}/api/v1/openapi.json", timeout=10).json()


def test_swagger_ui_reads_the_served_document(server: LiveServer) -> None:
    page = httpx.get(f"{server.base_url}/api/v1/ui/", timeout=10)
    assert page.status_code == 200 and 'url: "/api/v1/openapi.json"' in page.text
