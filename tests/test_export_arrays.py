"""zarr / HDF5 exports (not in isx: checked against the source as isx reads it) and the
bounded memory of every streaming export."""

from __future__ import annotations

import importlib.util
import json
import tracemalloc

import numpy as np
import pytest

import isxio
import isxio.export as ours
from isxio.formats.common import Ratio, Time, TimingInfo
from isxio.formats.movie import write_movie

from .test_export_helpers import all_frames, write_isx_movie, write_tsc_movie

try:
    import isx
except ImportError:  # the isx-marked tests below skip (and CI requires isx)
    isx = None

h5py = pytest.importorskip("h5py")


def need_isx():
    if isx is None:
        pytest.skip("isx not installed")


@pytest.mark.isx
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_hdf5_holds_every_sample(tmp_path, dtype):
    need_isx()
    src = tmp_path / "m.isxd"
    write_isx_movie(isx, src, 11, (6, 4), dtype, dropped=[0, 7], cropped=[(2, 3)], seed=3)
    out = tmp_path / "m.h5"
    ours.export_movie_to_hdf5(str(src), str(out), chunk_frames=3, compression="gzip")
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["data"][:], all_frames(isx, src))
        assert f["data"].chunks == (3, 6, 4)
        assert [d.label for d in f["data"].dims] == ["t", "y", "x"]
        np.testing.assert_array_equal(
            f["valid"][:], [i not in (0, 2, 3, 7) for i in range(11)])
        meta = json.loads(f.attrs["isxio"])
        assert meta["timing"]["dropped"] == [0, 7] and meta["timing"]["cropped"] == ["2 - 3"]
        assert meta["spacing"]["numPixels"] == {"x": 4, "y": 6}
        np.testing.assert_allclose(f["timestamps"][:], np.arange(11) * 0.05)


@pytest.mark.isx
def test_hdf5_keeps_tsc(tmp_path):
    need_isx()
    src = tmp_path / "t.isxd"
    tsc = write_tsc_movie(src, 5, start_ms=1654732421836, tsc0=459472532939, dropped=[2])
    ours.export_movie_to_hdf5(str(src), str(tmp_path / "t.h5"))
    movie = isx.Movie.read(str(src))
    with h5py.File(tmp_path / "t.h5", "r") as f:
        assert [movie.get_frame_timestamp(i) for i in (0, 1, 3, 4)] == list(
            f["tsc"][[0, 1, 3, 4]])
        assert list(f["tsc"][[0, 1, 3, 4]]) == list(tsc[[0, 1, 3, 4]])


