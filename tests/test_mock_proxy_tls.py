"""`session-mock --proxy https://...` in front of deployments behind TLS with a private CA, and mutual TLS.

The proxy trusts what it is told (`--proxy-cacert`, else `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `SSL_CERT_DIR`
as httpx and requests honour them), shows a client certificate (`--proxy-cert`/`--proxy-key`), and answers
a TLS failure as 502 `{"detail": ...}` naming its cause in one line: never a contract violation of the
deployment, never a traceback. Bad TLS options are one-line usage errors, exit 2, before serving.

The real CLI as a subprocess (tests/mock_process.py) in front of the stand-ins of tests/private_ca.py
(the reference on uvicorn with TLS on loopback, certificates from a CA made in the test).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mock_server import cli as mock_cli
from tests.mock_process import MockProcess, run_cli
from tests.private_ca import Pki, stand_ins

SESSION = "/api/v1/session"
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "SSL_CERT_DIR")


@pytest.fixture(scope="module")
def ports(pki: Pki) -> Iterator[dict[str, int]]:
    with stand_ins(pki) as running:
        yield running


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without any CA variable, plus `variables`."""
    return {**{k: v for k, v in os.environ.items() if k not in CA_VARIABLES}, **variables}


@contextmanager
def proxy(port: int, *options: str | Path, env: dict[str, str] | None = None) -> Iterator[MockProcess]:
    """`session-mock --proxy https://localhost:PORT OPTIONS`, ready once its admin routes answer (its /health is forwarded)."""
    with MockProcess("--proxy", f"https://localhost:{port}", *options, env=environment(**(env or {})), ready="/__mock/violations") as mock:
        yield mock


def created_through(mock: MockProcess) -> None:
    """A create and a read of it reach the deployment through the proxy, with no violation found."""
    created = httpx.post(mock.base_url + SESSION, timeout=30)
    assert created.status_code == 201, created.text
    assert httpx.get(f"{mock.base_url}{SESSION}/{created.json()['sessionId']}", timeout=30).status_code == 200
    summary = httpx.get(mock.base_url + "/__mock/violations").json()
    assert (summary["exchanges"], summary["violations"]) == (2, 0), summary


def refused(mock: MockProcess) -> str:
    """The one-line detail of the 502 a TLS failure answers, after checking it is never held against the deployment."""
    answer = httpx.post(mock.base_url + SESSION, timeout=30)
    assert answer.status_code == 502, answer.text
    assert answer.headers["content-type"] == "application/json"
    detail: str = answer.json()["detail"]
    assert detail.startswith("Cannot reach the deployment at https://localhost:") and "upstream TLS: " in detail, detail
    assert "\n" not in detail
    summary = httpx.get(mock.base_url + "/__mock/violations").json()
    assert (summary["exchanges"], summary["violations"], summary["byKind"]) == (0, 0, {}), summary
    entry = httpx.get(mock.base_url + "/__mock/requests").json()["requests"][-1]
    assert (entry["status"], entry["violations"], entry["upstreamError"]) == (502, [], detail)
    log = mock.stderr_text()
    assert "Traceback" not in log and "violates the contract" not in log, log
    assert [line for line in log.splitlines() if detail in line and "not a contract violation" in line], log
    return detail


def test_an_https_deployment_with_a_private_ca_is_reached_with_proxy_cacert(pki: Pki, ports: dict[str, int]) -> None:
    with proxy(ports["tls"], "--proxy-cacert", pki.ca) as mock:
        created_through(mock)
    assert f"  Proxy TLS    trusting CA bundle {pki.ca} (--proxy-cacert)" in mock.banner


def test_without_its_ca_the_proxy_answers_502_naming_an_unknown_ca_and_records_no_violation(ports: dict[str, int]) -> None:
    with proxy(ports["tls"]) as mock:
        detail = refused(mock)
    assert "signed by an unknown CA (trust that CA with --proxy-cacert FILE)" in detail
    assert any("trusting certifi's CA bundle" in line for line in mock.banner), mock.banner


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_the_ca_bundle_named_by_the_environment_is_trusted_as_httpx_and_requests_trust_it(variable: str, pki: Pki, ports: dict[str, int]) -> None:
    with proxy(ports["tls"], env={variable: str(pki.ca)}) as mock:
        created_through(mock)
    assert f"  Proxy TLS    trusting CA bundle {pki.ca} ({variable})" in mock.banner


