"""`session-mock --profile production` and `--write-lag`: the mock as a stand-in for today's production.

The profile is data (mock_server/profiles/production.yaml); these tests check that it agrees with
deviations/production.yaml, that the mock answers as production does, and that the conformance
suite, run against it with the shipped deviations file, reports exactly those deviations.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from contract_tests.deviations import load_deviations
from mock_server import cli as mock_cli
from mock_server.app import create_mock_app
from mock_server.profile import CONTRACT, ProfileError, available_profiles, load_profile
from mock_server.stand_in import StandIn
from mock_server.write_lag import LaggingStore
from reference_impl.serving import LiveServer
from reference_impl.store import InMemorySessionStore
from tests.contract_helpers import FAST, session_contract
from tests.mock_process import MockProcess

REPO = Path(__file__).resolve().parent.parent
PRODUCTION_DEVIATIONS = REPO / "deviations" / "production.yaml"


@pytest.fixture(scope="module")
def production() -> Iterator[httpx.Client]:
    app = create_mock_app(stand_in=StandIn(profile=load_profile("production")))
    with LiveServer(app) as server, httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        yield http


def test_the_production_profile_fails_exactly_the_properties_of_the_shipped_deviations_file() -> None:
    profile = load_profile("production")
    assert profile.properties == set(load_deviations(PRODUCTION_DEVIATIONS))
    assert all(rule.why for rule in profile.rules)


def test_profiles_are_package_data_and_an_unknown_one_names_the_available_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert available_profiles() == [CONTRACT, "production"]
    assert load_profile(CONTRACT).rules == ()
    with pytest.raises(ProfileError, match="available profiles: contract, production"):
        load_profile("staging")
    with pytest.raises(SystemExit) as stopped:
        mock_cli.main(["--profile", "staging"])
    assert stopped.value.code == 2 and "invalid choice: 'staging'" in capsys.readouterr().err


def test_list_answers_405_with_allow_post_as_production_does(production: httpx.Client) -> None:
    for method in ("GET", "PUT", "DELETE"):
        answer = production.request(method, "/api/v1/session")
        assert answer.status_code == 405, method
        assert answer.headers["allow"] == "POST"
        assert answer.json() == {"detail": "Method Not Allowed"}
    head = production.head("/api/v1/session")
    assert head.status_code == 405 and head.content == b""
    assert production.post("/api/v1/session").status_code == 201


def test_get_answers_a_summary_without_data_and_head_post_delete_keep_the_contract(production: httpx.Client) -> None:
    sid = production.post("/api/v1/session").json()["sessionId"]
    summary = production.get(f"/api/v1/session/{sid}")
    assert summary.status_code == 200
    assert set(summary.json()) == {"sessionId", "createdAt", "updatedAt", "message"}
    assert int(summary.headers["content-length"]) == len(summary.content)
    assert production.head(f"/api/v1/session/{sid}").status_code == 204
    assert production.post(f"/api/v1/session/{sid}").status_code == 409
    assert production.delete(f"/api/v1/session/{sid}").status_code == 200
    assert production.get(f"/api/v1/session/{sid}").json()["detail"] == f"Session {sid} not found"


def test_patch_and_other_unserved_methods_answer_405_allow_get_and_change_nothing(production: httpx.Client) -> None:
    sid = production.post("/api/v1/session").json()["sessionId"]
    before = production.get(f"/api/v1/session/{sid}").json()
    for method in ("PATCH", "PUT", "TRACE"):
        answer = production.request(method, f"/api/v1/session/{sid}", json={"data": {"step": 1}})
        assert (answer.status_code, answer.headers["allow"], answer.json()) == (405, "GET", {"detail": "Method Not Allowed"})
    assert production.get(f"/api/v1/session/{sid}").json() == before


def test_cors_stays_on_for_the_developer_unless_no_cors_is_asked_for() -> None:
    origin = {"Origin": "http://localhost:5173"}
    for cors, expected in ((True, "http://localhost:5173"), (False, None)):
        app = create_mock_app(cors=cors, stand_in=StandIn(profile=load_profile("production")))
        with LiveServer(app) as server:
            answer = httpx.post(server.base_url + "/api/v1/session", headers=origin)
        assert answer.status_code == 201
        assert answer.headers.get("access-control-allow-origin") == expected


def test_session_contract_against_the_production_profile_reports_exactly_the_shipped_deviations(tmp_path: Path) -> None:
    deviations = set(load_deviations(PRODUCTION_DEVIATIONS))
    with MockProcess("--profile", "production") as mock:
        known = session_contract("--base-url", mock.base_url, *FAST, "--max-examples", "2",
                                 "--known-deviations", str(PRODUCTION_DEVIATIONS), tmp=tmp_path / "known")
        # Without the file: the cheap half of the listed properties is enough to show they fail by name.
        plain = session_contract("--base-url", mock.base_url, *FAST, "--property", "list.*", "--property", "get.*",
                                 "--property", "patch.*", "--property", "delete.*", tmp=tmp_path / "plain")
    assert known.returncode == 0, known.stdout + known.stderr
    outcomes = known.testcases
    assert {name for name, outcome in outcomes.items() if outcome == "skipped" and name in deviations} == deviations
    assert known.failed == set()
    assert "trim it" not in known.stdout
    assert plain.returncode == 1
    assert plain.failed == {"list.always-404", "get.shape", "patch.merges-top-level", "patch.timestamps", "delete.then-patch-404"}


def test_write_lag_hides_an_acknowledged_write_for_the_lag_then_shows_it() -> None:
    app = create_mock_app(stand_in=StandIn(write_lag_ms=2000))
    with LiveServer(app) as server, httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        sid = http.post("/api/v1/session").json()["sessionId"]
        assert http.get(f"/api/v1/session/{sid}").status_code == 404  # not committed yet
        _wait_for(lambda: http.head(f"/api/v1/session/{sid}").status_code == 204)
        assert http.delete(f"/api/v1/session/{sid}").status_code == 200
        assert http.delete(f"/api/v1/session/{sid}").status_code == 200  # the first DELETE is not committed yet
        _wait_for(lambda: http.head(f"/api/v1/session/{sid}").status_code == 404)


def test_a_second_create_of_one_id_inside_the_lag_window_is_409_not_a_second_201() -> None:
    app = create_mock_app(stand_in=StandIn(write_lag_ms=2000))
    sid = uuid.uuid4()
    with LiveServer(app) as server, httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        assert http.post(f"/api/v1/session/{sid}").status_code == 201
        assert http.post(f"/api/v1/session/{sid}").status_code == 409  # not yet visible, but not free either
        assert http.get(f"/api/v1/session/{sid}").status_code == 404


def test_write_lag_commits_in_order_and_closing_commits_what_was_acknowledged() -> None:
    async def scenario() -> tuple[dict[str, object] | None, int]:
        inner = InMemorySessionStore()
        store = LaggingStore(inner, lag_ms=60_000)
        sid = uuid.uuid4()
        await store.create(sid)
        await inner.put((await store.create(None)).copy())  # seen at once: a seeded session
        assert await store.get(sid) is None
        await store.close()
        record = await inner.get(sid)
        return (record.data if record else None), await inner.count()

    assert asyncio.run(scenario()) == ({}, 2)


def test_session_contract_catches_the_write_lag(tmp_path: Path) -> None:
    with LiveServer(create_mock_app(stand_in=StandIn(write_lag_ms=500))) as mock:
        run = session_contract("--base-url", mock.base_url, "--property", "create.*", "--property", "consistency.read-your-writes.create",
                               tmp=tmp_path)
    # The create is seen once the lag has passed (create.read-your-writes settles first); the window is the finding.
    assert run.returncode == 1 and run.failed == {"consistency.read-your-writes.create"}, run.stdout


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the write never became visible"
        time.sleep(0.05)
