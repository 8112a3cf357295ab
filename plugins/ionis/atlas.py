"""The IRI atlas V23 and AUDIT-03 read: foF2, foE, hmF2 by midpoint grid, UTC hour, month and SFI bucket.

It is a registered core dataset (``cache.datasets``), one name per bucket rule, dims ``grid, hour, month,
sfi_bucket``; the grid names, the rule and the provenance are its attributes, so they are part of its digest."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from registry.errors import InvalidCheckpoint, InvalidInput

FAILED = {"foF2": 5.0, "foE": 3.0, "hmF2": 300.0}
"""Values upstream stores where IRI fails at a point (MHz, MHz, km)."""
HOURS, MONTHS = 24, 12
FORMAT = "ionis-iri-atlas/1"
DIMS = ("grid", "hour", "month", "sfi_bucket")
VARIABLES = ("foF2", "foE", "hmF2")
BUILD = "python -m plugins.ionis.atlas_build"

if TYPE_CHECKING:
    from cache.datasets import Dataset
    from cache.gridded_input import GriddedInput


@dataclass(frozen=True)
class AtlasRule:
    """How an SFI value picks its bucket: ``round`` (V23: clip(round(SFI/10) − 7, 0, 17), 70 … 240 by 10) or
    ``floor`` (AUDIT-03: clip(floor((SFI − 70)/5), 0, 34), 70 … 240 by 5)."""

    method: str = "round"
    buckets: int = 18
    start: float = 70.0
    step: float = 10.0

    def __post_init__(self) -> None:
        if self.method not in ("round", "floor") or self.buckets < 1 or self.step <= 0:
            raise InvalidCheckpoint(f"config: iri_atlas rule {self.method}/{self.buckets}/{self.step} is not "
                                    "'round' or 'floor' with ≥ 1 bucket and a positive step")

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> AtlasRule:
        """The rule in the config's ``iri_atlas`` block (``sfi_bucket``: round|floor, ``buckets``,
        ``sfi_start``, ``sfi_step``); without the block, V23's round rule."""
        block = (config or {}).get("iri_atlas") or {}
        if not isinstance(block, Mapping):
            raise InvalidCheckpoint("config: iri_atlas must be an object")
        return cls(str(block.get("sfi_bucket", "round")), int(block.get("buckets", 18)),
                   float(block.get("sfi_start", 70.0)), float(block.get("sfi_step", 10.0)))

    @property
    def sfi_values(self) -> np.ndarray:
        return self.start + self.step * np.arange(self.buckets)

    def bucket(self, sfi: np.ndarray) -> np.ndarray:
        """Bucket index of each SFI value."""
        value = np.asarray(sfi, dtype=np.float64)
        if self.method == "round":  # round(SFI/step) − start/step, half to even as Python's and numpy's round
            index = np.round(value / self.step) - round(self.start / self.step)
        else:
            index = np.floor((value - self.start) / self.step)
        return np.clip(index, 0, self.buckets - 1).astype(np.int64)

    def describe(self) -> str:
        return (f"{self.buckets} SFI buckets {self.start:g} … {self.sfi_values[-1]:g} by {self.step:g}, "
                f"{self.method} rule")

    def as_dict(self) -> dict[str, Any]:
        return {"sfi_bucket": self.method, "buckets": self.buckets, "sfi_start": self.start, "sfi_step": self.step}

    @property
    def dataset_name(self) -> str:
        """The registered dataset holding the atlas of this rule, e.g. ``ionis-iri-atlas.round18.70-by-10``."""
        return f"ionis-iri-atlas.{self.method}{self.buckets}.{self.start:g}-by-{self.step:g}"

    @property
    def spec(self) -> str:
        """The rule as ``atlas_build --rule`` takes it: ``METHOD,BUCKETS,START,STEP``."""
        return f"{self.method},{self.buckets},{self.start:g},{self.step:g}"

    @classmethod
    def parse(cls, text: str) -> AtlasRule:
        """A rule from ``METHOD,BUCKETS[,START,STEP]``; ``InvalidInput`` otherwise."""
        parts = [p.strip() for p in text.split(",")]
        try:
            if len(parts) not in (2, 4):
                raise ValueError(text)
            return cls(parts[0], int(parts[1]), *(float(p) for p in parts[2:]))
        except (ValueError, InvalidCheckpoint):
            raise InvalidInput(f"--rule {text!r}: need METHOD,BUCKETS[,START,STEP] with METHOD round or floor, "
                               "e.g. round,18,70,10 (V23) or floor,35,70,5 (AUDIT-03)") from None

    def build_command(self, home: Path | None = None) -> str:
        """The command that builds and registers this rule's atlas for the gates' grids."""
        where = f" --home {home}" if home is not None else ""
        return f"{BUILD}{where} --rule {self.spec} --for-gates"


