"""A private CA made in the test (trustme) and the https stand-ins served with its certificates, shared by the
TLS tests of the suite (tests/test_contract_tls.py) and of the mock's proxy (tests/test_mock_proxy_tls.py).

Stand-ins, each the reference on uvicorn on loopback: `tls` (a certificate for localhost and 127.0.0.1),
`mutual` (the same, and it requires a client certificate signed by the client CA), `misnamed` (a
certificate for another name) and `plain` (no TLS at all).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from reference_impl import create_app
from reference_impl.serving import LiveServer


@dataclass
class Pki:
    ca: Path  # the private CA that signed the servers' certificates
    client_cert: Path  # a client certificate signed by the CA the mTLS server trusts
    client_key: Path
    stranger_cert: Path  # a client certificate (key included) from a CA nobody trusts
    client_ca: Path  # the CA the mTLS server trusts for client certificates (not the servers' CA)


def make_pki(where: Path) -> Pki:
    ca, client_ca, stranger_ca = trustme.CA(), trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(where / "ca.pem"))
    client_ca.cert_pem.write_to_path(str(where / "client-ca.pem"))
    client = client_ca.issue_cert("ci-client@example.org")
    client.cert_chain_pems[0].write_to_path(str(where / "client.pem"))
    client.private_key_pem.write_to_path(str(where / "client.key"))
    stranger_ca.issue_cert("stranger@example.org").private_key_and_cert_chain_pem.write_to_path(str(where / "stranger.pem"))
    for name, hosts in {"server": ("127.0.0.1", "localhost"), "elsewhere": ("elsewhere.example.org",)}.items():
        issued = ca.issue_cert(*hosts)
        issued.private_key_and_cert_chain_pem.write_to_path(str(where / f"{name}.pem"))
    return Pki(where / "ca.pem", where / "client.pem", where / "client.key", where / "stranger.pem", where / "client-ca.pem")


def https_server(pki: Pki, certificate: str = "server", mutual: bool = False) -> LiveServer:
    options: dict[str, Any] = {"ssl_certfile": str(pki.ca.parent / f"{certificate}.pem")}
    if mutual:
        options |= {"ssl_ca_certs": str(pki.client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return LiveServer(create_app(), **options)


@contextmanager
def stand_ins(pki: Pki) -> Iterator[dict[str, int]]:
    """The four stand-ins running; their ports by name (`plain`, `tls`, `mutual`, `misnamed`)."""
    plain, tls, mutual, misnamed = LiveServer(create_app()), https_server(pki), https_server(pki, mutual=True), https_server(pki, "elsewhere")
    with plain, tls, mutual, misnamed:
        yield {name: server.port for name, server in {"plain": plain, "tls": tls, "mutual": mutual, "misnamed": misnamed}.items()}
