"""Reading the scenario a request asks for: `Prefer: code=..., example=..., delay=...` or the
query parameters `__code`, `__example`, `__delay` (for when a header is awkward to set).

The query parameters are removed from the request before it reaches validation and the handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from reference_impl.errors import ApiError

MAX_DELAY_MS = 60_000
CONTROLS = ("code", "example", "delay")
QUERY_PREFIX = "__"


@dataclass(frozen=True)
class Scenario:
    """What one request asked the mock to do instead of (or before) the normal answer."""

    code: int | None = None
    example: str | None = None
    delay_ms: int = 0

    @property
    def forces_response(self) -> bool:
        return self.code is not None or self.example is not None

    def applied(self) -> str:
        """The `Preference-Applied` header value (RFC 7240) for a forced response."""
        parts = [f"code={self.code}"] if self.code is not None else []
        parts += [f"example={self.example}"] if self.example is not None else []
        return ", ".join(parts)


def _prefer_pairs(values: list[str]) -> dict[str, str]:
    """`Prefer` preferences as name -> value; unknown preferences (e.g. `return=minimal`) pass by."""
    pairs: dict[str, str] = {}
    for value in values:
        for token in value.replace(";", ",").split(","):
            name, sep, raw = token.strip().partition("=")
            if sep and name.strip().lower() in CONTROLS:
                pairs[name.strip().lower()] = raw.strip().strip('"')
    return pairs


def _integer(name: str, raw: str, low: int, high: int) -> int:
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"Scenario control {name}={raw!r} must be an integer from {low} to {high}")
    return int(raw)


def read_scenario(prefer_headers: list[str], query_string: bytes) -> tuple[Scenario, bytes]:
    """The scenario the request asks for, and its query string without the `__` controls.

    The query parameters win over the header when both name the same control.
    """
    controls = _prefer_pairs(prefer_headers)
    query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    kept: list[tuple[str, str]] = []
    for name, value in query:
        control = name.removeprefix(QUERY_PREFIX)
        if name.startswith(QUERY_PREFIX) and control in CONTROLS:
            controls[control] = value
        else:
            kept.append((name, value))
    code = _integer("code", controls["code"], 100, 599) if "code" in controls else None
    example = controls.get("example") or None
    delay = _integer("delay", controls["delay"], 0, MAX_DELAY_MS) if "delay" in controls else 0
    stripped = query_string if len(kept) == len(query) else urlencode(kept).encode("latin-1")
    return Scenario(code, example, delay), stripped
