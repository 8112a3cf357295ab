"""Twenty API clients promote different candidates to one alias at once: exactly one wins, the ledger verifies,
and readers hammering the pages meanwhile neither starve the writers nor see a half-written state."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from registry.web.tokens import create_token

CLIENTS = 20


@pytest.mark.slow
def test_twenty_clients_one_alias_exactly_one_wins(serve, app, ckpts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from registry.commands.versions import register_validated

    family = app.plugins.family("toy")
    refs = []
    for i in range(CLIENTS):
        config = tmp_path / f"config{i}.json"
        config.write_text(json.dumps({"hidden": 8, "variant": i}))
        version, _ = register_validated(app, family, {"weights": ckpts["good"], "config": config},
                                        lineage={"variant": i})
        refs.append(version.ref)
    server = serve(writes=True, workers=CLIENTS)
    _, secret = create_token(server.app.store, "ci", families=["toy"], aliases=["production"])
    stop = threading.Event()
    seen: list[int] = []
    problems: list[str] = []

    def read() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while not stop.is_set():
                page = client.get("/families/toy")
                listed = client.get("/api/v1/families/toy/versions")
                if page.status_code != 200 or listed.status_code != 200:
                    problems.append(f"{page.status_code} {listed.status_code} {listed.text[:200]}")
                    continue
                holders = [r["version"] for r in listed.json()["versions"] if "production" in r["aliases"]]
                if len(holders) > 1:  # never two holders, never a half-applied move
                    problems.append(f"holders {holders}")
                seen.append(len(holders))

    def promote(ref: str) -> httpx.Response:
        return httpx.post(f"{server.url}/api/v1/versions/{ref}/promote", params={"wait": 300}, timeout=320,
                          headers={"Authorization": f"Bearer {secret}"},
                          json={"to": "production", "expect_current": "none"})

    readers = [threading.Thread(target=read) for _ in range(4)]
    for r in readers:
        r.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(promote, refs))
    finally:
        stop.set()
        for r in readers:
            r.join(60)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * (CLIENTS - 1), [a.text[:200] for a in answers if a.status_code not in (200, 409)]
    winner = next(a.json() for a in answers if a.status_code == 200)
    store = server.app.store
    assert store.holder("toy", "production") == winner["version_id"]
    entries = store.ledger("toy", "production")
    assert [(e.action, e.to_version, e.who) for e in entries] == [("promote", winner["version_id"], "ci")]
    assert store.verify_ledger() == []
    assert problems == []
    assert len(seen) >= 4 and seen[-1] == 1  # the readers ran alongside and saw the final holder
