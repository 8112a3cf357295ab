"""The extract the TEC family trains and gates on: hourly TEC per station or cell joined with its drivers.

Production TEC table (``{database}.{table}``, default ``tec.gnss_hourly``; one row per station or grid cell and
hour): ``time DateTime64(0, 'UTC')`` (start of the hour), ``station String``, ``lat Float64``, ``lon Float64``
(geographic, degrees), ``tec Float32`` (mean vertical TEC in the hour, TECU), ``tec_std Float32`` (its standard
deviation within the hour). Drivers: Kp from ``indices.kp3h`` (the 3-hour interval holding the hour), F10.7 and
its 81-day centred mean from ``indices.daily`` (observed flux), Dst, flow speed, proton density and IMF Bz (GSM)
from the OMNI2 hourly table (``indices.omni2_hourly``, loaded by ``registry indices load --omni2``). A driver hour
OMNI2 lacks (a fill value) is NULL, and the gates refuse rows with NULL drivers.
"""

from __future__ import annotations

from cache.spec import ExtractSpec, Window

TEC_HOURLY = "tec-hourly"

_SQL = """
SELECT t.time AS time, t.station AS station, t.lat AS lat, t.lon AS lon, t.tec AS tec, t.tec_std AS tec_std,
       k.kp AS kp, o.dst AS dst, o.flow_speed AS sw_speed, o.proton_density AS sw_density, o.bz_gsm AS bz,
       d.f107_obs AS f107, d.f107_obs_ctr81 AS f107_81
FROM {database:Identifier}.{table:Identifier} AS t
INNER JOIN {indices_database:Identifier}.kp3h AS k ON k.time = toStartOfInterval(t.time, INTERVAL 3 HOUR)
INNER JOIN {indices_database:Identifier}.daily AS d ON d.date = toDate(t.time)
LEFT JOIN {omni_database:Identifier}.{omni_table:Identifier} AS o ON o.time = t.time
ORDER BY t.station, t.time
""".strip()

WINDOWS = (Window("train", "2015-01-01", "2022-01-01"), Window("validation", "2022-01-01", "2023-01-01"),
           Window("test", "2023-01-01", "2025-01-01"))
"""Upstream's intended temporal split: train 2015-2021, validation 2022, test 2023-2024 (never shuffled)."""

TEC_HOURLY_SPEC = ExtractSpec(
    name=TEC_HOURLY,
    sql=_SQL,
    description="hourly GNSS TEC per station or cell with Kp, F10.7 (+81-day mean), Dst, solar-wind speed and "
                "density, IMF Bz; split windows train 2015-2021, validation 2022, test 2023-2024",
    params={"database": "tec", "table": "gnss_hourly", "omni_database": "indices", "omni_table": "omni2_hourly",
            "indices_database": "indices"},
    time_column="time",
    windows=WINDOWS,
)
