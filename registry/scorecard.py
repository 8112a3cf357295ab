"""Self-contained HTML scorecards rendered deterministically from stored evidence and records."""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from registry.figures import render_figure
from registry.hashing import to_jsonable
from registry.objects import fsync_path
from registry.records import Evidence, GateResult, LedgerEntry, ModelVersion
from registry.svg import FigureError, fmt_number, num

TEMPLATES = Path(__file__).parent / "templates"
# verdict -> (css class, symbol, headline)
VERDICTS: dict[str, tuple[str, str, str]] = {
    "promoted": ("ok", "✓", "Promoted"),
    "verified": ("ok", "✓", "Verified — no drift"),
    "would promote": ("ok dry", "✓", "Would promote (dry run)"),
    "refused": ("bad", "✗", "Refused"),
    "would refuse": ("bad dry", "✗", "Would refuse (dry run)"),
    "error": ("err", "⚠", "Error — refused"),
    "drift": ("err", "⚠", "Drift from stored evidence"),
}
STATUS = {"pass": ("✓", "pass"), "fail": ("✗", "FAIL"), "error": ("⚠", "ERROR")}
COMPARATORS = {">=": "≥", "<=": "≤", "==": "=", ">": ">", "<": "<", "between": "in"}
BETTER_IS = {">=": "higher", ">": "higher", "<=": "lower", "<": "lower"}


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_number
    return env


def _json(v: Any, indent: int | None = None) -> str:
    return json.dumps(to_jsonable(v), indent=indent, sort_keys=True, ensure_ascii=False)


def _cell(v: Any) -> dict[str, str]:
    if isinstance(v, bool):
        return {"text": "✓" if v else "✗", "cls": "yes" if v else "no", "label": "yes" if v else "no"}
    if v is None or isinstance(v, int | float) or (isinstance(v, str) and v in ("NaN", "Infinity", "-Infinity")):
        return {"text": fmt_number(v), "cls": "n", "label": ""}
    return {"text": v if isinstance(v, str) else _json(v), "cls": "", "label": ""}


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _table(t: Any, title: str) -> dict[str, Any] | None:
    if not isinstance(t, Mapping) or not isinstance(t.get("columns"), list) or not isinstance(t.get("rows"), list):
        return None
    if not all(isinstance(r, list | tuple) for r in t["rows"]):
        return None
    return {"kind": "table", "title": str(t.get("title") or title), "columns": [str(c) for c in t["columns"]],
            "rows": [[_cell(c) for c in r] for r in t["rows"]]}


def _records(rows: Any, title: str) -> dict[str, Any] | None:
    """A list of flat JSON objects (one per scenario, path, …) as a table; columns in first-seen order."""
    if not isinstance(rows, list) or not rows or not all(
            isinstance(r, Mapping) and all(_is_scalar(v) for v in r.values()) for r in rows):
        return None
    columns = list(dict.fromkeys(str(k) for r in rows for k in r))
    return {"kind": "table", "title": title, "columns": columns,
            "rows": [[_cell(r.get(c)) for c in columns] for r in rows]}


def _slices(slices: Any) -> dict[str, Any] | None:
    """A gate's slices (``gates.base.Slice``) as one table: name, value, its interval, pass or fail."""
    if not isinstance(slices, list) or not all(isinstance(s, Mapping) and "name" in s for s in slices):
        return None
    rows = [[_cell(s.get("name")), _cell(s.get("value")), _cell(_interval_text(s.get("interval"))),
             _cell(s.get("passed"))] for s in slices]
    return {"kind": "table", "title": "slices", "columns": ["slice", "value", "interval", "passes"], "rows": rows}


def _interval_text(interval: Any) -> str:
    """``[lower, upper] at 95 %`` for a stored interval, empty for none."""
    if not isinstance(interval, Mapping) or not {"lower", "upper", "level"} <= set(interval):
        return ""
    level = num(interval["level"])
    shown = "" if level is None else f" at {level * 100:g} %"
    return f"[{fmt_number(interval['lower'])}, {fmt_number(interval['upper'])}]{shown}"


