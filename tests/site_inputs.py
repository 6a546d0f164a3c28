"""What the docs-site tests build from: the guides and the run reports, and a reader of the pages' links.

- `FIXTURE_GUIDES`: minimal placeholders with the real guides' file names (tests/fixtures/guides), for the
  checks of rendering details (anchors, rewritten links, escaping) that must not depend on prose.
- `GUIDES`: the repository's docs/ when it exists, else the placeholders: what the browser tests click
  through (the front page must reach the CI recipe, the mock's options and a property's meaning).
- `REPORTS`: real `session-contract run --report-json` reports (tests/results_fixtures.py made them):
  staging twice (the mock: conformant), production twice (the production-like double: failures, known
  deviations, rates, lag windows, throttling, canaries), dev once (inconclusive).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
FIXTURE_GUIDES = FIXTURES / "guides"
REAL_DOCS = REPO / "docs"
GUIDES = REAL_DOCS if REAL_DOCS.is_dir() and any(REAL_DOCS.rglob("*.md")) else FIXTURE_GUIDES
GUIDES_NAME = "the repository's docs/" if GUIDES == REAL_DOCS else "the placeholder guides of tests/fixtures/guides (no docs/ yet)"
RESULTS = FIXTURES / "results"
REPORTS = sorted(RESULTS.glob("*.json"))


class Links(HTMLParser):
    """Every href and src of a page, and every id it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append((tag, value))
            if name == "id" and value:
                self.ids.add(value)


def page_links(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def broken_links(site: Path) -> list[str]:
    """Every relative link of every page that leads to no file, or to no id of the page it names."""
    broken: list[str] = []
    ids: dict[Path, set[str]] = {}
    for page in sorted(site.rglob("*.html")):
        for tag, url in page_links(page).links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith("/"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            where = f"{page.relative_to(site)}: <{tag}> {url}"
            if not target.is_file() or not target.is_relative_to(site.resolve()):
                broken.append(f"{where} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html" and not parts.fragment.startswith("/"):
                if target not in ids:
                    ids[target] = page_links(target).ids
                if unquote(parts.fragment) not in ids[target]:
                    broken.append(f"{where} (no id {parts.fragment!r} there)")
    return broken


def network_references(html: str) -> list[str]:
    """Scripts, stylesheets, images, fonts or frames a page would load from the network."""
    loads = re.findall(r"""<(?:script|img|iframe|source|link)\b[^>]*\b(?:src|href)=["']?((?:https?:)?//[^"' >]+)""", html)
    return loads + re.findall(r"""(?:@import|url\()\s*["']?((?:https?:)?//[^"')]+)""", html)
