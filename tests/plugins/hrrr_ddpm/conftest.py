"""Fixtures for the hrrr_ddpm tests: torch on one thread (the tests' tiny grids gain nothing from more, and on a busy
machine two OpenMP threads spin against each other: one 8 × 14 × 24 × 24 forward took 1 s instead of 20 ms)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _torch_one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
