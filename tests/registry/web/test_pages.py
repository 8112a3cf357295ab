"""Server-rendered pages: content, one URL per view, escaping of every stored name, and a strict CSP."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from live_server import populate

from registry.web.app import CSP

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def rows(html: str, attr: str) -> list[str]:
    return [str(a[attr]) for t, a in tags(html) if t == "tr" and attr in a]


@pytest.fixture
def site(shared_site):  # type: ignore[no-untyped-def]
    return shared_site


@pytest.fixture
def own_site(serve, ckpts, tmp_path: Path):  # type: ignore[no-untyped-def]
    server = serve()
    return server, populate(server.app, ckpts, tmp_path)


def test_every_page_renders_with_a_strict_csp_and_no_script(site) -> None:  # type: ignore[no-untyped-def]
    server, _ = site
    for path in ("/", "/families/toy", "/versions/toy@1", "/compare?v=toy@1&v=toy@3",
                 "/families/toy/trends?gate=spread_ratio", "/families/toy/aliases/production", "/extracts"):
        response = httpx.get(server.url + path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == CSP
        assert "script-src" not in CSP and "unsafe" not in CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert not [t for t, _ in tags(response.text) if t == "script"], path
        assert not [a for _, a in tags(response.text) if "style" in a], path  # inline styles would be blocked


def test_families_page_lists_family_suites_and_alias_holders(site) -> None:  # type: ignore[no-untyped-def]
    server, _ = site
    html = httpx.get(server.url + "/").text
    assert "toy" in rows(html, "data-family")
    assert "release v1 (3 gates)" in html
    assert "production → toy@1" in html


def test_versions_filter_sort_and_verdict_columns(site) -> None:  # type: ignore[no-untyped-def]
    server, _ = site
    url = server.url + "/families/toy"
    assert rows(httpx.get(url).text, "data-version") == ["toy@1", "toy@2", "toy@3"]
    assert rows(httpx.get(url, params={"order": "desc"}).text, "data-version") == ["toy@3", "toy@2", "toy@1"]
    assert rows(httpx.get(url, params={"verdict": "fail"}).text, "data-version") == ["toy@3"]
    assert rows(httpx.get(url, params={"verdict": "pass"}).text, "data-version") == ["toy@1", "toy@2"]
    assert rows(httpx.get(url, params={"alias": "production"}).text, "data-version") == ["toy@1"]
    assert rows(httpx.get(url, params={"q": "CONSTANT"}).text, "data-version") == ["toy@3"]
    assert httpx.get(url, params={"sort": "nonsense"}).status_code == 400


def test_version_page_shows_files_lineage_runs_and_scorecard_links(site) -> None:  # type: ignore[no-untyped-def]
    server, _ = site
    html = httpx.get(server.url + "/versions/toy@3").text
    detail = server.app.store.resolve("toy@3")
    assert detail.files[0].sha256 in html
    assert "abc2" in html  # the code version
    runs = server.app.store.evidence_for(detail.version_id)
    assert [a["data-evidence"] for t, a in tags(html) if t == "section"] == [e.evidence_id for e in reversed(runs)]
    links = [a["href"] for t, a in tags(html) if t == "a" and "scorecard" in str(a.get("href"))]
    card = httpx.get(server.url + str(links[0]))
    assert card.status_code == 200 and "Refused" in card.text


def test_compare_colours_by_the_gates_comparator(site) -> None:  # type: ignore[no-untyped-def]
    server, _ = site
    html = httpx.get(server.url + "/compare", params=[("v", "toy@1"), ("v", "toy@3")]).text
    cells = [(a.get("data-direction")) for t, a in tags(html) if t == "td" and "data-direction" in a]
    # skill (>=) and spread (>=) fell, champion RMSE (<=) rose: all three worse for the constant model
    assert cells[1::2] == ["worse", "worse", "worse"]
    reverse = httpx.get(server.url + "/compare", params=[("v", "toy@3"), ("v", "toy@1")]).text
    assert [a.get("data-direction") for t, a in tags(reverse) if t == "td" and "data-direction" in a][1::2][:2] \
        == ["better", "better"]
    assert "source_files.weights" in html  # lineage difference
    assert httpx.get(server.url + "/compare", params={"v": "toy@1"}).status_code == 400


def test_trends_marks_the_alias_holder(site) -> None:  # type: ignore[no-untyped-def]
    server, _ = site
    html = httpx.get(server.url + "/families/toy/trends", params={"gate": "spread_ratio"}).text
    holders = [a["data-version"] for t, a in tags(html) if t == "tr" and a.get("class") == "holder"]
    assert holders == ["toy@1"]
    assert "<svg" in html


def test_alias_page_shows_the_chain_verified_and_the_move(own_site) -> None:  # type: ignore[no-untyped-def]
    server, _ = own_site
    html = httpx.get(server.url + "/families/toy/aliases/production").text
    assert "Ledger chain verified" in html
    assert rows(html, "data-seq") == ["1"]
    cells = html.split('data-seq="1"')[1].split("</tr>")[0]
    assert ">promoted<" in cells and "/api/v1/versions/toy@1/scorecard?evidence=" in cells
    assert "release v1" in html and "the family's default suite" in html
    from registry.policy import set_policy

    set_policy(server.app, "toy", "production", ["release", "with-data"], reason="both accepted")
    html = httpx.get(server.url + "/families/toy/aliases/production").text
    assert "with-data v1" in html and "set by ledger entry 2" in html


def test_a_hostile_version_name_is_escaped_everywhere(serve, app, ckpts) -> None:  # type: ignore[no-untyped-def]
    from registry.commands.versions import register_validated

    family = app.plugins.family("toy")
    register_validated(app, family, {"weights": ckpts["good"]}, name=HOSTILE, lineage={"code_version": HOSTILE})
    server = serve()
    for path in ("/families/toy", "/versions/toy@1", "/families/toy?q=%3Cscript"):
        html = httpx.get(server.url + path).text
        assert "<script>alert(1)" not in html and "<img" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    assert re.search("&lt;script&gt;", httpx.get(server.url + "/families/toy", params={"q": HOSTILE}).text)


def test_extracts_page_shows_rows_digest_and_the_runs_that_pin_them(serve, app, ckpts, engine) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    from toy_family import truth

    from cache.store import ExtractCache
    from registry.promotion import promote

    x = np.random.default_rng(3).normal(size=(50, 4))
    engine.command("DROP DATABASE IF EXISTS toyobs")
    engine.command("CREATE DATABASE toyobs")
    try:
        engine.command("CREATE TABLE toyobs.toy_obs (id UInt32, x0 Float64, x1 Float64, x2 Float64, x3 Float64, "
                       "y Float64) ENGINE = MergeTree ORDER BY id")
        engine.client.insert("toyobs.toy_obs", [[i, *map(float, x[i]), float(truth(x[i:i + 1])[0])]
                                                for i in range(len(x))],
                             column_names=["id", "x0", "x1", "x2", "x3", "y"])
        ref = ExtractCache(app.home).materialise(app.plugins.extract("toy-obs"), progress=False)
    finally:
        engine.command("DROP DATABASE IF EXISTS toyobs")
    version = app.store.register("toy", {"weights": ckpts["good"]})[0]
    run = promote(app, version.ref, "production", dry_run=True, suite="with-data").evidence
    server = serve()
    html = httpx.get(server.url + "/extracts").text
    assert rows(html, "data-key") == [ref.key]
    assert ref.digest[:16] in html and ">50<" in html
    assert f"toy@1 run {run.evidence_id[:8]}" in html


def test_the_version_page_names_the_split_window_each_training_extract_came_from(serve, app, ckpts) -> None:  # type: ignore[no-untyped-def]
    from registry.commands.versions import register_validated

    windows = [{"name": "obs", "rows": 20, "digest": "a" * 64, "key": "b" * 64, "split": "train"},
               {"name": "obs", "rows": 10, "digest": "c" * 64, "key": "d" * 64, "split": "validation"}]
    register_validated(app, app.plugins.family("toy"), {"weights": ckpts["good"]}, name="windowed",
                       lineage={"extracts": windows})
    html = httpx.get(serve().url + "/versions/toy@1").text
    assert "obs [split=train] · 20 rows" in html and "obs [split=validation] · 10 rows" in html
