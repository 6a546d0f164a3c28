"""The target of a run: the reference served on loopback when no `--base-url` is given, and the
probe that tells "nothing answers there" (exit 2) from "it answers, let us check it"."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from session_spec.tls import Tls, closed_after_handshake, tls_cause


class TargetUnreachable(Exception):
    """The target did not answer at all (connection refused, DNS, timeout) or TLS failed (unknown CA, name
    mismatch, plain HTTP on the other end, a client certificate required); one line for the user."""


def serve_reference() -> Any:
    """Start the reference implementation on an ephemeral loopback port; returns the started server
    (`.base_url`, `.stop()`)."""
    from reference_impl import create_app
    from reference_impl.serving import LiveServer

    return LiveServer(create_app()).start()


_PROBED: dict[tuple[str, tuple[tuple[str, str], ...], Tls], str] = {}


def probe(base_url: str, headers: Mapping[str, str], timeout: float = 5.0, transport: httpx.BaseTransport | None = None,
          tls: Tls | None = None) -> str:
    """Raise TargetUnreachable unless something answers HTTP at `base_url`; return a one-line hint
    (or "") when `base_url` looks like the API's path rather than the service root. Asks the
    target once per process (the CLI probes before anything starts, the engine again at set-up)."""
    tls = tls or Tls.from_options()
    key = (base_url, tuple(sorted(headers.items())), tls)
    if transport is not None:
        with httpx.Client(transport=transport, headers=dict(headers), timeout=timeout) as http:
            return _probe(http, base_url, tls)
    if key not in _PROBED:

        def ask() -> str:
            with httpx.Client(headers=dict(headers), timeout=timeout, verify=tls.context()) as http:
                return _probe(http, base_url, tls)

        _PROBED[key] = _bounded(ask, timeout, base_url)
    return _PROBED[key]


def _bounded(ask: Callable[[], str], timeout: float, base_url: str) -> str:
    """`ask()` on a daemon thread, waited for `timeout` s in all (connect, headers and every byte of the
    body: httpx's timeout bounds each read, so an answer dripping a byte a second would never end); the
    wait ends at once on Ctrl-C (KeyboardInterrupt in the waiting thread). The abandoned thread ends
    with the process."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = ask()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="contract-probe", daemon=True).start()
    if not done.wait(timeout):
        raise TargetUnreachable(f"target unreachable: {_shown(base_url)} (no complete answer to GET /health within {timeout:g} s)")
    if "error" in outcome:
        raise outcome["error"]
    return str(outcome["value"])


def _probe(http: httpx.Client, base_url: str, tls: Tls) -> str:
    root = base_url.rstrip("/")
    try:
        health = http.get(root + "/health")
        if root.endswith("/api/v1"):
            return (f"hint: --base-url ends in /api/v1, but the suite adds /api/v1 itself; "
                    f"try --base-url {root.removesuffix('/api/v1') or '/'}")
        if health.status_code == 404:
            probe_id = "00000000-0000-4000-8000-000000000000"
            api = http.get(f"{root}/api/v1/session/{probe_id}")
            named = api.status_code == 404 and probe_id in api.text
            if not named and api.status_code in (404, 405):
                return ("hint: --base-url answers 404 on /health and on /api/v1/session/{id}; "
                        "is it the service root (without /api/v1, with any gateway prefix)?")
    except httpx.TransportError as exc:
        url = httpx.URL(root)
        cause = tls_cause(exc, url.host)
        if cause is None and url.scheme == "https" and isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            cause = closed_after_handshake(url.host, url.port or 443, tls)
        if cause is not None:  # one line naming the cause: never a contract violation
            raise TargetUnreachable(f"TLS failed with {_shown(base_url)}: {cause}") from None
        reason = type(exc).__name__
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise TargetUnreachable(f"target unreachable: {_shown(base_url)} ({reason}{': ' + detail if detail else ''})") from None
    except httpx.InvalidURL as exc:
        raise TargetUnreachable(f"invalid --base-url {_shown(base_url)!r}: {exc}") from None
    return ""


def _shown(url: str) -> str:
    from session_spec.credentials import without_credentials

    return without_credentials(url)
