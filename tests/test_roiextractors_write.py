"""write_imaging / write_segmentation: any roiextractors extractor back to ``.isxd``.

Every output is read back with isx (the oracle) and compared with what isx reads from
the original file, or with the values the test put in; the round trips go through NWB
(neuroconv's writers, roiextractors' NWB extractors) as a user's conversion would.
"""

from __future__ import annotations

import datetime as dt
import os
import tracemalloc
import uuid
import warnings

import numpy as np
import pytest

pytest.importorskip("roiextractors")

from roiextractors import (
    ImagingExtractor,
    NumpyImagingExtractor,
    NumpySegmentationExtractor,
)
from roiextractors.segmentationextractor import _ROIMasks

from isxio.errors import IsxWriteError
from isxio.formats.common import Ratio, Time, TimingInfo
from isxio.formats.movie import write_movie
from isxio.roiextractors.write import (
    IrregularTimestampsWarning,
    PrecisionLossWarning,
    write_imaging,
    write_segmentation,
)

MOVIES = ["movie_longer_than_3_min.isxd", "movie_u8.isxd", "movie_part2_108x123x63.isxd"]
CELL_SETS = ["cellset.isxd", "cellset_accepted_undecided_and_rejected_cells.isxd"]
UTC = dt.timezone.utc


# ---------------------------------------------------------------------- oracle helpers
def isx_movie(path) -> dict:
    """What isx reads from a movie (the Movie object is kept alive while reading: isx's
    timing objects dangle once it is garbage-collected)."""
    isx = pytest.importorskip("isx")
    movie = isx.Movie.read(str(path))
    t = movie.timing
    n = t.num_samples
    out = {
        "frames": np.stack([movie.get_frame_data(i) for i in range(n)]),
        "num_samples": n,
        "period": t.period.secs_float,
        "start": t._impl.start.secs_since_epoch.num / t._impl.start.secs_since_epoch.den,
        "utc_offset": t._impl.start.utc_offset,
        "dropped": list(t.dropped), "cropped": [list(c) for c in t.cropped],
        "blank": list(t.blank),
        "shape": tuple(movie.spacing.num_pixels),
        "dtype": movie.data_type,
    }
    del movie
    return out


def isx_cells(path) -> dict:
    isx = pytest.importorskip("isx")
    cells = isx.CellSet.read(str(path))
    n, t = cells.num_cells, cells.timing
    out = {
        "names": [cells.get_cell_name(i) for i in range(n)],
        "statuses": [cells.get_cell_status(i) for i in range(n)],
        "traces": np.array([cells.get_cell_trace_data(i) for i in range(n)]),
        "images": np.array([cells.get_cell_image_data(i) for i in range(n)]),
        "num_samples": t.num_samples,
        "period": t.period.secs_float,
        "start": t._impl.start.secs_since_epoch.num / t._impl.start.secs_since_epoch.den,
        "shape": tuple(cells.spacing.num_pixels),
    }
    del cells
    return out


def isx_extras(path, kind: str) -> tuple[str, dict]:
    """isx's spacing (as text: pixel size, top left) and acquisition info of a file."""
    isx = pytest.importorskip("isx")
    obj = (isx.Movie if kind == "movie" else isx.CellSet).read(str(path))
    out = (str(obj.spacing._impl), obj.get_acquisition_info())
    del obj
    return out


def same_timing(a: dict, b: dict, rtol: float = 0.0) -> None:
    assert a["num_samples"] == b["num_samples"]
    assert a["period"] == pytest.approx(b["period"], rel=rtol, abs=0)
    assert a["start"] == pytest.approx(b["start"], abs=1e-6)


def no_leftovers(folder) -> None:
    assert not [p for p in os.listdir(folder) if p.endswith(".part")]


