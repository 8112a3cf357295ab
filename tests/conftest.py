"""Shared fixtures: a temporary registry home, a fresh plugin manager with the toy family, trained toy checkpoints."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data directory of the session's embedded ClickHouse (chDB serves one directory per process)."""
    from cache.sources import close_embedded

    path = tmp_path_factory.mktemp("chdb") / "engine"
    yield path
    close_embedded()


@pytest.fixture(scope="session")
def engine(chdb_path: Path) -> object:
    """The embedded ClickHouse source every test of the session shares."""
    from cache.sources import EmbeddedSource

    return EmbeddedSource(chdb_path)


@pytest.fixture(autouse=True)
def _engine_env(chdb_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every in-process use of the embedded engine goes to the session's one directory."""
    from cache.sources import CHDB_PATH_ENV

    monkeypatch.setenv(CHDB_PATH_ENV, str(chdb_path))
    for var in ("REGISTRY_SOURCE", "REGISTRY_CLICKHOUSE_HOST", "REGISTRY_CACHE_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def toy_obs(engine: Any) -> Iterator[Any]:
    """The toy observations as a real ClickHouse table in the session's embedded engine."""
    import numpy as np
    from toy_family import truth

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 4))
    engine.command("DROP DATABASE IF EXISTS toyobs")
    engine.command("CREATE DATABASE toyobs")
    engine.command("CREATE TABLE toyobs.toy_obs (id UInt32, x0 Float64, x1 Float64, x2 Float64, x3 Float64, "
                   "y Float64) ENGINE = MergeTree ORDER BY id")
    rows = [[i, *map(float, x[i]), float(truth(x[i : i + 1])[0])] for i in range(len(x))]
    engine.client.insert("toyobs.toy_obs", rows, column_names=["id", "x0", "x1", "x2", "x3", "y"])
    yield engine
    engine.command("DROP DATABASE IF EXISTS toyobs")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty registry home, also exported as $REGISTRY_HOME; the toy family is loadable by the CLI."""
    h = tmp_path / "home"
    monkeypatch.setenv("REGISTRY_HOME", str(h))
    monkeypatch.setenv("REGISTRY_PLUGINS", "toy_family")
    return h


@pytest.fixture
def plugins() -> Iterator[object]:
    """A fresh plugin manager with the throw-away toy family registered for the test only."""
    import toy_family

    from registry.plugins import get_plugin_manager

    pm = get_plugin_manager(entry_points=False)
    if not pm.pm.has_plugin("toy_family"):
        pm.register(toy_family, name="toy_family")
    yield pm
    if pm.pm.has_plugin("toy_family"):
        pm.unregister("toy_family")


@pytest.fixture
def app(home: Path, plugins: object) -> object:
    from registry.app import App

    return App(home, plugins=plugins)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Trained toy checkpoints: ``good``, ``good2`` (another seed), ``constant`` (predicts a constant)."""
    from toy_family import train_checkpoint

    # $REGISTRY_TEST_CKPTS: a folder kept across test sessions (bench/mutation.py runs hundreds of them)
    kept = os.environ.get("REGISTRY_TEST_CKPTS")
    d = Path(kept) if kept else tmp_path_factory.mktemp("ckpts")
    d.mkdir(parents=True, exist_ok=True)
    made = {"good": dict(seed=0), "good2": dict(seed=1), "constant": dict(constant=True)}
    out = {}
    for name, kw in made.items():
        path = d / f"{name}.safetensors"
        if not (kept and path.exists()):
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            train_checkpoint(partial, **kw)  # type: ignore[arg-type]
            os.replace(partial, path)  # whole files only, also for a session killed while training
        out[name] = path
    return out
