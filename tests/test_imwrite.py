"""isxio.imwrite: every real movie to every target, read back with each format's own reader.

Expected frames and timing come from isx (the oracle) or from the values the test put in;
outputs are read with numpy (Suite2p), zarr, h5py, tifffile and isx (.isxd).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.movie import FRAME_HEADER_ITEMS, MovieWriter, encode_tsc
from isxio.imwrite import imwrite

h5py = pytest.importorskip("h5py")
tifffile = pytest.importorskip("tifffile")
zarr = pytest.importorskip("zarr")

ZARR3 = int(zarr.__version__.split(".")[0]) >= 3
MOVIES = ["movie_longer_than_3_min.isxd", "multiplane_movie.isxd",
          "movie_part2_108x123x63.isxd", "movie_u8.isxd",
          "IM13_session1_2024-10-07_local_corr_img.isxd"]
TARGETS = ["bin", "zarr", "h5", "tif", "isxd"]
TSC_PIXEL = 1272


# ------------------------------------------------------------------ readers of outputs
def read_suite2p(folder: Path) -> tuple[list[np.ndarray], list[dict]]:
    """Frames of every plane folder (numpy on data.bin) and their ops.npy."""
    frames, ops = [], []
    for plane in sorted(folder.glob("plane*")):
        op = np.load(plane / "ops.npy", allow_pickle=True).item()
        data = np.fromfile(plane / "data.bin", "<i2")
        frames.append(data.reshape(op["nframes"], op["Ly"], op["Lx"]))
        ops.append(op)
    return frames, ops


def read_zarr(path: Path) -> tuple[np.ndarray, dict]:
    group = zarr.open_group(str(path), mode="r")
    return np.asarray(group["0"][...]), dict(group.attrs)


def read_h5(path: Path, name: str = "mov") -> tuple[np.ndarray, dict]:
    with h5py.File(path, "r") as f:
        side = {k: v[...] for k, v in f["isxio"].items()}
        return f[name][...], {"isxio": json.loads(f.attrs["isxio"]), "fs": f.attrs.get("fs"),
                              "side": side}


def read_tif(path: Path) -> tuple[np.ndarray, dict]:
    with tifffile.TiffFile(path) as tif:
        meta = dict(tif.imagej_metadata or {})
        meta["axes"] = tif.series[0].axes  # from ImageJ's images/slices/channels/frames
        return tif.asarray(), meta


def isx_frames(isx, path) -> tuple[np.ndarray, object]:
    movie = isx.Movie.read(str(path))
    n = movie.timing.num_samples
    return np.stack([movie.get_frame_data(i) for i in range(n)]), movie


def planes_of(frames: np.ndarray, path: Path) -> list[np.ndarray]:
    """isx's interleaved frames split by plane (3 for the real multiplane movie)."""
    return [frames[k::3] for k in range(3)] if "multiplane" in path.name else [frames]


def int16_expected(frames: np.ndarray) -> np.ndarray:
    """The documented default conversion: uint8/uint16 clip; float scale to ±32767."""
    if frames.dtype.kind in "iu":
        return np.clip(frames.astype(np.int64), -32768, 32767)
    lo, hi = float(frames.min()), float(frames.max())
    if hi == lo:
        return np.rint(frames.astype(np.float64) - lo - 32767)
    return np.rint((frames.astype(np.float64) - lo) * 65534 / (hi - lo) - 32767)


# ------------------------------------------------------------------ real files
@pytest.mark.realdata
@pytest.mark.isx
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", MOVIES)
def test_real_movie_to_every_target(realdata, tmp_path, name, target):
    isx = pytest.importorskip("isx")
    src = realdata / name
    frames, movie = isx_frames(isx, src)
    expected = planes_of(frames, src)
    period = movie.timing.period.secs_float
    out = tmp_path / f"out.{target}"
    written = imwrite(src, out, progress=False)
    if target == "bin":
        got, ops = read_suite2p(tmp_path / "out")
        assert len(got) == len(expected)
        for g, e, op in zip(got, expected, ops, strict=True):
            assert g.dtype == np.int16
            assert np.abs(g.astype(np.int64) - int16_expected(e)).max(initial=0) <= (
                0 if e.dtype.kind in "iu" else 1)
            assert op["fs"] == pytest.approx(1 / (period * len(expected)), rel=1e-3)
            assert op["isxio"]["int16"]["method"] == (
                "none" if e.dtype.itemsize == 1 else "clip" if e.dtype.kind in "iu"
                else "scale")
            db = np.load(Path(op["save_path"]) / "db.npy", allow_pickle=True).item()
            assert (db["nframes"], db["Ly"], db["Lx"]) == e.shape
            assert Path(db["reg_file"]).is_file()
    elif target == "isxd":
        assert len(written) == len(expected)
        for path, e in zip(written, expected, strict=True):
            got, theirs = isx_frames(isx, path)
            np.testing.assert_array_equal(got, e)
            assert theirs.timing.num_samples == len(e)
            assert theirs.timing.period.secs_float == pytest.approx(period * len(expected),
                                                                     rel=1e-3)
    else:
        reader = {"zarr": read_zarr, "h5": read_h5, "tif": read_tif}[target]
        got, meta = reader(out)
        want = expected[0] if len(expected) == 1 else np.stack(expected, axis=1)
        np.testing.assert_array_equal(got.reshape(want.shape), want)
        check_metadata(target, meta, movie, len(expected), want.shape[0])


