"""Read-your-writes per write kind, measured: each sample is one acknowledged write followed at once by
a GET and, beside it, a HEAD of that session (the client's read-back, on already-open connections), so
GET/HEAD agreement right after a write is measured too. Runs in the quiet "measure" phase; reports
`k of n` with its 95 % bound and the window of the lags (see `contract_tests.measure`, `.rates`).

Other checks' writes are read back and settled by the client too, but never recorded here: a read-back
slowed by the rest of the run's load would hide faults that last a few milliseconds."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import httpx

from contract_tests.client import SESSION_PATH, WRITE_KINDS, ContractClient
from contract_tests.context import RunContext
from contract_tests.expect import ContractViolation, Inconclusive
from contract_tests.measure import Sampler, needed
from contract_tests.rates import Measured, Rate
from contract_tests.registry import CheckSkipped, contract_property
from contract_tests.steps import new_session

SPARE_ATTEMPTS = 20  # tries beyond twice the sample size before sampling gives up (writes not acknowledged)


class SessionPool:
    """Settled sessions the measurements made, handed on: the create samples feed the PATCH and DELETE
    samples, so the measurements leave little for cleanup. One per run, kept on the run's context."""

    def __init__(self) -> None:
        self.sids: list[str] = []
        self.turn = 0
        self._lock = threading.Lock()

    def add(self, sid: str) -> None:
        with self._lock:
            self.sids.append(sid)

    def take(self) -> str | None:
        with self._lock:
            return self.sids.pop() if self.sids else None

    def lend(self) -> str | None:
        with self._lock:
            if not self.sids:
                return None
            self.turn += 1
            return self.sids[self.turn % len(self.sids)]


def pool_of(contract_run: RunContext) -> SessionPool:
    pool = contract_run.shared.setdefault("measured-sessions", SessionPool())
    assert isinstance(pool, SessionPool)
    return pool


def _sid_of(response: httpx.Response) -> str | None:
    try:
        return str(uuid.UUID(str(response.json()["sessionId"])))
    except (ValueError, KeyError, TypeError):
        return None


def write_once(client: ContractClient, kind: str, pool: SessionPool, number: int) -> bool:
    """One sample of `kind`: the write, sent as a sample (the client reads it back at once and records
    it); True when the write was acknowledged (2xx)."""
    if kind == "create":
        response = client.request("POST", SESSION_PATH, sample=True)
        sid = _sid_of(response) if response.status_code == 201 else None
    elif kind == "create-with-id":
        sid = client.fresh_id()
        response = client.request("POST", f"{SESSION_PATH}/{sid}", sample=True)
    elif kind == "patch":
        sid = pool.lend() or new_session(client)
        response = client.request("PATCH", f"{SESSION_PATH}/{sid}", json={"data": {"sample": number}}, sample=True)
        return 200 <= response.status_code < 300
    else:
        sid = pool.take() or new_session(client)
        response = client.request("DELETE", f"{SESSION_PATH}/{sid}", sample=True)
        return 200 <= response.status_code < 300
    acknowledged = 200 <= response.status_code < 300
    if acknowledged and sid is not None:
        pool.add(sid)
    return acknowledged


def measure_read_your_writes(client: ContractClient, contract_run: RunContext, kind: str) -> list[Measured]:
    """Sample `kind` until the sample size; raise a violation for any miss, Inconclusive when time ran out."""
    ledger = client.writes.kinds[kind]
    size = needed(contract_run)
    pool = pool_of(contract_run)
    sampler = Sampler(contract_run)
    refused: list[int] = []

    def take(number: int) -> None:
        if not write_once(client, kind, pool, number):
            refused.append(number)
        if len(refused) >= 10 and not ledger.checked:
            raise CheckSkipped(f"no {kind} write was acknowledged in {len(refused)} tries (see the {kind} properties)")

    sampler.sample(take, lambda: ledger.checked >= size, attempts=2 * size + SPARE_ATTEMPTS, samples=size)
    misses = list(ledger.misses)
    measured = Measured(kind, Rate(len(misses), ledger.checked), size, tuple(w for m in misses if (w := m.window_ms) is not None))
    if misses:
        never = sum(1 for m in misses if m.window_ms is None)
        first = misses[0]
        text = measured.text() + (f"; {never} never visible within the bound" if never else "")
        violation = ContractViolation(f"{text}\nfirst: {first.write}: {first.observed}", reproduction=first.reproduction)
        violation.measurements = [measured]
        raise violation
    if ledger.checked < size:
        why = "the time budget ran out" if contract_run.over_budget() else "the run stopped" if contract_run.cancel.cancelled \
            else f"only {ledger.checked} of {sampler.taken} writes were acknowledged"
        raise Inconclusive(f"{measured.text()} ({why})", [measured])
    return [measured]


def _read_your_writes_of(kind: str) -> Callable[[ContractClient, RunContext], list[Measured]]:
    """The measurement of one write kind (a deviations file can list one without hiding the others)."""

    def every_acknowledged_write_was_visible_to_the_next_request(contract_client: ContractClient,
                                                                 contract_run: RunContext) -> list[Measured]:
        return measure_read_your_writes(contract_client, contract_run, kind)

    every_acknowledged_write_was_visible_to_the_next_request.__qualname__ += f"[{kind}]"
    return every_acknowledged_write_was_visible_to_the_next_request


for _kind in WRITE_KINDS:
    # cost 2: first in the measure phase, so the sessions they leave feed the race samples after them
    contract_property(f"consistency.read-your-writes.{_kind}", phase="measure", cost=2.0, measures=(_kind,))(_read_your_writes_of(_kind))
