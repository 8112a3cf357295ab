"""SVG small multiples: valid XML for every kind, gaps at NaN, escaped text, deterministic numbers."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from registry.svg import FigureError, colour, fmt_number, nice_scale, render_figure, tick_label

NAN = float("nan")
NS = "{http://www.w3.org/2000/svg}"
LINE = {"kind": "line", "title": "CRPS by lead", "x": [0, 1, 2, 3, 4, 5], "xlabel": "lead (h)", "ylabel": "CRPS",
        "series": {"candidate": [1.0, 2.0, NAN, 4.0, 5.0, 6.0], "champion": [2.0, None, 3.0, 3.5, 4.0, 4.5]},
        "hlines": [{"y": 5.5, "label": "limit"}]}
BAR = {"kind": "bar", "title": "Hits", "labels": ["a", "b", "c", "d"], "values": [3, NAN, -1, 2], "threshold": 2.5}
HIST = {"kind": "histogram", "title": "Rank histogram", "counts": [5, 7, 6, 4, 8], "edges": [0, 1, 2, 3, 4, 5]}
HEAT = {"kind": "heatmap", "title": "Occurrence", "x": [0, 6, 12, 18], "y": [2.5, 3.5],
        "z": [[1, 2, NAN, 4], [5, None, 7, 8]], "xlabel": "MLT", "ylabel": "L", "zlabel": "count"}


def _svg(spec: dict) -> ET.Element:
    return ET.fromstring(render_figure(spec, standalone=True))


@pytest.mark.parametrize("spec", [LINE, BAR, HIST, HEAT], ids=lambda s: s["kind"])
def test_every_kind_is_valid_svg_of_the_small_multiple_size(spec: dict) -> None:
    root = _svg(spec)
    assert root.tag == NS + "svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("320", "200", "0 0 320 200")
    assert root.find(NS + "title").text == spec["title"]
    assert render_figure(spec) == render_figure(dict(spec))  # deterministic


def test_inline_svg_has_no_namespace_url() -> None:
    assert "http" not in render_figure(LINE)
    ET.fromstring(render_figure(LINE))


def test_line_gaps_at_nan_and_none() -> None:
    paths = _svg(LINE).findall(f".//{NS}path")
    assert len(paths) == 2
    cand, champ = (p.get("d") for p in paths)
    assert cand.count("M") == 2 and cand.count("L") == 3  # [0,1] and [3,4,5]: the NaN splits the line
    assert champ.count("M") == 1 and champ.count("L") == 3  # [0] alone (a dot), then [2..5]
    assert "nan" not in render_figure(LINE).lower()


def test_line_legend_only_with_several_series() -> None:
    one = {**LINE, "series": {"candidate": LINE["series"]["candidate"]}}
    texts = [t.text for t in _svg(one).iter(NS + "text")]
    assert "candidate" not in texts
    assert "candidate" in [t.text for t in _svg(LINE).iter(NS + "text")]


def test_line_with_categorical_x_and_all_nan_draws_a_note() -> None:
    cat = {**LINE, "x": ["00Z", "06Z", "12Z", "18Z", "00Z+1", "06Z+1"]}
    assert "06Z" in [t.text for t in _svg(cat).iter(NS + "text")]
    empty = {"kind": "line", "title": "t", "x": [1, 2], "series": {"a": [NAN, None]}}
    assert "no finite data" in render_figure(empty)


def test_bar_skips_nan_and_draws_threshold() -> None:
    root = _svg(BAR)
    bars = [r for r in root.iter(NS + "rect") if r.get("fill") == "#0072B2"]
    assert len(bars) == 3  # NaN bar left out
    assert "n/a" in [t.text for t in root.iter(NS + "text")]
    assert any(ln.get("stroke") == "#D55E00" for ln in root.iter(NS + "line"))
    neg = bars[1]  # the -1 bar hangs below the zero line, so it starts lower than the positive bars' tops
    assert float(neg.get("y")) > float(bars[0].get("y"))


def test_histogram_labels_from_edges() -> None:
    texts = [t.text for t in _svg(HIST).iter(NS + "text")]
    assert "0–1" in texts and "4–5" in texts


def test_heatmap_skips_missing_cells_and_has_colour_bar() -> None:
    root = _svg(HEAT)
    cells = [r for r in root.iter(NS + "rect") if r.find(NS + "title") is not None]
    assert len(cells) == 6
    assert {c.find(NS + "title").text for c in cells} >= {"0, 2.5: 1", "18, 3.5: 8"}
    texts = [t.text for t in root.iter(NS + "text")]
    assert "count" in texts and "1" in texts and "8" in texts


def test_text_is_escaped() -> None:
    spec = {**BAR, "title": '<script>alert("x")</script> & co', "labels": ["<b>", "a&b", "c", "d"]}
    out = render_figure(spec)
    assert "<script>" not in out and "<b>" not in out
    assert _svg(spec).find(NS + "title").text == '<script>alert("x")</script> & co'


@pytest.mark.parametrize("spec", [{"kind": "pie"}, {"title": "no kind"}, {"kind": "line", "series": {}},
                                  {"kind": "heatmap", "z": []}, {"kind": "bar", "values": "abc"}, [1, 2]])
def test_unknown_or_malformed_specs_raise_figure_error(spec: object) -> None:
    with pytest.raises(FigureError):
        render_figure(spec)  # type: ignore[arg-type]


def test_fmt_number() -> None:
    assert [fmt_number(v) for v in (None, 9, 0.123456, 1234567.0, 3.0, NAN, math.inf, True, "NaN", "x")] == \
        ["—", "9", "0.1235", "1.235e+06", "3", "NaN", "∞", "true", "NaN", "x"]


def test_tick_labels() -> None:
    lo, hi, ticks, step = nice_scale(0.123, 0.987)
    assert (lo, hi, step) == (0.0, 1.0, 0.2)
    assert [tick_label(t, step) for t in ticks] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert tick_label(0.25, 0.25) == "0.25" and tick_label(1500, 500) == "1500"
    assert colour(0.0) == "#440154" and colour(1.0) == "#fde725"


@given(st.floats(-1e9, 1e9), st.floats(-1e9, 1e9))
@example(0.0, 5e-324)
@example(7.0, 7.0)
def test_nice_scale_covers_the_data(a: float, b: float) -> None:
    lo, hi, ticks, step = nice_scale(a, b)
    assert lo <= min(a, b) + step * 1e-6 and hi >= max(a, b) - step * 1e-6
    assert 2 <= len(ticks) <= 12 and ticks == sorted(ticks)


_cells = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                   st.sampled_from(["NaN", "Infinity", "x", "<&>"]), st.booleans())
_specs = st.one_of(
    st.fixed_dictionaries({"kind": st.just("line"), "title": st.text(max_size=80),
                           "x": st.lists(_cells, max_size=12),
                           "series": st.dictionaries(st.text(max_size=10), st.lists(_cells, max_size=12), max_size=4),
                           "hlines": st.lists(st.fixed_dictionaries({"y": _cells, "label": st.text(max_size=12)}),
                                              max_size=2)}),
    st.fixed_dictionaries({"kind": st.sampled_from(["bar", "histogram"]), "title": st.text(max_size=20),
                           "labels": st.lists(_cells, max_size=12), "values": st.lists(_cells, max_size=12),
                           "threshold": _cells}),
    st.fixed_dictionaries({"kind": st.just("heatmap"), "title": st.text(max_size=20),
                           "x": st.lists(_cells, max_size=6), "y": st.lists(_cells, max_size=6),
                           "z": st.lists(st.lists(_cells, max_size=6), max_size=6), "zlabel": st.text(max_size=12)}),
)


@given(_specs)
def test_any_stored_spec_gives_valid_svg_or_a_figure_error(spec: dict) -> None:
    try:
        out = render_figure(spec)
    except FigureError:
        return
    for el in ET.fromstring(out).iter():
        for attr in ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "width", "height", "d", "transform"):
            assert not re.search(r"nan|inf", el.get(attr, "").lower()), (attr, el.get(attr))


def test_a_large_heatmap_is_one_embedded_image_not_one_element_per_cell() -> None:
    z = [[(i * 7 + j * 3) % 11 for i in range(90)] for j in range(53)]
    z[0][0] = None
    svg = render_figure({"kind": "heatmap", "title": "53 × 90", "z": z})
    assert svg.count("<image ") == 1 and "<rect x" in svg and svg.count("<title>") == 1  # no per-cell tooltips
    assert len(svg) < 40_000  # was 482 KB as one rect per cell
    assert 'href="data:image/png;base64,' in svg and render_figure({"kind": "heatmap", "z": z}) == render_figure(
        {"kind": "heatmap", "z": z})
    small = render_figure({"kind": "heatmap", "z": [[1, 2], [3, 4]]})
    assert "<image" not in small and small.count("<title>") == 5  # small maps keep a tooltip per cell