def check_metadata(target: str, meta: dict, movie, planes: int, n: int) -> None:
    """Timing (exact JSON and the format's own fields) and acquisition metadata present."""
    period = movie.timing.period.secs_float * planes
    if target == "tif":
        assert meta["axes"] == ("TZYX" if planes > 1 else "TYX" if n > 1 else "YX")
        assert meta["finterval"] == pytest.approx(period, rel=1e-3)
        info = json.loads(meta["Info"])
        assert len(info["offsets"]) == n
    elif target == "zarr":
        ms = meta["ome"]["multiscales"] if ZARR3 else meta["multiscales"]
        assert (meta["ome"]["version"] if ZARR3 else ms[0]["version"]) == (
            "0.5" if ZARR3 else "0.4")
        scale = ms[0]["datasets"][0]["coordinateTransformations"][0]["scale"]
        assert scale[0] == pytest.approx(period, rel=1e-3)
        assert [a["name"] for a in ms[0]["axes"]] == (["t", "z", "y", "x"] if planes > 1
                                                      else ["t", "y", "x"])
        info = meta["isxio"]
    else:
        info = meta["isxio"]
        assert meta["fs"] == pytest.approx(1 / period, rel=1e-3)
        assert meta["side"]["valid"].shape[0] == n
    streams = info["streams"]
    assert len(streams) == planes
    start = streams[0]["timing"]["start"]["secsSinceEpoch"]
    assert start["num"] / start["den"] == pytest.approx(
        movie.timing.start.to_datetime().timestamp(), abs=1e-3)
    assert "extra_properties" in info


@pytest.mark.realdata
@pytest.mark.parametrize("target", TARGETS)
def test_real_isxb_to_every_target(realdata, tmp_path, target):
    """nVision behaviour movies: frames as isxio's (isx-checked) reader decodes them."""
    pytest.importorskip("av")
    import isxio

    src = next(realdata.glob("*_sched_0.isxb"))
    reader = isxio.open(src)
    want = np.asarray(reader.data[:])
    imwrite(src, tmp_path / f"out.{target}", progress=False)
    if target == "bin":
        got = read_suite2p(tmp_path / "out")[0][0]
        np.testing.assert_array_equal(got, want.astype(np.int16))
    elif target == "isxd":
        got = np.asarray(isxio.open(tmp_path / "out.isxd").data[:])
        np.testing.assert_array_equal(got, want)
    else:
        got = {"zarr": read_zarr, "h5": read_h5, "tif": read_tif}[target](
            tmp_path / f"out.{target}")[0]
        np.testing.assert_array_equal(got, want)
    reader.close()


@pytest.mark.realdata
@pytest.mark.isx
@pytest.mark.parametrize("via", ["zarr", "h5"])
@pytest.mark.parametrize("name", [m for m in MOVIES if "multiplane" not in m])
def test_round_trip_isxd_store_isxd_is_byte_identical(realdata, tmp_path, name, via):
    isx = pytest.importorskip("isx")
    src = realdata / name
    store = tmp_path / f"mid.{via}"
    imwrite(src, store, progress=False)
    (back,) = imwrite(store, tmp_path / "back.isxd", progress=False)
    assert back.read_bytes() == src.read_bytes()
    a, ma = isx_frames(isx, src)
    b, mb = isx_frames(isx, back)
    np.testing.assert_array_equal(a, b)
    assert ma.timing.period.secs_float == mb.timing.period.secs_float


