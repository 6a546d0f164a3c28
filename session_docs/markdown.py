"""Reading the project's Markdown as markdown-it-py parses it: heading anchors, links and fenced blocks.

Anchors follow GitHub's rule, so a link such as `reference/session-mock.md#--port` works on GitHub and
in the generated site alike: the heading's text (without its Markdown: backticks, emphasis, link
syntax) in lower case, every character that is not a letter, a digit, a space, `-` or `_` dropped,
spaces turned into `-`; a repeated anchor on one page gets `-1`, `-2`, ... appended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

PARSER = MarkdownIt("commonmark").enable("table")
"""CommonMark with GitHub's tables: the Markdown the guides are written in."""


def escape(text: str) -> str:
    """Plain text (a `--help` line, a property's statement) as Markdown that renders as that text:
    `*`, `<`, `>`, brackets, backticks and backslashes escaped, and `_` unless it sits inside a word
    (`session_mock_ns` stays as written), so `http://localhost:<port>` keeps its `<port>`."""
    return _SPECIAL.sub(lambda found: "".join("\\" + char for char in found.group(0)), text)


_SPECIAL = re.compile(r"[\\`*<>\[\]]|(?<![^\W_])_+|_+(?![^\W_])")


def slug(text: str) -> str:
    """GitHub's anchor for a heading whose plain text is `text` (`--port`, `session-contract-run`, `healthok`)."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # the heading's plain text
    anchor: str  # unique on its page
    line: int  # 1-based


@dataclass(frozen=True)
class Fence:
    info: str  # the whole info string, e.g. "sh test"
    content: str
    line: int  # 1-based line of the opening fence


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    line: int  # 1-based line of the paragraph, table or list item that holds it


def plain_text(inline: Token) -> str:
    """The text of an inline token as a reader sees it: code spans keep their content, markup goes."""
    return "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline", "softbreak", "html_inline"))


def headings(markdown: str) -> list[Heading]:
    """Every heading of a page, in order, with its anchor (duplicates numbered as GitHub numbers them)."""
    tokens = PARSER.parse(markdown)
    seen: dict[str, int] = {}
    found = []
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        text = plain_text(tokens[index + 1])
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.append(Heading(int(token.tag[1]), text, base if count == 0 else f"{base}-{count}", (token.map or [0])[0] + 1))
    return found


def anchors(markdown: str) -> set[str]:
    return {heading.anchor for heading in headings(markdown)}


def fences(markdown: str) -> list[Fence]:
    """Every fenced code block, with its info string."""
    return [Fence(token.info.strip(), token.content, (token.map or [0])[0] + 1) for token in PARSER.parse(markdown) if token.type == "fence"]


def links(markdown: str) -> list[Link]:
    """Every link of a page (not images), with its target as written."""
    found = []
    for token in PARSER.parse(markdown):
        if token.type != "inline":
            continue
        children = token.children or []
        for index, child in enumerate(children):
            if child.type == "link_open":
                text = []
                for inner in children[index + 1:]:
                    if inner.type == "link_close":
                        break
                    text.append(inner.content)
                found.append(Link(str(child.attrs.get("href", "")), "".join(text), (token.map or [0])[0] + 1))
    return found
