"""The README's table of contract properties, generated from the suite's registry
(`contract_tests.properties.PROPERTIES`: the ids and statements the conformance suite reports)."""

from __future__ import annotations

from contract_tests.properties import PROPERTIES
from session_docs.table import GeneratedBlock

PROPERTIES_BLOCK = GeneratedBlock("properties-table", "session-docs properties --write README.md")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def properties_table(properties: dict[str, str] = PROPERTIES) -> str:
    """The Markdown table: one row per property id, in the registry's order (the report's order)."""
    lines = ["| id | what must hold |", "|---|---|"]
    lines += [f"| `{pid}` | {_cell(statement)} |" for pid, statement in properties.items()]
    return "\n".join(lines) + "\n"
