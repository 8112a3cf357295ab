"""The single-writer lock: waits with a timeout, names the holder, and dies with its holder."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from cache.lock import TIMEOUT_ENV, WriterLock, default_timeout
from registry.errors import CatalogBusy, InvalidInput


def test_second_writer_times_out_with_a_clear_message(tmp_path):
    path = tmp_path / ".write.lock"
    with WriterLock(path, 1, what="extract big"):
        started = time.monotonic()
        with pytest.raises(CatalogBusy, match=r"being written by another process \(pid \d+ extract big\)"):
            WriterLock(path, 0.3).acquire()
        assert 0.25 < time.monotonic() - started < 2
    with WriterLock(path, 0.1) as lock:  # released: the next writer gets it at once
        assert lock.held
    assert not lock.held


def test_a_killed_holder_releases_the_lock(tmp_path):
    path = tmp_path / ".write.lock"
    code = ("import sys, time; from cache.lock import WriterLock; l = WriterLock(sys.argv[1], 5); l.acquire(); "
            "print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(CatalogBusy):
            WriterLock(path, 0.2).acquire()
        holder.kill()
        holder.wait()
        with WriterLock(path, 2):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "12.5")
    assert default_timeout() == 12.5
    monkeypatch.delenv(TIMEOUT_ENV)
    assert default_timeout() == 600.0
    for bad in ("soon", "nan", "inf", "-1"):
        monkeypatch.setenv(TIMEOUT_ENV, bad)
        with pytest.raises(InvalidInput, match="not a number of seconds"):
            default_timeout()
