"""Uploads: streamed and hashed, the limit exact, a short body or an error removes everything, ids are not paths."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from registry.errors import InvalidInput, UnknownName
from registry.web.uploads import TooLarge, Uploads


async def _chunks(*parts: bytes, fail: bool = False) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if fail:
        raise ConnectionError("client went away")


def _receive(uploads: Uploads, *parts: bytes, declared: int | None = None, fail: bool = False) -> object:
    return asyncio.run(uploads.receive(_chunks(*parts, fail=fail), declared))


def test_an_upload_is_hashed_while_it_streams_and_found_by_id(tmp_path: Path) -> None:
    uploads = Uploads(tmp_path / "up", max_bytes=10)
    staged = _receive(uploads, b"abc", b"defghij", declared=10)
    assert staged.size == 10 and staged.sha256 == hashlib.sha256(b"abcdefghij").hexdigest()  # type: ignore[attr-defined]
    path = uploads.path(staged.upload_id)  # type: ignore[attr-defined]
    assert path.read_bytes() == b"abcdefghij"
    uploads.discard(staged.upload_id)  # type: ignore[attr-defined]
    with pytest.raises(UnknownName):
        uploads.path(staged.upload_id)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("parts", "declared", "error"), [
    ((b"x" * 11,), None, TooLarge), ((b"x" * 6, b"x" * 5), None, TooLarge), ((b"x",), 11, TooLarge),
    ((b"x" * 5,), 8, InvalidInput), ((b"x" * 9,), 8, InvalidInput)])
def test_over_the_limit_or_not_the_declared_length_leaves_nothing(tmp_path: Path, parts, declared, error) -> None:  # type: ignore[no-untyped-def]
    uploads = Uploads(tmp_path / "up", max_bytes=10)
    with pytest.raises(error):
        _receive(uploads, *parts, declared=declared)
    assert not (tmp_path / "up").exists() or not list((tmp_path / "up").iterdir())


def test_a_failing_stream_leaves_nothing(tmp_path: Path) -> None:
    uploads = Uploads(tmp_path / "up", max_bytes=10)
    with pytest.raises(ConnectionError):
        _receive(uploads, b"abc", fail=True)
    assert list((tmp_path / "up").iterdir()) == []


@pytest.mark.parametrize("upload_id", ["../catalog", "..", "a" * 31, "A" * 32, "0" * 33, "", "0" * 31 + "/"])
def test_ids_that_are_not_ids_are_refused(tmp_path: Path, upload_id: str) -> None:
    with pytest.raises(InvalidInput):
        Uploads(tmp_path, max_bytes=10).path(upload_id)


def test_an_incomplete_upload_is_not_found(tmp_path: Path) -> None:
    (tmp_path / ("a" * 32)).mkdir()
    (tmp_path / ("a" * 32) / "data.part").write_bytes(b"x")
    with pytest.raises(UnknownName):
        Uploads(tmp_path, max_bytes=10).path("a" * 32)


def test_uploads_older_than_a_day_are_swept(tmp_path: Path) -> None:
    import os
    import time

    uploads = Uploads(tmp_path / "up", max_bytes=10)
    old = _receive(uploads, b"old")
    folder = tmp_path / "up" / old.upload_id  # type: ignore[attr-defined]
    past = time.time() - 2 * 24 * 3600
    os.utime(folder, (past, past))
    young = _receive(uploads, b"new")
    assert not folder.exists() and uploads.path(young.upload_id).exists()  # type: ignore[attr-defined]
