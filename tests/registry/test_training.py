"""Training through the core: a windowed family gets one verified table per split window, each in the lineage;
an extract without one of its windows is refused before anything is read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from toy_family import ToyFamily, train_checkpoint

from cache.spec import ExtractSpec, Window
from registry.errors import InvalidInput
from registry.family import TrainableFamily, WindowedTrainableFamily
from registry.hookspecs import hookimpl

DB = "wintoy"
SQL = "SELECT t, x0, y FROM {db:Identifier}.obs ORDER BY t"
TRAIN, VALIDATION = Window("train", "2020-01-01", "2020-01-21"), Window("validation", "2020-01-21", "2020-01-31")


class WindowedToy(ToyFamily):
    """The toy family trained from two windows; it records the rows and first times it was handed."""

    name = "wintoy"
    training_windows = ("train", "validation")

    def train_windows(self, tables: Mapping[str, Any], config: Path, *, out_dir: Path, epochs: int | None, seed: int,
                      device: str, progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
        seen = {k: {"rows": t.num_rows, "first": str(t.column("t")[0].as_py().date())} for k, t in tables.items()}
        return {"weights": train_checkpoint(out_dir / "w.safetensors", steps=1, seed=seed)}, {"seen": seen}


class RowToy(ToyFamily):
    """The toy family trained from one table: the whole extract."""

    name = "rowtoy"

    def train(self, table: Any, config: Path, *, out_dir: Path, epochs: int | None, seed: int, device: str,
              progress: bool) -> tuple[dict[str, Path], dict[str, Any]]:
        return {"weights": train_checkpoint(out_dir / "w.safetensors", steps=1, seed=seed)}, {"rows": table.num_rows}


class _Plugin:
    @hookimpl
    def registry_families(self) -> list[Any]:
        return [WindowedToy(), RowToy()]

    @hookimpl
    def registry_extracts(self) -> list[Any]:
        return [ExtractSpec("wintoy-obs", SQL, params={"db": DB}, time_column="t", windows=(TRAIN, VALIDATION)),
                ExtractSpec("wintoy-train-only", SQL, params={"db": DB}, time_column="t", windows=(TRAIN,))]


@pytest.fixture
def app(engine: Any, tmp_path: Path) -> Iterator[Any]:
    """An app whose plugins hold the windowed toy, over 40 daily SYNTHETIC rows (2020-01-01 … 2020-02-09)."""
    from registry.app import App
    from registry.plugins import get_plugin_manager

    engine.command(f"DROP DATABASE IF EXISTS {DB}")
    engine.command(f"CREATE DATABASE {DB}")
    engine.command(f"CREATE TABLE {DB}.obs (t DateTime64(0, 'UTC'), x0 Float64, y Float64) ENGINE = MergeTree "
                   "ORDER BY t")
    engine.command(f"INSERT INTO {DB}.obs SELECT toDateTime64('2020-01-01', 0, 'UTC') + INTERVAL number DAY, "
                   "number, 2 * number FROM numbers(40)")
    plugins = get_plugin_manager(entry_points=False)
    plugins.register(_Plugin(), name="wintoy")
    yield App(tmp_path / "home", plugins=plugins)
    engine.command(f"DROP DATABASE IF EXISTS {DB}")


def test_each_window_is_its_own_verified_extract_in_the_lineage(app: Any, tmp_path: Path) -> None:
    from cache.store import ExtractCache
    from registry.training import train_and_register

    assert isinstance(WindowedToy(), WindowedTrainableFamily) and not isinstance(RowToy(), WindowedTrainableFamily)
    assert isinstance(RowToy(), TrainableFamily)
    config = tmp_path / "cfg.json"
    config.write_text("{}")
    version, created = train_and_register(app, "wintoy", config, "wintoy-obs", progress=False)
    assert created and version.lineage["training"]["seen"] == {"train": {"rows": 20, "first": "2020-01-01"},
                                                                "validation": {"rows": 10, "first": "2020-01-21"}}
    extracts = version.lineage["extracts"]
    assert [(e["name"], e["split"], e["rows"]) for e in extracts] == [("wintoy-obs", "train", 20),
                                                                       ("wintoy-obs", "validation", 10)]
    cache = ExtractCache(app.home)
    for e in extracts:
        ref = cache.by_key(e["key"])
        assert ref is not None and ref.digest == e["digest"] and ref.meta["split"] == e["split"]
    assert extracts[0]["digest"] != extracts[1]["digest"]


def test_an_extract_without_a_window_the_family_trains_on_is_refused_before_reading(app: Any, tmp_path: Path) -> None:
    from registry.training import train_and_register

    config = tmp_path / "cfg.json"
    config.write_text("{}")
    with pytest.raises(InvalidInput) as info:
        train_and_register(app, "wintoy", config, "wintoy-train-only", progress=False)
    assert str(info.value) == ("extract 'wintoy-train-only' declares no split window 'validation', which family "
                               "'wintoy' trains on (its windows: train)")
    assert not list((app.home / "extracts").glob("*.duckdb")) and app.store.versions() == []


def test_a_row_family_still_gets_the_whole_extract_without_a_split(app: Any, tmp_path: Path) -> None:
    from registry.training import train_and_register

    config = tmp_path / "cfg.json"
    config.write_text("{}")
    version, _ = train_and_register(app, "rowtoy", config, "wintoy-obs", progress=False)
    assert version.lineage["training"] == {"rows": 40}
    assert [(e["rows"], "split" in e) for e in version.lineage["extracts"]] == [(40, False)]
