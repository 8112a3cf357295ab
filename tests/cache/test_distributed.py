"""Scale-out: the same extract specs run unchanged against a ``Distributed`` table.

chDB has no server, so the cluster is two shards of this process: a ClickHouse config file
(``REGISTRY_CHDB_CONFIG``) declares a cluster whose replicas are this host's own TCP port, which
ClickHouse treats as local and plans without a network hop. Both shards are then the same local table
(a replica with its own default database is not taken as local), so the sharded table holds every row
twice. The ``Distributed`` engine still does what it does on a real cluster: it sends the query to every
shard, runs the filter, the seeded sample, ``ORDER BY … LIMIT`` and partial aggregation there, and
merges the results. The extract of the sharded table must give the same rows, in the same order, as the
extract of one table holding the union (every row twice). Runs in a child process: the config applies
when the engine starts, and chDB serves one data directory per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIG = """<clickhouse>
  <tcp_port>9000</tcp_port>
  <remote_servers>
    <two_shards>
      <shard><replica><host>127.0.0.1</host><port>9000</port></replica></shard>
      <shard><replica><host>localhost</host><port>9000</port></replica></shard>
    </two_shards>
  </remote_servers>
</clickhouse>
"""

SCRIPT = r"""
import json, sys
from pathlib import Path
from cache.sources import EmbeddedSource
from cache.spec import ExtractSpec
from cache.store import ExtractCache
from plugins.ionis.extracts import WSPR_SIGNATURES_SPEC

engine = EmbeddedSource(Path(sys.argv[1]) / "engine")
# each row its own transmitter grid (a bijection of 0..32399), so the spec's ORDER BY has no ties
cols = '''tx_grid_4 FixedString(4), rx_grid_4 FixedString(4), band Int32, hour UInt8, month UInt8,
    median_snr Float32, spot_count UInt32, snr_std Float32, reliability Float32, avg_sfi Float32,
    avg_kp Float32, avg_distance UInt32, avg_azimuth UInt16'''
rows = '''SELECT concat(char(65 + number % 18), char(65 + intDiv(number, 18) % 18), toString(intDiv(number, 324) % 10),
           toString(intDiv(number, 3240) % 10)), 'IO91', 102 + intDiv(number, 3240) % 10, number % 24, 1 + number % 12,
    (number % 400) / 10 - 20, 1 + number % 50, (number % 70) / 10, (number % 100) / 100,
    if(number % 97 = 0, 0, 60 + number % 200), (number % 90) / 10, number % 20000, number % 360
    FROM numbers(32400)'''
for db in ("shard", "every", "wspr"):
    engine.command(f"CREATE DATABASE {db}")
for db in ("shard", "every"):
    engine.command(f"CREATE TABLE {db}.sig ({cols}) ENGINE = MergeTree ORDER BY (band, hour, tx_grid_4)")
engine.command(f"INSERT INTO shard.sig {rows}")
engine.command("INSERT INTO every.sig SELECT * FROM shard.sig UNION ALL SELECT * FROM shard.sig")
engine.command("CREATE TABLE wspr.dist AS shard.sig "
               "ENGINE = Distributed(two_shards, shard, sig, cityHash64(tx_grid_4))")
per_shard = engine.client.query("SELECT _shard_num, count() FROM wspr.dist GROUP BY _shard_num "
                                "ORDER BY _shard_num").result_rows

clim = ExtractSpec("clim", "SELECT band, hour, count() AS n, sum(spot_count) AS spots, min(median_snr) AS lo, "
                   "max(avg_distance) AS far FROM {database:Identifier}.{table:Identifier} WHERE avg_sfi > 0 "
                   "GROUP BY band, hour ORDER BY band, hour", params={"database": "every", "table": "sig"})
cache = ExtractCache(Path(sys.argv[1]) / "home")
out = {"per_shard": [list(r) for r in per_shard]}
for name, spec, extra in (("sample", WSPR_SIGNATURES_SPEC, {"sample_ppm": 300000, "limit": 5000}),
                          ("clim", clim, {})):
    one = cache.materialise(spec, {**extra, "database": "every", "table": "sig"}, source=engine, progress=False)
    two = cache.materialise(spec, {**extra, "database": "wspr", "table": "dist"}, source=engine, progress=False)
    out[name] = {"rows": [one.rows, two.rows], "digest": [one.digest, two.digest],
                 "same_order": cache.read(one).equals(cache.read(two)), "keys_differ": one.key != two.key}
print(json.dumps(out))
"""


def test_extracts_of_a_distributed_table_equal_those_of_the_whole_table(tmp_path: Path) -> None:
    config = tmp_path / "cluster.xml"
    config.write_text(CONFIG)
    env = {**os.environ, "REGISTRY_CHDB_CONFIG": str(config), "REGISTRY_CHDB_PATH": str(tmp_path / "engine")}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    shards = dict(out["per_shard"])
    assert shards == {1: 32400, 2: 32400}  # both shards answered
    for name in ("sample", "clim"):
        got = out[name]
        assert got["rows"][0] == got["rows"][1] > 0, (name, got)
        assert got["digest"][0] == got["digest"][1] and got["same_order"] and got["keys_differ"], (name, got)
    assert out["sample"]["rows"][0] == 5000  # the LIMIT cut, merged across shards in the hash order
    assert out["clim"]["rows"][0] == 240  # 10 bands x 24 hours, partial aggregates of both shards merged


def test_a_missing_engine_config_is_one_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "REGISTRY_CHDB_CONFIG": str(tmp_path / "nope.xml"),
           "REGISTRY_CHDB_PATH": str(tmp_path / "engine")}
    done = subprocess.run([sys.executable, "-c", "from cache.sources import embedded_client; "
                           f"embedded_client({str(tmp_path / 'engine')!r})"],
                          env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and "REGISTRY_CHDB_CONFIG" in done.stderr and "no such ClickHouse config" in done.stderr
    assert not (tmp_path / "engine").exists()
