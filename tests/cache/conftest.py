"""Fixtures for the cache tests: one in-process ClickHouse engine per session, one database per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.sources import CHDB_PATH_ENV, EmbeddedSource, close_embedded
from cache.store import ExtractCache

_ids = itertools.count()


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data directory of the session's embedded engine (chDB serves one directory per process)."""
    path = tmp_path_factory.mktemp("chdb") / "engine"
    yield path
    close_embedded()


@pytest.fixture(scope="session")
def engine(chdb_path: Path) -> EmbeddedSource:
    """The embedded ClickHouse source every test shares."""
    return EmbeddedSource(chdb_path)


@pytest.fixture(autouse=True)
def _engine_env(chdb_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHDB_PATH_ENV, str(chdb_path))
    for var in ("REGISTRY_SOURCE", "REGISTRY_CLICKHOUSE_HOST", "REGISTRY_CACHE_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def db(engine: EmbeddedSource) -> Iterator[str]:
    """A fresh ClickHouse database for one test, dropped afterwards."""
    name = f"t{next(_ids)}"
    engine.command(f"DROP DATABASE IF EXISTS {name}")
    engine.command(f"CREATE DATABASE {name}")
    yield name
    engine.command(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A temporary registry home."""
    return tmp_path / "home"


@pytest.fixture
def cache(home: Path) -> ExtractCache:
    """An empty extract cache in the temporary home, with a short writer timeout."""
    return ExtractCache(home, lock_timeout=2.0)