@pytest.mark.realdata
@pytest.mark.isx
def test_round_trip_multiplane_planes_keep_frames_and_tsc(realdata, tmp_path):
    isx = pytest.importorskip("isx")
    src = realdata / "multiplane_movie.isxd"
    theirs = isx.Movie.read(str(src))
    tsc = np.array([theirs.get_frame_timestamp(i) for i in range(30)], np.uint64)
    frames, _ = isx_frames(isx, src)
    imwrite(src, tmp_path / "mp.zarr", progress=False)
    outs = imwrite(tmp_path / "mp.zarr", tmp_path / "mp.isxd", progress=False)
    for k, path in enumerate(outs):
        got, movie = isx_frames(isx, path)
        np.testing.assert_array_equal(got, frames[k::3])
        got_tsc = [movie.get_frame_timestamp(i) for i in range(movie.timing.num_samples)]
        np.testing.assert_array_equal(got_tsc, tsc[k::3])


# ------------------------------------------------------------------ synthetic movies
def _header(tsc: int) -> np.ndarray:
    header = np.zeros(FRAME_HEADER_ITEMS, np.uint16)
    header[TSC_PIXEL:TSC_PIXEL + 8] = encode_tsc(tsc)
    return header


TSC_EXTRA = {"producer": {"name": "IDAS", "version": "1.9.2"}}  # isx reports TSCs then


def write_movie_with(path: Path, n: int, *, dropped=(), tsc: bool = False, extra=None,
                     shape=(5, 7), dtype=np.uint16, hi: int = 4096, seed: int = 0):
    """A movie with known frames (zeros where dropped) and TSCs; returns (frames, tscs)."""
    timing = TimingInfo(n, Ratio(50, 1000), Time(Ratio(1_700_000_000_250, 1000), -3600),
                        dropped=tuple(dropped))
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, hi, (n, *shape)).astype(dtype)
    frames[list(dropped)] = 0
    tscs = 9_000_000 + np.arange(n, dtype=np.uint64) * 50_000 + np.arange(n) % 3
    if tsc:
        extra = {**TSC_EXTRA, **(extra or {})}
    with MovieWriter(path, timing, SpacingInfo(*shape), dtype, frame_header_footer=tsc,
                     extra_properties=extra) as w:
        for i in np.flatnonzero(timing.valid_mask()):
            w.set_frame_data(int(i), frames[i], **({"header": _header(int(tscs[i]))}
                                                  if tsc else {}))
    tscs[list(dropped)] = 0
    return frames, tscs


def multiplane_extra(planes: int) -> dict:
    return {"microscope": {"multiplane": {
        "enabled": True, "activePlanes": planes,
        "planes": {f"plane-{p + 1}": {"enabled": True, "focus": "0"}
                   for p in range(planes)}}}}


@pytest.mark.isx
def test_dropped_frames_and_tsc_to_isxd_and_suite2p(tmp_path):
    isx = pytest.importorskip("isx")
    src = tmp_path / "src.isxd"
    frames, tscs = write_movie_with(src, 20, dropped=(3, 4, 11), tsc=True)
    (out,) = imwrite(src, tmp_path / "copy.isxd", progress=False)
    got, movie = isx_frames(isx, out)
    np.testing.assert_array_equal(got, frames)
    assert list(movie.timing.dropped) == [3, 4, 11]
    valid = [i for i in range(20) if i not in (3, 4, 11)]
    np.testing.assert_array_equal([movie.get_frame_timestamp(i) for i in valid], tscs[valid])
    imwrite(src, tmp_path / "s2p.bin", progress=False)
    (data,), _ = read_suite2p(tmp_path / "s2p")
    np.testing.assert_array_equal(data, frames.astype(np.int16))
    np.testing.assert_array_equal(np.load(tmp_path / "s2p" / "bad_frames.npy"), [3, 4, 11])
    side = read_h5(Path(imwrite(src, tmp_path / "m.h5", progress=False)[0]))[1]["side"]
    np.testing.assert_array_equal(side["tsc"], tscs)
    np.testing.assert_array_equal(side["valid"], np.isin(np.arange(20), valid))


