"""ClickHouse → DuckDB extract cache: the only code that talks to ClickHouse or opens a cache file."""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "ExtractCache": "cache.store",
    "ExtractSpec": "cache.spec",
    "Sample": "cache.spec",
    "Window": "cache.spec",
    "open_source": "cache.sources",
    "EmbeddedSource": "cache.sources",
    "HttpSource": "cache.sources",
    "FileSource": "cache.sources",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:  # lazy, so importing cache.spec never pulls in duckdb or clickhouse
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cache' has no attribute {name!r}")
