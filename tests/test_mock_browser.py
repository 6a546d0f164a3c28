"""One real browser: a page on another loopback port drives session-mock with `fetch` in headless Chromium.

Debian's /usr/bin/chromium (installed by `make browser`, part of `make test`) is driven by
Playwright's Python package; Playwright's own browser download is never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mock_process import MockProcess
from tests.static_pages import serve_folder

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The page a frontend developer would write: every call is a cross-origin fetch to the mock.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>session-mock browser check</title></head>
<body><pre id="log"></pre><script>
async function drive(api) {
  const seen = {};
  const json = {"Content-Type": "application/json"};
  let r = await fetch(api + "/api/v1/session", {method: "POST"});
  const created = await r.json();
  seen.create = {status: r.status, body: created};
  const url = api + "/api/v1/session/" + created.sessionId;
  r = await fetch(url);
  seen.get = {status: r.status, body: await r.json()};
  r = await fetch(url, {method: "HEAD"});
  seen.head = {status: r.status};
  r = await fetch(url, {method: "PATCH", headers: json, body: JSON.stringify({data: {step: "discovery"}})});
  seen.patch = {status: r.status, body: await r.json()};
  r = await fetch(url);
  seen.getAfterPatch = {status: r.status, body: await r.json()};
  r = await fetch(url, {method: "DELETE"});
  seen.delete = {status: r.status, body: await r.json()};
  r = await fetch(url, {method: "HEAD"});
  seen.headAfterDelete = {status: r.status};
  r = await fetch(api + "/api/v1/session", {method: "POST", headers: {"Prefer": "code=500"}});
  seen.forced = {status: r.status, body: await r.json(), applied: r.headers.get("Preference-Applied")};
  document.getElementById("log").textContent = JSON.stringify(seen, null, 2);
  return seen;
}
</script></body></html>
"""


@pytest.fixture()
def page_origin(tmp_path: Path) -> Iterator[str]:
    """A static page server on its own loopback port (a different origin from the mock)."""
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    with serve_folder(tmp_path) as port:
        yield f"http://localhost:{port}"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: run `make browser`")
def test_a_page_on_another_port_drives_the_mock_with_fetch_in_chromium(page_origin: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with MockProcess() as mock, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(page_origin + "/index.html")
            seen = page.evaluate("api => drive(api)", mock.base_url)

            sid = seen["create"]["body"]["sessionId"]
            assert seen["create"]["status"] == 201
            assert seen["get"] == {"status": 200, "body": {**seen["get"]["body"], "sessionId": sid, "data": {}}}
            assert seen["head"] == {"status": 204}
            assert seen["patch"]["status"] == 200 and seen["patch"]["body"]["sessionId"] == sid
            assert seen["getAfterPatch"]["body"]["data"] == {"step": "discovery"}
            assert seen["delete"] == {"status": 200, "body": {"message": "Session deleted successfully", "sessionId": sid}}
            assert seen["headAfterDelete"] == {"status": 404}
            assert seen["forced"] == {"status": 500, "body": {"detail": "Unable to create session"}, "applied": "code=500"}

            page.goto(mock.base_url + "/api/v1/ui/")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            assert page.locator(".opblock").count() >= 8
            shot = tmp_path / "swagger-ui.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
