"""Registered datasets a version reads besides its files: refused at registration when absent, handed to predict."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from registry.errors import InvalidInput
from registry.family import DatasetReadingFamily


def datasets_read(family: Any, facts: Mapping[str, Any], home: Path) -> dict[str, str]:
    """Dataset name → the command that builds it, for a version of ``family`` with validated ``facts``."""
    return dict(family.datasets_read(facts, Path(home))) if isinstance(family, DatasetReadingFamily) else {}


def require_registered(family: Any, facts: Mapping[str, Any], home: Path) -> None:
    """``InvalidInput`` naming every dataset the version reads that ``home`` does not hold, and how to build it."""
    from cache.datasets import DatasetStore

    store = DatasetStore(home)
    missing = {n: how for n, how in datasets_read(family, facts, home).items() if store.latest(n) is None}
    if missing:
        raise InvalidInput("; ".join(f"this version reads dataset {name!r}, which is not registered in {home}: "
                                     f"build it with `{how}`" for name, how in sorted(missing.items())))


def with_newest(family: Any, model: Any, facts: Mapping[str, Any], home: Path) -> Any:
    """``model`` with the newest registered content of each dataset it reads (``InvalidInput`` naming how to
    build one that is absent)."""
    from cache.datasets import DatasetStore

    needed = datasets_read(family, facts, home)
    if not needed:
        return model
    store = DatasetStore(home)
    opened = {}
    for name, how in needed.items():
        ref = store.latest(name)
        if ref is None:
            raise InvalidInput(f"this version reads dataset {name!r}, which is not registered in {home}: "
                              f"build it with `{how}`")
        opened[name] = store.open(ref)
    return family.with_datasets(model, opened)
