"""Fixtures for the cache tests: one database per test in the session's engine (see tests/conftest.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.sources import EmbeddedSource
from cache.store import ExtractCache

_ids = itertools.count()


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


class PinnedEngine(EmbeddedSource):
    """The real embedded engine with a server's cache semantics: no table state in the key, so a repeated
    request is a hit whatever changed, and only ``refresh`` re-reads (the HTTP source behaves so)."""

    def state(self, query):  # noqa: ANN001, ANN201 - the signature of the real method
        return None


@pytest.fixture
def pinned(engine: EmbeddedSource) -> EmbeddedSource:
    """The session's engine seen as a server (see ``PinnedEngine``)."""
    return PinnedEngine(engine.path)