def detail_blocks(details: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Turn a gate's JSON ``details`` into blocks: ``table`` (column tables), ``kv`` (scalars), ``json`` (the rest)."""
    blocks: list[dict[str, Any]] = []
    scalars = [(k, _cell(v)) for k, v in sorted(details.items()) if _is_scalar(v)]
    if scalars:
        blocks.append({"kind": "kv", "title": "", "rows": scalars})
    for key in sorted(details):
        value = details[key]
        if _is_scalar(value):
            continue
        if key == "slices" and (block := _slices(value)) is not None:
            blocks.append(block)
        elif key == "table" and (block := _table(value, "")) is not None:
            blocks.append(block)
        elif key == "tables" and isinstance(value, list) and all(tables := [
                _table(t, f"table {i + 1}") for i, t in enumerate(value)]):
            blocks.extend(t for t in tables if t is not None)
        elif (block := _records(value, str(key))) is not None:
            blocks.append(block)
        elif isinstance(value, Mapping) and value and all(_is_scalar(v) for v in value.values()):
            blocks.append({"kind": "kv", "title": str(key),
                           "rows": [(str(k), _cell(v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))]})
        else:
            compact = _json(value)
            blocks.append({"kind": "json", "title": str(key), "text": compact if len(compact) <= 100 else
                           _json(value, indent=2)})
    return blocks


def _figures(figs: Sequence[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, spec in enumerate(figs):
        title = str(spec.get("title") or f"figure {i + 1}") if isinstance(spec, Mapping) else f"figure {i + 1}"
        try:
            out.append({"title": title, "svg": Markup(render_figure(spec)), "note": ""})
        except FigureError as exc:
            out.append({"title": title, "svg": None, "note": str(exc)})
    return out


def _slug(name: str, i: int) -> str:
    return f"gate-{i + 1}-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x")


def _gate(r: GateResult, i: int) -> dict[str, Any]:
    symbol, label = STATUS.get(r.status, ("?", str(r.status)))
    interval = _interval_text(r.details.get("interval"))
    return {"name": r.name, "slug": _slug(r.name, i), "version": r.gate_version, "status": r.status,
            "symbol": symbol, "label": label, "value": fmt_number(r.value) + (f" {interval}" if interval else ""),
            "comparator": COMPARATORS.get(r.comparator, r.comparator), "threshold": _limit(r.threshold),
            "message": r.message, "seconds": f"{r.seconds:.2f}",
            "details": detail_blocks(r.details), "figures": _figures(r.figures)}


def _limit(threshold: Any) -> str:
    if isinstance(threshold, list) and len(threshold) == 2:  # a band
        return f"[{fmt_number(threshold[0])}, {fmt_number(threshold[1])}]"
    return fmt_number(threshold)


def _slice_values(r: GateResult | None) -> dict[str, Any]:
    slices = None if r is None else r.details.get("slices")
    if not isinstance(slices, list):
        return {}
    return {str(s["name"]): s.get("value") for s in slices if isinstance(s, Mapping) and "name" in s}


def _better(comparator: str, a: float | None, b: float | None) -> str:
    if a is None or b is None or comparator not in (">=", ">", "<=", "<"):
        return "n/a"
    if a == b:
        return "tie"
    return "candidate" if (a > b) == (comparator in (">=", ">")) else "champion"


def _delta(a: Any, b: Any) -> str:
    fa, fb = num(a), num(b)
    if fa is None or fb is None:
        return "—"
    d = a - b if all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)) else fa - fb
    return ("+" if d > 0 else "") + fmt_number(d)


def comparison_rows(candidate: Evidence, champion: Evidence) -> list[dict[str, Any]]:
    """Gate-by-gate candidate vs champion: values, delta, and which is better where the comparator says."""
    theirs = {r.name: r for r in champion.results}
    rows = []
    for r in candidate.results:
        c = theirs.get(r.name)
        cv = None if c is None else c.value
        rows.append({"name": r.name, "direction": BETTER_IS.get(r.comparator, "n/a"),
                     "candidate": fmt_number(r.value), "cand_status": r.status,
                     "champion": fmt_number(cv) if c else "not run", "champ_status": c.status if c else "",
                     "delta": _delta(r.value, cv), "better": _better(r.comparator, num(r.value), num(cv))})
        mine_s, theirs_s = _slice_values(r), _slice_values(c)
        for name in [*mine_s, *(n for n in theirs_s if n not in mine_s)]:  # one row per slice, so that a
            a, b = mine_s.get(name), theirs_s.get(name)  # regression at one lead shows under a better headline
            rows.append({"name": f"{r.name} › {name}", "direction": BETTER_IS.get(r.comparator, "n/a"),
                         "candidate": fmt_number(a) if name in mine_s else "not run", "cand_status": "",
                         "champion": fmt_number(b) if name in theirs_s else "not run", "champ_status": "",
                         "delta": _delta(a, b), "better": _better(r.comparator, num(a), num(b))})
    mine = {r.name for r in candidate.results}
    rows += [{"name": c.name, "direction": BETTER_IS.get(c.comparator, "n/a"),
              "candidate": "not run", "cand_status": "", "champion": fmt_number(c.value),
              "champ_status": c.status, "delta": "—", "better": "n/a"} for c in champion.results if c.name not in mine]
    return rows