@pytest.mark.isx
def test_multiplane_selection_frames_and_planes(tmp_path):
    isx = pytest.importorskip("isx")
    src = tmp_path / "mp.isxd"
    frames, tscs = write_movie_with(src, 31, dropped=(7,), tsc=True,
                                    extra=multiplane_extra(3))
    outs = imwrite(src, tmp_path / "p.isxd", planes=[2, 0], frames=slice(1, 9, 2),
                   progress=False)
    assert [p.name for p in outs] == ["p_plane2.isxd", "p_plane0.isxd"]
    for plane, path in zip([2, 0], outs, strict=True):
        got, movie = isx_frames(isx, path)
        src_idx = np.arange(31)[plane::3][1:9:2]
        np.testing.assert_array_equal(got, frames[src_idx])
        assert movie.timing.num_samples == len(src_idx)
        stamps = [movie.get_frame_timestamp(i) for i in range(len(src_idx))
                  if src_idx[i] != 7]
        np.testing.assert_array_equal(stamps, tscs[src_idx[src_idx != 7]])
    with pytest.warns(UserWarning, match="partial last volume"):
        got, _ = read_zarr(Path(imwrite(src, tmp_path / "v.zarr", progress=False)[0]))
    assert got.shape == (10, 3, 5, 7)  # the partial last volume (frame 30) is left out
    np.testing.assert_array_equal(got[:, 1], frames[1:30:3])
    folders = imwrite(src, tmp_path / "s.bin", planes=1, progress=False)
    assert [f.name for f in folders] == ["plane0"]
    (data,), _ = read_suite2p(tmp_path / "s")
    np.testing.assert_array_equal(data, frames[1::3].astype(np.int16))


def test_dual_colour_channels(tmp_path):
    src = tmp_path / "dual.isxd"
    extra = {"microscope": {"dualColor": {"enabled": True, "mode": "multiplexing",
                                          "startChannel": "green",
                                          "muxRatio": {"led1": 1, "led2": 1}}}}
    frames, _ = write_movie_with(src, 12, extra=extra)
    imwrite(src, tmp_path / "s.bin", progress=False)
    folder = tmp_path / "s" / "plane0"
    op = np.load(folder / "ops.npy", allow_pickle=True).item()
    assert op["nchannels"] == 2
    red = np.fromfile(folder / "data_chan2.bin", "<i2").reshape(6, 5, 7)
    np.testing.assert_array_equal(red, frames[1::2])
    (out,) = imwrite(src, tmp_path / "r.h5", channels="red", progress=False)
    np.testing.assert_array_equal(read_h5(out)[0], frames[1::2])
    tif, meta = read_tif(Path(imwrite(src, tmp_path / "c.tif", progress=False)[0]))
    assert meta["axes"] == "TCYX"
    np.testing.assert_array_equal(tif[:, 0], frames[0::2])


# ------------------------------------------------------------------ int16 conversion
def test_suite2p_uint16_clip_warns_and_records(tmp_path):
    data = np.array([[[0, 40000]], [[32767, 65535]]], np.uint16)
    with pytest.warns(UserWarning, match="clipped 2 values"):
        imwrite(data, tmp_path / "c.bin", progress=False)
    (got,), (ops,) = read_suite2p(tmp_path / "c")
    np.testing.assert_array_equal(got, [[[0, 32767]], [[32767, 32767]]])
    assert ops["isxio"]["int16"]["clipped_high"] == 2
    record = json.loads((tmp_path / "c" / "plane0" / "isxio.json").read_text())
    assert record["int16"]["method"] == "clip"


def test_suite2p_uint16_offset_is_exact(tmp_path):
    data = np.array([[[0, 40000]], [[32767, 65535]]], np.uint16)
    imwrite(data, tmp_path / "o.bin", int16="offset", progress=False)
    (got,), (ops,) = read_suite2p(tmp_path / "o")
    conv = ops["isxio"]["int16"]
    np.testing.assert_array_equal((got - conv["offset"]) / conv["scale"], data)


def test_suite2p_float_scale_keeps_precision(tmp_path):
    data = np.random.default_rng(1).normal(0, 0.1, (4, 3, 3)).astype(np.float32)
    imwrite(data, tmp_path / "f.bin", progress=False)
    (got,), (ops,) = read_suite2p(tmp_path / "f")
    conv = ops["isxio"]["int16"]
    back = (got - conv["offset"]) / conv["scale"]
    span = float(data.max() - data.min())
    assert np.abs(back - data).max() <= span / 65534
    assert got.min() == -32767 and got.max() == 32767


