"""Generated ensembles on disk: member-batch by member-batch, atomic, keyed by what made them, verified on read."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cache.ensembles import EnsembleStore, identity, open_ensemble, write_ensemble
from registry.errors import GateError, IntegrityError, InvalidInput
from registry.hashing import digest_json

GRID = (10, 13)


def ident(**change: object) -> dict:
    base = dict(version_id="v" * 64, condition="c" * 64, sampler={"kind": "ddim", "steps": 5, "eta": 0.0}, seed=1,
                device="cpu", members=7, variables=("u", "v"), grid=GRID)
    return identity(**{**base, **change})  # type: ignore[arg-type]


def member(seed: int, i: int) -> np.ndarray:
    return np.random.default_rng([seed, i]).normal(size=(2, *GRID)).astype(np.float32)


class Counting:
    """A generator that records the member batches it was asked for (member i depends on (seed, i) only)."""

    def __init__(self, seed: int = 1) -> None:
        self.seed, self.calls = seed, []

    def __call__(self, ids):  # noqa: ANN001, ANN204
        self.calls.append(list(ids))
        return np.stack([member(self.seed, i) for i in ids])


def test_generated_in_member_batches_then_read_from_disk(tmp_path):
    store = EnsembleStore(tmp_path)
    gen = Counting()
    ens, generated = store.ensure(ident(batch=3), gen, tile=8)
    assert generated and gen.calls == [[0, 1, 2], [3, 4, 5], [6]]
    again, generated_again = store.ensure(ident(batch=3), gen, tile=8)
    assert not generated_again and len(gen.calls) == 3 and again.digest == ens.digest
    assert ens.shape == (7, 2, *GRID) and ens.variables == ("u", "v")
    assert np.array_equal(ens.read(), np.stack([member(1, i) for i in range(7)]))
    assert np.array_equal(ens.read(slice(2, 5), "v", slice(3, 9), 12), np.stack([member(1, i) for i in range(2, 5)])[
        :, 1, 3:9, 12])
    assert len(list(ens.tiles())) == 2 * 2
    with pytest.raises(InvalidInput, match="no variable 'w'"):
        ens.read(None, "w")


def test_a_subset_of_members_regenerates_bit_for_bit(tmp_path):
    ens, _ = EnsembleStore(tmp_path).ensure(ident(batch=4), Counting())
    assert np.array_equal(ens.read(5), Counting()([5])[0])


@pytest.mark.parametrize("change", [dict(device="cuda:0"), dict(seed=2), dict(members=8), dict(condition="d" * 64),
                                    dict(sampler={"kind": "ddim", "steps": 5, "eta": 1.0}), dict(version_id="w" * 64),
                                    dict(batch=4)])
def test_each_part_of_the_identity_is_part_of_the_key(tmp_path, change):
    store = EnsembleStore(tmp_path)
    store.ensure(ident(), Counting())
    gen = Counting()
    _, generated = store.ensure(ident(**change), gen)
    assert generated and gen.calls


def test_an_exception_mid_write_leaves_nothing_trusted_or_on_disk(tmp_path):
    store = EnsembleStore(tmp_path)

    def failing(ids):  # noqa: ANN001, ANN202
        if ids[0] >= 4:
            raise RuntimeError("out of memory (simulated)")
        return Counting()(ids)

    with pytest.raises(RuntimeError, match="simulated"):
        store.ensure(ident(batch=2), failing)
    assert store.get(digest_json(ident())) is None and store.list() == []
    assert not [p for p in store.root.iterdir() if not p.name.endswith(".lock")]
    ens, generated = store.ensure(ident(batch=2), Counting())
    assert generated and np.array_equal(ens.read(6), member(1, 6))


def test_a_killed_generator_leaves_only_a_temporary_folder_that_the_next_writer_removes(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, numpy as np
        from cache.ensembles import EnsembleStore, identity
        ident = identity(**{json.dumps(dict(version_id="v" * 64, condition="c" * 64, sampler={}, seed=1,
                                            device="cpu", members=6, variables=["u", "v"], grid=list(GRID), batch=2))})
        def gen(ids):
            if ids[0] >= 2:
                os.kill(os.getpid(), signal.SIGKILL)  # dies mid-ensemble: two members already on disk
            return np.zeros((len(ids), 2, {GRID[0]}, {GRID[1]}), np.float32)
        EnsembleStore({str(tmp_path)!r}).ensure(ident, gen)
    """)
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", script], cwd=root, env={"PYTHONPATH": str(root)}, timeout=120)
    assert r.returncode == -9
    store = EnsembleStore(tmp_path)
    left = [p for p in store.root.iterdir() if p.name.startswith(".tmp-")]
    assert len(left) == 1 and (left[0] / "members").is_dir()  # chunks were written, the marker never was
    key = digest_json(identity(version_id="v" * 64, condition="c" * 64, sampler={}, seed=1, device="cpu",
                               members=6, variables=["u", "v"], grid=GRID, batch=2))
    assert store.get(key) is None and store.list() == []
    store.ensure(ident(), Counting())  # the next writer sweeps the dead writer's folder
    assert not left[0].exists()


def test_a_folder_under_the_key_without_a_valid_marker_is_regenerated(tmp_path):
    store = EnsembleStore(tmp_path)
    ens, _ = store.ensure(ident(), Counting())
    marker = ens.path / "complete.json"
    data = json.loads(marker.read_text())
    data["chunk_digests"][0] = "0" * 64  # a marker that does not combine to its digest is not trusted
    marker.write_text(json.dumps(data))
    assert store.get(ens.key) is None
    gen = Counting()
    fresh, generated = store.ensure(ident(), gen)
    assert generated and fresh.digest == ens.digest and gen.calls