def test_the_ca_directory_named_by_ssl_cert_dir_is_trusted_as_httpx_trusts_it(pki: Pki, ports: dict[str, int], tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("SSL_CERT_DIR needs a directory hashed by `openssl rehash`, and openssl is not installed")
    shutil.copy(pki.ca, tmp_path / "private-ca.pem")
    subprocess.run(["openssl", "rehash", str(tmp_path)], check=True, capture_output=True)
    with proxy(ports["tls"], env={"SSL_CERT_DIR": str(tmp_path)}) as mock:
        created_through(mock)
    assert f"  Proxy TLS    trusting the CA certificates in {tmp_path} (SSL_CERT_DIR)" in mock.banner


def test_proxy_cacert_wins_over_the_environment(pki: Pki, ports: dict[str, int]) -> None:
    # The environment names the right CA; the option names another, and is the only one trusted.
    with proxy(ports["tls"], "--proxy-cacert", pki.client_ca, env={"SSL_CERT_FILE": str(pki.ca), "REQUESTS_CA_BUNDLE": str(pki.ca)}) as mock:
        assert "unknown CA" in refused(mock)


def test_a_certificate_for_another_name_answers_502_naming_the_mismatch(pki: Pki, ports: dict[str, int]) -> None:
    with proxy(ports["misnamed"], "--proxy-cacert", pki.ca) as mock:
        assert "the server's certificate is not valid for localhost (name mismatch)" in refused(mock)


def test_https_to_a_plain_http_deployment_answers_502_saying_the_other_end_does_not_speak_tls(pki: Pki, ports: dict[str, int]) -> None:
    with proxy(ports["plain"], "--proxy-cacert", pki.ca) as mock:
        assert "the other end does not speak TLS" in refused(mock)


def test_mutual_tls_works_with_proxy_cert_and_key_and_shows_their_names_never_the_key(pki: Pki, ports: dict[str, int]) -> None:
    with proxy(ports["mutual"], "--proxy-cacert", pki.ca, "--proxy-cert", pki.client_cert, "--proxy-key", pki.client_key) as mock:
        created_through(mock)
    banner = "\n".join(mock.banner)
    assert f"client certificate {pki.client_cert} (key {pki.client_key})" in banner
    key_lines = pki.client_key.read_text().splitlines()[1:-1]
    assert "PRIVATE KEY" not in banner and not any(line in banner for line in key_lines)


def test_without_a_client_certificate_a_mutual_tls_deployment_answers_502_naming_it(pki: Pki, ports: dict[str, int]) -> None:
    with proxy(ports["mutual"], "--proxy-cacert", pki.ca) as mock:
        detail = refused(mock)
    assert "client certificate (give --proxy-cert FILE and --proxy-key FILE)" in detail


def test_a_client_certificate_the_deployment_does_not_trust_answers_502_naming_it(pki: Pki, ports: dict[str, int]) -> None:
    # The stranger's file holds its key too, so --proxy-key is not needed.
    with proxy(ports["mutual"], "--proxy-cacert", pki.ca, "--proxy-cert", pki.stranger_cert) as mock:
        detail = refused(mock)
    assert "refused the client certificate" in detail or "may not accept the client certificate given with --proxy-cert" in detail


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--proxy-cacert", "{missing}"], "--proxy-cacert {missing}: cannot be used as a CA bundle (no such file)"),
        (["--proxy-cacert", "{not_pem}"], "--proxy-cacert {not_pem}: cannot be used as a CA bundle (no certificate or crl found)"),
        (["--proxy-cacert", "{folder}"], "--proxy-cacert {folder}: cannot be used as a CA bundle (Is a directory)"),
        (["--proxy-key", "{key}"], "--proxy-key needs --proxy-cert (the client certificate it belongs to)"),
        (["--proxy-cert", "{cert}"], "--proxy-cert {cert}: cannot be used as a client certificate (it holds no private key: give --proxy-key FILE)"),
        (["--proxy-cert", "{cert}", "--proxy-key", "{stranger}"], "--proxy-cert {cert} / --proxy-key {stranger}: cannot be used as a client certificate"),
        (["--proxy-cert", "{not_pem}", "--proxy-key", "{key}"], "--proxy-cert {not_pem} / --proxy-key {key}: cannot be used as a client certificate"),
    ],
)
def test_unusable_tls_files_are_one_line_usage_errors_naming_the_option(
    options: list[str], message: str, pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("not a certificate\n")
    files = {"missing": tmp_path / "missing.pem", "not_pem": tmp_path / "notes.txt", "folder": tmp_path,
             "key": pki.client_key, "cert": pki.client_cert, "stranger": pki.stranger_cert}
    with pytest.raises(SystemExit) as stopped:
        mock_cli.main(["--port", "0", "--proxy", "https://localhost:9", *(option.format(**files) for option in options)])
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("session-mock: error: "), err
    assert message.format(**files) in err


@pytest.mark.parametrize("option", ["--proxy-cacert", "--proxy-cert", "--proxy-key"])
def test_tls_options_without_proxy_are_usage_errors(option: str, pki: Pki, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        mock_cli.main(["--port", "0", option, str(pki.ca)])
    assert stopped.value.code == 2
    assert f"{option} needs --proxy URL" in capsys.readouterr().err


def test_an_unusable_ca_bundle_named_by_the_environment_stops_the_cli_with_one_line_before_serving(tmp_path: Path) -> None:
    done = run_cli("--port", "0", "--proxy", "https://localhost:9", env=environment(SSL_CERT_FILE=str(tmp_path / "gone.pem")))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"session-mock: error: SSL_CERT_FILE {tmp_path / 'gone.pem'}: cannot be used as a CA bundle (no such file) (see --help)"
    ]
    assert "listening" not in done.stdout


def test_help_explains_each_proxy_tls_option_in_one_line() -> None:
    help_text = " ".join(run_cli("--help").stdout.split())  # argparse wraps lines at the terminal's width
    assert "--proxy-cacert FILE" in help_text and "CA bundle (PEM) to trust" in help_text
    assert "--proxy-cert FILE" in help_text and "mutual TLS" in help_text
    assert "--proxy-key FILE" in help_text and "private key (PEM)" in help_text
