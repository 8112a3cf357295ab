"""Writers queue for the catalog lock with a timeout and a clear message."""

from __future__ import annotations

import threading
import time

import pytest

from registry.errors import CatalogBusy
from registry.locking import catalog_lock


def test_second_writer_times_out_with_clear_message(tmp_path):
    lock = tmp_path / "catalog.lock"
    with catalog_lock(lock, exclusive=True):
        with pytest.raises(CatalogBusy, match=r"stayed locked by another registry process \(pid \d+[^)]*\) for 0.2s"):
            with catalog_lock(lock, exclusive=True, timeout=0.2):
                pass


def test_writer_waits_in_queue_then_proceeds(tmp_path):
    lock = tmp_path / "catalog.lock"
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with catalog_lock(lock, exclusive=True):
            held.set()
            time.sleep(0.3)
            order.append("first")

    t = threading.Thread(target=first)
    t.start()
    held.wait()
    t0 = time.monotonic()
    with catalog_lock(lock, exclusive=True, timeout=5):
        order.append("second")
    t.join()
    assert order == ["first", "second"] and time.monotonic() - t0 >= 0.2


def test_readers_share(tmp_path):
    lock = tmp_path / "catalog.lock"
    with catalog_lock(lock, exclusive=False):
        with catalog_lock(lock, exclusive=False, timeout=0.1):
            pass
        with pytest.raises(CatalogBusy):
            with catalog_lock(lock, exclusive=True, timeout=0.1):
                pass


def test_cli_writer_queues_behind_another_process(home, ckpts):
    """A real second process waits for the lock instead of failing on DuckDB's file lock."""
    import subprocess
    import sys

    from clirun import child_env, run_cli

    assert run_cli("register", "toy", str(ckpts["good"])).returncode == 0
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys; from pathlib import Path; from registry.locking import catalog_lock\n"
                               f"with catalog_lock(Path({str(home / 'catalog.lock')!r}), exclusive=True):\n"
                               "    print('held', flush=True); sys.stdin.readline()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    busy = run_cli("register", "toy", str(ckpts["good2"]), env={"REGISTRY_LOCK_TIMEOUT": "0.3"})
    assert busy.returncode == 3 and "stayed locked" in busy.stderr
    waiter = subprocess.Popen([sys.executable, "-m", "registry.cli", "register", "toy", str(ckpts["good2"])],
                              env=child_env(REGISTRY_LOCK_TIMEOUT="60"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # the waiter is queued (it cannot finish while the lock is held)
    assert waiter.poll() is None
    holder.communicate("release\n", timeout=10)
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0 and "registered toy@2" in out, err


@pytest.mark.parametrize("raw", ["nan", "-1", "inf", "soon"])
def test_a_bad_timeout_is_a_usage_error(monkeypatch, raw):
    from registry.errors import InvalidInput
    from registry.locking import lock_timeout

    monkeypatch.setenv("REGISTRY_LOCK_TIMEOUT", raw)
    with pytest.raises(InvalidInput):
        lock_timeout()


def test_reading_an_empty_home_creates_nothing_and_writes_inside_reads_are_refused(tmp_path):
    from registry.catalog import Catalog

    cat = Catalog(tmp_path / "nothere")
    with cat.read() as con:
        assert con is None
        with pytest.raises(RuntimeError, match="inside a read block"):
            with cat.write():
                pass
    assert not (tmp_path / "nothere").exists()


_LOOPING_READER = """
import sys, time
from pathlib import Path
from registry.locking import catalog_lock
lock, stop = Path(sys.argv[1]), time.monotonic() + float(sys.argv[2])
print("reading", flush=True)
while time.monotonic() < stop:
    with catalog_lock(lock, exclusive=False, timeout=60):
        time.sleep(0.02)  # one read's hold time
"""


def test_readers_in_a_tight_loop_never_starve_a_writer(tmp_path):
    """Four processes re-taking the shared lock back to back: a queued writer gets in within about one
    reader's hold time (it used to wait out its whole timeout)."""
    import subprocess
    import sys

    lock = tmp_path / "catalog.lock"
    readers = [subprocess.Popen([sys.executable, "-c", _LOOPING_READER, str(lock), "20"], stdout=subprocess.PIPE,
                                text=True) for _ in range(4)]
    try:
        for r in readers:
            assert r.stdout.readline().strip() == "reading"
        time.sleep(0.5)
        waits = []
        for _ in range(5):
            t0 = time.monotonic()
            with catalog_lock(lock, exclusive=True, timeout=5):
                waits.append(time.monotonic() - t0)
            time.sleep(0.05)
        assert max(waits) < 1.0, waits
    finally:
        for r in readers:
            r.kill()
            r.wait()


def test_busy_message_names_the_real_holder_not_a_stale_pid(tmp_path):
    import subprocess
    import sys

    lock = tmp_path / "catalog.lock"
    lock.write_text("999999")  # what a writer killed long ago left behind
    holding = ("import sys; from pathlib import Path; from registry.locking import catalog_lock\n"
               "with catalog_lock(Path(sys.argv[1]), exclusive=False):\n"
               "    print('held', flush=True); sys.stdin.readline()")
    reader = subprocess.Popen([sys.executable, "-c", holding, str(lock)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "held"
        with pytest.raises(CatalogBusy) as err:
            with catalog_lock(lock, exclusive=True, timeout=0.2):
                pass
    finally:
        reader.communicate("done\n", timeout=10)
    assert f"pid {reader.pid}" in str(err.value) and "999999" not in str(err.value)


def test_a_writer_leaves_no_pid_behind(tmp_path):
    lock = tmp_path / "catalog.lock"
    with catalog_lock(lock, exclusive=True):
        assert lock.read_text() == str(__import__("os").getpid())
    assert lock.read_text() == ""
