"""Credentials kept out of what the toolkit shows: URLs without their userinfo, the Basic header made of
it, and argparse's usage errors without the values they would echo.

Shared by the conformance suite (`--base-url`, `diff --against`) and the mock's validating proxy
(`--proxy URL`): a deployment's URL may carry `user:password@`, which is sent as the `Authorization:
Basic` header httpx would have made of it and shown nowhere.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit


def without_credentials(url: str) -> str:
    """`url` with any `user:password@` removed (the text as given when it is not a URL)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """`url` without its userinfo, and the `Authorization: Basic` header httpx makes of it (user and
    password percent-decoded, UTF-8); `(url, {})` when it carries none."""
    bare = without_credentials(url)
    if bare == url:
        return url, {}
    userinfo = urlsplit(url).netloc.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    pair = f"{unquote(user)}:{unquote(password)}".encode()
    return bare, {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def usage_text(message: str) -> str:
    """argparse's usage error without the values it would echo (an unknown option's argument, a
    mistyped `--heder 'Authorization: ...'`): option names stay, values go."""
    if message.startswith("unrecognized arguments:"):
        words = message.partition(":")[2].split()
        names = [word.split("=", 1)[0] for word in words if word.startswith("-")]
        return f"unrecognized arguments: {' '.join(names) or '(not options)'} (values not shown)"
    if message.startswith("ambiguous option:"):
        option, _, rest = message.partition(" could match ")
        return f"{option.split('=', 1)[0]} could match {rest}"
    return message
