"""Concurrent writers on one session: disjoint PATCHes all survive; create-with-id racing DELETE stays explainable."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from contract_tests.client import ContractClient
from contract_tests.context import RunContext
from contract_tests.expect import expect, expect_status
from contract_tests.linearizability import ABSENT, EMPTY, Operation, check
from contract_tests.parallel import ChargedThreadPool
from contract_tests.recording import settle, timed, violation_error
from contract_tests.registry import contract_property
from contract_tests.steps import give_data, new_session, read_data


def together(count: int, send: Callable[[int], Operation]) -> list[Operation]:
    """`send(i)` for i in range(count), on `count` threads released at once."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Operation:
        barrier.wait(timeout=30)
        return send(index)

    with ChargedThreadPool(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def write_own_key(client: ContractClient, sid: str, base: int, writer: int) -> Operation:
    """PATCH `{"writer N": base + N}`: a key no other writer touches."""
    return timed(client, "patch", sid, {f"writer {writer}": base + writer}, writer)


def create_or_delete(client: ContractClient, sid: str, number: int) -> Operation:
    """Even numbers create-with-id, odd numbers DELETE."""
    return timed(client, "create" if number % 2 == 0 else "delete", sid, number=number)


@contract_property("concurrency.patches-disjoint-keys-survive")
def parallel_patches_with_disjoint_keys_all_survive(contract_client: ContractClient, contract_run: RunContext) -> None:
    count = contract_run.options.concurrency
    for round_number in range(3):
        sid = new_session(contract_client)
        give_data(contract_client, sid, {"before": round_number})  # no PATCH at all: blocked, not failed
        ops = together(count, partial(write_own_key, contract_client, sid, round_number * 100))
        for op in ops:
            expect(op.status == 200, f"parallel PATCH answered {op.status}: {op.curl}")
        data = read_data(contract_client, sid, "GET after parallel PATCHes")
        lost = sorted(f"writer {i}" for i in range(count) if data.get(f"writer {i}") != round_number * 100 + i)
        lost += ["before"] if data.get("before") != round_number else []
        expect(not lost, f"{len(lost)} of {count} parallel PATCHes with disjoint keys were lost (lost update): "
               f"{', '.join(lost[:5])}{'...' if len(lost) > 5 else ''} missing", contract_client.last_response)


@contract_property("concurrency.create-with-id-and-delete-explained")
def parallel_create_with_id_and_delete_of_one_id_are_explained_by_some_order(
    contract_client: ContractClient, contract_run: RunContext
) -> None:
    half = max(2, contract_run.options.concurrency // 4)
    for round_number in range(6):
        sid = contract_client.fresh_id()
        initial = ABSENT
        if round_number % 2:
            expect_status(contract_client.create_with_id(sid), 201, "create-with-id on a fresh id")
            initial = EMPTY
        ops = together(2 * half, partial(create_or_delete, contract_client, sid))
        after = [timed(contract_client, "get", sid, number=2 * half), timed(contract_client, "head", sid, number=2 * half)]
        settle(contract_client, after[:1])
        violations = check(ops + after, initial)
        if violations:
            start = "absent" if initial is ABSENT else "live and empty"
            raise violation_error(violations[0], f"{half} create-with-id and {half} DELETE at once on one id ({start} before)")
