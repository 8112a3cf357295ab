"""registry.safe_pickle: NumPy arrays come back; any other global is named and nothing in the pickle runs."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from registry.errors import InvalidInput
from registry.safe_pickle import UNRESOLVED, load_arrays, loads_arrays, pickle_globals

SHARED = Path(os.environ.get("REGISTRY_SHARED_DATA") or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
SAMPLE = SHARED / "deepech" / "sample_data.pkl"


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch pwned-by-pickle",))


def test_arrays_and_plain_containers_round_trip() -> None:
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    got = loads_arrays(pickle.dumps({"rows": x, "more": [np.int32(1) * np.ones(2, np.int32), (x[0],)]}))
    np.testing.assert_array_equal(got["rows"], x)
    assert got["rows"].dtype == np.float64 and got["more"][0].dtype == np.int32
    np.testing.assert_array_equal(got["more"][1][0], x[0])


def test_memoised_module_name_is_followed() -> None:
    # protocol 4 memoises 'numpy' and fetches it again for numpy.dtype: the scan must still read numpy.dtype
    assert pickle_globals(pickle.dumps(np.ones(2), protocol=4)) == [
        "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype"]


def test_code_is_refused_by_name_and_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "rows.pkl"
    path.write_bytes(pickle.dumps([np.ones(3), _Boom()]))
    with pytest.raises(InvalidInput, match=r"rows.pkl: refused, the pickle would import posix.system"):
        load_arrays(path)
    assert not (tmp_path / "pwned-by-pickle").exists()


@pytest.mark.parametrize("value", [{"a": 1.5}, [np.ones(2), "text"], np.array([object()], dtype=object)[:0],
                                   np.array(["a", "b"])])
def test_anything_but_numeric_arrays_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match="only"):
        loads_arrays(pickle.dumps(value))


def test_builtins_global_is_refused_even_when_harmless() -> None:
    with pytest.raises(InvalidInput, match="would import builtins.complex"):
        loads_arrays(pickle.dumps(complex(1, 2)))


def test_unresolvable_global_is_refused() -> None:
    # STACK_GLOBAL whose module name comes from a computed value the scan cannot read
    data = b"\x80\x04" + b"K\x01" + b"\x8c\x05numpy\x94\x93."
    assert UNRESOLVED in pickle_globals(data)
    with pytest.raises(InvalidInput, match="refused"):
        loads_arrays(data)


def test_torn_and_oversized_files(tmp_path: Path) -> None:
    good = pickle.dumps(np.ones(100))
    with pytest.raises(InvalidInput, match="not a readable pickle"):
        loads_arrays(good[: len(good) // 2])
    path = tmp_path / "big.pkl"
    path.write_bytes(good)
    with pytest.raises(InvalidInput, match="over the 100-byte limit"):
        load_arrays(path, max_bytes=100)
    assert load_arrays(path, max_bytes=len(good)).shape == (100,)
    with pytest.raises(InvalidInput, match="cannot be read"):
        load_arrays(tmp_path / "absent.pkl")


@pytest.mark.skipif(not SAMPLE.is_file(), reason=f"third-party DeepECH sample rows not at {SAMPLE}")
def test_upstream_sample_rows_load() -> None:
    x = load_arrays(SAMPLE)
    assert x.shape == (1440, 224) and x.dtype == np.float64 and np.isfinite(x).all()
