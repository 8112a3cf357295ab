"""``/api/v1`` read endpoints return exactly what ``registry … --json`` prints, over a real loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from registry.cli import main


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    capsys.readouterr()
    main([*argv, "--json"])  # $REGISTRY_HOME is the shared site's home
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def populated(shared_site):  # type: ignore[no-untyped-def]
    return shared_site


@pytest.mark.parametrize(("path", "argv"), [
    ("/api/v1/plugins", ["plugins"]),
    ("/api/v1/versions", ["list"]),
    ("/api/v1/families/toy/versions", ["list", "toy"]),
    ("/api/v1/versions/toy@1", ["show", "toy@1"]),
    ("/api/v1/versions/toy@production", ["show", "toy@production"]),
    ("/api/v1/families/toy/history", ["history", "toy"]),
    ("/api/v1/families/toy/aliases/production/history", ["history", "toy", "production"]),
    ("/api/v1/ledger/verify", ["verify-ledger"]),
    ("/api/v1/extracts", ["extracts"]),
    ("/api/v1/datasets", ["datasets"]),
    ("/api/v1/ensembles", ["ensembles"]),
    ("/api/v1/ledger/head", ["ledger", "head"]),
    ("/api/v1/policies", ["policy", "show"]),
    ("/api/v1/families/toy/policies", ["policy", "show", "toy"]),
])
def test_read_endpoint_equals_cli_json(populated, capsys, path: str, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    server, _ = populated
    response = httpx.get(server.url + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == _cli_json(capsys, *argv)


def test_history_lists_the_promotion_and_json_has_content(populated) -> None:  # type: ignore[no-untyped-def]
    server, refs = populated
    entries = httpx.get(server.url + "/api/v1/families/toy/aliases/production/history").json()["entries"]
    assert [(e["action"], e["to"]) for e in entries] == [("promote", refs["good"])]
    listed = httpx.get(server.url + "/api/v1/families/toy/versions").json()["versions"]
    assert [(r["version"], r["aliases"]) for r in listed] == [("toy@1", ["production"]), ("toy@2", []),
                                                              ("toy@3", [])]


def test_errors_are_the_cli_error_object_with_http_status(populated, capsys) -> None:  # type: ignore[no-untyped-def]
    server, _ = populated
    missing = httpx.get(server.url + "/api/v1/versions/toy@99")
    assert missing.status_code == 404
    assert missing.json() == _cli_json(capsys, "show", "toy@99")
    bad = httpx.get(server.url + "/api/v1/families/Toy!/versions")
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidInput"
    unknown = httpx.get(server.url + "/api/v1/families/nosuch/versions")
    assert unknown.status_code == 404 and unknown.json()["error"] == "UnknownName"


def test_scorecard_is_the_same_bytes_registry_scorecard_writes(populated, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, refs = populated
    for ref in (refs["good"], refs["constant"]):
        out = tmp_path / f"{ref.replace('@', '-')}.html"
        _cli_json(capsys, "scorecard", ref, "--out", str(out))
        served = httpx.get(f"{server.url}/api/v1/versions/{ref}/scorecard")
        assert served.status_code == 200
        assert served.content == out.read_bytes()
        assert "style-src 'unsafe-inline'" in served.headers["content-security-policy"]
        assert "script-src" not in served.headers["content-security-policy"]


def test_openapi_document_lists_the_resource_paths(populated) -> None:  # type: ignore[no-untyped-def]
    server, _ = populated
    doc = httpx.get(server.url + "/api/v1/openapi.json").json()
    assert {"/api/v1/families/{family}/versions", "/api/v1/versions/{ref}", "/api/v1/extracts",
            "/api/v1/versions/{ref}/promote", "/api/v1/uploads"} <= set(doc["paths"])
    assert httpx.get(server.url + "/docs").status_code == 404  # the docs UI would fetch scripts from a CDN


def test_only_loopback_host_names_are_answered(populated) -> None:  # type: ignore[no-untyped-def]
    server, _ = populated
    for host, status in (("127.0.0.1", 200), ("localhost", 200), ("LOCALHOST:1234", 200), ("[::1]:80", 200),
                         ("evil.example", 400), ("evil.example:80", 400), ("127.0.0.1.evil.example", 400),
                         ("", 400)):
        response = httpx.get(server.url + "/api/v1/versions", headers={"Host": host})
        assert response.status_code == status, host
        assert "content-security-policy" in response.headers


def test_host_name() -> None:
    from registry.web.app import host_name

    assert [host_name(h) for h in (b"a.b:80", b"[::1]:8000", b"[::1]", b"::1", b"A.B", b"")] == \
        ["a.b", "::1", "::1", "::1", "a.b", ""]
