"""Deterministic pure-Python SVG small multiples (line, bar, histogram, heatmap) for scorecards."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from registry.png import data_uri, encode_png

W, H = 320, 200
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 2", "8 3 2 3")
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NONFINITE = {"NaN": "NaN", "Infinity": "∞", "-Infinity": "−∞"}
Box = tuple[float, float, float, float]
RASTER_CELLS = 2000  # heatmaps with more cells are drawn as one embedded PNG


class FigureError(ValueError):
    """A figure spec that cannot be drawn (unknown kind or malformed data)."""


def fmt_number(v: Any) -> str:
    """Show a number for people: ints as ints, floats to 4 significant digits, None as an em dash."""
    if v is None or isinstance(v, bool):
        return "—" if v is None else str(v).lower()
    if isinstance(v, float):
        v = str(v) if not math.isfinite(v) else f"{v:.4g}"  # Python spells them nan, inf, -inf
        return {"nan": "NaN", "inf": "∞", "-inf": "−∞"}.get(v, v)
    return _NONFINITE.get(v, str(v)) if isinstance(v, str) else str(v)  # JSON spells NaN as "NaN"


def num(v: Any) -> float | None:
    """``v`` as a finite float, or None for anything else (None, NaN, infinities, strings, booleans)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _numberish(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v in _NONFINITE) or (
        isinstance(v, int | float) and not isinstance(v, bool))


