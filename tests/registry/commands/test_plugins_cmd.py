"""registry plugins: input columns summarised (numbered runs folded, lines wrapped), ``--columns`` lists each."""

from __future__ import annotations

import json

import pytest

from registry.cli import main
from registry.commands.plugins_cmd import column_summary, wrap_items
from registry.family import InputColumn


def cols(*spec: str, unit: str = "nT") -> list[InputColumn]:
    return [InputColumn(n, unit) for n in spec]


def test_numbered_runs_of_one_stem_and_unit_fold() -> None:
    assert column_summary(cols("a_00", "a_01", "a_02")) == ["a_00…a_02 [nT] ×3"]
    assert column_summary(cols("x8", "x9", "x10", "x11")) == ["x8…x11 [nT] ×4"]  # the number, not the text
    assert column_summary(cols("a_0", "a_1")) == ["a_0 [nT]", "a_1 [nT]"]  # two are shown as they are
    assert column_summary(cols("a_0", "a_1", "a_3", "a_4", "a_5")) == ["a_0 [nT]", "a_1 [nT]", "a_3…a_5 [nT] ×3"]
    assert column_summary(cols("a_2", "a_1", "a_0")) == ["a_2 [nT]", "a_1 [nT]", "a_0 [nT]"]  # not in order
    assert column_summary(cols("a1", "a2", "b3", "b4", "b5")) == ["a1 [nT]", "a2 [nT]", "b3…b5 [nT] ×3"]
    mixed = [*cols("s0", "s1"), InputColumn("s2", "1"), *cols("t", "u")]
    assert column_summary(mixed) == ["s0 [nT]", "s1 [nT]", "s2 [1]", "t [nT]", "u [nT]"]  # unit change breaks
    assert column_summary([]) == []


def test_wrapping_breaks_between_items_only() -> None:
    items = [f"item{i} [unit]" for i in range(40)]
    lines = wrap_items("head:", items, width=50)
    assert all(len(line) <= 50 for line in lines) and len(lines) > 5
    assert lines[0].startswith("head: item0 [unit],") and all(x.startswith("    item") for x in lines[1:])
    assert " ".join(x.strip() for x in lines).removeprefix("head: ") == ", ".join(items)
    assert wrap_items("h:", ["x" * 80], width=50) == ["h: " + "x" * 80]  # an item longer than a line stays whole
    assert wrap_items("h:", ["a", "b"], width=50) == ["h: a, b"]


def test_plugins_overview_summarises_deepechs_224_columns(home, capsys, monkeypatch) -> None:
    monkeypatch.delenv("REGISTRY_PLUGINS", raising=False)
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "  predict input columns (224): l_shell [R_E], cos_mlt [1], sin_mlt [1], cos6_mlat [1]," in out
    assert "sme_a_00…sme_a_48 [nT] ×49" in out and "symh_b_00…symh_b_60 [nT] ×61" in out
    assert "`registry plugins --columns deepech` lists each column" in out and "sme_a_07" not in out
    assert "deepech-release options (--suite 'deepech-release[option=value,…]'): accuracy_min=0.912," in out


def test_columns_lists_every_column_with_unit_and_meaning(home, capsys, monkeypatch) -> None:
    monkeypatch.delenv("REGISTRY_PLUGINS", raising=False)
    assert main(["plugins", "--columns", "deepech"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 225 and lines[0].split() == ["COLUMN", "UNIT", "MEANING"]
    assert lines[1].split()[:2] == ["l_shell", "R_E"] and lines[-1].split()[:2] == ["symh_b_60", "nT"]
    assert lines[5].endswith("SME history at the first cadence, step 1 of 49")
    assert main(["plugins", "--columns", "deepech", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["family"] == "deepech" and len(body["input_columns"]) == 224
    assert body["input_columns"][4] == {"name": "sme_a_00", "unit": "nT",
                                        "description": "SME history at the first cadence, step 1 of 49"}


@pytest.mark.parametrize("family", ["nosuch", "Bad Name"])
def test_columns_of_an_unknown_family_is_a_usage_error(home, capsys, family) -> None:
    assert main(["plugins", "--columns", family]) == 2
    assert "unknown family" in capsys.readouterr().err



def test_each_family_says_which_commands_it_answers(home, capsys) -> None:
    assert main(["plugins", "--home", str(home)]) == 0
    text = capsys.readouterr().out
    blocks = {b.split(":", 1)[0]: b for b in text.split("\nfamily ")[1:]}
    assert "  commands: predict --out, train --dataset, demo\n" in blocks["hrrr_ddpm"] + "\n"  # arrays need --out
    assert "  commands: predict, train --extract, demo\n" in blocks["tec"] + "\n"
    assert "predict --out" not in blocks["deepech"]