def _kv(d: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), v if isinstance(v, str) else fmt_number(v) if _is_scalar(v) else _json(v))
            for k, v in sorted(d.items(), key=lambda kv: str(kv[0]))]


def _datasets(evidence: Evidence) -> list[tuple[str, str]]:
    """The pinned datasets' digests; one labelled synthetic says SYNTHETIC before its digest."""
    synthetic = set(evidence.synthetic_datasets)
    return [(k, f"SYNTHETIC · {v}" if k in synthetic else v) for k, v in _kv(evidence.dataset_digests)]


def _history(entries: Sequence[LedgerEntry]) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "action": e.action, "alias": e.alias, "from": (e.from_version or "∅")[:12],
             "to": (e.to_version or "∅")[:12], "forced": e.forced, "reason": e.reason, "who": e.who, "at": e.at,
             "evidence": (e.evidence_id or "—")[:12]} for e in sorted(entries, key=lambda e: e.seq)]


def render_scorecard(
    *,
    version: ModelVersion,
    evidence: Evidence,
    decision: Mapping[str, Any],
    champion: ModelVersion | None = None,
    champion_evidence: Evidence | None = None,
    history: Sequence[LedgerEntry] = (),
) -> str:
    """Render the HTML scorecard for one decision; a pure function of its arguments (same inputs, same bytes).

    :param version: the candidate version the evidence is about.
    :param evidence: the stored gate-suite run for the candidate.
    :param decision: ``verdict``, ``alias``, ``forced``, ``reason``, ``ledger_seq``, ``summary`` and
        ``ledger_head`` (``SEQ:HASH`` right after the decision, shown as a witness to keep).
    :param champion: the alias's current holder, if any.
    :param champion_evidence: the champion's stored evidence, for the gate-by-gate comparison.
    :param history: ledger entries to list, shown in ``seq`` order.
    :returns: one self-contained HTML document (inline CSS and SVG, no scripts, no external references).
    """
    verdict = str(decision.get("verdict") or "error")
    cls, symbol, headline = VERDICTS.get(verdict, ("err", "?", verdict))
    gates = [_gate(r, i) for i, r in enumerate(evidence.results)]
    counts = {s: sum(g["status"] == s for g in gates) for s in ("pass", "fail", "error")}
    context = {
        "v": version, "ev": evidence, "verdict": verdict, "cls": cls, "symbol": symbol, "headline": headline,
        "alias": decision.get("alias"), "forced": bool(decision.get("forced")),
        "reason": str(decision.get("reason") or ""), "ledger_seq": decision.get("ledger_seq"),
        "ledger_head": str(decision.get("ledger_head") or ""),
        "summary": str(decision.get("summary") or ""), "gates": gates, "counts": counts,
        "suite_figures": _figures(evidence.figures),
        "failing": [g["name"] for g in gates if g["status"] == "fail"],
        "erroring": [g["name"] for g in gates if g["status"] == "error"],
        "champion": champion, "comparison": comparison_rows(evidence, champion_evidence) if champion_evidence else [],
        "champion_evidence": champion_evidence,
        "files": [{"role": f.role, "filename": f.filename, "size": f"{f.size:,} B", "sha256": f.sha256}
                  for f in sorted(version.files, key=lambda f: (f.role, f.filename))],
        "lineage": _kv(version.lineage), "checkpoints": _kv(evidence.checkpoint_hashes),
        "extracts": _kv(evidence.extract_digests), "environment": _kv(evidence.environment),
        "datasets": _datasets(evidence), "synthetic": list(evidence.synthetic_datasets),
        "ensembles": _kv(evidence.ensemble_digests),
        "tolerance": _kv(evidence.tolerance),
        "history": _history(history),
    }
    return _env().get_template("scorecard.html.j2").render(context)


def write_scorecard(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` atomically (temp file in the same folder, fsync, rename); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # a report is meant to be shared, unlike mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)
    return path
