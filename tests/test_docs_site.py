"""`session-docs build`: a self-contained site (front page, guides, contract page, Swagger UI, results) whose
contract page shows every operation, status and example, whose guides are the Markdown of docs/ with
working links, and whose results pages show what the run reports say. In-process builds; the CLI's
one-line errors are tested through the real command in tests/test_docs_cli.py."""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from contract_tests.properties import PROPERTIES
from session_docs.cli import main as session_docs
from session_docs.guides import slug
from session_docs.results import deployment_slug
from session_docs.site import SITE_FILES, SiteError, build_site
from session_spec import DEFAULT_SPEC_PATH, load_spec, operations
from tests.site_inputs import FIXTURE_GUIDES, REAL_DOCS, REPORTS, RESULTS, broken_links, network_references, page_links

SPEC = load_spec()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The placeholder guides and every fixture report."""
    out = tmp_path_factory.mktemp("site")
    assert session_docs(["build", str(out), "--docs", str(FIXTURE_GUIDES), "--results", *map(str, REPORTS)]) == 0
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
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), f"{page} names something on the network"
        assert network_references(html) == []


def test_published_spec_is_the_contract_as_yaml_and_json(site: Path) -> None:
    assert (site / "openapi.yaml").read_text(encoding="utf-8") == DEFAULT_SPEC_PATH.read_text(encoding="utf-8")
    assert json.loads((site / "openapi.json").read_text(encoding="utf-8")) == SPEC
    assert yaml.safe_load((site / "openapi.yaml").read_text(encoding="utf-8")) == SPEC


def test_swagger_ui_page_embeds_the_spec_instead_of_fetching_it(site: Path) -> None:
    html = (site / "swagger.html").read_text(encoding="utf-8")
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
    index = (out / "swagger.html").read_text(encoding="utf-8")
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


# --- the guides --------------------------------------------------------------------------------------------------

GUIDE_PAGES = ["mock.html", "ci.html", "maintainer.html", "benchmarks.html", "architecture.html", "reference/session-mock.html",
               "reference/session-contract.html", "reference/session-docs.html", "reference/properties.html"]


def test_every_guide_becomes_a_page_beside_the_contract_and_swagger_ui(site: Path) -> None:
    for page in GUIDE_PAGES:
        assert (site / page).is_file(), page
    assert "The CI engineer" in page_text(site / "ci.html")
    manifest = (site / ".session-docs-site").read_text(encoding="utf-8").splitlines()
    assert {*GUIDE_PAGES, *SITE_FILES, "results/production.html"} <= set(manifest)


def test_every_relative_link_of_every_page_leads_to_a_file_and_an_anchor_there(site: Path) -> None:
    assert broken_links(site) == []


def test_links_between_guides_are_rewritten_to_pages_keeping_fragments(site: Path) -> None:
    for page in site.rglob("*.html"):
        for _, url in page_links(page).links:
            assert not urlsplit(url).path.endswith(".md"), f"{page.relative_to(site)}: {url}"
    assert "reference/session-mock.html#options" in hrefs(site / "mock.html")
    assert "../mock.html" in hrefs(site / "reference/session-mock.html")
    assert "reference/properties.html#properties" in hrefs(site / "ci.html")
    assert "maintainer.html#the-site-and-diff" in hrefs(site / "ci.html")
    maintainer = hrefs(site / "maintainer.html")
    assert "index.html" in maintainer and "openapi.yaml" in maintainer  # ../README.md and ../openapi.yaml: the site's own


def hrefs(page: Path) -> list[str]:
    return [url for tag, url in page_links(page).links if tag == "a"]


def test_headings_carry_github_style_anchors(site: Path) -> None:
    ids = page_links(site / "ci.html").ids
    assert {"github-actions", "gitlab-ci", "known-deviations", "known-deviations-1"} <= ids
    assert "the-site-and-diff" in page_links(site / "maintainer.html").ids
    assert "packages-session_spec-mock_server--friends" in page_links(site / "architecture.html").ids
    assert slug("What `--seed` does (v2.1)!") == "what---seed-does-v21"
    assert slug("Über die Sessions") == "über-die-sessions"


def test_tables_render_and_raw_html_is_shown_not_run(site: Path) -> None:
    benchmarks = (site / "benchmarks.html").read_text(encoding="utf-8")
    assert "<table>" in benchmarks and "<td>mock, PATCH</td>" in benchmarks
    maintainer = (site / "maintainer.html").read_text(encoding="utf-8")
    assert "<script>alert" not in maintainer and "&lt;script&gt;alert(1)&lt;/script&gt;" in maintainer
    assert "generated-block marker" not in maintainer  # an HTML comment vanishes


def test_every_page_has_the_navigation_and_the_one_stylesheet(site: Path) -> None:
    stylesheets = {p.relative_to(site).as_posix() for p in site.rglob("*.css")}
    assert stylesheets == {"site.css", "swagger-ui/swagger-ui.css"}
    assert "url(" not in (site / "site.css").read_text(encoding="utf-8")
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == len(GUIDE_PAGES) + 4 + 3  # front, contract, swagger, results; 3 deployments
    for page in pages:
        html = page.read_text(encoding="utf-8")
        nav = re.search(r'<nav class="site".*?</nav>', html, re.DOTALL)
        assert nav, page
        up = "../" * (len(page.relative_to(site).parts) - 1)
        links = re.findall(r'href="([^"]+)"', nav.group(0))
        for target in ("index.html", "contract.html", "swagger.html", "results.html", *GUIDE_PAGES):
            expected = posixpath.relpath(target, posixpath.dirname(page.relative_to(site).as_posix()) or ".")
            assert expected in links, (page, target)
        assert f'href="{up}site.css"' in html, page


def test_front_page_leads_to_the_ci_recipe_the_mock_options_and_property_meanings(site: Path) -> None:
    front = hrefs(site / "index.html")
    assert "ci.html#github-actions" in front and "ci.html#gitlab-ci" in front
    assert "reference/session-mock.html" in front and "reference/properties.html" in front
    assert "contract.html#properties" in front and "swagger.html" in front and "results.html" in front
    html = (site / "index.html").read_text(encoding="utf-8")
    assert 'location.replace("swagger.html" + location.hash)' in html  # Swagger UI's old deep links (index.html#/...)


def test_contract_page_says_what_every_property_means(site: Path) -> None:
    ids = page_links(site / "contract.html").ids
    assert {f"property-{pid}" for pid in PROPERTIES} <= ids
    text = page_text(site / "contract.html")
    assert all(statement.replace("`", "") in text.replace("`", "") for statement in PROPERTIES.values())


def test_a_guide_whose_page_the_site_writes_itself_is_refused(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(FIXTURE_GUIDES, docs)
    (docs / "index.md").write_text("# Index\n", encoding="utf-8")
    with pytest.raises(SiteError, match=r"index\.md: its page index\.html is one the site writes itself"):
        build_site(tmp_path / "site", docs=docs)
    assert not (tmp_path / "site").exists()


def test_links_to_repository_files_lead_to_copies_and_links_the_site_cannot_follow_are_noted(tmp_path: Path) -> None:
    """A guide linking a file beside docs/ (../deviations/production.yaml) gets the site's copy of it; a link
    to a file that is not there (a guide of the wheel's copy) stays as text, without a link, and is noted."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "deviations").mkdir()
    (tmp_path / "deviations" / "production.yaml").write_text("list.always-404: 405\n", encoding="utf-8")
    (docs / "a.md").write_text("# A\n\n[gone](gone.md) [file](../Makefile) [web](https://example.org/x.md) [here](#a) "
                               "[deviations](../deviations/production.yaml#L1) [secret](../.env)\n", encoding="utf-8")
    notes: list[str] = []
    build_site(tmp_path / "site", docs=docs, note=notes.append)
    assert notes == ["a.md: link 'gone.md' names a guide that does not exist",
                     "a.md: link '../Makefile' leads out of the guides folder to a file the site does not have; shown as text",
                     "a.md: link '../.env' leads out of the guides folder to a file the site does not have; shown as text"]
    html = (tmp_path / "site" / "a.html").read_text(encoding="utf-8")
    assert 'href="https://example.org/x.md"' in html and 'href="#a"' in html
    assert 'href="repository/deviations/production.yaml#L1"' in html
    assert (tmp_path / "site" / "repository" / "deviations" / "production.yaml").read_text(encoding="utf-8") == "list.always-404: 405\n"
    assert '<a class="repository-file" title="a file of the repository, not part of this site">file</a>' in html


def test_a_rebuild_replaces_its_own_files_and_removes_pages_no_longer_built(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(out, docs=FIXTURE_GUIDES, results=REPORTS)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    build_site(out, docs=FIXTURE_GUIDES, results=[r for r in REPORTS if r.name.startswith("staging")])
    assert (out / "results" / "staging.html").is_file() and not (out / "results" / "production.html").exists()
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # not ours: kept
    build_site(out, docs=None)
    assert not (out / "results").exists() and not (out / "reference").exists() and not (out / "ci.html").exists()
    assert (out / "results.html").is_file() and (out / "index.html").is_file()


def test_a_folder_holding_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("keep me", encoding="utf-8")
    with pytest.raises(SiteError, match="holds other files"):
        build_site(tmp_path, docs=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]


def test_the_site_may_not_be_written_into_the_guides(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(FIXTURE_GUIDES, docs)
    with pytest.raises(SiteError, match="is inside the guides folder"):
        build_site(docs / "site", docs=docs)


# --- the results pages ----------------------------------------------------------------------------------------------


class _Matrix(HTMLParser):
    """The results matrix: column heads (text) and, per property row, the data-outcome of each cell."""

    def __init__(self) -> None:
        super().__init__()
        self.heads: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._head: list[str] | None = None
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "th" and attr.get("class") == "deployment":
            self._head = []
        elif tag == "tr" and attr.get("data-property"):
            self._row = str(attr["data-property"])
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None and "data-outcome" in attr:
            self.rows[self._row].append(str(attr["data-outcome"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._head is not None:
            self.heads.append(re.sub(r"\s+", " ", " ".join(self._head)).strip())
            self._head = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._head is not None:
            self._head.append(data)


@pytest.fixture(scope="module")
def matrix(site: Path) -> _Matrix:
    parser = _Matrix()
    parser.feed((site / "results.html").read_text(encoding="utf-8"))
    return parser


def report(name: str) -> dict:
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def test_results_matrix_has_a_column_per_deployment_headed_by_its_newest_run(matrix: _Matrix) -> None:
    assert [head.split()[0] for head in matrix.heads] == ["dev", "production", "staging"]
    for head, newest in zip(matrix.heads, ("dev.json", "production.json", "staging.json"), strict=True):
        run = report(newest)
        date = datetime.fromisoformat(run["finishedAt"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        assert f"{date} seed {run['seed']} session-contract {run['tool']['version']}" in head, head
    assert "seed 2 " in matrix.heads[1] and "2 runs" in matrix.heads[1]  # production-older.json ran with seed 1
    assert "seed 11 " in matrix.heads[2] and "NOT conformant" not in matrix.heads[2]


def test_results_matrix_cells_are_the_newest_runs_outcomes(matrix: _Matrix) -> None:
    assert list(matrix.rows) == [pid for pid in PROPERTIES if pid in matrix.rows]  # the contract's order
    assert set(matrix.rows) == {p["id"] for name in ("staging.json", "production.json", "dev.json") for p in report(name)["properties"]}
    for column, name in enumerate(("dev.json", "production.json", "staging.json")):
        outcomes = {p["id"]: p["outcome"] for p in report(name)["properties"]}
        for pid, cells in matrix.rows.items():
            assert cells[column] == outcomes.get(pid, "not run"), (name, pid)
    production = {pid: cells[1] for pid, cells in matrix.rows.items()}
    assert production["list.always-404"] == "known" and production["consistency.read-your-writes.create"] == "fail"
    assert production["patch.edge-cases"] == "not checked" and production["health.ok"] == "pass"
    assert matrix.rows["consistency.read-your-writes.create"][0] == "inconclusive"
    assert matrix.rows["get.shape"][0] == "not run"
    assert {cells[2] for cells in matrix.rows.values()} == {"pass"}


def test_a_deployment_page_explains_every_finding_with_its_reproduction(site: Path) -> None:
    html = (site / "results" / "production.html").read_text(encoding="utf-8")
    newest = report("production.json")
    findings = [p for p in newest["properties"] if p["outcome"] in ("fail", "known", "inconclusive")]
    assert len(findings) >= 8
    for finding in findings:
        section = re.search(rf'<section class="finding [^"]*" id="finding-{re.escape(finding["id"])}">(.*?)</section>', html, re.DOTALL)
        assert section, finding["id"]
        body = unescape(section.group(1))
        assert finding["explanation"] in body and finding["knownReason"] in body
        assert f'<code class="language-sh">{finding["reproduction"]}</code>' in body
        if finding["script"]:
            assert f'<code class="language-bash">{finding["script"]}</code>' in body
    assert "<script>" not in html.split("</header>", 1)[1]  # the scripts are text


def test_a_deployment_page_shows_rates_windows_throttling_canaries_and_history(site: Path) -> None:
    text = page_text(site / "results" / "production.html")
    newest = report("production.json")
    for p in newest["properties"]:
        for m in p["measurements"]:
            assert f"{m['k']} of {m['n']}" in text
            assert f"{100 * m['low95']:.1f} % to {100 * m['high95']:.1f} %" in text
    html = (site / "results" / "production.html").read_text(encoding="utf-8")
    table = html.split('<table class="history">', 1)[1].split("</table>", 1)[0]
    rows = [[unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL) if "<td" in row]
    older = report("production-older.json")
    assert [(row[1], row[2], row[5]) for row in rows] == [("NOT conformant", "2", "production.json"), ("NOT conformant", "1", "production-older.json")]
    assert rows[1][0] == datetime.fromisoformat(older["finishedAt"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert "3 canaries" in text or "3 planted" in text
    svgs = inline_svgs(site / "results" / "production.html")
    titles = [svg.findtext("{http://www.w3.org/2000/svg}title") for svg in svgs]
    assert titles == ["Read-your-writes: writes not visible at once (rate, 95 % interval)",
                      "Races: samples that broke the rule (rate, 95 % interval)",
                      "Lag windows per write kind (median, p95, max)",
                      "Waiting for throttling gateways, run by run (seconds)",
                      "Age of the canaries each run checked (s)"]
    assert inline_svgs(site / "results" / "staging.html")  # a conformant run has rates too
    assert "measurement inconclusive" in page_text(site / "results" / "dev.html")


def inline_svgs(page: Path) -> list[ET.Element]:
    """Each <svg> of the page, parsed as XML on its own (it must be well-formed)."""
    found = re.findall(r"<svg\b.*?</svg>", page.read_text(encoding="utf-8"), re.DOTALL)
    elements = [ET.fromstring(text) for text in found]
    for element in elements:
        assert element.tag == "{http://www.w3.org/2000/svg}svg" and element.get("viewBox")
    return elements


def test_results_page_without_reports_says_how_to_add_them(tmp_path: Path) -> None:
    build_site(tmp_path / "site", docs=None)
    text = page_text(tmp_path / "site" / "results.html")
    assert "This build holds no runs" in text and "--results" in text


def test_reports_name_text_that_is_escaped_and_labels_that_become_file_names(tmp_path: Path) -> None:
    hostile = report("dev.json")
    hostile["deployment"]["label"] = "https://ops@staging.example.com/<b>blue</b>"
    hostile["properties"][1]["explanation"] = "<script>alert('x')</script>"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile), encoding="utf-8")
    build_site(tmp_path / "site", docs=None, results=[path])
    page = tmp_path / "site" / "results" / "https-ops-staging-example-com-b-blue-b.html"
    html = page.read_text(encoding="utf-8")
    assert "<b>blue" not in html and "&lt;b&gt;blue&lt;/b&gt;" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(" in html
    assert deployment_slug("   ") == "deployment" and deployment_slug("Staging (EU)") == "staging-eu"


def test_a_property_this_toolkit_does_not_know_is_shown_without_a_link_to_nowhere(tmp_path: Path) -> None:
    newer = report("dev.json")  # a report of a newer tool, with a property this one has never heard of
    newer["properties"].append({**newer["properties"][0], "id": "future.new-property"})
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(newer), encoding="utf-8")
    build_site(tmp_path / "site", docs=None, results=[path])
    shown = (tmp_path / "site" / "results" / "dev.html").read_text(encoding="utf-8")
    assert "<code>future.new-property</code>" in shown
    for page in [tmp_path / "site" / "results.html", *(tmp_path / "site" / "results").glob("*.html")]:
        assert "contract.html#property-future.new-property" not in page.read_text(encoding="utf-8"), page


@pytest.mark.skipif(not REAL_DOCS.is_dir(), reason="no docs/ in this checkout yet: the placeholder guides are tested above")
def test_the_repositorys_guides_build_with_every_link_resolving(tmp_path: Path) -> None:
    notes: list[str] = []
    build_site(tmp_path, docs=REAL_DOCS, results=REPORTS, note=notes.append)
    assert notes == []
    assert broken_links(tmp_path) == []
    for page in tmp_path.rglob("*.html"):
        assert not any(urlsplit(url).path.endswith(".md") for _, url in page_links(page).links), page