def grid_of(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """4-character Maidenhead grid of each point (lon −180 … 180, lat −90 … 90; the edges fall in the last)."""
    x = np.clip(np.asarray(lon, dtype=np.float64) + 180.0, 0.0, 359.999999)
    y = np.clip(np.asarray(lat, dtype=np.float64) + 90.0, 0.0, 179.999999)
    f1, f2 = (x // 20).astype(int), (y // 10).astype(int)
    d1, d2 = ((x % 20) // 2).astype(int), (y % 10).astype(int)
    return np.array([f"{chr(65 + a)}{chr(65 + b)}{c}{d}" for a, b, c, d in zip(f1, f2, d1, d2, strict=True)])


def midpoint_grid(tx_lat: np.ndarray, tx_lon: np.ndarray, rx_lat: np.ndarray, rx_lon: np.ndarray) -> np.ndarray:
    """Grid of the point whose lat and lon are the arithmetic means of the two endpoints."""
    return grid_of((np.asarray(tx_lat) + rx_lat) / 2.0, (np.asarray(tx_lon) + rx_lon) / 2.0)


@dataclass(frozen=True)
class IriAtlas:
    """Arrays ``foF2``, ``foE``, ``hmF2`` of shape (grids, 24 hours, 12 months, buckets) and how they were made."""

    grids: tuple[str, ...]
    foF2: np.ndarray
    foE: np.ndarray
    hmF2: np.ndarray
    rule: AtlasRule
    provenance: dict[str, Any]
    digest: str = ""

    def lookup(self, grids: np.ndarray, hour: np.ndarray, month: np.ndarray,
               sfi: np.ndarray) -> dict[str, np.ndarray]:
        """foF2, foE, hmF2 of each row; a grid outside the atlas raises ``InvalidInput`` naming it."""
        index = {g: i for i, g in enumerate(self.grids)}
        rows = np.array([index.get(str(g), -1) for g in grids], dtype=np.int64)
        if (rows < 0).any():
            missing = sorted({str(g) for g, r in zip(grids, rows, strict=True) if r < 0})
            raise InvalidInput(f"the IRI atlas ({self.digest[:12]}) has no grid {', '.join(missing[:5])}"
                               + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                               + f"; add them to the atlas: {BUILD} --config CONFIG --paths CSV (or --grids …) "
                                 "registers a new atlas holding them too")
        at = (rows, np.floor(hour).astype(np.int64) % HOURS, np.floor(month).astype(np.int64) - 1,
              self.rule.bucket(sfi))
        return {"foF2": self.foF2[at].astype(np.float64), "foE": self.foE[at].astype(np.float64),
                "hmF2": self.hmF2[at].astype(np.float64)}

    def check_rule(self, rule: AtlasRule) -> None:
        """Refuse an atlas built for another bucket rule than the config's."""
        if rule != self.rule:
            raise InvalidCheckpoint(f"the IRI atlas was built for {self.rule.describe()}, the config asks for "
                                    f"{rule.describe()}; rebuild it with --config")

    def facts(self) -> dict[str, Any]:
        return {"digest": self.digest, "grids": len(self.grids), "rule": self.rule.as_dict(), **self.provenance}

    def to_input(self) -> GriddedInput:
        """The atlas as a core dataset input: variables foF2, foE, hmF2 over ``DIMS``; grids, rule and provenance
        as attributes."""
        from cache.gridded_input import GriddedInput

        attrs = {"format": FORMAT, "grids": list(self.grids), "rule": self.rule.as_dict(),
                 "provenance": self.provenance, "description": "IRI atlas for IONIS V23/AUDIT-03 "
                 "(foF2 MHz, foE MHz, hmF2 km by midpoint grid, UTC hour, month, SFI bucket)"}
        arrays = {"foF2": self.foF2, "foE": self.foE, "hmF2": self.hmF2}
        return GriddedInput({k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}, attrs=attrs, dims=DIMS)

    @classmethod
    def from_dataset(cls, ds: Dataset) -> IriAtlas:
        """The atlas held by a registered dataset (read whole, every chunk verified); ``digest`` is the
        dataset's. ``InvalidCheckpoint`` if the dataset is not an atlas."""
        attrs = ds.attrs
        if attrs.get("format") != FORMAT or tuple(ds.dims) != DIMS or set(ds.variables) != set(VARIABLES):
            raise InvalidCheckpoint(f"dataset {ds.name!r} is not an IRI atlas ({FORMAT}, dims {', '.join(DIMS)})")
        grids = tuple(str(g) for g in attrs.get("grids", []))
        rule = AtlasRule.from_config({"iri_atlas": attrs["rule"]})
        if tuple(ds.shape) != (len(grids), HOURS, MONTHS, rule.buckets):
            raise InvalidCheckpoint(f"dataset {ds.name!r}: shape {list(ds.shape)} does not fit its {len(grids)} "
                                    f"grids and {rule.buckets} buckets")
        f2, fe, hm = (ds.read(v) for v in VARIABLES)
        return cls(grids, f2, fe, hm, rule, dict(attrs.get("provenance", {})), ds.digest)

    def to_bytes(self) -> bytes:
        """The atlas as a deterministic ``.npz`` (fixed zip timestamps, float32 arrays)."""
        meta = json.dumps({"format": FORMAT, "rule": self.rule.as_dict(), "provenance": self.provenance},
                          sort_keys=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, grids=np.array(self.grids, dtype="U4"), foF2=self.foF2.astype(np.float32),
                            foE=self.foE.astype(np.float32), hmF2=self.hmF2.astype(np.float32),
                            meta=np.array(meta))
        return buffer.getvalue()

    @classmethod
    def read(cls, path: Path) -> IriAtlas:
        """An atlas file (the ``.npz`` format kept before the atlas was a dataset, read to import it;
        ``InvalidCheckpoint`` if it is not one); ``digest`` is the file's sha256."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidCheckpoint(f"atlas {path.name}: cannot read ({exc})") from None
        return cls.from_bytes(data, path.name)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "atlas") -> IriAtlas:
        """An atlas from the bytes of its file; ``digest`` is their sha256."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                grids, f2, fe, hm = (tuple(str(g) for g in z["grids"]), z["foF2"], z["foE"], z["hmF2"])
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise InvalidCheckpoint(f"atlas {name}: not an IRI atlas file ({exc})") from None
        if meta.get("format") != FORMAT:
            raise InvalidCheckpoint(f"atlas {name}: format {meta.get('format')!r}, expected {FORMAT}")
        rule = AtlasRule.from_config({"iri_atlas": meta["rule"]})
        shape = (len(grids), HOURS, MONTHS, rule.buckets)
        if any(a.shape != shape for a in (f2, fe, hm)) or not all(np.isfinite(a).all() for a in (f2, fe, hm)):
            raise InvalidCheckpoint(f"atlas {name}: arrays are not finite of shape {list(shape)}")
        return cls(grids, f2, fe, hm, rule, meta.get("provenance", {}), hashlib.sha256(data).hexdigest())
