"""What the pages show, read through the CLI's own handlers and the store (never written to)."""

from __future__ import annotations

import json
from typing import Any

from registry.errors import UnknownName
from registry.web.cli_calls import run_command
from registry.web.read_cache import ReadCache

PAGE_SIZE = 100
SORTS = {"number": lambda r: r["number"], "created": lambda r: (r["created_at"], r["number"]),
         "name": lambda r: (r["name"], r["number"]), "created_by": lambda r: (r["created_by"], r["number"])}


def scorecard_html(store: Any, ref: str, evidence: str | None = None) -> str:
    """The scorecard `registry scorecard REF [--evidence E]` writes, as text (the latest run, or ``evidence``)."""
    from registry.reports import scorecard_page

    version = store.resolve(ref)
    runs = store.evidence_for(version.version_id)
    if evidence:
        runs = [e for e in runs if e.evidence_id.startswith(evidence.lower())]
    if not runs:
        raise UnknownName(f"no stored evidence for {version.ref}" + (f" matching {evidence}" if evidence else ""))
    return str(scorecard_page(store, runs[-1])[1])


def families(app: Any) -> list[dict[str, Any]]:
    """Every family installed or in use: its plugin version, suites, version count and alias holders."""
    info = run_command(app, "plugins").body
    store = app.store
    counts: dict[str, int] = {}
    with store.catalog.read() as con:
        if con is not None:
            counts = dict(con.execute("SELECT family, count(*) FROM versions GROUP BY family").fetchall())
        holders = store.aliases()
        labels = {vid: store.by_id(vid).ref for vid in set(holders.values()) if vid}
    names = sorted(set(info["families"]) | set(counts))
    return [{"name": n, "plugin": info["families"].get(n, {}), "versions": counts.get(n, 0),
             "suites": [s for s in info["suites"] if s["family"] == n],
             "aliases": [(a, labels.get(v or "", "-")) for (f, a), v in holders.items() if f == n]}
            for n in names]


def latest_verdicts(store: Any, family: str) -> dict[str, dict[str, dict[str, Any]]]:
    """version id → suite → its latest stored run (passed, when, evidence id), from one query."""
    with store.catalog.read() as con:
        if con is None:
            return {}
        rows = con.execute(
            "SELECT version_id, suite, arg_max(passed, created_at || evidence_id), max(created_at), "
            "arg_max(evidence_id, created_at || evidence_id) FROM evidence WHERE family = ? GROUP BY ALL",
            [family]).fetchall()
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for vid, suite, passed, at, eid in rows:
        out.setdefault(vid, {})[suite] = {"passed": bool(passed), "at": at, "evidence_id": eid}
    return out


