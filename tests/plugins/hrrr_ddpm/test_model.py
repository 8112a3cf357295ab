"""The ultra-minimal DDPM: parameter counts, conditional input, any grid size, config and safetensors round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from plugins.hrrr_ddpm.model import (
    TinyDDPM,
    count_parameters,
    load_model,
    save_model,
    timestep_embedding,
)


@pytest.mark.parametrize("width, expected", [(16, 81_111), (24, 180_799)])
def test_parameter_counts_match_the_specification(width: int, expected: int) -> None:
    assert count_parameters(TinyDDPM(channels=7, width=width)) == expected


def test_conditional_form_adds_only_the_first_convolution_inputs() -> None:
    # 7 more input channels on the first 3×3 conv of width 16: 7 × 16 × 9 = 1008 weights
    assert count_parameters(TinyDDPM(width=16, cond_channels=7)) == 81_111 + 1008
    assert TinyDDPM(cond_channels=7).blocks[0].conv1.in_channels == 14


@pytest.mark.parametrize("hw", [(16, 16), (8, 24), (13, 7)])
def test_any_grid_size_works(hw: tuple[int, int]) -> None:
    model = TinyDDPM(width=8)
    out = model(torch.randn(3, 7, *hw), torch.tensor([0, 500, 999]))
    assert out.shape == (3, 7, *hw) and torch.isfinite(out).all()


def test_the_step_changes_the_output() -> None:
    model = TinyDDPM(width=8).eval()
    x = torch.randn(1, 7, 8, 8)
    assert not torch.allclose(model(x, torch.tensor([10])), model(x, torch.tensor([900])))


def test_condition_is_required_by_conditional_and_refused_by_unconditional_models() -> None:
    x, t = torch.randn(2, 7, 8, 8), torch.tensor([1, 2])
    with pytest.raises(ValueError, match="condition of 7 channels"):
        TinyDDPM(width=8, cond_channels=7)(x, t)
    with pytest.raises(ValueError, match="condition of 7 channels"):
        TinyDDPM(width=8, cond_channels=7)(x, t, torch.randn(2, 6, 8, 8))
    with pytest.raises(ValueError, match="unconditional"):
        TinyDDPM(width=8)(x, t, torch.randn(2, 7, 8, 8))


def test_the_condition_reaches_the_output() -> None:
    model = TinyDDPM(width=8, cond_channels=7).eval()
    x, t = torch.randn(1, 7, 8, 8), torch.tensor([100])
    assert not torch.allclose(model(x, t, torch.zeros(1, 7, 8, 8)), model(x, t, torch.ones(1, 7, 8, 8)))


@pytest.mark.parametrize("width", [0, 12, 7])
def test_widths_that_group_norm_cannot_split_are_refused(width: int) -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        TinyDDPM(width=width)


def test_timestep_embedding_is_sin_then_cos_of_the_specified_frequencies() -> None:
    emb = timestep_embedding(torch.tensor([0, 3]), 16)
    assert emb.shape == (2, 16)
    assert torch.equal(emb[0, :8], torch.zeros(8)) and torch.equal(emb[0, 8:], torch.ones(8))
    assert emb[1, 0].item() == pytest.approx(torch.sin(torch.tensor(3.0)).item())  # k = 0: frequency 1
    assert emb[1, 7].item() == pytest.approx(torch.sin(torch.tensor(3e-4)).item(), rel=1e-4)  # k = 7: 10⁻⁴


def test_seeded_construction_is_deterministic_and_leaves_the_global_generator_alone() -> None:
    config = TinyDDPM(width=8, cond_channels=7).config
    state = torch.random.get_rng_state()
    a, b = TinyDDPM.from_config(config, seed=3), TinyDDPM.from_config(config, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    c = TinyDDPM.from_config(config, seed=4)
    assert not torch.equal(a.out.weight, c.out.weight)


def test_config_round_trips_through_safetensors_metadata(tmp_path: Path) -> None:
    model = TinyDDPM(width=8, cond_channels=7, T=500, s=0.01).eval()
    path = tmp_path / "m.safetensors"
    save_model(model, path)
    loaded = load_model(path).eval()
    assert loaded.config == model.config
    x, t, c = torch.randn(1, 7, 8, 8), torch.tensor([5]), torch.randn(1, 7, 8, 8)
    assert torch.equal(loaded(x, t, c), model(x, t, c))


def test_a_safetensors_file_without_the_config_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(1)}, str(path))
    with pytest.raises(ValueError, match="no hrrr_ddpm_config"):
        load_model(path)


def test_a_foreign_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="not an ultra-minimal-ddpm config"):
        TinyDDPM.from_config({"architecture": "unet", "width": 8})
