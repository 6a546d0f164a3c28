"""Browser contexts CORS must cover, in real headless Chromium (Debian's /usr/bin/chromium, via Playwright).

1. A credentialed `fetch` (`credentials: "include"`) from a dev server on another port: it works while
   `--cors-credentials` is on (the default) and is blocked by Chromium when it is off.
2. A page Chromium sees as *public* calling the mock on loopback. The page's own loopback port is
   declared public with Chromium's `--ip-address-space-overrides` switch. Chromium 142 and later
   replaced Private Network Access preflights with Local Network Access: the request needs the
   `local-network-access` permission (granted here through Playwright) and then goes through an
   ordinary CORS preflight. This Chromium build never sends `Access-Control-Request-Private-Network`
   (the header name is not in its binary), so the Private Network Access preflight itself is
   replayed over HTTP with the headers Chrome's implementation of the WICG spec sent
   (tests/test_mock_cors.py); should a Chromium send it here, this test checks the answer too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server import create_mock_app
from reference_impl.serving import LiveServer
from tests.static_pages import serve_folder
from tests.test_mock_browser import CHROMIUM, CHROMIUM_ARGS

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>session-mock CORS check</title></head><body><script>
async function credentialed(api) {
  try {
    const json = {"Content-Type": "application/json"};
    let r = await fetch(api + "/api/v1/session", {method: "POST", credentials: "include"});
    const created = await r.json();
    const url = api + "/api/v1/session/" + created.sessionId;
    r = await fetch(url, {method: "PATCH", credentials: "include", headers: json, body: JSON.stringify({data: {step: 1}})});
    const patched = r.status;
    r = await fetch(url, {credentials: "include"});
    return {create: created.sessionId, patch: patched, get: r.status, data: (await r.json()).data};
  } catch (error) {
    return {error: String(error)};
  }
}
async function jsonPost(api) {
  try {
    const r = await fetch(api + "/api/v1/session", {method: "POST", headers: {"Content-Type": "application/json", "Prefer": "return=minimal"}});
    return {status: r.status};
  } catch (error) {
    return {error: String(error)};
  }
}
</script></body></html>
"""


class RequestRecorder:
    """ASGI wrapper noting the method and headers of every HTTP request that reaches the mock."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, dict[str, str]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}))
        await self.app(scope, receive, send)


@pytest.fixture()
def page_port(tmp_path: Path) -> Iterator[int]:
    """A static page server on its own loopback port: another origin than the mock's."""
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    with serve_folder(tmp_path) as port:
        yield port


needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: run `make browser`")


@needs_chromium
def test_a_credentialed_fetch_from_a_dev_server_works_and_is_blocked_without_cors_credentials(page_port: int) -> None:
    from playwright.sync_api import sync_playwright

    with LiveServer(create_mock_app()) as mock, LiveServer(create_mock_app(cors_credentials=False)) as strict, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"http://localhost:{page_port}/index.html")
            seen = page.evaluate("api => credentialed(api)", mock.base_url)
            assert "error" not in seen, seen
            assert seen["patch"] == 200 and seen["get"] == 200 and seen["data"] == {"step": 1}
            refused = page.evaluate("api => credentialed(api)", strict.base_url)
            assert refused == {"error": "TypeError: Failed to fetch"}
        finally:
            browser.close()


@needs_chromium
def test_a_page_chromium_sees_as_public_reaches_the_mock_on_loopback(page_port: int) -> None:
    from playwright.sync_api import sync_playwright

    page_origin = f"http://127.0.0.1:{page_port}"
    recorder = RequestRecorder(create_mock_app(cors_origins=[page_origin]))
    args = [*CHROMIUM_ARGS, f"--ip-address-space-overrides=127.0.0.1:{page_port}=public"]
    with LiveServer(recorder) as mock, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        try:
            # Without the permission Chromium refuses: proof that it sees the page as public.
            denied = browser.new_context()
            page = denied.new_page()
            page.goto(page_origin + "/index.html")
            assert "error" in page.evaluate("api => jsonPost(api)", mock.base_url)
            denied.close()

            allowed = browser.new_context()
            allowed.grant_permissions(["local-network-access"], origin=page_origin)
            page = allowed.new_page()
            page.goto(page_origin + "/index.html")
            recorder.seen.clear()
            assert page.evaluate("api => jsonPost(api)", mock.base_url) == {"status": 201}
        finally:
            browser.close()
    preflights = [headers for method, headers in recorder.seen if method == "OPTIONS"]
    assert preflights and all(headers["origin"] == page_origin for headers in preflights)
    # (A Chromium that still sends the PNA header got `Access-Control-Allow-Private-Network: true`:
    # otherwise the POST above would have failed.)
