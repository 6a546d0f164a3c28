"""The documented responses of every operation in openapi.yaml, with their named examples.

This is what forced responses (`Prefer: code=...`, `Prefer: example=...`) answer with: only what
the spec documents, bodies taken verbatim from the spec's examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference_impl.spec import HTTP_METHODS, load_spec, resolve


@dataclass(frozen=True)
class DocumentedResponse:
    """One status an operation documents: its JSON examples by name (empty when it has no body)."""

    status: int
    examples: dict[str, Any] = field(default_factory=dict)

    @property
    def has_body(self) -> bool:
        return bool(self.examples)


def _examples(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    media = response.get("content", {}).get("application/json")
    if not media:
        return {}
    if "examples" in media:
        return {name: resolve(spec, ex)["value"] for name, ex in media["examples"].items()}
    if "example" in media:
        return {"example": media["example"]}
    return {}


class ResponseCatalogue:
    """operationId -> status -> DocumentedResponse, read once from the spec."""

    def __init__(self, spec_path: Path) -> None:
        spec = load_spec(spec_path)
        self._operations: dict[str, dict[int, DocumentedResponse]] = {}
        for item in spec["paths"].values():
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                responses = {}
                for status, response in operation.get("responses", {}).items():
                    if status.isdigit():
                        responses[int(status)] = DocumentedResponse(int(status), _examples(spec, resolve(spec, response)))
                self._operations[operation["operationId"]] = responses

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
