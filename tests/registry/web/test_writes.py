"""Write endpoints: tokens, streamed uploads, register, promote (as jobs), rollback; hostile inputs change nothing."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer, populate

from registry.web.tokens import create_token, revoke_token


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def snapshot(home: Path) -> dict[str, Any]:
    """What a refused request must leave unchanged: versions, ledger, evidence, object and upload files."""
    from registry.store import Store

    store = Store(home)
    files = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and "catalog" not in p.name
                   and "scorecards" not in p.parts)
    with store.catalog.read() as con:
        evidence = con.execute("SELECT count(*) FROM evidence").fetchall() if con else []
    return {"versions": [v.version_id for v in store.versions()], "ledger": [e.entry_hash for e in store.ledger()],
            "evidence": evidence, "files": files}


def upload(server: LiveServer, secret: str, data: bytes) -> str:
    response = httpx.post(server.url + "/api/v1/uploads", content=data, headers=bearer(secret))
    assert response.status_code == 201, response.text
    return str(response.json()["upload_id"])


@pytest.fixture
def writable(serve, ckpts, tmp_path: Path):  # type: ignore[no-untyped-def]
    server = serve(writes=True, max_upload=64 * 1024)
    populate(server.app, ckpts, tmp_path)
    return server


def test_register_through_upload_records_the_token_as_creator(writable, ckpts) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    _, secret = create_token(writable.app.store, "ci-bot", families=["toy"], aliases=[])
    data = ckpts["good2"].read_bytes() + b""
    staged = httpx.post(writable.url + "/api/v1/uploads", content=data, headers=bearer(secret)).json()
    assert staged["sha256"] == hashlib.sha256(data).hexdigest() and staged["size"] == len(data)
    config = upload(writable, secret, b'{"hidden": 8}')
    response = httpx.post(writable.url + "/api/v1/families/toy/versions", headers=bearer(secret), json={
        "files": {"weights": {"upload_id": staged["upload_id"], "filename": "w.safetensors"},
                  "config": {"upload_id": config, "filename": "config.json"}}, "name": "from ci",
        "code_version": "deadbeef"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True and body["created_by"] == "ci-bot" and body["name"] == "from ci"
    version = writable.app.store.resolve(body["version"])
    assert version.file("weights").sha256 == staged["sha256"]
    assert version.lineage["code_version"] == "deadbeef"
    assert not list((writable.app.home / "uploads").iterdir())  # used uploads are removed


def test_promote_runs_as_a_job_and_the_ledger_names_the_token(writable) -> None:  # type: ignore[no-untyped-def]
    _, secret = create_token(writable.app.store, "release-bot", families=["toy"], aliases=["production"])
    started = httpx.post(writable.url + "/api/v1/versions/toy@2/promote", params={"wait": 0},
                         headers=bearer(secret), json={"to": "production", "expect_current": "1"})
    assert started.status_code == 202
    job_url = writable.url + started.headers["location"]
    deadline = time.monotonic() + 60
    while (job := httpx.get(job_url).json())["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["status"] == 200 and job["result"]["verdict"] == "promoted" and job["actor"] == "release-bot"
    entries = writable.app.store.ledger("toy", "production")
    assert [(e.who, e.action) for e in entries][-1] == ("release-bot", "promote")
    assert writable.app.store.verify_ledger() == []
    back = httpx.post(writable.url + "/api/v1/families/toy/aliases/production/rollback", headers=bearer(secret),
                      json={"reason": "smoke"})
    assert back.status_code == 200 and back.json()["to"] == writable.app.store.resolve("toy@1").version_id
    assert writable.app.store.ledger("toy", "production")[-1].who == "release-bot"


def test_a_refused_promotion_is_409_and_moves_nothing(writable) -> None:  # type: ignore[no-untyped-def]
    _, secret = create_token(writable.app.store, "bot", families=[], aliases=["production"])
    before = snapshot(writable.app.home)
    response = httpx.post(writable.url + "/api/v1/versions/toy@3/promote", headers=bearer(secret),
                          json={"to": "production"})
    assert response.status_code == 409 and response.json()["verdict"] == "refused"
    assert snapshot(writable.app.home)["ledger"] == before["ledger"]
    stale = httpx.post(writable.url + "/api/v1/versions/toy@2/promote", headers=bearer(secret),
                       json={"to": "production", "expect_current": "none"})
    assert stale.status_code == 409 and stale.json()["error"] == "AliasMoved"


@pytest.mark.parametrize("case", ["no token", "wrong token", "revoked", "staging token", "other family",
                                  "malformed header"])
def test_bad_tokens_are_refused_and_nothing_is_written(writable, case: str) -> None:  # type: ignore[no-untyped-def]
    store = writable.app.store
    _, staging = create_token(store, "staging-bot", families=["toy"], aliases=["staging"])
    _, other = create_token(store, "ionis-bot", families=["ionis"], aliases=["production"])
    _, revoked = create_token(store, "old-bot", families=[], aliases=["production"])
    revoke_token(store, "old-bot")
    headers = {"no token": {}, "wrong token": bearer("rgt_" + "A" * 43), "revoked": bearer(revoked),
               "staging token": bearer(staging), "other family": bearer(other),
               "malformed header": {"Authorization": "Basic " + staging}}[case]
    expected = 403 if case in ("staging token", "other family") else 401
    before = snapshot(writable.app.home)
    promote = httpx.post(writable.url + "/api/v1/versions/toy@2/promote", headers=headers, json={"to": "production"})
    rollback = httpx.post(writable.url + "/api/v1/families/toy/aliases/production/rollback", headers=headers,
                          json={})
    assert (promote.status_code, rollback.status_code) == (expected, expected)
    if expected == 401:
        assert promote.headers["www-authenticate"] == "Bearer"
        assert httpx.post(writable.url + "/api/v1/uploads", content=b"x", headers=headers).status_code == 401
    assert snapshot(writable.app.home) == before


def test_a_read_only_server_refuses_every_write(serve, ckpts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = serve()
    populate(server.app, ckpts, tmp_path)
    _, secret = create_token(server.app.store, "bot", families=[], aliases=["production"])
    before = snapshot(server.app.home)
    for path, body in (("/api/v1/versions/toy@2/promote", {"to": "production"}),
                       ("/api/v1/families/toy/aliases/production/rollback", {}),
                       ("/api/v1/families/toy/versions", {"files": {}})):
        assert httpx.post(server.url + path, json=body, headers=bearer(secret)).status_code == 403
    assert httpx.post(server.url + "/api/v1/uploads", content=b"x", headers=bearer(secret)).status_code == 403
    assert snapshot(server.app.home) == before


def test_oversized_uploads_are_refused_declared_or_streamed(writable) -> None:  # type: ignore[no-untyped-def]
    _, secret = create_token(writable.app.store, "bot", families=[], aliases=[])
    before = snapshot(writable.app.home)
    declared = httpx.post(writable.url + "/api/v1/uploads", content=b"x" * (64 * 1024 + 1), headers=bearer(secret))
    assert declared.status_code == 413

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"y" * 1024

    streamed = httpx.post(writable.url + "/api/v1/uploads", content=chunks(), headers=bearer(secret))
    assert streamed.status_code == 413
    exact = httpx.post(writable.url + "/api/v1/uploads", content=b"z" * (64 * 1024), headers=bearer(secret))
    assert exact.status_code == 201  # the limit itself is allowed
    writable.web.state.registry.uploads.discard(exact.json()["upload_id"])
    json_body = httpx.post(writable.url + "/api/v1/versions/toy@2/promote", headers=bearer(secret),
                           content=b'{"to": "' + b"p" * (2 << 20) + b'"}')
    assert json_body.status_code == 413
    assert snapshot(writable.app.home) == before


def test_a_truncated_upload_leaves_nothing(writable) -> None:  # type: ignore[no-untyped-def]
    _, secret = create_token(writable.app.store, "bot", families=[], aliases=[])
    before = snapshot(writable.app.home)
    with socket.create_connection(("127.0.0.1", writable.port)) as sock:
        sock.sendall(b"POST /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + secret.encode()
                     + b"\r\nContent-Length: 50000\r\n\r\n" + b"w" * 20000)
        deadline = time.monotonic() + 10
        while not list((writable.app.home / "uploads").rglob("data.part")):  # the upload has begun
            assert time.monotonic() < deadline
            time.sleep(0.02)
    deadline = time.monotonic() + 10
    while snapshot(writable.app.home) != before:
        assert time.monotonic() < deadline, snapshot(writable.app.home)
        time.sleep(0.05)


def test_a_client_that_goes_away_does_not_cancel_its_promotion(writable) -> None:  # type: ignore[no-untyped-def]
    _, secret = create_token(writable.app.store, "bot", families=[], aliases=["production"])
    body = b'{"to": "production", "expect_current": "1"}'
    with socket.create_connection(("127.0.0.1", writable.port)) as sock:
        sock.sendall(b"POST /api/v1/versions/toy@2/promote HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nAuthorization: Bearer " + secret.encode()
                     + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    deadline = time.monotonic() + 60
    while writable.app.store.holder("toy", "production") != writable.app.store.resolve("toy@2").version_id:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert writable.app.store.verify_ledger() == []


TRAVERSALS = ["..", "..%2F..%2Fcatalog.duckdb", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%252F..%252Fcatalog.duckdb",
              "toy@..%2F..%2Fcatalog.duckdb", "....%2F%2F....%2F%2Fetc%2Fpasswd", "%00", "toy@1%00", "..%5C..%5Cx",
              "%2F..%2F..%2Fetc%2Fpasswd"]
TEMPLATES = ["/api/v1/families/{}/versions", "/api/v1/versions/{}", "/api/v1/versions/{}/scorecard",
             "/api/v1/families/{}/history", "/api/v1/families/{}/aliases/production/history",
             "/api/v1/families/toy/aliases/{}/history", "/api/v1/jobs/{}", "/families/{}", "/versions/{}",
             "/families/{}/trends", "/families/toy/aliases/{}", "/api/v1/versions/toy@1/scorecard?evidence={}"]


def test_path_traversal_in_every_path_parameter_is_refused(writable) -> None:  # type: ignore[no-untyped-def]
    _, secret = create_token(writable.app.store, "bot", families=[], aliases=["production"])
    before = snapshot(writable.app.home)
    conn = http.client.HTTPConnection("127.0.0.1", writable.port, timeout=30)
    for template in TEMPLATES:
        for attack in TRAVERSALS + [a.replace("%2F", "/") for a in TRAVERSALS]:
            conn.request("GET", template.format(attack))
            response = conn.getresponse()
            text = response.read()
            assert response.status in (400, 404, 422), (template, attack, response.status)
            assert b"root:" not in text and b"DUCK" not in text
    for attack in TRAVERSALS:
        for path, body in ((f"/api/v1/versions/{attack}/promote", b'{"to": "production"}'),
                           (f"/api/v1/families/{attack}/aliases/production/rollback", b"{}"),
                           (f"/api/v1/families/toy/aliases/{attack}/rollback", b"{}")):
            conn.request("POST", path, body=body, headers={**bearer(secret), "Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            assert response.status in (400, 403, 404), (path, response.status)
    staged = upload(writable, secret, b"abc")
    for filename, upload_id in (("../../evil.py", staged), ("..", staged), ("ok.bin", "../../catalog.duckdb"),
                                ("ok.bin", "..%2F..%2Fcatalog.duckdb"), (".hidden", staged)):
        response = httpx.post(writable.url + "/api/v1/families/toy/versions", headers=bearer(secret),
                              json={"files": {"weights": {"upload_id": upload_id, "filename": filename}}})
        assert response.status_code == 400, (filename, upload_id, response.text)
    writable.web.state.registry.uploads.discard(staged)
    assert snapshot(writable.app.home) == before


def test_a_write_waiting_for_the_catalog_does_not_stall_the_server(writable) -> None:  # type: ignore[no-untyped-def]
    import threading

    from registry.locking import catalog_lock

    _, secret = create_token(writable.app.store, "bot", families=[], aliases=["production"])
    answers: list[int] = []
    with catalog_lock(writable.app.store.catalog.lock_path, exclusive=True):  # another process's long write
        waiting = threading.Thread(target=lambda: answers.append(httpx.post(
            writable.url + "/api/v1/versions/toy@2/promote", headers=bearer(secret), timeout=120,
            json={"to": "production", "dry_run": True}).status_code))
        waiting.start()
        time.sleep(0.3)  # the write is now queued on the lock
        t0 = time.monotonic()
        assert httpx.get(writable.url + "/static/web.css", timeout=10).status_code == 200
        assert time.monotonic() - t0 < 1.0
        assert answers == []
    waiting.join(120)
    assert answers == [200]


def test_a_suite_with_options_runs_through_the_api(writable) -> None:  # type: ignore[no-untyped-def]
    """A suite named with its options (longer than a plain name) is passed on as the CLI's --suite: the dry run
    records the canonical name; a bar the model misses refuses it (409)."""
    _, secret = create_token(writable.app.store, "bot", families=["toy"], aliases=["production"])
    name = "tunable[label=a-label-long-enough-to-pass-64-characters,skill_min=0.99]"
    response = httpx.post(writable.url + "/api/v1/versions/toy@2/promote", headers=bearer(secret),
                          json={"to": "production", "dry_run": True, "suite": name})
    assert len(name) > 64 and response.status_code == 409, response.text
    assert response.json()["suite"] == name and response.json()["gates"][0]["threshold"] == 0.99
    too_long = httpx.post(writable.url + "/api/v1/versions/toy@2/promote", headers=bearer(secret),
                          json={"to": "production", "dry_run": True, "suite": "x" * 257})
    assert too_long.status_code == 400
