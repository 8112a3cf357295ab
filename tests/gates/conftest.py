"""Shared set-up of the gate tests: the CRPS kernel is compiled (or loaded from numba's cache) once, up front."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _compiled_crps_kernel() -> None:
    # the first call compiles for each dtype; done here so that no hypothesis example pays it against its deadline
    from gates.ensemble import crps_ensemble

    for dtype in (np.float32, np.float64):
        crps_ensemble(np.ones((2, 1), dtype=dtype), np.zeros(1))
