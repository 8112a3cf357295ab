"""pytest plugin for bench/mutation.py: run a mutant's tests fastest first, so ``-x`` stops at a kill sooner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # mutmut runs pytest in its mutants/ folder, where it keeps each test's measured duration
    stats = Path("mutmut-stats.json")
    if not stats.is_file():
        return
    durations = json.loads(stats.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))  # stable: equal times keep the file order
