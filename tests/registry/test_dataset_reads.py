"""Datasets a version reads besides its files: refused at registration when absent, the newest handed to predict."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from toy_gridded import make_case, write_npy

from cache.datasets import DatasetStore
from cache.gridded_input import open_input
from registry.dataset_reads import datasets_read, require_registered, with_newest
from registry.errors import InvalidInput
from registry.family import DatasetReadingFamily


class TableReader:
    """A throw-away family whose versions read the datasets their facts name (facts["tables"])."""

    def datasets_read(self, facts: Mapping[str, Any], home: Path) -> dict[str, str]:
        return {n: f"make-table --home {home} {n}" for n in facts.get("tables", [])}

    def with_datasets(self, model: Any, datasets: Mapping[str, Any]) -> Any:
        return {**model, "read": {n: d.digest for n, d in datasets.items()}}


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return write_npy(make_case(), tmp_path / "synthetic-case")


def test_a_family_without_the_protocol_reads_no_dataset_and_its_model_is_untouched(tmp_path):
    assert isinstance(TableReader(), DatasetReadingFamily) and not isinstance(object(), DatasetReadingFamily)
    assert datasets_read(object(), {"tables": ["a"]}, tmp_path) == {}
    require_registered(object(), {"tables": ["a"]}, tmp_path)  # nothing to refuse
    model = {"m": 1}
    assert with_newest(object(), model, {"tables": ["a"]}, tmp_path) is model


def test_every_absent_dataset_is_named_with_its_command_and_the_newest_content_is_handed_over(case, tmp_path):
    home, family, facts = tmp_path / "home", TableReader(), {"tables": ["t.b", "t.a"]}
    with pytest.raises(InvalidInput) as err:
        require_registered(family, facts, home)
    assert str(err.value) == (
        f"this version reads dataset 't.a', which is not registered in {home}: build it with "
        f"`make-table --home {home} t.a`; this version reads dataset 't.b', which is not registered in {home}: "
        f"build it with `make-table --home {home} t.b`")
    store = DatasetStore(home)
    store.register("t.a", open_input([case]), tile=8)
    with pytest.raises(InvalidInput, match=r"^this version reads dataset 't\.b'[^;]*$"):  # only the second
        require_registered(family, facts, home)
    with pytest.raises(InvalidInput, match=r"dataset 't\.b', which is not registered .* `make-table"):
        with_newest(family, {}, facts, home)
    store.register("t.b", open_input([case]), tile=8)
    newest, _ = store.register("t.b", open_input([case]), tile=16)  # other chunking: another, newer content
    require_registered(family, facts, home)
    got = with_newest(family, {"m": 1}, facts, home)
    assert got["m"] == 1 and got["read"] == {"t.a": store.latest("t.a").digest, "t.b": newest.digest}
    assert with_newest(family, {"m": 1}, {}, home) == {"m": 1}  # a version reading none
