"""Text a deployment sent, made safe for every output: terminals, Markdown, XML and shells.

A deployment may echo anything into its answers (a NUL byte, an ANSI escape, a lone surrogate from
a JSON `\\ud800` escape). Every line the suite writes passes through `printable`; every `curl` line
quotes its words with `shell_word`, which falls back to bash's `$'...'` form (ANSI-C quoting) when a
word carries bytes a plain single-quoted word cannot.
"""

from __future__ import annotations

import shlex
import unicodedata

_NAMED = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _unsafe(char: str, keep_newlines: bool) -> bool:
    if keep_newlines and char in "\n\t":
        return False
    category = unicodedata.category(char)
    return category in ("Cc", "Cs", "Co", "Cn") or char in "\u2028\u2029"


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with control characters, lone surrogates and unassigned code points written as
    `\\xHH`, `\\uHHHH` or `\\UHHHHHHHH` escapes; newlines and tabs kept unless `keep_newlines` is False.
    The result is valid UTF-8, valid in XML 1.0 text, and moves no terminal cursor."""
    if all(not _unsafe(char, keep_newlines) for char in text):
        return text
    out = []
    for char in text:
        if not _unsafe(char, keep_newlines):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def plain_bytes(data: bytes) -> bool:
    """Whether `data` is UTF-8 text with no control characters (tabs and newlines allowed)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(not _unsafe(char, keep_newlines=True) for char in text)


def printf_feed(data: bytes) -> str:
    """A POSIX `printf` command whose output is exactly `data` (any bytes, NUL included, which no
    shell word can carry): printable ASCII as itself, every other byte as a 3-digit octal escape."""
    out = []
    for byte in data:
        char = chr(byte)
        out.append(char if 0x20 <= byte < 0x7F and char not in "\\'%" else f"\\{byte:03o}")
    return "printf '" + "".join(out) + "'"


def shell_word(word: str | bytes) -> str:
    """One shell word that bash reads back as exactly `word` (bytes, or text encoded as UTF-8).

    Printable text gets POSIX single quotes (`shlex.quote`); anything with control bytes, invalid
    UTF-8 or lone surrogates gets `$'...'` with `\\xHH` escapes (bash, zsh and ksh read it)."""
    raw = word if isinstance(word, bytes) else word.encode("utf-8", "surrogatepass")
    text = raw.decode("utf-8", "surrogateescape")
    if all(not _unsafe(char, keep_newlines=False) for char in text):
        return shlex.quote(text)
    out = ["$'"]
    for char in text:
        if char in _NAMED:
            out.append(_NAMED[char])
        elif _unsafe(char, keep_newlines=False):
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogateescape" if 0xDC80 <= ord(char) <= 0xDCFF else "surrogatepass"))
        else:
            out.append(char)
    out.append("'")
    return "".join(out)
