"""The soak bench's command line and summary (the soak itself is never run in tests: it takes minutes)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parent.parent / "bench" / "soak.py"
spec = importlib.util.spec_from_file_location("bench_soak", SOAK)
assert spec is not None and spec.loader is not None
soak = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = soak  # dataclasses look their module up by name
spec.loader.exec_module(soak)


def test_help_names_every_option_and_exits_0() -> None:
    shown = subprocess.run([sys.executable, str(SOAK), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert shown.returncode == 0
    for option in ["--runs", "--interrupts", "--quick", "--seed", "--run-length", "--run-timeout", "--stores", "--out", "--keep"]:
        assert option in shown.stdout


def test_defaults_are_the_issues_soak_and_quick_is_a_smoke_run() -> None:
    args = soak.build_parser().parse_args([])
    assert (args.runs, args.interrupts, args.stores) == (50, 50, ["memory", "state-file"])
    assert soak.QUICK == {"runs": 2, "interrupts": 2}


def test_a_bad_option_stops_the_process_with_one_line_and_exit_2() -> None:
    stopped = subprocess.run([sys.executable, str(SOAK), "--runs", "-1"], capture_output=True, text=True, timeout=60, check=False)
    assert stopped.returncode == 2 and stopped.stdout == ""
    assert stopped.stderr.splitlines() == ["bench/soak.py: error: argument --runs: a whole number of at least 0 (got '-1')"]


@pytest.mark.parametrize(("options", "reason"), [
    (["--runs", "x"], "at least 0"),
    (["--interrupts", "-2"], "at least 0"),
    (["--run-length", "0.5"], "at least 1"),
    (["--run-length", "nan"], "at least 1"),
    (["--run-timeout", "inf"], "at least 10"),
    (["--stores", "memory,redis"], "choose among"),
    (["--progress-regex", "[unclosed"], "not a regular expression"),
    (["--out", "/nonexistent-folder/soak.json"], "no folder"),
    (["--keep", "/nonexistent-folder/deeper/runs"], "no folder"),
])
def test_options_the_soak_cannot_run_with_stop_it_before_anything_starts(
    options: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        soak.main(options)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert reason in error and len(error.strip().splitlines()) == 1


def test_the_summary_counts_false_failures_hangs_and_what_was_left_behind() -> None:
    runs = [
        soak.Run("run", "memory", 1, exit_code=0, wall_s=20.0, first_line_s=0.3, first_progress_s=15.0, max_gap_s=14.7),
        soak.Run("run", "memory", 2, exit_code=1, wall_s=22.0, first_line_s=0.4, first_progress_s=16.0, max_gap_s=15.6),
        soak.Run("interrupt", "memory", 1, exit_code=1, signal="SIGINT", exit_after_signal_s=2.0, says_interrupted=True,
                 reported_left_behind=3, stored_before=0, stored_after=3),
        soak.Run("interrupt", "state-file", 2, exit_code=-9, signal="SIGTERM", exit_after_signal_s=60.1, hang=True, timed_out=True,
                 reported_left_behind=None, stored_before=0, stored_after=840),
    ]
    summary = soak.summarise(runs, ["memory", "state-file"])
    memory = summary["stores"]["memory"]
    assert (memory["runs"], memory["false_failures"], memory["median_wall_s"], memory["max_first_progress_s"]) == (2, 1, 21.0, 16.0)
    assert summary["stores"]["state-file"]["runs"] == 0
    interrupts = summary["interrupts"]
    assert (interrupts["count"], interrupts["hangs_over_10s"], interrupts["killed_after_60s"], interrupts["sessions_left_behind"]) == (2, 1, 1, 843)
    assert (interrupts["exit_codes"], interrupts["say_interrupted"], interrupts["left_behind_count_matches_store"]) == ([-9, 1], 1, 1)
    assert "hangs over 10 s: 1" in soak.table(summary)
