"""A real browser meets a backend without CORS: directly it cannot, through `session-mock --proxy` it can.

The backend is `session-mock --profile production --no-cors` (production's answers, no CORS headers);
a page on another loopback origin calls it with `fetch` in headless Debian Chromium, first directly
(the browser blocks it), then through a proxying mock, which adds CORS and reports the
production differences it sees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mock_process import MockProcess
from tests.test_mock_browser import CHROMIUM, CHROMIUM_ARGS, page_origin  # noqa: F401 (a fixture)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>session-mock proxy check</title></head>
<body><script>
async function drive(backend, proxy) {
  const seen = {};
  try {
    await fetch(backend + "/api/v1/session", {method: "POST"});
    seen.direct = "reached";
  } catch (error) {
    seen.direct = error.name;
  }
  let r = await fetch(proxy + "/api/v1/session", {method: "POST"});
  const created = await r.json();
  seen.create = {status: r.status, body: created};
  const url = proxy + "/api/v1/session/" + created.sessionId;
  r = await fetch(url);
  seen.get = {status: r.status, body: await r.json()};
  r = await fetch(url, {method: "PATCH", headers: {"Content-Type": "application/json"}, body: JSON.stringify({data: {}})});
  seen.patch = {status: r.status, allow: r.headers.get("Allow")};
  r = await fetch(url, {method: "DELETE"});
  seen.delete = {status: r.status};
  r = await fetch(proxy + "/__mock/violations");
  seen.violations = await r.json();
  return seen;
}
</script></body></html>
"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: run `make browser`")
def test_a_page_on_another_origin_uses_a_cors_less_backend_through_the_proxy(page_origin: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    (tmp_path / "proxy.html").write_text(PAGE, encoding="utf-8")
    with MockProcess("--profile", "production", "--no-cors") as backend, MockProcess("--proxy", backend.base_url) as proxy, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(page_origin + "/proxy.html")
            seen = page.evaluate("([backend, proxy]) => drive(backend, proxy)", [backend.base_url, proxy.base_url])
        finally:
            browser.close()

    assert seen["direct"] == "TypeError"  # the browser refuses an answer without CORS headers
    assert seen["create"]["status"] == 201
    assert seen["get"]["status"] == 200 and "data" not in seen["get"]["body"]
    assert seen["patch"] == {"status": 405, "allow": "GET"}
    assert seen["delete"] == {"status": 200}
    kinds = seen["violations"]["byKind"]
    assert {"body.schema", "status.undocumented", "allow.mismatch"} <= set(kinds)
