"""How a check states a violation: a short explanation plus the request that shows it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


class ContractViolation(AssertionError):
    """A property does not hold; `response.request` reproduces it."""

    def __init__(self, explanation: str, response: httpx.Response | None = None, *, reproduction: str = "") -> None:
        super().__init__(explanation)
        self.explanation = explanation
        self.response = response
        self.reproduction = reproduction  # already rendered (and redacted), when there is no response


def expect(condition: Any, explanation: str, response: httpx.Response | None = None) -> None:
    """Raise a ContractViolation unless `condition` holds."""
    if not condition:
        raise ContractViolation(explanation, response)


def expect_status(response: httpx.Response, expected: int | set[int], what: str) -> None:
    allowed = {expected} if isinstance(expected, int) else expected
    expect(
        response.status_code in allowed,
        f"{what}: expected {' or '.join(map(str, sorted(allowed)))}, got {response.status_code} {_snippet(response)}",
        response,
    )


def json_body(response: httpx.Response, what: str) -> Any:
    """The JSON body, or a violation saying it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise ContractViolation(f"{what}: body is not JSON: {_snippet(response)}", response) from None


def blocked(reason: str) -> None:
    """Skip a check whose precondition (another property) does not hold."""
    pytest.skip(f"blocked: {reason}")


def _snippet(response: httpx.Response, limit: int = 160) -> str:
    if response.request.method == "HEAD" or not response.content:
        return "(no body)"
    text = response.text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."
