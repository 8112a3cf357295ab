"""Gridded datasets: registered by a digest over their chunks, refused whole on bad input, verified chunk by chunk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from toy_gridded import make_case, write_npy

from cache.chunked import VerifiedArray, chunk_digest
from cache.datasets import DatasetStore, from_input
from cache.gridded_input import open_input
from registry.errors import DataMissing, IntegrityError, InvalidInput


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return write_npy(make_case(), tmp_path / "synthetic-case")


def test_npy_and_zarr_inputs_of_the_same_values_register_to_one_digest(case, tmp_path):
    import zarr

    found = open_input([case])
    store = DatasetStore(tmp_path / "home")
    ref, created = store.register("toy", found, tile=8)
    group = zarr.open_group(tmp_path / "same.zarr", mode="w", zarr_format=3)
    for name in ("a", "b", "lat", "lon"):  # chunked differently from the store: the digest is over values
        values = np.load(case / f"{name}.npy")
        group.create_array(name, data=values, chunks=(2, 5, 7)[-values.ndim:])
    group.attrs.update({"variables": ["a", "b"]})
    again, created_again = store.register("toy", open_input([tmp_path / "same.zarr"]), tile=8)
    assert created and not created_again and again.digest == ref.digest
    assert from_input("x", open_input([case]), tile=8).digest == ref.digest  # unregistered input: same digest
    assert from_input("x", open_input([case]), tile=16).digest != ref.digest  # chunking is part of the header


def test_reads_match_the_input_for_any_window_and_scale(case, tmp_path):
    store = DatasetStore(tmp_path / "home")
    ds = store.open(store.register("toy", open_input([case]), tile=8)[0])
    a = np.load(case / "a.npy")
    assert ds.shape == a.shape and ds.variables == ("a", "b")
    assert np.array_equal(ds.read("a"), a)
    assert np.array_equal(ds.read("a", 2, slice(3, 11), slice(5, 19)), a[2, 3:11, 5:19])  # crosses chunk edges
    assert np.array_equal(ds.read("a", -1, 0, slice(None)), a[-1, 0])
    assert ds.read("a", slice(1, 3)).shape == (2, 12, 20)
    s = ds.stats["a"]
    assert s["mean"] == pytest.approx(a.astype(np.float64).mean(), rel=1e-9)
    assert s["std"] == pytest.approx(a.astype(np.float64).std(), rel=1e-6)
    z = ds.read("a", scale="z")
    assert np.allclose(z, (a - s["mean"]) / s["std"], atol=1e-5) and np.array_equal(ds.read("a", scale="physical"), a)
    tiles = list(ds.tiles())
    assert len(tiles) == 2 * 3 and tiles[-1] == (slice(8, 12), slice(16, 20))
    assert ds.coordinate("lat").shape == (12, 20)
    with pytest.raises(DataMissing, match="no variable 'c'"):
        ds.read("c")
    with pytest.raises(IndexError):
        ds.read("a", 6)  # one past the last time step


def test_normalised_data_are_scaled_back_with_their_stats(case, tmp_path):
    (case / "stats.json").write_text(json.dumps({"a": {"mean": 5.0, "std": 2.0}, "b": {"mean": 0, "std": 1}}))
    store = DatasetStore(tmp_path / "home")
    ds = store.open(store.register("z", open_input([case], normalised=True))[0])
    a = np.load(case / "a.npy")
    assert np.array_equal(ds.read("a", scale="z"), a)
    assert np.allclose(ds.read("a", scale="physical"), a * 2 + 5)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: np.save(d / "a.npy", np.load(d / "a.npy")[:, :, :-1]), "differ in shape"),
    (lambda d: np.save(d / "a.npy", np.where(np.arange(20) == 7, np.nan, np.load(d / "a.npy"))), "NaN or infinite"),
    (lambda d: np.save(d / "b.npy", np.full((6, 12, 20), np.inf, np.float32)), "NaN or infinite"),
    (lambda d: np.save(d / "lat.npy", np.load(d / "lat.npy") + 60), "within ±90"),
    (lambda d: (d / "lon.npy").unlink(), "need both lat and lon"),
    (lambda d: (d / "stats.json").write_text('{"a": {"mean": 0, "std": 1}}'), "cover exactly"),
    (lambda d: (d / "stats.json").write_text('{"a": {"mean": 0, "std": 0}, "b": {"mean": 0, "std": 1}}'), "std > 0"),
    (lambda d: (d / "stats.json").write_text('{"a": {"mean": NaN, "std": 1}, "b": {"mean": 0, "std": 1}}'), "finite"),
    (lambda d: np.save(d / "b.npy", np.ones((6, 12, 20), np.float32)), "constant"),
    (lambda d: (d / "a.npy").write_bytes(b"not numpy"), "not a readable .npy"),
])
def test_bad_input_is_one_error_and_registers_nothing(case, tmp_path, mutate, message):
    mutate(case)
    store = DatasetStore(tmp_path / "home")
    with pytest.raises(InvalidInput, match=message):
        store.register("toy", open_input([case]), tile=8)
    assert store.list() == []
    assert not store.root.exists() or not [p for p in store.root.iterdir() if p.name != ".write.lock"]  # no tmp


def test_a_chunk_changed_on_disk_is_caught_when_read_and_other_chunks_still_read(case, tmp_path):
    import zarr

    store = DatasetStore(tmp_path / "home")
    ref, _ = store.register("toy", open_input([case]), tile=8)
    zarr.open_group(ref.path, mode="r+")["b"][3, 9, 17] = 1e6  # the second variable, a chunk away from the origin
    ds = store.open(ref)
    assert np.array_equal(ds.read("b", 3, slice(0, 8), slice(0, 8)), np.load(case / "b.npy")[3, :8, :8])
    with pytest.raises(IntegrityError, match=r"toy .* b: chunk 3\.1\.2 no longer matches"):
        ds.read("b", 3)
    with pytest.raises(IntegrityError):
        ds.verify()


def test_newest_of_a_name_and_a_pinned_digest_resolve_separately(case, tmp_path):
    store = DatasetStore(tmp_path / "home")
    first, _ = store.register("toy", open_input([case]), tile=8)
    np.save(case / "a.npy", np.load(case / "a.npy") + 1)
    second, _ = store.register("toy", open_input([case]), tile=8)
    assert first.digest != second.digest
    assert store.resolve("toy").digest == second.digest and store.resolve("toy", first.digest) == first
    (Path(first.path + ".json")).unlink()
    with pytest.raises(DataMissing, match=f"{first.digest[:12]}.*no longer registered; it holds {second.short}"):
        store.resolve("toy", first.digest)
    with pytest.raises(DataMissing, match="registry datasets add other"):
        store.resolve("other")


@pytest.mark.parametrize("name", ["Toy", "", "a/b", "-x", "x" * 65, "toy\n"])
def test_dataset_names_are_checked_before_anything_is_read(case, tmp_path, name):
    with pytest.raises(InvalidInput, match="dataset name"):
        DatasetStore(tmp_path / "home").register(name, open_input([case]))


def test_verified_array_checks_each_chunk_once_and_the_digest_count(tmp_path):
    import zarr

    arr = zarr.create_array(tmp_path / "a.zarr", shape=(3, 4), chunks=(2, 4), dtype="float32")
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    arr[:] = values
    digests = [chunk_digest(values[:2]), chunk_digest(values[2:])]
    with pytest.raises(IntegrityError, match="1 chunk digests recorded for 2 chunks"):
        VerifiedArray(arr, digests[:1], "x")
    v = VerifiedArray(arr, digests, "x")
    assert np.array_equal(v.read(slice(1, 3), 2), values[1:3, 2])
    assert v.read(slice(2, 1)).shape == (0, 4)  # an empty window reads no chunk
    with pytest.raises(IndexError, match="step-1 slices"):
        v.read(slice(0, 3, 2))
    with pytest.raises(IndexError, match="outside 0…2"):
        v.read(-4)
    assert chunk_digest(values[:2]) != chunk_digest(values[:2].reshape(4, 2))  # the shape is part of a digest


def test_a_metadata_file_orders_the_variables_and_labels_the_data(case, tmp_path):
    (case / "synthetic.json").write_text(json.dumps({"variables": ["b", "a"], "description": "advected fields"}))
    found = open_input([case])
    assert list(found.variables) == ["b", "a"] and found.attrs == {"synthetic": True, "description": "advected fields"}
    ref, _ = DatasetStore(tmp_path / "home").register("toy", found, tile=8)
    assert ref.header["variables"] == ["b", "a"] and ref.header["attrs"]["synthetic"] is True
    (case / "synthetic.json").write_text(json.dumps({"variables": ["a"]}))
    with pytest.raises(InvalidInput, match="'variables' must list exactly the arrays"):
        open_input([case])
    (case / "synthetic.json").write_text("[]")
    with pytest.raises(InvalidInput, match="must hold a JSON object"):
        open_input([case])
    (case / "synthetic.json").write_text(json.dumps({"x": "y" * 70_000}))
    with pytest.raises(InvalidInput, match="holds at most 65,536"):
        open_input([case])
    (case / "synthetic.json").unlink()
    (case / "stats.json").write_text(json.dumps({"a": {"mean": 1, "std": 2}, "b": {"mean": 3, "std": 4}}))
    files = [case / "a.npy", case / "b.npy", case / "lat.npy", case / "lon.npy", case / "stats.json"]
    assert open_input(files).stats == {"a": {"mean": 1, "std": 2}, "b": {"mean": 3, "std": 4}}


def test_registering_the_same_content_again_repairs_a_damaged_or_missing_copy(case, tmp_path):
    import shutil

    import zarr

    store = DatasetStore(tmp_path / "home")
    ref, _ = store.register("toy", open_input([case]), tile=8)
    zarr.open_group(ref.path, mode="r+")["a"][0, 0, 0] = 7.0
    again, created = store.register("toy", open_input([case]), tile=8)
    assert created and again.digest == ref.digest
    store.open(again).verify()
    shutil.rmtree(ref.path)
    with pytest.raises(IntegrityError, match="arrays are missing on disk"):
        store.open(ref)
    store.register("toy", open_input([case]), tile=8)
    assert np.array_equal(store.open(ref).read("a"), np.load(case / "a.npy"))
    assert [r.digest for r in store.list()] == [ref.digest]
    unchanged, created = store.register("toy", open_input([case]), tile=8)
    assert not created


def test_named_dimensions_other_than_time_y_x_register_chunk_by_first_step_and_read_by_position(tmp_path):
    from cache.gridded_input import GriddedInput, check, chunks_for

    rng = np.random.default_rng(5)  # SYNTHETIC lookup table: (key, hour, month, bucket)
    table = {"a": rng.normal(size=(3, 4, 5, 6)).astype(np.float32), "b": rng.normal(size=(3, 4, 5, 6))}
    found = GriddedInput(table, attrs={"synthetic": True, "keys": ["k0", "k1", "k2"]},
                         dims=("key", "hour", "month", "bucket"))
    ref, _ = DatasetStore(tmp_path / "home").register("table", found, tile=5)
    assert ref.header["dims"] == ["key", "hour", "month", "bucket"] and ref.header["shape"] == [3, 4, 5, 6]
    assert ref.header["chunks"] == [1, 4, 5, 5]  # one key per chunk, whole hours, the last two tiled
    ds = DatasetStore(tmp_path / "home").open(ref)
    assert ds.dims == ("key", "hour", "month", "bucket") and ds.shape == (3, 4, 5, 6)
    np.testing.assert_array_equal(ds.read("b"), table["b"].astype(np.float32))  # all of it
    np.testing.assert_array_equal(ds.select("a", 2, slice(1, 3), None, 5), table["a"][2, 1:3, :, 5])
    assert chunks_for((7, 300, 2)) == (1, 256, 2) and chunks_for((9, 2)) == (1, 2)
    # the default dimensions keep their header, so registered 3-D datasets keep their digests
    flat = GriddedInput({"a": table["a"][0]})
    assert from_input("x", flat, tile=5).header["dims"] == ["time", "y", "x"]
    with pytest.raises(InvalidInput, match=r"need \(key, hour, month, bucket\)"):
        check(GriddedInput({"a": table["a"][0]}, dims=("key", "hour", "month", "bucket")))
    for dims in (("t",), ("t", "t"), ("t", "a b")):
        with pytest.raises(InvalidInput, match="dimension names"):
            check(GriddedInput({"a": table["a"][0, 0]}, dims=dims))


def test_a_dotted_name_keeps_each_contents_record_apart(case, tmp_path):
    store = DatasetStore(tmp_path / "home")
    first, _ = store.register("toy.v1.2", open_input([case]), tile=8)
    second, _ = store.register("toy.v1.2", open_input([case]), tile=16)  # other chunking, other digest
    assert sorted(p.name for p in store.root.glob("*.json")) == sorted(
        [f"toy.v1.2-{first.digest[:16]}.json", f"toy.v1.2-{second.digest[:16]}.json"])
    assert store.by_digest("toy.v1.2", first.digest) == first and store.latest("toy.v1.2") == second


def test_a_chunk_whose_compressed_bytes_were_damaged_is_an_integrity_error_not_a_codec_crash(case, tmp_path):
    store = DatasetStore(tmp_path / "home")
    ref, _ = store.register("toy", open_input([case]), tile=8)
    chunk = sorted(p for p in Path(ref.path, "a", "c").rglob("*") if p.is_file())[0]
    data = chunk.read_bytes()
    chunk.write_bytes(data[:len(data) // 2])  # truncated: the codec cannot decode it
    with pytest.raises(IntegrityError, match=r"dataset toy \w+ a: chunk 0\.0\.0 cannot be read \(RuntimeError"):
        store.open(ref).read("a", 0)
    store.open(ref).read("b", 0)  # the other arrays still read
