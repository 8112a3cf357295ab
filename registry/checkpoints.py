"""Reading checkpoint tensors safely, for every family: safetensors, or ``torch.load(weights_only=True)``.

A pickle that would import anything beyond tensors and plain containers is refused, and the error names the
first global it would import (found by reading the pickle's opcodes, never by running it).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import InvalidCheckpoint

if TYPE_CHECKING:
    import torch

TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
# globals a plain state dict's pickle imports; anything else is what weights_only refused
_PLAIN = ("torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "collections.OrderedDict",
          "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
          "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage",
          "torch.BoolStorage", "torch.float32", "torch.float64", "torch.float16", "torch.bfloat16", "torch.int64",
          "torch._utils._rebuild_tensor", "torch.Size", "torch.device", "builtins.set", "builtins.frozenset")
_MAX_PICKLE = 256 * 2**20


def _one_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _pickle_bytes(path: Path) -> bytes | None:
    """The pickle inside a torch zip checkpoint (``*/data.pkl``), or the file itself for the legacy format."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.endswith("data.pkl")]
                if not names or z.getinfo(names[0]).file_size > _MAX_PICKLE:
                    return None
                return z.read(names[0])
        if path.stat().st_size > _MAX_PICKLE:
            return None
        return path.read_bytes()
    except (OSError, zipfile.BadZipFile):
        return None


def imported_globals(data: bytes) -> list[str]:
    """Every ``module.name`` a pickle would import, in order, read from its opcodes (nothing is executed); module
    names fetched back from the pickle's memo are followed (``registry.safe_pickle.pickle_globals``)."""
    from registry.safe_pickle import pickle_globals

    return pickle_globals(data)


def code_global(path: Path) -> str | None:
    """The first global a checkpoint's pickle imports that a plain state dict never does, if any."""
    data = _pickle_bytes(path)
    if data is None:
        return None
    return next((g for g in imported_globals(data) if g not in _PLAIN), None)


def read_tensors(path: Path, *, wrappers: Sequence[str] = ("model_state", "state_dict")) -> dict[str, torch.Tensor]:
    """A flat ``name → tensor`` dict from ``.safetensors`` or a torch checkpoint; ``InvalidCheckpoint`` otherwise.

    A torch checkpoint that wraps its state dict (``{"state_dict": …, "epoch": …}``) is unwrapped through the
    first key of ``wrappers`` that holds a mapping.
    """
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:
            raise InvalidCheckpoint(f"{path.name}: not a readable safetensors file ({_one_line(exc)})") from None
    if path.suffix not in TORCH_SUFFIXES:
        raise InvalidCheckpoint(f"{path.name}: weights must be .safetensors or {'/'.join(TORCH_SUFFIXES)}")
    try:
        with warnings.catch_warnings():  # protocol notes about files about to be refused anyway
            warnings.simplefilter("ignore", UserWarning)
            loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        culprit = code_global(path)
        if culprit is not None:
            raise InvalidCheckpoint(f"{path.name}: refused, the file carries code: its pickle would import "
                                    f"{culprit} (only tensors and plain containers are loaded; nothing was run)"
                                    ) from None
        raise InvalidCheckpoint(f"{path.name}: not a loadable checkpoint ({_one_line(exc)})") from None
    if isinstance(loaded, Mapping):
        inner = [loaded[k] for k in wrappers if isinstance(loaded.get(k), Mapping)]
        loaded = inner[0] if inner else loaded
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise InvalidCheckpoint(f"{path.name}: holds no state dict of tensors")
    return {str(k): v for k, v in loaded.items()}

