"""The extract the IONIS family trains on: WSPR signatures with bound parameters and a seeded sample."""

from __future__ import annotations

from cache.spec import ExtractSpec

WSPR_SIGNATURES = "ionis-wspr-signatures"

_SQL = """
SELECT tx_grid_4, rx_grid_4, band, hour, month, median_snr, spot_count, snr_std, reliability,
       avg_sfi, avg_kp, avg_distance, avg_azimuth, {norm_source:String} AS norm_source
FROM {database:Identifier}.{table:Identifier}
WHERE avg_sfi > 0
  AND band BETWEEN {band_min:Int32} AND {band_max:Int32}
  AND cityHash64(tx_grid_4, rx_grid_4, band, hour, month, {seed:UInt64}) % 1000000 < {sample_ppm:UInt32}
ORDER BY cityHash64(tx_grid_4, rx_grid_4, band, hour, month, {seed:UInt64}), band, hour, tx_grid_4, rx_grid_4, month
LIMIT {limit:UInt64}
""".strip()

WSPR_SIGNATURES_SPEC = ExtractSpec(
    name=WSPR_SIGNATURES,
    sql=_SQL,
    description="WSPR terrestrial signatures (avg_sfi > 0; table wspr.signatures_v2_terrestrial unless the "
                "database/table parameters name another with the same columns, e.g. rbn.dxpedition_signatures) "
                "sampled by a seeded hash, not ORDER BY rand(), so the same parameters always give the same rows; "
                "`sample_ppm` sets the sample (default ≈ 20 M of the ~93.6 M WSPR rows) and `limit` is a cap that, "
                "ordered by the same hash, still cuts a uniform sample across bands and hours; `norm_source` "
                "(wspr, rbn or contest) picks the config's per-band constants the targets are normalised with",
    params={"database": "wspr", "table": "signatures_v2_terrestrial", "band_min": 102, "band_max": 111, "seed": 0,
            "sample_ppm": 213_675, "limit": 20_000_000, "norm_source": "wspr"},
    schema=(
        ("tx_grid_4", "FixedString(4)"), ("rx_grid_4", "FixedString(4)"), ("band", "Int32"), ("hour", "UInt8"),
        ("month", "UInt8"), ("median_snr", "Float32"), ("spot_count", "UInt32"), ("snr_std", "Float32"),
        ("reliability", "Float32"), ("avg_sfi", "Float32"), ("avg_kp", "Float32"), ("avg_distance", "UInt32"),
        ("avg_azimuth", "UInt16"), ("norm_source", "String"),
    ),
)
