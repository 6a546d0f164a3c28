"""The comparison bench's command line and scenario table (the bench itself is never run in tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compare = load("compare")


def test_defaults_are_the_issues_comparison() -> None:
    args = compare.build_parser().parse_args([])
    assert args.duration == 8 and args.connections == 32
    assert args.targets == ["mock", "mock-sqlite", "reference", "prism", "prism-quiet", "ceiling"]
    assert args.scenarios == ["create", "get", "head", "unknown", "loop"]
    assert (args.server_cpu, args.client_cpu) == (0, 1)


def test_targets_and_scenarios_can_be_narrowed_and_the_duration_shortened() -> None:
    args = compare.build_parser().parse_args(["--targets", "mock,ceiling", "--scenarios", "get,loop", "--duration", "2"])
    assert args.targets == ["mock", "ceiling"] and args.scenarios == ["get", "loop"] and args.duration == 2


@pytest.mark.parametrize("option", ["--targets", "--scenarios"])
def test_unknown_names_are_refused(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        compare.build_parser().parse_args([option, "mock,nonsense"])
    assert stopped.value.code == 2 and "choose among" in capsys.readouterr().err


def test_every_scenario_has_a_lua_branch_and_expected_statuses() -> None:
    lua = (BENCH / "wrk" / "scenarios.lua").read_text(encoding="utf-8")
    for key, scenario in compare.SCENARIOS.items():
        assert scenario.expected
        assert key == "loop" or f'scenario == "{key}"' in lua


def test_a_run_with_unexpected_statuses_is_flagged() -> None:
    wrong = compare.Result("mock", "get", 100, 1.0, 1.0, 2.0, {"200": 90, "500": 10})
    right = compare.Result("prism", "unknown", 100, 1.0, 1.0, 2.0, {"200": 100})  # Prism keeps no state
    assert "UNEXPECTED" in compare.status_note(wrong)
    assert "UNEXPECTED" not in compare.status_note(right)


def test_the_report_names_ratios_and_the_verdict() -> None:
    results = [
        compare.Result("mock", "get", 900, 1.0, 1.0, 2.0, {"200": 900}, 0, 0.1),
        compare.Result("prism", "get", 600, 1.0, 2.0, 4.0, {"200": 600}, 0, 0.1),
    ]
    text = compare.report(results, ["mock", "prism"], ["get"], "wrk")
    assert "mock/prism" in text and "1.50x" in text and "get: yes" in text


@pytest.mark.parametrize(("options", "reason"), [
    (["--duration", "-1"], "at least 1"),
    (["--duration", "0"], "at least 1"),
    (["--connections", "0"], "at least 1"),
    (["--warmup", "-1"], "at least 0"),
    (["--server-cpu", "999"], "a core of this machine"),
    (["--server-cpu", "0", "--client-cpu", "0"], "must differ"),
    (["--json", "/nonexistent-folder/results.json"], "no folder"),
])
def test_options_the_bench_cannot_run_with_stop_it_before_anything_starts(
    options: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        compare.main([*options, "--targets", "mock", "--scenarios", "get", "--load", "httpx"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert reason in error and "Traceback" not in error
