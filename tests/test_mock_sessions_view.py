"""`GET /__mock/sessions`: a read-only view of the mock's store, in memory and in a state file alike.

In-process (httpx's `ASGITransport` over the mock app): the view lists what the API stored, in the API's
`Session` shape, oldest first; it changes nothing; HEAD answers as GET does; other methods but the
seed's POST answer 405 with `Allow`. (HEAD's empty body over a real server: tests/test_mock_routes.py.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server import create_mock_app
from mock_server.sqlite_store import SqliteSessionStore
from reference_impl.store import InMemorySessionStore, SessionStore

SESSION = "/api/v1/session"
VIEW = "/__mock/sessions"
Talk = Callable[[httpx.AsyncClient], Awaitable[Any]]


@pytest.fixture(params=["memory", "state-file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    store: SessionStore = InMemorySessionStore() if request.param == "memory" else SqliteSessionStore(tmp_path / "state.db")
    yield store
    asyncio.run(store.close())


def talk(store: SessionStore, conversation: Talk) -> Any:
    """Run `conversation` against a mock app over `store`, in this process."""

    async def go() -> Any:
        transport = httpx.ASGITransport(app=create_mock_app(store))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await conversation(client)

    return asyncio.run(go())


def test_an_empty_store_is_an_empty_view(store: SessionStore) -> None:
    async def conversation(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(VIEW)

    response = talk(store, conversation)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.json() == {"count": 0, "sessions": []}


def test_the_view_lists_what_the_api_stored_as_get_answers_it_oldest_first(store: SessionStore) -> None:
    async def conversation(client: httpx.AsyncClient) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        ids = [(await client.post(SESSION)).json()["sessionId"] for _ in range(3)]
        await client.patch(f"{SESSION}/{ids[1]}", json={"data": {"status": "scraping", "nested": {"a": [1, 2]}}})
        await client.delete(f"{SESSION}/{ids[2]}")
        answers = [(await client.get(f"{SESSION}/{sid}")).json() for sid in ids[:2]]
        return answers, (await client.get(VIEW)).json()

    answers, view = talk(store, conversation)
    assert view == {"count": 2, "sessions": answers}
    assert answers[1]["data"] == {"status": "scraping", "nested": {"a": [1, 2]}}


def test_reading_the_view_changes_nothing(store: SessionStore) -> None:
    async def conversation(client: httpx.AsyncClient) -> list[Any]:
        sid = (await client.post(SESSION)).json()["sessionId"]
        await client.patch(f"{SESSION}/{sid}", json={"data": {"k": 1}})
        views = [(await client.get(VIEW)).json(), (await client.head(VIEW)).status_code, (await client.get(VIEW)).json()]
        return [*views, (await client.get(f"{SESSION}/{sid}")).json()]

    first, head_status, second, session = talk(store, conversation)
    assert first == second == {"count": 1, "sessions": [session]}
    assert head_status == 200


def test_the_view_is_a_seed_that_restores_the_same_store(store: SessionStore) -> None:
    seed = [
        {"sessionId": str(uuid.uuid4()), "data": {"n": 2}, "createdAt": "2026-11-28T18:30:00+02:00", "updatedAt": "2026-11-28T16:31:00+00:00"},
        {"sessionId": str(uuid.uuid4()), "data": {"n": 1}, "createdAt": "2026-11-28T16:00:00+00:00", "updatedAt": "2026-11-28T16:00:00+00:00"},
    ]

    async def seeded_view(client: httpx.AsyncClient) -> dict[str, Any]:
        assert (await client.post(VIEW, json=seed)).status_code == 201
        return (await client.get(VIEW)).json()  # type: ignore[no-any-return]

    view = talk(store, seeded_view)
    assert [s["data"] for s in view["sessions"]] == [{"n": 1}, {"n": 2}]  # 16:00 UTC before 16:30 UTC

    async def restored_view(client: httpx.AsyncClient) -> dict[str, Any]:
        assert (await client.post(VIEW, json=view["sessions"])).status_code == 201
        return (await client.get(VIEW)).json()  # type: ignore[no-any-return]

    assert talk(InMemorySessionStore(), restored_view) == view


def test_head_answers_as_get_does(store: SessionStore) -> None:
    async def conversation(client: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
        await client.post(SESSION)
        return await client.get(VIEW), await client.head(VIEW)

    get, head = talk(store, conversation)
    assert head.status_code == get.status_code == 200
    assert head.headers["content-type"] == get.headers["content-type"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_answer_405_allowing_the_view_and_the_seed(store: SessionStore, method: str) -> None:
    async def conversation(client: httpx.AsyncClient) -> tuple[httpx.Response, dict[str, Any]]:
        await client.post(SESSION)
        return await client.request(method, VIEW), (await client.get(VIEW)).json()

    wrong, view = talk(store, conversation)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD, POST"
    assert wrong.json()["detail"].endswith("GET, HEAD, POST")
    assert view["count"] == 1  # and nothing was removed


def test_the_admin_index_lists_the_view(store: SessionStore) -> None:
    async def conversation(client: httpx.AsyncClient) -> dict[str, Any]:
        return (await client.get("/__mock/")).json()  # type: ignore[no-any-return]

    assert "GET /__mock/sessions" in talk(store, conversation)["routes"]
