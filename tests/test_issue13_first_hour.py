"""Issue 13, "a new user's first hour": each fix with the test that would have caught it.

* ``MovieFile.tsc`` of a movie without frame timestamps is None (was IsxFormatError);
* every optional import names the extra that installs it (``.isxb`` frames without PyAV
  raised a bare ``ModuleNotFoundError``);
* the TIFF export's progress bar reaches 100 % (the last block was never counted);
* nVista 2 ``.hdf5`` GPIO files open with ``isxio.open`` and export to CSV / ``.isxd``
  as isx does.
"""

from __future__ import annotations

import sys
import types
import uuid
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import isxio
import isxio.export as ours
from isxio.compat import Movie
from isxio.errors import IsxError, IsxFormatError
from isxio.export import tiff as tiff_export
from isxio.export._common import optional_import, progress_bar
from isxio.formats.common import Ratio, SpacingInfo, TimingInfo
from isxio.formats.gpio import GpioFile
from isxio.formats.movie import MovieFile, MovieWriter, write_movie
from isxio.planes import frame_offsets, split_planes
from isxio.testing import fixtures as fx


def block(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make modules unimportable, as on a machine where they are not installed."""
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def frames_movie(path: Path, n: int = 7, **timing) -> Path:
    frames = (np.arange(n * 12, dtype=np.uint16).reshape(n, 3, 4) * 7) % 65000
    write_movie(path, frames, timing=TimingInfo(n, **timing), spacing=SpacingInfo(3, 4))
    return path


# ------------------------------------------------------------------ tsc
def test_tsc_is_none_without_frame_timestamps(tmp_path):
    path = frames_movie(tmp_path / "plain.isxd")
    movie = MovieFile(path)
    assert movie.tsc is None and not movie.has_frame_timestamps
    assert isxio.open(path).tsc is None
    planes = split_planes(movie, 1)
    assert planes[0].tsc is None
    assert planes[0].timing.num_samples == 7
    np.testing.assert_allclose(frame_offsets(movie), np.arange(7) * 0.05)
    with pytest.raises(IsxError, match="No frame timestamps"):  # as isx: an error here
        Movie.read(str(path)).get_frame_timestamp(0)
    with pytest.raises(IsxFormatError, match="does not have frame timestamps"):
        ours.export_movie_timestamps_to_csv(str(path), str(tmp_path / "t.csv"), time_ref="tsc")
    movie.close()


def test_tsc_still_decodes_frame_headers(tmp_path):
    path = tmp_path / "framed.isxd"
    timing = TimingInfo(3, dropped=(1,))
    with MovieWriter(path, timing, SpacingInfo(2, 2), np.uint16, frame_header_footer=True,
                     extra_properties={"producer": {"version": "1.2.0"}}) as writer:
        for i, tsc in ((0, 1_000_000), (2, 1_100_000)):
            header = np.zeros(2560, np.uint16)
            header[1272:1280] = [((tsc >> (8 * k)) & 0xFF) << 4 for k in range(8)]
            writer.set_frame_data(i, np.full((2, 2), i, np.uint16), header=header)
    movie = MovieFile(path)
    assert movie.tsc.tolist() == [1_000_000, 0, 1_100_000]
    assert split_planes(movie, 1)[0].tsc.tolist() == [1_000_000, 0, 1_100_000]
    movie.close()


# ------------------------------------------------------------------ optional imports
def assert_names_extra(err: pytest.ExceptionInfo, module: str, extra: str) -> None:
    text = str(err.value)
    assert f"pip install 'isxio[{extra}]'" in text and repr(module) in text, text


def test_isxb_frames_without_pyav(tmp_path, monkeypatch):
    pytest.importorskip("av")
    path = fx.write_isxb(tmp_path / "b.isxb", np.zeros((2, 16, 16), np.uint8))
    movie = isxio.open(path)
    block(monkeypatch, "av")
    with pytest.raises(ImportError) as err:
        movie.data[0]
    assert_names_extra(err, "av", "video")
    assert "decoding .isxb frames" in str(err.value)
    assert movie.num_frames == 2 and movie.timing.num_samples == 2  # the rest still works
    monkeypatch.undo()
    assert movie.data[1].shape == (16, 16)


def test_to_dask_without_dask(tmp_path, monkeypatch):
    pytest.importorskip("av")
    movie = MovieFile(frames_movie(tmp_path / "m.isxd"))
    isxb = isxio.open(fx.write_isxb(tmp_path / "b.isxb", np.zeros((2, 16, 16), np.uint8)))
    block(monkeypatch, "dask", "dask.array")
    for data in (movie.data, isxb.data):
        with pytest.raises(ImportError) as err:
            data.to_dask()
        assert_names_extra(err, "dask.array", "dask")
    movie.close()


def test_hdf5_gpio_without_h5py(tmp_path, monkeypatch):
    pytest.importorskip("h5py")
    path = fx.write_nvista2_hdf5(tmp_path / "g.hdf5", [1.6e9], np.ones((1, 15), np.uint16), [1])
    block(monkeypatch, "h5py")
    for opener in (GpioFile, isxio.open):
        with pytest.raises(ImportError) as err:
            opener(path)
        assert_names_extra(err, "h5py", "hdf5")


def test_exports_without_their_library(tmp_path, monkeypatch):
    path = str(frames_movie(tmp_path / "m.isxd"))
    block(monkeypatch, "tifffile", "tqdm", "zarr")
    with pytest.raises(ImportError) as err:
        ours.export_movie_to_tiff(path, str(tmp_path / "m.tif"))
    assert_names_extra(err, "tifffile", "tiff")
    with pytest.raises(ImportError) as err:
        progress_bar(10, "TIFF", True)
    assert_names_extra(err, "tqdm", "progress")
    with pytest.raises(ImportError) as err:
        optional_import("zarr", "zarr")
    assert_names_extra(err, "zarr", "zarr")
    assert not (tmp_path / "m.tif").exists()


# ------------------------------------------------------------------ TIFF progress
class CountingBar:
    """A tqdm stand-in that records what the exporter tells it."""

    made: ClassVar[list[CountingBar]] = []

    def __init__(self, total: int, **kw) -> None:
        self.total, self.updates, self.closed = total, [], False
        CountingBar.made.append(self)

    def update(self, n: int = 1) -> None:
        self.updates.append(n)

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("write_invalid, split", [(False, False), (True, False),
                                                  (False, True)])
def test_tiff_progress_reaches_total(tmp_path, monkeypatch, write_invalid, split):
    tifffile = pytest.importorskip("tifffile")
    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=CountingBar))
    if split:  # several output files: a block straddles a file boundary
        monkeypatch.setattr(tiff_export, "MAX_TIFF_PAGES", 50)
    n = 150
    frames = (np.arange(n * 12, dtype=np.uint16).reshape(n, 3, 4) * 3) % 60000
    timing = TimingInfo(n, dropped=(5, 140), cropped=((70, 72),))
    path = tmp_path / "m.isxd"
    write_movie(path, frames, timing=timing, spacing=SpacingInfo(3, 4))
    valid = timing.valid_mask()
    expected = np.where(valid[:, None, None], frames, 0) if write_invalid else frames[valid]
    CountingBar.made.clear()
    out = tmp_path / "m.tif"
    ours.export_movie_to_tiff(str(path), str(out), write_invalid, chunk_frames=64,
                              progress=True)
    bar, = CountingBar.made
    assert bar.total == len(expected) and sum(bar.updates) == bar.total and bar.closed
    parts = tiff_export.tiff_part_paths(str(out), len(expected))
    assert len(parts) == (3 if split else 1)
    pages = np.concatenate([tifffile.imread(p).reshape(-1, 3, 4) for p in parts])
    np.testing.assert_array_equal(pages, expected)


# ------------------------------------------------------------------ nVista 2 .hdf5
def nvista2(tmp_path: Path, n: int = 6, seed: int = 3, images: bool = True) -> Path:
    pytest.importorskip("h5py")
    rng = np.random.default_rng(seed)
    anc = rng.integers(0, 2**16, (n, 15), dtype=np.uint16)
    counts = rng.integers(0, 16, n)
    ts = 1_600_000_000.25 + np.arange(n) * 0.05
    return fx.write_nvista2_hdf5(tmp_path / f"rec{uuid.uuid4().hex[:8]}.hdf5", ts, anc, counts,
                                 images=np.zeros((n, 4, 4), np.uint16) if images else None)


def test_open_routes_hdf5_to_gpio(tmp_path):
    path = nvista2(tmp_path)
    g = isxio.open(path)
    assert isinstance(g, GpioFile) and g.kind == "nvista2"
    assert list(g.channel_names) == ["IO1", "IO2", "sync", "trigger"]
    assert g.timing.start.secs_since_epoch == Ratio(1_600_000_000_250_000, 1_000_000)


@pytest.mark.isx
@pytest.mark.parametrize("time_ref", ["start", "unix"])
def test_hdf5_gpio_csv_and_isxd_match_isx(tmp_path, time_ref):
    isx = pytest.importorskip("isx")
    path = nvista2(tmp_path)
    theirs, mine = tmp_path / "isx.csv", tmp_path / "our.csv"
    inter = tmp_path / "inter"
    inter.mkdir()
    isx.export_gpio_set_to_csv([str(path)], str(theirs), inter_isxd_file_dir=str(inter),
                               time_ref=time_ref)
    ours.export_gpio_set_to_csv([str(path)], str(mine), time_ref=time_ref)
    assert mine.read_bytes() == theirs.read_bytes()
    assert [p.name for p in inter.iterdir()] == [path.stem + ".isxd"]  # no "_gpio" suffix
    out = tmp_path / "ours"
    out.mkdir()
    ours.export_gpio_to_isxd(str(path), str(out))
    name = path.stem + ".isxd"
    assert (out / name).read_bytes() == (inter / name).read_bytes()


@pytest.mark.isx
def test_hdf5_without_images(tmp_path):
    """isx opens the movie part first and fails without one; isxio needs only the GPIO."""
    isx = pytest.importorskip("isx")
    path = nvista2(tmp_path, images=False)
    with pytest.raises(Exception, match="H5Dopen2 failed"):
        isx.export_gpio_set_to_csv([str(path)], str(tmp_path / "isx.csv"),
                                   inter_isxd_file_dir=str(tmp_path))
    ours.export_gpio_set_to_csv([str(path)], str(tmp_path / "our.csv"))
    with_images = nvista2(tmp_path)  # same seed: same GPIO data
    isx.export_gpio_set_to_csv([str(with_images)], str(tmp_path / "ref.csv"),
                               inter_isxd_file_dir=str(tmp_path))
    assert (tmp_path / "our.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()

