"""A Hypothesis state machine: random sequences of every operation against a model of the sessions.

The model holds the data every live session should have and the ids the scenario deleted. After
every step the invariant reads every live session (GET and HEAD) and every deleted id (404).
Each scenario deletes what it created in `teardown`, so scenarios never meet each other's state.
"""

from __future__ import annotations

from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from contract_tests.client import ContractClient
from contract_tests.expect import expect, expect_status, json_body
from contract_tests.properties import contract_property
from contract_tests.run import ContractRun

KEYS = st.sampled_from(["status", "discovery", "code", "history", "n"])
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=5,
)
PATCHES = st.dictionaries(KEYS, VALUES, max_size=3)


class SessionModel(RuleBasedStateMachine):
    """What the target should hold, operation by operation."""

    client: ContractClient  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()

    def _pick(self, data: st.DataObject, pool: Any) -> str:
        return str(data.draw(st.sampled_from(sorted(pool))))

    @rule()
    def create(self) -> None:
        response = self.client.create()
        expect_status(response, 201, "create")
        sid = str(json_body(response, "create")["sessionId"])
        expect(sid not in self.live, f"create answered the id of a live session {sid}", response)
        self.live[sid] = {}

    @rule()
    def create_with_fresh_id(self) -> None:
        sid = self.client.fresh_id()
        response = self.client.create_with_id(sid)
        expect_status(response, 201, "create-with-id on a fresh id")
        self.live[sid] = {}

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def create_with_live_id(self, data: st.DataObject) -> None:
        expect_status(self.client.create_with_id(self._pick(data, self.live)), 409, "create-with-id on a live id")

    @precondition(lambda self: self.deleted)
    @rule(data=st.data())
    def create_with_deleted_id(self, data: st.DataObject) -> None:
        sid = self._pick(data, self.deleted)
        expect_status(self.client.create_with_id(sid), 201, "create-with-id on a deleted id")
        self.deleted.discard(sid)
        self.live[sid] = {}

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        sid = self._pick(data, self.live)
        response = self.client.get(sid)
        expect_status(response, 200, "GET a live session")
        expect(json_body(response, "GET").get("data") == self.live[sid], "GET data differs from the model", response)

    @precondition(lambda self: self.live or self.deleted)
    @rule(data=st.data())
    def head(self, data: st.DataObject) -> None:
        sid = self._pick(data, set(self.live) | self.deleted)
        expect_status(self.client.head(sid), 204 if sid in self.live else 404, "HEAD")

    @precondition(lambda self: self.live)
    @rule(data=st.data(), patch=PATCHES)
    def patch(self, data: st.DataObject, patch: dict[str, Any]) -> None:
        sid = self._pick(data, self.live)
        expect_status(self.client.patch(sid, patch), 200, "PATCH a live session")
        self.live[sid].update(patch)

    @precondition(lambda self: self.deleted)
    @rule(data=st.data(), patch=PATCHES)
    def patch_deleted(self, data: st.DataObject, patch: dict[str, Any]) -> None:
        expect_status(self.client.patch(self._pick(data, self.deleted), patch), 404, "PATCH a deleted session")

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        sid = self._pick(data, self.live)
        expect_status(self.client.delete(sid), 200, "DELETE a live session")
        del self.live[sid]
        self.deleted.add(sid)

    @precondition(lambda self: self.deleted)
    @rule(data=st.data())
    def delete_deleted(self, data: st.DataObject) -> None:
        expect_status(self.client.delete(self._pick(data, self.deleted)), 404, "DELETE a deleted session")

    @invariant()
    def target_matches_the_model(self) -> None:
        for sid, expected in self.live.items():
            got = self.client.get(sid)
            expect_status(got, 200, f"GET live session {sid}")
            expect(got.json().get("data") == expected, f"session {sid} holds {got.json().get('data')!r}, model says {expected!r}", got)
            expect_status(self.client.head(sid), 204, f"HEAD live session {sid}")
        for sid in self.deleted:
            expect_status(self.client.get(sid), 404, f"GET deleted session {sid}")
            expect_status(self.client.head(sid), 404, f"HEAD deleted session {sid}")

    def teardown(self) -> None:
        for sid in list(self.live):
            self.client.delete(sid)


@contract_property("model.state-machine")
def test_random_operation_sequences_agree_with_the_model(contract_client: ContractClient, contract_run: ContractRun) -> None:
    options = contract_run.options

    class Machine(SessionModel):
        client = contract_client

    if options.seed is not None:
        Machine = hypothesis.seed(options.seed)(Machine)  # type: ignore[misc]
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=options.max_examples,
            stateful_step_count=12,
            deadline=None,
            database=None,
            phases=[Phase.generate],  # no replay or shrinking against a server we cannot reset
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        ),
    )
