"""TST-900 band×time batteries (V22: 11 scenarios; V21 era: 10, all June) on the W3 → G path, run in one pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from plugins.ionis.bands import BAND_IDS
from plugins.ionis.checkpoint import IonisBundle
from plugins.ionis.features import PathBatch
from plugins.ionis.predict import predict_sigma

W3 = (39.14, -77.01)
G = (51.50, -0.12)
KP = 2.0
SEASONS: dict[str, tuple[int, int]] = {"winter": (12, 355), "summer": (6, 172), "june": (6, 172)}
"""Season → (month, day of year). The V21-era battery fixed month 6; its day of year (for V22 features) is 172."""
DB_PER_SIGMA = 6.7
HOURS = np.arange(24)


@dataclass(frozen=True)
class Scan:
    """A 24-hour scan of σ on W3 → G at Kp 2 for one band, SFI and season."""

    band: str
    sfi: float
    season: str

    @property
    def label(self) -> str:
        return f"{self.band} {self.season} SFI {self.sfi:g}"


class ScanValues:
    """σ and dB of every scan a battery needs, looked up by band/SFI/season."""

    def __init__(self, bundle: IonisBundle, sigma: dict[Scan, np.ndarray]) -> None:
        self._bundle, self._sigma = bundle, sigma

    def sigma(self, band: str, sfi: float, season: str) -> np.ndarray:
        return self._sigma[Scan(band, sfi, season)]

    def db(self, band: str, sfi: float, season: str) -> np.ndarray:
        return self._bundle.bands.to_db(self.sigma(band, sfi, season), np.full(24, BAND_IDS[band]))


Measure = Callable[[ScanValues], tuple[float, bool]]


@dataclass(frozen=True)
class Scenario:
    """One TST scenario: the scans it reads, its pass rule in words, and how it measures."""

    id: str
    title: str
    rule: str
    unit: str
    scans: tuple[Scan, ...]
    measure: Measure


@dataclass(frozen=True)
class ScenarioResult:
    id: str
    title: str
    rule: str
    value: float
    unit: str
    passed: bool
    scans: dict[str, list[float]]


def run_battery(bundle: IonisBundle, battery: Sequence[Scenario]) -> list[ScenarioResult]:
    """Evaluate every scenario of ``battery`` from one forward pass over all its 24-hour scans."""
    scans = list(dict.fromkeys(s for sc in battery for s in sc.scans))
    n = len(scans)
    month = np.repeat([SEASONS[s.season][0] for s in scans], 24)
    doy = np.repeat([SEASONS[s.season][1] for s in scans], 24)
    freq = np.repeat(bundle.bands.freq_mhz([BAND_IDS[s.band] for s in scans]), 24)
    rows = np.ones(n * 24)
    batch = PathBatch(W3[0] * rows, W3[1] * rows, G[0] * rows, G[1] * rows, freq, np.tile(HOURS, n), month, doy,
                      np.repeat([s.sfi for s in scans], 24), KP * rows)
    sigma = predict_sigma(bundle, batch).reshape(n, 24)
    values = ScanValues(bundle, {s: sigma[i] for i, s in enumerate(scans)})
    results = []
    for sc in battery:
        value, passed = sc.measure(values)
        shown = {s.label: [round(float(v), 4) for v in values.sigma(s.band, s.sfi, s.season)] for s in sc.scans}
        results.append(ScenarioResult(sc.id, sc.title, sc.rule, float(value), sc.unit, bool(passed), shown))
    return results


def _day_night_db(band: str, sfi: float, season: str, day: int, night: int) -> Measure:
    return lambda v: _pair(v.db(band, sfi, season), day, night)


def _pair(db: np.ndarray, a: int, b: int) -> tuple[float, bool]:
    return float(db[a] - db[b]), True


def _threshold(measure: Measure, test: Callable[[float], bool]) -> Measure:
    def run(v: ScanValues) -> tuple[float, bool]:
        value, _ = measure(v)
        return value, test(value)
    return run


def _order(high: Sequence[str], low: Sequence[str], sfi: float, season: str, hour: int) -> Measure:
    def run(v: ScanValues) -> tuple[float, bool]:
        delta = (np.mean([v.sigma(b, sfi, season)[hour] for b in high])
                 - np.mean([v.sigma(b, sfi, season)[hour] for b in low]))
        return float(delta), bool(delta > 0)
    return run


def _swing_db(band: str, sfi: float, season: str, limit: float) -> Measure:
    def run(v: ScanValues) -> tuple[float, bool]:
        s = v.sigma(band, sfi, season)
        swing = float((s.max() - s.min()) * DB_PER_SIGMA)
        return swing, swing >= limit
    return run


def _peak_hour(band: str, sfi: float, season: str, ok: Callable[[int], bool]) -> Measure:
    def run(v: ScanValues) -> tuple[float, bool]:
        hour = int(np.argmax(v.sigma(band, sfi, season)))
        return float(hour), ok(hour)
    return run


def _sigma_delta(band: str, sfi: float, season: str, a: int, b: int, limit: float) -> Measure:
    def run(v: ScanValues) -> tuple[float, bool]:
        s = v.sigma(band, sfi, season)
        return float(s[a] - s[b]), bool(s[a] - s[b] >= limit)
    return run


def _scans(bands: Sequence[str], sfi: float, season: str) -> tuple[Scan, ...]:
    return tuple(Scan(b, sfi, season) for b in bands)


def _v22_battery() -> tuple[Scenario, ...]:
    w, s = "winter", "summer"
    return (
        Scenario("TST-901", "10m band closure, winter", "dB(14 UTC) − dB(00) ≥ 10", "dB", _scans(["10m"], 150, w),
                 _threshold(_day_night_db("10m", 150, w, 14, 0), lambda x: x >= 10)),
        Scenario("TST-901b", "10m stays open, summer", "|dB(14 UTC) − dB(00)| < 5", "dB", _scans(["10m"], 150, s),
                 _threshold(_day_night_db("10m", 150, s, 14, 0), lambda x: abs(x) < 5)),
        Scenario("TST-902", "15m band closure, winter", "dB(14 UTC) − dB(00) ≥ 8", "dB", _scans(["15m"], 150, w),
                 _threshold(_day_night_db("15m", 150, w, 14, 0), lambda x: x >= 8)),
        Scenario("TST-903", "160m mutual darkness", "dB(04 UTC) − dB(14) ≥ 5", "dB", _scans(["160m"], 100, w),
                 _threshold(_day_night_db("160m", 100, w, 4, 14), lambda x: x >= 5)),
        Scenario("TST-904", "80m mutual darkness", "dB(04 UTC) − dB(14) ≥ 4", "dB", _scans(["80m"], 100, w),
                 _threshold(_day_night_db("80m", 100, w, 4, 14), lambda x: x >= 4)),
        Scenario("TST-905", "band order, summer day", "mean σ(10,15,20m) − mean σ(80,160m) at 14 UTC > 0", "σ",
                 _scans(["10m", "15m", "20m", "80m", "160m"], 150, s),
                 _order(["10m", "15m", "20m"], ["80m", "160m"], 150, s, 14)),
        Scenario("TST-906", "band order, winter night", "mean σ(40,80m) − mean σ(10,15m) at 04 UTC > 0", "σ",
                 _scans(["40m", "80m", "10m", "15m"], 100, w), _order(["40m", "80m"], ["10m", "15m"], 100, w, 4)),
        Scenario("TST-907", "20m time sensitivity", "(σmax − σmin)·6.7 over 24 h ≥ 6", "dB",
                 _scans(["20m"], 150, w), _swing_db("20m", 150, w, 6.0)),
        Scenario("TST-908", "10m peak hour", "argmax hour in [10, 16]", "hour UTC", _scans(["10m"], 180, w),
                 _peak_hour("10m", 180, w, lambda h: 10 <= h <= 16)),
        Scenario("TST-909", "160m peak hour", "argmax hour ≤ 6 or ≥ 22", "hour UTC", _scans(["160m"], 80, w),
                 _peak_hour("160m", 80, w, lambda h: h <= 6 or h >= 22)),
        Scenario("TST-910", "40m grey line", "σ(00 UTC) − σ(14) ≥ −0.2", "σ", _scans(["40m"], 120, s),
                 _sigma_delta("40m", 120, s, 0, 14, -0.2)),
    )


def _v21_battery() -> tuple[Scenario, ...]:
    j = "june"

    def mutual_160(v: ScanValues) -> tuple[float, bool]:
        db = v.db("160m", 100, j)
        delta = float(db[4] - db[10])
        return delta, bool((db[10] < -24.0 and db[4] > -20.0) or delta >= 6.0)

    return (
        Scenario("TST-901", "10m below FT8 at midnight", "dB(00 UTC) < −21", "dB", _scans(["10m"], 150, j),
                 _threshold(lambda v: (float(v.db("10m", 150, j)[0]), True), lambda x: x < -21.0)),
        Scenario("TST-902", "15m below FT8 at midnight", "dB(00 UTC) < −21", "dB", _scans(["15m"], 150, j),
                 _threshold(lambda v: (float(v.db("15m", 150, j)[0]), True), lambda x: x < -21.0)),
        Scenario("TST-903", "160m mutual darkness", "dB(10) < −24 and dB(04) > −20, or dB(04) − dB(10) ≥ 6", "dB",
                 _scans(["160m"], 100, j), mutual_160),
        Scenario("TST-904", "80m mutual darkness", "dB(04 UTC) − dB(14) ≥ 5", "dB", _scans(["80m"], 100, j),
                 _threshold(_day_night_db("80m", 100, j, 4, 14), lambda x: x >= 5)),
        Scenario("TST-905", "band order, day", "mean σ(10,15,20m) − mean σ(80,160m) at 14 UTC > 0", "σ",
                 _scans(["10m", "15m", "20m", "80m", "160m"], 150, j),
                 _order(["10m", "15m", "20m"], ["80m", "160m"], 150, j, 14)),
        Scenario("TST-906", "band order, night", "mean σ(40,80m) − mean σ(10,15m) at 04 UTC > 0", "σ",
                 _scans(["40m", "80m", "10m", "15m"], 100, j), _order(["40m", "80m"], ["10m", "15m"], 100, j, 4)),
        Scenario("TST-907", "20m time sensitivity", "(σmax − σmin)·6.7 over 24 h ≥ 10", "dB",
                 _scans(["20m"], 150, j), _swing_db("20m", 150, j, 10.0)),
        Scenario("TST-908", "10m peak hour", "argmax hour in [10, 16]", "hour UTC", _scans(["10m"], 180, j),
                 _peak_hour("10m", 180, j, lambda h: 10 <= h <= 16)),
        Scenario("TST-909", "160m peak hour", "argmax hour ≤ 6 or ≥ 22", "hour UTC", _scans(["160m"], 80, j),
                 _peak_hour("160m", 80, j, lambda h: h <= 6 or h >= 22)),
        Scenario("TST-910", "40m grey line", "σ(00 UTC) − σ(14) ≥ −0.2", "σ", _scans(["40m"], 120, j),
                 _sigma_delta("40m", 120, j, 0, 14, -0.2)),
    )


TST900_V22: tuple[Scenario, ...] = _v22_battery()
"""The V22 release battery (spec "Gate suites" 3): 11 scenarios, pass count held to ``tst900_min``."""
TST900_V21: tuple[Scenario, ...] = _v21_battery()
"""The V21-era battery: 10 scenarios, all June (upstream: V20 passed 905, 910; V21-β 905, 908, 909, 910)."""


def _v24_battery() -> tuple[Scenario, ...]:
    winter_910 = Scenario("TST-910w", "40m grey line, winter (V24's variant)", "dB(00 UTC) − dB(14) ≥ 0", "dB",
                          _scans(["40m"], 120, "winter"),
                          _threshold(_day_night_db("40m", 120, "winter", 0, 14), lambda x: x >= 0))
    return tuple(s for s in TST900_V22 if s.id != "TST-910") + (winter_910,)


TST900_V24: tuple[Scenario, ...] = _v24_battery()
"""V24's battery: V22's with TST-910 replaced by its winter variant (doy 355, dB(00) − dB(14) ≥ 0)."""
TST_V26_NINE: tuple[Scenario, ...] = tuple(s for s in TST900_V22 if s.id not in ("TST-901b", "TST-902"))
"""The nine TST scenarios of V26-α's own battery (V22's without 901b and 902), counted with its acid test."""
