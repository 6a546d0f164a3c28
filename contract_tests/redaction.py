"""Keeps header values (tokens, cookies, keys) out of every line the suite writes."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "<redacted>"


class Redactor:
    """Replaces every registered secret in a text with `<redacted>`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        secret = secret.strip()
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            # Longest first, so a secret that contains another is replaced whole.
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def parse_header(raw: str) -> tuple[str, str]:
    """`"Name: value"` -> `("Name", "value")`; ValueError for anything else."""
    name, sep, value = raw.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name or any(c.isspace() for c in name):
        raise ValueError("--header expects 'Name: value' (a header name, a colon, then the value)")
    return name, value
