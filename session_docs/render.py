"""HTML pages of the site: Jinja2 with autoescaping; Markdown of the spec through markdown-it with raw HTML off.

Every page but Swagger UI's extends `base.html`: the navigation (relative links, so the site works from
file://) and the one stylesheet, `site.css`."""

from __future__ import annotations

import http
import json
import posixpath
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from session_spec import operations, ref_name

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown(text: str) -> Markup:
    """Markdown as HTML; any HTML in the text is escaped, never passed through."""
    return Markup(_MARKDOWN.render(text))


def as_json(value: Any) -> str:
    """An example value as indented JSON (escaped by the template)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def schema_label(schema: dict[str, Any]) -> str:
    """A schema's component name, or its type when it is inline."""
    name = ref_name(schema)
    if name:
        return name
    label = str(schema.get("type", "any"))
    return f"{label} ({schema['format']})" if schema.get("format") else label


def reason(status: str) -> str:
    """The standard reason phrase of a status code ('' for ranges such as 4XX and `default`)."""
    try:
        return http.HTTPStatus(int(status)).phrase
    except ValueError:
        return ""


def script_safe_json(spec: dict[str, Any]) -> Markup:
    """The spec as JSON that can sit inside a <script> element: no `<`, `>` or `&` can close it."""
    text = json.dumps(spec, ensure_ascii=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return Markup(text)


@dataclass(frozen=True)
class NavLink:
    label: str
    page: str  # the target's path from the site's root, e.g. reference/session-mock.html


@dataclass(frozen=True)
class NavGroup:
    label: str  # "" for links that stand alone
    links: tuple[NavLink, ...]


def relative(target: str, current: str) -> str:
    """`target` (a path from the site's root, maybe with a #fragment) as a link from the page `current`."""
    path, hash_, fragment = target.partition("#")
    link = posixpath.relpath(path, posixpath.dirname(current) or ".") if path else ""
    return link + (hash_ + fragment if hash_ else "")


_ENVIRONMENT = Environment(
    loader=PackageLoader("session_docs", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)
_ENVIRONMENT.globals.update(markdown=markdown, as_json=as_json, schema_label=schema_label, reason=reason)


class Pages:
    """Renders the site's pages, each with the same navigation and a link to `site.css` relative to it."""

    def __init__(self, site_title: str, nav: tuple[NavGroup, ...]) -> None:
        self.site_title = site_title
        self.nav = nav

    def render(self, template: str, page: str, **context: Any) -> str:
        """`template` rendered as the page `page` (its path from the site's root)."""
        def rel(target: str) -> str:
            return relative(target, page)

        return _ENVIRONMENT.get_template(template).render(
            page=page, rel=rel, nav=self.nav, site_title=self.site_title, **context
        )

    def contract(self, spec: dict[str, Any], properties: dict[str, str]) -> str:
        """contract.html: every operation with its statuses, their meaning and examples, the semantics, and
        the properties the conformance suite checks."""
        return self.render("contract.html", "contract.html", spec=spec, operations=operations(spec), properties=properties)

    def swagger_ui(self, spec: dict[str, Any]) -> str:
        """swagger.html: Swagger UI over the spec embedded in the page (it works from file://)."""
        info = spec.get("info", {})
        return self.render("swagger.html", "swagger.html", title=info.get("title", "API"), version=info.get("version", ""),
                           spec_json=script_safe_json(spec))
