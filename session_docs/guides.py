"""The Markdown guides under `docs/` as pages of the site: markdown-it with tables, GitHub-style heading
anchors, and links between guides rewritten from `.md` to `.html` (relative, so the site works from file://).

Where the guides come from: `GUIDES_PATH`, this package's `guides` folder. In the source tree that is a
link to the repository's `docs/`; a built wheel holds a copy (package data), so an installed toolkit finds
the same guides. `session-docs build --docs DIR` renders another folder.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

GUIDES_PATH = Path(__file__).resolve().parent / "guides"
"""The packaged guides (in the source tree: a link to the repository's docs/)."""

# The guides a user looks for first, in the navigation's order, with their short names; other guides follow
# by file name. Reference pages (docs/reference/) are a group of their own.
KNOWN_GUIDES = {
    "mock.md": "Mock server",
    "ci.md": "CI",
    "maintainer.md": "Maintainer",
    "benchmarks.md": "Benchmarks",
    "architecture.md": "Architecture",
}
REFERENCE_DIR = "reference"
KNOWN_REFERENCE = ("reference/session-mock.md", "reference/session-contract.md", "reference/session-docs.md", "reference/properties.md")
OUTSIDE_DIR = "repository"  # where the site keeps copies of repository files the guides link to
ASSET_SUFFIXES = (".png", ".svg")  # what the wheel ships besides the Markdown (pyproject.toml)
# Repository files outside docs/ that the site publishes too: a link to them goes to the site's copy.
OUTSIDE_DOCS = {"README.md": "index.html", "openapi.yaml": "openapi.yaml"}


class GuideError(ValueError):
    """A guide that cannot be read (one line: which file and why)."""


def slug(text: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation other than `-` and `_` dropped, each space a `-`."""
    kept = "".join(ch for ch in text.strip().lower() if ch.isalnum() or ch in "-_ ")
    return kept.replace(" ", "-")


def _inline_text(token: Token) -> str:
    """The plain text of an inline token (code spans keep their content, markup is dropped)."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass
class Guide:
    """One Markdown file of the guides folder and the page it becomes."""

    source: PurePosixPath  # relative to the guides folder, e.g. reference/session-mock.md
    text: str
    title: str = ""
    headings: list[Heading] = field(default_factory=list)
    html: Markup = Markup("")

    @property
    def page(self) -> str:
        """The page's path in the site, e.g. reference/session-mock.html."""
        return str(self.source.with_suffix(".html"))

    @property
    def is_reference(self) -> bool:
        return self.source.parts[0] == REFERENCE_DIR and len(self.source.parts) > 1

    @property
    def label(self) -> str:
        """The guide's name in the navigation."""
        if self.is_reference:
            return self.source.stem
        return KNOWN_GUIDES.get(str(self.source), self.title)

    def sort_key(self) -> tuple[int, int, str]:
        known = list(KNOWN_REFERENCE if self.is_reference else KNOWN_GUIDES)
        order = known.index(str(self.source)) if str(self.source) in known else len(known)
        return (1 if self.is_reference else 0, order, str(self.source))

    def find_heading(self, words: str) -> Heading | None:
        """The first heading whose text contains `words` (case-insensitive)."""
        return next((h for h in self.headings if words.lower() in h.text.lower()), None)


@dataclass
class GuideSet:
    """Every guide of a folder, rendered, and what the rendering noticed (links the site cannot follow)."""

    folder: Path | None
    guides: list[Guide] = field(default_factory=list)
    assets: list[PurePosixPath] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Files of the repository beside the guides folder that guides link to (../deviations/production.yaml):
    # their path in the site (under repository/) -> the file to copy there.
    outside: dict[str, Path] = field(default_factory=dict)

    def find(self, source: str) -> Guide | None:
        return next((g for g in self.guides if str(g.source) == source), None)

    @property
    def main(self) -> list[Guide]:
        return [g for g in self.guides if not g.is_reference]

    @property
    def reference(self) -> list[Guide]:
        return [g for g in self.guides if g.is_reference]


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable("table")

    def raw_html(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        """HTML comments (generated-block markers) vanish; any other raw HTML is shown as text, never run."""
        content = tokens[idx].content
        if content.strip().startswith("<!--") and content.strip().endswith("-->"):
            return ""
        return str(escape(content))

    md.add_render_rule("html_block", raw_html)
    md.add_render_rule("html_inline", raw_html)
    return md


_MD = _markdown()


def read_guides(folder: Path) -> GuideSet:
    """Read and render every `*.md` under `folder` (recursively); GuideError for a file that cannot be read."""
    found = GuideSet(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    for path in files:
        relative = PurePosixPath(path.relative_to(folder).as_posix())
        if path.suffix.lower() == ".md":
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise GuideError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})") from None
            except OSError as exc:
                raise GuideError(f"{path}: cannot read it: {exc.strerror or exc}") from None
            found.guides.append(Guide(relative, text))
        elif path.suffix.lower() in ASSET_SUFFIXES:
            found.assets.append(relative)
    found.guides.sort(key=Guide.sort_key)
    links = _Links(folder.resolve(), {str(g.source) for g in found.guides}, {str(a) for a in found.assets}, found.notes.append, found.outside)
    for guide in found.guides:
        _render(guide, links)
    return found


@dataclass
class _Links:
    """What rewriting the links of the guides needs to know, and where it reports."""

    folder: Path  # the guides folder, resolved: its parent is the repository (in a checkout)
    sources: set[str]
    assets: set[str]
    note: Callable[[str], None]
    outside: dict[str, Path]


def _render(guide: Guide, links: _Links) -> None:
    env: dict[str, Any] = {}
    tokens = _MD.parse(guide.text, env)
    used: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            text = _inline_text(tokens[index + 1])
            anchor = slug(text)
            if anchor in used:  # GitHub's rule for repeated headings: -1, -2, ...
                used[anchor] += 1
                anchor = f"{anchor}-{used[anchor]}"
            else:
                used[anchor] = 0
            token.attrSet("id", anchor)
            level = int(token.tag[1])
            guide.headings.append(Heading(level, text, anchor))
            if level == 1 and not guide.title:
                guide.title = text
        elif token.type == "inline":
            for child in _walk(token.children or []):
                if child.type == "link_open":
                    href = _rewrite(str(child.attrGet("href") or ""), guide, links)
                    if href is None:  # a repository file the site cannot have: the text stays, the link goes
                        child.attrs.pop("href", None)
                        child.attrSet("class", "repository-file")
                        child.attrSet("title", "a file of the repository, not part of this site")
                    else:
                        child.attrSet("href", href)
    guide.title = guide.title or guide.source.stem
    guide.html = Markup(_MD.renderer.render(tokens, _MD.options, env))


def _walk(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for token in tokens:
        out.append(token)
        out.extend(_walk(token.children or []))
    return out


def _rewrite(href: str, guide: Guide, links: _Links) -> str | None:
    """A link of a guide as the site needs it: `x.md#part` -> `x.html#part` (relative to the page); a link to the
    README or the spec -> the site's front page or its copy of the spec; a link to another file of the
    repository -> the site's copy of it (under repository/), or None (no link) when there is no such file."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith("#") or not parts.path:
        return href
    if parts.path.startswith("/"):
        links.note(f"{guide.source}: link {href!r} is absolute to a server root; it does not work from file://")
        return href
    here = posixpath.dirname(str(guide.source))
    target = posixpath.normpath(posixpath.join(here, parts.path))
    fragment = f"#{parts.fragment}" if parts.fragment else ""

    def from_here(page: str) -> str:
        return posixpath.relpath(page, here or ".")

    if target != ".." and not target.startswith("../"):
        if target.lower().endswith(".md"):
            if target not in links.sources:
                links.note(f"{guide.source}: link {href!r} names a guide that does not exist")
            return from_here(target[: -len(".md")] + ".html") + fragment
        if target not in links.assets:
            links.note(f"{guide.source}: link {href!r} names a file the site does not have")
        return href
    outside = target[len("../"):]
    if outside in OUTSIDE_DOCS:
        site_page = OUTSIDE_DOCS[outside]
        return from_here(site_page) + (fragment if site_page != "index.html" else "")
    source = (links.folder / ".." / outside).resolve()
    repository = links.folder.parent
    if (outside.startswith("../") or not source.is_relative_to(repository) or any(p.startswith(".") for p in PurePosixPath(outside).parts)
            or outside.lower().endswith(".md") or not source.is_file()):
        links.note(f"{guide.source}: link {href!r} leads out of the guides folder to a file the site does not have; shown as text")
        return None
    copy = f"{OUTSIDE_DIR}/{outside}"
    links.outside[copy] = source
    return from_here(copy) + fragment
