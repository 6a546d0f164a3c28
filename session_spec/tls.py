"""Which certificate authorities to trust, which client certificate to show, and what a TLS failure
was, in one line: shared by the conformance suite (`--cacert`, `--cert`, `--key`) and the mock's
validating proxy (`--proxy-cacert`, `--proxy-cert`, `--proxy-key`).

    tls = Tls.from_options(cacert, cert, key)   # TlsError (one line) for a file that cannot be used
    httpx.Client(verify=tls.context())           # the suite's client, its probe, `diff --against`, the proxy

The CA bundle is, first found first: the option (`--cacert FILE`), then `SSL_CERT_FILE` (as httpx honours
it), then `REQUESTS_CA_BUNDLE` (as requests honours it), then the directory `SSL_CERT_DIR` (as httpx
honours it); with none of them, httpx's default (certifi's bundle). `--cert FILE` (with `--key FILE`
unless the key is in the same file) is the client certificate for deployments that require mutual TLS.
Messages name the options as the command spells them (`options="--proxy-"` for the proxy).
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
CA_DIRECTORY_VARIABLE = "SSL_CERT_DIR"


class TlsError(ValueError):
    """A CA bundle or client certificate cannot be used; one line naming the option or variable."""


@dataclass(frozen=True)
class Tls:
    """TLS settings: `cafile` or `capath` (and where it came from), client `cert` and `key`, and the
    prefix of the options that set them (`--` for `--cacert`, `--proxy-` for `--proxy-cacert`)."""

    cafile: str | None = None
    source: str = ""  # "--cacert", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE" or "SSL_CERT_DIR"
    cert: str | None = None
    key: str | None = None
    capath: str | None = None
    options: str = "--"

    @classmethod
    def from_options(cls, cacert: str | None = None, cert: str | None = None, key: str | None = None,
                     environ: Mapping[str, str] | None = None, options: str = "--") -> Tls:
        """The settings for these options and the environment; TlsError if a file cannot be used."""
        env = os.environ if environ is None else environ
        if key and not cert:
            raise TlsError(f"{options}key needs {options}cert (the client certificate it belongs to)")
        cafile, source = cacert, f"{options}cacert" if cacert else ""
        for variable in CA_VARIABLES:
            if not cafile and env.get(variable):
                cafile, source = env[variable], variable
        capath = None if cafile else env.get(CA_DIRECTORY_VARIABLE) or None
        tls = cls(cafile, source or (CA_DIRECTORY_VARIABLE if capath else ""), cert, key, capath, options)
        tls.context()  # every file read now: a bad one is a usage error before anything is sent
        return tls

    def context(self) -> ssl.SSLContext:
        return _context(self)

    def describe(self) -> str:
        """Whom these settings trust and which client certificate they show, in words (file names, never contents)."""
        if self.cafile:
            trust = f"trusting CA bundle {self.cafile} ({self.source})"
        elif self.capath:
            trust = f"trusting the CA certificates in {self.capath} ({self.source})"
        else:
            trust = f"trusting certifi's CA bundle (httpx's default; {self.options}cacert FILE or SSL_CERT_FILE gives another)"
        if not self.cert:
            return trust
        return f"{trust}; client certificate {self.cert}" + (f" (key {self.key})" if self.key else "")

    def requests_kwargs(self) -> dict[str, object]:
        """The same settings for a `requests` call (what Schemathesis sends itself)."""
        kwargs: dict[str, object] = {"verify": self.cafile or self.capath or True}
        if self.cert:
            kwargs["cert"] = (self.cert, self.key) if self.key else self.cert
        return kwargs


@functools.cache
def _context(tls: Tls) -> ssl.SSLContext:
    if tls.cafile or tls.capath:
        try:
            context = ssl.create_default_context(cafile=tls.cafile, capath=tls.capath)
        except (OSError, ssl.SSLError) as exc:
            kind = "a CA bundle" if tls.cafile else "a directory of CA certificates"
            raise TlsError(f"{tls.source} {tls.cafile or tls.capath}: cannot be used as {kind} ({_why(exc)})") from None
    else:
        context = httpx.create_ssl_context(trust_env=False)  # certifi's bundle
    if tls.cert:
        try:
            context.load_cert_chain(tls.cert, tls.key)
        except (OSError, ssl.SSLError) as exc:
            why = _why(exc)
            if not tls.key and _holds_no_key(tls.cert):
                why = f"it holds no private key: give {tls.options}key FILE"
            raise TlsError(f"{tls.options}cert {tls.cert}{f' / {tls.options}key {tls.key}' if tls.key else ''}: "
                           f"cannot be used as a client certificate ({why})") from None
    return context


def _holds_no_key(path: str) -> bool:
    try:
        with open(path, "rb") as pem:
            return b"PRIVATE KEY-----" not in pem.read()
    except OSError:
        return False


def _why(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, ssl.SSLError):
        return (exc.reason or str(exc)).replace("_", " ").lower()  # NO_CERTIFICATE_OR_CRL_FOUND: "no certificate or crl found"
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)


def _texts(exc: BaseException) -> str:
    """The messages of `exc` and the exceptions it was raised from."""
    seen: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 8:
        seen.append(str(current))
        current = current.__cause__ or current.__context__
    return " | ".join(seen)


def tls_cause(exc: BaseException, host: str = "", options: str = "--") -> str | None:
    """What a TLS failure was, in words (unknown CA, name mismatch, plain HTTP on the other end, a client
    certificate required or refused), or None when `exc` is no TLS failure; `options` as in `Tls`."""
    text = _texts(exc)
    lower = text.lower()
    if "certificate_verify_failed" in lower or "certificate verify failed" in lower:
        if "hostname mismatch" in lower or "ip address mismatch" in lower:
            return f"the server's certificate is not valid for {host or 'this host'} (name mismatch)"
        if "expired" in lower:
            return "the server's certificate has expired"
        if "local issuer" in lower or "self-signed" in lower or "self signed" in lower:
            return f"the server's certificate is signed by an unknown CA (trust that CA with {options}cacert FILE)"
        detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip(" :|")
        return f"the server's certificate was refused ({detail or 'certificate verify failed'})"
    if "wrong_version_number" in lower or "record layer failure" in lower or "packet length too long" in lower \
            or "http_request" in lower:
        return "the other end does not speak TLS (plain HTTP there? try http://)"
    if "certificate required" in lower or "certificate_required" in lower:
        return f"the server requires a client certificate (give {options}cert FILE and {options}key FILE)"
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
        return tls_cause(exc, host, tls.options)
    except OSError:
        pass
    else:
        if tls.cert:
            return ("the server closed the connection right after the TLS handshake without answering: "
                    f"it may not accept the client certificate given with {tls.options}cert")
        return ("the server closed the connection right after the TLS handshake without answering: "
                f"it probably requires a client certificate (give {tls.options}cert FILE and {tls.options}key FILE)")
    return None
