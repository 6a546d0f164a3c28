"""Testing the blind-spot checks: each new property fails its broken variant (running only that property,
to keep this cheap), with a curl line, and the correct variants pass every property (tests/test_contract_suite.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contract_tests.properties import PROPERTIES
from tests.broken_variants import BLIND_SPOTS, Variant
from tests.contract_helpers import CliRun
from tests.test_contract_suite import run_against

# Default --volume (2,000) on purpose: the eviction variant must be caught by a default run.
OPTIONS = ["--max-examples", "10", "--seed", "1", "--concurrency", "20"]


@pytest.fixture(scope="module")
def blind_spot_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[CliRun, int]]:
    places = [tmp_path_factory.mktemp(v.name) for v in BLIND_SPOTS]

    def run(variant: Variant, place: Path) -> tuple[CliRun, int]:
        return run_against(variant, place, *OPTIONS, "--property", str(variant.expected))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return {v.name: result for v, result in zip(BLIND_SPOTS, pool.map(run, BLIND_SPOTS, places), strict=True)}


def test_every_blind_spot_property_is_proven_by_a_variant() -> None:
    proven = {v.expected for v in BLIND_SPOTS}
    assert all(p in PROPERTIES for p in proven)
    for item in ("data.round-trips-exactly", "patch.edge-cases", "model.state-machine", "concurrency.patches-disjoint-keys-survive",
                 "concurrency.create-with-id-and-delete-explained", "linearizability.concurrent-history", "ids.adversarial",
                 "persistence.under-volume", "input.malformed-is-4xx"):
        assert item in proven


@pytest.mark.parametrize("variant", BLIND_SPOTS, ids=[v.name for v in BLIND_SPOTS])
def test_the_blind_spot_property_catches_its_variant_with_a_curl(variant: Variant, blind_spot_runs: dict) -> None:
    run, left = blind_spot_runs[variant.name]
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.failed == {variant.expected}, run.stdout
    section = run.stdout.split(f"FAILED {variant.expected}:", 1)[1]
    assert "reproduce: curl" in section.split("\n\n", 1)[0]
    assert left == 0, f"{left} sessions left behind"


def test_a_linearizability_violation_lists_the_unexplained_operations_with_curl_lines(blind_spot_runs: dict) -> None:
    run, _ = blind_spot_runs["lagging-replica-under-load"]
    section = run.stdout.split("FAILED linearizability.concurrent-history:", 1)[1]
    assert "no order of these" in section and section.count("curl -i") >= 2, section
