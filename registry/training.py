"""Training a new version from a cached extract and registering it with its lineage."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import InvalidInput, UnknownName, UsageError
from registry.family import DatasetTrainableFamily, TrainableFamily, WindowedTrainableFamily

if TYPE_CHECKING:
    from registry.app import App
    from registry.records import ExtractRef, ModelVersion


def cached_extract(app: App, name: str, params: dict[str, Any] | None = None, *, progress: bool = True) -> ExtractRef:
    """The extract ``name`` with ``params``, materialised into the cache unless it is there already."""
    from cache.store import ExtractCache

    spec = app.plugins.extract(name)
    return ExtractCache(app.home).materialise(spec, params, progress=progress)


def train_and_register(app: App, family_name: str, config: Path, extract: str, *,
                       params: dict[str, Any] | None = None, epochs: int | None = None, seed: int = 0,
                       device: str = "cpu", name: str = "", progress: bool = True) -> tuple[ModelVersion, bool]:
    """Train ``family_name`` on the cached extract with ``config``, validate the result, register it.

    A ``WindowedTrainableFamily`` gets one table per split window it names (each cached and verified on its
    own, each recorded in the lineage with its split); any other ``TrainableFamily`` gets the whole extract.
    """
    from cache.store import ExtractCache
    from registry import __version__

    family = app.plugins.family(family_name)
    if not isinstance(family, WindowedTrainableFamily | TrainableFamily):
        raise UsageError(f"family {family_name!r} has no training recipe")
    if not Path(config).is_file():
        raise InvalidInput(f"config file {config} does not exist")
    cache = ExtractCache(app.home)
    splits: tuple[str | None, ...] = (None,)
    if isinstance(family, WindowedTrainableFamily):
        splits = _training_windows(app, family, extract)
        refs = [cache.materialise(app.plugins.extract(extract), params, split=w, progress=progress) for w in splits]
    else:
        refs = [cached_extract(app, extract, params, progress=progress)]
    tables = [cache.read(ref, verify=True) for ref in refs]  # train on rows that still hash to the recorded digest
    with tempfile.TemporaryDirectory(prefix="registry-train-") as tmp:
        if isinstance(family, WindowedTrainableFamily):
            files, facts = family.train_windows(dict(zip(map(str, splits), tables, strict=True)), Path(config),
                                                out_dir=Path(tmp), epochs=epochs, seed=seed, device=device,
                                                progress=progress)
        else:
            files, facts = family.train(tables[0], Path(config), out_dir=Path(tmp), epochs=epochs, seed=seed,
                                        device=device, progress=progress)
        validated = family.validate(files)
        lineage = {"validated": validated, "training": facts, "registry_version": __version__,
                   "plugin_version": family.version, "code_version": f"gated-registry {__version__}",
                   "extracts": [{"name": ref.name, "key": ref.key, "digest": ref.digest, "rows": ref.rows,
                                 "params": ref.params, **({"split": w} if w is not None else {})}
                                for w, ref in zip(splits, refs, strict=True)],
                   "source_files": {role: p.name for role, p in files.items()}}
        return app.store.register(family.name, files, name=name, lineage=lineage)


def _training_windows(app: App, family: WindowedTrainableFamily, extract: str) -> tuple[str, ...]:
    """The windows ``family`` trains on, refused (before anything is read) unless ``extract`` declares them all."""
    declared = [w.name for w in app.plugins.extract(extract).windows]
    missing = [w for w in family.training_windows if w not in declared]
    if missing:
        raise InvalidInput(f"extract {extract!r} declares no split window {', '.join(map(repr, missing))}, which "
                           f"family {getattr(family, 'name', '?')!r} trains on (its windows: "
                           f"{', '.join(declared) or 'none'})")
    return tuple(family.training_windows)


def train_from_datasets(app: App, family_name: str, config: Path, datasets: list[str], *, epochs: int | None = None,
                        seed: int = 0, device: str = "cpu", name: str = "",
                        progress: bool = True) -> tuple[ModelVersion, bool]:
    """Train ``family_name`` on registered gridded ``datasets`` (the newest of each name) with ``config``;
    the lineage names each dataset's digest and normalisation statistics."""
    from cache.datasets import DatasetStore
    from registry import __version__

    family = app.plugins.family(family_name)
    if not isinstance(family, DatasetTrainableFamily):
        raise UsageError(f"family {family_name!r} does not train from gridded datasets")
    if not datasets or len(set(datasets)) != len(datasets):
        raise InvalidInput(f"name each dataset once with --dataset, got {datasets}")
    if not Path(config).is_file():
        raise InvalidInput(f"config file {config} does not exist")
    store = DatasetStore(app.home)
    refs = [store.resolve(n, error=UnknownName) for n in datasets]
    opened = {r.name: store.open(r) for r in refs}
    with tempfile.TemporaryDirectory(prefix="registry-train-") as tmp:
        files, facts = family.train_datasets(opened, Path(config), out_dir=Path(tmp), epochs=epochs, seed=seed,
                                             device=device, progress=progress)
        validated = family.validate(files)
        lineage = {"validated": validated, "training": facts, "registry_version": __version__,
                   "plugin_version": family.version, "code_version": f"gated-registry {__version__}",
                   "datasets": [{"name": r.name, "digest": r.digest, "shape": r.header["shape"],
                                 "variables": r.header["variables"], "stats": r.header["stats"],
                                 "normalised": r.header["normalised"]} for r in refs],
                   "source_files": {role: p.name for role, p in files.items()}}
        return app.store.register(family.name, files, name=name, lineage=lineage)
