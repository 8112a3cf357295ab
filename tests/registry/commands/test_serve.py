"""``registry tokens`` (secrets shown once, stored as hashes, revocable) and ``registry serve`` (refusals, start-up)."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from clirun import REPO, child_env

from registry.cli import main
from registry.commands.serve import is_loopback
from registry.web.tokens import authenticate, secret_digest


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    capsys.readouterr()
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_tokens_are_stored_as_hashes_scoped_and_revocable(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from registry.store import Store

    code, made = _json(capsys, "tokens", "create", "ci-bot", "--family", "toy", "--alias", "staging")
    assert code == 0 and made["families"] == ["toy"] and made["aliases"] == ["staging"]
    secret = made["secret"]
    catalog = (home / "catalog.duckdb").read_bytes()
    assert secret.encode() not in catalog
    store = Store(home)
    token = authenticate(store, secret)
    assert token is not None and token.allows_alias("toy", "staging") and not token.allows_alias("toy", "production")
    assert not token.allows_family("ionis")
    with store.catalog.read() as con:
        assert con.execute("SELECT token_sha256 FROM tokens").fetchall() == [(secret_digest(secret),)]
    _, listed = _json(capsys, "tokens", "list")
    assert secret not in json.dumps(listed) and secret_digest(secret) not in json.dumps(listed)
    assert _json(capsys, "tokens", "create", "ci-bot")[0] == 2  # names are never reused
    code, revoked = _json(capsys, "tokens", "revoke", "ci-bot")
    assert code == 0 and revoked["revoked_at"]
    assert authenticate(store, secret) is None
    assert authenticate(store, secret[:-1]) is None
    assert _json(capsys, "tokens", "revoke", "nobody")[0] == 2


@pytest.mark.parametrize("name", ["Bad", "with space", "x" * 65, "a\nb", "-x", ""])
def test_token_names_that_could_not_be_actors_are_refused(home: Path, capsys, name: str) -> None:  # type: ignore[no-untyped-def]
    from registry.store import Store
    from registry.web.tokens import list_tokens

    assert main(["tokens", "create", "--", name]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert list_tokens(Store(home)) == []


@pytest.mark.parametrize(("host", "extra", "ok"), [
    ("0.0.0.0", [], False), ("192.168.1.5", [], False), ("::", [], False),
    ("0.0.0.0", ["--behind-proxy"], True), ("127.0.0.1", [], True), ("::1", [], True), ("localhost", [], True)])
def test_writes_on_a_non_loopback_address_need_tls_or_a_proxy(host: str, extra: list[str], ok: bool) -> None:
    from registry.cli import build_parser
    from registry.commands.serve import check_serve_args
    from registry.errors import InvalidInput

    args = build_parser().parse_args(["serve", "--host", host, "--allow-writes", *extra])
    if ok:
        check_serve_args(args)
    else:
        with pytest.raises(InvalidInput, match="not a loopback address"):
            check_serve_args(args)


def test_serve_refuses_with_one_line_and_exit_2(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["serve", "--host", "0.0.0.0", "--allow-writes"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a loopback address" in err
    assert main(["serve", "--tls-cert", "nope.pem"]) == 2


def test_is_loopback() -> None:
    assert [is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "localhost", "0.0.0.0", "10.0.0.1", "a.b")] \
        == [True, True, True, True, False, False, False]


def _serve(home: Path, *options: str, scheme: str = "http", verify: Any = True) -> Any:
    """Start `registry serve` on a free port; yield (base URL, process) once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "registry.cli", "serve", "--port", str(port), *options], cwd=REPO,
                            env=child_env(REGISTRY_HOME=str(home)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/static/web.css", timeout=5, verify=verify)
            return url, proc
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(proc.communicate()[1].decode()[-2000:]) from None
            time.sleep(0.1)


@pytest.mark.slow
def test_registry_serve_starts_and_serves_the_api(home: Path) -> None:
    url, proc = _serve(home)
    try:
        response = httpx.get(url + "/api/v1/versions")
        assert response.status_code == 200 and response.json() == {"versions": []}
        assert httpx.post(url + "/api/v1/uploads", content=b"x").status_code == 403
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command to make a test certificate")
def test_registry_serve_speaks_tls_with_the_given_certificate(home: Path, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    trust = ssl.create_default_context(cafile=str(cert))
    url, proc = _serve(home, "--allow-writes", "--tls-cert", str(cert), "--tls-key", str(key), scheme="https",
                       verify=trust)
    try:
        assert httpx.get(url + "/api/v1/versions", verify=trust).json() == {"versions": []}
        with pytest.raises(httpx.TransportError):
            httpx.get(url.replace("https", "http") + "/api/v1/versions")
        assert httpx.post(url + "/api/v1/uploads", content=b"x", verify=trust).status_code == 401
    finally:
        proc.terminate()
        proc.wait(30)
