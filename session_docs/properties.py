"""The table of contract properties, generated from the suite's registry
(`contract_tests.properties.PROPERTIES`: the ids and statements the conformance suite reports).
docs/reference/properties.md is this table with a column saying how each property is checked."""

from __future__ import annotations

from contract_tests.properties import PROPERTIES
from session_docs.markdown import escape
from session_docs.table import GeneratedBlock

PROPERTIES_BLOCK = GeneratedBlock("properties-table", "session-docs properties --write FILE")


def _cell(text: str) -> str:
    return escape(text).replace("|", "\\|").replace("\n", " ")


def _note(markdown: str) -> str:
    return markdown.replace("|", "\\|").replace("\n", " ")


def properties_table(properties: dict[str, str] = PROPERTIES, notes: dict[str, str] | None = None) -> str:
    """The Markdown table: one row per property id, in the registry's order (the report's order);
    with `notes`, a third column saying how each property is checked."""
    if notes is None:
        lines = ["| id | what must hold |", "|---|---|"]
        lines += [f"| `{pid}` | {_cell(statement)} |" for pid, statement in properties.items()]
    else:
        lines = ["| id | what must hold | how it is checked |", "|---|---|---|"]
        lines += [f"| `{pid}` | {_cell(statement)} | {_note(notes.get(pid, ''))} |" for pid, statement in properties.items()]
    return "\n".join(lines) + "\n"
