"""session-mock for teams in real headless Chromium (Debian's /usr/bin/chromium, via Playwright).

Loud refusals (issue 21, item 7): a `fetch` with `method: "patch"` (fetch upper-cases only DELETE,
GET, HEAD, OPTIONS, POST and PUT) is refused by the browser with a console message naming the
method, not "does not have HTTP ok status"; a refused origin's request shows in the mock's log.
Every request that does not go to loopback fails (a dead proxy).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server import create_mock_app
from reference_impl.serving import LiveServer
from tests.static_pages import serve_folder
from tests.test_mock_browser import CHROMIUM, CHROMIUM_ARGS

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>session-mock teams check</title></head><body><script>
async function attempt(url, options) {
  try {
    const r = await fetch(url, options);
    return {status: r.status};
  } catch (error) {
    return {error: String(error)};
  }
}
</script></body></html>
"""
# Every request that does not go to loopback is sent to a closed port as its proxy (Chromium never
# proxies loopback), so it fails: Playwright's `route` cannot do this here, since with routing on it
# answers CORS preflights itself and the mock's preflight answers would never reach the browser.
LOOPBACK_ONLY = ["--proxy-server=http://127.0.0.1:9"]

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: run `make browser`")


@pytest.fixture()
def page_port(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    with serve_folder(tmp_path) as port:
        yield port


@needs_chromium
def test_chromium_names_a_lower_case_method_and_the_mock_logs_every_refusal(page_port: int, caplog: pytest.LogCaptureFixture) -> None:
    from playwright.sync_api import sync_playwright

    page_origin = f"http://localhost:{page_port}"
    with (
        caplog.at_level(logging.WARNING, logger="session_mock.cors"),
        LiveServer(create_mock_app()) as mock,
        LiveServer(create_mock_app(cors_origins=["http://localhost:1"])) as strict,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *LOOPBACK_ONLY], headless=True)
        try:
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.goto(page_origin + "/index.html")
            url = mock.base_url + "/api/v1/session/123e4567-e89b-42d3-a456-426614174000"
            options = {"method": "patch", "headers": {"Content-Type": "application/json"}, "body": '{"data": {}}'}
            lower = page.evaluate("([url, options]) => attempt(url, options)", [url, options])
            upper = page.evaluate("([url, options]) => attempt(url, options)", [url, {**options, "method": "PATCH"}])
            refused = page.evaluate("url => attempt(url, {})", strict.base_url + "/health")
            outside = page.evaluate("url => attempt(url, {})", "http://example.com/")
            page.wait_for_timeout(200)  # console messages arrive asynchronously
        finally:
            browser.close()
    assert lower == {"error": "TypeError: Failed to fetch"}
    assert upper == {"status": 404}
    assert refused == outside == {"error": "TypeError: Failed to fetch"}
    assert any("Method patch is not allowed" in line for line in console), console
    assert not any("HTTP ok status" in line for line in console), console
    lines = [record.getMessage() for record in caplog.records]
    assert any("'patch'" in line and "case-sensitive" in line and page_origin in line for line in lines), lines
    assert any(page_origin in line and "GET /health" in line and "hides the answer" in line for line in lines), lines
