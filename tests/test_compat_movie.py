"""isxio.Movie / isxio.Image against isx.Movie / isx.Image, in both directions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import isxio

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def movie_specs(draw):
    n = draw(st.integers(0, 12))
    shape = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    dtype = draw(st.sampled_from([np.uint16, np.float32]))
    idx = st.integers(0, max(n - 1, 0))
    dropped = sorted(set(draw(st.lists(idx, max_size=3)))) if n else []
    blank = sorted(set(draw(st.lists(idx, max_size=2))) - set(dropped)) if n else []
    cropped = []
    if n and draw(st.booleans()):
        a = draw(idx)
        cropped = [(a, draw(st.integers(a, n - 1)))]
    period = (draw(st.integers(1, 10**6)), draw(st.sampled_from([1000, 10**6])))
    start = (draw(st.integers(0, 2 * 10**12)), 1000, draw(st.integers(-50400, 50400)))
    seed = draw(st.integers(0, 2**31))
    return n, shape, dtype, dropped, cropped, blank, period, start, seed


def _timing(mod, spec):
    n, _, _, dropped, cropped, blank, (pn, pd), (sn, sd, utc), _ = spec
    start = mod.Time._from_secs_since_epoch(mod.Duration._from_num_den(sn, sd), utc)
    return mod.Timing(num_samples=n, period=mod.Duration._from_num_den(pn, pd), start=start,
                      dropped=dropped, cropped=cropped, blank=blank)


def _frames(spec):
    n, shape, dtype, *_, seed = spec
    rng = np.random.default_rng(seed)
    if dtype is np.uint16:
        return rng.integers(0, 65536, (n, *shape), dtype=np.uint16)
    return rng.normal(0, 100, (n, *shape)).astype(np.float32)


def _write(mod, path, spec):
    _, shape, dtype, *_ = spec
    movie = mod.Movie.write(str(path), _timing(mod, spec), mod.Spacing(num_pixels=shape), dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, frame in enumerate(_frames(spec)):
            movie.set_frame_data(i, frame)
    movie.flush()
    del movie


def _compare(a, b):
    assert a.timing.num_samples == b.timing.num_samples
    assert a.timing.period.secs_float == b.timing.period.secs_float
    assert a.timing.start.to_datetime() == b.timing.start.to_datetime()
    assert (a.timing.dropped, a.timing.blank) == (b.timing.dropped, b.timing.blank)
    assert [tuple(c) for c in a.timing.cropped] == [tuple(c) for c in b.timing.cropped]
    assert a.spacing.num_pixels == b.spacing.num_pixels
    assert a.data_type == b.data_type
    assert a.get_acquisition_info() == b.get_acquisition_info()
    for i in range(a.timing.num_samples):
        np.testing.assert_array_equal(a.get_frame_data(i), b.get_frame_data(i))


@SETTINGS
@given(spec=movie_specs())
def test_isx_writes_isxio_reads(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("m")
    _write(isx, folder / "isx.isxd", spec)
    _compare(isxio.Movie.read(str(folder / "isx.isxd")), isx.Movie.read(str(folder / "isx.isxd")))


@SETTINGS
@given(spec=movie_specs())
def test_isxio_writes_same_bytes_and_isx_reads(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("m")
    _write(isx, folder / "isx.isxd", spec)
    _write(isxio, folder / "ours.isxd", spec)
    assert (folder / "ours.isxd").read_bytes() == (folder / "isx.isxd").read_bytes()
    _compare(isx.Movie.read(str(folder / "ours.isxd")),
             isxio.Movie.read(str(folder / "ours.isxd")))


def test_write_refuses_existing_file(tmp_path):
    spec = (3, (2, 2), np.uint16, [], [], [], (50, 1000), (0, 1000, 0), 1)
    _write(isxio, tmp_path / "a.isxd", spec)
    with pytest.raises(FileExistsError):
        isxio.Movie.write(str(tmp_path / "a.isxd"), isxio.Timing(num_samples=2),
                          isxio.Spacing(num_pixels=(2, 2)), np.uint16)


def test_unflushed_movie_leaves_no_file(tmp_path):
    movie = isxio.Movie.write(str(tmp_path / "a.isxd"), isxio.Timing(num_samples=2),
                              isxio.Spacing(num_pixels=(2, 2)), np.uint16)
    movie.set_frame_data(0, np.zeros((2, 2), np.uint16))
    assert not (tmp_path / "a.isxd").exists()
    del movie
    assert list(tmp_path.iterdir()) == []


def test_frame_index_errors_like_isx(tmp_path):
    spec = (3, (2, 2), np.uint16, [], [], [], (50, 1000), (0, 1000, 0), 1)
    _write(isxio, tmp_path / "a.isxd", spec)
    movie = isxio.Movie.read(str(tmp_path / "a.isxd"))
    for bad in (3, -1):
        with pytest.raises(IndexError, match="out of range"):
            movie.get_frame_data(bad)
    with pytest.raises(isxio.IsxError, match="No frame timestamps"):
        movie.get_frame_timestamp(0)
    with pytest.raises(ValueError, match="read-only"):
        movie.set_frame_data(0, np.zeros((2, 2), np.uint16))


def test_wrong_type_is_reported_like_isx(tmp_path):
    spec = (3, (2, 2), np.uint16, [], [], [], (50, 1000), (0, 1000, 0), 1)
    _write(isxio, tmp_path / "a.isxd", spec)
    with pytest.raises(Exception, match="Expected data set to be of type"):
        isx.CellSet.read(str(tmp_path / "a.isxd"))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_image_round_trip(tmp_path, dtype):
    data = (np.arange(12).reshape(3, 4) * 7).astype(dtype)
    isx.Image.write(str(tmp_path / "isx.isxd"), isx.Spacing(num_pixels=(3, 4)), dtype, data)
    isxio.Image.write(str(tmp_path / "ours.isxd"), isxio.Spacing(num_pixels=(3, 4)), dtype, data)
    assert (tmp_path / "ours.isxd").read_bytes() == (tmp_path / "isx.isxd").read_bytes()
    ours, theirs = isxio.Image.read(str(tmp_path / "isx.isxd")), \
        isx.Image.read(str(tmp_path / "ours.isxd"))
    np.testing.assert_array_equal(ours.get_data(), theirs.get_data())
    assert ours.data_type == theirs.data_type and ours.spacing.num_pixels == (3, 4)


def test_image_read_rejects_movies(tmp_path):
    spec = (3, (2, 2), np.uint16, [], [], [], (50, 1000), (0, 1000, 0), 1)
    _write(isxio, tmp_path / "a.isxd", spec)
    with pytest.raises(AttributeError, match="more than one frame"):
        isxio.Image.read(str(tmp_path / "a.isxd"))


def test_uint8_movie_written_by_isxio_read_by_isx(tmp_path):
    frames = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    movie = isxio.Movie.write(str(tmp_path / "u8.isxd"), isxio.Timing(num_samples=2),
                              isxio.Spacing(num_pixels=(3, 4)), np.uint8)
    for i, frame in enumerate(frames):
        movie.set_frame_data(i, frame)
    movie.flush()
    theirs = isx.Movie.read(str(tmp_path / "u8.isxd"))
    assert theirs.data_type == np.uint8
    for i in range(2):
        np.testing.assert_array_equal(theirs.get_frame_data(i), frames[i])
