"""NASA OMNI2 hourly files (``omni2_YYYY.dat``) parsed by their published word positions into ``indices.omni2_hourly``.

Each record is 55 fixed-width words in the published FORMAT
``(2I4,I3,I5,2I3,2I4,14F6.1,F9.0,F6.1,F6.0,2F6.1,F6.3,F6.2,F9.0,F6.1,F6.0,2F6.1,F6.3,2F7.2,F6.1,I3,I4,I6,I5,F10.2,
5F9.2,I3,I4,2F6.1,2I6,F5.1)``; character positions follow from those widths (``WORDS``). A missing value is
written as all 9s in its word's format (``999.9`` for F6.1, ``9999.`` for speed, ``99999`` for Dst, ``99`` for Kp),
and is stored as NULL. Kp is written ×10 (3+ as ``33``, 6− as ``57``) and stored ÷ 10.

    indices.omni2_hourly  time (DateTime64(0, UTC), start of the hour), b_mag, bx_gse, by_gsm, bz_gsm,
                          proton_temperature, proton_density, flow_speed, flow_pressure, kp, sunspot_r, dst,
                          ae, ap, f107  (all Nullable)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import InvalidInput

if TYPE_CHECKING:
    from cache.sources import ClickHouseSource

DATABASE = "indices"
TABLE = "omni2_hourly"
FORMAT = ("2I4,I3,I5,2I3,2I4,14F6.1,F9.0,F6.1,F6.0,2F6.1,F6.3,F6.2,F9.0,F6.1,F6.0,2F6.1,F6.3,2F7.2,F6.1,I3,I4,I6,I5,"
          "F10.2,5F9.2,I3,I4,2F6.1,2I6,F5.1")


def _expand(fmt: str) -> list[tuple[str, int, int]]:
    """``[(kind, width, decimals)]`` per word of a FORTRAN format (``14F6.1`` → 14 words)."""
    words: list[tuple[str, int, int]] = []
    for item in fmt.split(","):
        m = re.fullmatch(r"(\d*)([IF])(\d+)(?:\.(\d+))?", item.strip())
        if m is None:
            raise ValueError(f"unsupported FORMAT item {item!r}")
        words += [(m.group(2), int(m.group(3)), int(m.group(4) or 0))] * int(m.group(1) or 1)
    return words


def _positions() -> list[tuple[int, int, str]]:
    out, start = [], 0
    for kind, width, decimals in _expand(FORMAT):
        digits = width - 1  # one column is kept for the sign/space; the fill is all 9s in the rest
        fill = "9" * digits if kind == "I" else "9" * (digits - decimals - 1) + "." + "9" * decimals
        out.append((start, start + width, fill))
        start += width
    return out


WORDS = _positions()
"""``(start, end, fill text)`` of words 1…55 (index word − 1); a record is ``WORDS[-1][1]`` = 327 characters."""
RECORD_LENGTH = WORDS[-1][1]

COLUMNS: tuple[tuple[str, int, float], ...] = (  # (column, word number, scale)
    ("b_mag", 9, 1), ("bx_gse", 13, 1), ("by_gsm", 16, 1), ("bz_gsm", 17, 1), ("proton_temperature", 23, 1),
    ("proton_density", 24, 1), ("flow_speed", 25, 1), ("flow_pressure", 29, 1), ("kp", 39, 10), ("sunspot_r", 40, 1),
    ("dst", 41, 1), ("ae", 42, 1), ("ap", 50, 1), ("f107", 51, 1))
DDL = ("CREATE TABLE {table} (time DateTime64(0, 'UTC'), "
       + ", ".join(f"{name} Nullable(Float32)" for name, _, _ in COLUMNS) + ") ENGINE = MergeTree ORDER BY time")


def _value(text: str, fill: str) -> float | None:
    s = text.strip()
    if not s:
        return None
    number = float(s)
    try:
        if number == float(fill):
            return None
    except ValueError:
        pass
    return number


def parse_omni2(text: str, *, name: str = "OMNI2 file") -> list[dict[str, Any]]:
    """Rows of an OMNI2 hourly file: ``time`` plus ``COLUMNS``, fill values as ``None``.

    :raises InvalidInput: a record that does not follow the layout (its line number and the word).
    """
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line.rstrip()) < WORDS[50][1]:
            raise InvalidInput(f"{name} line {number}: {len(line.rstrip())} characters, an OMNI2 record has "
                               f"{RECORD_LENGTH} (is this an OMNI2 hourly file?)")
        word = 0
        try:
            year, day, hour = (int(line[a:b]) for a, b, _ in WORDS[:3])
            if not (1 <= day <= 366 and 0 <= hour <= 23):
                raise ValueError
            row: dict[str, Any] = {"time": datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day - 1, hours=hour)}
            for column, word, scale in COLUMNS:
                start, end, fill = WORDS[word - 1]
                value = _value(line[start:end], fill)
                row[column] = None if value is None else value / scale
        except ValueError:
            what = f"word {word}" if word else "year/day/hour"
            raise InvalidInput(f"{name} line {number}: {what} does not follow the OMNI2 layout: {line[:40]!r}…"
                               ) from None
        rows.append(row)
    return rows


def load_omni2(source: ClickHouseSource, paths: list[Path]) -> dict[str, Any]:
    """(Re)create ``indices.omni2_hourly`` from OMNI2 hourly files (one hour may appear in one file only).

    The table is built under a temporary name and swapped in, so readers never see a half-loaded table.
    :return: files, rows, first and last hour, and the NULL count per column (fill values found).
    """
    import pyarrow as pa

    rows: list[dict[str, Any]] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="ascii", errors="replace")
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
        rows += parse_omni2(text, name=Path(path).name)
    if not rows:
        raise InvalidInput(f"{', '.join(map(str, paths))}: no OMNI2 records")
    rows.sort(key=lambda r: r["time"])
    dupes = [a["time"] for a, b in zip(rows, rows[1:], strict=False) if a["time"] == b["time"]]
    if dupes:
        raise InvalidInput(f"{len(dupes)} hour(s) appear twice across the files, first {dupes[0]:%Y-%m-%d %H}:00")
    table = pa.table({"time": pa.array([r["time"] for r in rows], type=pa.timestamp("s", tz="UTC")),
                      **{c: pa.array([r[c] for r in rows], type=pa.float32()) for c, _, _ in COLUMNS}})
    from cache.indices import replace_table

    replace_table(source, DATABASE, TABLE, DDL, table)
    return {"files": [Path(p).name for p in paths], "rows": len(rows), "first_hour": rows[0]["time"].isoformat(),
            "last_hour": rows[-1]["time"].isoformat(),
            "nulls": {c: sum(r[c] is None for r in rows) for c, _, _ in COLUMNS}}
