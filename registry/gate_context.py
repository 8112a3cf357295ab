"""The context a gate runs in: the candidate and champion (loaded lazily, hash-verified), data and seeds."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import DataMissing

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from registry.family import Family
    from registry.records import ModelVersion
    from registry.store import Store


class RunContext:
    """Implements ``gates.base.GateContext`` for one suite run and records what the gates touched."""

    def __init__(self, store: Store, family: Family, version: ModelVersion, *, champion: ModelVersion | None,
                 seed: int, device: str, extract_pins: dict[str, str] | None = None,
                 expected_digests: dict[str, str] | None = None) -> None:
        self.store = store
        self.family = family
        self.version = version
        self.champion = champion
        self.seed = seed
        self.device = device
        self.extract_pins = dict(extract_pins or {})
        self.expected_digests = dict(expected_digests or {})
        self.extract_keys: dict[str, str] = {}
        self.extract_digests: dict[str, str] = {}

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

    def extract(self, name: str) -> pa.Table:
        from cache.store import ExtractCache

        cache = ExtractCache(self.store.home)
        key = self.extract_pins.get(name)
        expected = self.expected_digests.get(name)
        ref = (cache.by_digest(key, expected) if key and expected else None) or (
            cache.by_key(key) if key else cache.latest(name))
        if ref is None:
            pinned = f" with key {key[:12]}" if key else ""
            raise DataMissing(f"extract {name!r}{pinned} is not in the cache; run `registry extract {name}`")
        if expected and ref.digest != expected:
            raise DataMissing(f"extract {name!r} was refreshed since the stored run: its rows now hash to "
                              f"{ref.digest[:12]}, the run used {expected[:12]}, which the cache no longer holds")
        table = cache.read(ref)
        self.extract_keys[name] = ref.key
        self.extract_digests[name] = ref.digest
        return table

    def rng(self, stream: str = "") -> np.random.Generator:
        import numpy as np

        sub = int.from_bytes(hashlib.sha256(stream.encode()).digest()[:8], "little")
        return np.random.default_rng([self.seed, sub])
