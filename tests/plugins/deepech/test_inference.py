"""plugins.deepech.inference: amplitude only where the probability exceeds the threshold; batches change nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from plugins.deepech.inference import TwoStageModel


class _Fixed(torch.nn.Module):
    """Returns column ``col`` of each row (a stand-in stage whose output the test chooses)."""

    def __init__(self, col: int) -> None:
        super().__init__()
        self.col = col
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(len(x))
        return x[:, self.col] * 1.0


def test_amplitude_only_where_probability_exceeds_threshold() -> None:
    rows = np.zeros((4, 224))
    rows[:, 0] = [-2.0, 0.0, 0.0, 3.0]  # logits → p = 0.12, 0.5, 0.5, 0.95
    rows[:, 1] = [10.0, 11.0, 12.0, 13.0]
    reg = _Fixed(1)
    pred = TwoStageModel(_Fixed(0), reg, threshold=0.5).predict(rows)
    assert pred.present.tolist() == [False, False, False, True]  # p == threshold is not "present"
    assert reg.calls == [1]  # the regressor saw only the one present row
    out = TwoStageModel(_Fixed(0), _Fixed(1), threshold=0.5).predict(rows).rows()
    assert [r["amplitude_db"] for r in out] == [None, None, None, 13.0]
    assert out[0]["probability"] == pytest.approx(1 / (1 + np.exp(2.0)))
    low = TwoStageModel(_Fixed(0), _Fixed(1), threshold=0.1).predict(rows)
    assert low.present.all()


def test_batches_give_the_same_predictions_as_one_pass(sample_rows: np.ndarray) -> None:
    from plugins.deepech.model import build_classifier, build_regressor

    torch.manual_seed(1)
    model = TwoStageModel(build_classifier(), build_regressor(), threshold=0.5)
    rows = sample_rows[:20]
    with torch.no_grad():
        model.classifier.fc8.bias.fill_(-float(model.classifier(torch.tensor(rows, dtype=torch.float32)).median()))
    whole, parts = model.predict(rows, batch_size=20), model.predict(rows, batch_size=7)
    np.testing.assert_allclose(parts.logit, whole.logit, atol=1e-5)
    np.testing.assert_array_equal(parts.present, whole.present)
    np.testing.assert_allclose(parts.amplitude_db, whole.amplitude_db, atol=1e-4)
    assert np.isnan(whole.amplitude_db[~whole.present]).all() and np.isfinite(whole.amplitude_db[whole.present]).all()
    np.testing.assert_allclose(model.logits(rows, batch_size=9), whole.logit, atol=1e-5)


def test_empty_input() -> None:
    assert TwoStageModel(_Fixed(0), _Fixed(1)).predict(np.zeros((0, 224))).rows() == []


@pytest.fixture(scope="module")
def seeded_pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    from plugins.deepech.model import build_classifier, build_regressor

    torch.manual_seed(2)
    return build_classifier().eval(), build_regressor().eval()


def test_workers_and_steps_give_the_networks_own_outputs(seeded_pair: tuple[torch.nn.Module, torch.nn.Module],
                                                          sample_rows: np.ndarray) -> None:
    cls, reg = seeded_pair
    rows = sample_rows[::9][:150]
    with torch.no_grad():  # spread the untrained logits and centre them: rows on both sides of the threshold
        cls.fc8.weight.mul_(1000.0)
        cls.fc8.bias.zero_()
        cls.fc8.bias.fill_(-float(cls(torch.tensor(rows, dtype=torch.float32)).median()))
        logit = cls(torch.tensor(rows, dtype=torch.float32)).numpy()
    one = TwoStageModel(cls, reg, workers=1).predict(rows, batch_size=16)
    three = TwoStageModel(cls, reg, workers=3).predict(rows, batch_size=16)
    for field in ("logit", "probability", "present", "amplitude_db"):  # the same bits, whoever ran which step
        np.testing.assert_array_equal(getattr(three, field), getattr(one, field), err_msg=field)
    np.testing.assert_allclose(one.logit, logit, rtol=1e-5, atol=1e-4)
    assert 0 < one.present.sum() < len(rows)
    before = torch.get_num_threads()
    TwoStageModel(cls, reg, workers=2).logits(rows, batch_size=50)
    assert torch.get_num_threads() == before  # the workers' one thread does not leak into the caller


def test_one_prediction_per_batch_in_order_and_streamed() -> None:
    """Uneven batches come back one by one, in order; an endless stream is read only a few steps ahead."""
    pulled = []

    def endless() -> Any:
        k = 0
        while True:
            rows = np.zeros((3 + k % 4, 224))
            rows[:, 0] = k  # the logit tells the batch
            pulled.append(k)
            yield rows
            k += 1

    model = TwoStageModel(_Fixed(0), _Fixed(1), workers=2)
    stream = model.predict_batches(endless(), batch_size=2)
    got = [next(stream) for _ in range(5)]
    assert [len(p.logit) for p in got] == [3, 4, 5, 6, 3]
    assert [set(p.logit.tolist()) for p in got] == [{0.0}, {1.0}, {2.0}, {3.0}, {4.0}]
    assert len(pulled) <= 5 + 3  # at most 2 × workers + 1 steps in flight, each from one of a few batches
    stream.close()
    empty_too = list(model.predict_batches([np.zeros((0, 224)), np.ones((2, 224))]))
    assert len(empty_too) == 1 and empty_too[0].logit.tolist() == [1.0, 1.0]