def _enriched_rows(app: Any, family: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of `registry list FAMILY --json` with number, latest verdicts and search text added, and the suites."""
    verdicts = latest_verdicts(app.store, family)
    rows = []
    for r in run_command(app, "list", positionals=(family,)).body["versions"]:
        mine = verdicts.get(r["version_id"], {})
        rows.append({**r, "number": int(r["version"].rpartition("@")[2]), "verdicts": mine,
                     "states": {("pass" if v["passed"] else "fail") for v in mine.values()} or {"none"},
                     "text": " ".join(str(r[k]) for k in ("version", "version_id", "name", "created_by")).lower()})
    return rows, sorted({s for v in verdicts.values() for s in v})


def version_rows(app: Any, family: str, *, q: str = "", alias: str = "", verdict: str = "", sort: str = "number",
                 descending: bool = False, page: int = 1, cache: ReadCache | None = None) -> dict[str, Any]:
    """One page of a family's versions (the rows of `registry list FAMILY --json`), filtered and sorted."""
    def build() -> tuple[list[dict[str, Any]], list[str]]:
        return _enriched_rows(app, family)

    rows, suites = cache.get(("version_rows", family), build) if cache is not None else build()
    needle = q.strip().lower()
    out = [r for r in rows if (not needle or needle in r["text"]) and (not alias or alias in r["aliases"])
           and (not verdict or verdict in r["states"])]
    if sort != "number":  # the list comes ordered by number
        out = sorted(out, key=SORTS.get(sort, SORTS["number"]))
    if descending:
        out = out[::-1]
    pages = max(1, -(-len(out) // PAGE_SIZE))
    page = min(max(1, page), pages)
    return {"rows": out[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], "total": len(rows), "matching": len(out),
            "page": page, "pages": pages, "suites": suites}


def version_detail(app: Any, ref: str) -> dict[str, Any]:
    """`registry show REF --json` plus every stored run's gate rows."""
    shown = run_command(app, "show", positionals=(ref,)).body
    runs = app.store.evidence_for(shown["version_id"])
    gates = {e.evidence_id: [r.to_dict() for r in e.results] for e in runs}
    return {**shown, "runs": [{**e, "gates": gates.get(e["evidence_id"], [])} for e in shown["evidence"]]}


def alias_history(app: Any, family: str, alias: str) -> dict[str, Any]:
    """`registry history FAMILY ALIAS --json`, the chain's verification and the alias's stored policy (if any)."""
    from registry.errors import IntegrityError

    history = run_command(app, "history", positionals=(family, alias)).body
    check = run_command(app, "verify-ledger").body
    verdicts: dict[str, str] = {}
    with app.store.catalog.read():
        for e in history["entries"]:
            eid = e.get("evidence_id")
            if eid and eid not in verdicts:
                try:
                    verdicts[eid] = app.store.evidence(eid).verdict
                except (IntegrityError, UnknownName) as exc:
                    verdicts[eid] = f"unreadable: {exc}"
    entries = [{**e, "verdict": verdicts.get(e.get("evidence_id") or "", "")} for e in history["entries"]]
    return {**history, "entries": entries, "ledger": check, "policy": policy_in_force(app, family, alias)}


def policy_in_force(app: Any, family: str, alias: str) -> dict[str, Any] | None:
    """The row of `registry policy show FAMILY --json` for ``alias`` (None for a family no plugin provides)."""
    if family not in app.plugins.families():
        return None
    rows = run_command(app, "policy show", positionals=(family,)).body["policies"]
    return next((r for r in rows if r["alias"] == alias), None)


def extract_pins(app: Any) -> dict[tuple[str, str], list[dict[str, str]]]:
    """(key, digest) → the stored runs and version lineages that pin those rows."""
    pins: dict[tuple[str, str], list[dict[str, str]]] = {}
    store = app.store
    with store.catalog.read() as con:
        if con is None:
            return pins
        labels = {vid: f"{f}@{n}" for f, n, vid in con.execute("SELECT family, number, version_id FROM versions")
                  .fetchall()}
        for eid, vid, body in con.execute("SELECT evidence_id, version_id, body FROM evidence ORDER BY created_at")\
                .fetchall():
            data = json.loads(body)
            keys, digests = data.get("extract_keys") or {}, data.get("extract_digests") or {}
            for label, key in keys.items():
                if label in digests:
                    pins.setdefault((key, digests[label]), []).append(
                        {"kind": "run", "evidence_id": eid, "version": labels.get(vid, vid[:12])})
        for vid, lineage in con.execute("SELECT version_id, lineage FROM versions").fetchall():
            for item in json.loads(lineage).get("extracts") or []:
                if isinstance(item, dict) and "key" in item and "digest" in item:
                    pins.setdefault((item["key"], item["digest"]), []).append(
                        {"kind": "lineage", "evidence_id": "", "version": labels.get(vid, vid[:12])})
    return pins


def extracts(app: Any, cache: ReadCache | None = None) -> dict[str, Any]:
    """`registry extracts --json` with, per cached extract, what pins it (pins depend on the catalog alone)."""
    body = run_command(app, "extracts").body
    pins = cache.get("extract_pins", lambda: extract_pins(app)) if cache is not None else extract_pins(app)
    return {**body, "cached": [{**c, "pinned_by": pins.get((c["key"], c["digest"]), [])} for c in body["cached"]]}
