"""The read cache: reused while the catalog file is unchanged, never across a write, never on a fresh file."""

from __future__ import annotations

import time
from pathlib import Path

from registry.web import read_cache
from registry.web.read_cache import ReadCache


def _settle() -> None:
    time.sleep(read_cache.SETTLE * 2)


def test_a_result_is_reused_until_a_write_changes_the_catalog(app, ckpts) -> None:  # type: ignore[no-untyped-def]
    from registry.commands.versions import register_validated

    family = app.plugins.family("toy")
    register_validated(app, family, {"weights": ckpts["good"]}, lineage={})
    cache = ReadCache(app.home)
    calls: list[int] = []

    def count() -> int:
        calls.append(1)
        return len(app.store.versions("toy"))

    _settle()
    assert [cache.get("n", count), cache.get("n", count)] == [1, 1] and len(calls) == 1
    register_validated(app, family, {"weights": ckpts["good2"]}, lineage={})
    assert cache.get("n", count) == 2  # the write changed the key at once (fresh file: computed, not kept)
    _settle()
    assert [cache.get("n", count), cache.get("n", count)] == [2, 2]
    assert len(calls) == 3


def test_nothing_is_kept_without_a_catalog_or_while_the_file_is_fresh(tmp_path: Path) -> None:
    cache = ReadCache(tmp_path)
    values = iter(range(10))
    assert [cache.get("x", lambda: next(values)) for _ in range(2)] == [0, 1]
    (tmp_path / "catalog.duckdb").write_bytes(b"x")
    assert cache.get("x", lambda: next(values)) == 2  # too fresh to trust
    _settle()
    assert [cache.get("x", lambda: next(values)) for _ in range(2)] == [3, 3]


def test_a_write_during_the_work_keeps_the_result_out(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    catalog.write_bytes(b"x")
    _settle()
    cache = ReadCache(tmp_path)

    def racing() -> str:
        catalog.write_bytes(b"xy")
        return "old"

    assert cache.get("x", racing) == "old"
    _settle()
    assert cache.get("x", lambda: "new") == "new"


def test_the_write_ahead_log_is_part_of_the_state(tmp_path: Path) -> None:
    (tmp_path / "catalog.duckdb").write_bytes(b"x")
    _settle()
    cache = ReadCache(tmp_path)
    values = iter(range(10))
    assert [cache.get("x", lambda: next(values)) for _ in range(2)] == [0, 0]
    (tmp_path / "catalog.duckdb.wal").write_bytes(b"commit")  # a commit not yet checkpointed into the file
    _settle()
    assert [cache.get("x", lambda: next(values)) for _ in range(2)] == [1, 1]
    (tmp_path / "catalog.duckdb.wal").unlink()  # the checkpoint: the log folded into the file
    (tmp_path / "catalog.duckdb").write_bytes(b"x+commit")
    _settle()
    assert cache.get("x", lambda: next(values)) == 2


def test_a_result_computed_across_a_write_is_not_kept(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    catalog.write_bytes(b"x")
    _settle()
    cache = ReadCache(tmp_path)
    cache.get("x", lambda: catalog.write_bytes(b"xy"))
    assert len(cache) == 0


def test_the_least_recently_used_result_goes_first(tmp_path: Path) -> None:
    (tmp_path / "catalog.duckdb").write_bytes(b"x")
    _settle()
    cache = ReadCache(tmp_path, size=2)
    calls: list[str] = []

    def make(name: str):  # type: ignore[no-untyped-def]
        return lambda: calls.append(name) or name

    for name in ("a", "b", "a", "c"):  # c pushes out b, the least recently used; a stays
        assert cache.get(name, make(name)) == name
    assert len(cache) == 2
    assert cache.get("a", make("a")) == "a" and cache.get("b", make("b")) == "b"
    assert calls == ["a", "b", "c", "b"]


def test_the_version_rows_of_a_page_are_kept_for_the_next_page(app, ckpts) -> None:  # type: ignore[no-untyped-def]
    from registry.commands.versions import register_validated
    from registry.web.views import version_rows

    register_validated(app, app.plugins.family("toy"), {"weights": ckpts["good"]}, lineage={})
    _settle()
    cache = ReadCache(app.home)  # empty, so falsy by length: it must still be used
    first = version_rows(app, "toy", cache=cache)
    assert len(cache) == 1
    assert version_rows(app, "toy", cache=cache, descending=True)["rows"] == first["rows"][::-1]
    assert len(cache) == 1
