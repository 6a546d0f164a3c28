"""session-mock for teams in real headless Chromium (Debian's /usr/bin/chromium, via Playwright).

Loud refusals (issue 21, item 7): a `fetch` with `method: "patch"` (fetch upper-cases only DELETE,
GET, HEAD, OPTIONS, POST and PUT) is refused by the browser with a console message naming the
method, not "does not have HTTP ok status"; a refused origin's request shows in the mock's log.
Behind an ingress (item 2): Swagger UI served through a prefix-stripping proxy loads its spec
and tries the API under the prefix. State per worker (item 4): two browser contexts, each with its
own `X-Mock-Namespace` (Playwright's `extraHTTPHeaders`), have their own sessions and reset. Every request that does not go to loopback fails (a dead proxy).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server import create_mock_app
from reference_impl.serving import LiveServer
from reference_impl.store import SessionRecord
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


class PrefixStrippingProxy:
    """An ingress in miniature: serves `upstream` under `prefix`, strips it and says so in X-Forwarded-*."""

    def __init__(self, upstream: str, prefix: str) -> None:
        self.upstream, self.prefix = upstream, prefix

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if not scope["path"].startswith(self.prefix + "/"):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not under the prefix"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k not in (b"host", b"content-length", b"accept-encoding")}
        host = dict(scope["headers"]).get(b"host", b"").decode()
        headers.update({"X-Forwarded-Prefix": self.prefix, "X-Forwarded-Host": host, "X-Forwarded-Proto": "http"})
        target = self.upstream + scope["path"][len(self.prefix):] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        async with httpx.AsyncClient() as client:
            answer = await client.request(scope["method"], target, headers=headers, content=body)
        kept = [(k.encode(), v.encode()) for k, v in answer.headers.items() if k not in ("content-length", "content-encoding", "transfer-encoding")]
        await send({"type": "http.response.start", "status": answer.status_code, "headers": kept})
        await send({"type": "http.response.body", "body": answer.content})


@needs_chromium
def test_swagger_ui_behind_a_prefix_stripping_proxy_loads_the_spec_and_tries_the_api_through_the_prefix() -> None:
    from playwright.sync_api import sync_playwright

    with LiveServer(create_mock_app(forwarded_allow_ips=["127.0.0.1"])) as mock, LiveServer(PrefixStrippingProxy(mock.base_url, "/mock")) as ingress:
        public = f"http://localhost:{ingress.port}/mock"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *LOOPBACK_ONLY], headless=True)
            try:
                page = browser.new_page()
                page.goto(public + "/api/v1/ui/")
                page.wait_for_selector(".opblock-summary-path", timeout=30_000)
                text = page.content()
                servers = page.evaluate("url => fetch(url).then(r => r.json()).then(spec => spec.servers)", public + "/api/v1/openapi.json")
                created = page.evaluate(
                    "base => fetch(base + '/api/v1/session', {method: 'POST'}).then(r => r.status)", servers[0]["url"]
                )
            finally:
                browser.close()
    assert "Failed to load API definition" not in text
    assert servers[0]["url"] == public
    assert created == 201


@needs_chromium
def test_two_browser_contexts_in_parallel_each_have_their_own_sessions_and_reset(page_port: int) -> None:
    from playwright.sync_api import sync_playwright

    fixture = SessionRecord(uuid.UUID("3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e"), {"user": "fixture"})
    page_origin = f"http://localhost:{page_port}/index.html"
    create = "api => fetch(api + '/api/v1/session', {method: 'POST'}).then(r => r.json()).then(b => b.sessionId)"
    status = "url => fetch(url).then(r => r.status)"
    with LiveServer(create_mock_app(fixtures=[fixture])) as mock, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *LOOPBACK_ONLY], headless=True)
        try:
            pages = []
            for worker in ("w1", "w2"):
                context = browser.new_context(extra_http_headers={"X-Mock-Namespace": worker})
                page = context.new_page()
                page.goto(page_origin)
                pages.append(page)
            one, two = pages
            # Both workers start their requests before either reads: they run side by side.
            one.evaluate("api => { window.created = fetch(api + '/api/v1/session', {method: 'POST'}).then(r => r.json()); }", mock.base_url)
            sid_two = two.evaluate(create, mock.base_url)
            sid_one = one.evaluate("() => window.created.then(b => b.sessionId)")
            api = mock.base_url + "/api/v1/session/"
            cross = [one.evaluate(status, api + sid_two), two.evaluate(status, api + sid_one)]
            own = [one.evaluate(status, api + sid_one), two.evaluate(status, api + sid_two)]
            fixtures = [page.evaluate(status, api + str(fixture.session_id)) for page in pages]
            one.evaluate("api => fetch(api + '/__mock/reset', {method: 'POST'}).then(r => r.status)", mock.base_url)
            after = [one.evaluate(status, api + sid_one), two.evaluate(status, api + sid_two), one.evaluate(status, api + str(fixture.session_id))]
        finally:
            browser.close()
    assert cross == [404, 404] and own == [200, 200] and fixtures == [200, 200]
    assert after == [404, 200, 200]