def nice_scale(lo: float, hi: float, target: int = 5) -> tuple[float, float, list[float], float]:
    """Round ``[lo, hi]`` out to a step of 1, 2, 2.5 or 5 × 10^k; return (lo, hi, ticks, step)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo <= max(abs(lo), abs(hi)) * 1e-12 or hi - lo < 1e-300:  # one value: pad around it
        pad = abs(lo) * 0.1 if abs(lo) > 1e-300 else 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [float(f"{i * step:.12g}") + 0.0 for i in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks, step


def tick_label(v: float, step: float) -> str:
    """Format a tick with just enough decimals for ``step``."""
    if abs(v) < step * 1e-6:
        v = 0.0
    if abs(v) >= 1e5 or step < 1e-4:
        return f"{v:.3g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step / 10.0 ** math.floor(math.log10(step) + 1e-9), 6) == 2.5:
        decimals += 1
    return f"{v:.{decimals}f}"


def _c(v: float) -> str:
    if not math.isfinite(v):
        raise FigureError("values too large to plot")
    return f"{v:.1f}".replace("-0.0", "0.0")


def _t(s: Any, limit: int = 60) -> str:
    text = _CONTROL.sub("\ufffd", str(s))  # characters XML cannot hold
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text, quote=True)


def _text(x: float, y: float, s: Any, size: int = 9, anchor: str = "middle", extra: str = "",
          limit: int = 60) -> str:
    return (f'<text x="{_c(x)}" y="{_c(y)}" font-size="{size}" text-anchor="{anchor}"{extra}>'
            f"{_t(s, limit)}</text>")


def _ln(x1: float, y1: float, x2: float, y2: float, stroke: str = "#444", extra: str = "") -> str:
    return f'<line x1="{_c(x1)}" y1="{_c(y1)}" x2="{_c(x2)}" y2="{_c(y2)}" stroke="{stroke}"{extra}/>'


def _open(spec: Mapping[str, Any], standalone: bool) -> list[str]:
    title = str(spec.get("title") or spec.get("kind") or "figure")
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    return [f'<svg{ns} class="fig" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
            f'aria-label="{_t(title, 200)}" font-family="sans-serif" fill="#222">',
            f"<title>{_t(title, 200)}</title>",
            _text(W / 2, 13, title, 11, extra=' font-weight="bold"', limit=52)]


def _labels(parts: list[str], spec: Mapping[str, Any], box: Box) -> None:
    x0, y0, x1, y1 = box
    if spec.get("xlabel"):
        parts.append(_text((x0 + x1) / 2, H - 6, spec["xlabel"], limit=50))
    if spec.get("ylabel"):
        mid = (y0 + y1) / 2
        parts.append(_text(10, mid, spec["ylabel"], extra=f' transform="rotate(-90 10 {_c(mid)})"', limit=34))


def _done(parts: list[str], box: Box | None = None) -> str:
    if box is not None:
        parts.append(_text((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, "no finite data", 10))
    return "".join(parts) + "</svg>"


def _yaxis(parts: list[str], box: Box, lo: float, hi: float, ticks: list[float],
           step: float) -> Callable[[float], float]:
    x0, y0, x1, y1 = box

    def sy(v: float) -> float:
        return y1 - (v - lo) / (hi - lo) * (y1 - y0)

    for t in ticks:
        y = sy(t)
        parts.append(_ln(x0, y, x1, y, "#e3e3e3"))
        parts.append(_text(x0 - 3, y + 3, tick_label(t, step), anchor="end"))
    parts += [_ln(x0, y0, x0, y1), _ln(x0, y1, x1, y1)]
    return sy


def _thin(n: int, most: int = 6) -> list[int]:
    if n <= most:
        return list(range(n))
    k = math.ceil(n / most)
    return list(range(0, n, k))


def _legend(parts: list[str], names: Sequence[str], top: float) -> float:
    if len(names) < 2:
        return top
    x, y = 46.0, top + 8
    for i, name in enumerate(names):
        label = str(name)[:24]
        width = 22 + 5.5 * len(label) + 8
        if x + width > W - 6 and x > 46:
            x, y = 46.0, y + 12
        dash = DASHES[i % len(DASHES)]
        parts.append(_ln(x, y - 3, x + 16, y - 3, PALETTE[i % len(PALETTE)],
                         ' stroke-width="2"' + (f' stroke-dasharray="{dash}"' if dash else "")))
        parts.append(_text(x + 20, y, label, anchor="start"))
        x += width
    return y + 6


def line_chart(spec: Mapping[str, Any], standalone: bool = False) -> str:
    """A line chart: ``x``, ``series`` {name: ys}, ``xlabel``, ``ylabel``, optional ``hlines``; NaN → gap."""
    series = spec.get("series")
    if series is None and "y" in spec:
        series = {"": spec["y"]}
    if not isinstance(series, Mapping) or not series:
        raise FigureError("line figure needs a non-empty 'series' mapping")
    names = list(series)
    n = max(len(series[k]) for k in names)
    xs = list(spec.get("x") or range(n))
    numeric = all(_numberish(v) for v in xs) and sum(num(v) is not None for v in xs) >= 2
    xpos = [num(v) for v in xs] if numeric else [float(i) for i in range(len(xs))]
    hlines = [h for h in spec.get("hlines") or () if isinstance(h, Mapping) and num(h.get("y")) is not None]
    ys = [num(v) for k in names for v in series[k]] + [num(h["y"]) for h in hlines]
    finite = [v for v in ys if v is not None]
    parts = _open(spec, standalone)
    top = _legend(parts, [str(k) for k in names], 18) + 8
    box: Box = (46.0, top, W - 12.0, H - 34.0)
    x0, y0, x1, y1 = box
    fx = [v for v in xpos if v is not None]
    if not finite or not fx:
        return _done(parts, box)
    sy = _yaxis(parts, box, *nice_scale(min(finite), max(finite)))
    _labels(parts, spec, box)
    xl, xh = min(fx), max(fx)
    if numeric:
        xl, xh, xticks, xstep = nice_scale(xl, xh)
        xtl = [(t, tick_label(t, xstep)) for t in xticks]
    else:
        xh = max(xh, xl + 1)
        xtl = [(float(i), str(xs[i])) for i in _thin(len(xs))]

    def sx(v: float) -> float:
        return x0 + (v - xl) / (xh - xl) * (x1 - x0)

    for t, label in xtl:
        parts.append(_ln(sx(t), y1, sx(t), y1 + 3))
        parts.append(_text(sx(t), y1 + 13, label, limit=12))
    for h in hlines:
        y = sy(num(h["y"]) or 0.0)
        parts.append(_ln(x0, y, x1, y, "#555", ' stroke-dasharray="4 3"'))
        if h.get("label"):
            parts.append(_text(x1 - 2, y - 3, h["label"], 8, anchor="end", extra=' fill="#555"', limit=30))
    for i, name in enumerate(names):
        colour, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        pts = [(xpos[j], num(v)) for j, v in enumerate(series[name]) if j < len(xpos)]
        segs: list[list[tuple[float, float]]] = [[]]
        for px, py in pts:
            if px is None or py is None:
                segs.append([])
            else:
                segs[-1].append((sx(px), sy(py)))
        d = " ".join("M" + " L".join(f"{_c(a)},{_c(b)}" for a, b in s) for s in segs if len(s) > 1)
        parts.append(f'<g><title>{_t(name, 100)}</title>')
        if d:
            parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.6"'
                         + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        dots = [p for s in segs for p in s] if len(pts) <= 24 else [s[0] for s in segs if len(s) == 1]
        parts.extend(f'<circle cx="{_c(a)}" cy="{_c(b)}" r="2" fill="{colour}"/>' for a, b in dots)
        parts.append("</g>")
    return _done(parts)


def bar_chart(spec: Mapping[str, Any], standalone: bool = False) -> str:
    """A bar chart: ``labels``, ``values`` (or ``counts``), optional dashed ``threshold``; NaN → no bar."""
    values = spec.get("values", spec.get("counts")) or []
    if not isinstance(values, list | tuple):
        raise FigureError("bar figure needs a list of 'values'")
    labels = spec.get("labels")
    if labels is None and spec.get("edges"):
        e = list(spec["edges"])
        labels = [f"{fmt_number(e[i])}–{fmt_number(e[i + 1])}" for i in range(len(e) - 1)]
    labels = list(labels if labels is not None else range(1, len(values) + 1))
    values = list(values)
    n = max(len(values), len(labels))
    if n == 0:
        raise FigureError("bar figure needs 'values'")
    vals = [num(values[i]) if i < len(values) else None for i in range(n)]
    thr = num(spec.get("threshold"))
    finite = [v for v in vals if v is not None] + [0.0] + ([thr] if thr is not None else [])
    parts = _open(spec, standalone)
    box: Box = (46.0, 26.0, W - 12.0, H - 34.0)
    x0, y0, x1, y1 = box
    sy = _yaxis(parts, box, *nice_scale(min(finite), max(finite)))
    _labels(parts, spec, box)
    band = (x1 - x0) / n
    shown = set(_thin(n, max(1, int((x1 - x0) // 28))))
    for i, (label, v) in enumerate(zip(labels + [""] * (n - len(labels)), vals, strict=True)):
        cx = x0 + band * (i + 0.5)
        if v is not None:
            top, bot = sorted((sy(v), sy(0.0)))
            parts.append(f'<rect x="{_c(cx - band * 0.35)}" y="{_c(top)}" width="{_c(band * 0.7)}" '
                         f'height="{_c(max(bot - top, 0.5))}" fill="#0072B2"><title>{_t(label, 80)}: '
                         f"{_t(fmt_number(values[i]))}</title></rect>")
        elif i < len(values):
            parts.append(_text(cx, sy(0.0) - 3, "n/a", 8, extra=' fill="#777"'))
        if i in shown:
            parts.append(_text(cx, y1 + 12, label, limit=max(2, int(band * max(1, n // len(shown)) / 5.5))))
    if thr is not None:
        y = sy(thr)
        parts.append(_ln(x0, y, x1, y, "#D55E00", ' stroke-width="1.5" stroke-dasharray="5 3"'))
        parts.append(_text(x1 - 2, y - 3, spec.get("threshold_label") or f"threshold {fmt_number(thr)}", 8,
                           anchor="end", extra=' fill="#D55E00"', limit=30))
    return _done(parts)


def colour(t: float) -> str:
    """Viridis-like colour for ``t`` in [0, 1] as ``#rrggbb``."""
    t = min(max(t, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(t), len(VIRIDIS) - 2)
    f = t - i
    rgb = (round(a + (b - a) * f) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1], strict=True))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _raster(z: list[list[Any]], nx: int, zl: float, span: float, box: Box) -> str:
    rows = []
    for row in reversed(z):  # PNG rows run top to bottom, z rows bottom to top
        pixels = []
        for i in range(nx):
            f = num(row[i]) if i < len(row) else None
            hexc = colour((f - zl) / span) if f is not None else None
            pixels.append((0, 0, 0, 0) if hexc is None else (int(hexc[1:3], 16), int(hexc[3:5], 16),
                                                               int(hexc[5:7], 16), 255))
        rows.append(pixels)
    x0, y0, x1, y1 = box
    return (f'<image x="{_c(x0)}" y="{_c(y0)}" width="{_c(x1 - x0)}" height="{_c(y1 - y0)}" '
            f'preserveAspectRatio="none" style="image-rendering:pixelated" href="{data_uri(encode_png(rows))}"/>')