# ------------------------------------------------------------------ other inputs
def test_numpy_tzyx_and_dask_inputs(tmp_path):
    da = pytest.importorskip("dask.array")
    vol = np.arange(6 * 2 * 3 * 4, dtype=np.uint16).reshape(6, 2, 3, 4)
    got, meta = read_tif(Path(imwrite(vol, tmp_path / "v.tif", dim_order="TZYX", fs=10,
                                      progress=False)[0]))
    np.testing.assert_array_equal(got, vol)
    assert meta["axes"] == "TZYX" and meta["finterval"] == pytest.approx(0.1)
    got, _ = read_zarr(Path(imwrite(da.from_array(vol[:, 0], chunks=2), tmp_path / "d.zarr",
                                    progress=False)[0]))
    np.testing.assert_array_equal(got, vol[:, 0])
    with pytest.raises(ValueError, match="dim_order"):
        imwrite(vol, tmp_path / "x.zarr", progress=False)
    with pytest.raises(ValueError, match="fs="):
        imwrite(vol[:, 0], tmp_path / "x.isxd", progress=False)


@pytest.mark.isx
def test_array_to_isxd_with_fs(tmp_path):
    isx = pytest.importorskip("isx")
    data = np.random.default_rng(2).integers(0, 1000, (5, 4, 3)).astype(np.int32)
    (out,) = imwrite(data, tmp_path / "a.isxd", fs=20, progress=False)
    got, movie = isx_frames(isx, out)
    np.testing.assert_array_equal(got, data)
    assert got.dtype == np.uint16
    assert movie.timing.period.secs_float == pytest.approx(0.05)


def test_extractor_input(tmp_path):
    pytest.importorskip("roiextractors")
    from isxio.roiextractors import InscopixImagingExtractor

    src = tmp_path / "e.isxd"
    frames, _ = write_movie_with(src, 9, dropped=(2,))
    ext = InscopixImagingExtractor(src)
    (out,) = imwrite(ext, tmp_path / "e.h5", frames=[0, 2, 5], progress=False)
    got, meta = read_h5(out)
    np.testing.assert_array_equal(got, frames[[0, 2, 5]])
    np.testing.assert_array_equal(meta["side"]["valid"], [True, False, True])
    ext.release_memory_maps()


def test_series_and_submovie_inputs(tmp_path):
    import isxio
    from isxio.planes import split_planes

    src = tmp_path / "mp.isxd"
    frames, _ = write_movie_with(src, 12, extra=multiplane_extra(2))
    movie = isxio.open(src)
    sub = split_planes(movie)[1]
    got = read_h5(imwrite(sub, tmp_path / "sub.h5", progress=False)[0])[0]
    np.testing.assert_array_equal(got, frames[1::2])
    a, b = tmp_path / "a.isxd", tmp_path / "b.isxd"
    fa, _ = write_movie_with(a, 4, seed=1)
    timing = TimingInfo(3, Ratio(50, 1000), Time(Ratio(1_700_000_010, 1)))
    fb = np.ones((3, 5, 7), np.uint16)
    with MovieWriter(b, timing, SpacingInfo(5, 7), np.uint16) as w:
        w.write_frames(fb)
    got = read_zarr(imwrite([b, a], tmp_path / "series.zarr", progress=False)[0])[0]
    np.testing.assert_array_equal(got, np.concatenate([fa, fb]))


# ------------------------------------------------------------------ outputs
def test_overwrite_and_atomic_failure(tmp_path):
    data = np.zeros((8, 4, 4), np.uint16)
    out = tmp_path / "m.h5"
    imwrite(data, out, progress=False)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        imwrite(data, out, progress=False)
    imwrite(data + 7, out, overwrite=True, progress=False)
    assert read_h5(out)[0].max() == 7

    def boom(done, total):
        raise RuntimeError("stop")

    for target in TARGETS:
        path = tmp_path / f"fail.{target}"
        with pytest.raises(RuntimeError, match="stop"):
            imwrite(data, path, fs=10, progress=boom, chunk_mb=1e-4)
        assert not path.exists() and not (tmp_path / "fail").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5"]  # no temporary left


def test_outputs_get_the_umasks_permissions(tmp_path):
    data = np.zeros((4, 3, 3), np.uint16)
    old = os.umask(0o022)
    try:
        for target in ("bin", "zarr", "h5"):
            written = imwrite(data, tmp_path / f"m.{target}", fs=10, progress=False)
            path = Path(written[0])
            top = path if target != "bin" else path.parent
            assert stat.S_IMODE(top.stat().st_mode) == (0o755 if top.is_dir() else 0o644)
    finally:
        os.umask(old)


