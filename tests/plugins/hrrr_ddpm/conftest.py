"""Fixtures for the hrrr_ddpm tests: torch on one thread (the tests' tiny grids gain nothing from more, and on a busy
machine two OpenMP threads spin against each other: one 8 × 14 × 24 × 24 forward took 1 s instead of 20 ms)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# imported at collection, not in the fixture: mutation testing (bench/mutation.py) collects once in its fork server
# and forks a child per mutant, which then inherits torch instead of importing it again (≈ 10 s on a busy machine)
import torch


@pytest.fixture(autouse=True, scope="session")
def _torch_one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
