"""Which certificate authorities the suite trusts, which client certificate it shows, and what a TLS
failure was, in one line.

    tls = Tls.from_options(cacert, cert, key)   # TlsError (one line) for a file that cannot be used
    httpx.Client(verify=tls.context())           # the run's client, the probe and `diff --against`

The CA bundle is, first found first: `--cacert FILE`, then `SSL_CERT_FILE` (as httpx honours it), then
`REQUESTS_CA_BUNDLE` (as requests honours it); with none of them, httpx's default (certifi, and
`SSL_CERT_DIR`). `--cert FILE` (with `--key FILE` unless the key is in the same file) is the client
certificate for deployments that require mutual TLS.
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


class TlsError(ValueError):
    """A CA bundle or client certificate cannot be used; one line naming the option or variable."""


@dataclass(frozen=True)
class Tls:
    """The run's TLS settings: `cafile` (and where it came from), client `cert` and `key`."""

    cafile: str | None = None
    source: str = ""  # "--cacert", "SSL_CERT_FILE" or "REQUESTS_CA_BUNDLE"
    cert: str | None = None
    key: str | None = None

    @classmethod
    def from_options(cls, cacert: str | None = None, cert: str | None = None, key: str | None = None,
                     environ: Mapping[str, str] | None = None) -> Tls:
        """The settings for these options and the environment; TlsError if a file cannot be used."""
        env = os.environ if environ is None else environ
        if key and not cert:
            raise TlsError("--key needs --cert (the client certificate it belongs to)")
        cafile, source = cacert, "--cacert" if cacert else ""
        for variable in CA_VARIABLES:
            if not cafile and env.get(variable):
                cafile, source = env[variable], variable
        tls = cls(cafile, source, cert, key)
        tls.context()  # every file read now: a bad one is a usage error before anything is sent
        return tls

    def context(self) -> ssl.SSLContext:
        return _context(self)

    def requests_kwargs(self) -> dict[str, object]:
        """The same settings for a `requests` call (what Schemathesis sends itself)."""
        kwargs: dict[str, object] = {"verify": self.cafile or True}
        if self.cert:
            kwargs["cert"] = (self.cert, self.key) if self.key else self.cert
        return kwargs


@functools.cache
def _context(tls: Tls) -> ssl.SSLContext:
    if tls.cafile:
        try:
            context = ssl.create_default_context(cafile=tls.cafile)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"{tls.source} {tls.cafile}: cannot be used as a CA bundle ({_why(exc)})") from None
    else:
        context = httpx.create_ssl_context()
    if tls.cert:
        try:
            context.load_cert_chain(tls.cert, tls.key)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"--cert {tls.cert}{f' / --key {tls.key}' if tls.key else ''}: cannot be used as a client certificate "
                           f"({_why(exc)})") from None
    return context


def _why(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)


def _texts(exc: BaseException) -> str:
    """The messages of `exc` and the exceptions it was raised from."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 8:
        seen.append(str(current))
        current = current.__cause__ or current.__context__
    return " | ".join(seen)


def tls_cause(exc: BaseException, host: str = "") -> str | None:
    """What a TLS failure was, in words (unknown CA, name mismatch, plain HTTP on the other end, a client
    certificate required or refused), or None when `exc` is no TLS failure."""
    text = _texts(exc)
    lower = text.lower()
    if "certificate_verify_failed" in lower or "certificate verify failed" in lower:
        if "hostname mismatch" in lower or "ip address mismatch" in lower:
            return f"the server's certificate is not valid for {host or 'this host'} (name mismatch)"
        if "expired" in lower:
            return "the server's certificate has expired"
        if "local issuer" in lower or "self-signed" in lower or "self signed" in lower:
            return "the server's certificate is signed by a CA this run does not trust (unknown CA: give it with --cacert FILE)"
        detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip(" :|")
        return f"the server's certificate was refused ({detail or 'certificate verify failed'})"
    if "wrong_version_number" in lower or "record layer failure" in lower or "packet length too long" in lower \
            or "http_request" in lower:
        return "the other end does not speak TLS (plain HTTP there? try http://)"
    if "certificate required" in lower or "certificate_required" in lower:
        return "the server requires a client certificate (give --cert FILE and --key FILE)"
    if "alert unknown ca" in lower or "alert bad certificate" in lower or "alert_unknown_ca" in lower \
            or "alert_bad_certificate" in lower:
        return "the server refused the client certificate (alert from the server: bad certificate or unknown CA)"
    if "[ssl" in lower or "ssl:" in lower:
        return f"TLS handshake failed ({text.splitlines()[0][:200]})"
    return None


def closed_after_handshake(host: str, port: int, tls: Tls, timeout: float = 5.0) -> str | None:
    """Why an https server hung up without answering, when it did so right after a TLS handshake that
    succeeded: the common case is a server that wants a client certificate and drops the connection
    instead of sending an alert (uvicorn, Python's asyncio). None when the handshake itself fails
    or the server answers (the first attempt's failure then says more)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                tls.context().wrap_socket(raw, server_hostname=host) as conn:
            conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("ascii"))
            if conn.recv(1):
                return None
    except ssl.SSLError as exc:
        return tls_cause(exc, host)
    except OSError:
        pass
    else:
        if tls.cert:
            return ("the server closed the connection right after the TLS handshake without answering: "
                    "it may not accept the client certificate given with --cert")
        return ("the server closed the connection right after the TLS handshake without answering: "
                "it probably requires a client certificate (give --cert FILE and --key FILE)")
    return None
