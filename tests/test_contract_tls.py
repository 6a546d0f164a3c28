"""Deployments behind TLS with an internal CA, and mutual TLS: `run` and `diff` trust what they are told to
(`--cacert`, `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`), show a client certificate (`--cert`/`--key`), and
report a TLS failure as one line naming its cause, exit 2, never as a contract violation.

The CAs are made in the test (trustme); the servers are the reference on uvicorn with TLS on loopback.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from contract_tests.target import TargetUnreachable, probe
from contract_tests.tls import Tls, TlsError
from reference_impl import create_app
from reference_impl.serving import LiveServer

CHEAP = ["--property", "health.*", "--property", "create.*", "--max-examples", "2", "--seed", "1"]


@dataclass
class Pki:
    ca: Path  # the private CA that signed the servers' certificates
    client_cert: Path  # a client certificate signed by the CA the mTLS server trusts
    client_key: Path
    stranger_cert: Path  # a client certificate (key included) from a CA nobody trusts


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    where = tmp_path_factory.mktemp("pki")
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
    return Pki(where / "ca.pem", where / "client.pem", where / "client.key", where / "stranger.pem")


def https_server(pki: Pki, certificate: str = "server", mutual: bool = False) -> LiveServer:
    options: dict[str, Any] = {"ssl_certfile": str(pki.ca.parent / f"{certificate}.pem")}
    if mutual:
        options |= {"ssl_ca_certs": str(pki.ca.parent / "client-ca.pem"), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return LiveServer(create_app(), **options)


@pytest.fixture(scope="module")
def servers(pki: Pki) -> Iterator[dict[str, str]]:
    plain, tls, mutual, misnamed = LiveServer(create_app()), https_server(pki), https_server(pki, mutual=True), https_server(pki, "elsewhere")
    with plain, tls, mutual, misnamed:
        yield {name: f"https://127.0.0.1:{server.port}"
               for name, server in {"plain": plain, "tls": tls, "mutual": mutual, "misnamed": misnamed}.items()}


def contract(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "SSL_CERT_DIR")}
    return subprocess.run([sys.executable, "-m", "contract_tests.cli", *args], capture_output=True, text=True, timeout=180,
                          env={**clean, **(env or {})})


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "FAIL" not in done.stdout and "violated" not in done.stdout  # never a contract violation
    return done.stderr


def test_a_run_over_tls_with_a_private_ca_given_by_cacert_passes(pki: Pki, servers: dict[str, str]) -> None:
    done = contract("run", "--base-url", servers["tls"], "--cacert", str(pki.ca), *CHEAP)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: conformant" in done.stdout


def test_a_run_trusts_the_ca_in_ssl_cert_file_as_httpx_does(pki: Pki, servers: dict[str, str]) -> None:
    done = contract("run", "--base-url", servers["tls"], *CHEAP, env={"SSL_CERT_FILE": str(pki.ca)})
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_ca_bundle_comes_from_cacert_then_ssl_cert_file_then_requests_ca_bundle(pki: Pki, servers: dict[str, str]) -> None:
    assert probe(servers["tls"], {}, tls=Tls.from_options(environ={"REQUESTS_CA_BUNDLE": str(pki.ca)})) == ""
    assert Tls.from_options(str(pki.ca), environ={"SSL_CERT_FILE": "/nowhere"}).source == "--cacert"
    assert Tls.from_options(environ={"SSL_CERT_FILE": str(pki.ca), "REQUESTS_CA_BUNDLE": "/nowhere"}).source == "SSL_CERT_FILE"
    with pytest.raises(TargetUnreachable, match="unknown CA"):
        probe(servers["tls"], {"X-Case": "no CA"}, tls=Tls.from_options(environ={}))


def test_an_unknown_ca_is_one_line_exit_2(servers: dict[str, str]) -> None:
    assert "unknown CA" in one_line(contract("run", "--base-url", servers["tls"], *CHEAP))


def test_a_certificate_for_another_name_is_a_name_mismatch(pki: Pki, servers: dict[str, str]) -> None:
    with pytest.raises(TargetUnreachable, match=r"not valid for 127\.0\.0\.1 \(name mismatch\)"):
        probe(servers["misnamed"], {}, tls=Tls.from_options(str(pki.ca)))


def test_https_to_a_plain_http_server_says_the_other_end_does_not_speak_tls(pki: Pki, servers: dict[str, str]) -> None:
    assert "does not speak TLS" in one_line(contract("run", "--base-url", servers["plain"], "--cacert", str(pki.ca), *CHEAP))


def test_mutual_tls_needs_the_client_certificate_and_passes_with_it(pki: Pki, servers: dict[str, str]) -> None:
    without = one_line(contract("run", "--base-url", servers["mutual"], "--cacert", str(pki.ca), *CHEAP))
    assert "requires a client certificate (give --cert FILE and --key FILE)" in without
    done = contract("run", "--base-url", servers["mutual"], "--cacert", str(pki.ca), "--cert", str(pki.client_cert),
                    "--key", str(pki.client_key), *CHEAP)
    assert done.returncode == 0, done.stdout + done.stderr
    with pytest.raises(TargetUnreachable, match="refused the client certificate|may not accept the client certificate"):
        probe(servers["mutual"], {"X-Case": "stranger"}, tls=Tls.from_options(str(pki.ca), str(pki.stranger_cert)))


def test_diff_fetches_a_description_over_mutual_tls_and_names_a_tls_failure(pki: Pki, servers: dict[str, str]) -> None:
    against = servers["mutual"] + "/api/v1/openapi.json"
    done = contract("diff", "--against", against, "--cacert", str(pki.ca), "--cert", str(pki.client_cert), "--key", str(pki.client_key))
    assert done.returncode == 0, done.stdout + done.stderr  # the reference serves the contract itself
    assert "no differences" in done.stdout
    assert "unknown CA" in one_line(contract("diff", "--against", against))


def test_unusable_tls_files_are_usage_errors_naming_the_option(pki: Pki, tmp_path: Path) -> None:
    assert "--cacert" in one_line(contract("run", "--base-url", "https://127.0.0.1:9", "--cacert", str(tmp_path / "missing.pem")))
    with pytest.raises(TlsError, match="--cert .*cannot be used as a client certificate"):
        Tls.from_options(str(pki.ca), str(pki.ca))  # a CA certificate without its key
    with pytest.raises(TlsError, match="--key needs --cert"):
        Tls.from_options(key=str(pki.client_key))
