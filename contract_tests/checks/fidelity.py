"""Data fidelity: whatever JSON object a client stores, GET gives back exactly (adversarial data)."""

from __future__ import annotations

from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, example, given, settings

from contract_tests.client import SESSION_PATH, ContractClient
from contract_tests.context import RunContext
from contract_tests.expect import ContractViolation, expect_status
from contract_tests.registry import HYPOTHESIS, contract_property
from contract_tests.steps import give_data, new_session, read_data
from contract_tests.strategies import EDGE_CASES, LARGE_PAYLOAD_BYTES, first_difference, json_equal, json_objects, large_payload


def patch_then_read(client: ContractClient, sid: str, data: dict[str, Any], what: str) -> None:
    """PATCH `data` in, GET it back: every key sent must come back exactly (PATCH replaces top-level keys)."""
    response = client.request("PATCH", f"{SESSION_PATH}/{sid}", json={"data": data}, check_write=False)
    expect_status(response, 200, f"PATCH {what}")
    stored = read_data(client, sid, f"GET after PATCH {what}")
    sent = {key: stored.get(key) for key in data}
    if not json_equal(data, sent):
        raise ContractViolation(f"{what} did not round-trip: {first_difference(data, sent)}", client.last_response)


@contract_property("data.round-trips-exactly", exclusive=HYPOTHESIS, cost=3.0)
def stored_json_comes_back_exactly(contract_client: ContractClient, contract_run: RunContext) -> None:
    options = contract_run.options
    sid = new_session(contract_client)
    give_data(contract_client, sid, {"plain": 1})  # a target without PATCH cannot store data: blocked, not failed
    read_data(contract_client, sid, "GET after a plain PATCH")  # ... nor one whose GET answers no data

    @settings(
        max_examples=options.max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],  # each example stands alone: shrinking is safe
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(data=json_objects())
    @example(data=EDGE_CASES)
    def round_trip(data: dict[str, Any]) -> None:
        patch_then_read(contract_client, sid, data, "generated data")

    if options.seed is not None:
        round_trip = hypothesis.seed(options.seed)(round_trip)
    round_trip()
    big = new_session(contract_client)
    patch_then_read(contract_client, big, large_payload(), f"a {LARGE_PAYLOAD_BYTES // 1024} KiB object")
