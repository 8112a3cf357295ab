"""plugins.deepech.model: the spec's parameter counts and keys, and upstream-format files written by a module this
test builds itself from the spec load strictly through `registry register` and give identical outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from clirun import run_cli
from torch import nn

from plugins.deepech.model import build_classifier, build_regressor, parameter_count


class _Attn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attention = nn.Linear(64, 1, bias=False)


class _Enc(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, 64, batch_first=True)
        self.attention = _Attn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x[..., None])
        w = torch.softmax(self.attention.attention(h).squeeze(-1), dim=1)
        return torch.einsum("bt,bth->bh", w, h)


class SpecNet(nn.Module):
    """Written here from ../shared/specs/deepech.md alone (not from the plugin)."""

    SPANS = ((4, 53), (53, 102), (102, 163), (163, 224))

    def __init__(self, n_enc: int) -> None:
        super().__init__()
        self.n_enc = n_enc
        for k in range(n_enc):
            self.add_module(f"lstm{k + 1}", _Enc())
        self.pos_fc1, self.pos_fc2, self.pos_fc3 = nn.Linear(4, 100), nn.Linear(100, 200), nn.Linear(200, 500)
        widths = [64 * n_enc + 500, 1024, 1024, 512, 512, 256, 256, 64, 1]
        for i in range(8):
            self.add_module(f"fc{i + 1}", nn.Linear(widths[i], widths[i + 1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        enc = [getattr(self, f"lstm{k + 1}")(x[:, a:b]) for k, (a, b) in enumerate(self.SPANS[: self.n_enc])]
        pos = self.pos_fc3(torch.relu(self.pos_fc2(torch.relu(self.pos_fc1(x[:, :4])))))
        h = torch.cat([*enc, pos], dim=1)
        for i in range(1, 8):
            h = nn.functional.leaky_relu(getattr(self, f"fc{i}")(h), 0.01)
        return self.fc8(h)[:, 0]  # dropout is the identity in eval mode


def test_parameter_counts_and_entries_are_the_spec_s() -> None:
    cls, reg = build_classifier(), build_regressor()
    assert (parameter_count(cls), len(cls.state_dict())) == (2_850_417, 32)
    assert (parameter_count(reg), len(reg.state_dict())) == (3_015_921, 42)
    assert list(cls.state_dict()) == list(SpecNet(2).state_dict())
    assert list(reg.state_dict()) == list(SpecNet(4).state_dict())


def test_spec_module_files_register_strictly_and_predict_identically(tmp_path: Path, home: Path,
                                                                      sample_rows: np.ndarray) -> None:
    torch.manual_seed(7)
    cls, reg = SpecNet(2).eval(), SpecNet(4).eval()
    rows = sample_rows[::180]  # 8 real rows
    with torch.no_grad():  # spread the untrained logits and centre them: rows on both sides of the threshold
        cls.fc8.weight.mul_(1000.0)
        cls.fc8.bias.zero_()
        cls.fc8.bias.fill_(-float(cls(torch.tensor(rows, dtype=torch.float32)).median()) + 1e-3)
    torch.save(cls.state_dict(), tmp_path / "classifier.pth")
    torch.save(reg.state_dict(), tmp_path / "regressor.pth")
    np.save(tmp_path / "rows.npy", rows)
    done = run_cli("register", "deepech", str(tmp_path / "classifier.pth"), f"regressor={tmp_path / 'regressor.pth'}",
                   "--json")
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)["lineage"]["validated"]
    assert facts["classifier_parameters"] == 2_850_417 and facts["regressor_parameters"] == 3_015_921
    out = run_cli("predict", "deepech@1", "--input", str(tmp_path / "rows.npy"), "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["rows"]
    with torch.no_grad():
        x = torch.tensor(rows, dtype=torch.float32)
        logit, amp = cls(x).numpy(), reg(x).numpy()
    assert [r["logit"] for r in got] == pytest.approx(logit.tolist(), abs=1e-5)
    prob = 1 / (1 + np.exp(-logit.astype(np.float64)))
    assert [r["present"] for r in got] == (prob > 0.5).tolist()
    assert 0 < sum(r["present"] for r in got) < len(got)
    for r, a, p in zip(got, amp, prob, strict=True):
        assert set(r) == {"logit", "probability", "present", "amplitude_db"}
        assert r["probability"] == pytest.approx(p, abs=1e-6)
        assert (r["amplitude_db"] is None) if p <= 0.5 else r["amplitude_db"] == pytest.approx(float(a), abs=1e-4)


def test_swapped_or_truncated_stages_are_refused_and_nothing_registered(tmp_path: Path, home: Path) -> None:
    torch.save(SpecNet(2).state_dict(), tmp_path / "c.pth")
    torch.save(SpecNet(4).state_dict(), tmp_path / "r.pth")
    swapped = run_cli("register", "deepech", str(tmp_path / "r.pth"), f"regressor={tmp_path / 'c.pth'}")
    assert swapped.returncode == 2
    assert "classifier r.pth: state_dict keys do not match" in swapped.stderr and "lstm3" in swapped.stderr
    state = SpecNet(2).state_dict()
    state.pop("fc8.bias")
    torch.save(state, tmp_path / "short.pth")
    short = run_cli("register", "deepech", str(tmp_path / "short.pth"), f"regressor={tmp_path / 'r.pth'}")
    assert short.returncode == 2 and "1 missing (first fc8.bias)" in short.stderr
    wide = SpecNet(2).state_dict()
    wide["fc8.weight"] = torch.zeros(1, 65)
    torch.save(wide, tmp_path / "wide.pth")
    shape = run_cli("register", "deepech", str(tmp_path / "wide.pth"), f"regressor={tmp_path / 'r.pth'}")
    assert shape.returncode == 2 and "fc8.weight has shape (1, 65)" in shape.stderr
    assert json.loads(run_cli("list", "deepech", "--json").stdout).get("versions", []) == []


def test_safetensors_pair_registers_as_the_same_model(tmp_path: Path, home: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(3)
    cls, reg = build_classifier(), build_regressor()
    save_file(dict(cls.state_dict()), str(tmp_path / "c.safetensors"))
    save_file(dict(reg.state_dict()), str(tmp_path / "r.safetensors"))
    done = run_cli("register", "deepech", str(tmp_path / "c.safetensors"), f"regressor={tmp_path / 'r.safetensors'}",
                   "--json")
    assert done.returncode == 0, done.stderr