def heatmap(spec: Mapping[str, Any], standalone: bool = False) -> str:
    """A heatmap: ``z`` rows over ``y`` (bottom to top), columns over ``x``, a colour bar for ``zlabel``."""
    z = [list(r) for r in spec.get("z") or ()]
    if not z or not any(z):
        raise FigureError("heatmap figure needs a non-empty 'z'")
    ny, nx = len(z), max(len(r) for r in z)
    xs = list(spec.get("x") or range(nx))
    ys = list(spec.get("y") or range(ny))
    cells = [num(v) for r in z for v in r]
    finite = [v for v in cells if v is not None]
    parts = _open(spec, standalone)
    box: Box = (46.0, 26.0, W - 62.0, H - 34.0)
    x0, y0, x1, y1 = box
    frame = f'<rect x="{_c(x0)}" y="{_c(y0)}" width="{_c(x1 - x0)}" height="{_c(y1 - y0)}" '
    parts.append(frame + 'fill="#eeeeee"/>')
    if not finite:
        return _done(parts, box)
    _labels(parts, spec, box)
    zl, zh = min(finite), max(finite)
    span = (zh - zl) or 1.0
    cw, ch = (x1 - x0) / nx, (y1 - y0) / ny
    if nx * ny > RASTER_CELLS:  # one image, not one element per cell (a 53 × 90 map was 482 KB as rects)
        parts.append(_raster(z, nx, zl, span, box))
    else:
        parts.append('<g shape-rendering="crispEdges">')
    for j, row in enumerate(z if nx * ny <= RASTER_CELLS else ()):
        for i, v in enumerate(row):
            f = num(v)
            if f is None:
                continue
            label = f"{fmt_number(xs[i]) if i < len(xs) else i}, {fmt_number(ys[j]) if j < len(ys) else j}"
            parts.append(f'<rect x="{_c(x0 + i * cw)}" y="{_c(y1 - (j + 1) * ch)}" width="{_c(cw + 0.3)}" '
                         f'height="{_c(ch + 0.3)}" fill="{colour((f - zl) / span)}">'
                         f"<title>{_t(label)}: {_t(fmt_number(f))}</title></rect>")
    if nx * ny <= RASTER_CELLS:
        parts.append("</g>")
    parts.append(frame + 'fill="none" stroke="#444"/>')
    for i in _thin(len(xs)):
        parts.append(_text(x0 + (i + 0.5) * cw, y1 + 12, fmt_number(xs[i]), limit=8))
    for j in _thin(len(ys)):
        parts.append(_text(x0 - 3, y1 - (j + 0.5) * ch + 3, fmt_number(ys[j]), anchor="end", limit=8))
    bx, steps = W - 54.0, 32
    sh = (y1 - y0) / steps
    parts.extend(f'<rect x="{_c(bx)}" y="{_c(y1 - (k + 1) * sh)}" width="10" height="{_c(sh + 0.3)}" '
                 f'fill="{colour((k + 0.5) / steps)}"/>' for k in range(steps))
    for frac, v in ((0.0, zl), (0.5, zl + span / 2 if zh > zl else zl), (1.0, zh)):
        parts.append(_text(bx + 13, y1 - frac * (y1 - y0) + 3, fmt_number(v), 8, anchor="start", limit=9))
    if spec.get("zlabel"):
        parts.append(_text(W - 4, y1 + 24, spec["zlabel"], 8, anchor="end", limit=16))
    return _done(parts)


KINDS: dict[str, Callable[..., str]] = {"line": line_chart, "bar": bar_chart, "histogram": bar_chart,
                                        "heatmap": heatmap}


def render_figure(spec: Mapping[str, Any], standalone: bool = False) -> str:
    """SVG markup for a figure spec (see ``gates.base.Outcome``); ``FigureError`` when it cannot be drawn.

    ``standalone`` adds the SVG namespace for a file of its own; inline in HTML it is not needed.
    """
    if not isinstance(spec, Mapping):
        raise FigureError("figure spec is not an object")
    kind = spec.get("kind")
    draw = KINDS.get(kind) if isinstance(kind, str) else None
    if draw is None:
        raise FigureError(f"unknown figure kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    try:
        return draw(spec, standalone)
    except FigureError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError) as exc:
        raise FigureError(f"malformed {kind} figure: {exc}") from exc