def test_a_member_changed_on_disk_is_caught_when_read(tmp_path):
    import zarr

    ens, _ = EnsembleStore(tmp_path).ensure(ident(), Counting(), tile=8)
    zarr.open_array(ens.path / "members", mode="r+")[4, 1, 9, 12] = 0.0
    reread = open_ensemble(ens.path)
    assert reread is not None and reread.read(3).shape == (2, *GRID)  # other members still read
    with pytest.raises(IntegrityError, match=r"chunk 4\.1\.1\.1 no longer matches"):
        reread.read(4)


def test_a_generator_of_the_wrong_shape_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(GateError, match=r"returned \(2, 2, 10, 12\) .* expected \(2, 2, 10, 13\)"):
        write_ensemble(tmp_path / "e.zarr", ident(batch=2), lambda ids: np.zeros((len(ids), 2, 10, 12)))
    assert list(tmp_path.iterdir()) == []


def test_a_batch_given_to_write_is_the_one_recorded(tmp_path):
    calls = Counting()
    ens = write_ensemble(tmp_path / "e.zarr", ident(), calls, batch=5)
    assert calls.calls == [[0, 1, 2, 3, 4], [5, 6]] and ens.identity["batch"] == 5 and ens.key == digest_json(
        ident(batch=5))
    with pytest.raises(InvalidInput, match="batches of ≥ 1"):
        write_ensemble(tmp_path / "f.zarr", ident(), calls, batch=0)


def test_write_to_a_path_refuses_an_existing_one(tmp_path):
    (tmp_path / "e.zarr").mkdir()
    with pytest.raises(InvalidInput, match="exists already"):
        write_ensemble(tmp_path / "e.zarr", ident(), Counting())


def test_torch_tensors_are_accepted_in_any_float_type(tmp_path):
    import torch

    ens = write_ensemble(tmp_path / "e.zarr", ident(members=2),
                         lambda ids: torch.full((len(ids), 2, *GRID), 1.5, dtype=torch.bfloat16))
    assert float(ens.read().sum()) == 1.5 * 2 * 2 * GRID[0] * GRID[1]


@pytest.mark.parametrize("bad", [dict(members=0), dict(grid=(0, 3)), dict(grid=(3,)), dict(variables=()),
                                 dict(batch=0)])
def test_an_identity_needs_members_variables_and_a_grid(bad):
    with pytest.raises(InvalidInput):
        ident(**bad)


def test_two_processes_asking_for_one_ensemble_generate_it_once(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    script = textwrap.dedent(f"""
        import os, time, numpy as np
        from pathlib import Path
        from cache.ensembles import EnsembleStore, identity
        ident = identity(version_id="v", condition="c", sampler={{}}, seed=1, device="cpu", members=4,
                         variables=["u"], grid=[3, 4], batch=2)
        def gen(ids):
            Path({str(marks)!r}, f"{{os.getpid()}}-{{ids[0]}}").touch()
            time.sleep(0.5)  # long enough for the other process to arrive while this one generates
            return np.ones((len(ids), 1, 3, 4), np.float32)
        ens, generated = EnsembleStore({str(tmp_path / "home")!r}).ensure(ident, gen)
        print(generated, ens.digest)
    """)
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=root, env={"PYTHONPATH": str(root)},
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert sorted(o[0] for o in outs) == ["False", "True"] and outs[0][1] == outs[1][1]
    assert len({m.name.split("-")[0] for m in marks.iterdir()}) == 1 and len(list(marks.iterdir())) == 2


def test_a_written_ensemble_names_its_axes_and_carries_attributes_and_coordinates(tmp_path):
    import zarr

    lat, lon = np.meshgrid(np.linspace(30, 40, GRID[0]), np.linspace(-100, -90, GRID[1]), indexing="ij")
    attrs = {"sampler": {"kind": "ddim", "steps": 5}, "seed": 1, "units": {"u": "m/s", "v": "m/s"}, "synthetic": True}
    ens = write_ensemble(tmp_path / "e.zarr", ident(), Counting(), tile=8, attrs=attrs,
                         coords={"lat": lat, "lon": lon})
    group = zarr.open_group(tmp_path / "e.zarr", mode="r")
    assert group["members"].metadata.dimension_names == ("member", "variable", "y", "x")
    assert group["lat"].metadata.dimension_names == ("y", "x") and np.allclose(group["lat"][:], lat)
    assert dict(group.attrs) == {**attrs, "variables": ["u", "v"], "dimensions": ["member", "variable", "y", "x"]}
    assert group["members"].attrs["variables"] == ["u", "v"] and ens.digest == open_ensemble(ens.path).digest
    xr = pytest.importorskip("xarray")  # not a dependency; checked where installed
    ds = xr.open_zarr(tmp_path / "e.zarr", consolidated=False)
    assert ds["members"].dims == ("member", "variable", "y", "x") and ds["members"].shape == (7, 2, *GRID)
    assert set(ds.coords) == {"lat", "lon"} and ds.attrs["synthetic"] is True
    assert np.array_equal(ds["members"].values, ens.read())


def test_coordinates_of_another_grid_are_refused_and_nothing_is_left(tmp_path):
    with pytest.raises(InvalidInput, match="coordinate 'lat' is \\(3, 3\\)"):
        write_ensemble(tmp_path / "e.zarr", ident(), Counting(), coords={"lat": np.zeros((3, 3))})
    assert list(tmp_path.iterdir()) == []


def test_an_ensemble_written_without_attributes_keeps_its_digest(tmp_path):
    plain = write_ensemble(tmp_path / "a.zarr", ident(), Counting(), tile=8)
    described = write_ensemble(tmp_path / "b.zarr", ident(), Counting(), tile=8, attrs={"seed": 1})
    assert plain.digest == described.digest  # attributes describe the store; the digest is over what generated it
