"""A Hypothesis state machine: random sequences of every operation against a model of whole records.

The model holds, for every live session, its `data`, `createdAt` and `updatedAt`, and the ids the
scenario deleted. After every step the invariant reads every live session (GET and HEAD) and every
deleted id (404), concurrently on a small thread pool, and checks (openapi.yaml, description):
- `data` equals the model exactly (1 is not 1.0);
- `createdAt` never changes, and `createdAt <= updatedAt`;
- `updatedAt` moves strictly forward after each PATCH and never otherwise: a 409, GET, HEAD, 404 or
  422 changes no record;
- create-with-id after DELETE is a brand-new record: empty data, a later `createdAt`.
PATCH data comes from the shared adversarial generators (`contract_tests.strategies`). Each scenario
deletes what it created in `teardown`, so scenarios never meet each other's state.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import hypothesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from contract_tests.baton import Baton, held, holding, yielded
from contract_tests.client import SESSION_PATH, ContractClient
from contract_tests.context import RunContext
from contract_tests.expect import ContractViolation, expect, expect_status, json_body
from contract_tests.parallel import ChargedThreadPool
from contract_tests.registry import HYPOTHESIS, contract_property
from contract_tests.steps import timestamp
from contract_tests.strategies import first_difference, json_equal, json_objects

PATCHES = json_objects(max_size=3, max_leaves=6).filter(bool)  # {} has its own check: patch.edge-cases
MACHINES = 8  # independent state machines at once, sharing --max-examples between them
READERS = 16  # threads for the reads of the invariant checks, shared by the machines


def noting_violations(step: Callable[..., None]) -> Callable[..., None]:
    """A rule or invariant that also notes each violation it raises in its machine's `noted` list.

    Hypothesis replays a failing sequence once more to report it; when the target answers
    differently the second time (a race, a clock), the replay diverges and Hypothesis reports only
    that (`Flaky`), not the violation. The noted one is then reported instead.
    """

    @functools.wraps(step)
    def noting(self: SessionModel, *args: Any, **kwargs: Any) -> None:
        try:
            step(self, *args, **kwargs)
        except ContractViolation as violation:
            violation.sessions = violation.sessions or [*self.live, *self.deleted]  # the replay script's scope
            self.noted.append(violation)
            raise

    return noting


@dataclass
class Record:
    """What the model knows of one session; timestamps are learnt from the first read."""

    data: dict[str, Any]
    created: datetime | None = None
    updated: datetime | None = None
    patched: bool = False  # a PATCH was acknowledged since updatedAt was last read
    not_before: datetime | None = None  # a re-created id's createdAt must be later than this


class SessionModel(RuleBasedStateMachine):
    """What the target should hold, operation by operation."""

    client: ContractClient  # set by the test before running
    pool: ChargedThreadPool
    noted: list[ContractViolation]  # every violation a step raised, in order (noting_violations)

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[str, Record] = {}
        self.deleted: dict[str, datetime | None] = {}  # id -> its last createdAt
        self.checked = False  # the target was read since the last step that changed the model

    def _pick(self, data: st.DataObject, pool: Any) -> str:
        return str(data.draw(st.sampled_from(sorted(pool))))

    def _write(self, method: str, sid: str, body: Any = None) -> httpx.Response:
        # The invariant re-reads every session right after each write: the client's own re-read would only add latency.
        return self.client.request(method, f"{SESSION_PATH}/{sid}", json=body, check_write=False)

    @rule()
    @noting_violations
    def create(self) -> None:
        response = self.client.request("POST", SESSION_PATH, check_write=False)
        expect_status(response, 201, "create")
        sid = str(json_body(response, "create")["sessionId"])
        expect(sid not in self.live, f"create answered the id of a live session {sid}", response)
        self.live[sid] = Record({})
        self.checked = False

    @rule()
    @noting_violations
    def create_with_fresh_id(self) -> None:
        sid = self.client.fresh_id()
        expect_status(self._write("POST", sid), 201, "create-with-id on a fresh id")
        self.live[sid] = Record({})
        self.checked = False

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    @noting_violations
    def create_with_live_id(self, data: st.DataObject) -> None:
        expect_status(self._write("POST", self._pick(data, self.live)), 409, "create-with-id on a live id")

    @precondition(lambda self: self.deleted)
    @rule(data=st.data())
    @noting_violations
    def create_with_deleted_id(self, data: st.DataObject) -> None:
        sid = self._pick(data, self.deleted)
        expect_status(self._write("POST", sid), 201, "create-with-id on a deleted id")
        self.live[sid] = Record({}, not_before=self.deleted.pop(sid))
        self.checked = False

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    @noting_violations
    def get(self, data: st.DataObject) -> None:
        sid = self._pick(data, self.live)
        response = self.client.get(sid)
        expect_status(response, 200, "GET a live session")
        got = json_body(response, "GET").get("data")
        expect(json_equal(got, self.live[sid].data), f"GET {first_difference(self.live[sid].data, got)}", response)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    @noting_violations
    def errors(self, data: st.DataObject) -> None:
        """A 404 and two 422s, none of which may change a record."""
        expect_status(self.client.get(self.client.fresh_id()), 404, "GET a never-created id")
        expect_status(self.client.get("not-a-uuid"), 422, "GET a malformed id")
        expect_status(self._write("PATCH", self._pick(data, self.live), {"data": [1, 2]}), 422, "PATCH with data that is a list")

    @precondition(lambda self: self.live or self.deleted)
    @rule(data=st.data())
    @noting_violations
    def head(self, data: st.DataObject) -> None:
        sid = self._pick(data, set(self.live) | set(self.deleted))
        expect_status(self.client.head(sid), 204 if sid in self.live else 404, "HEAD")

    @precondition(lambda self: self.live)
    @rule(data=st.data(), patch=PATCHES)
    @noting_violations
    def patch(self, data: st.DataObject, patch: dict[str, Any]) -> None:
        sid = self._pick(data, self.live)
        expect_status(self._write("PATCH", sid, {"data": patch}), 200, "PATCH a live session")
        self.live[sid].data.update(patch)
        self.live[sid].patched = True
        self.checked = False

    @precondition(lambda self: self.live)
    @rule(data=st.data(), first=PATCHES, second=PATCHES)
    @noting_violations
    def patch_twice(self, data: st.DataObject, first: dict[str, Any], second: dict[str, Any]) -> None:
        """Two PATCHes of one session in a row: the second merges into the first."""
        sid = self._pick(data, self.live)
        for patch in (first, second):
            expect_status(self._write("PATCH", sid, {"data": patch}), 200, "PATCH a live session")
            self.live[sid].data.update(patch)
        self.live[sid].patched = True
        self.checked = False

    @precondition(lambda self: self.deleted)
    @rule(data=st.data(), patch=PATCHES)
    @noting_violations
    def patch_deleted(self, data: st.DataObject, patch: dict[str, Any]) -> None:
        expect_status(self._write("PATCH", self._pick(data, self.deleted), {"data": patch}), 404, "PATCH a deleted session")

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    @noting_violations
    def delete(self, data: st.DataObject) -> None:
        sid = self._pick(data, self.live)
        expect_status(self._write("DELETE", sid), 200, "DELETE a live session")
        self.deleted[sid] = self.live.pop(sid).created
        self.checked = False

    @precondition(lambda self: self.deleted)
    @rule(data=st.data())
    @noting_violations
    def delete_deleted(self, data: st.DataObject) -> None:
        expect_status(self._write("DELETE", self._pick(data, self.deleted)), 404, "DELETE a deleted session")

    @invariant()
    @noting_violations
    def target_matches_the_model(self) -> None:
        """After a step that changed the model, and at the end of each scenario. A read-only step (GET,
        HEAD, 404, 409, 422) is checked by the next of these: a record it changed shows there, since
        the model expects every read-only step to leave records as they were."""
        if self.checked:
            return
        self.checked = True
        ids = [*self.live, *self.deleted]
        gets = [self.pool.submit(self.client.get, sid) for sid in ids]
        heads = [self.pool.submit(self.client.head, sid) for sid in ids]
        with yielded():  # only waiting for the reads: the check's baton goes to the other machines meanwhile
            answers = [(got.result(), head.result()) for got, head in zip(gets, heads, strict=True)]
        for sid, (got, head) in zip(ids, answers, strict=True):
            if sid in self.deleted:
                expect_status(got, 404, f"GET deleted session {sid}")
                expect_status(head, 404, f"HEAD deleted session {sid}")
                continue
            expect_status(got, 200, f"GET live session {sid}")
            expect_status(head, 204, f"HEAD live session {sid}")
            self._compare(sid, self.live[sid], json_body(got, "GET"), got)

    def _compare(self, sid: str, record: Record, body: dict[str, Any], response: httpx.Response) -> None:
        data = body.get("data")
        expect(json_equal(data, record.data), f"session {sid}: {first_difference(record.data, data)}", response)
        created, updated = timestamp(body, "createdAt", response), timestamp(body, "updatedAt", response)
        expect(created <= updated, f"createdAt {body['createdAt']} is after updatedAt {body['updatedAt']}", response)
        if record.created is None:
            expect(record.not_before is None or created > record.not_before,
                   f"create-with-id after DELETE kept the deleted record's createdAt {body['createdAt']}", response)
        else:
            expect(created == record.created, f"createdAt changed from {record.created.isoformat()} to {body['createdAt']}", response)
            assert record.updated is not None
            if record.patched:
                expect(updated > record.updated, f"PATCH did not move updatedAt forward ({record.updated.isoformat()} -> "
                       f"{body['updatedAt']})", response)
            else:
                expect(updated == record.updated, f"updatedAt moved from {record.updated.isoformat()} to {body['updatedAt']} "
                       "with no PATCH (only PATCH may move it)", response)
        record.created, record.updated, record.patched = created, updated, False

    def teardown(self) -> None:
        try:
            self.checked = False
            self.target_matches_the_model()
        finally:
            list(self.pool.map(lambda sid: self._write("DELETE", sid), list(self.live)))


@contract_property("model.state-machine", exclusive=HYPOTHESIS, cost=10.0)
def random_operation_sequences_agree_with_the_model(contract_client: ContractClient, contract_run: RunContext) -> None:
    options = contract_run.options
    seed = options.seed if options.seed is not None else random.randrange(2**31)
    # Hypothesis' first example of a machine is its simplest (creates only): each machine gets at least 3.
    machines = max(1, min(MACHINES, options.max_examples // 3))
    share = -(-options.max_examples // machines)
    failures: list[BaseException] = []
    # each machine runs Hypothesis in its own thread, taking the check's baton in turn (one of its own
    # when the caller holds none: called outside the engine, the machines must still take turns)
    baton = held() or Baton(HYPOTHESIS)

    def run_machine(number: int, readers: ChargedThreadPool) -> None:
        with holding(baton, contract_client.cancel):
            run_one_machine(number, readers)

    def run_one_machine(number: int, readers: ChargedThreadPool) -> None:
        class Machine(SessionModel):
            client = contract_client
            pool = readers
            noted: list[ContractViolation] = []

        try:
            run_state_machine_as_test(
                hypothesis.seed(seed + number)(Machine),
                settings=settings(
                    max_examples=share,
                    stateful_step_count=12,
                    deadline=None,
                    database=None,
                    phases=[Phase.generate],  # no replay or shrinking against a server we cannot reset
                    suppress_health_check=list(HealthCheck),
                    print_blob=False,
                ),
            )
        except hypothesis.errors.Flaky as flaky:
            if not Machine.noted:  # what failed was no violation of ours: report that, not "flaky"
                inner = getattr(flaky, "exceptions", ())
                failures.append(inner[0] if inner else flaky)
                return
            first = Machine.noted[0]
            reported = ContractViolation(
                f"{first.explanation} (Hypothesis' replay of the sequence did not fail the same way: the target answered differently the second time)",
                first.response, reproduction=first.reproduction,
            )
            reported.sessions = first.sessions
            failures.append(reported)
        except BaseException as exc:  # handed to the test's thread below
            failures.append(exc)

    with ChargedThreadPool(max_workers=READERS) as readers, ChargedThreadPool(max_workers=machines) as pool:
        list(pool.map(lambda n: run_machine(n, readers), range(machines)))
    if failures:
        raise failures[0]
