"""The compiled CRPS kernel leaves the caller's torch thread count alone."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import numpy as np, torch
torch.set_num_threads(1)
torch.nn.GroupNorm(8, 16)(torch.zeros(2, 16, 8, 8))  # torch's OpenMP runtime is up before numba's pool starts
from gates.ensemble import crps_ensemble
crps_ensemble(np.random.default_rng(0).random((500, 20)), np.zeros(500), member_axis=-1)
print(torch.get_num_threads())
"""


def test_the_first_parallel_crps_keeps_torch_on_the_thread_count_it_was_given() -> None:
    # numba's OpenMP layer shares torch's OpenMP runtime and resets its thread count when its pool starts (once
    # per process, hence a fresh child): a one-thread training loop after a CRPS then ran on two threads, 7× slower
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "1"
