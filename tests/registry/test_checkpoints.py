"""The core's safe checkpoint reader: tensors only, and a refused pickle names what it would import."""

from __future__ import annotations

import pickle

import pytest
import torch

from registry.checkpoints import code_global, imported_globals, read_tensors
from registry.errors import InvalidCheckpoint


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_plain_state_dicts_and_wrapped_ones_load(tmp_path):
    state = {"w": torch.ones(2, 3), "b": torch.zeros(3)}
    torch.save(state, tmp_path / "plain.pt")
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "wrapped.pth")
    torch.save({"model_state": state, "state_dict": {"other": torch.ones(1)}}, tmp_path / "both.pth")
    assert set(read_tensors(tmp_path / "plain.pt")) == {"w", "b"}
    assert set(read_tensors(tmp_path / "wrapped.pth")) == {"w", "b"}
    assert set(read_tensors(tmp_path / "both.pth")) == {"w", "b"}  # the first wrapper key wins
    assert code_global(tmp_path / "plain.pt") is None


def test_a_pickle_with_code_is_refused_naming_its_first_import_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"w": torch.ones(1), "x": _Evil(marker)}, tmp_path / "evil.pt")
    with pytest.raises(InvalidCheckpoint) as err:
        read_tensors(tmp_path / "evil.pt")
    assert str(err.value) == ("evil.pt: refused, the file carries code: its pickle would import posix.system "
                              "(only tensors and plain containers are loaded; nothing was run)")
    assert not marker.exists()


def test_a_legacy_pickle_with_code_is_named_too(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "legacy.pth"
    for protocol in (0, 2, 4):
        path.write_bytes(pickle.dumps({"x": _Evil(marker)}, protocol=protocol))
        assert code_global(path) == "posix.system", protocol
        with pytest.raises(InvalidCheckpoint, match="carries code"):
            read_tensors(path)
    assert not marker.exists()


def test_globals_are_read_in_order_from_the_opcodes():
    data = pickle.dumps([torch.float32, _Evil("m")], protocol=4)
    names = imported_globals(data)
    assert names[-1] == "posix.system" and "torch.float32" in names
    assert imported_globals(b"\x80\x04garbage") == []


def test_non_tensor_contents_and_bad_files_are_one_line(tmp_path):
    torch.save({"w": 1.5}, tmp_path / "floats.pt")
    with pytest.raises(InvalidCheckpoint, match="holds no state dict of tensors"):
        read_tensors(tmp_path / "floats.pt")
    torch.save([torch.ones(1)], tmp_path / "list.pt")
    with pytest.raises(InvalidCheckpoint, match="holds no state dict of tensors"):
        read_tensors(tmp_path / "list.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(InvalidCheckpoint, match="not a readable safetensors file"):
        read_tensors(tmp_path / "junk.safetensors")
    (tmp_path / "w.onnx").write_bytes(b"x")
    with pytest.raises(InvalidCheckpoint, match="weights must be .safetensors or .pt/.pth/.bin/.ckpt"):
        read_tensors(tmp_path / "w.onnx")
    torch.save({"w": torch.ones(4)}, tmp_path / "torn.pt")
    data = (tmp_path / "torn.pt").read_bytes()
    (tmp_path / "torn.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidCheckpoint, match="not a loadable checkpoint") as err:
        read_tensors(tmp_path / "torn.pt")
    assert "\n" not in str(err.value)


def test_a_memoised_module_name_is_followed(tmp_path):
    # protocol 4 memoises 'torch' once and fetches it back for torch.DoubleStorage: the culprit must be the
    # code-carrying global, not a name spliced from the last two strings read ('b.DoubleStorage')
    import zipfile

    path = tmp_path / "mixed.pt"
    torch.save({"a": torch.ones(2), "b": torch.zeros(1, dtype=torch.float64), "e": _Evil(tmp_path / "m")}, path,
               pickle_protocol=4)
    assert code_global(path) == "posix.system"
    with zipfile.ZipFile(path) as z:
        data = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    assert imported_globals(data)[:4] == ["torch._utils._rebuild_tensor_v2", "torch.FloatStorage",
                                          "collections.OrderedDict", "torch.DoubleStorage"]
