"""HTML pages from the spec: Jinja2 with autoescaping, Markdown through markdown-it with raw HTML off."""

from __future__ import annotations

import http
import json
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


_ENVIRONMENT = Environment(
    loader=PackageLoader("session_docs", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)
_ENVIRONMENT.globals.update(markdown=markdown, as_json=as_json, schema_label=schema_label, reason=reason)


def contract_page(spec: dict[str, Any]) -> str:
    """contract.html: every operation with its statuses, their meaning and examples, and the semantics."""
    return _ENVIRONMENT.get_template("contract.html").render(spec=spec, operations=operations(spec))


def swagger_ui_page(spec: dict[str, Any]) -> str:
    """index.html: Swagger UI over the spec embedded in the page (it works from file://)."""
    info = spec.get("info", {})
    return _ENVIRONMENT.get_template("index.html").render(
        title=info.get("title", "API"), version=info.get("version", ""), spec_json=script_safe_json(spec)
    )
