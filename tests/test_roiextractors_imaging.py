"""InscopixImagingExtractor against what isx reads: real movies and crafted ones."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pytest

from isxio.errors import IsxTypeError
from isxio.examples import EXAMPLE_EXTRA_PROPERTIES
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.movie import write_movie

pytest.importorskip("roiextractors")
isx = pytest.importorskip("isx")

from isxio.roiextractors import InscopixImagingExtractor  # noqa: E402
from tests.test_planes import _multiplane_extra, _write_interleaved  # noqa: E402

pytestmark = pytest.mark.isx

REAL_MOVIES = ["movie_longer_than_3_min.isxd", "multiplane_movie.isxd",
               "movie_part2_108x123x63.isxd", "movie_u8.isxd"]


def _isx_frames(movie, indices):
    return np.stack([movie.get_frame_data(int(i)) for i in indices])


def _isx_offsets(movie) -> np.ndarray:
    """Seconds from the start per isx: hardware timestamps where stored, else k × period."""
    timing = movie.timing
    nominal = np.array([d.secs_float for d in timing.get_offsets_since_start()])
    valid = np.array(timing.get_valid_samples_mask(), bool)
    try:
        tsc = np.array([movie.get_frame_timestamp(i) if valid[i] else 0
                        for i in range(timing.num_samples)], np.int64)
    except Exception:  # isx raises when the movie has no frame timestamps
        return nominal
    f0 = int(np.flatnonzero(valid)[0])
    return nominal[f0] + (tsc - tsc[f0]) / 1e6


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_MOVIES)
def test_real_movie_as_isx_reads_it(realdata, name):
    path = str(realdata / name)
    theirs = isx.Movie.read(path)
    ours = InscopixImagingExtractor(path, plane=0)  # plane 0 of one plane = the movie
    if name == "multiplane_movie.isxd":
        ours = InscopixImagingExtractor(path, plane=None)
        assert ours.is_volumetric and ours.get_num_planes() == 3
        assert ours.get_volume_shape() == (100, 160, 3)
        return
    n = theirs.timing.num_samples
    assert ours.get_num_samples() == n
    assert ours.get_image_shape() == tuple(theirs.spacing.num_pixels)
    assert ours.get_dtype() == np.dtype(theirs.data_type)
    assert ours.get_sampling_frequency() == pytest.approx(1 / theirs.timing.period.secs_float)
    np.testing.assert_array_equal(ours.get_series(), _isx_frames(theirs, range(n)))
    np.testing.assert_array_equal(ours.get_series(2, 4), _isx_frames(theirs, [2, 3]))
    assert ours.get_series(3, 3).shape == (0, *ours.get_image_shape())
    picks = [4, 0, 2, 2]
    np.testing.assert_array_equal(ours.get_samples(picks), _isx_frames(theirs, picks))
    stamps = ours.get_native_timestamps()
    assert stamps.dtype == np.float64 and stamps.shape == (n,)
    np.testing.assert_allclose(stamps, _isx_offsets(theirs), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.get_timestamps(1, 3), stamps[1:3])
    assert not ours.get_invalid_sample_mask().any()
    start = ours._get_session_start_time()
    assert start.tzinfo is not None
    assert start.replace(tzinfo=None) == theirs.timing.start.to_datetime()


@pytest.mark.realdata
def test_real_multiplane_planes_and_volumes(realdata):
    path = str(realdata / "multiplane_movie.isxd")
    theirs = isx.Movie.read(path)
    offsets = _isx_offsets(theirs)
    volume = InscopixImagingExtractor(path)
    series = volume.get_series()
    assert series.shape == (10, 100, 160, 3)
    for k in range(3):
        plane = InscopixImagingExtractor(path, plane=k)
        assert not plane.is_volumetric and plane.get_num_samples() == 10
        expected = _isx_frames(theirs, range(k, 30, 3))
        np.testing.assert_array_equal(plane.get_series(), expected)
        np.testing.assert_array_equal(series[..., k], expected)
        np.testing.assert_allclose(plane.get_native_timestamps(), offsets[k::3], atol=1e-6)
        selected = volume.select_plane(k)
        np.testing.assert_array_equal(selected.get_series(5, 7), expected[5:7])
        assert selected.efocus == plane.efocus
    np.testing.assert_allclose(volume.get_native_timestamps(), offsets[0::3], atol=1e-6)
    # the efocus of each plane is in the metadata, as the acquisition configured it
    assert [InscopixImagingExtractor(path, plane=k).efocus[0] for k in range(3)] == [0, 500, 900]
    assert InscopixImagingExtractor(path, plane=2)._get_device_info()["efocus"] == 900


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["movie_longer_than_3_min.isxd", "multiplane_movie.isxd"])
def test_metadata_keys_as_the_isx_backed_extractor(realdata, name):
    """Every key the isx-backed roiextractors class reports has the same value here."""
    from roiextractors import InscopixImagingExtractor as IsxBacked

    path = str(realdata / name)
    if sys.version_info >= (3, 13):  # what the isx-backed class gets wrong, first of all
        with pytest.raises(ImportError, match="isx package only supports"):
            IsxBacked(path)
        return
    theirs = IsxBacked(path)._get_metadata()
    ours = InscopixImagingExtractor(path, plane=0)._get_metadata()
    for section in ("device", "subject", "session", "probe"):
        for key, value in theirs[section].items():
            assert ours[section][key] == (tuple(value) if isinstance(value, list) else value)
    # theirs drops the zone: a naive wall time; ours is aware and the same instant
    assert theirs["session_start_time"].tzinfo is None
    assert ours["session_start_time"] == theirs["session_start_time"].replace(
        tzinfo=dt.timezone.utc)


def test_start_time_keeps_the_files_utc_offset(tmp_path):
    path = tmp_path / "tz.isxd"
    timing = TimingInfo(3, Ratio(50, 1000), Time(Ratio(1_700_000_000_250, 1000), -25200))
    write_movie(path, np.zeros((3, 2, 2), np.uint16), timing=timing)
    start = InscopixImagingExtractor(path)._get_session_start_time()
    assert start.utcoffset() == dt.timedelta(hours=-7)
    assert start == dt.datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=dt.timezone.utc)
    assert str(start) == "2023-11-14 15:13:20.250000-07:00"


def test_dropped_frames_with_hardware_timestamps(tmp_path):
    path = tmp_path / "dropped.isxd"
    dropped = (0, 4, 5, 11)
    frames = _write_interleaved(path, 12, 1, dropped=dropped,
                                extra={"producer": {"version": "1.9.0"}})
    theirs = isx.Movie.read(str(path))
    ours = InscopixImagingExtractor(path)
    invalid = np.zeros(12, bool)
    invalid[list(dropped)] = True
    np.testing.assert_array_equal(ours.get_invalid_sample_mask(), invalid)
    assert list(theirs.timing.dropped) == list(dropped)
    np.testing.assert_array_equal(ours.get_series(), _isx_frames(theirs, range(12)))
    assert not ours.get_series(4, 6).any()  # dropped frames read as zeros, as isx
    stamps = ours.get_native_timestamps()
    np.testing.assert_allclose(stamps[~invalid], _isx_offsets(theirs)[~invalid], atol=1e-6)
    assert np.all(np.diff(stamps) > 0)  # dropped ones interpolated, never NaN
    valid = InscopixImagingExtractor(path, exclude_invalid_samples=True)
    assert valid.get_num_samples() == 8
    np.testing.assert_array_equal(valid.get_series(), frames[~invalid])
    np.testing.assert_array_equal(valid.get_samples([3, 0]), frames[~invalid][[3, 0]])
    np.testing.assert_allclose(valid.get_native_timestamps(), stamps[~invalid], atol=1e-9)
    assert not valid.get_invalid_sample_mask().any()
    intervals = ours.get_invalid_intervals()
    period = 1 / ours.get_sampling_frequency()
    assert [reason for *_, reason in intervals] == ["dropped"] * 3
    np.testing.assert_allclose([i[:2] for i in intervals],
                               [(stamps[0], stamps[0] + period), (stamps[4], stamps[5] + period),
                                (stamps[11], stamps[11] + period)])
    assert valid.get_invalid_intervals() == intervals
    # TSCs: 5_000_000 + i*50_000 + i%3 µs; the first valid frame (1) sits at 1 period
    assert stamps[1] == pytest.approx(ours.get_native_timestamps()[1])
    assert stamps[2] - stamps[1] == pytest.approx(0.050001, abs=1e-9)


def test_multiplane_with_a_dropped_frame_and_a_partial_volume(tmp_path):
    path = tmp_path / "mp.isxd"
    frames = _write_interleaved(path, 14, 3, dropped=(4,),
                                extra=_multiplane_extra(3, (100, 400, 700)))
    theirs = isx.Movie.read(str(path))
    volume = InscopixImagingExtractor(path)
    assert volume.get_num_samples() == 5  # 14 frames: 4 whole volumes and a partial one
    series = volume.get_series()
    for k in range(3):
        got = series[: len(frames[k::3]), :, :, k]
        np.testing.assert_array_equal(got, _isx_frames(theirs, range(k, 14, 3)))
    assert not series[4, :, :, 2].any()  # the missing last frame of plane 3 reads as zeros
    np.testing.assert_array_equal(volume.get_invalid_sample_mask(),
                                  [False, True, False, False, True])
    plane = InscopixImagingExtractor(path, plane=1, exclude_invalid_samples=True)
    assert plane.get_num_samples() == 4
    np.testing.assert_array_equal(plane.get_series(), frames[[1, 7, 10, 13]])
    assert plane.efocus == [400]


def test_dual_colour_channels(tmp_path):
    path = tmp_path / "dual.isxd"
    extra = {"producer": {"version": "1.9.0"},
             "microscope": {"dualColor": {"enabled": True, "mode": "multiplexing",
                                          "startChannel": "green",
                                          "muxRatio": {"led1": 1, "led2": 1}}}}
    _write_interleaved(path, 8, 1, extra=extra)
    theirs = isx.Movie.read(str(path))
    offsets = _isx_offsets(theirs)
    for phase, colour in enumerate(("green", "red")):
        ours = InscopixImagingExtractor(path, channel=colour)
        np.testing.assert_array_equal(ours.get_series(), _isx_frames(theirs, range(phase, 8, 2)))
        np.testing.assert_allclose(ours.get_native_timestamps(), offsets[phase::2], atol=1e-6)
    with pytest.raises(IsxTypeError, match="blue"):
        InscopixImagingExtractor(path, channel="blue")


def test_files_of_one_recording_as_one_series(tmp_path):
    rng = np.random.default_rng(1)
    parts = [rng.integers(0, 1000, (n, 3, 5), dtype=np.uint16) for n in (4, 6)]
    starts = [Ratio(1_600_000_000, 1), Ratio(1_600_000_010_500, 1000)]  # 9.7 s gap
    paths = []
    for i, (data, start) in enumerate(zip(parts, starts, strict=True)):
        paths.append(tmp_path / f"part{i}.isxd")
        write_movie(paths[-1], data, timing=TimingInfo(len(data), Ratio(1, 5), Time(start)))
    ours = InscopixImagingExtractor(paths[::-1])  # any order: sorted by start time
    assert ours.file_paths == [str(p) for p in paths]
    np.testing.assert_array_equal(ours.get_series(), np.concatenate(parts))
    np.testing.assert_array_equal(ours.get_series(2, 6), np.concatenate(parts)[2:6])
    expected = np.concatenate([np.arange(4) * 0.2, 10.5 + np.arange(6) * 0.2])
    np.testing.assert_allclose(ours.get_native_timestamps(), expected, atol=1e-9)
    np.testing.assert_array_equal(ours.get_samples([9, 0]), np.concatenate(parts)[[9, 0]])


def test_not_a_movie_and_bad_planes_are_clear_errors(realdata):
    with pytest.raises(IsxTypeError, match=r"not a movie.*found CellSetFile"):
        InscopixImagingExtractor(realdata / "cellset.isxd")
    with pytest.raises(IsxTypeError, match=r"plane 3 requested.*0\.\.2"):
        InscopixImagingExtractor(realdata / "multiplane_movie.isxd", plane=3)
    with pytest.raises(IsxTypeError, match="one plane"):
        InscopixImagingExtractor(realdata / "movie_u8.isxd", plane=1)
    with pytest.raises(FileNotFoundError):
        InscopixImagingExtractor(realdata / "missing.isxd")


def test_roiextractors_consistency_checks(realdata):
    from roiextractors import NumpyImagingExtractor
    from roiextractors.testing import check_imaging_equal

    ours = InscopixImagingExtractor(realdata / "movie_part2_108x123x63.isxd")
    # roiextractors 0.10's NumpyImagingExtractor misreads 3-D input (it prepends an axis):
    # hand it (time, rows, columns, channels)
    other = NumpyImagingExtractor(ours.get_series()[..., np.newaxis],
                                  ours.get_sampling_frequency())
    check_imaging_equal(ours, other)
    sliced = ours.slice_samples(10, 20)
    np.testing.assert_array_equal(sliced.get_series(), ours.get_series(10, 20))
    fov = ours.slice_field_of_view(row_start=5, row_end=9, column_start=1, column_end=4)
    np.testing.assert_array_equal(fov.get_series(0, 2), ours.get_series(0, 2)[:, 5:9, 1:4])


def test_series_reads_one_slice_of_the_memory_map(realdata):
    ours = InscopixImagingExtractor(realdata / "movie_longer_than_3_min.isxd")
    block = ours.get_series(100, 200)
    assert isinstance(block.base, np.ndarray) or block.base is not None  # a view, not a copy
    assert not block.flags.owndata


def test_spacing_of_synthetic_movie(tmp_path):
    path = tmp_path / "s.isxd"
    write_movie(path, np.arange(24, dtype=np.float32).reshape(2, 3, 4),
                spacing=SpacingInfo(3, 4, (Ratio(2, 1), Ratio(2, 1))))
    ours = InscopixImagingExtractor(path)
    assert ours.get_image_shape() == (3, 4) and ours.get_dtype() == np.float32


def test_cropped_and_blank_runs_are_reported_with_their_reason(tmp_path):
    path = tmp_path / "crop.isxd"
    timing = TimingInfo(10, Ratio(1, 10), Time(Ratio(1_000, 1)), dropped=(8,),
                        cropped=((2, 4),), blank=(6,))
    write_movie(path, np.ones((10, 2, 3), np.uint16), timing=timing)
    theirs = isx.Movie.read(str(path))
    assert list(theirs.timing.cropped) == [(2, 4)] and list(theirs.timing.blank) == [6]
    ours = InscopixImagingExtractor(path)
    np.testing.assert_array_equal(ours.get_invalid_sample_mask(),
                                  ~np.array(theirs.timing.get_valid_samples_mask(), bool))
    np.testing.assert_array_equal(ours.get_series(), _isx_frames(theirs, range(10)))
    got = ours.get_invalid_intervals()
    assert [r for *_, r in got] == ["cropped", "blank", "dropped"]
    np.testing.assert_allclose([g[:2] for g in got], [(0.2, 0.5), (0.6, 0.7), (0.8, 0.9)])
    kept = InscopixImagingExtractor(path, exclude_invalid_samples=True)
    np.testing.assert_allclose(kept.get_native_timestamps(), [0, 0.1, 0.5, 0.7, 0.9])


def test_plane_split_by_idps_is_a_plain_movie(tmp_path):
    """IDPS keeps ``microscope.multiplane.enabled`` in a split plane and adds idps.efocus."""
    path = tmp_path / "plane2.isxd"
    extra = _multiplane_extra(3, (100, 400, 700))
    extra["microscope"].update(EXAMPLE_EXTRA_PROPERTIES["microscope"])  # what isx expects
    extra["idps"] = {"efocus": 400}
    frames = np.arange(4 * 3 * 5, dtype=np.uint16).reshape(4, 3, 5)
    write_movie(path, frames, extra_properties=extra)
    ours = InscopixImagingExtractor(path)
    assert not ours.is_volumetric and ours.get_num_samples() == 4
    np.testing.assert_array_equal(ours.get_series(), frames)
    assert ours._get_device_info()["efocus"] == 400
    assert isx.Movie.read(str(path)).get_acquisition_info()["efocus"] == 400
