"""``isxio export`` run as a user runs it (a subprocess) on real movies: every movie target
read back with its own library (h5py, zarr, numpy + ops.npy, isx for ``.isxd``) and
compared with the frames isx reads; planes and frames (0-based); overwrite; bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("click")
h5py = pytest.importorskip("h5py")

MOVIE = "movie_longer_than_3_min.isxd"  # 1248 frames 33x29 uint16
MULTI = "multiplane_movie.isxd"  # 30 frames = 3 planes x 10, 100x160


def isxio(*args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "isxio", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600)


def ok(*args: object) -> subprocess.CompletedProcess:
    run = isxio(*args)
    assert run.returncode == 0, run.stderr
    return run


def isx_movie(path: Path) -> tuple[np.ndarray, float, object]:
    """Frames, period (s) and start as isx reads them (the oracle)."""
    isx = pytest.importorskip("isx")
    movie = isx.Movie.read(str(path))
    frames = np.stack([movie.get_frame_data(i) for i in range(movie.timing.num_samples)])
    out = frames, movie.timing.period.secs_float, movie.timing.start.to_datetime()
    del movie
    return out


@pytest.fixture(scope="module")
def real(realdata) -> dict[str, tuple[np.ndarray, float, object]]:
    return {name: isx_movie(realdata / name) for name in (MOVIE, MULTI)}


@pytest.mark.isx
@pytest.mark.realdata
@pytest.mark.parametrize("fmt", ["zarr", "h5", "bin", "tiff"])
def test_movie_targets_hold_the_frames_isx_reads(realdata, real, tmp_path, fmt):
    frames, period, _ = real[MOVIE]
    out = tmp_path / {"zarr": "m.zarr", "h5": "m.h5", "bin": "s2p", "tiff": "m.tif"}[fmt]
    run = ok("--quiet", "export", realdata / MOVIE, "--to", fmt, "-o", out)
    assert run.stderr == run.stdout == ""  # --quiet: no bar, no "written:" line
    if fmt == "zarr":
        zarr = pytest.importorskip("zarr")
        group = zarr.open_group(str(out), mode="r")
        np.testing.assert_array_equal(group["0"][:], frames)
        assert group.attrs["multiscales"][0]["datasets"][0]["coordinateTransformations"][0][
            "scale"][0] == pytest.approx(period)
    elif fmt == "h5":
        with h5py.File(out, "r") as f:
            np.testing.assert_array_equal(f["mov"][:], frames)
            assert f.attrs["fs"] == pytest.approx(1 / period)
    elif fmt == "bin":
        ops = np.load(out / "plane0" / "ops.npy", allow_pickle=True).item()
        data = np.fromfile(out / "plane0" / "data.bin", "<i2")
        assert (ops["nframes"], ops["Ly"], ops["Lx"]) == frames.shape
        assert ops["fs"] == pytest.approx(1 / period)
        np.testing.assert_array_equal(data.reshape(frames.shape), frames)  # 12-bit: exact
    else:  # isx's TIFF export, unchanged
        tifffile = pytest.importorskip("tifffile")
        np.testing.assert_array_equal(tifffile.imread(out), frames)


@pytest.mark.isx
@pytest.mark.realdata
def test_isxd_target_and_back_from_a_store(realdata, real, tmp_path):
    """.isxd -> .isxd (default name) and .isxd -> .zarr -> .isxd: isx reads the same movie."""
    frames, period, start = real[MOVIE]
    src = tmp_path / MOVIE
    src.symlink_to(realdata / MOVIE)
    run = ok("export", src, "--to", "isxd")
    assert run.stdout.strip() == f"written: {tmp_path / 'movie_longer_than_3_min_export.isxd'}"
    ok("--quiet", "export", src, "--to", "zarr", "-o", tmp_path / "m.zarr")
    ok("--quiet", "export", tmp_path / "m.zarr", "--to", "isxd", "-o", tmp_path / "back.isxd")
    for out in ("movie_longer_than_3_min_export.isxd", "back.isxd"):
        got, got_period, got_start = isx_movie(tmp_path / out)
        np.testing.assert_array_equal(got, frames)
        assert (got_period, got_start) == (period, start)


@pytest.mark.isx
@pytest.mark.realdata
def test_planes_of_the_real_multiplane_movie(realdata, real, tmp_path):
    frames = real[MULTI][0]  # planes interleaved: plane k is frames[k::3]
    ok("-q", "export", realdata / MULTI, "--to", "h5", "--planes", "1", "-o", tmp_path / "p.h5")
    with h5py.File(tmp_path / "p.h5", "r") as f:
        np.testing.assert_array_equal(f["mov"][:], frames[1::3])
    run = ok("export", realdata / MULTI, "--to", "isxd", "--planes", "0,2",
             "-o", tmp_path / "p.isxd")
    assert run.stdout.strip() == (f"written: {tmp_path / 'p_plane0.isxd'}, "
                                  f"{tmp_path / 'p_plane2.isxd'}")
    for k in (0, 2):
        np.testing.assert_array_equal(isx_movie(tmp_path / f"p_plane{k}.isxd")[0], frames[k::3])
    zarr = pytest.importorskip("zarr")
    ok("-q", "export", realdata / MULTI, "--to", "zarr", "-o", tmp_path / "all.zarr")
    data = zarr.open_group(str(tmp_path / "all.zarr"), mode="r")["0"][:]
    assert data.shape == (10, 3, 100, 160)
    for k in range(3):
        np.testing.assert_array_equal(data[:, k], frames[k::3])


@pytest.mark.isx
@pytest.mark.realdata
def test_frame_selection(realdata, real, tmp_path):
    frames = real[MOVIE][0]
    ok("-q", "export", realdata / MOVIE, "--to", "h5", "--frames", "100:200:10",
       "-o", tmp_path / "a.h5")
    ok("-q", "export", realdata / MOVIE, "--to", "bin", "--frames", "0,5,9", "-o", tmp_path / "b")
    with h5py.File(tmp_path / "a.h5", "r") as f:
        np.testing.assert_array_equal(f["mov"][:], frames[100:200:10])
    data = np.fromfile(tmp_path / "b" / "plane0" / "data.bin", "<i2")
    np.testing.assert_array_equal(data.reshape(3, 33, 29), frames[[0, 5, 9]])
    # planes and frames together: frames of each plane
    multi = real[MULTI][0]
    ok("-q", "export", realdata / MULTI, "--to", "h5", "--planes", "2", "--frames", "1:4",
       "-o", tmp_path / "c.h5")
    with h5py.File(tmp_path / "c.h5", "r") as f:
        np.testing.assert_array_equal(f["mov"][:], multi[2::3][1:4])


@pytest.mark.realdata
@pytest.mark.parametrize("fmt, name", [("zarr", "m.zarr"), ("h5", "m.h5"), ("tiff", "m.tif")])
def test_refuses_to_overwrite_unless_asked(realdata, tmp_path, fmt, name):
    out = tmp_path / name
    ok("-q", "export", realdata / MOVIE, "--to", fmt, "-o", out)
    before = sorted(p.name for p in tmp_path.iterdir())
    again = isxio("-q", "export", realdata / MOVIE, "--to", fmt, "-o", out)
    assert again.returncode == 1
    [line] = again.stderr.splitlines()
    assert line.startswith("isxio: error:") and str(out) in line and "--overwrite" in line
    ok("-q", "export", realdata / MOVIE, "--to", fmt, "-o", out, "--overwrite",
       *(("--frames", "0:7") if fmt != "tiff" else ()))
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary left
    if fmt == "h5":
        with h5py.File(out, "r") as f:
            assert f["mov"].shape == (7, 33, 29)


@pytest.mark.realdata
@pytest.mark.parametrize("value", ["1:x", "0:5:0", "a,b", "-3:"])
def test_bad_frames_value_is_a_usage_error(realdata, tmp_path, value):
    run = isxio("export", realdata / MOVIE, "--to", "h5", "--frames", value,
                "-o", tmp_path / "x.h5")
    assert run.returncode == 2
    assert "Invalid value for '--frames'" in run.stderr and "0-based" in run.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.realdata
@pytest.mark.parametrize("args, says", [
    ((MOVIE, "--to", "h5", "--frames", "0,2000"), "0..1247 (0-based)"),
    ((MOVIE, "--to", "h5", "--frames", "5,3"), "strictly increasing"),
    ((MULTI, "--to", "zarr", "--planes", "3"), "3 planes, numbered from 0"),
    ((MOVIE, "--to", "zarr", "--planes", "1"), "has no planes"),
    ((MOVIE, "--to", "tiff", "--frames", "0:5"), "--planes and --frames select"),
])
def test_selection_errors_are_one_line_naming_the_file(realdata, tmp_path, args, says):
    name, *rest = args
    run = isxio("export", realdata / name, *rest, "-o", tmp_path / "out")
    assert run.returncode == 1
    [line] = run.stderr.splitlines()
    assert line.startswith("isxio: error:") and name in line and says in line
    assert not list(tmp_path.iterdir())


@pytest.mark.realdata
def test_progress_bar_unless_quiet(realdata, tmp_path):
    run = ok("export", realdata / MULTI, "--to", "zarr", "-o", tmp_path / "m.zarr")
    assert "Zarr" in run.stderr and "frame" in run.stderr  # tqdm's bar
