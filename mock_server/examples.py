"""The documented responses of every operation in openapi.yaml, with their named examples.

This is what forced responses (`Prefer: code=...`, `Prefer: example=...`) answer with: only what
the spec documents, bodies taken verbatim from the spec's examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from session_spec import SPEC_PATH, Response, load_spec, operations


@dataclass(frozen=True)
class DocumentedResponse:
    """One status an operation documents: its JSON examples by name (empty when it has no body)."""

    status: int
    examples: dict[str, Any] = field(default_factory=dict)

    @property
    def has_body(self) -> bool:
        return bool(self.examples)


def _json_examples(response: Response) -> dict[str, Any]:
    return {example.name: example.value for body in response.bodies if body.media_type == "application/json" for example in body.examples}


class ResponseCatalogue:
    """operationId -> status -> DocumentedResponse, read once from the spec (via `session_spec.operations`)."""

    def __init__(self, spec_path: Path = SPEC_PATH) -> None:
        self._operations: dict[str, dict[int, DocumentedResponse]] = {
            operation.operation_id: {
                int(response.status): DocumentedResponse(int(response.status), _json_examples(response))
                for response in operation.responses
                if response.status.isdigit()
            }
            for operation in operations(load_spec(spec_path))
        }

    def statuses(self, operation_id: str) -> list[int]:
        return sorted(self._operations.get(operation_id, {}))

    def response(self, operation_id: str, status: int) -> DocumentedResponse | None:
        return self._operations.get(operation_id, {}).get(status)

    def find_example(self, operation_id: str, name: str) -> DocumentedResponse | None:
        """The documented response that has an example called `name` (lowest status first)."""
        for status in self.statuses(operation_id):
            response = self._operations[operation_id][status]
            if name in response.examples:
                return response
        return None

    def example_names(self, operation_id: str) -> list[str]:
        return [f"{name} ({status})" for status in self.statuses(operation_id) for name in self._operations[operation_id][status].examples]
