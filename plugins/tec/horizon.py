"""A self-test of the scorer's pairing: on a synthetic series with a known shift, lead k must pair with issue + k."""

from __future__ import annotations

import numpy as np

from plugins.tec.features import Features
from plugins.tec.sequences import build_samples


def pairing_self_test(leads: int = 24, steps: int = 24) -> str:
    """An empty string when the pairing is right, else what went wrong (SYNTHETIC series, no data read).

    The series is TEC(t) = 3·t (a known shift per hour); a perfect forecast of lead k is 3·(issue + k), so the
    pairs must give zero error at every lead and the error of a +1 h forecast scored as +24 h must be 69.
    """
    hours = np.array([h for h in range(200) if h != 120], dtype=np.int64)  # one missing hour
    location = np.zeros(len(hours), dtype=np.int64)
    complete = np.isin(hours - 1, hours)
    features = Features(np.zeros((len(hours), 24), np.float32), complete, location, hours, 0)
    samples = build_samples(features, 3.0 * hours, steps=steps, leads=leads)
    perfect = 3.0 * (samples.issue_hour[:, None] + np.arange(1, leads + 1)[None, :])
    err = np.abs(perfect - samples.target).max(axis=0)
    if err.max() != 0:
        return f"a perfect forecast has error {err.max():g} at lead +{int(err.argmax()) + 1} h"
    swapped = float(np.abs(perfect[:, 0] - samples.target[:, leads - 1]).mean())
    if swapped != 3.0 * (leads - 1):
        return f"a +1 h forecast scored at +{leads} h gave {swapped:g}, not the known shift {3 * (leads - 1)}"
    return ""
