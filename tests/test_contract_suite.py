"""Testing the tests: `session-contract run` passes the reference and a correct-but-different
deployment, fails each deliberately broken one on the right property, and leaves nothing behind."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contract_tests.properties import PROPERTIES
from contract_tests.report import HYGIENE_CASE
from reference_impl.serving import LiveServer
from tests.broken_variants import BROKEN, CORRECT_BUT_DIFFERENT, Variant
from tests.contract_helpers import FAST, FAST_VARIANT, CliRun, session_contract

# Variants whose fault the state machine must catch on its own (see the test below).
STATE_MACHINE_CATCHES = ["patch-replaces", "shared-data-object", "head-always-204"]


def needed(variant: Variant) -> list[str]:
    """Only the properties a broken variant's test looks at: its own, and the state machine's where
    that is tested too. The correct-but-different one is checked on every property."""
    if variant.expected is None:
        return list(FAST_VARIANT)
    wanted = [variant.expected, *(["model.state-machine"] if variant.name in STATE_MACHINE_CATCHES else [])]
    if variant.expected.startswith("consistency."):
        wanted += ["patch.*", "delete.*", "concurrency.deletes-*"]  # enough writes of each kind for the tally
    return [*FAST_VARIANT, *(arg for pid in wanted for arg in ("--property", pid))]


def run_against(variant: Variant, tmp: Path, *options: str) -> tuple[CliRun, int]:
    """Serve the variant on loopback, run the suite against it; (the run, sessions left in its store)."""
    app, store = variant.build()
    with LiveServer(app) as server:
        run = session_contract("--base-url", server.base_url, *(options or FAST_VARIANT), tmp=tmp)
        left = asyncio.run(store.count())
    return run, left


@pytest.fixture(scope="module")
def variant_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[CliRun, int]]:
    """Every variant's run, two at a time (each run is a subprocess; the servers live here)."""
    variants = [*BROKEN, CORRECT_BUT_DIFFERENT]
    places = [tmp_path_factory.mktemp(v.name) for v in variants]  # mktemp is not thread-safe
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda v, place: run_against(v, place, *needed(v)), variants, places)
        return {variant.name: result for variant, result in zip(variants, runs, strict=True)}


def test_there_are_at_least_twelve_broken_variants_covering_distinct_properties() -> None:
    assert len(BROKEN) >= 12
    assert len({v.expected for v in BROKEN}) >= 12
    assert all(v.expected in PROPERTIES for v in BROKEN)


@pytest.mark.parametrize("variant", BROKEN, ids=[v.name for v in BROKEN])
def test_suite_fails_a_broken_variant_on_the_right_property_with_a_curl(variant: Variant, variant_runs: dict) -> None:
    run, _ = variant_runs[variant.name]
    assert run.returncode == 1, run.stdout + run.stderr
    assert variant.expected in run.failed, f"{variant.name}: failed {sorted(run.failed)}\n{run.stdout}"
    section = run.stdout.split(f"FAILED {variant.expected}:", 1)[1]
    assert "reproduce: curl" in section.split("\n\n", 1)[0]


def test_suite_passes_a_correct_but_different_deployment_and_cleans_up(variant_runs: dict) -> None:
    run, left = variant_runs[CORRECT_BUT_DIFFERENT.name]
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.failed == set()
    assert left == 0


def test_suite_passes_the_reference_names_every_property_and_leaves_nothing_behind(tmp_path: Path) -> None:
    run, left = run_against(Variant("reference", None), tmp_path, *FAST)
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(run.testcases) == {*PROPERTIES, HYGIENE_CASE}
    assert set(run.testcases.values()) == {"pass"}
    assert "0 of " in run.stdout and "writes not visible at once" in run.stdout
    assert left == 0
    assert "Session API contract: conformant" in run.report_md.read_text()


@pytest.mark.parametrize("name", STATE_MACHINE_CATCHES)
def test_the_state_machine_alone_catches_faults_that_need_memory(name: str, variant_runs: dict) -> None:
    run, _ = variant_runs[name]
    assert "model.state-machine" in run.failed


def test_the_schemathesis_layer_catches_server_errors_on_malformed_input(tmp_path: Path) -> None:
    five_hundred = next(v for v in BROKEN if v.name == "malformed-id-500")
    run, _ = run_against(five_hundred, tmp_path, *FAST, "--property", "schema.stateless", "--max-examples", "3")
    assert run.returncode == 1 and run.failed == {"schema.stateless"}
    assert "ST101 Server error" in run.stdout or "Server error" in run.stdout