# ---------------------------------------------------------------------- NWB helpers
def to_nwb(tmp_path, extractor, kind: str):
    """Write ``extractor`` with neuroconv to an NWB file; return its path and start."""
    pynwb = pytest.importorskip("pynwb")
    rx = pytest.importorskip("neuroconv.tools.roiextractors")
    start = extractor._get_session_start_time()
    nwbfile = pynwb.NWBFile(session_description="isxio round trip",
                            identifier=str(uuid.uuid4()), session_start_time=start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "imaging":
            rx.add_imaging_to_nwbfile(extractor, nwbfile)
        else:
            rx.add_segmentation_to_nwbfile(extractor, nwbfile)
    path = tmp_path / f"{kind}.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def nwb_imaging(path):
    from roiextractors import NwbImagingExtractor

    return NwbImagingExtractor(str(path), optical_series_name=None)


def nwb_columns(path) -> dict:
    pynwb = pytest.importorskip("pynwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        ps = io.read().processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
        return {c: list(ps[c][:]) for c in ("roi_name", "cell_status") if c in ps.colnames}


# ---------------------------------------------------------------------- synthetic helpers
def numpy_imaging(frames: np.ndarray, rate: float = 20.0) -> NumpyImagingExtractor:
    """A NumpyImagingExtractor over ``(frames, rows, cols)``.  roiextractors 0.10's
    numpy extractor mishandles 3-D input, so it is given the 4-D (…, 1 channel) form."""
    return NumpyImagingExtractor(frames[..., np.newaxis], sampling_frequency=rate)


class MemmapImaging(ImagingExtractor):
    """A lazy extractor: each get_series copies its block out of a memory map."""

    def __init__(self, data: np.ndarray, rate: float = 10.0) -> None:
        super().__init__()
        self.data, self.rate = data, rate
        self.calls: list[tuple[int, int]] = []

    def get_image_shape(self):
        return self.data.shape[1:]

    def get_num_samples(self):
        return self.data.shape[0]

    def get_sampling_frequency(self):
        return self.rate

    def get_dtype(self):
        return self.data.dtype

    def get_series(self, start_sample=None, end_sample=None):
        self.calls.append((start_sample, end_sample))
        return np.array(self.data[start_sample:end_sample])

    def get_samples(self, sample_indices):  # known-buggy in the base class: never used
        raise AssertionError("write_imaging must not call get_samples")

    def get_native_timestamps(self, start_sample=None, end_sample=None):
        return None


def make_cells(n=5, rows=6, cols=7, t=40, seed=0):
    rng = np.random.default_rng(seed)
    masks = rng.random((rows, cols, n)).astype(np.float32)
    traces = rng.standard_normal((t, n)).astype(np.float32)
    return masks, traces


# ====================================================================== extractors of ours
@pytest.mark.realdata
@pytest.mark.isx
@pytest.mark.parametrize("name", MOVIES)
def test_ours_movie_keeps_everything(realdata, tmp_path, name):
    from isxio.roiextractors import InscopixImagingExtractor

    out = tmp_path / name
    write_imaging(InscopixImagingExtractor(realdata / name), out)
    want, got = isx_movie(realdata / name), isx_movie(out)
    np.testing.assert_array_equal(got["frames"], want["frames"])
    assert got["frames"].dtype == want["frames"].dtype
    same_timing(got, want)
    for key in ("shape", "dtype", "utc_offset", "dropped", "cropped", "blank"):
        assert got[key] == want[key]
    assert isx_extras(out, "movie") == isx_extras(realdata / name, "movie")


@pytest.mark.isx
@pytest.mark.parametrize("exclude", [False, True])
def test_ours_movie_with_invalid_frames(tmp_path, exclude):
    """Dropped / cropped / blank frames come back as the same invalid samples."""
    from isxio.roiextractors import InscopixImagingExtractor

    rng = np.random.default_rng(1)
    data = rng.integers(1, 60000, (12, 4, 5), dtype=np.uint16)
    timing = TimingInfo(12, Ratio(33, 1000), Time(Ratio(1_700_000_000_250, 1000), 3600),
                        dropped=(2,), cropped=((5, 6),), blank=(9,))
    src = tmp_path / "src.isxd"
    write_movie(src, data, timing=timing)
    out = tmp_path / "out.isxd"
    write_imaging(InscopixImagingExtractor(src, exclude_invalid_samples=exclude), out)
    want, got = isx_movie(src), isx_movie(out)
    np.testing.assert_array_equal(got["frames"], want["frames"])
    assert (got["dropped"], got["cropped"], got["blank"]) == ([2], [[5, 6]], [9])
    same_timing(got, want)
    assert got["utc_offset"] == 3600


@pytest.mark.realdata
@pytest.mark.isx
def test_ours_multiplane_is_refused_and_planes_write(realdata, tmp_path):
    from isxio.roiextractors import InscopixImagingExtractor

    ext = InscopixImagingExtractor(realdata / "multiplane_movie.isxd")
    out = tmp_path / "out.isxd"
    with pytest.raises(IsxWriteError, match=r"volumetric \(3 planes\).*select_plane"):
        write_imaging(ext, out)
    assert not out.exists()
    orig = isx_movie(realdata / "multiplane_movie.isxd")
    write_imaging(ext.select_plane(1), out)
    got = isx_movie(out)
    np.testing.assert_array_equal(got["frames"], orig["frames"][1::3])
    assert got["period"] == pytest.approx(3 * orig["period"], rel=1e-3)
    assert got["start"] == pytest.approx(orig["start"] + orig["period"], abs=2e-3)


@pytest.mark.realdata
@pytest.mark.isx
def test_views_of_ours_keep_the_start(realdata, tmp_path):
    """roiextractors' slice views are not ours, but the file's start is still found."""
    from isxio.roiextractors import InscopixImagingExtractor, InscopixSegmentationExtractor

    name = "movie_part2_108x123x63.isxd"
    out = tmp_path / "m.isxd"
    write_imaging(InscopixImagingExtractor(realdata / name).slice_samples(10, 20), out)
    want, got = isx_movie(realdata / name), isx_movie(out)
    np.testing.assert_array_equal(got["frames"], want["frames"][10:20])
    assert got["period"] == pytest.approx(want["period"], rel=1e-12)
    assert got["start"] == pytest.approx(want["start"] + 10 * want["period"], abs=1e-6)

    name = "cellset_accepted_undecided_and_rejected_cells.isxd"
    seg = InscopixSegmentationExtractor(realdata / name)
    ids = seg.get_roi_ids()[2:6]
    write_segmentation(seg.select_rois(ids), out, overwrite=True)
    want, got = isx_cells(realdata / name), isx_cells(out)
    assert got["names"] == want["names"][2:6] and got["statuses"] == want["statuses"][2:6]
    np.testing.assert_array_equal(got["traces"], want["traces"][2:6])
    np.testing.assert_array_equal(got["images"], want["images"][2:6])
    same_timing(got, want, rtol=1e-12)


@pytest.mark.realdata
@pytest.mark.isx
@pytest.mark.parametrize("name", [*CELL_SETS, "empty_cellset.isxd"])
def test_ours_cell_set_keeps_everything(realdata, tmp_path, name):
    from isxio.roiextractors import InscopixSegmentationExtractor

    out = tmp_path / name
    write_segmentation(InscopixSegmentationExtractor(realdata / name), out)
    want, got = isx_cells(realdata / name), isx_cells(out)
    np.testing.assert_array_equal(got["traces"], want["traces"])
    np.testing.assert_array_equal(got["images"], want["images"])
    assert got["names"] == want["names"] and got["statuses"] == want["statuses"]
    assert got["shape"] == want["shape"]
    same_timing(got, want)
    assert isx_extras(out, "cells") == isx_extras(realdata / name, "cells")


# ====================================================================== through NWB
@pytest.mark.realdata
@pytest.mark.isx
@pytest.mark.parametrize("name", MOVIES)
def test_movie_round_trip_through_nwb(realdata, tmp_path, name):
    """.isxd -> NWB (neuroconv) -> NwbImagingExtractor -> write_imaging -> isx."""
    from isxio.roiextractors import InscopixImagingExtractor

    nwb = to_nwb(tmp_path, InscopixImagingExtractor(realdata / name), "imaging")
    ext = nwb_imaging(nwb)
    out = tmp_path / "back.isxd"
    write_imaging(ext, out, start_time=ext.nwbfile.session_start_time)
    want, got = isx_movie(realdata / name), isx_movie(out)
    np.testing.assert_array_equal(got["frames"], want["frames"])
    assert got["frames"].dtype == want["frames"].dtype
    # NWB keeps the rate as a float: the period comes back to within float rounding
    same_timing(got, want, rtol=1e-9)
    assert got["shape"] == want["shape"]
    # without start_time the NWB extractor's timestamps start at the Unix epoch
    write_imaging(ext, out, overwrite=True)
    assert isx_movie(out)["start"] == 0.0
    ext.io.close()


@pytest.mark.realdata
@pytest.mark.isx
@pytest.mark.parametrize("name", CELL_SETS)
def test_cell_set_round_trip_through_nwb(realdata, tmp_path, name):
    """.isxd -> NWB -> NwbSegmentationExtractor -> write_segmentation -> isx."""
    from roiextractors import NwbSegmentationExtractor

    from isxio.roiextractors import InscopixSegmentationExtractor

    nwb = to_nwb(tmp_path, InscopixSegmentationExtractor(realdata / name), "segmentation")
    ext = NwbSegmentationExtractor(nwb)
    out = tmp_path / "back.isxd"
    write_segmentation(ext, out, start_time=ext.nwbfile.session_start_time)
    want, got = isx_cells(realdata / name), isx_cells(out)
    np.testing.assert_array_equal(got["traces"], want["traces"])
    np.testing.assert_array_equal(got["images"], want["images"])
    same_timing(got, want, rtol=1e-9)
    # roiextractors 0.10's NWB reader drops the roi_name and cell_status columns: the
    # ROI ids are 0..n-1 and no status property survives, so names are str(id) and
    # statuses undecided ...
    n = len(want["names"])
    assert got["names"] == [str(i) for i in range(n)]
    assert got["statuses"] == ["undecided"] * n
    # ... unless the caller passes them from the NWB columns
    cols = nwb_columns(nwb)
    write_segmentation(ext, out, overwrite=True, start_time=ext.nwbfile.session_start_time,
                       names=cols["roi_name"], statuses=cols["cell_status"])
    again = isx_cells(out)
    assert again["names"] == want["names"] and again["statuses"] == want["statuses"]
    ext._io.close()


# ====================================================================== pixel types
@pytest.mark.isx
@pytest.mark.parametrize(("dtype", "values", "stored"), [
    ("uint8", (0, 255), "uint8"),
    ("uint16", (0, 65535), "uint16"),
    ("float32", (-3.4e38, 3.4e38), "float32"),
    ("bool", (0, 1), "uint8"),
    ("int8", (-128, 127), "float32"),
    ("int16", (-32768, 32767), "float32"),
    ("float16", (-65504, 65504), "float32"),
    (">u2", (0, 65535), "uint16"),
    ("int32", (-(2**24), 2**24), "float32"),
    ("uint64", (0, 2**24), "float32"),
])
def test_pixel_types_convert_exactly(tmp_path, dtype, values, stored):
    rng = np.random.default_rng(2)
    lo, hi = values
    data = rng.uniform(lo, hi, (6, 3, 4)).astype(dtype)
    data.flat[0], data.flat[1] = lo, hi
    out = tmp_path / "m.isxd"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_imaging(numpy_imaging(data), out)
    got = isx_movie(out)["frames"]
    assert got.dtype == np.dtype(stored)
    np.testing.assert_array_equal(got, data.astype(np.float64))


@pytest.mark.isx
def test_float64_becomes_float32_with_a_warning(tmp_path):
    data = np.linspace(-1e6, 1e6, 6 * 12).reshape(6, 3, 4) + 1e-9
    out = tmp_path / "m.isxd"
    with pytest.warns(PrecisionLossWarning, match="float64 frames are written as float32"):
        write_imaging(numpy_imaging(data), out)
    np.testing.assert_array_equal(isx_movie(out)["frames"], data.astype(np.float32))


@pytest.mark.parametrize(("data", "match"), [
    (np.array([0, 2**24 + 1], np.int32), r"int32 values 0\.\.16777217.*float32"),
    (np.array([0, 2**40], np.int64), "beyond what float32"),
    (np.array([0.0, 1e39]), "beyond float32's range"),
])
def test_values_float32_cannot_hold_are_refused(tmp_path, data, match):
    frames = np.zeros((8, 2, 2), data.dtype)
    frames[5, 0, :] = data  # in the second block: the first was already written
    out = tmp_path / "m.isxd"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionLossWarning)
        with pytest.raises(IsxWriteError, match=match) as err:
            write_imaging(numpy_imaging(frames), out, block_bytes=4 * frames.itemsize * 4)
    assert str(out) in str(err.value) and "frames 4..7" in str(err.value)
    assert not out.exists()
    no_leftovers(tmp_path)


@pytest.mark.isx
def test_forced_dtype(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    out = tmp_path / "m.isxd"
    write_imaging(numpy_imaging(data), out, dtype="uint16")
    got = isx_movie(out)["frames"]
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, data)
    with pytest.raises(IsxWriteError, match=r"-1\.\.22, outside uint16"):
        write_imaging(numpy_imaging(data - 1), tmp_path / "n.isxd", dtype="uint16")
    with pytest.raises(IsxWriteError, match="need integer frames"):
        write_imaging(numpy_imaging(data + 0.5), tmp_path / "n.isxd", dtype="uint16")
    with pytest.raises(IsxWriteError, match="int16 cannot be written"):
        write_imaging(numpy_imaging(data), tmp_path / "n.isxd", dtype="int16")
    with pytest.raises(IsxWriteError, match="complex128 cannot be written"):
        write_imaging(numpy_imaging(data + 1j), tmp_path / "n.isxd")
    no_leftovers(tmp_path)


# ====================================================================== timing
@pytest.mark.isx
def test_timing_from_rate_and_start_time(tmp_path):
    data = np.zeros((10, 2, 3), np.uint16)
    out = tmp_path / "m.isxd"
    start = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    write_imaging(numpy_imaging(data, rate=30.0), out, start_time=start)
    got = isx_movie(out)
    assert got["period"] == pytest.approx(1 / 30, rel=1e-15)
    assert got["start"] == pytest.approx(start.timestamp(), abs=1e-7)
    assert got["utc_offset"] == -5 * 3600
    with pytest.raises(IsxWriteError, match="timezone-aware"):
        write_imaging(numpy_imaging(data), tmp_path / "n.isxd", start_time=dt.datetime(2024, 1, 1))


@pytest.mark.isx
def test_jittery_timestamps_are_regular_and_offset_moves_the_start(tmp_path):
    rng = np.random.default_rng(3)
    times = 12.5 + np.arange(200) * 0.05 + rng.uniform(-0.002, 0.002, 200)
    ext = numpy_imaging(np.zeros((200, 2, 2), np.uint8))
    ext.set_times(times)
    out = tmp_path / "m.isxd"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_imaging(ext, out, start_time=dt.datetime(2020, 1, 1, tzinfo=UTC))
    got = isx_movie(out)
    assert got["period"] == pytest.approx((times[-1] - times[0]) / 199, rel=1e-6)
    assert got["start"] == pytest.approx(dt.datetime(2020, 1, 1, tzinfo=UTC).timestamp()
                                         + times[0], abs=1e-6)


@pytest.mark.isx
def test_irregular_timestamps_keep_the_median_period_with_a_warning(tmp_path):
    times = np.concatenate([np.arange(50) * 0.1, 7.0 + np.arange(50) * 0.1])  # a 2.1 s gap
    ext = numpy_imaging(np.zeros((100, 2, 2), np.uint8))
    ext.set_times(times)
    out = tmp_path / "m.isxd"
    with pytest.warns(IrregularTimestampsWarning, match=r"period of 0\.1 s .* up to 2 s"):
        write_imaging(ext, out)
    assert isx_movie(out)["period"] == pytest.approx(0.1, rel=1e-12)
    ext.set_times(times[::-1].copy())
    with pytest.raises(IsxWriteError, match="strictly increasing"):
        write_imaging(ext, tmp_path / "n.isxd")
    no_leftovers(tmp_path)


# ====================================================================== files and errors
def test_existing_output_and_atomic_failure(tmp_path):
    data = np.arange(60, dtype=np.uint16).reshape(5, 3, 4)
    out = tmp_path / "m.isxd"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match=str(out)):
        write_imaging(numpy_imaging(data), out)
    with pytest.raises(FileExistsError, match=str(out)):
        write_segmentation(NumpySegmentationExtractor(*make_cells()[:1], raw=make_cells()[1]),
                           out)
    bad = data.astype(np.int64)
    bad[-1, 0, 0] = 2**30
    with pytest.raises(IsxWriteError):
        write_imaging(numpy_imaging(bad), out, overwrite=True, block_bytes=96)
    assert out.read_bytes() == b"keep me"  # a failed overwrite leaves the old file alone
    no_leftovers(tmp_path)
    write_imaging(numpy_imaging(data), out, overwrite=True)
    assert out.stat().st_size > 60 * 2


