"""Reading DeepECH input rows from upstream's pickle (NumPy arrays only), ``.npy``, Parquet or CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plugins.deepech.schema import COLUMN_NAMES, N_COLUMNS, check_rows
from registry.errors import InvalidInput

MAX_INPUT_BYTES = 4 * 2**30
SUFFIXES = (".pkl", ".pickle", ".npy", ".parquet", ".csv")


def _parquet(path: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as exc:
        raise InvalidInput(f"{path.name}: not a readable Parquet file ({str(exc).splitlines()[0][:200]})") from None
    missing = [c for c in COLUMN_NAMES if c not in names]
    if missing:
        raise InvalidInput(f"{path.name}: {len(missing)} input column(s) missing, first {missing[0]!r} "
                           "(`registry predict --help` lists the 224 columns)")
    table = pq.read_table(path, columns=list(COLUMN_NAMES))
    try:
        return np.column_stack([table.column(c).to_numpy() for c in COLUMN_NAMES])
    except Exception as exc:  # nulls, non-numeric columns
        raise InvalidInput(f"{path.name}: columns must be numbers without nulls ({type(exc).__name__})") from None


def _csv(path: Path) -> np.ndarray:
    with path.open(encoding="utf-8", errors="replace") as fh:
        first = fh.readline().strip().split(",")
    header = bool(first) and not _is_number(first[0])
    if header and tuple(c.strip() for c in first) != COLUMN_NAMES:
        raise InvalidInput(f"{path.name}: the header must name the {N_COLUMNS} input columns in order "
                           f"({COLUMN_NAMES[0]}, {COLUMN_NAMES[1]}, …)")
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1 if header else 0, dtype=np.float64)
    except ValueError as exc:
        raise InvalidInput(f"{path.name}: {str(exc).splitlines()[0][:200]}") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_rows(path: Path) -> np.ndarray:
    """The checked ``(n, 224)`` float64 rows of ``path``; ``InvalidInput`` with one line for anything else.

    ``.pkl``/``.pickle``: a pickled array, read by ``registry.safe_pickle`` (only NumPy array reconstruction is
    admitted; a pickle that would import anything else is refused and nothing in it runs). ``.npy``: read
    without pickle support. ``.parquet``: the 224 named columns. ``.csv``: 224 numbers per row, optionally
    under a header naming them.
    """
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise InvalidInput(f"{path.name}: DeepECH inputs are {', '.join(SUFFIXES)} files")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"{path.name}: cannot be read ({exc.strerror})") from None
    if size > MAX_INPUT_BYTES:
        raise InvalidInput(f"{path.name}: {size:,} bytes is over the {MAX_INPUT_BYTES:,}-byte input limit")
    if path.suffix in (".pkl", ".pickle"):
        from registry.safe_pickle import load_arrays

        rows = load_arrays(path, max_bytes=MAX_INPUT_BYTES)
        if not isinstance(rows, np.ndarray):
            raise InvalidInput(f"{path.name}: the pickle holds a {type(rows).__name__}, not one array of rows")
    elif path.suffix == ".npy":
        try:
            rows = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise InvalidInput(f"{path.name}: not a plain .npy array ({str(exc).splitlines()[0][:200]})") from None
    elif path.suffix == ".parquet":
        rows = _parquet(path)
    else:
        rows = _csv(path)
    return check_rows(rows, path.name)
