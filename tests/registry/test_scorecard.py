"""Scorecards: deterministic, escaped, self-contained HTML that real headless Chromium displays as intended."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.records import Evidence, FileRef, GateResult, LedgerEntry, ModelVersion
from registry.scorecard import comparison_rows, detail_blocks, render_scorecard, write_scorecard

NAN = float("nan")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")])}


def _version(number: int, vid: str) -> ModelVersion:
    files = (FileRef("weights", "ab" * 32, 123_456, "model.safetensors"),
             FileRef("config", "cd" * 32, 512, "config.json"))
    return ModelVersion(family="toy", number=number, version_id=vid, name=f"toy-{number}", files=files,
                        lineage={"code_version": "0.1.0+g1234abc", "extracts": ["kp-2015"],
                                 "config": {"hidden": 16, "layers": 2}, "who": "alice"},
                        created_at="2025-01-02T03:04:05Z", created_by="alice")


def _evidence(vid: str, rmse: float, message: str = "RMSE within limit", with_figures: bool = True) -> Evidence:
    figures: tuple[dict[str, Any], ...] = ()
    if with_figures:
        figures = (
            {"kind": "line", "title": "RMSE by lead", "x": [1, 2, 3, 4], "xlabel": "lead (h)", "ylabel": "RMSE",
             "series": {"candidate": [1.0, NAN, 1.4, 1.6], "persistence": [1.2, 1.5, None, 2.0]},
             "hlines": [{"y": 1.8, "label": "limit"}]},
            {"kind": "bar", "title": "Skill by storm level", "labels": ["quiet", "active", "storm"],
             "values": [0.3, 0.2, NAN], "threshold": 0.1},
            {"kind": "heatmap", "title": "Occurrence L × MLT", "x": [0, 6, 12, 18], "y": [2.5, 3.5, 4.5],
             "z": [[0.1, 0.2, 0.3, 0.4], [0.5, NAN, 0.7, 0.8], [0.9, 1.0, None, 1.2]],
             "xlabel": "MLT", "ylabel": "L", "zlabel": "occurrence"},
            {"kind": "pie", "title": "Not a kind we draw"},
        )
    results = (
        GateResult("rmse", "1", "pass", rmse, 2.0, "<=", message, details={
            "n_samples": 480, "table": {"columns": ["storm", "n", "ok"],
                                        "rows": [["quiet", 400, True], ["storm", 80, False]]}},
                   figures=figures, seconds=0.25),
        GateResult("monotonic_kp", "2", "fail", 9, 11, ">=", "9 of 11 Kp steps monotonic",
                   details={"violations": [[3, 4], [7, 8]], "per_step": {"kp3": True, "kp4": False}}, seconds=1.5),
        GateResult("baseline_skill", "1", "error", None, 0.0, ">", "DataMissing: extract 'tec-2019' absent",
                   seconds=0.01),
    )
    return Evidence(evidence_id="e" * 64, family="toy", version_id=vid, suite="toy-suite", suite_version="3",
                    results=results, checkpoint_hashes={"weights": "ab" * 32},
                    extract_digests={"kp-2015": "12" * 32}, champion_version_id="c" * 64, seed=1234,
                    environment={"python": "3.11.9", "torch": "2.13.0"},
                    created_at="2025-02-03T04:05:06Z", seconds=1.76)


def _history() -> list[LedgerEntry]:
    return [LedgerEntry(seq=2, family="toy", alias="production", from_version="c" * 64, to_version="d" * 64,
                        action="promote", forced=True, reason="storm season hotfix", verdict_digest="f" * 64,
                        evidence_id="9" * 64, who="bob", at="2025-01-05T00:00:00Z", prev_hash="1" * 64,
                        entry_hash="2" * 64),
            LedgerEntry(seq=1, family="toy", alias="production", from_version=None, to_version="c" * 64,
                        action="promote", forced=False, reason="", verdict_digest="f" * 64,
                        evidence_id="8" * 64, who="alice", at="2025-01-04T00:00:00Z", prev_hash="0" * 64,
                        entry_hash="1" * 64)]


def _page(message: str = "RMSE within limit", forced: bool = False) -> str:
    version, champion = _version(7, "a" * 64), _version(5, "c" * 64)
    decision = {"verdict": "refused", "alias": "production", "forced": forced,
                "reason": "emergency <b>override</b>" if forced else "", "ledger_seq": None,
                "summary": "1 gate failed, 1 could not be evaluated"}
    return render_scorecard(version=version, evidence=_evidence(version.version_id, 1.5, message),
                            decision=decision, champion=champion,
                            champion_evidence=_evidence(champion.version_id, 1.7, with_figures=False),
                            history=_history())


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Tags()
    p.feed(html)
    return p.tags


def test_rendering_twice_gives_the_same_bytes() -> None:
    assert _page() == _page()
    assert _page() != _page(message="RMSE 1.5 ≤ 2")  # and it does depend on the evidence


def test_rendering_is_the_same_in_processes_with_other_hash_seeds() -> None:
    code = "import hashlib, test_scorecard as t; print(hashlib.sha256(t._page().encode()).hexdigest())"
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                              cwd=Path(__file__).parent, env={**_ENV, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert len(digests) == 1 and len(digests.pop().strip()) == 64


def test_gate_message_is_escaped() -> None:
    html = _page(message='<script>alert("x")</script>')
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_banner_rows_and_failing_summary() -> None:
    html = _page()
    tags = _tags(html)
    banner = [a for t, a in tags if "data-verdict" in a]
    assert [a["data-verdict"] for a in banner] == ["refused"]
    rows = {a["data-gate"]: a["data-status"] for t, a in tags if t == "tr" and "data-status" in a}
    assert rows == {"rmse": "pass", "monotonic_kp": "fail", "baseline_skill": "error"}
    assert re.search(r"Failing \(1\):</strong> monotonic_kp", html)
    assert "1 passed" in html and "1 failed" in html and "1 error<" in html
    assert "toy@7" in html and "a" * 12 in html and "toy-suite" in html
    assert "<td class=\"n\">9</td><td class=\"n\">≥ 11</td>" in html  # count gate: ints shown as ints
    assert "<td class=\"n\">—</td><td class=\"n\">&gt; 0</td>" in html  # None shown as a dash


def test_forced_decision_is_loud_and_its_reason_escaped() -> None:
    html = _page(forced=True)
    assert 'data-forced="true"' in html and "FORCED" in html
    assert "emergency &lt;b&gt;override&lt;/b&gt;" in html
    assert "FORCED" not in _page(forced=False)


def test_page_is_self_contained() -> None:
    html = _page()
    assert "http://" not in html and "https://" not in html
    for tag, attrs in _tags(html):
        assert tag not in {"script", "link", "img", "iframe", "object", "embed"}
        assert "src" not in attrs
        assert (attrs.get("href") or "#").startswith("#"), attrs
    assert "@import" not in html and "url(" not in html
    assert "<title>" in html


def test_figures_are_inline_svg_and_unknown_kinds_become_notes() -> None:
    html = _page()
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 3
    for svg in svgs:
        ET.fromstring(svg)
    assert "not drawn: unknown figure kind &#39;pie&#39;" in html


@pytest.mark.parametrize(("verdict", "cls", "headline"), [
    ("promoted", "ok", "Promoted"), ("would promote", "ok dry", "Would promote (dry run)"),
    ("would refuse", "bad dry", "Would refuse (dry run)"), ("error", "err", "Error — refused"),
    ("verified", "ok", "Verified — no drift"), ("drift", "err", "Drift from stored evidence"),
    ("bogus", "err", "bogus"),
])
def test_every_verdict_has_its_banner(verdict: str, cls: str, headline: str) -> None:
    version = _version(7, "a" * 64)
    html = render_scorecard(version=version, evidence=_evidence(version.version_id, 1.5),
                            decision={"verdict": verdict, "alias": None, "forced": False, "reason": "",
                                      "ledger_seq": 4, "summary": ""})
    assert f'<header class="banner {cls}" data-verdict="{verdict}"' in html
    assert f"</span>{headline}</h1>" in html and "ledger #4" in html
    assert "No current holder of the alias" in html and "No ledger entries." in html


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=12),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                    max_leaves=20))
def test_any_json_details_render(details: Any) -> None:
    version = _version(7, "a" * 64)
    base = _evidence(version.version_id, 1.5, with_figures=False)
    ev = replace(base, results=(replace(base.results[0], details={"x": details, "table": details}),))
    html = render_scorecard(version=version, evidence=ev, decision={"verdict": "promoted"})
    assert html.count('data-status="pass"') == 1


def test_details_blocks() -> None:
    blocks = detail_blocks({"n": 3, "table": {"columns": ["a", "ok"], "rows": [[1.23456, True], [None, False]]},
                            "tables": [{"title": "by L", "columns": ["L"], "rows": [[2]]}],
                            "weird": {"nested": [1, 2]}, "flags": {"b": 2, "a": 1}})
    kinds = [(b["kind"], b["title"]) for b in blocks]
    assert kinds == [("kv", ""), ("kv", "flags"), ("table", ""), ("table", "by L"), ("json", "weird")]
    table = blocks[2]["rows"]
    assert [c["text"] for c in table[0]] == ["1.235", "✓"] and [c["text"] for c in table[1]] == ["—", "✗"]
    assert blocks[1]["rows"][0][0] == "a"  # sorted
    assert blocks[4]["text"] == '{"nested": [1, 2]}'  # short JSON stays on one line
    long = detail_blocks({"big": {"k": list(range(40))}})[0]["text"]
    assert long.startswith('{\n  "k": [\n    0,')


def test_comparison_direction_and_delta() -> None:
    cand, champ = _evidence("a" * 64, 1.5), _evidence("c" * 64, 1.7)
    rows = {r["name"]: r for r in comparison_rows(cand, champ)}
    assert rows["rmse"]["better"] == "candidate" and rows["rmse"]["direction"] == "lower"
    assert rows["rmse"]["delta"] == "-0.2"
    assert rows["monotonic_kp"]["better"] == "tie" and rows["monotonic_kp"]["delta"] == "0"
    assert rows["baseline_skill"]["better"] == "n/a"
    worse = {r["name"]: r for r in comparison_rows(champ, cand)}
    assert worse["rmse"]["better"] == "champion" and worse["rmse"]["delta"] == "+0.2"


def test_history_in_seq_order_with_forced_reason() -> None:
    html = _page()
    assert [a["data-seq"] for t, a in _tags(html) if "data-seq" in a] == ["1", "2"]
    assert "storm season hotfix" in html


def test_write_scorecard_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "cards" / "toy-7.html"
    assert write_scorecard(target, "old") == target
    write_scorecard(target, _page())
    assert target.read_text(encoding="utf-8") == _page()
    assert [p.name for p in target.parent.iterdir()] == ["toy-7.html"]


def test_importing_scorecard_does_not_import_torch_or_numpy() -> None:
    code = "import sys, registry.scorecard; print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                         env=_ENV)
    assert out.stdout.strip() == "[]"


def _chromium(tmp_path: Path, *args: str, card: Path | None = None) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        why = "no chromium binary found (shutil.which('chromium') and 'chromium-browser' are None)"
        if os.environ.get("CI"):  # .ci/run installs it: in CI a missing browser is a failure, not a skip
            pytest.fail(why)
        pytest.skip(why)
    card = card or write_scorecard(tmp_path / "card.html", _page())
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", *args, card.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)


def test_headless_chromium_shows_verdict_failures_and_figures(tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom").stdout
    tags = _tags(dom)
    banner = [a for t, a in tags if t == "header" and "data-verdict" in a]
    assert [a["data-verdict"] for a in banner] == ["refused"]
    assert re.search(r"<h1>.*Refused</h1>", dom)
    assert [a["data-gate"] for t, a in tags if t == "tr" and a.get("data-status") == "fail"] == ["monotonic_kp"]
    assert [a["data-gate"] for t, a in tags if t == "tr" and a.get("data-status") == "error"] == ["baseline_skill"]
    assert sum(t == "svg" for t, _ in tags) == 3
    assert sum(t == "path" for t, _ in tags) == 2  # one line per series of the line chart
    assert sum(t == "rect" and a.get("fill", "").startswith("#") for t, a in tags) > 10  # bars and heatmap cells


def test_headless_chromium_shows_a_real_promotions_scorecard(tmp_path: Path, app, ckpts) -> None:
    from registry.promotion import promote

    first = app.store.register("toy", {"weights": ckpts["good"]})[0]
    promote(app, first.ref, "production")
    second = app.store.register("toy", {"weights": ckpts["constant"]})[0]
    decision = promote(app, second.ref, "production")
    dom = _chromium(tmp_path, "--dump-dom", card=decision.scorecard).stdout
    tags = _tags(dom)
    assert [a["data-verdict"] for t, a in tags if t == "header" and "data-verdict" in a] == ["refused"]
    failing = {a["data-gate"] for t, a in tags if t == "tr" and a.get("data-status") == "fail"}
    assert failing == {r.name for r in decision.evidence.results if r.status == "fail"} and failing
    assert "toy@1" in dom and "<svg" in dom  # the holder it was compared with, and the plots


def test_headless_chromium_screenshot_shows_a_red_banner(tmp_path: Path) -> None:
    shot = tmp_path / "card.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", "--hide-scrollbars")
    width, height, top_rows = _png_rows(shot.read_bytes(), 60)
    assert (width, height) == (1200, 900)
    r, g, b = top_rows[40][600]  # inside the banner, right of the headline
    assert r > 150 and g < 80 and b < 80, (r, g, b)  # the "refused" red, so the inline CSS was applied


def _png_rows(data: bytes, n: int) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and the first ``n`` rows of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        ihdr, idat = (body, idat) if kind == b"IHDR" else (ihdr, idat + body if kind == b"IDAT" else idat)
        pos += 12 + length
    width, height, depth, ctype = struct.unpack(">IIBB", ihdr[:10])
    assert depth == 8 and ctype in (2, 6)
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows = zlib.decompress(idat), width * bpp, bytearray(width * bpp), []
    for y in range(n):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a, up = line[i - bpp] if i >= bpp else 0, prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + up - c
            pred = {0: 0, 1: a, 2: up, 3: (a + up) // 2,
                    4: a if abs(p - a) <= min(abs(p - up), abs(p - c)) else up if abs(p - up) <= abs(p - c) else c}[f]
            line[i] = (line[i] + pred) & 0xFF
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def test_list_of_flat_records_renders_as_a_table():
    from registry.scorecard import detail_blocks

    blocks = detail_blocks({"scenarios": [{"id": "TST-901", "measured": 16.1, "result": "pass"},
                                          {"id": "TST-902", "measured": None, "result": "FAIL", "note": "x"}]})
    table = next(b for b in blocks if b["kind"] == "table")
    assert table["title"] == "scenarios" and table["columns"] == ["id", "measured", "result", "note"]
    assert [c["text"] for c in table["rows"][1]] == ["TST-902", "—", "FAIL", "x"]
    assert detail_blocks({"mixed": [{"a": 1}, 2]})[0]["kind"] == "json"


def _with_slices(vid: str, headline: float, by_lead: dict[str, float]) -> Evidence:
    slices = [{"name": k, "value": v, "passed": v <= 2.0, "interval": None} for k, v in by_lead.items()]
    result = GateResult("crps", "1", "pass", headline, 2.0, "<=", "", details={
        "interval": {"lower": headline - 0.1, "upper": headline + 0.1, "level": 0.95}, "slices": slices})
    band = GateResult("spread_skill", "1", "fail", 1.3, [0.8, 1.2], "between", "1.3 misses in [0.8, 1.2]")
    return replace(_evidence(vid, 1.0), results=(result, band))


def test_slices_show_one_by_one_in_the_comparison_so_a_lead_that_got_worse_is_visible() -> None:
    cand = _with_slices("a" * 64, 1.0, {"+6 h": 0.5, "+24 h": 1.9, "+48 h": 1.2})
    champ = _with_slices("c" * 64, 1.1, {"+6 h": 0.7, "+24 h": 1.4, "+72 h": 2.0})
    rows = {r["name"]: r for r in comparison_rows(cand, champ)}
    assert rows["crps"]["better"] == "candidate"  # the headline improved …
    assert rows["crps › +24 h"]["better"] == "champion" and rows["crps › +24 h"]["delta"] == "+0.5"  # … not +24 h
    assert rows["crps › +6 h"]["better"] == "candidate"
    assert rows["crps › +48 h"]["champion"] == "not run" and rows["crps › +72 h"]["candidate"] == "not run"
    names = [r["name"] for r in comparison_rows(cand, champ)]
    assert names.index("crps") < names.index("crps › +6 h") < names.index("spread_skill")


def test_interval_band_and_slices_on_the_card() -> None:
    ev = _with_slices("a" * 64, 1.0, {"+6 h": 0.5, "+24 h": 2.5})
    html = render_scorecard(version=_version(7, "a" * 64), evidence=ev, decision={"verdict": "refused"})
    assert "1 [0.9, 1.1] at 95 %" in html  # the value with its interval
    assert "in [0.8, 1.2]" in html  # a band threshold
    blocks = detail_blocks(ev.results[0].details)
    table = next(b for b in blocks if b.get("title") == "slices")
    assert table["columns"] == ["slice", "value", "interval", "passes"]
    assert [[c["text"] for c in row] for row in table["rows"]] == [["+6 h", "0.5", "", "✓"], ["+24 h", "2.5", "", "✗"]]


def test_suite_figures_are_drawn_once_for_the_run() -> None:
    spec = {"kind": "bar", "title": "CRPS skill of every variable", "labels": ["T2M", "REFC"], "values": [0.2, -0.1]}
    ev = replace(_evidence("a" * 64, 1.0), figures=(spec, {"kind": "unavailable", "title": "broken"}))
    html = render_scorecard(version=_version(7, "a" * 64), evidence=ev, decision={"verdict": "refused"})
    assert html.count('id="suite-figures"') == 1 and "CRPS skill of every variable" in html
    assert "Figure “broken” not drawn: unknown figure kind" in html
    plain = render_scorecard(version=_version(7, "a" * 64), evidence=_evidence("a" * 64, 1.0),
                             decision={"verdict": "refused"})
    assert 'id="suite-figures"' not in plain


def test_headless_chromium_shows_embedded_raster_maps(tmp_path: Path) -> None:
    # the page's CSP lets data: images in (nothing else): a map drawn as a PNG must show, not a broken image
    big = [[(i + j) % 17 for i in range(90)] for j in range(53)]
    fig = {"kind": "heatmap", "title": "map", "z": big}
    ev = replace(_evidence("a" * 64, 1.0), results=(GateResult("map", "1", "pass", 1.0, 2.0, "<=", "",
                                                               figures=(fig,)),))
    html = render_scorecard(version=_version(7, "a" * 64), evidence=ev, decision={"verdict": "promoted"})
    assert "img-src data:;" not in html and "img-src data:\"" in html  # data: images only
    card = write_scorecard(tmp_path / "map.html", html)
    shot = tmp_path / "map.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", "--hide-scrollbars", card=card)
    _, _, rows = _png_rows(shot.read_bytes(), 900)
    viridis_yellow = sum(1 for row in rows for r, g, b in row if r > 200 and g > 180 and b < 90)
    assert viridis_yellow > 200  # the map's top colour is on screen


def test_synthetic_datasets_are_labelled_in_the_header_and_the_digest_table() -> None:
    version = _version(7, "a" * 64)
    plain = replace(_evidence(version.version_id, 1.5), dataset_digests={"real": "1" * 64, "fake": "2" * 64})
    labelled = replace(plain, synthetic_datasets=("fake",))
    decision = {"verdict": "refused", "alias": "production"}
    page = render_scorecard(version=version, evidence=labelled, decision=decision)
    header = page.split("</header>")[0]
    assert "SYNTHETIC DATA" in header and 'data-synthetic="fake"' in header
    assert f"SYNTHETIC · {'2' * 64}" in page and f"SYNTHETIC · {'1' * 64}" not in page  # only the labelled one
    assert "Dataset digests (SYNTHETIC: fake)" in page and "· SYNTHETIC data</title>" in page
    unlabelled = render_scorecard(version=version, evidence=plain, decision=decision)
    assert "SYNTHETIC" not in unlabelled
