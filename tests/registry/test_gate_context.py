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
    assert message == (f"could not evaluate: DataMissing: extract 'toy-obs': the rows the stored run used (digest "
                       f"{first.digest[:12]}) are no longer in the cache; it holds other rows of 'toy-obs' now (digest "
                       f"{newer.digest[:12]}: refreshed, or the source's tables changed)")
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


def _context(app, ckpts, *, seed=7, champion=None, **kw):
    from registry.gate_context import RunContext

    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    return RunContext(app.store, app.plugins.family("toy"), v, champion=champion, seed=seed, device="cpu",
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


def test_extract_label_names_exactly_the_request():
    from registry.gate_context import extract_label

    assert extract_label("obs") == extract_label("obs", {}) == "obs"
    assert extract_label("obs", split="test") == "obs[split=test]"
    assert extract_label("obs", {"year": 2023}) == "obs[year=2023]"
    assert extract_label("obs", {"b": 2, "a": "x"}, "train") == "obs[split=train, a=x, b=2]"


def test_file_gives_a_registered_role_and_names_a_missing_one(app, ckpts):
    from registry.errors import DataMissing

    ctx = _context(app, ckpts)
    assert ctx.file("weights").read_bytes() == ckpts["good"].read_bytes()
    with pytest.raises(DataMissing, match=r"^toy@1 was registered without a 'config' file$"):
        ctx.file("config")


def test_the_champion_model_is_the_holder_not_the_candidate(app, ckpts):
    from toy_family import _predict

    assert _context(app, ckpts).champion_model is None
    holder = app.store.register("toy", {"weights": ckpts["good2"]})[0]
    ctx = _context(app, ckpts, champion=holder)
    x = np.random.default_rng(0).normal(size=(8, 4))
    expected = _predict(app.plugins.family("toy").load({"weights": ckpts["good2"]}), x)
    assert np.array_equal(_predict(ctx.champion_model, x), expected)
    assert not np.array_equal(_predict(ctx.model, x), expected)


def test_streams_depend_on_the_run_seed_and_the_stream_name(app, ckpts):
    import torch

    ctx, other_seed = _context(app, ckpts, seed=7), _context(app, ckpts, seed=8)
    draw = ctx.rng("x").integers(1 << 62, size=4)
    assert not np.array_equal(draw, ctx.rng("y").integers(1 << 62, size=4))
    assert not np.array_equal(draw, other_seed.rng("x").integers(1 << 62, size=4))
    assert not np.array_equal(draw, ctx.rng().integers(1 << 62, size=4))
    a = torch.rand(4, generator=ctx.torch_generator("x"))
    assert not torch.equal(a, torch.rand(4, generator=other_seed.torch_generator("x")))
    assert not torch.equal(a, torch.rand(4, generator=ctx.torch_generator()))
    calls = []
    assert ctx.memo("a", lambda: calls.append("a") or 1) == 1 and ctx.memo("b", lambda: calls.append("b") or 2) == 2
    assert calls == ["a", "b"]  # one product per key, each computed once


def test_unresolvable_extract_requests_fail_closed_saying_why(app, ckpts):
    from registry.errors import DataMissing

    with pytest.raises(DataMissing, match=r"extract 'nope' is not declared by any plugin, so nope\[a=1\] cannot"):
        _context(app, ckpts).extract("nope", params={"a": 1})
    with pytest.raises(DataMissing, match=r"^extract 'toy-obs' is not in the cache; run `registry extract toy-obs`$"):
        _context(app, ckpts).extract("toy-obs")
    pinned = _context(app, ckpts, extract_pins={"toy-obs": "abcdef0123456789"})
    with pytest.raises(DataMissing, match=r"^extract 'toy-obs' with key abcdef012345 is not in the cache; run"):
        pinned.extract("toy-obs")
    gone = _context(app, ckpts, extract_pins={"toy-obs": "abcdef0123456789"}, expected_digests={"toy-obs": "f" * 64})
    with pytest.raises(DataMissing, match=r"^extract 'toy-obs': the rows the stored run used \(digest ffffffffffff\) "
                                          r"are no longer in the cache$"):
        gone.extract("toy-obs")
    assert pinned.extract_digests == gone.extract_digests == {}


def test_rows_that_no_longer_hash_to_the_stored_digest_are_refused(app, ckpts, toy_obs):
    from cache.store import ExtractCache
    from registry.errors import DataMissing

    ref = ExtractCache(app.home).materialise(app.plugins.extract("toy-obs"), progress=False)
    ctx = _context(app, ckpts, expected_digests={"toy-obs": "0" * 64})  # no pinned key: the newest copy is read
    with pytest.raises(DataMissing, match=rf"^extract 'toy-obs' was refreshed since the stored run: its rows now hash "
                                          rf"to {ref.digest[:12]}, the run used 000000000000, which the cache no"):
        ctx.extract("toy-obs")
    pinned = _context(app, ckpts, extract_pins={"toy-obs": ref.key}, expected_digests={"toy-obs": ref.digest})
    assert pinned.extract("toy-obs").num_rows == 300
    assert pinned.extract_keys == {"toy-obs": ref.key} and pinned.extract_digests == {"toy-obs": ref.digest}
    from cache.spec import ExtractSpec, Window

    timed = ExtractSpec("timed", "SELECT id, toDateTime(id, 'UTC') AS t FROM toyobs.toy_obs", time_column="t",
                        windows=(Window("test", "1970-01-01", "1970-01-02"),))
    ctx = _context(app, ckpts)
    ctx.extract_specs["timed"] = timed
    with pytest.raises(DataMissing, match=r"^extract 'timed\[split=test\]' with key [0-9a-f]{12} is not in the "
                                          r"cache; run `registry extract timed --split test`$"):
        ctx.extract("timed", split="test")


def test_streams_drawn_today_are_drawn_again_by_a_later_verify(app, ckpts):
    # verify re-runs a stored suite with its seed, possibly years later: the derivation of each stream is fixed
    ctx = _context(app, ckpts, seed=7)
    assert ctx.rng("x").integers(1 << 62, size=2).tolist() == [79524546715154011, 1994413911492637430]
    assert ctx.rng().integers(1 << 62, size=2).tolist() == [4571667997053478303, 2468504083142127195]
    assert ctx.torch_generator("noise").initial_seed() == 2929564606371364242
    assert ctx.torch_generator().initial_seed() == 5980682354321161656


def test_gates_see_the_device_the_run_was_asked_for(app, ckpts):
    from registry.gate_context import RunContext

    v = app.store.register("toy", {"weights": ckpts["good"]})[0]
    ctx = RunContext(app.store, app.plugins.family("toy"), v, champion=None, seed=1, device="meta")
    assert ctx.device == "meta"  # gates place their tensors by it (GateContext.device)


def test_pinned_rows_are_read_by_their_digest_when_the_key_was_refreshed(app, ckpts, toy_obs, chdb_path):
    """A server's tables are not fingerprinted: a refresh stores new rows under the same key. The stored run's
    rows are still read by their digest; once they are gone, the run fails closed saying what happened."""
    import os

    from cache.sources import EmbeddedSource
    from cache.store import ExtractCache
    from registry.errors import DataMissing

    class ServerLike(EmbeddedSource):  # the embedded engine, keyed as a server is: by the request alone
        def state(self, query):  # noqa: ANN001, ANN202
            return None

    cache, spec, server = ExtractCache(app.home), app.plugins.extract("toy-obs"), ServerLike(chdb_path)
    old = cache.materialise(spec, source=server, progress=False)
    toy_obs.command("ALTER TABLE toyobs.toy_obs UPDATE y = y + 5 WHERE id < 100 SETTINGS mutations_sync = 1")
    new = cache.materialise(spec, source=server, refresh=True, progress=False)
    assert new.key == old.key and new.digest != old.digest
    pins = {"extract_pins": {"toy-obs": old.key}, "expected_digests": {"toy-obs": old.digest}}
    ctx = _context(app, ckpts, **pins)
    assert ctx.extract("toy-obs").equals(cache.read(old)) and ctx.extract_digests == {"toy-obs": old.digest}
    os.remove(old.path)
    with pytest.raises(DataMissing) as err:
        _context(app, ckpts, **pins).extract("toy-obs")
    assert str(err.value) == (f"extract 'toy-obs' was refreshed since the stored run: its rows now hash to "
                              f"{new.digest[:12]}, the run used {old.digest[:12]}, which the cache no longer holds")


def test_a_split_is_read_as_that_window_not_the_whole_extract(app, ckpts, toy_obs):
    from cache.spec import ExtractSpec, Window
    from cache.store import ExtractCache

    timed = ExtractSpec("timed", "SELECT id, toDateTime(id, 'UTC') AS t FROM toyobs.toy_obs", time_column="t",
                        windows=(Window("train", "1970-01-01T00:00:00", "1970-01-01T00:02:00"),
                                 Window("test", "1970-01-01T00:02:00", "1970-01-01T00:05:00")))
    cache = ExtractCache(app.home)
    cache.materialise(timed, split="test", progress=False)
    cache.materialise(timed, progress=False)  # the whole extract is the newest copy of the name
    ctx = _context(app, ckpts)
    ctx.extract_specs["timed"] = timed
    assert ctx.extract("timed", split="test").column("id").to_pylist() == list(range(120, 300))
    assert list(ctx.extract_digests) == ["timed[split=test]"]
