"""`session-docs build`: a self-contained site whose contract page shows every operation, status and example."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from session_docs.cli import main as session_docs
from session_docs.site import SITE_FILES
from session_spec import DEFAULT_SPEC_PATH, load_spec, operations

SPEC = load_spec()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert session_docs(["build", str(out)]) == 0
    return out


class _Text(HTMLParser):
    """The visible text of a page, entities decoded, with tags dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", "".join(parser.chunks))


def test_site_has_every_file_and_no_remote_reference(site: Path) -> None:
    for name in SITE_FILES:
        assert (site / name).is_file(), name
    for page in ("index.html", "contract.html"):
        html = (site / page).read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), f"{page} loads something from the network"


def test_published_spec_is_the_contract_as_yaml_and_json(site: Path) -> None:
    assert (site / "openapi.yaml").read_text(encoding="utf-8") == DEFAULT_SPEC_PATH.read_text(encoding="utf-8")
    assert json.loads((site / "openapi.json").read_text(encoding="utf-8")) == SPEC
    assert yaml.safe_load((site / "openapi.yaml").read_text(encoding="utf-8")) == SPEC


def test_swagger_ui_page_embeds_the_spec_instead_of_fetching_it(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    embedded = re.search(r'<script id="openapi-spec" type="application/json">(.*?)</script>', html, re.DOTALL)
    assert embedded and json.loads(embedded.group(1)) == SPEC
    assert "url:" not in html and "validatorUrl: null" in html


def test_contract_page_shows_every_operation_status_meaning_and_example(site: Path) -> None:
    text = page_text(site / "contract.html")
    for operation in operations(SPEC):
        assert f"{operation.method.upper()} {operation.path}" in text
        assert operation.summary in text and operation.operation_id in text
        for response in operation.responses:
            assert re.sub(r"\s+", " ", response.description.strip()).replace("`", "") in text, (operation.title, response.status)
            for body in response.bodies:
                for example in body.examples:
                    assert example.summary in text, (operation.title, response.status, example.name)
    html = (site / "contract.html").read_text(encoding="utf-8")
    for operation in operations(SPEC):
        for response in operation.responses:
            assert f'id="{operation.operation_id}-{response.status}"' in html


def test_contract_page_carries_the_semantics_bullets_of_info_description(site: Path) -> None:
    text = page_text(site / "contract.html")
    bullets = re.findall(r"^- (.+(?:\n  .+)*)", SPEC["info"]["description"], re.MULTILINE)
    assert len(bullets) >= 10
    for bullet in bullets:
        assert re.sub(r"\s+", " ", bullet).replace("`", "") in text


def test_contract_page_escapes_html_in_the_spec(tmp_path: Path) -> None:
    hostile = load_spec()
    operation = hostile["paths"]["/health"]["get"]
    operation["summary"] = "Health <script>alert('summary')</script>"
    operation["description"] = "Up <img src=x onerror=alert(1)> & running"
    operation["responses"]["200"]["content"]["application/json"]["examples"]["ok"]["summary"] = "</pre><b>bold</b>"
    spec_path = tmp_path / "hostile.yaml"
    spec_path.write_text(yaml.safe_dump(hostile, sort_keys=False), encoding="utf-8")
    out = tmp_path / "site"
    assert session_docs(["--spec", str(spec_path), "build", str(out)]) == 0
    contract = (out / "contract.html").read_text(encoding="utf-8")
    assert "<script>" not in contract and "<img" not in contract and "<b>bold" not in contract
    assert "&lt;script&gt;alert(" in contract and "&lt;img src=x" in contract and "&amp; running" in contract
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count("</script>") == 3  # spec, bundle, initialiser: the embedded spec cannot close its element early
    embedded = re.search(r'<script id="openapi-spec" type="application/json">(.*?)</script>', index, re.DOTALL)
    assert embedded and json.loads(embedded.group(1))["paths"]["/health"]["get"]["summary"] == operation["summary"]


def test_every_example_shown_on_the_contract_page_is_the_specs_value(site: Path) -> None:
    html = (site / "contract.html").read_text(encoding="utf-8")
    shown = [json.loads(unescape(block)) for block in re.findall(r"<pre>(.*?)</pre>", html, re.DOTALL)]
    expected = [
        example.value
        for operation in operations(SPEC)
        for body in [*(operation.request_body or []), *(b for response in operation.responses for b in response.bodies)]
        for example in body.examples
    ]
    assert expected and shown == expected