def test_zarr_ome_layout(tmp_path):
    zarr = pytest.importorskip("zarr")
    src = tmp_path / "m.isxd"
    frames = np.arange(7 * 3 * 5, dtype=np.uint16).reshape(7, 3, 5)
    timing = TimingInfo(7, Ratio(1, 20), Time(Ratio(1_600_000_000_000, 1000)), dropped=(4,))
    write_movie(src, frames, timing=timing)
    frames[4] = 0
    out = tmp_path / "m.zarr"
    ours.export_movie_to_zarr(str(src), str(out), chunk_frames=2)
    group = zarr.open_group(str(out), mode="r")
    np.testing.assert_array_equal(group["0"][:], frames)
    assert group["0"].chunks == (2, 3, 5)
    ms = group.attrs["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["t", "y", "x"]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [0.05, 3.0, 3.0]
    assert group.attrs["isxio"]["timing"]["dropped"] == [4]
    np.testing.assert_array_equal(group["valid"][:], np.arange(7) != 4)
    with pytest.raises(FileExistsError):
        ours.export_movie_to_zarr(str(src), str(out))


@pytest.mark.parametrize("where", ["isxio.imwrite.hdf5.iter_blocks",  # while streaming
                                   "isxio.export.arrays._hdf5_legacy"])  # adding aliases
def test_failed_export_leaves_nothing(tmp_path, monkeypatch, where):
    src = tmp_path / "m.isxd"
    write_movie(src, np.zeros((4, 2, 2), np.uint16))

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    module, name = where.rsplit(".", 1)
    monkeypatch.setattr(importlib.import_module(module), name, boom)
    with pytest.raises(RuntimeError):
        ours.export_movie_to_hdf5(str(src), str(tmp_path / "o.h5"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.isxd"]


# ------------------------------------------------------------------ bounded memory
def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("export", ["tiff", "mp4", "hdf5", "zarr"])
def test_streaming_exports_use_bounded_memory(tmp_path, export):
    """A movie ~50x larger than one block exports with a peak far below its size."""
    if export == "zarr":
        pytest.importorskip("zarr")
    if export == "tiff":
        pytest.importorskip("tifffile")
    if export == "mp4":
        pytest.importorskip("av")
    n, shape = 400, (64, 96)
    src = tmp_path / "big.isxd"
    rng = np.random.default_rng(0)
    write_movie(src, rng.integers(0, 4000, (n, *shape)).astype(np.uint16), chunk_frames=50)
    movie_bytes = n * shape[0] * shape[1] * 2
    run = {"tiff": ours.export_movie_to_tiff, "mp4": ours.export_movie_to_mp4,
           "hdf5": ours.export_movie_to_hdf5, "zarr": ours.export_movie_to_zarr}[export]
    small = tmp_path / "small.isxd"  # warm-up: modules imported on first use are not counted
    write_movie(small, np.zeros((2, *shape), np.uint16))
    run(str(small), str(tmp_path / f"small.{export}"), chunk_frames=8)
    peak = _peak_bytes(lambda: run(str(src), str(tmp_path / f"out.{export}"), chunk_frames=8))
    assert peak < movie_bytes / 5, f"peak {peak} B for a {movie_bytes} B movie"
    with isxio.open(src) as movie:
        assert movie.num_frames == n


def test_progress_bar_and_missing_extra_message(tmp_path, monkeypatch, capsys):
    src = tmp_path / "m.isxd"
    write_movie(src, np.zeros((5, 2, 2), np.uint16))
    if importlib.util.find_spec("tqdm") is not None:  # optional extra 'progress'
        ours.export_movie_to_hdf5(str(src), str(tmp_path / "a.h5"), progress=True)
        assert "HDF5" in capsys.readouterr().err
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)
    with pytest.raises(ImportError, match=r"isxio\[progress\]"):
        ours.export_movie_to_hdf5(str(src), str(tmp_path / "b.h5"), progress=True)
    monkeypatch.setitem(__import__("sys").modules, "h5py", None)
    with pytest.raises(ImportError, match=r"isxio\[hdf5\]"):
        ours.export_movie_to_hdf5(str(src), str(tmp_path / "c.h5"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "m.isxd"]


@pytest.mark.parametrize("name, export", [
    ("sample_eventset_msr_1.isxd", lambda src, out: ours.export_event_set_to_csv([src], out)),
    ("cellset.isxd", lambda src, out: ours.export_cell_set_to_csv_tiff([src], out, "")),
    ("Group-20240111-080531_2024-01-12-08-55-21_sched_0.isxb",
     lambda src, out: ours.export_nvision_movie_tracking_frame_data_to_csv([src], out)),
    ("movie_longer_than_3_min.isxd", lambda src, out: ours.export_movie_to_hdf5(src, out)),
])
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_inputs_raise_format_errors(tmp_path, realdata, name, export, damage):
    from isxio.errors import IsxFormatError

    raw = (realdata / name).read_bytes()
    bad = tmp_path / f"bad_{name}"
    if damage == "truncated":
        bad.write_bytes(raw[: len(raw) // 3])
    else:
        bad.write_bytes(raw[:100] + b"\xff" * 64 + raw[164:-40] + b"{garbage}" * 4)
    with pytest.raises(IsxFormatError, match=r"bad_"):
        export(str(bad), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ first layout kept
FIRST_KEYS = {"source", "dtype", "timing", "spacing", "extra_properties", "num_valid_frames",
              "producer"}


@pytest.mark.isx
@pytest.mark.realdata
def test_wrappers_keep_the_first_layout_on_a_real_multiplane_movie(tmp_path, realdata):
    """The frames (all planes interleaved, as before), valid/tsc/timestamps, the old keys."""
    need_isx()
    zarr = pytest.importorskip("zarr")
    src = realdata / "multiplane_movie.isxd"
    movie = isx.Movie.read(str(src))
    n = movie.timing.num_samples
    frames = all_frames(isx, src)
    tsc = [movie.get_frame_timestamp(i) for i in range(n)]
    ours.export_movie_to_hdf5(src, tmp_path / "m.h5", chunk_frames=7)
    ours.export_movie_to_zarr(src, tmp_path / "m.zarr", chunk_frames=7)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        np.testing.assert_array_equal(f["data"][:], frames)
        assert list(f["tsc"][:]) == tsc and f["valid"][:].all() and len(f["valid"]) == n
        assert f["tsc"].id == f["isxio/tsc"].id  # a hard link, not a copy
        np.testing.assert_allclose(f["timestamps"][:], np.arange(n) * movie.timing.period
                                   .secs_float, rtol=1e-12)
        h5_meta = json.loads(f.attrs["isxio"])
    group = zarr.open_group(str(tmp_path / "m.zarr"), mode="r")
    np.testing.assert_array_equal(group["0"][:], frames)
    assert group["0"].chunks == (7, 100, 160) and (tmp_path / "m.zarr" / ".zgroup").exists()
    assert list(group["tsc"][:]) == tsc and group["valid"][:].all()
    assert group.attrs["multiscales"][0]["version"] == "0.4"
    for meta in (h5_meta, group.attrs["isxio"]):
        assert FIRST_KEYS <= set(meta) and meta["source"] == src.name
        assert (meta["timing"]["numTimes"], meta["num_valid_frames"]) == (n, n)
        assert meta["spacing"]["numPixels"] == {"x": 160, "y": 100}


def _write_first_layout(src, out, kind: str, dataset: str = "data") -> None:
    """A store exactly as the first export_movie_to_zarr / _hdf5 wrote it (by hand)."""
    with isxio.open(src) as movie:
        frames, valid = np.asarray(movie.data[:]), movie.timing.valid_mask()
        tsc = np.asarray(movie.tsc, np.uint64) if movie.has_frame_timestamps else None
        meta = {"source": src.name, "dtype": np.dtype(movie.dtype).name,
                "timing": movie.timing.to_json(), "spacing": movie.spacing.to_json(),
                "extra_properties": movie.extra_properties,
                "num_valid_frames": int(movie.timing.num_valid), "producer": "isxio 0.0.9"}
        offsets = movie.timing.offsets()
    if kind == "zarr":
        zarr = pytest.importorskip("zarr")
        group = zarr.open_group(str(out), mode="w")
        group.create_dataset("0", data=frames, chunks=(4, *frames.shape[1:]))
        group.create_dataset("valid", data=valid)
        if tsc is not None:
            group.create_dataset("tsc", data=tsc)
        group.attrs.update({"multiscales": [{"version": "0.4", "datasets": [{"path": "0"}]}],
                            "isxio": meta})
        return
    with h5py.File(out, "w") as f:
        f.create_dataset(dataset, data=frames, chunks=(4, *frames.shape[1:]))
        f.create_dataset("valid", data=valid)
        if tsc is not None:
            f.create_dataset("tsc", data=tsc)
        f.create_dataset("timestamps", data=offsets)
        f.attrs["isxio"] = json.dumps(meta)


@pytest.mark.isx
@pytest.mark.parametrize("kind, dataset", [("zarr", "0"), ("h5", "data"), ("h5", "frames")])
def test_first_layout_stores_are_imwrite_inputs(tmp_path, kind, dataset):
    """Stores of the first export functions convert back to .isxd: frames, timing, TSCs."""
    need_isx()
    src = tmp_path / "t.isxd"
    tsc = write_tsc_movie(src, 9, start_ms=1654732421836, tsc0=459472532939, dropped=[2],
                          shape=(5, 6))
    store = tmp_path / f"old.{kind}"
    _write_first_layout(src, store, kind, dataset)
    isxio.imwrite(store, tmp_path / "back.isxd", progress=False)
    theirs, back = isx.Movie.read(str(src)), isx.Movie.read(str(tmp_path / "back.isxd"))
    np.testing.assert_array_equal(all_frames(isx, tmp_path / "back.isxd"), all_frames(isx, src))
    assert (back.timing.num_samples, back.timing.dropped) == (9, [2])
    assert back.timing.start == theirs.timing.start
    assert back.timing.period.secs_float == pytest.approx(theirs.timing.period.secs_float)
    valid = [0, 1, 3, 4, 5, 6, 7, 8]
    assert [back.get_frame_timestamp(i) for i in valid] == list(tsc[valid])


@pytest.mark.realdata
@pytest.mark.parametrize("ext", ["zarr", "h5"])
def test_real_isxcore_1_2_multiplane_movie_round_trips_byte_identical(tmp_path, realdata, ext):
    """isxcore 1.2.1 wrote this movie (no "blank" key, frame headers): exported whole, its
    trailer text travels verbatim, and imwrite writes the same bytes back."""
    from isxio.imwrite import imwrite

    src = realdata / "multiplane_movie.isxd"
    assert b'"blank"' not in isxio.open(src).trailer.text  # what re-serialising would add
    store = tmp_path / f"m.{ext}"
    export = ours.export_movie_to_zarr if ext == "zarr" else ours.export_movie_to_hdf5
    export(str(src), str(store))
    back = tmp_path / "back.isxd"
    imwrite(store, back, progress=False)
    assert back.read_bytes() == src.read_bytes()
