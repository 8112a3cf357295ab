"""Gates that read cached extracts: the extract's digest is bound to the evidence and pinned on verify."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from registry.policy import set_policy
from registry.promotion import promote, verify


@pytest.fixture(autouse=True)
def _aliases_accept_the_data_suite(app):
    """The gates here need the cached extract: production and staging accept the suite that reads it."""
    for alias in ("production", "staging"):
        set_policy(app, "toy", alias, ["with-data"], reason="gate-context tests")


@pytest.fixture
def toy_obs(engine):
    """The toy observations as a real ClickHouse table in the session's embedded engine."""
    from toy_family import truth

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 4))
    engine.command("DROP DATABASE IF EXISTS toyobs")
    engine.command("CREATE DATABASE toyobs")
    engine.command("CREATE TABLE toyobs.toy_obs (id UInt32, x0 Float64, x1 Float64, x2 Float64, x3 Float64, "
                   "y Float64) ENGINE = MergeTree ORDER BY id")
    rows = [[i, *map(float, x[i]), float(truth(x[i : i + 1])[0])] for i in range(len(x))]
    engine.client.insert("toyobs.toy_obs", rows, column_names=["id", "x0", "x1", "x2", "x3", "y"])
    yield engine
    engine.command("DROP DATABASE IF EXISTS toyobs")


def test_extract_gate_passes_and_binds_the_digest(app, ckpts, toy_obs):
    from cache.store import ExtractCache

    ref = ExtractCache(app.home).materialise(app.plugins.extract("toy-obs"), progress=False)
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    d = promote(app, v.ref, "production", suite="with-data")
    assert d.verdict == "promoted", [r.message for r in d.evidence.results]
    assert d.evidence.extract_digests == {"toy-obs": ref.digest}
    assert d.evidence.extract_keys == {"toy-obs": ref.key}


def test_verify_uses_the_pinned_rows_after_a_refresh_and_fails_closed_without_them(app, ckpts, toy_obs):
    from cache.store import ExtractCache

    cache = ExtractCache(app.home)
    first = cache.materialise(app.plugins.extract("toy-obs"), progress=False)
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    promote(app, v.ref, "production", suite="with-data")
    toy_obs.command("ALTER TABLE toyobs.toy_obs UPDATE y = y + 5 WHERE id < 100 SETTINGS mutations_sync = 1")
    newer = cache.materialise(app.plugins.extract("toy-obs"), refresh=True, progress=False)
    assert newer.digest != first.digest
    result = verify(app, v.ref)
    assert result.drift == [] and result.rerun.extract_digests == {"toy-obs": first.digest}
    import os

    os.remove(first.path)  # without the pinned rows the re-run cannot evaluate: drift, never a silent pass
    result = verify(app, v.ref)
    assert any("obs_rmse: was pass, now error" in d for d in result.drift)
    message = next(r for r in result.rerun.results if r.name == "obs_rmse").message
    assert f"digest {first.digest[:12]}) are no longer in the cache" in message and newer.digest[:12] in message
    # a fresh decision uses the newest extract, whose shifted observations fail the gate
    d = promote(app, v.ref, "staging", suite="with-data")
    assert d.evidence.extract_digests == {"toy-obs": newer.digest}
    assert next(r for r in d.evidence.results if r.name == "obs_rmse").status == "fail"


def test_verify_reproduces_a_run_on_cached_rows(app, ckpts, toy_obs):
    from cache.store import ExtractCache

    ExtractCache(app.home).materialise(app.plugins.extract("toy-obs"), progress=False)
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    stored = promote(app, v.ref, "production", suite="with-data").evidence
    toy_obs.command("ALTER TABLE toyobs.toy_obs UPDATE y = y + 5 WHERE id < 100 SETTINGS mutations_sync = 1")
    result = verify(app, v.ref)  # the source changed, the cached rows did not: the run repeats exactly
    assert result.drift == []
    assert [r.value for r in result.rerun.results] == [r.value for r in stored.results]


def _context(app, ckpts, **kw):
    from registry.gate_context import RunContext

    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    return RunContext(app.store, app.plugins.family("toy"), v, champion=None, seed=7, device="cpu",
                      extract_specs=app.plugins.extracts(), **kw)


