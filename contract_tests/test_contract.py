"""One pytest item per registered check (see `contract_tests.plugin`): each reports its check's
outcome from the run's one engine run."""

from __future__ import annotations

import pytest

from contract_tests.report import FAIL, INCONCLUSIVE, KNOWN, NOT_CHECKED, RunResults


def test_property(contract_property_id: str, contract_results: RunResults) -> None:
    result = contract_results.properties[contract_property_id]
    if result.status in (FAIL, KNOWN):
        text = result.explanation + (f"\nreproduce: {result.reproduction}" if result.reproduction else "")
        pytest.fail(text, pytrace=False)
    if result.status == INCONCLUSIVE:  # the run is incomplete: an error, neither a pass nor a skip
        pytest.fail(f"inconclusive: {result.measured_text()}", pytrace=False)
    if result.status == NOT_CHECKED:
        pytest.skip(result.skip_reason or "not checked")
