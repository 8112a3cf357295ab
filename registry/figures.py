"""Verification figures drawn with matplotlib (imported only while one is drawn) as deterministic inline SVG.

Kinds (all values JSON from stored evidence):

- ``reliability``: ``forecast``, ``observed``, ``counts`` per bin, optional ``lower``/``upper`` consistency bars;
  the diagonal, and the counts in a panel below.
- ``rank_histogram``: ``counts`` (m + 1 bins), the flat expectation dashed; optional ``chi2``/``p`` in the title.
- ``roc``: ``curves`` ``{name: {"fpr": [...], "tpr": [...], "auc": a}}``, the no-skill diagonal.
- ``density``: ``x`` (predicted) and ``y`` (observed) points: a scatter up to 2,000 points, a 2-D histogram
  (raster, log counts) beyond; the 1:1 line.
- ``lines``: ``x`` and ``series`` ``{name: {"y": [...], "lower": [...], "upper": [...]}}``: lines with
  shaded bands (``"style": "errorbar"`` for error bars), optional ``hline`` (e.g. 0 skill) and ``"yscale": "log"``
  (for ratios spanning decades; values ≤ 0 are not drawn).
- ``maps``: ``panels`` ``[{"title", "z": rows}]`` drawn as raster images sharing one colour bar; ``scale``
  ``"fixed"`` (``vmin``/``vmax`` or the panels' range) or ``"diverging"`` (symmetric about ``centre``).
- ``dials``: polar panels over radius × magnetic local time (e.g. L × MLT), ``r_edges`` and ``mlt_edges`` (hours)
  bounding the cells of each panel's ``z`` (rows: radius, columns: MLT), sharing one fixed colour bar as ``maps``
  (``vmin``/``vmax`` or the panels' range); midnight down, noon up, dawn (06) right.
- ``paintball``: ``members`` ``[{"name", "mask": rows of 0/1}]``, each member's event area painted in its own
  colour over the others, and an optional ``truth`` mask outlined in black (an ensemble's exceedance areas).

Everything else goes to ``registry.svg``.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from registry.svg import FigureError
from registry.svg import render_figure as render_svg_figure

SIZE = (4.2, 3.0)  # inches at 72 dpi in SVG: about the width of the pure-SVG figures
SCATTER_MAX = 2000


def _arr(v: Any, name: str) -> Any:
    import numpy as np

    a = np.asarray([math.nan if x is None or isinstance(x, str) else x for x in v] if isinstance(v, list) and
                   v and not isinstance(v[0], list) else v, dtype=float)
    if a.size == 0:
        raise FigureError(f"'{name}' is empty")
    return a


def _reliability(fig: Any, spec: Mapping[str, Any]) -> None:
    f, o, n = _arr(spec["forecast"], "forecast"), _arr(spec["observed"], "observed"), _arr(spec["counts"], "counts")
    ax, axn = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="#777", lw=1, ls="--", label="perfect")
    if "lower" in spec and "upper" in spec:
        lo, hi = _arr(spec["lower"], "lower"), _arr(spec["upper"], "upper")
        ax.vlines(f, lo, hi, color="#999", lw=3, alpha=0.6, label="consistency")
    ax.plot(f, o, marker="o", color="#0072B2", label="observed")
    ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="observed frequency")
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    axn.bar(f, n, width=0.04, color="#0072B2")
    axn.set(xlabel="forecast probability", ylabel="count")
    if n.max() / max(n[n > 0].min(), 1) > 100:
        axn.set_yscale("log")


def _rank_histogram(fig: Any, spec: Mapping[str, Any]) -> None:
    c = _arr(spec["counts"], "counts")
    ax = fig.subplots()
    ax.bar(range(len(c)), c, color="#0072B2", width=0.9)
    ax.axhline(c.sum() / len(c), color="#D55E00", ls="--", lw=1, label="flat")
    ax.set(xlabel="rank of the observation", ylabel="count")
    ax.legend(fontsize=7, frameon=False)


def _roc(fig: Any, spec: Mapping[str, Any]) -> None:
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="#777", lw=1, ls="--")
    for name, c in sorted(spec["curves"].items()):
        auc = c.get("auc")
        label = name if auc is None else f"{name} (AUC {auc:.3f})"
        ax.plot(_arr(c["fpr"], "fpr"), _arr(c["tpr"], "tpr"), label=label, drawstyle="default")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="false positive rate", ylabel="true positive rate")
    ax.legend(fontsize=7, loc="lower right", frameon=False)


def _density(fig: Any, spec: Mapping[str, Any]) -> None:
    import numpy as np
    from matplotlib.colors import LogNorm

    x, y = _arr(spec["x"], "x"), _arr(spec["y"], "y")
    if x.shape != y.shape:
        raise FigureError(f"'x' has {x.size} points, 'y' {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    ax = fig.subplots()
    lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    if len(x) <= SCATTER_MAX:
        ax.scatter(x, y, s=4, alpha=0.5, color="#0072B2", linewidths=0)
    else:
        counts, xe, ye = np.histogram2d(x, y, bins=60, range=[[lo, hi], [lo, hi]])
        im = ax.imshow(counts.T, origin="lower", extent=(lo, hi, lo, hi), aspect="auto", cmap="viridis",
                       norm=LogNorm(vmin=1, vmax=max(counts.max(), 1)), interpolation="nearest")
        fig.colorbar(im, ax=ax, label="count")
    ax.plot([lo, hi], [lo, hi], color="#D55E00", lw=1, ls="--")
    ax.set(xlabel=spec.get("xlabel", "predicted"), ylabel=spec.get("ylabel", "observed"))


def _lines(fig: Any, spec: Mapping[str, Any]) -> None:
    x = _arr(spec["x"], "x")
    ax = fig.subplots()
    for name, s in spec["series"].items():
        y = _arr(s["y"], "y")
        if "lower" in s and "upper" in s:
            lo, hi = _arr(s["lower"], "lower"), _arr(s["upper"], "upper")
            if spec.get("style") == "errorbar":
                ax.errorbar(x, y, yerr=[y - lo, hi - y], marker="o", ms=3, capsize=2, label=name)
                continue
            line, = ax.plot(x, y, marker="o", ms=3, label=name)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        else:
            ax.plot(x, y, marker="o", ms=3, label=name)
    if spec.get("hline") is not None:
        ax.axhline(float(spec["hline"]), color="#777", lw=1, ls="--")
    if spec.get("yscale") == "log":
        ax.set_yscale("log")
    ax.set(xlabel=spec.get("xlabel", ""), ylabel=spec.get("ylabel", ""))
    ax.legend(fontsize=7, frameon=False)


def _maps(fig: Any, spec: Mapping[str, Any]) -> None:
    import numpy as np

    panels = spec["panels"]
    if not panels:
        raise FigureError("'panels' is empty")
    zs = [_arr(p["z"], "z") for p in panels]
    if any(z.ndim != 2 for z in zs):
        raise FigureError("each panel's 'z' must be rows of numbers")
    finite = np.concatenate([z[np.isfinite(z)] for z in zs])
    if finite.size == 0:
        raise FigureError("no finite values to map")
    if spec.get("scale") == "diverging":
        centre = float(spec.get("centre", 0.0))
        half = float(spec.get("half_range") or np.max(np.abs(finite - centre)) or 1.0)
        vmin, vmax, cmap = centre - half, centre + half, "RdBu_r"
    else:
        vmin = float(spec["vmin"]) if spec.get("vmin") is not None else float(finite.min())
        vmax = float(spec["vmax"]) if spec.get("vmax") is not None else float(finite.max())
        cmap = "viridis"
    axes = fig.subplots(1, len(zs), squeeze=False)[0]
    im = None
    for ax, z, p in zip(axes, zs, panels, strict=True):
        im = ax.imshow(z, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", aspect="auto")
        ax.set_title(str(p.get("title", "")), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes), label=spec.get("zlabel", ""), shrink=0.9)


def _dials(fig: Any, spec: Mapping[str, Any]) -> None:
    import numpy as np

    panels = spec["panels"]
    if not panels:
        raise FigureError("'panels' is empty")
    r, t = _arr(spec["r_edges"], "r_edges"), _arr(spec["mlt_edges"], "mlt_edges")
    for name, edges in (("r_edges", r), ("mlt_edges", t)):
        if edges.ndim != 1 or len(edges) < 2 or not (np.diff(edges) > 0).all() or not np.isfinite(edges).all():
            raise FigureError(f"'{name}' must be at least two increasing finite edges")
    zs = [_arr(p["z"], "z") for p in panels]
    if any(z.shape != (len(r) - 1, len(t) - 1) for z in zs):
        raise FigureError(f"each panel's 'z' must be {len(r) - 1} rows (radius) × {len(t) - 1} columns (MLT)")
    finite = np.concatenate([z[np.isfinite(z)] for z in zs])
    if finite.size == 0:
        raise FigureError("no finite values to map")
    vmin = float(spec["vmin"]) if spec.get("vmin") is not None else float(finite.min())
    vmax = float(spec["vmax"]) if spec.get("vmax") is not None else float(finite.max())
    axes = [fig.add_subplot(1, len(zs), i + 1, projection="polar") for i in range(len(zs))]
    mesh = None
    for ax, z, p in zip(axes, zs, panels, strict=True):
        mesh = ax.pcolormesh(t / 24.0 * 2 * np.pi, r, np.ma.masked_invalid(z), cmap="viridis", vmin=vmin,
                             vmax=vmax, shading="flat", rasterized=True)  # one image, not 312 curved paths
        ax.set_theta_zero_location("S")  # midnight down; counter-clockwise puts dawn right, noon up
        ax.set_xticks(np.pi * np.array([0.0, 0.5, 1.0, 1.5]), ["00", "06", "12", "18"])
        ax.set_ylim(0.0, float(r[-1]))
        ax.tick_params(labelsize=6)
        ax.set_title(str(p.get("title", "")), fontsize=8)
    fig.colorbar(mesh, ax=axes, label=spec.get("zlabel", ""), shrink=0.8)


def _paintball(fig: Any, spec: Mapping[str, Any]) -> None:
    import numpy as np
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    members = spec["members"]
    if not members:
        raise FigureError("'members' is empty")
    masks = [_arr(m["mask"], "mask") for m in members]
    shape = masks[0].shape
    if len(shape) != 2 or any(m.shape != shape for m in masks):
        raise FigureError("each member's 'mask' must be rows of 0/1 of one shape")
    palette = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#999999")
    ax = fig.subplots()
    image = np.ones(shape + (4,))
    handles = []
    for i, (m, mask) in enumerate(zip(members, masks, strict=True)):
        rgba = to_rgba(palette[i % len(palette)], 0.85)
        image[np.nan_to_num(mask) > 0] = rgba
        handles.append(Patch(color=rgba, label=str(m.get("name", i + 1))[:20]))
    ax.imshow(image, origin="lower", interpolation="nearest", aspect="auto")
    if spec.get("truth") is not None:
        truth = _arr(spec["truth"], "truth")
        if truth.shape != shape:
            raise FigureError(f"'truth' has shape {truth.shape}, the members {shape}")
        if np.nanmax(truth) > 0 and np.nanmin(truth) < 1:  # a contour needs both sides
            ax.contour(np.nan_to_num(truth), levels=[0.5], colors="black", linewidths=0.8)
        handles.append(Patch(facecolor="none", edgecolor="black", label="truth"))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(handles=handles, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


KINDS: dict[str, Callable[[Any, Mapping[str, Any]], None]] = {
    "reliability": _reliability, "rank_histogram": _rank_histogram, "roc": _roc, "density": _density,
    "lines": _lines, "maps": _maps, "dials": _dials, "paintball": _paintball,
}


def _draw(spec: Mapping[str, Any], fmt: str) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure

    kind = str(spec["kind"])
    width = SIZE[0] * (1.6 if kind in ("maps", "dials") and len(spec.get("panels") or ()) > 1 else 1.0)
    with matplotlib.rc_context({"svg.hashsalt": "gated-registry", "svg.fonttype": "none", "font.size": 8,
                                "axes.titlesize": 9, "font.family": "sans-serif", "path.simplify": True}):
        fig = Figure(figsize=(width, SIZE[1] * (1.3 if kind == "reliability" else 1.0)),
                     layout="constrained")
        try:
            KINDS[kind](fig, spec)
        except FigureError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise FigureError(f"malformed {kind} figure: {exc}") from exc
        fig.suptitle(str(spec.get("title") or kind)[:80], fontsize=9, fontweight="bold")
        buf = io.BytesIO()
        meta: dict[str, Any] = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, metadata=meta, dpi=100)
    return buf.getvalue()


def render_png(spec: Mapping[str, Any]) -> bytes:
    """PNG bytes of a matplotlib figure kind (same spec, same bytes)."""
    if not isinstance(spec, Mapping) or spec.get("kind") not in KINDS:
        raise FigureError(f"not a matplotlib figure kind: {spec.get('kind') if isinstance(spec, Mapping) else spec!r}")
    return _draw(spec, "png")


def render_figure(spec: Mapping[str, Any], standalone: bool = False) -> str:
    """SVG markup for any figure spec: the kinds above through matplotlib, the rest through ``registry.svg``.

    ``standalone`` keeps the XML prologue and namespace for a file of its own; inline, the ``<svg>`` element only.
    """
    if not isinstance(spec, Mapping) or spec.get("kind") not in KINDS:
        return render_svg_figure(spec, standalone)
    svg = _draw(spec, "svg").decode("utf-8")
    if standalone:
        return svg
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)  # RDF namespaces: no links
    svg = re.sub(r' xmlns(:xlink)?="[^"]*"', "", svg)  # HTML's parser knows the SVG and xlink namespaces
    svg = svg.replace("*{stroke-linejoin", ".mplfig *{stroke-linejoin", 1)  # its style stays in its figure
    return re.sub(r"^<svg ", '<svg class="fig mplfig" role="img" ', svg, count=1)
