"""One known-deviations format and one loader for `session-contract run` and `session-contract diff`."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_tests.deviations import DeviationsError, load_known_deviations
from contract_tests.diff import main as diff
from reference_impl.serving import LiveServer
from tests.contract_helpers import session_contract

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SESSION_ID = "/api/v1/session/{session_id}"
COMBINED = (
    "list.always-404: production answers 405\n"
    f"'operation:PATCH {SESSION_ID}': recent production builds removed PATCH\n"
    "'undocumented-error:* 404': production documents no 404\n"
)


def test_one_file_holds_property_ids_for_run_and_difference_ids_for_diff(tmp_path: Path) -> None:
    path = tmp_path / "known.yaml"
    path.write_text(COMBINED, encoding="utf-8")
    known = load_known_deviations(path)
    assert known.properties == {"list.always-404": "production answers 405"}
    assert set(known.differences) == {f"operation:PATCH {SESSION_ID}", "undocumented-error:* 404"}


def test_the_production_file_has_both_kinds() -> None:
    known = load_known_deviations(REPO / "deviations" / "production.yaml")
    assert "list.always-404" in known.properties and f"operation:PATCH {SESSION_ID}" in known.differences


@pytest.mark.parametrize("content", ["list.always-4O4: typo\n", "'operations:PATCH /x': unknown kind\n", "- a list\n", "a: [unclosed\n"])
def test_a_key_that_is_neither_kind_or_a_bad_file_is_an_error_naming_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "known.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DeviationsError) as error:
        load_known_deviations(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_run_and_diff_both_accept_the_combined_file(tmp_path: Path, reference_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "known.yaml"
    path.write_text(COMBINED, encoding="utf-8")
    assert diff(["--against", str(FIXTURES / "fastapi_without_patch_and_404.openapi.json"), "--known-deviations", str(path)]) == 0
    capsys.readouterr()
    run = session_contract("--base-url", reference_server.base_url, "--property", "health.*", "--property", "list.*",
                           "--persistence-window", "0", "--known-deviations", str(path), tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


PRODUCTION = REPO / "deviations" / "production.yaml"
PRODUCTION_DESCRIPTION = FIXTURES / "production_2026-12.openapi.json"


def test_production_deviations_list_only_ids_run_or_diff_can_produce(capsys: pytest.CaptureFixture[str]) -> None:
    """Every property id is a registered check's; every difference id is one `diff` reports against
    production's description today (none stale), and together they are exactly its differences."""
    import json

    from contract_tests.registry import load_checks

    known = load_known_deviations(PRODUCTION)
    assert set(known.properties) <= set(load_checks())
    assert diff(["--format", "json", "--against", str(PRODUCTION_DESCRIPTION)]) == 1
    report = json.loads(capsys.readouterr().out)
    produced = {difference["id"] for difference in report["differences"]}
    assert set(known.differences) == produced
    assert len(produced) == 9 and len(report["other_operations"]) == 61


def test_diff_against_production_exits_0_with_its_deviations_and_names_anything_new(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diff(["--against", str(PRODUCTION_DESCRIPTION), "--known-deviations", str(PRODUCTION)]) == 0
    out = capsys.readouterr().out
    assert "9 differences: 0 new, 9 known" in out and "stale" not in out
    import json

    document = json.loads(PRODUCTION_DESCRIPTION.read_text(encoding="utf-8"))
    del document["paths"]["/api/v1/session/{session_id}"]["head"]["responses"]["204"]
    changed = tmp_path / "changed.openapi.json"
    changed.write_text(json.dumps(document), encoding="utf-8")
    assert diff(["--against", str(changed), "--known-deviations", str(PRODUCTION)]) == 1
    out = capsys.readouterr().out
    assert "1 new" in out and "HEAD /api/v1/session/{session_id} 204" in out
