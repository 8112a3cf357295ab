"""Reading pickled NumPy arrays without running code: only array reconstruction is admitted, anything else refused.

A pickle is first read opcode by opcode (nothing executed): the first global it would import that is not one of
NumPy's array-rebuilding functions is named in the error, and the file is never unpickled. What passes is then
unpickled by an ``Unpickler`` whose ``find_class`` admits the same few names only (defence in depth), and the
result must be numeric arrays (no object dtype) in plain containers.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from registry.errors import InvalidInput

ALLOWED_GLOBALS = frozenset({
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.ndarray", "numpy.dtype",
})
"""What rebuilding an ``ndarray`` imports (NumPy 1 writes ``numpy.core``, NumPy 2 ``numpy._core``)."""

MAX_BYTES = 1 * 2**30
_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
_GETS = {"GET", "BINGET", "LONG_BINGET"}
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
UNRESOLVED = "<a global whose name the opcodes do not spell out>"


def pickle_globals(data: bytes) -> list[str]:
    """Every ``module.name`` a pickle would import, in order, read from its opcodes with the memo followed
    (``BINGET`` of a memoised ``'numpy'``); a name the scan cannot resolve is reported as ``UNRESOLVED``.
    Nothing is executed; a torn pickle yields what was read before the damage."""
    import pickletools

    found: list[str] = []
    pushed: list[str | None] = []
    memo: dict[int, str | None] = {}
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if name in _STRINGS:
                pushed.append(arg.decode("latin-1") if isinstance(arg, bytes) else str(arg))
            elif name in _GETS:
                pushed.append(memo.get(int(arg)))  # type: ignore[arg-type]
            elif name == "MEMOIZE":
                memo[len(memo)] = pushed[-1] if pushed else None
            elif name in _PUTS:
                memo[int(arg)] = pushed[-1] if pushed else None  # type: ignore[arg-type]
            elif name in ("GLOBAL", "INST"):
                found.append(".".join(str(arg).split(" ", 1)))
                pushed.append(None)
            elif name == "STACK_GLOBAL":
                mod, attr = (pushed[-2], pushed[-1]) if len(pushed) >= 2 else (None, None)
                found.append(f"{mod}.{attr}" if mod is not None and attr is not None else UNRESOLVED)
                pushed.append(None)
            elif name not in ("FRAME", "PROTO", "MARK", "STOP"):
                pushed.append(None)
    except Exception:  # noqa: S110 - a torn pickle: what was read before the damage is the answer
        pass
    return found


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if f"{module}.{name}" not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        import numpy as np

        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.empty(0))[0]  # numpy's own _reconstruct, wherever it lives now
        return getattr(np, name)


def _check(value: Any, what: str, depth: int = 0) -> None:
    import numpy as np

    if depth > 8:
        raise InvalidInput(f"{what}: containers nested deeper than 8 levels")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise InvalidInput(f"{what}: holds an array of dtype {value.dtype}; only numeric arrays are read")
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str | int):
                raise InvalidInput(f"{what}: a dict key of type {type(k).__name__}")
            _check(v, what, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _check(v, what, depth + 1)
    else:
        raise InvalidInput(f"{what}: holds a {type(value).__name__}; only NumPy arrays (in lists, tuples or dicts) "
                           "are read")


def loads_arrays(data: bytes, what: str = "pickle") -> Any:
    """Unpickle ``data`` if it holds only numeric NumPy arrays (possibly in lists, tuples, dicts).

    :raises InvalidInput: naming the first global outside ``ALLOWED_GLOBALS`` the pickle would import (found
        without executing it), or what else is wrong; nothing in the pickle runs in that case.
    """
    imports = pickle_globals(data)
    bad = next((g for g in imports if g not in ALLOWED_GLOBALS), None)
    if bad is not None:
        raise InvalidInput(f"{what}: refused, the pickle would import {bad} (only NumPy arrays are read; "
                           "nothing was run)")
    try:
        value = _ArraysOnly(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            MemoryError, OverflowError) as exc:
        raise InvalidInput(f"{what}: not a readable pickle of NumPy arrays ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    _check(value, what)
    return value


def load_arrays(path: Path, *, max_bytes: int = MAX_BYTES) -> Any:
    """``loads_arrays`` of a file, refusing one larger than ``max_bytes`` before reading it."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"{path.name}: cannot be read ({exc.strerror})") from None
    if size > max_bytes:
        raise InvalidInput(f"{path.name}: {size:,} bytes is over the {max_bytes:,}-byte limit for pickled arrays")
    return loads_arrays(path.read_bytes(), path.name)
