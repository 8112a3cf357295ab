"""Batched IONIS inference in σ and dB, on CPU or CUDA, and the CSV front end of ``registry predict``."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plugins.ionis.checkpoint import IonisBundle
from plugins.ionis.features import PathBatch
from plugins.ionis.geo import grid_centroid
from plugins.ionis.override import override_batch
from registry.errors import InvalidInput

CSV_COLUMNS = ("tx_grid", "rx_grid", "hour_utc", "month", "day_of_year", "sfi", "kp")
"""Required CSV columns, plus ``band`` (``10m`` or an id) or ``freq_mhz`` (or both)."""

CHUNK_ROWS = 1 << 18


def predict_sigma(bundle: IonisBundle, batch: PathBatch, *, device: str | None = None,
                  chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """σ for every row of ``batch`` (float64), features built in chunks of ``chunk_rows``."""
    import torch

    dev = torch.device(device or bundle.device)
    module = bundle.module if next(bundle.module.parameters()).device == dev else bundle.module.to(dev)
    out = np.empty(len(batch), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(batch), chunk_rows):
            part = _slice(batch, start, start + chunk_rows)
            x = torch.from_numpy(bundle.inputs(part)).to(dev)
            out[start : start + len(part)] = module(x)[:, 0].double().cpu().numpy()
    return out


def predict_matrix(bundle: IonisBundle, x: np.ndarray, *, device: str | None = None) -> np.ndarray:
    """σ for an already-built ``(N, input_dim)`` feature matrix."""
    import torch

    with torch.inference_mode():
        t = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32), device=device or bundle.device)
        return bundle.module(t)[:, 0].double().cpu().numpy()


def _slice(batch: PathBatch, start: int, stop: int) -> PathBatch:
    if start == 0 and stop >= len(batch):
        return batch
    return PathBatch(*(getattr(batch, n)[start:stop] for n in batch.__dataclass_fields__))


def read_paths_csv(path: Path, bundle: IonisBundle) -> tuple[list[dict[str, str]], PathBatch, np.ndarray]:
    """The CSV's rows, their ``PathBatch`` and band ids; bad columns or values raise ``InvalidInput``."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{Path(path).name}: cannot read CSV ({exc})") from None
    header = set(rows[0]) if rows else set()
    missing = [c for c in CSV_COLUMNS if c not in header]
    if not rows or missing or not ({"band", "freq_mhz"} & header):
        need = ", ".join(missing + ([] if {"band", "freq_mhz"} & header else ["band or freq_mhz"]))
        raise InvalidInput(f"{Path(path).name}: " + (f"missing column(s) {need}" if rows else "no data rows"))
    tx_lat, tx_lon = grid_centroid([r["tx_grid"] for r in rows], column="tx_grid")
    rx_lat, rx_lon = grid_centroid([r["rx_grid"] for r in rows], column="rx_grid")
    numbers = {c: _floats(rows, c) for c in CSV_COLUMNS[2:]}
    bands = np.zeros(len(rows), dtype=np.int64)
    freq = np.zeros(len(rows), dtype=np.float64)
    for i, row in enumerate(rows):
        band_text, freq_text = (row.get("band") or "").strip(), (row.get("freq_mhz") or "").strip()
        if not band_text and not freq_text:
            raise InvalidInput(f"row {i}: needs a 'band' or a 'freq_mhz' value")
        if freq_text:
            freq[i] = _float(freq_text, i, "freq_mhz")
        if band_text:
            try:
                bands[i] = bundle.bands.band_id(band_text)
            except InvalidInput as exc:
                raise InvalidInput(f"row {i}: column 'band': {exc}") from None
            if not freq_text:
                freq[i] = bundle.bands.freq_mhz([bands[i]])[0]
    batch = PathBatch(tx_lat, tx_lon, rx_lat, rx_lon, freq, numbers["hour_utc"], numbers["month"],
                      numbers["day_of_year"], numbers["sfi"], numbers["kp"])
    no_band = bands == 0
    if no_band.any():
        bands[no_band] = bundle.bands.nearest_band(freq[no_band])
    return rows, batch, bands


def predict_rows(bundle: IonisBundle, input_path: Path, *, device: str | None = None) -> list[dict[str, Any]]:
    """One JSON-able dict per CSV row: σ, dB and, for V22+, the overridden σ/dB and the rule that fired."""
    rows, batch, bands = read_paths_csv(input_path, bundle)
    sigma = predict_sigma(bundle, batch, device=device)
    db = bundle.bands.to_db(sigma, bands)
    override = override_batch(sigma, batch) if bundle.uses_override else None
    override_db = bundle.bands.to_db(override.sigma, bands) if override is not None else None
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        item: dict[str, Any] = {
            "row": i, "tx_grid": row["tx_grid"].strip().upper(), "rx_grid": row["rx_grid"].strip().upper(),
            "band": _band_name(int(bands[i])), "freq_mhz": round(float(batch.freq_mhz[i]), 6),
            "distance_km": round(float(batch.distance_km[i]), 1),
            "sigma": round(float(sigma[i]), 6), "db": round(float(db[i]), 3),
        }
        if override is not None and override_db is not None:
            item |= {"override_sigma": round(float(override.sigma[i]), 6),
                     "override_db": round(float(override_db[i]), 3),
                     "override_rule": override.rule[i] or None}
        out.append(item)
    return out


def override_summary(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many predictions the override changed, by rule, from ``predict_rows`` output."""
    counts: dict[str, int] = {}
    for r in results:
        if r.get("override_rule"):
            counts[r["override_rule"]] = counts.get(r["override_rule"], 0) + 1
    return counts


def _band_name(band_id: int) -> str:
    from plugins.ionis.bands import BAND_NAMES

    return BAND_NAMES.get(band_id, str(band_id))


def _float(text: str, row: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"row {row}: column {column!r}: {text!r} is not a number") from None


def _floats(rows: list[dict[str, str]], column: str) -> np.ndarray:
    return np.array([_float((r.get(column) or "").strip(), i, column) for i, r in enumerate(rows)])
