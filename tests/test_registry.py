"""The one registry: every property has exactly one check, declared where it is defined, with its
traits; ids and statements are readable without importing any check."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contract_tests.properties import PROPERTIES
from contract_tests.registry import HYPOTHESIS, check, load_checks, matches, select_checks


def test_every_property_has_exactly_one_registered_check() -> None:
    assert list(load_checks()) == list(PROPERTIES)


def test_traits_are_declared_beside_the_checks() -> None:
    checks = load_checks()
    assert [pid for pid, c in checks.items() if c.canaries] == ["persistence.until-delete"]
    assert {pid for pid, c in checks.items() if c.exclusive == HYPOTHESIS} == {
        "data.round-trips-exactly", "model.state-machine", "schema.stateless", "schema.stateful"}
    measured = {pid: c.measures for pid, c in checks.items() if c.phase == "measure" and c.measures}
    assert measured == {f"consistency.read-your-writes.{kind}": (kind,) for kind in ("create", "create-with-id", "patch", "delete")}


def test_ids_and_statements_are_importable_without_importing_any_check() -> None:
    code = "import sys, contract_tests.properties as p; print(len(p.PROPERTIES), any(m.startswith('contract_tests.checks') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == [str(len(PROPERTIES)), "False"]


def test_selection_by_globs_keeps_the_contracts_order() -> None:
    chosen = [c.id for c in select_checks(["persistence.*", "health.ok"], ["persistence.under-volume"])]
    assert chosen == ["health.ok", "persistence.until-delete"]


def test_property_globs_follow_the_deviations_files_rule_and_a_miss_names_the_nearest_id() -> None:
    from contract_tests.options import OPTION_BY_NAME, UsageError, build_options

    assert matches("schema.stateless", ["schema.*"]) and not matches("schema.stateless", ["schema?stateless"])
    assert not matches("schema.stateless", ["schema.[s]tateless"])  # only * is a wildcard, as in a deviations file
    with pytest.raises(UsageError, match=r"no property id matches 'schma\.\*' \(did you mean 'schema\.\*'\?\)"):
        build_options({OPTION_BY_NAME["property"].dest: ["schma.*"]}, known_ids=lambda: list(PROPERTIES))


def test_a_check_of_an_unknown_property_or_with_a_parameter_the_engine_cannot_supply_is_refused() -> None:
    with pytest.raises(KeyError):
        check("no.such-property")
    with pytest.raises(ValueError, match="cannot supply"):
        check("health.ok")(lambda contract_client, case: None)
