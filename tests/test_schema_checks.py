"""The Schemathesis checks run as plain functions, without pytest: called here as the engine calls
them, with a real client against the reference (and a broken variant) served on loopback."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from contract_tests.cancel import Cancelled, CancelToken
from contract_tests.checks.schema import (
    STATEFUL_MACHINES,
    chains_through_the_links_conform,
    every_response_conforms_to_the_spec,
    loaded_schema,
)
from contract_tests.client import ContractClient, current_property
from contract_tests.expect import ContractViolation
from contract_tests.registry import HYPOTHESIS, REGISTRY
from reference_impl import create_app
from reference_impl.serving import LiveServer
from tests.broken_variants import BROKEN

UUIDS = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


@dataclass
class Options:
    max_examples: int = 3
    seed: int = 7


@dataclass
class Run:
    """A stand-in for the engine's run context: what the schema checks read."""

    options: Options = field(default_factory=Options)
    cancel: CancelToken = field(default_factory=CancelToken)


@pytest.fixture()
def contract_client(base_url: str) -> Iterator[ContractClient]:
    with ContractClient(base_url) as client:
        yield client


def test_both_schema_checks_are_registered_as_hypothesis_exclusive() -> None:
    for pid in ("schema.stateless", "schema.stateful"):
        assert REGISTRY[pid].exclusive == HYPOTHESIS
        assert REGISTRY[pid].parameters == ("contract_client", "contract_run")


def test_importing_the_schema_checks_loads_neither_schemathesis_nor_hypothesis() -> None:
    # The registry imports every check module, even when no schema check is selected.
    code = "import sys, contract_tests.checks.schema; print(sorted({'schemathesis', 'hypothesis'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_reference_passes_schema_stateless_and_stateful(contract_client: ContractClient) -> None:
    token = current_property.set("schema.stateless")  # as the engine charges a check's requests
    try:
        every_response_conforms_to_the_spec(contract_client, Run(Options(max_examples=3)))
        sent = contract_client.request_count
        assert sent > 8  # every operation, explicit cases and generated ones
        current_property.set("schema.stateful")
        chains_through_the_links_conform(contract_client, Run(Options(max_examples=2)))
        assert contract_client.request_count > sent
        assert contract_client.live_sessions_of("schema.stateful") == set()  # the state machine cleans up
    finally:
        current_property.reset(token)
        contract_client.cleanup()


def test_a_500_on_a_malformed_id_fails_schema_stateless_with_the_curl_line_of_that_request() -> None:
    variant = next(v for v in BROKEN if v.name == "malformed-id-500")
    app, _ = variant.build()
    with LiveServer(app) as server, ContractClient(server.base_url) as client:
        with pytest.raises(ContractViolation) as caught:
            every_response_conforms_to_the_spec(client, Run(Options(max_examples=2)))
        client.cleanup()
    violation = caught.value
    assert "Server error" in violation.explanation
    assert "also failing: " in violation.explanation  # every operation ran: one failure hides no other
    assert violation.response is not None and violation.response.status_code == 500
    assert violation.reproduction.startswith("curl ") and server.base_url in violation.reproduction
    assert violation.reproduction == client.curl(violation.response.request)


class CancelAfter(ContractClient):
    """A client whose run is cancelled (as Ctrl-C would) once it has sent `after` requests."""

    def __init__(self, base_url: str, token: CancelToken, after: int) -> None:
        super().__init__(base_url)
        self.token, self.after = token, after

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = super().request(method, path, **kwargs)
        if self.request_count >= self.after:
            self.token.cancel("test: stopped")
        return response


def _operations() -> int:
    return sum(1 for _ in loaded_schema().get_all_operations())


@pytest.mark.parametrize(("check", "after", "threads", "each"), [
    pytest.param(every_response_conforms_to_the_spec, 3, _operations, 3, id="stateless-explicit-case"),
    pytest.param(every_response_conforms_to_the_spec, 40, _operations, 3, id="stateless-generated-case"),
    pytest.param(chains_through_the_links_conform, 3, lambda: STATEFUL_MACHINES, 9, id="stateful"),
])
def test_a_cancelled_run_stops_a_schema_check_with_cancelled_at_the_next_case(
    check: Any, after: int, threads: Any, each: int, base_url: str
) -> None:
    run = Run(Options(max_examples=50))
    with CancelAfter(base_url, run.cancel, after=after) as client:
        with pytest.raises(Cancelled) as caught:
            check(client, run)
        sent = client.request_count
        client.cleanup()
    assert caught.value.reason == "test: stopped"
    # Not another case after the stop: the check's threads (one per operation, or per state machine)
    # each finish the request they had sent, with its write's read-back (GET and HEAD), and stop; a
    # state machine's teardown also deletes what its chain made (this client has no token to refuse it).
    assert sent <= after + each * threads()


def test_a_run_cancelled_before_it_starts_sends_nothing(contract_client: ContractClient) -> None:
    run = Run()
    run.cancel.cancel("budget")
    for check in (every_response_conforms_to_the_spec, chains_through_the_links_conform):
        with pytest.raises(Cancelled):
            check(contract_client, run)
    assert contract_client.request_count == 0


def request_sequence(seed: int, max_examples: int) -> list[str]:
    """The requests schema.stateless sends to a fresh reference, ids named by order of appearance (ids
    the ownership rule reserves are random). Read-backs are off: their GET and HEAD race each other."""
    with LiveServer(create_app()) as server, ContractClient(server.base_url, verify_writes=False) as client:
        client.log = []
        every_response_conforms_to_the_spec(client, Run(Options(max_examples=max_examples, seed=seed)))
        sent = list(client.log)
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        return names.setdefault(str(uuid.UUID(match.group(0))), f"<id{len(names)}>")

    return [UUIDS.sub(name, line) for line in sent]


def test_one_seed_sends_the_same_requests_and_max_examples_reaches_hypothesis() -> None:
    first = request_sequence(seed=11, max_examples=2)
    # The operations are tested at once, so their requests interleave in the network's order, and
    # ids are numbered by first appearance: the same requests, in any order.
    assert sorted(re.sub(r"<id\d+>", "<id>", line) for line in first) == \
        sorted(re.sub(r"<id\d+>", "<id>", line) for line in request_sequence(seed=11, max_examples=2))
    assert len(request_sequence(seed=11, max_examples=5)) > len(first)
