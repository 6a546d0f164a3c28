"""Checks under parallel requests: distinct creates, independent deletes, and races run as rates.

A race is a matter of timing, so each race check runs `--race-rounds` rounds (default 10) and
reports `k of N rounds` with the statuses seen, rather than passing on one lucky round."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import httpx

from contract_tests.client import ContractClient
from contract_tests.context import RunContext
from contract_tests.expect import ContractViolation, expect, expect_status
from contract_tests.parallel import concurrently
from contract_tests.registry import contract_property
from contract_tests.steps import data_of, new_session, try_give_data

T = TypeVar("T")


def _claim(client: ContractClient, sid: str, _: int) -> httpx.Response:
    """Create-with-id, unsettled (the race is the point; visibility is not this property's business)."""
    return client.create_with_id(sid, check_write=False)


def _delete_now(client: ContractClient, sid: str, _: int) -> httpx.Response:
    return client.delete(sid, check_write=False)


def all_at_once(count: int, action: Callable[[int], T]) -> list[T]:
    """Run `action(i)` for i in range(count) on `count` threads released together."""
    return concurrently(count, action)


def statuses_of(responses: list[httpx.Response]) -> str:
    """`201 x1, 409 x23`: the statuses a round saw, most frequent first."""
    return ", ".join(f"{status} x{n}" for status, n in Counter(r.status_code for r in responses).most_common())


class RoundTally:
    """Rounds of one race: how many broke the rule, with what statuses, and the first bad request."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.rounds = 0
        self.bad: list[str] = []
        self.first: httpx.Response | None = None

    def round(self, ok: bool, seen: str, culprit: httpx.Response) -> None:
        self.rounds += 1
        if not ok:
            self.bad.append(seen)
            self.first = self.first or culprit

    def text(self) -> str:
        shown = "; ".join(sorted(set(self.bad))[:4])
        return f"{self.what}: broken in {len(self.bad)} of {self.rounds} rounds (statuses seen: {shown})"


def raise_any(*tallies: RoundTally) -> None:
    """One violation naming every race that broke in some round; the first bad request reproduces it."""
    broken = [t for t in tallies if t.bad]
    if broken:
        raise ContractViolation("\n".join(t.text() for t in broken), broken[0].first)


@contract_property("concurrency.creates-distinct-none-lost")
def parallel_creates_give_distinct_ids_and_all_exist(contract_client: ContractClient, contract_run: RunContext) -> None:
    count = contract_run.options.concurrency
    responses = all_at_once(count, lambda _: contract_client.create())
    for response in responses:
        expect_status(response, 201, "parallel create")
    ids = [r.json().get("sessionId") for r in responses]
    expect(len(set(ids)) == count, f"{count} parallel creates gave only {len(set(ids))} distinct ids", responses[0])
    reads = concurrently(count, lambda i: (contract_client.get(ids[i]), contract_client.head(ids[i])), together=False)
    for sid, (got, head) in zip(ids, reads, strict=False):
        expect(got.status_code == 200 and head.status_code == 204,
               f"session {sid} from a parallel create is lost (GET {got.status_code}, HEAD {head.status_code})", got)


@contract_property("concurrency.deletes-leave-others-intact")
def parallel_deletes_of_distinct_sessions_leave_the_others_intact(contract_client: ContractClient, contract_run: RunContext) -> None:
    count = contract_run.options.concurrency
    sids = concurrently(2 * count, lambda _: new_session(contract_client), together=False)
    with_data = all(concurrently(2 * count, lambda i: try_give_data(contract_client, sids[i], {"index": i}), together=False))
    victims, keepers = sids[::2], set(sids[1::2])
    responses = all_at_once(count, lambda i: contract_client.delete(victims[i]))
    for response in responses:
        expect_status(response, 200, "parallel DELETE")
    gone = concurrently(count, lambda i: contract_client.get(victims[i]), together=False)
    for response in gone:
        expect_status(response, 404, "GET a session deleted in parallel")
    reads = concurrently(2 * count, lambda i: contract_client.get(sids[i]) if sids[i] in keepers else None, together=False)
    for index, (sid, got) in enumerate(zip(sids, reads, strict=False)):
        if got is not None:
            expect(got.status_code == 200, f"parallel deletes of other sessions removed {sid} (GET {got.status_code})", got)
            expect(not with_data or data_of(got) in (None, {"index": index}), f"parallel deletes changed the data of {sid}", got)


@contract_property("concurrency.create-with-id-single-winner")
def parallel_create_with_one_fresh_id_has_exactly_one_winner(contract_client: ContractClient, contract_run: RunContext) -> None:
    """Each round: `--concurrency` create-with-id on one fresh id at once; exactly one 201, every
    other answer 409 (a 500 from a lost race is a violation); the winner's session then exists."""
    count = contract_run.options.concurrency
    tally = RoundTally(f"{count} parallel create-with-id on one fresh id")
    for _ in range(contract_run.options.race_rounds):
        sid = contract_client.fresh_id()
        responses = all_at_once(count, partial(_claim, contract_client, sid))
        statuses = [r.status_code for r in responses]
        ok = statuses.count(201) == 1 and statuses.count(409) == count - 1
        winners = [r for r in responses if r.status_code == 201]
        culprit = next((r for r in responses if r.status_code not in (201, 409)), winners[1] if len(winners) > 1 else responses[0])
        tally.round(ok, statuses_of(responses), culprit)
        if 201 in statuses:
            contract_client.get(sid)  # settle before the next round (visibility is not this property's business)
    raise_any(tally)


@contract_property("concurrency.double-delete")
def a_second_delete_right_after_or_at_once_answers_404(contract_client: ContractClient, contract_run: RunContext) -> None:
    """Per round, two races on a fresh session: a second DELETE sent right after the first answered
    (nothing in between), and two DELETEs sent at once. Each time exactly one answers 200 and the
    other 404 ("Concurrent DELETEs of one id: exactly one 200, the others 404")."""
    right_after = RoundTally("a second DELETE right after the first")
    at_once = RoundTally("two DELETEs of one id at once")
    for _ in range(contract_run.options.race_rounds):
        sid = new_session(contract_client)
        first = contract_client.delete(sid, check_write=False)
        second = contract_client.delete(sid, check_write=False)
        right_after.round((first.status_code, second.status_code) == (200, 404),
                          f"{first.status_code} then {second.status_code}", second)
        sid = new_session(contract_client)
        pair = all_at_once(2, partial(_delete_now, contract_client, sid))
        statuses = sorted(r.status_code for r in pair)
        at_once.round(statuses == [200, 404], statuses_of(pair), next((r for r in pair if r.status_code != 404), pair[0]))
    raise_any(right_after, at_once)
