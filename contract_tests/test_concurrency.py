"""Checks under parallel requests: distinct creates, independent deletes, one winner per id."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx

from contract_tests.client import ContractClient
from contract_tests.expect import expect, expect_status
from contract_tests.properties import contract_property
from contract_tests.run import ContractRun
from contract_tests.steps import data_of, new_session, try_give_data

T = TypeVar("T")


def all_at_once(count: int, action: Callable[[int], T]) -> list[T]:
    """Run `action(i)` for i in range(count) on `count` threads released together."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait(timeout=30)
        return action(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@contract_property("concurrency.creates-distinct-none-lost")
def test_parallel_creates_give_distinct_ids_and_all_exist(contract_client: ContractClient, contract_run: ContractRun) -> None:
    count = contract_run.options.concurrency
    responses = all_at_once(count, lambda _: contract_client.create())
    for response in responses:
        expect_status(response, 201, "parallel create")
    ids = [r.json().get("sessionId") for r in responses]
    expect(len(set(ids)) == count, f"{count} parallel creates gave only {len(set(ids))} distinct ids", responses[0])
    for sid in ids:
        got, head = contract_client.get(sid), contract_client.head(sid)
        expect(got.status_code == 200 and head.status_code == 204,
               f"session {sid} from a parallel create is lost (GET {got.status_code}, HEAD {head.status_code})", got)


@contract_property("concurrency.deletes-leave-others-intact")
def test_parallel_deletes_of_distinct_sessions_leave_the_others_intact(contract_client: ContractClient, contract_run: ContractRun) -> None:
    count = contract_run.options.concurrency
    sids = [new_session(contract_client) for _ in range(2 * count)]
    with_data = all([try_give_data(contract_client, sid, {"index": index}) for index, sid in enumerate(sids)])
    victims, keepers = sids[::2], sids[1::2]
    responses = all_at_once(count, lambda i: contract_client.delete(victims[i]))
    for response in responses:
        expect_status(response, 200, "parallel DELETE")
    for sid in victims:
        expect_status(contract_client.get(sid), 404, "GET a session deleted in parallel")
    for index, sid in enumerate(sids):
        if sid in keepers:
            got = contract_client.get(sid)
            expect(got.status_code == 200, f"parallel deletes of other sessions removed {sid} (GET {got.status_code})", got)
            expect(not with_data or data_of(got) in (None, {"index": index}), f"parallel deletes changed the data of {sid}", got)


@contract_property("concurrency.create-with-id-single-winner")
def test_parallel_create_with_one_fresh_id_has_exactly_one_winner(contract_client: ContractClient, contract_run: ContractRun) -> None:
    count = contract_run.options.concurrency
    for _ in range(3):
        sid = contract_client.fresh_id()
        responses: list[httpx.Response] = all_at_once(count, lambda _: contract_client.create_with_id(sid))  # noqa: B023 (runs within this iteration)
        statuses = sorted(r.status_code for r in responses)
        winners = statuses.count(201)
        expect(winners == 1, f"{count} parallel create-with-id on one fresh id: {winners} answered 201 (statuses {statuses})",
               responses[0])
        expect(statuses.count(409) == count - 1, f"the losers of a parallel create-with-id did not all answer 409: {statuses}",
               next((r for r in responses if r.status_code not in (201, 409)), responses[0]))
        expect_status(contract_client.get(sid), 200, "GET the id won in parallel")
