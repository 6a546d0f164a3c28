"""The built site, opened from file:// in headless Debian Chromium with every network request
refused: Swagger UI and the contract page render every operation of the spec; the navigation works
from every depth; the results pages show the matrix, a deployment's findings and its plots; and from
the front page a user reaches the CI recipe, the mock's options and a property's meaning in at most
two clicks each.

The guides are the repository's docs/ when it exists, else the placeholders of tests/fixtures/guides
(same file names, a "GitHub Actions" heading in ci.md): `GUIDES_NAME` says which, and the click test
prints it (pytest -s) and names it in its failure messages."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import playwright.sync_api as playwright_api
import pytest

from contract_tests.properties import PROPERTIES
from session_docs.site import build_site
from session_spec import load_spec, operations
from tests.site_inputs import GUIDES, GUIDES_NAME, REPORTS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
SPEC = load_spec()

pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and shutil.which("chromium") is None, reason="Debian chromium missing: run `make browser`")


class OfflinePage:
    """A Chromium page that serves file:// URLs and aborts (and records) every other request."""

    def __init__(self, page: playwright_api.Page) -> None:
        self.page = page
        self.refused: list[str] = []
        self.errors: list[str] = []
        page.route("**/*", self._route)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _route(self, route: playwright_api.Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser-site")
    build_site(out, docs=GUIDES, results=REPORTS)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_api.Browser]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def offline_page(browser: playwright_api.Browser) -> Iterator[OfflinePage]:
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    yield OfflinePage(context.new_page())
    context.close()


def test_swagger_ui_from_file_url_renders_every_operation_without_network(site: Path, offline_page: OfflinePage, tmp_path: Path) -> None:
    page = offline_page.page
    page.goto((site / "swagger.html").as_uri())
    page.wait_for_selector(".opblock .opblock-summary-path", timeout=20_000)
    rendered = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('.opblock-summary-path').getAttribute('data-path'),
            block.querySelector('.opblock-summary-description').textContent.trim(),
        ])""",
    )
    page.screenshot(path=str(tmp_path / "swagger-ui.png"), full_page=True)
    expected = [[op.method.upper(), op.path, op.summary] for op in operations(SPEC)]
    assert sorted(rendered) == sorted(expected)
    assert page.inner_text(".info .title").startswith(SPEC["info"]["title"])
    assert offline_page.refused == [] and offline_page.errors == []


def test_contract_page_from_file_url_shows_every_operation_and_status(site: Path, offline_page: OfflinePage, tmp_path: Path) -> None:
    page = offline_page.page
    page.goto((site / "contract.html").as_uri())
    page.screenshot(path=str(tmp_path / "contract.png"), full_page=True)
    for op in operations(SPEC):
        section = page.locator(f"section#{op.operation_id}")
        assert section.locator("h2").inner_text().split()[:2] == [op.method.upper(), op.path]
        shown = section.locator(".response .status").all_inner_texts()
        assert shown == [response.status for response in op.responses]
    assert offline_page.refused == [] and offline_page.errors == []


def here(page: playwright_api.Page, site: Path) -> str:
    """The page's path in the site, with its #fragment if any (`reference/session-mock.html`, `ci.html#github-actions`)."""
    parts = urlsplit(page.url)
    path = Path(unquote(parts.path)).relative_to(site.resolve()).as_posix()
    return path + (f"#{parts.fragment}" if parts.fragment else "")


def test_swagger_uis_old_deep_links_to_index_html_still_lead_to_it(site: Path, offline_page: OfflinePage) -> None:
    page = offline_page.page
    first = operations(SPEC)[0]
    tag = (SPEC["paths"][first.path][first.method].get("tags") or ["default"])[0]
    page.goto((site / "index.html").as_uri() + f"#/{tag}/{first.operation_id}")
    page.wait_for_selector(".opblock.is-open", timeout=20_000)  # Swagger UI opened the operation the link names
    assert here(page, site) == f"swagger.html#/{tag}/{first.operation_id}"
    assert offline_page.refused == [] and offline_page.errors == []


# Every link from a page at the root and from one in each folder; from the pages of their own templates
# (the contract, Swagger UI) a few. (tests/test_docs_site.py checks every page's navigation statically.)
NAV_FROM = {"index.html": None, "reference/session-mock.html": None, "results/production.html": None,
            "contract.html": ("CI", "Results"), "swagger.html": ("session-mock", "Contract")}  # and the first link, home


def test_the_navigation_leads_everywhere_from_every_depth(site: Path, offline_page: OfflinePage) -> None:
    """A link of the navigation, clicked, opens the page it names (relative links from file://)."""
    page = offline_page.page
    clicked: list[str] = []
    for start, only in NAV_FROM.items():
        page.goto((site / start).as_uri())
        labels = page.locator("nav.site a").all_inner_texts()
        assert {"Contract", "Swagger UI", "Results", "CI", "session-mock", "properties"} <= set(labels), (start, labels)
        for index, label in enumerate(labels):
            if only is not None and label not in only and index != 0:
                continue
            if here(page, site) != start:
                page.goto((site / start).as_uri())
            link = page.locator("nav.site a").nth(index)
            expected = (site / start).parent.joinpath(str(link.get_attribute("href"))).resolve()
            link.click()
            page.wait_for_load_state("domcontentloaded")
            assert Path(unquote(urlsplit(page.url).path)) == expected, (start, label)
            assert page.locator("nav.site").count() == 1 and page.title()
            clicked.append(f"{start} -> {label}")
    assert len(clicked) >= 3 * 13 + 2 * 3, clicked
    assert offline_page.refused == [] and offline_page.errors == []


