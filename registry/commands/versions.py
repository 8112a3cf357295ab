"""``registry register | list | show | predict``: versions and what they are made of."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("register", help="validate checkpoint files and store them as a new immutable version",
                       description="The family loads and checks every file (architecture, shapes, parameter "
                       "count) before anything is written. Registering the same bytes again returns the same version.")
    p.add_argument("family")
    p.add_argument("checkpoint", nargs="+", metavar="CHECKPOINT",
                   help="PATH for the family's first file role, or ROLE=PATH (e.g. regressor=reg.pth)")
    p.add_argument("--config", type=Path, help="the version's config file")
    p.add_argument("--meta", type=Path, help="the version's metadata file (training-reported metrics)")
    p.add_argument("--name", default="", help="a human-readable name")
    p.add_argument("--extract", action="append", default=[], metavar="NAME",
                   help="an extract the version was trained on (repeatable)")
    p.add_argument("--code-version", default="", help="version of the training code (e.g. a git commit)")
    add_common(p)
    p.set_defaults(handler=run_register)

    p = sub.add_parser("list", help="list registered versions and their aliases")
    p.add_argument("family", nargs="?")
    add_common(p)
    p.set_defaults(handler=run_list)

    p = sub.add_parser("show", help="show one version: files, lineage, aliases, stored gate runs")
    p.add_argument("ref", metavar="FAMILY@VERSION")
    add_common(p)
    p.set_defaults(handler=run_show)

    p = sub.add_parser("predict", help="run a registered version on the family's input format",
                       description="Each family's input columns and units are listed below.")
    p.__class__ = type("PredictParser", (type(p),), {"format_help": _help_with_input_columns})
    p.add_argument("ref", metavar="FAMILY@VERSION")
    p.add_argument("--input", required=True, type=Path,
                   help="input file in the family's format (with --out: a Zarr v3 group or .npy stacks)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    g = p.add_argument_group("ensembles of arrays (families that generate them)")
    g.add_argument("--out", type=Path, default=None, metavar="ENS.zarr",
                   help="write the generated ensemble (members × variables × y × x) as a Zarr v3 store here")
    g.add_argument("--members", type=int, default=None, help="ensemble members (default 10)")
    g.add_argument("--steps", type=int, default=None, help="sampler steps (default: the version's)")
    g.add_argument("--seed", type=int, default=None, help="sampling seed; member i depends on (seed, i) only")
    g.add_argument("--option", action="append", default=[], metavar="K=V", help="the family's own option")
    add_common(p)
    p.set_defaults(handler=run_predict)


def _help_with_input_columns(parser: Any) -> str:
    """``predict --help``: argparse's text, then each installed family's input columns (plugins load only here)."""
    from registry.app import App
    from registry.commands.plugins_cmd import column_lines, input_columns

    text = super(type(parser), parser).format_help()
    try:
        families = App().plugins.families()
    except Exception as exc:  # help must print even when a plugin is broken
        return text + f"\n(input columns unavailable: {type(exc).__name__}: {exc})\n"
    lines = ["", "input columns by family:"]
    for name, fam in sorted(families.items()):
        cols = input_columns(fam)
        if not cols:
            lines.append(f"  {name}: (not listed)")
            continue
        lines += column_lines(name, cols, head=f"  {name}")
        if len(cols) <= 24:  # a long list is `registry plugins --columns FAMILY`'s, not the help's
            lines += [f"      {c.name:<18} {c.unit:<10} {c.description}" for c in cols]
    return text + "\n".join(lines) + "\n"


def collect_files(family: Any, positional: list[str], config: Path | None, meta: Path | None) -> dict[str, Path]:
    """Map the command line's files onto the family's roles; one clear error for any mismatch."""
    from registry.errors import InvalidInput

    roles = {r.name: r for r in family.roles}
    files: dict[str, Path] = {}
    first = family.roles[0].name
    for item in positional:
        role, sep, text = item.partition("=")
        if not sep or role not in roles:
            role, text = first, item
        if role in files:
            raise InvalidInput(f"two files given for role {role!r} of family {family.name!r}")
        files[role] = Path(text)
    for role, given in (("config", config), ("meta", meta)):
        if given is not None:
            if role not in roles:
                raise InvalidInput(f"family {family.name!r} takes no --{role} file")
            files[role] = given
    unknown = sorted(set(files) - set(roles))
    missing = sorted(r.name for r in family.roles if r.required and r.name not in files)
    if unknown or missing:
        raise InvalidInput(f"family {family.name!r} takes files {', '.join(roles)}; "
                           + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"))
    for role, path in files.items():
        if not path.is_file():
            raise InvalidInput(f"{role} file {path} does not exist")
    return files


def run_register(args: argparse.Namespace, out: Output) -> int:
    from registry import __version__
    from registry.app import App
    from registry.naming import check_text

    check_text(args.code_version, "--code-version")
    check_text(args.name, "--name")
    app = App.from_args(args)
    family = app.plugins.family(args.family)
    files = collect_files(family, args.checkpoint, args.config, args.meta)
    extracts = [_trained_on(app, name) for name in args.extract]
    lineage = {"registry_version": __version__, "plugin_version": family.version,
               "code_version": args.code_version, "extracts": extracts}
    version, created = register_validated(app, family, files, name=args.name, lineage=lineage)
    verb = "registered" if created else "already registered as"
    out.emit({"created": created, "version": version.ref, **version.to_dict()},
             f"{verb} {version.ref} ({version.short}) {version.name}")
    return 0


def register_validated(app: Any, family: Any, files: dict[str, Path], *, name: str = "",
                       lineage: dict[str, Any]) -> tuple[Any, bool]:
    """Copy ``files`` into a private folder, let the family validate the copies, and store those same
    copies: a file changed on disk after validation can never be what gets registered."""
    import shutil
    import tempfile

    from registry.errors import InvalidInput

    limits = {r.name: r.max_bytes for r in family.roles}
    for role, path in files.items():
        size = Path(path).stat().st_size
        if role in limits and size > limits[role]:
            raise InvalidInput(f"{role} file {Path(path).name} is {size:,} bytes; family {family.name!r} accepts at "
                               f"most {limits[role]:,} bytes for {role}")
    with tempfile.TemporaryDirectory(prefix="registry-register-") as tmp:
        copies: dict[str, Path] = {}
        for role, path in files.items():
            (Path(tmp) / role).mkdir()
            copies[role] = Path(shutil.copyfile(path, Path(tmp) / role / Path(path).name))
        facts = family.validate(copies)
        from registry.dataset_reads import require_registered

        require_registered(family, facts, app.home)
        lineage = {"validated": facts, **lineage, "source_files": {role: p.name for role, p in files.items()}}
        return app.store.register(family.name, copies, name=name, lineage=lineage)


def _trained_on(app: Any, name: str) -> dict[str, Any]:
    """The cached extract ``name`` as lineage: its key, digest and rows (it must be in the cache)."""
    from cache.store import ExtractCache
    from registry.errors import InvalidInput

    app.plugins.extract(name)
    ref = ExtractCache(app.home).latest(name)
    if ref is None:
        raise InvalidInput(f"--extract {name}: not in the cache, so its rows cannot be named; run "
                           f"`registry extract {name}` with the parameters it was trained on first")
    return {"name": ref.name, "key": ref.key, "digest": ref.digest, "rows": ref.rows, "params": ref.params}


def known_family(app: Any, name: str | None) -> None:
    """``UnknownName`` unless ``name`` is None, an installed family, or a family with registered versions."""
    from registry.errors import UnknownName
    from registry.naming import check_family

    if name is None:
        return
    check_family(name)
    if name not in app.store.families_in_use() and name not in app.plugins.families():
        raise UnknownName(f"unknown family {name!r}: no plugin provides it and nothing is registered under it")


def run_list(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App

    app = App.from_args(args)
    known_family(app, args.family)
    store = app.store
    versions = store.versions(args.family)
    aliases: dict[str, list[str]] = {}
    for (_family, alias), vid in store.aliases(args.family).items():
        if vid:
            aliases.setdefault(vid, []).append(alias)
    rows = [{"version": v.ref, "version_id": v.version_id, "name": v.name,
             "aliases": sorted(aliases.get(v.version_id, [])), "created_at": v.created_at,
             "created_by": v.created_by} for v in versions]
    lines = [f"{'VERSION':<18} {'HASH':<13} {'ALIASES':<20} {'CREATED':<26} NAME"]
    lines += [f"{r['version']:<18} {r['version_id'][:12]:<13} {','.join(r['aliases']) or '-':<20} "
              f"{r['created_at']:<26} {r['name']}" for r in rows]
    if not rows:
        lines = [f"no versions registered in {store.home}"]
    out.emit({"versions": rows}, "\n".join(lines))
    return 0


def run_show(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.hashing import canonical_json

    store = App.from_args(args).store
    v = store.resolve(args.ref)
    aliases = sorted(a for (f, a), vid in store.aliases(v.family).items() if vid == v.version_id)
    runs = store.evidence_for(v.version_id)
    data = {**v.to_dict(), "ref": v.ref, "aliases": aliases,
            "evidence": [{"evidence_id": e.evidence_id, "suite": e.suite, "suite_version": e.suite_version,
                          "passed": e.passed, "created_at": e.created_at, "champion_version_id": e.champion_version_id,
                          "purpose": e.purpose} for e in runs]}
    lines = [f"{v.ref}  {v.name}", f"  id       {v.version_id}", f"  created  {v.created_at} by {v.created_by}",
             f"  aliases  {', '.join(aliases) or '-'}"]
    lines += [f"  file     {f.role:<10} {f.filename} ({f.size} bytes, sha256 {f.sha256[:12]})" for f in v.files]
    lines += [f"  lineage  {k}: {canonical_json(val)}" for k, val in sorted(v.lineage.items())]
    lines += [f"  run      {e.created_at} {e.suite} v{e.suite_version}: {'PASS' if e.passed else 'FAIL'} "
              f"({sum(r.passed for r in e.results)}/{len(e.results)}) evidence {e.evidence_id[:12]}" for e in runs]
    out.emit(data, "\n".join(lines))
    return 0


def run_predict(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.errors import InvalidInput
    from registry.family import EnsembleFamily, SummarisingFamily

    app = App.from_args(args)
    if args.out is not None:
        from registry.commands.predict_arrays import run_predict_arrays

        return run_predict_arrays(app, args, out)
    given = [f"--{k}" for k in ("members", "steps", "seed") if getattr(args, k) is not None]
    if given or args.option:
        raise InvalidInput(f"{', '.join(given + ['--option'] * bool(args.option))} only apply with --out ENS.zarr")
    version = app.store.resolve(args.ref)
    family = app.plugins.family(version.family)
    if isinstance(family, EnsembleFamily):
        raise InvalidInput(f"family {family.name!r} generates ensembles of arrays: give --out ENS.zarr")
    if not args.input.is_file():
        raise InvalidInput(f"input file {args.input} does not exist")
    from registry.dataset_reads import with_newest

    model = family.load(app.store.checkout(version), device=args.device)
    model = with_newest(family, model, version.lineage.get("validated") or {}, app.home)
    rows = family.predict(model, args.input, device=args.device)
    cols = list(rows[0]) if rows else []
    text = "\n".join(["\t".join(cols)] + ["\t".join(_fmt(r.get(c)) for c in cols) for r in rows])
    body: dict[str, Any] = {"version": version.ref, "version_id": version.version_id, "rows": rows}
    if isinstance(family, SummarisingFamily):
        body["summary"] = family.summarise(rows)
        text += "\n" + "; ".join(f"{k}: {_fmt(v)}" for k, v in body["summary"].items())
    out.emit(body, text)
    return 0


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else ("" if v is None else str(v))
