"""Keeps secrets (header values, URL credentials) out of every line the suite writes, where they stand.

A secret reaches the suite two ways, and is kept out of output where it stands, never by replacing
its text everywhere (a short, non-secret value such as `X-Api-Version: 1` would take every "1" out of
the seed, the URL and the statements):
- a `--header` value: the suite renders requests itself (curl lines, the request log) and shows each
  header by its name only (`-H 'Authorization: <redacted>'`); the JSON report lists header names only;
- credentials in a URL (`https://user:password@host`): `split_credentials` (session_spec.credentials,
  shared with the mock's proxy) turns them into the
  `Authorization: Basic` header httpx would have sent and leaves a URL without them, so the URL the
  suite shows anywhere has none.

`Redactor` guards one more place: text the suite did not write (a Schemathesis failure, an exception's
message, a quoted answer of a server that echoes what it was sent). There, and only there, a header
value of at least `ECHO_MIN` characters is replaced: shorter values cannot be told from ordinary text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from session_spec.credentials import split_credentials

REDACTED = "<redacted>"
ECHO_MIN = 8
"""Shortest header value looked for in foreign text: tokens and keys are longer; `1`, `yes`, `v2` are not secrets."""


class Redactor:
    """The run's secret values; `redactor(text)` replaces those of at least ECHO_MIN characters in a
    text the suite did not write itself (an explanation quoting a server or a library)."""

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
            # The token inside `Bearer <token>` or `Basic <base64>` may be echoed without its scheme.
            scheme, _, token = secret.partition(" ")
            if token and scheme.isalpha():
                self.add(token)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if len(secret) >= ECHO_MIN:
                text = text.replace(secret, REDACTED)
        return text


def parse_header(raw: str) -> tuple[str, str]:
    """`"Name: value"` -> `("Name", "value")`; ValueError (never echoing the value) for anything else."""
    name, sep, value = raw.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name or any(c.isspace() for c in name):
        raise ValueError("--header expects 'Name: value' (a header name, a colon, then the value)")
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"--header {name!r}: a header name is letters, digits and !#$%&'*+-.^_`|~ only (RFC 9110 §5.1)")
    if any(not (" " <= c <= "~" or c == "\t") for c in value):
        # RFC 9110 §5.5: no CR, LF or other control character; non-ASCII is not sent reliably either
        raise ValueError(f"--header {name}: the value may hold only visible ASCII characters, spaces and tabs "
                         "(no line break, control character or non-ASCII letter); the value is not shown")
    return name, value


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2 token


def with_credentials(url: str, headers: Mapping[str, str], option: str) -> tuple[str, dict[str, str]]:
    """`url` without credentials and `headers` with the Basic header made of them; ValueError (naming
    `option`, no value) when both the URL and a header give Authorization."""
    bare, auth = split_credentials(url)
    if auth and any(name.lower() == "authorization" for name in headers):
        raise ValueError(f"{option} carries credentials and --header gives Authorization too; give one of them")
    return bare, {**auth, **headers}