def test_numpy_3d_bug_gives_a_clear_error(tmp_path):
    """roiextractors 0.10's NumpyImagingExtractor returns wrong shapes for 3-D input."""
    ext = NumpyImagingExtractor(np.zeros((4, 3, 2), np.uint16), sampling_frequency=10.0)
    with pytest.raises(IsxWriteError, match=r"get_series\(0, 4\) returned shape"):
        write_imaging(ext, tmp_path / "m.isxd")
    no_leftovers(tmp_path)


def test_volumetric_roiextractors_extractor_is_refused(tmp_path):
    from roiextractors import PlanarStackImagingExtractor

    planes = [numpy_imaging(np.full((4, 3, 2), k, np.uint16)) for k in range(2)]
    vol = PlanarStackImagingExtractor(imaging_extractors=planes)
    with pytest.raises(IsxWriteError, match=r"select_plane\(k\)"):
        write_imaging(vol, tmp_path / "m.isxd")
    write_imaging(vol.select_plane(1), tmp_path / "p1.isxd")
    assert not (tmp_path / "m.isxd").exists()


def test_empty_imaging_is_refused(tmp_path):
    with pytest.raises(IsxWriteError, match="no samples"):
        write_imaging(MemmapImaging(np.zeros((0, 2, 2), np.uint8)), tmp_path / "m.isxd")


