"""CORS settings for Starlette's `CORSMiddleware`: which browser origins may call the mock.

By default any `http://localhost:<port>` and `http://127.0.0.1:<port>` (and `[::1]`) origin, i.e.
any local dev server (Vite 5173, CRA 3000, Angular 4200, ...); `--cors-origin` replaces the default.
"""

from __future__ import annotations

from typing import Any

LOCAL_ORIGIN_REGEX = r"http://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?"
ALLOWED_METHODS = ["GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Headers a browser client may read from a cross-origin answer besides the CORS-safelisted ones.
EXPOSED_HEADERS = ["Allow", "Content-Length", "Location", "Preference-Applied", "Retry-After"]


def cors_options(origins: list[str] | None) -> dict[str, Any]:
    """Keyword arguments for `CORSMiddleware`: the explicit origins, or the local-dev-server default."""
    common: dict[str, Any] = {
        "allow_methods": ALLOWED_METHODS,
        "allow_headers": ["*"],
        "expose_headers": EXPOSED_HEADERS,
        "allow_credentials": False,
        "max_age": 600,
    }
    if origins:
        return {"allow_origins": list(origins), **common}
    return {"allow_origin_regex": LOCAL_ORIGIN_REGEX, **common}


def describe(origins: list[str] | None) -> str:
    return ", ".join(origins) if origins else "any http://localhost:<port> or http://127.0.0.1:<port>"
