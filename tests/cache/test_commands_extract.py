"""The ``registry extract`` / ``extracts`` / ``indices load`` commands (lives here, beside the cache it drives)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from cache.spec import ExtractSpec
from registry.app import App
from registry.cli import main
from registry.commands.extract import parse_params, run_extract, run_extracts
from registry.errors import DataMissing, ExitCode, InvalidInput, UnknownName
from registry.hookspecs import hookimpl
from registry.output import Output
from registry.plugins import get_plugin_manager


@pytest.fixture
def app(home, engine, db):
    engine.command(f"CREATE TABLE {db}.obs (day Date, v Float32) ENGINE = MergeTree ORDER BY day")
    engine.command(f"INSERT INTO {db}.obs SELECT toDate('2024-01-01') + number, if(number % 10 = 0, 99.9, number) "
                   "FROM numbers(100)")
    spec = ExtractSpec("obs", f"SELECT day, v FROM {db}.obs WHERE v >= {{lo:Float32}}", params={"lo": 0},
                       description="test rows", fill_values={"v": (99.9,)})

    class Plugin:
        @hookimpl
        def registry_extracts(self):
            return [spec]

    plugins = get_plugin_manager(builtins=(), entry_points=False)
    plugins.register(Plugin(), name="test_extracts")
    yield App(home, plugins=plugins)
    plugins.unregister("test_extracts")


def _args(**kw) -> argparse.Namespace:
    base = {"name": "obs", "param": [], "split": None, "refresh": False, "verify": False, "source": None,
            "no_progress": True, "json": True}
    return argparse.Namespace(**{**base, **kw})


def test_extract_then_hit_then_verify(app, engine, db, capsys):
    assert run_extract(app, _args(param=["lo=50"]), Output(json_mode=True)) == ExitCode.OK
    first = json.loads(capsys.readouterr().out)
    assert first["cache"] == "miss" and first["rows"] == 55 and first["filled"] == {"v": 10}
    assert run_extract(app, _args(param=["lo=50"]), Output(json_mode=True)) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["cache"] == "hit"
    assert run_extract(app, _args(param=["lo=50"], verify=True), Output(json_mode=True)) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["unchanged"] is True
    engine.command(f"INSERT INTO {db}.obs VALUES ('2030-01-01', 77)")
    assert run_extract(app, _args(param=["lo=50"], verify=True), Output(json_mode=True)) == ExitCode.REFUSED
    assert "changed" in json.loads(capsys.readouterr().out)["message"]
    assert run_extracts(app, argparse.Namespace(json=True), Output(json_mode=True)) == ExitCode.OK
    listing = json.loads(capsys.readouterr().out)
    assert [c["rows"] for c in listing["cached"]] == [55] and listing["declared"] == {"obs": "test rows"}
    on_disk = listing["cached"][0]["bytes"]
    assert on_disk["duckdb"] == Path(listing["cached"][0]["path"]).stat().st_size and on_disk["arrow"] > 0
    assert run_extracts(app, argparse.Namespace(json=False), Output()) == ExitCode.OK
    assert "ON DISK" in capsys.readouterr().out


def test_text_output_and_errors(app, capsys):
    assert run_extract(app, _args(json=False), Output()) == ExitCode.OK
    assert "obs: 100 rows" in capsys.readouterr().out
    with pytest.raises(InvalidInput, match="'lo'"):
        run_extract(app, _args(param=["lo=lots"]), Output())
    with pytest.raises(UnknownName, match="unknown extract 'nope'"):
        run_extract(app, _args(name="nope"), Output())
    with pytest.raises(DataMissing, match="nothing cached"):
        run_extract(app, _args(param=["lo=3"], verify=True), Output())
    with pytest.raises(InvalidInput, match="NAME=VALUE"):
        parse_params(["lo"])


def test_console_entry_points(home, capsys):
    assert main(["extracts", "--json", "--home", str(home)]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["cached"] == []
    assert main(["extract", "missing", "--home", str(home)]) == ExitCode.USAGE
    assert "unknown extract 'missing'" in capsys.readouterr().err
    assert main(["indices", "load", "--json", "--home", str(home)]) == ExitCode.OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["first_day"] == "1957-10-01" and summary["kp3h_rows"] == 8 * summary["daily_rows"]
