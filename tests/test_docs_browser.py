"""The built site, opened from file:// in headless Debian Chromium with every network request
refused, renders every operation of the spec in Swagger UI and on the contract page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

from session_docs.site import build_site
from session_spec import load_spec, operations

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
    build_site(out)
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
    page.goto((site / "index.html").as_uri())
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