def test_progress_callable_and_errors(tmp_path):
    seen = []
    data = np.zeros((10, 4, 4), np.uint8)
    imwrite(data, tmp_path / "p.bin", progress=lambda d, t: seen.append((d, t)),
            chunk_mb=32 / 2**20)
    assert seen[-1] == (10, 10) and len(seen) == 5
    with pytest.raises(ValueError, match="unknown output format"):
        imwrite(data, tmp_path / "x.avi", progress=False)
    with pytest.raises(IndexError, match="0-based"):
        imwrite(data, tmp_path / "y.h5", frames=[3, 10], progress=False)


def test_zarr_options(tmp_path):
    data = np.random.default_rng(3).integers(0, 50, (40, 8, 8)).astype(np.uint16)
    for comp in (None, "zstd", "blosc"):
        out = tmp_path / f"{comp}.zarr"
        imwrite(data, out, compressor=comp, compression_level=3, chunk_frames=7,
                progress=False)
        np.testing.assert_array_equal(read_zarr(out)[0], data)
    with pytest.raises(ValueError, match="compressor"):
        imwrite(data, tmp_path / "bad.zarr", compressor="lz4x", progress=False)


MEMORY_SCRIPT = r"""
import resource, sys
import h5py, numpy, tifffile, zarr  # imported before the baseline
from isxio.imwrite import imwrite
path, out = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
imwrite(path, out, chunk_mb=16, progress=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024)
"""


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "frame-headers"])
def big_movie(tmp_path_factory, request) -> Path:
    """A 315 MB uint16 movie (1200 frames of 256 x 512), with nVista 3 frame headers or not
    (imwrite then also reads them: their memory maps must be dropped too)."""
    path = tmp_path_factory.mktemp("big") / "big.isxd"
    n, shape = 1200, (256, 512)
    block = np.arange(shape[0] * shape[1], dtype=np.uint16).reshape(shape)
    with MovieWriter(path, TimingInfo(n), SpacingInfo(*shape), np.uint16,
                     frame_header_footer=request.param) as w:
        for _ in range(0, n, 50):
            w.write_frames(np.broadcast_to(block, (50, *shape)))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_peak_memory_is_bounded(tmp_path, big_movie, target):
    """A 315 MB movie streams in 16 MiB blocks: peak RSS grows by far less than the movie."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(big_movie),
                          str(tmp_path / f"out.{target}")],
                         capture_output=True, text=True, check=True, env=os.environ)
    grew_mb = int(res.stdout.strip().splitlines()[-1])
    print(f"{target}: peak RSS +{grew_mb} MB")
    assert grew_mb < 100, f"peak RSS grew by {grew_mb} MB writing {target}"


@pytest.mark.parametrize(("shape", "level"), [((45, 6, 10), None), ((23, 3, 5, 4), 6)])
def test_hdf5_gzip_chunks_compressed_in_parallel_are_hdf5s_own(tmp_path, monkeypatch, shape,
                                                              level):
    """gzip: chunks deflated by a thread pool and stored directly are, byte for byte, the
    chunks h5py writes through HDF5's deflate filter (with the same zlib)."""
    import zlib

    from isxio import _h5chunks

    monkeypatch.setattr(_h5chunks, "deflate", zlib.compress)  # HDF5's own zlib
    calls = []
    real = _h5chunks.write_chunks
    monkeypatch.setattr(_h5chunks, "write_chunks", lambda *a, **k: calls.append(1) or real(*a, **k))
    data = np.random.default_rng(5).integers(0, 300, shape).astype(np.uint16)
    dim_order = "TYX" if len(shape) == 3 else "TZYX"
    out = imwrite(data, tmp_path / "m.h5", dim_order=dim_order, fs=10, compression="gzip",
                  compression_opts=level, chunk_frames=4, chunk_mb=data[:8].nbytes / 2**20,
                  progress=False)[0]
    assert len(calls) > 1  # the parallel path ran, once per block
    frames, _ = read_h5(out)
    np.testing.assert_array_equal(frames, data)
    ref = tmp_path / "ref.h5"
    with h5py.File(out, "r") as f, h5py.File(ref, "w") as g:
        mine = f["mov"]
        theirs = g.create_dataset("mov", data=frames, chunks=mine.chunks, compression="gzip",
                                  compression_opts=level)
        assert mine.compression == "gzip" and mine.compression_opts == (level or 4)
        for i in range(mine.id.get_num_chunks()):
            offset = mine.id.get_chunk_info(i).chunk_offset
            assert mine.id.read_direct_chunk(offset) == theirs.id.read_direct_chunk(offset)
