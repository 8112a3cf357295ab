"""The PhysicsOverrideLayer rules, their precedence and the per-rule change report."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.ionis.override import CLOSED_SIGMA, apply_override


def _one(sigma, f, d, el_tx, el_rx):
    return apply_override(np.array([sigma]), np.array([f]), np.array([d]), np.array([el_tx]), np.array([el_rx]))


@pytest.mark.parametrize(("f", "d", "el_tx", "el_rx", "rule"), [
    (28.1, 6000, -10, -10, "A"),
    (21.1, 6000, -20, 5, "B"),
    (28.1, 6000, -20, -20, "A"),  # A takes precedence over B
    (1.84, 2000, 5, -30, "C-severe"),
    (3.57, 2000, -30, 5, "C-severe"),
    (7.04, 2000, 5, 5, "C-moderate"),
    (7.04, 2000, 5, -1, ""),  # C-moderate needs both ends sunlit
    (7.04, 1000, 5, 5, ""),  # short path
    (14.1, 6000, -30, -30, ""),  # 20 m is never overridden
    (28.1, 6000, -5, -10, ""),  # civil twilight at the transmitter
])
def test_rules(f, d, el_tx, el_rx, rule):
    result = _one(1.0, f, d, el_tx, el_rx)
    assert result.rule[0] == rule
    assert result.sigma[0] == (CLOSED_SIGMA if rule else 1.0)
    assert result.changed == (1 if rule else 0)


def test_rows_already_closed_are_not_counted():
    result = _one(-2.5, 28.1, 6000, -30, -30)
    assert result.sigma[0] == -2.5 and result.rule[0] == "" and result.changed == 0


def test_counts_by_rule():
    sigma = np.ones(5)
    result = apply_override(sigma, np.array([28.1, 28.1, 1.8, 7.0, 14.0]), np.full(5, 3000.0),
                            np.array([-10, -20, 10, 10, 10.0]), np.array([-10, 10, 10, 10, 10.0]))
    assert result.counts == {"A": 1, "B": 1, "C-severe": 1, "C-moderate": 1}
    assert result.changed == 4 and result.sigma.tolist() == [-2, -2, -2, -2, 1]
