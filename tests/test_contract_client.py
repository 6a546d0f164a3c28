"""The suite's one client: it never changes sessions it did not create, never prints header values,
keeps to --max-rps."""

from __future__ import annotations

import time

import httpx
import pytest

from contract_tests.client import ContractClient, RateLimiter, UnsafeRequest
from contract_tests.redaction import parse_header


def test_client_refuses_to_patch_or_delete_a_session_it_did_not_create(base_url: str) -> None:
    foreign = httpx.post(f"{base_url}/api/v1/session").json()["sessionId"]
    with ContractClient(base_url) as contract:
        for attempt in (lambda: contract.delete(foreign), lambda: contract.patch(foreign, {"x": 1}),
                        lambda: contract.delete(foreign.upper()), lambda: contract.delete("{" + foreign + "}")):
            with pytest.raises(UnsafeRequest):
                attempt()
        own = contract.create().json()["sessionId"]
        assert contract.patch(own, {"x": 1}).status_code == 200
        hygiene = contract.cleanup()
        assert (hygiene.deleted, hygiene.left_behind) == (1, [])
    assert httpx.head(f"{base_url}/api/v1/session/{foreign}").status_code == 204
    assert httpx.head(f"{base_url}/api/v1/session/{own}").status_code == 404


def test_curl_reproduction_redacts_every_header_value(base_url: str) -> None:
    with ContractClient(base_url, {"Authorization": "Bearer hunter2", "X-Key": "k-777"}) as contract:
        response = contract.request("PATCH", f"/api/v1/session/{contract.fresh_id()}", json={"data": {"token": "k-777"}})
        curl = contract.curl(response.request)
    assert "hunter2" not in curl and "k-777" not in curl
    assert "-H 'Authorization: <redacted>'" in curl and "-X PATCH" in curl


def test_read_your_writes_is_checked_after_every_write(base_url: str) -> None:
    with ContractClient(base_url) as contract:
        sid = contract.create().json()["sessionId"]
        contract.patch(sid, {"a": 1})
        contract.delete(sid)
        assert contract.writes.checked == 3 and contract.writes.misses == []


def test_rate_limiter_spaces_request_starts_by_one_over_max_rps(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"now": 100.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(time, "sleep", sleep)
    limiter = RateLimiter(max_rps=10)
    for _ in range(5):
        limiter.wait()
    assert slept == pytest.approx([0.1] * 4)
    RateLimiter(max_rps=0).wait()  # no limit: never sleeps
    assert len(slept) == 4


def test_header_parsing_errors_never_echo_the_value() -> None:
    assert parse_header("Authorization: Bearer x:y") == ("Authorization", "Bearer x:y")
    with pytest.raises(ValueError) as error:
        parse_header("Bearer-s3cr3t")
    assert "s3cr3t" not in str(error.value)


def test_rate_limiter_allows_a_burst_then_keeps_the_average(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"now": 0.0}
    slept: list[float] = []
    monkeypatch.setattr(time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(time, "sleep", lambda s: (slept.append(s), clock.__setitem__("now", clock["now"] + s)))
    limiter = RateLimiter(max_rps=5, burst=3)
    for _ in range(5):
        limiter.wait()
    assert slept == pytest.approx([0.2, 0.2])
