"""Matplotlib figure kinds: well-formed inline SVG, the same bytes in any process, rasters for maps, clear errors."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from registry.figures import KINDS, render_figure, render_png
from registry.svg import FigureError

ROOT = Path(__file__).resolve().parents[2]
GRID = [[(i - 45) * (j - 26) / 100 for i in range(90)] for j in range(53)]
SPECS = {
    "reliability": {"kind": "reliability", "title": "Reliability", "forecast": [0.05, 0.5, 0.95],
                    "observed": [0.1, 0.45, 0.9], "counts": [500, 30, 2], "lower": [0.02, 0.3, 0.5],
                    "upper": [0.09, 0.7, 1.0]},
    "rank_histogram": {"kind": "rank_histogram", "title": "Ranks", "counts": [30, 20, 18, 22, 35]},
    "roc": {"kind": "roc", "title": "ROC", "curves": {"candidate": {"fpr": [0, 0.1, 1], "tpr": [0, 0.7, 1],
                                                                    "auc": 0.8}}},
    "density": {"kind": "density", "title": "predicted vs observed", "x": [0.1 * i for i in range(2500)],
                "y": [0.1 * i + (i % 7) for i in range(2500)]},
    "lines": {"kind": "lines", "title": "CRPS skill by lead", "x": [6, 12, 24], "hline": 0,
              "series": {"skill": {"y": [0.3, 0.2, 0.05], "lower": [0.2, 0.1, -0.05], "upper": [0.4, 0.3, 0.15]}}},
    "maps": {"kind": "maps", "title": "quiet vs storm", "scale": "diverging",
             "panels": [{"title": "quiet", "z": GRID}, {"title": "storm", "z": [[2 * v for v in r] for r in GRID]}]},
    "dials": {"kind": "dials", "title": "L x MLT", "r_edges": [1.75 + 0.5 * i for i in range(14)],
              "mlt_edges": list(range(25)), "panels": [{"title": "quiet", "z": [[i * j for j in range(24)]
                                                                                for i in range(13)]}]},
    "paintball": {"kind": "paintball", "title": "REFC over 35 dBZ", "truth": [[int(i > 4 and j > 3) for i in range(9)]
                                                                         for j in range(8)],
                  "members": [{"name": f"member {k}", "mask": [[int(i > 3 + k and j > 2) for i in range(9)]
                                                               for j in range(8)]} for k in range(3)]},
}


def test_every_kind_has_a_spec_here():
    assert set(SPECS) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_each_kind_is_well_formed_inline_svg(kind):
    svg = render_figure(SPECS[kind])
    assert svg.startswith('<svg class="fig mplfig" role="img" ') and svg.rstrip().endswith("</svg>")
    xlinked = svg.replace("<svg ", '<svg xmlns:xlink="http://www.w3.org/1999/xlink" ', 1)  # as HTML reads it
    root = ET.fromstring(xlinked)
    assert root.tag.endswith("svg") and SPECS[kind]["title"] in svg  # fonttype none: titles stay text
    assert "Date" not in svg and "<dc:date>" not in svg
    assert "http" not in svg and "<metadata" not in svg and "<script" not in svg  # nothing outside the page
    assert re.findall(r"url\((.)", svg) == ["#"] * len(re.findall(r"url\(", svg))  # only its own clip paths
    assert ".mplfig *{" in svg and "\n  *{" not in svg  # matplotlib's style scoped to its figures
    standalone = render_figure(SPECS[kind], standalone=True)
    assert standalone.startswith("<?xml") and 'xmlns="http://www.w3.org/2000/svg"' in standalone


def test_maps_are_rasters_sharing_one_colour_bar():
    svg = render_figure(SPECS["maps"])
    assert svg.count("<image ") == 3  # two panels and the colour bar's gradient, not 2 × 4,770 cells
    assert len(svg) < 150_000


def test_large_scatter_becomes_a_two_dimensional_histogram():
    few = render_figure({**SPECS["density"], "x": [1.0, 2.0], "y": [1.5, 2.5]})
    assert "<image " not in few
    assert render_figure(SPECS["density"]).count("<image ") >= 1


def test_the_same_bytes_in_processes_with_other_hash_seeds():
    code = ("import hashlib, json, sys; from registry.figures import render_figure; "
            "specs = json.loads(sys.stdin.read()); "
            "print(hashlib.sha256(''.join(render_figure(s) for s in specs).encode()).hexdigest())")
    import json

    payload = json.dumps([SPECS["lines"], SPECS["roc"]])
    digests = {subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, text=True,
                              check=True, timeout=120, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2")}
    here = hashlib.sha256("".join(render_figure(s) for s in (SPECS["lines"], SPECS["roc"])).encode()).hexdigest()
    assert digests == {here}
    assert render_png(SPECS["rank_histogram"]) == render_png(SPECS["rank_histogram"])
    assert render_png(SPECS["rank_histogram"]).startswith(b"\x89PNG")


def test_other_kinds_still_go_to_the_pure_svg_renderer():
    assert render_figure({"kind": "bar", "labels": ["a"], "values": [1.0]}).startswith("<svg class=\"fig\"")


@pytest.mark.parametrize(("spec", "message"), [
    ({"kind": "reliability", "forecast": [0.5]}, "malformed reliability"),
    ({"kind": "maps", "panels": []}, "'panels' is empty"),
    ({"kind": "maps", "panels": [{"z": [1, 2]}]}, "rows of numbers"),
    ({"kind": "maps", "panels": [{"z": [[None]]}]}, "no finite values"),
    ({"kind": "density", "x": [1.0, 2.0], "y": [1.0]}, "'x' has 2 points, 'y' 1"),
    ({"kind": "rank_histogram", "counts": []}, "'counts' is empty"),
    ({"kind": "pie"}, "unknown figure kind"),
])
def test_malformed_specs_are_figure_errors(spec, message):
    with pytest.raises(FigureError, match=message):
        render_figure(spec)
    if spec["kind"] in KINDS:
        with pytest.raises(FigureError):
            render_png(spec)


def test_importing_figures_does_not_import_matplotlib_or_numpy():
    code = "import sys, registry.figures; print(sorted({'matplotlib', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_dials_are_polar_rasters_sharing_one_colour_bar():
    r_edges, mlt_edges = [1.75 + 0.5 * i for i in range(14)], list(range(25))
    z = [[(i + j) / 36 for j in range(24)] for i in range(13)]
    spec = {"kind": "dials", "title": "L x MLT", "r_edges": r_edges, "mlt_edges": mlt_edges, "vmin": 0, "vmax": 1,
            "panels": [{"title": "quiet", "z": z}, {"title": "storm", "z": z}]}
    svg = render_figure(spec)
    assert svg.count("<image ") == 3  # two rasterised panels and the colour bar, not 2 × 312 curved cells
    assert all(f">{hour}</text>" in svg for hour in ("00", "06", "12", "18"))
    assert len(svg) < 150_000
    assert render_png(spec)[:8] == b"\x89PNG\r\n\x1a\n"
    for bad, message in (({**spec, "panels": [{"z": z[:-1]}]}, "13 rows"), ({**spec, "r_edges": r_edges[::-1]},
                                                                             "increasing"),
                         ({**spec, "panels": []}, "'panels' is empty")):
        with pytest.raises(FigureError, match=message):
            render_figure(bad)


def test_paintball_paints_each_member_and_outlines_the_truth():
    spec = SPECS["paintball"]
    svg = render_figure(spec)
    assert svg.count("<image ") == 1 and "member 2" in svg and ">truth<" in svg
    assert render_png(spec)[:8] == b"\x89PNG\r\n\x1a\n"
    no_truth = {**spec, "truth": None}
    assert ">truth<" not in render_figure(no_truth)
    for bad, message in (({**spec, "members": []}, "'members' is empty"),
                         ({**spec, "members": [{"mask": [[1, 0]]}, {"mask": [[1]]}]}, "of one shape"),
                         ({**spec, "truth": [[1, 0]]}, "'truth' has shape")):
        with pytest.raises(FigureError, match=message):
            render_figure(bad)


def test_lines_on_a_log_scale_span_decades():
    spec = {"kind": "lines", "title": "power ratio", "x": [1, 2, 3], "hline": 1.0, "yscale": "log",
            "series": {"T2M": {"y": [1.0, 30.0, 1e6]}}}
    log, linear = render_figure(spec), render_figure({**spec, "yscale": None})
    digits = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", log)  # "1", "0" and the exponent as a superscript
    assert ["".join(digits[i:i + 3]) for i in range(0, 9, 3)] == ["100", "101", "102"]
    assert ">1e6<" in linear and ">1e6<" not in log  # linear: one offset label over ticks 0 … 1