def test_the_results_matrix_and_a_deployments_page_from_file_url(site: Path, offline_page: OfflinePage, tmp_path: Path) -> None:
    page = offline_page.page
    page.goto((site / "results.html").as_uri())
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
    heads = page.locator("table.matrix th.deployment a").all_inner_texts()
    assert heads == ["dev", "production", "staging"]
    row = page.locator('tr[data-property="consistency.read-your-writes.create"] td')
    assert [text.split(maxsplit=1)[1] for text in row.all_inner_texts()] == ["inconclusive", "fail", "pass"]
    known = page.locator('tr[data-property="list.always-404"] td').nth(1)
    assert known.inner_text() == "≈ known" and "405" in str(known.get_attribute("title"))
    # a fail cell leads to that property on the deployment's page, and from there to the finding
    page.locator('tr[data-property="concurrency.double-delete"] td').nth(1).get_by_role("link").click()
    assert here(page, site) == "results/production.html#property-concurrency.double-delete"
    page.locator("#property-concurrency\\.double-delete").get_by_role("link", name="fail").click()
    finding = page.locator("#finding-concurrency\\.double-delete")
    assert finding.is_visible() and "a second DELETE of one id" in finding.locator("pre.explanation").inner_text()
    assert finding.locator("pre.reproduction").inner_text().startswith("curl -i -X DELETE ")
    script = finding.locator("details.script")
    assert not script.locator("pre").is_visible()
    script.locator("summary").click()
    assert script.locator("pre").inner_text().startswith("#!/usr/bin/env bash")
    plots = page.locator("svg.plot")
    assert plots.count() == 5
    for index in range(plots.count()):
        plots.nth(index).scroll_into_view_if_needed()
        box = plots.nth(index).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 60
    assert page.locator("table.history tr").count() == 3  # a head and two runs
    page.screenshot(path=str(tmp_path / "production.png"), full_page=True)
    page.get_by_role("link", name="All deployments").click()
    assert here(page, site) == "results.html"
    page.locator("table.matrix th.deployment").get_by_role("link", name="staging").click()
    assert here(page, site) == "results/staging.html" and page.locator("p.verdict").inner_text() == "verdict: conformant"
    assert offline_page.refused == [] and offline_page.errors == []


def reach(page: playwright_api.Page, site: Path, first: str, goal: Callable[[playwright_api.Page], bool], then: str) -> list[str]:
    """From the front page: click the link named like `first`; when that is not the goal yet, click a link named
    like `then` on the page it opened. The pages passed through (two clicks at most), or a failure."""
    page.goto((site / "index.html").as_uri())
    path = ["index.html"]
    for name in (first, then):
        link = page.locator("main").get_by_role("link", name=re.compile(name, re.IGNORECASE)).first
        assert link.count(), f"no link like {name!r} on {path[-1]} (guides: {GUIDES_NAME})"
        link.click()
        page.wait_for_load_state()
        path.append(here(page, site))
        if goal(page):
            return path
    raise AssertionError(f"not reached in two clicks: {' -> '.join(path)} (guides: {GUIDES_NAME})")


def in_view(page: playwright_api.Page, selector: str) -> bool:
    """Whether the element's top lies in the window (the browser scrolled to it)."""
    box = page.locator(selector).first.bounding_box()
    height = page.viewport_size["height"] if page.viewport_size else 0
    return box is not None and 0 <= box["y"] < height


def test_from_the_front_page_the_ci_recipe_the_mock_options_and_a_property_meaning_are_two_clicks_away(site: Path, offline_page: OfflinePage) -> None:
    page = offline_page.page
    print(f"guides clicked through: {GUIDES_NAME}")

    def ci_recipe(p: playwright_api.Page) -> bool:
        fragment = urlsplit(p.url).fragment
        if not p.url.split("#")[0].endswith("/ci.html") or not fragment:
            return False
        heading = p.locator(f"[id='{fragment}']")
        return heading.count() == 1 and "GitHub Actions" in heading.inner_text() and in_view(p, f"[id='{fragment}']")

    def mock_options(p: playwright_api.Page) -> bool:
        return p.url.split("#")[0].endswith("/reference/session-mock.html") and "--port" in p.locator("main").inner_text()

    pid = "persistence.until-delete"

    def property_meaning(p: playwright_api.Page) -> bool:
        text = " ".join(p.locator("main").inner_text().split())
        return pid in text and PROPERTIES[pid] in text

    assert len(reach(page, site, "GitHub Actions", ci_recipe, then="GitHub Actions")) <= 3
    assert len(reach(page, site, "session-mock", mock_options, then="option")) <= 3
    assert len(reach(page, site, "propert", property_meaning, then="propert")) <= 3
    assert offline_page.refused == [] and offline_page.errors == []
