"""Linearizability: several clients at once on a small pool of ids; the history must be explained by one order."""

from __future__ import annotations

import random
import threading

from contract_tests.client import ContractClient
from contract_tests.context import RunContext
from contract_tests.linearizability import Operation, check
from contract_tests.parallel import ChargedThreadPool
from contract_tests.recording import settle, timed, violation_error
from contract_tests.registry import contract_property
from contract_tests.steps import new_session, try_give_data

CLIENTS = 8
POOL = 3
ROUNDS = 3
KINDS = ["create", "get", "get", "get", "head", "patch", "patch", "patch", "delete"]


def client_run(client: ContractClient, number: int, pool: list[str], count: int, seed: int, barrier: threading.Barrier,
               kinds: list[str]) -> list[Operation]:
    """One client's random operations; each PATCH writes a value nobody else writes, so reads tell writes apart."""
    rng = random.Random(seed * 1000 + number)
    barrier.wait(timeout=30)
    history = []
    for index in range(count):
        kind, sid = rng.choice(kinds), rng.choice(pool)
        data = None
        if kind == "patch":
            key = rng.choice([f"c{number}", "shared"])
            data = {key: number * 1000 + index}
        history.append(timed(client, kind, sid, data, number))
    return history


@contract_property("linearizability.concurrent-history", cost=4.0)
def concurrent_history_is_linearizable(contract_client: ContractClient, contract_run: RunContext) -> None:
    options = contract_run.options
    seed = options.seed if options.seed is not None else random.randrange(2**31)
    count = max(20, options.max_examples)
    # A target without PATCH (a known deviation of production) is still checked for create, read and delete.
    kinds = KINDS if try_give_data(contract_client, new_session(contract_client), {"probe": 1}) else [k for k in KINDS if k != "patch"]
    for round_number in range(ROUNDS):
        pool = [contract_client.fresh_id() for _ in range(POOL)]
        barrier = threading.Barrier(CLIENTS)
        with ChargedThreadPool(max_workers=CLIENTS) as executor:
            runs = [executor.submit(client_run, contract_client, n, pool, count, seed + round_number, barrier, kinds)
                    for n in range(CLIENTS)]
        history = [op for run in runs for op in run.result()]
        final = [timed(contract_client, "get", sid) for sid in pool]
        settle(contract_client, final)
        violations = check(history + final)
        if violations:
            raise violation_error(violations[0], f"{CLIENTS} clients, {len(history)} operations on {POOL} ids (seed {seed})")