# ====================================================================== memory
@pytest.mark.isx
def test_streaming_keeps_memory_bounded(tmp_path):
    """A 400 MB lazy movie is written with tracemalloc's peak far below its size."""
    frames, rows, cols = 800, 512, 512  # 400 MiB of uint16
    source = np.lib.format.open_memmap(tmp_path / "big.npy", "w+", np.uint16,
                                       (frames, rows, cols))
    for k in range(0, frames, 100):
        source[k:k + 100] = (np.arange(k, k + 100, dtype=np.uint16)[:, None, None]
                             + np.arange(cols, dtype=np.uint16))
    source.flush()
    ext = MemmapImaging(np.load(tmp_path / "big.npy", mmap_mode="r"))
    out = tmp_path / "big.isxd"
    tracemalloc.start()
    try:
        write_imaging(ext, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = frames * rows * cols * 2
    assert peak < 160 * 2**20, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB movie"
    assert len(ext.calls) >= size // (64 << 20)
    isx = pytest.importorskip("isx")
    movie = isx.Movie.read(str(out))
    assert movie.timing.num_samples == frames
    for k in (0, 399, 799):
        np.testing.assert_array_equal(movie.get_frame_data(k), source[k])
    del movie, source


# ====================================================================== segmentation
@pytest.mark.isx
def test_numpy_segmentation_with_statuses(tmp_path):
    masks, traces = make_cells()
    ids = [10, 11, 12, 13, 14]
    ext = NumpySegmentationExtractor(masks, raw=traces, roi_ids=ids, sampling_frequency=25.0,
                                     accepted_list=[10, 13], rejected_list=[11])
    # roiextractors 0.10: get_frame_shape() is (rows, cols, n) without movie_dims
    assert len(ext.get_frame_shape()) == 3
    out = tmp_path / "c.isxd"
    write_segmentation(ext, out)
    got = isx_cells(out)
    assert got["names"] == ["10", "11", "12", "13", "14"]
    assert got["statuses"] == ["accepted", "rejected", "undecided", "accepted", "undecided"]
    np.testing.assert_array_equal(got["traces"], traces.T)
    np.testing.assert_array_equal(got["images"], np.moveaxis(masks, -1, 0))
    assert got["shape"] == (6, 7) and got["period"] == pytest.approx(0.04, rel=1e-15)
    assert got["start"] == 0.0


@pytest.mark.isx
@pytest.mark.parametrize(("props", "expected"), [
    ({"cell_status": np.array(["rejected", "accepted", "undecided"])},
     ["rejected", "accepted", "undecided"]),
    ({"cell_status": np.array([2, 0, 1])}, ["rejected", "accepted", "undecided"]),
    ({"is_accepted": np.array([True, False, True])}, ["accepted", "rejected", "accepted"]),
    ({"iscell": np.array([1.0, 0.0, 0.0])}, ["accepted", "rejected", "rejected"]),
    ({"rejected": np.array([True, False, False])}, ["rejected", "accepted", "accepted"]),
    ({}, ["undecided"] * 3),
])
def test_statuses_from_properties(tmp_path, props, expected):
    masks, traces = make_cells(n=3)
    ext = NumpySegmentationExtractor(masks, raw=traces, sampling_frequency=10.0)
    for key, values in props.items():
        ext.set_property(key, values, ext.get_roi_ids())
    out = tmp_path / "c.isxd"
    write_segmentation(ext, out)
    assert isx_cells(out)["statuses"] == expected


def test_bad_statuses_and_names(tmp_path):
    masks, traces = make_cells(n=2)
    ext = NumpySegmentationExtractor(masks, raw=traces, sampling_frequency=10.0)
    ext.set_property("cell_status", np.array(["accepted", "maybe"]), ext.get_roi_ids())
    with pytest.raises(IsxWriteError, match=r"invalid .* status 'maybe'"):
        write_segmentation(ext, tmp_path / "c.isxd")
    with pytest.raises(IsxWriteError, match="1 names given for 2 ROIs"):
        write_segmentation(ext, tmp_path / "c.isxd", names=["a"], statuses=[0, 1])
    assert not (tmp_path / "c.isxd").exists()


class PixelMaskSegmentation(NumpySegmentationExtractor):
    """Pixel masks only (rows of [y, x, weight]), optionally without image masks at all."""

    def __init__(self, pixel_masks, traces, shape, dense: bool = True):
        super().__init__(np.zeros((*shape, len(pixel_masks))), raw=traces,
                         sampling_frequency=5.0)
        self._roi_masks = _ROIMasks(pixel_masks, "nwb-pixel_mask", shape,
                                    {i: i for i in range(len(pixel_masks))})
        self.dense = dense

    def get_roi_image_masks(self, roi_ids=None):
        if not self.dense:
            raise NotImplementedError
        return super().get_roi_image_masks(roi_ids)


@pytest.mark.isx
@pytest.mark.parametrize("dense", [True, False])
def test_pixel_masks_are_densified(tmp_path, dense):
    pixels = [np.array([[0, 1, 0.5], [2, 3, 1.0]]), np.array([[3, 0, 0.25]])]
    traces = np.arange(8, dtype=np.float32).reshape(4, 2)
    out = tmp_path / "c.isxd"
    write_segmentation(PixelMaskSegmentation(pixels, traces, (4, 5), dense), out)
    images = isx_cells(out)["images"]
    want = np.zeros((2, 4, 5), np.float32)
    want[0, 0, 1], want[0, 2, 3], want[1, 3, 0] = 0.5, 1.0, 0.25
    np.testing.assert_array_equal(images, want)


@pytest.mark.isx
def test_trace_choice_and_missing_traces(tmp_path):
    masks, traces = make_cells(n=2)
    ext = NumpySegmentationExtractor(masks, dff=traces, sampling_frequency=10.0)
    out = tmp_path / "c.isxd"
    with pytest.warns(UserWarning, match="writing the 'dff' traces"):
        write_segmentation(ext, out)
    np.testing.assert_array_equal(isx_cells(out)["traces"], traces.T)
    with pytest.raises(IsxWriteError, match="no 'raw' traces; it has \\['dff'\\]"):
        write_segmentation(ext, tmp_path / "d.isxd", trace_name="raw")
    no_traces = NumpySegmentationExtractor(masks, sampling_frequency=10.0)
    with pytest.raises(IsxWriteError, match="no traces"):
        write_segmentation(no_traces, tmp_path / "d.isxd")


@pytest.mark.isx
def test_empty_numpy_segmentation(tmp_path):
    ext = NumpySegmentationExtractor(np.zeros((3, 4, 0), np.float32),
                                     raw=np.zeros((9, 0), np.float32), sampling_frequency=2.0)
    out = tmp_path / "c.isxd"
    write_segmentation(ext, out)
    got = isx_cells(out)
    assert got["names"] == [] and got["num_samples"] == 9 and got["shape"] == (3, 4)
    assert got["period"] == 0.5


def test_volumetric_segmentation_is_refused(tmp_path):
    masks, traces = make_cells(n=2)
    ext = NumpySegmentationExtractor(masks, raw=traces, sampling_frequency=10.0)
    ext._roi_masks = _ROIMasks(np.zeros((2, 6, 7, 2)), "nwb-image_mask", (2, 6, 7),
                               {0: 0, 1: 1})
    with pytest.raises(IsxWriteError, match="volumetric"):
        write_segmentation(ext, tmp_path / "c.isxd")
