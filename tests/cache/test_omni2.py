"""OMNI2 hourly parser: known values at known word positions, fill values as NULL, loaded and queried by SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from clirun import run_cli

from cache.omni2 import RECORD_LENGTH, WORDS, load_omni2, parse_omni2
from registry.errors import InvalidInput

# word widths written out from the published FORMAT description (not derived from the module under test)
WIDTHS = [4, 4, 3, 5, 3, 3, 4, 4] + [6] * 14 + [9, 6, 6, 6, 6, 6, 6] + [9, 6, 6, 6, 6, 6] + [7, 7, 6] + \
    [3, 4, 6, 5, 10, 9, 9, 9, 9, 9, 3, 4, 6, 6, 6, 6, 5]


def record(**words: str) -> str:
    """One record: every word '0' unless given (word number → text), right-aligned in its width."""
    texts = {i: "0" for i in range(1, 56)}
    texts.update({int(k[1:]): v for k, v in words.items()})
    return "".join(texts[i].rjust(w) for i, w in enumerate(WIDTHS, start=1))


STORM = record(w1="2003", w2="303", w3="6", w13="-12.3", w16="21.4", w17="-25.9", w22="3.1", w23="1234567.",
               w24="12.5", w25="1850.", w29="45.67", w39="90", w40="150", w41="-353", w42="2000", w50="400",
               w51="279.1")
FILLED = record(w1="2003", w2="303", w3="7", w17="999.9", w24="999.9", w25="9999.", w39="99", w41="99999",
                w51="999.9", w23="9999999.")


def test_positions_follow_the_published_format() -> None:
    assert len(WORDS) == 55 and RECORD_LENGTH == sum(WIDTHS) == 327 == len(STORM)
    assert WORDS[16][:2] == (78, 84) and WORDS[38][:2] == (218, 221) and WORDS[50][:2] == (298, 304)


def test_known_values_at_known_positions_including_negatives() -> None:
    (row,) = parse_omni2(STORM)
    assert row["time"] == datetime(2003, 10, 30, 6, tzinfo=UTC)  # day 303 of 2003
    assert row["bz_gsm"] == pytest.approx(-25.9) and row["by_gsm"] == pytest.approx(21.4)
    assert row["bx_gse"] == pytest.approx(-12.3) and row["proton_temperature"] == 1234567.0
    assert row["proton_density"] == 12.5 and row["flow_speed"] == 1850.0 and row["flow_pressure"] == 45.67
    assert row["kp"] == 9.0 and row["dst"] == -353 and row["f107"] == pytest.approx(279.1)
    assert row["sunspot_r"] == 150 and row["ae"] == 2000 and row["ap"] == 400
    # upstream's slices: Kp from the temperature, Dst from sigma-Bz — never here
    assert row["kp"] != 1234567.0 / 10 and row["dst"] != 3.1


def test_fill_values_become_none() -> None:
    (row,) = parse_omni2(FILLED)
    for column in ("bz_gsm", "proton_density", "flow_speed", "kp", "dst", "f107", "proton_temperature"):
        assert row[column] is None, column
    assert row["by_gsm"] == 0.0  # a real zero is not a fill value


def test_malformed_records_are_refused_with_their_line() -> None:
    with pytest.raises(InvalidInput, match="line 2: .* characters"):
        parse_omni2(STORM + "\n" + STORM[:100])
    with pytest.raises(InvalidInput, match="line 1: word 24"):
        parse_omni2(record(w1="2003", w2="1", w3="0", w24="ab.c"))
    with pytest.raises(InvalidInput, match="year/day/hour"):
        parse_omni2(record(w1="2003", w2="1", w3="25"))


def test_loaded_into_the_engine_nulls_and_duplicates(engine, tmp_path: Path) -> None:
    path = tmp_path / "omni2_2003.dat"
    path.write_text(STORM + "\n" + FILLED + "\n")
    info = load_omni2(engine, [path])
    assert info["rows"] == 2 and info["nulls"]["kp"] == 1 and info["nulls"]["by_gsm"] == 0
    got = engine.client.query("SELECT kp, dst, f107 FROM indices.omni2_hourly ORDER BY time").result_rows
    assert got[0] == (9.0, -353.0, pytest.approx(279.1)) and got[1] == (None, None, None)
    with pytest.raises(InvalidInput, match="appear twice"):
        load_omni2(engine, [path, path])
    assert engine.client.query("SELECT count() FROM indices.omni2_hourly").result_rows == [(2,)]


def test_cli_loads_omni2_and_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "omni2_2003.dat"
    good.write_text(STORM + "\n")
    home = tmp_path / "home"
    ok = run_cli("indices", "load", "--omni2", str(good), "--home", str(home))
    assert ok.returncode == 0, ok.stderr
    assert "indices.omni2_hourly: 1 hours" in ok.stdout
    bad = tmp_path / "bad.dat"
    bad.write_text("not omni\n")
    refused = run_cli("indices", "load", "--omni2", str(bad), "--home", str(home))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