def test_an_exact_request_is_read_by_its_parameters_not_the_newest_copy(app, ckpts, toy_obs):
    from cache.spec import ExtractSpec
    from cache.store import ExtractCache

    toy_obs.command("CREATE TABLE toyobs.other AS toyobs.toy_obs")
    toy_obs.command("INSERT INTO toyobs.other SELECT * FROM toyobs.toy_obs WHERE id < 50")
    spec: ExtractSpec = app.plugins.extract("toy-obs")
    cache = ExtractCache(app.home)
    mine = cache.materialise(spec, {"db": "toyobs"}, progress=False)
    ctx = _context(app, ckpts)
    newest_other = cache.materialise(
        ExtractSpec("toy-obs", spec.sql.replace("toy_obs", "other"), params={"db": "toyobs"}, schema=spec.schema),
        progress=False)
    assert cache.latest("toy-obs") == newest_other  # the name alone would now read the 50-row copy
    assert ctx.extract("toy-obs", params={"db": "toyobs"}).num_rows == 300
    assert ctx.extract_digests == {"toy-obs[db=toyobs]": mine.digest}
    with pytest.raises(Exception, match=r"not in the cache; run `registry extract toy-obs --param db=nope`"):
        ctx.extract("toy-obs", params={"db": "nope"})


def test_extract_rows_are_rehashed_on_read_and_kept_for_the_run(app, ckpts, toy_obs):
    import duckdb

    from cache.store import ExtractCache
    from registry.errors import IntegrityError

    ref = ExtractCache(app.home).materialise(app.plugins.extract("toy-obs"), progress=False)
    ctx = _context(app, ckpts)
    first = ctx.extract("toy-obs")
    assert ctx.extract("toy-obs") is first  # one read per run, however many gates ask
    import os

    os.chmod(ref.path, 0o644)
    con = duckdb.connect(ref.path)
    con.execute("UPDATE data SET y = y + 1 WHERE x0 = (SELECT min(x0) FROM data)")
    con.close()
    assert _context(app, ckpts).extract("toy-obs").equals(first)  # the Arrow copy still holds the recorded rows
    os.remove(Path(ref.path).with_suffix(".arrow"))  # without it the edited DuckDB file is all there is
    with pytest.raises(IntegrityError, match="content digest"):
        _context(app, ckpts).extract("toy-obs")  # a fresh run sees the edited rows and refuses them


def test_memo_and_seeded_streams(app, ckpts):
    ctx = _context(app, ckpts)
    calls = []
    assert ctx.memo("k", lambda: calls.append(1) or 42) == 42 and ctx.memo("k", lambda: calls.append(1)) == 42
    assert calls == [1]
    import torch

    a = torch.rand(3, generator=ctx.torch_generator("noise"))
    assert torch.equal(a, torch.rand(3, generator=ctx.torch_generator("noise")))
    assert not torch.equal(a, torch.rand(3, generator=ctx.torch_generator("other")))
    assert ctx.rng("x").integers(1 << 30) == _context(app, ckpts).rng("x").integers(1 << 30)


def test_prune_keeps_the_rows_a_stored_run_read(app, ckpts, toy_obs, capsys):
    import argparse
    import json

    from cache.store import ExtractCache
    from registry.commands.extract import run_extracts
    from registry.output import Output

    cache = ExtractCache(app.home)
    spec = app.plugins.extract("toy-obs")
    first = cache.materialise(spec, progress=False)
    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    promote(app, v.ref, "production", suite="with-data")
    toy_obs.command("ALTER TABLE toyobs.toy_obs UPDATE y = y + 5 WHERE id < 10 SETTINGS mutations_sync = 1")
    second = cache.materialise(spec, progress=False)  # the table changed: new key, and nothing pins these rows
    toy_obs.command("ALTER TABLE toyobs.toy_obs UPDATE y = y + 5 WHERE id < 20 SETTINGS mutations_sync = 1")
    third = cache.materialise(spec, progress=False)
    capsys.readouterr()
    assert run_extracts(app, argparse.Namespace(json=True, prune=True, dry_run=False), Output(json_mode=True)) == 0
    removed = {r["file"] for r in json.loads(capsys.readouterr().out)["removed"]}
    assert Path(second.path).name in removed and Path(first.path).name not in removed
    assert Path(third.path).exists() and verify(app, v.ref).drift == []  # the stored run still repeats exactly
