"""Checks under parallel requests: distinct creates, independent deletes, and the races, measured.

A race is a matter of timing, so each race is a measurement (the quiet "measure" phase): both of its
shapes, "right after" and "at once", are sampled to the sample size `--min-detectable-rate` asks for
and reported apart as `k of n` with their 95 % bounds, rather than passing on a few lucky rounds."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import httpx

from contract_tests.checks.read_your_writes import pool_of
from contract_tests.client import SESSION_PATH, ContractClient
from contract_tests.context import RunContext
from contract_tests.daemons import Beside
from contract_tests.expect import ContractViolation, Inconclusive, expect, expect_status
from contract_tests.measure import LANES, Sampler, needed
from contract_tests.parallel import concurrently
from contract_tests.rates import Measured, Rate
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


AT_ONCE = 4
"""Requests of one "at once" sample of create-with-id: enough for a check-then-insert race to show, few
enough that 299 samples stay cheap (a burst of --concurrency is concurrency.creates-distinct-none-lost's)."""


class RaceTally:
    """Samples of one shape of a race: how many broke the rule, the statuses they saw, the first bad request."""

    def __init__(self, shape: str, needed: int) -> None:
        self.shape = shape
        self.needed = needed
        self.taken = 0
        self.bad: Counter[str] = Counter()
        self.first: httpx.Response | None = None
        self._lock = threading.Lock()

    def enough(self) -> bool:
        return self.taken >= self.needed

    def sample(self, ok: bool, seen: str, culprit: httpx.Response) -> None:
        with self._lock:
            self.taken += 1
            if not ok:
                self.bad[seen] += 1
                self.first = self.first or culprit

    def measured(self) -> Measured:
        return Measured(self.shape, Rate(sum(self.bad.values()), self.taken), self.needed)

    def text(self) -> str:
        seen = "; ".join(f"{n} x ({statuses})" for statuses, n in self.bad.most_common(4))
        return self.measured().text() + (f" (broken samples saw: {seen})" if seen else "")


def right_after(client: ContractClient, send: Callable[[Callable[[], None] | None], httpx.Response]) -> tuple[httpx.Response, httpx.Response]:
    """The first request, and a second one that leaves (on another, already-open connection) the moment
    the first answer's status line is in: `send(on_headers)` sends one request."""
    headers_in = threading.Event()
    second = Beside(lambda: (headers_in.wait(60), send(None))[1])
    try:
        first = send(headers_in.set)
    finally:
        headers_in.set()  # a transport that never calls the hook (or a failed first request): the second still goes
    return first, second.result()


def measure_race(contract_run: RunContext, shapes: list[tuple[RaceTally, Callable[[], None]]], what: str) -> list[Measured]:
    """Sample each shape to the sample size (one after the other); a broken sample fails the property,
    naming every shape with its rate; time running out first makes it inconclusive."""
    for tally, take in shapes:

        def one(_: int, take: Callable[[], None] = take) -> None:
            take()

        Sampler(contract_run).sample(one, tally.enough, attempts=tally.needed + 2 * LANES)
    measured = [tally.measured() for tally, _ in shapes]
    broken = [tally for tally, _ in shapes if tally.bad]
    if broken:
        violation = ContractViolation(f"{what}:\n" + "\n".join(tally.text() for tally, _ in shapes), broken[0].first)
        violation.measurements = measured
        raise violation
    if not all(m.complete for m in measured):
        why = "the time budget ran out" if contract_run.over_budget() else "the run stopped"
        raise Inconclusive(f"{what}: " + "; ".join(m.text() for m in measured) + f" ({why})", measured)
    return measured


def _hand_on(client: ContractClient, contract_run: RunContext, sid: str, responses: list[httpx.Response]) -> None:
    """A race's winner, once a HEAD finds it, goes to the measurements' pool (the double-delete samples
    delete it), so it costs cleanup nothing."""
    if any(r.status_code == 201 for r in responses) and client.head(sid).status_code == 204:
        pool_of(contract_run).add(sid)


def _session(client: ContractClient, contract_run: RunContext) -> str:
    """A settled session to delete: one the read-your-writes measurements left, or a new one."""
    return pool_of(contract_run).take() or new_session(client)


@contract_property("concurrency.create-with-id-single-winner", phase="measure", cost=1.0)
def parallel_create_with_one_fresh_id_has_exactly_one_winner(contract_client: ContractClient, contract_run: RunContext) -> list[Measured]:
    """Two shapes, sampled apart: a second create-with-id of a fresh id sent the moment the first one's
    status line is in ("right after"), and AT_ONCE create-with-id sent together ("at once"). Each time
    exactly one 201 and every other answer 409 (a 500 from a lost race is a violation)."""
    size = needed(contract_run)
    after = RaceTally("right after", size)
    together = RaceTally(f"{AT_ONCE} at once", size)

    def one_right_after() -> None:
        sid = contract_client.fresh_id()
        pair = list(right_after(contract_client, lambda hook: contract_client.request(
            "POST", f"{SESSION_PATH}/{sid}", check_write=False, on_headers=hook)))
        statuses = [r.status_code for r in pair]
        after.sample(statuses == [201, 409], f"{statuses[0]} then {statuses[1]}", pair[1] if statuses[0] == 201 else pair[0])
        _hand_on(contract_client, contract_run, sid, pair)

    def one_at_once() -> None:
        sid = contract_client.fresh_id()
        responses = all_at_once(AT_ONCE, partial(_claim, contract_client, sid))
        statuses = [r.status_code for r in responses]
        winners = [r for r in responses if r.status_code == 201]
        culprit = next((r for r in responses if r.status_code not in (201, 409)), winners[1] if len(winners) > 1 else responses[0])
        together.sample(statuses.count(201) == 1 and statuses.count(409) == AT_ONCE - 1, statuses_of(responses), culprit)
        _hand_on(contract_client, contract_run, sid, responses)

    return measure_race(contract_run, [(after, one_right_after), (together, one_at_once)], "create-with-id of one fresh id")


@contract_property("concurrency.double-delete", phase="measure", cost=0.5)
def a_second_delete_right_after_or_at_once_answers_404(contract_client: ContractClient, contract_run: RunContext) -> list[Measured]:
    """Two shapes, sampled apart on settled sessions: a second DELETE sent the moment the first one's
    status line is in, on a warm second connection ("right after"), and two DELETEs sent together
    ("at once"). Each time exactly one answers 200 and the other 404 ("Concurrent DELETEs of one id:
    exactly one 200, the others 404")."""
    size = needed(contract_run)
    after = RaceTally("right after", size)
    together = RaceTally("at once", size)

    def one_right_after() -> None:
        sid = _session(contract_client, contract_run)
        first, second = right_after(contract_client, lambda hook: contract_client.request(
            "DELETE", f"{SESSION_PATH}/{sid}", check_write=False, on_headers=hook))
        after.sample((first.status_code, second.status_code) == (200, 404), f"{first.status_code} then {second.status_code}", second)

    def one_at_once() -> None:
        sid = _session(contract_client, contract_run)
        pair = all_at_once(2, partial(_delete_now, contract_client, sid))
        statuses = sorted(r.status_code for r in pair)
        together.sample(statuses == [200, 404], statuses_of(pair), next((r for r in pair if r.status_code != 404), pair[0]))

    return measure_race(contract_run, [(after, one_right_after), (together, one_at_once)], "a second DELETE of one id")
