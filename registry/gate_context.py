"""The context a gate runs in: the candidate and champion (loaded lazily, hash-verified), data and seeds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import DataMissing

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from cache.datasets import Dataset
    from cache.ensembles import Ensemble
    from cache.spec import ExtractSpec
    from registry.family import EnsemblePlan, Family
    from registry.records import ModelVersion
    from registry.store import Store


def extract_label(name: str, params: Mapping[str, Any] | None = None, split: str | None = None) -> str:
    """How the evidence names one read of an extract: ``name``, or ``name[split=test, year=2023]``."""
    parts = ([f"split={split}"] if split is not None else []) + [f"{k}={v}" for k, v in sorted((params or {}).items())]
    return f"{name}[{', '.join(parts)}]" if parts else name


class RunContext:
    """Implements ``gates.base.GateContext`` for one suite run and records what the gates touched.

    Extract reads are re-hashed (the rows must still hash to their recorded digest) and kept for the
    rest of the run, so several gates reading one extract cost one read; ``memo`` does the same for any
    product that gates share (predictions on a fixed battery, a generated ensemble).
    """

    def __init__(self, store: Store, family: Family, version: ModelVersion, *, champion: ModelVersion | None,
                 seed: int, device: str, extract_pins: dict[str, str] | None = None,
                 expected_digests: dict[str, str] | None = None,
                 extract_specs: Mapping[str, ExtractSpec] | None = None,
                 expected_datasets: dict[str, str] | None = None, progress: bool = False) -> None:
        self.store = store
        self.family = family
        self.version = version
        self.champion = champion
        self.seed = seed
        self.device = device
        self.extract_pins = dict(extract_pins or {})
        self.expected_digests = dict(expected_digests or {})
        self.extract_specs = dict(extract_specs or {})
        self.extract_keys: dict[str, str] = {}
        self.extract_digests: dict[str, str] = {}
        self._tables: dict[tuple[str, str], pa.Table] = {}
        self._memo: dict[str, Any] = {}
        self.expected_datasets = dict(expected_datasets or {})
        self.dataset_digests: dict[str, str] = {}
        self.synthetic_datasets: set[str] = set()  # datasets read that are labelled synthetic
        self.ensemble_digests: dict[str, str] = {}
        self.generated: list[str] = []  # keys of the ensembles this run generated (the rest came from disk)
        self.progress = progress
        self._datasets: dict[str, Dataset] = {}

    @cached_property
    def model(self) -> Any:
        return self.family.load(self.store.checkout(self.version), device=self.device)

    @cached_property
    def champion_model(self) -> Any:
        if self.champion is None:
            return None
        return self.family.load(self.store.checkout(self.champion), device=self.device)

    def file(self, role: str) -> Path:
        files = self.store.checkout(self.version)
        if role not in files:
            raise DataMissing(f"{self.version.ref} was registered without a {role!r} file")
        return files[role]

    def extract(self, name: str, *, params: Mapping[str, Any] | None = None, split: str | None = None) -> pa.Table:
        from cache.store import ExtractCache

        cache = ExtractCache(self.store.home)
        label = extract_label(name, params, split)
        key = self.extract_pins.get(label)
        expected = self.expected_digests.get(label)
        if key is None and (params or split is not None):  # that exact request, not the newest of the name
            spec = self.extract_specs.get(name)
            if spec is None:
                raise DataMissing(f"extract {name!r} is not declared by any plugin, so {label} cannot be resolved")
            key = cache.key_for(spec, dict(params or {}), split=split)
        ref = (cache.by_digest(key, expected) if key and expected else None) or (
            cache.by_key(key) if key else cache.latest(name))
        if ref is None and expected:
            newest = cache.latest(name)
            now = (f"; it holds other rows of {name!r} now (digest {newest.digest[:12]}: refreshed, or the "
                   "source's tables changed)") if newest is not None else ""
            raise DataMissing(f"extract {label!r}: the rows the stored run used (digest {expected[:12]}) are no "
                              f"longer in the cache{now}")
        if ref is None:
            pinned = f" with key {key[:12]}" if key else ""
            command = " ".join([f"registry extract {name}", *(f"--param {k}={v}" for k, v in
                                                                sorted((params or {}).items())),
                                *([f"--split {split}"] if split is not None else [])])
            raise DataMissing(f"extract {label!r}{pinned} is not in the cache; run `{command}`")
        if expected and ref.digest != expected:
            raise DataMissing(f"extract {label!r} was refreshed since the stored run: its rows now hash to "
                              f"{ref.digest[:12]}, the run used {expected[:12]}, which the cache no longer holds")
        table = self._tables.get((ref.key, ref.digest))
        if table is None:
            table = self._tables[(ref.key, ref.digest)] = cache.read(ref, verify=True)
        self.extract_keys[label] = ref.key
        self.extract_digests[label] = ref.digest
        return table

    def dataset(self, name: str) -> Dataset:
        """The registered dataset ``name`` (the newest; in a re-run, exactly the content the stored run read),
        opened lazily: chunks are verified against their digests as they are read."""
        from cache.datasets import DatasetStore

        found = self._datasets.get(name)
        if found is None:
            store = DatasetStore(self.store.home)
            found = self._datasets[name] = store.open(store.resolve(name, self.expected_datasets.get(name)))
        self.dataset_digests[name] = found.digest
        if found.attrs.get("synthetic"):
            self.synthetic_datasets.add(name)
        return found

    def ensemble(self, plan: EnsemblePlan, *, champion: bool = False) -> Ensemble:
        """The ensemble ``plan`` describes, generated by the candidate (or the champion) on this run's device:
        read from disk when any earlier gate, run or ``verify`` made it, else generated member-batch by
        member-batch and stored atomically. Recorded in the evidence under a label without the device."""
        from cache.ensembles import EnsembleStore, identity
        from registry.hashing import digest_json

        version = self.champion if champion else self.version
        if version is None:
            raise DataMissing("there is no champion, so there is no champion ensemble")
        ident = identity(version_id=version.version_id, condition=plan.condition, sampler=plan.sampler,
                         seed=plan.seed, device=self.device, members=plan.members, variables=plan.variables,
                         grid=plan.grid, batch=plan.batch)
        found, generated = EnsembleStore(self.store.home).ensure(ident, plan.generate, progress=self.progress)
        if generated:
            self.generated.append(found.key)
        label = digest_json({k: v for k, v in ident.items() if k != "device"})[:16]
        self.ensemble_digests[f"{'champion' if champion else 'candidate'}:{label}"] = found.digest
        return found

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def rng(self, stream: str = "") -> np.random.Generator:
        import numpy as np

        sub = int.from_bytes(hashlib.sha256(stream.encode()).digest()[:8], "little")
        return np.random.default_rng([self.seed, sub])

    def torch_generator(self, stream: str = "") -> Any:
        import torch

        seed = int.from_bytes(hashlib.sha256(f"{self.seed}:{stream}".encode()).digest()[:8], "little") >> 1
        return torch.Generator(device=self.device).manual_seed(seed)
