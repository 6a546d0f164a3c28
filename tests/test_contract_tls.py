"""Deployments behind TLS with an internal CA, and mutual TLS: `run` and `diff` trust what they are told to
(`--cacert`, `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`), show a client certificate (`--cert`/`--key`), and
report a TLS failure as one line naming its cause, exit 2, never as a contract violation.

The CAs are made in the test (trustme); the servers are the reference on uvicorn with TLS on loopback
(tests/private_ca.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract_tests.target import TargetUnreachable, probe
from session_spec.tls import Tls, TlsError
from tests.private_ca import Pki, stand_ins

CHEAP = ["--property", "health.*", "--property", "create.*", "--max-examples", "2", "--seed", "1"]


@pytest.fixture(scope="module")
def servers(pki: Pki) -> Iterator[dict[str, str]]:
    with stand_ins(pki) as ports:
        yield {name: f"https://127.0.0.1:{port}" for name, port in ports.items()}


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
