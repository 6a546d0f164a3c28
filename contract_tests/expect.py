"""How a check states a violation: a short explanation plus the request that shows it."""

from __future__ import annotations

from typing import Any

import httpx


class ContractViolation(AssertionError):
    """A property does not hold; `response.request` reproduces it."""

    def __init__(self, explanation: str, response: httpx.Response | None = None, *, reproduction: str = "") -> None:
        super().__init__(explanation)
        self.explanation = explanation
        self.response = response
        self.reproduction = reproduction  # already rendered (and redacted), when there is no response
        self.measurements: list[Any] = []  # a measured property's shapes (`contract_tests.rates.Measured`)
        self.sessions: list[str] = []  # a scenario's session ids (a state machine's): its replay script covers them all


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


class CheckSkipped(Exception):
    """A check's precondition does not hold (another property fails first): the property is "not
    checked", with `reason`. Not a violation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Inconclusive(Exception):
    """A measurement ran out of time (its phase's budget, or a stop) before its sample size was reached
    and saw no violation: the property is "inconclusive", with the bound reached so far."""

    def __init__(self, explanation: str, measurements: list[Any] | None = None) -> None:
        super().__init__(explanation)
        self.explanation = explanation
        self.measurements = list(measurements or [])


def blocked(reason: str) -> None:
    """Skip a check whose precondition (another property) does not hold."""
    raise CheckSkipped(f"blocked: {reason}")


def _snippet(response: httpx.Response, limit: int = 160) -> str:
    if response.request.method == "HEAD" or not response.content:
        return "(no body)"
    text = response.text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


class Findings:
    """Violations a check collects step by step, so one failing step does not hide the steps after it
    that do not depend on it; `raise_any()` at the end reports them all (the first one's request is
    the reproduction)."""

    def __init__(self) -> None:
        self.found: list[ContractViolation] = []

    def check(self, condition: Any, explanation: str, response: httpx.Response | None = None) -> bool:
        """Record a violation unless `condition` holds; whether it held."""
        if not condition:
            self.found.append(ContractViolation(explanation, response))
        return bool(condition)

    def status(self, response: httpx.Response, expected: int | set[int], what: str) -> bool:
        try:
            expect_status(response, expected, what)
        except ContractViolation as violation:
            self.found.append(violation)
            return False
        return True

    def raise_any(self) -> None:
        if not self.found:
            return
        first = self.found[0]
        if len(self.found) == 1:
            raise first
        listed = "\n".join(f"- {v.explanation}" for v in self.found)
        raise ContractViolation(f"{len(self.found)} violations:\n{listed}", first.response, reproduction=first.reproduction)
