"""The generated tables (operations from the spec, in the frontend developer's guide; properties from
the suite's registry, on docs/reference/properties.md) cannot silently disagree with their sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_tests.properties import PROPERTIES
from session_docs.cli import main as session_docs
from session_docs.properties import PROPERTIES_BLOCK, properties_table
from session_docs.table import END_MARKER, START_MARKER, MarkersMissing, operations_table, table_in, with_table
from session_spec import load_spec, operations

DOCS = Path(__file__).resolve().parent.parent / "docs"
SPEC = load_spec()


def test_the_guides_operations_table_is_the_one_generated_from_the_spec() -> None:
    assert table_in((DOCS / "mock.md").read_text(encoding="utf-8")) == operations_table(SPEC), (
        "docs/mock.md's operations table disagrees with openapi.yaml; run `make docs-generated`"
    )


def test_generated_table_has_one_row_per_operation_with_every_status() -> None:
    rows = operations_table(SPEC).splitlines()[2:]
    assert len(rows) == len(operations(SPEC))
    for row, operation in zip(rows, operations(SPEC), strict=True):
        assert f"`{operation.operation_id}`" in row and f"`{operation.method.upper()} {operation.path}`" in row
        for response in operation.responses:
            assert f" {response.status} " in row, (operation.operation_id, response.status)


def test_check_fails_on_a_stale_table_and_write_repairs_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "guide.md"
    readme.write_text(f"# Title\n\n{START_MARKER}\n| stale |\n{END_MARKER}\n\nAfter.\n", encoding="utf-8")
    assert session_docs(["table", "--check", str(readme)]) == 1
    assert session_docs(["table", "--write", str(readme)]) == 0
    assert session_docs(["table", "--check", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\n") and text.endswith(f"{END_MARKER}\n\nAfter.\n") and "| stale |" not in text


def test_table_prints_the_generated_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert session_docs(["table"]) == 0
    assert capsys.readouterr().out == operations_table(SPEC)


def test_writing_needs_the_marker_comments() -> None:
    with pytest.raises(MarkersMissing):
        with_table("# no markers here\n", operations_table(SPEC))


def test_the_properties_page_has_the_table_generated_from_the_registry() -> None:
    page = (DOCS / "reference" / "properties.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(PROPERTIES), "run `make docs-generated`"
    for row, statement in zip(rows, properties_table().splitlines()[2:], strict=True):
        assert row.startswith(statement.removesuffix(" |")), "run `make docs-generated`"


def test_properties_table_has_one_row_per_registered_property_and_check_catches_staleness(tmp_path: Path) -> None:
    rows = properties_table().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == list(PROPERTIES)
    readme = tmp_path / "guide.md"
    readme.write_text(f"{PROPERTIES_BLOCK.start}\n| stale |\n{PROPERTIES_BLOCK.end}\n", encoding="utf-8")
    assert session_docs(["properties", "--check", str(readme)]) == 1
    assert session_docs(["properties", "--write", str(readme)]) == 0
    assert session_docs(["properties", "--check", str(readme)]) == 0
