"""A version's id is recomputed from its files, and its files' hashes from the objects' bytes."""

from __future__ import annotations

import os

import duckdb
import pytest

from registry.fsck import check_versions


@pytest.fixture
def two(app, ckpts):
    a = app.store.register("toy", {"weights": ckpts["good"]})[0]
    b = app.store.register("toy", {"weights": ckpts["good2"]})[0]
    return app.store, a, b


def _sql(store, sql: str, params: list) -> None:
    con = duckdb.connect(str(store.catalog.path))
    con.execute(sql, params)
    con.close()


def _problems(store) -> list[str]:
    with store.catalog.read() as con:
        return check_versions(con, store.objects)


def test_intact_versions_verify(two):
    store, _, _ = two
    assert _problems(store) == [] and store.verify_ledger() == []


def test_a_file_row_repointed_at_another_object_is_caught(two):
    """The attack: version 1 keeps its id while its weights row names version 2's object."""
    store, a, b = two
    _sql(store, "UPDATE files SET sha256 = ?, size = ? WHERE version_id = ?",
         [b.files[0].sha256, b.files[0].size, a.version_id])
    assert _problems(store) == [f"version toy@1: its id {a.short} is not the hash of its files (a file row was "
                                "repointed or edited)"]
    assert store.verify_ledger() != []


def test_an_altered_object_is_caught_for_every_version_using_it(two):
    store, a, _ = two
    path = store.objects.path(a.files[0].sha256)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    problems = _problems(store)
    assert len(problems) == 1 and problems[0].startswith("version toy@1, file weights: object ")
    assert "was altered on disk" in problems[0]


def test_a_missing_object_and_a_wrong_size_are_caught(two):
    store, a, b = two
    store.objects.path(a.files[0].sha256).unlink()
    _sql(store, "UPDATE files SET size = size + 1 WHERE version_id = ?", [b.version_id])
    problems = _problems(store)
    assert any("toy@1" in p and "is missing" in p for p in problems)
    assert any("toy@2" in p and "the catalog says" in p for p in problems)


def test_a_version_without_files_and_orphan_rows(two):
    store, a, _ = two
    _sql(store, "UPDATE files SET version_id = 'f' || version_id WHERE version_id = ?", [a.version_id])
    problems = _problems(store)
    assert "version toy@1 has no files" in problems
    assert any(p.startswith("file rows of an unknown version f") for p in problems)
