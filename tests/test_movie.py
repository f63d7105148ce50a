"""Movies and images cross-checked against isx: reading, writing, lazy access, damage.

isx (the reference package) writes random movies that isxio must read exactly; isxio
writes the same input and must produce the same bytes; isx must read what isxio
writes, including what isx itself cannot write (uint8 pixels, frame headers/footers
with TSC timestamps, duplicate dropped indices).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import pickle
import struct
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxFormatWarning, IsxUnsupportedError, IsxWriteError
from isxio.formats import _json
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.movie import (
    FRAME_HEADER_ITEMS,
    MovieFile,
    MovieWriter,
    decode_tsc,
    encode_tsc,
    write_movie,
)

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

try:  # imported here, not inside a test: dask keeps the traceback of a failed optional
    import dask.array  # import, whose frames would keep that test's arrays (and files) alive
except ImportError:  # pragma: no cover
    dask = None

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@contextlib.contextmanager
def scratch():
    """A fresh folder per hypothesis example."""
    with tempfile.TemporaryDirectory(prefix="isxio-test-") as folder:
        yield Path(folder)


# ---------------------------------------------------------------------------------------
# Random movie descriptions, and the two ways of writing them
# ---------------------------------------------------------------------------------------
@dataclass
class Params:
    n: int
    rows: int
    cols: int
    dtype: np.dtype
    period: tuple[int, int]
    start: tuple[int, int]
    utc: int
    dropped: list[int]
    cropped: list[tuple[int, int]]
    blank: list[int]
    seed: int

    def frames(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        shape = (self.n, self.rows, self.cols)
        if self.dtype.kind == "u":
            return rng.integers(0, np.iinfo(self.dtype).max + 1, shape, dtype=self.dtype)
        values = rng.normal(0, 1e3, shape).astype(np.float32)
        special = np.array([-0.0, np.inf, -np.inf, 1e-45, 3.4028235e38], np.float32)
        mask = rng.random(shape) < 0.1
        values[mask] = rng.choice(special, int(mask.sum()))
        return values

    def timing(self) -> TimingInfo:
        return TimingInfo(self.n, Ratio(*self.period), Time(Ratio(*self.start), self.utc),
                          tuple(self.dropped), tuple(self.cropped), tuple(self.blank))

    def isx_timing(self):
        start = isx.Time._from_secs_since_epoch(isx.Duration._from_num_den(*self.start),
                                                self.utc)
        return isx.Timing(num_samples=self.n, period=isx.Duration._from_num_den(*self.period),
                          start=start, dropped=list(self.dropped),
                          cropped=[list(c) for c in self.cropped], blank=list(self.blank))

    def spacing(self) -> SpacingInfo:
        return SpacingInfo(self.rows, self.cols)

    def expected(self, frames: np.ndarray) -> np.ndarray:
        """What a reader returns: the input where valid, zeros where invalid."""
        out = frames.copy()
        out[~self.timing().valid_mask()] = 0
        return out


@st.composite
def movie_params(draw, dtypes=(np.uint16, np.float32), max_n=9) -> Params:
    n = draw(st.sampled_from([0, 1, 2]) | st.integers(0, max_n))
    rows, cols = draw(st.sampled_from([(1, 1), (1, 7), (7, 1), (2, 3), (3, 2)])
                      | st.tuples(st.integers(1, 5), st.integers(1, 5)))
    index = st.integers(0, max(n - 1, 0))
    if n:
        dropped = draw(st.lists(index, unique=True, max_size=3))
        blank = draw(st.lists(index, unique=True, max_size=2))
        cropped = draw(st.lists(st.tuples(index, st.integers(0, 2)).map(
            lambda t: (t[0], min(t[0] + t[1], n - 1))), max_size=2))
    else:
        dropped, blank, cropped = [], [], []
    return Params(
        n, rows, cols, np.dtype(draw(st.sampled_from(dtypes))),
        period=(draw(st.integers(1, 10**6)), draw(st.integers(1, 10**9))),
        start=(draw(st.integers(0, 2**62)), draw(st.integers(1, 10**9))),
        utc=draw(st.integers(-50400, 50400)),
        dropped=dropped, cropped=cropped, blank=blank, seed=draw(st.integers(0, 2**32 - 1)))


def isx_write(path: Path, p: Params, frames: np.ndarray) -> None:
    movie = isx.Movie.write(str(path), p.isx_timing(), isx.Spacing(num_pixels=(p.rows, p.cols)),
                            p.dtype.type)
    for i in range(p.n):
        movie.set_frame_data(i, frames[i])
    movie.flush()
    del movie


def isx_read(path: Path):
    """The isx movie and all its frames stacked (zeros for invalid frames)."""
    movie = isx.Movie.read(str(path))
    n = movie.timing.num_samples
    frames = [movie.get_frame_data(i) for i in range(n)]
    shape = movie.spacing.num_pixels
    return movie, (np.stack(frames) if frames else np.zeros((0, *shape), movie.data_type))


def assert_same_pixels(ours, theirs) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    assert ours.tobytes() == theirs.tobytes()  # bit for bit (-0.0, inf)


def assert_timing_matches(ours: TimingInfo, theirs) -> None:
    assert ours.num_samples == theirs.num_samples
    assert (ours.period.num, ours.period.den) == (theirs.period._impl.num,
                                                  theirs.period._impl.den)
    start = theirs.start._impl
    assert (ours.start.secs_since_epoch.num, ours.start.secs_since_epoch.den) == (
        start.secs_since_epoch.num, start.secs_since_epoch.den)
    assert ours.start.utc_offset == start.utc_offset
    assert list(ours.dropped) == theirs.dropped
    assert [tuple(c) for c in ours.cropped] == theirs.cropped
    assert list(ours.blank) == theirs.blank
    # the mask of a timing isx *read* is unreliable when blank frames exist without dropped
    # ones (it marks frame 0 instead), so rebuild the timing from its lists first
    rebuilt = isx.Timing(num_samples=theirs.num_samples, dropped=theirs.dropped,
                         cropped=theirs.cropped, blank=theirs.blank)
    np.testing.assert_array_equal(ours.valid_mask(), rebuilt.get_valid_samples_mask())


def write_frame_by_frame(path: Path, p: Params, frames: np.ndarray, **kw) -> None:
    with MovieWriter(path, p.timing(), p.spacing(), p.dtype, **kw) as writer:
        valid = p.timing().valid_mask()
        for i in range(p.n):
            if valid[i]:
                assert writer.set_frame_data(i, frames[i]) is True
            else:
                with pytest.warns(UserWarning, match=f"invalid frame {i}"):
                    assert writer.set_frame_data(i, frames[i]) is False


# ---------------------------------------------------------------------------------------
# isx writes, isxio reads; isxio writes the same bytes
# ---------------------------------------------------------------------------------------
@SETTINGS
@given(p=movie_params(), frame_by_frame=st.booleans())
def test_isx_movie_read_and_rewritten_identically(p, frame_by_frame):
    frames = p.frames()
    with scratch() as folder:
        theirs, ours = folder / "isx.isxd", folder / "isxio.isxd"
        isx_write(theirs, p, frames)
        isx_movie, isx_frames = isx_read(theirs)
        assert_same_pixels(isx_frames, p.expected(frames))

        with MovieFile(theirs) as mf:
            assert mf.shape == (p.n, p.rows, p.cols)
            assert mf.dtype == p.dtype
            assert mf.header.type == (0 if p.n > 1 else 4)
            assert_timing_matches(mf.timing, isx_movie.timing)
            assert_same_pixels(mf.data, isx_frames)
            for i in range(p.n):
                assert_same_pixels(mf.data[i], isx_movie.get_frame_data(i))

        if frame_by_frame:
            write_frame_by_frame(ours, p, frames)
        else:
            write_movie(ours, frames, timing=p.timing(), spacing=p.spacing())
        assert ours.read_bytes() == theirs.read_bytes()
        isx_again, frames_again = isx_read(ours)
        assert_same_pixels(frames_again, isx_frames)
        assert_timing_matches(p.timing().normalized(), isx_again.timing)


@SETTINGS
@given(p=movie_params(dtypes=(np.uint8,)))
def test_uint8_movie_written_by_isxio_read_by_isx(p):
    frames = p.frames()
    with scratch() as folder:
        path = folder / "u8.isxd"
        write_movie(path, frames, timing=p.timing())
        isx_movie, isx_frames = isx_read(path)
        assert isx_movie.data_type == np.uint8
        assert_same_pixels(isx_frames, p.expected(frames))
        assert_timing_matches(p.timing().normalized(), isx_movie.timing)
        with MovieFile(path) as mf:
            assert mf.trailer.header["dataType"] == 2
            assert_same_pixels(mf.data, isx_frames)
            assert_timing_matches(mf.timing, isx_movie.timing)


def test_movie_of_one_pixel_row_and_empty_movie(tmp_path):
    for n, shape in ((0, (1, 9)), (1, (1, 9)), (3, (9, 1))):
        p = Params(n, *shape, np.dtype(np.float32), (50, 1000), (0, 1), 0, [], [], [], n)
        theirs, ours = tmp_path / f"isx{n}.isxd", tmp_path / f"ours{n}.isxd"
        isx_write(theirs, p, p.frames())
        write_movie(ours, p.frames())
        assert ours.read_bytes() == theirs.read_bytes()
        assert_same_pixels(MovieFile(ours).data, isx_read(theirs)[1])


# ---------------------------------------------------------------------------------------
# Frame headers / footers and TSC timestamps (isx can read these but not write them)
# ---------------------------------------------------------------------------------------
_c_api = isx._internal.c_api


def isx_header_or_footer(movie, index: int, which: str) -> np.ndarray:
    func = getattr(_c_api, f"isx_movie_get_frame_{which}")
    func.argtypes = [isx._internal.IsxMoviePtr, ctypes.c_size_t, isx._internal.UInt16Ptr]
    func.errcheck = isx._internal._standard_errcheck
    out = np.zeros(FRAME_HEADER_ITEMS, np.uint16)
    func(movie._ptr, index, out.ctypes.data_as(isx._internal.UInt16Ptr))
    return out


_versions = (st.sampled_from(["1.2.0", "1.1.1", "1.1.0", "1.1", "2", "1.1.1-rc1", "1.1.0-x",
                              "0.9.9", "10.0.0", "1.2.0.7", " 1.2.0", "v1.2.0", ""])
             | st.text(st.sampled_from("0123456789.-+ x"), max_size=9))


@SETTINGS
@given(p=movie_params(dtypes=(np.uint16,)), version=_versions,
       tscs=st.lists(st.integers(0, 2**52), min_size=12, max_size=12),
       increasing=st.booleans(), raw_tsc_pixels=st.booleans())
def test_frame_header_footer_movie_read_by_isx(p, version, tscs, increasing, raw_tsc_pixels):
    frames = p.frames()
    valid = p.timing().valid_mask()
    tscs = sorted(tscs) if increasing else tscs
    rng = np.random.default_rng(p.seed)
    headers = rng.integers(0, 2**16, (p.n, FRAME_HEADER_ITEMS), dtype=np.uint16)
    footers = rng.integers(0, 2**16, (p.n, FRAME_HEADER_ITEMS), dtype=np.uint16)
    if not raw_tsc_pixels:
        for i in range(p.n):
            headers[i, 1272:1280] = encode_tsc(tscs[i])
    else:  # raw pixels (top bits set too), but TSCs below 2**62: isx's period is int64
        headers[:, 1279] &= 0x3FF
    headers[~valid] = 0
    footers[~valid] = 0
    with scratch() as folder:
        path = folder / "framed.isxd"
        with MovieWriter(path, p.timing(), p.spacing(), np.uint16, frame_header_footer=True,
                         extra_properties={"producer": {"version": version}}) as writer:
            for i in np.flatnonzero(valid):
                writer.set_frame_data(int(i), frames[i], header=headers[i], footer=footers[i])
        mf = MovieFile(path)
        if p.n == 0 and mf.header.has_tsc:
            # isx reads frame 0's timestamp when opening, and fails on a 0-frame movie
            with pytest.raises(Exception, match="out of range"):
                isx.Movie.read(str(path))
            assert mf.shape == (0, p.rows, p.cols)
            assert mf.tsc.shape == (0,)
            return
        isx_movie, isx_frames = isx_read(path)
        assert_same_pixels(mf.data, isx_frames)
        assert_same_pixels(isx_frames, p.expected(frames))
        assert_timing_matches(mf.timing, isx_movie.timing)
        assert_same_pixels(mf.frame_headers, headers)
        assert_same_pixels(mf.frame_footers, footers)
        np.testing.assert_array_equal(mf.tsc, decode_tsc(headers))
        if not raw_tsc_pixels:
            np.testing.assert_array_equal(mf.tsc[valid], np.array(tscs[:p.n], np.uint64)[valid])
        for i in np.flatnonzero(valid):
            assert_same_pixels(isx_header_or_footer(isx_movie, int(i), "header"), headers[i])
            assert_same_pixels(isx_header_or_footer(isx_movie, int(i), "footer"), footers[i])
        for i in range(p.n):
            try:
                stamp = isx_movie.get_frame_timestamp(i)
            except Exception as exc:  # isx: "No frame timestamps stored in movie."
                assert "timestamps" in str(exc)
                assert not mf.header.has_tsc
                continue
            assert mf.header.has_tsc
            assert stamp == int(mf.tsc[i])
        mf.close()


def test_tsc_period_override_spec_example(tmp_path):
    """Spec §4.6: TSCs 1 000 000 / 1 040 000 / dropped / 1 120 000 give 120000/3000000."""
    timing = TimingInfo(4, dropped=(2,))
    for version, period in (("1.2.0", (120000, 3000000)), ("1.1.0", (50, 1000))):
        path = tmp_path / f"{version}.isxd"
        with MovieWriter(path, timing, SpacingInfo(2, 2), np.uint16, frame_header_footer=True,
                         extra_properties={"producer": {"version": version}}) as writer:
            for i, tsc in ((0, 1_000_000), (1, 1_040_000), (3, 1_120_000)):
                header = np.zeros(FRAME_HEADER_ITEMS, np.uint16)
                header[1272:1280] = encode_tsc(tsc)
                writer.set_frame_data(i, np.full((2, 2), i, np.uint16), header=header)
        mf = MovieFile(path)
        assert (mf.timing.period.num, mf.timing.period.den) == period
        movie = isx.Movie.read(str(path))  # keep it alive: its timing points into it
        assert_timing_matches(mf.timing, movie.timing)
        assert mf.tsc.tolist() == [1_000_000, 1_040_000, 0, 1_120_000]


# ---------------------------------------------------------------------------------------
# Duplicate dropped/blank indices (spec §4.3): located exactly as isx does
# ---------------------------------------------------------------------------------------
def rewrite_json(path: Path, edit) -> None:
    """Replace the JSON of a container by ``edit(header)`` (layout of spec §1.1)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[-8:])
    data, header = raw[:len(raw) - 9 - n], json.loads(raw[len(raw) - 9 - n:-9])
    text = _json.dumps(edit(header)).encode()
    path.write_bytes(data + text + b"\x00" + struct.pack("<Q", len(text)))


def compare_with_isx_frame_by_frame(path: Path) -> None:
    """isxio must read every frame isx reads; if isx fails on a frame, isxio must refuse."""
    movie = isx.Movie.read(str(path))
    isx_frames = []
    for i in range(movie.timing.num_samples):
        try:
            isx_frames.append(movie.get_frame_data(i))
        except Exception:
            with pytest.raises(IsxFormatError) as info, warnings.catch_warnings():
                warnings.simplefilter("ignore", IsxFormatWarning)
                MovieFile(path)
            assert info.value.path == str(path)
            return
    with pytest.warns(IsxFormatWarning, match="duplicate"):
        mf = MovieFile(path)
    assert_same_pixels(mf.data, np.stack(isx_frames))
    assert_timing_matches(mf.timing, movie.timing)


def test_duplicate_dropped_spec_case(tmp_path):
    path = tmp_path / "dup.isxd"
    p = Params(10, 2, 3, np.dtype(np.uint16), (50, 1000), (0, 1), 0, [4, 6], [(1, 3), (5, 5)],
               [7], seed=3)
    frames = p.frames()
    write_movie(path, frames, timing=p.timing())
    rewrite_json(path, lambda h: {**h, "timingInfo": {**h["timingInfo"], "dropped": [4, 4, 6]}})
    compare_with_isx_frame_by_frame(path)
    with pytest.warns(IsxFormatWarning):
        data = np.asarray(MovieFile(path).data)
    assert_same_pixels(data[8], frames[0])  # record 0, as isx does
    assert_same_pixels(data[9], frames[8])  # record 1


@SETTINGS
@given(p=movie_params(dtypes=(np.uint16,), max_n=12), extra=st.data())
def test_duplicate_indices_located_as_isx_does(p, extra):
    assume(p.dropped or p.blank)
    frames = p.frames()
    normalized = p.timing().normalized()
    dropped, blank = list(normalized.dropped), list(normalized.blank)
    dup_dropped = extra.draw(st.lists(st.sampled_from(dropped), max_size=3) if dropped
                             else st.just([]))
    dup_blank = extra.draw(st.lists(st.sampled_from(blank), max_size=3) if blank
                           else st.just([]))
    assume(dup_dropped or dup_blank)
    with scratch() as folder:
        path = folder / "dup.isxd"
        write_movie(path, frames, timing=p.timing())
        rewrite_json(path, lambda h: {**h, "timingInfo": {
            **h["timingInfo"], "dropped": sorted(dropped + dup_dropped),
            "blank": sorted(blank + dup_blank)}})
        compare_with_isx_frame_by_frame(path)


# ---------------------------------------------------------------------------------------
# Lazy access equals eager access
# ---------------------------------------------------------------------------------------
LAZY = Params(17, 3, 4, np.dtype(np.uint16), (50, 1000), (0, 1), 0, [3], [(5, 6)], [10], 7)


@pytest.fixture(scope="module")
def lazy_movie(tmp_path_factory):
    path = tmp_path_factory.mktemp("lazy") / "lazy.isxd"
    isx_write(path, LAZY, LAZY.frames())
    return path, isx_read(path)[1]


def assert_index_like_numpy(lazy, eager: np.ndarray, key) -> None:
    try:
        expected = eager[key]
    except IndexError:
        with pytest.raises(IndexError):
            lazy[key]
        return
    assert_same_pixels(lazy[key], expected)


@pytest.mark.parametrize("key", [
    slice(None, None, 7), slice(None, None, -1), slice(None, None, -3), slice(-2, 1, -4),
    [5, 0, 5, -1], [16], [], np.array([3, 10]), 0, 3, -1, 16, (Ellipsis, slice(1, 3)),
    (slice(None), 1), (2, 1), (2, 1, 0), (-1, slice(None), [0, 3]), ([1, 2], [0, 2]),
    ([1, 2], slice(None), [0, 2]), (0, slice(None), [0, 1]), (None, 3), (3, None),
    (Ellipsis,), (slice(2, 9), Ellipsis, 0), np.arange(17) % 3 == 0, np.array([[1, 3], [4, 0]]),
    (np.int64(4), np.int32(1)), (), (slice(None), slice(None), slice(None, None, -2)),
])
def test_lazy_indexing_matches_eager(lazy_movie, key):
    path, eager = lazy_movie
    assert_index_like_numpy(MovieFile(path).data, eager, key)


def axis_keys(size: int):
    ints = st.integers(-size - 1, size)
    steps = st.none() | st.integers(-5, 5).filter(bool)
    bounds = st.none() | st.integers(-size - 2, size + 2)
    return st.one_of(
        ints, ints.map(np.int64), st.builds(slice, bounds, bounds, steps),
        st.lists(st.integers(-size, size - 1), max_size=6),
        st.lists(st.booleans(), min_size=size, max_size=size).map(np.array),
    )


frame_keys = st.one_of(
    axis_keys(17),
    st.tuples(axis_keys(17), axis_keys(3)),
    st.tuples(axis_keys(17), axis_keys(3), axis_keys(4)),
    st.tuples(st.just(Ellipsis), axis_keys(4)),
    st.tuples(axis_keys(17), st.just(Ellipsis), axis_keys(4)),
    st.tuples(st.none(), axis_keys(17)),
)


@settings(max_examples=200, deadline=None)
@given(key=frame_keys)
def test_lazy_indexing_matches_eager_random(lazy_movie, key):
    path, eager = lazy_movie
    assert_index_like_numpy(MovieFile(path).data, eager, key)


def test_lazy_array_protocol(lazy_movie):
    path, eager = lazy_movie
    data = MovieFile(path).data
    assert data.shape == eager.shape
    assert data.ndim == 3
    assert len(data) == 17
    assert data.dtype == np.uint16
    assert data.nbytes == eager.nbytes
    assert_same_pixels(np.asarray(data), eager)
    assert_same_pixels(np.asarray(data, dtype=np.float64), eager.astype(np.float64))
    assert_same_pixels(np.stack(list(data)), eager)
    copy = np.asarray(data)
    copy[0] = 1  # a private copy, not a view of the file
    assert_same_pixels(MovieFile(path).data[0], eager[0])


@pytest.mark.skipif(dask is None, reason="needs dask")
def test_lazy_to_dask(lazy_movie):
    path, eager = lazy_movie
    arr = MovieFile(path).data.to_dask()
    assert arr.chunksize == (1, 3, 4)
    assert_same_pixels(arr.compute(), eager)
    assert_same_pixels(arr[::3, 1:].compute(), eager[::3, 1:])
    assert_same_pixels(arr[::-2].compute(), eager[::-2])
    assert_same_pixels(MovieFile(path).data.to_dask(chunks=(5, 3, 4)).sum(axis=0).compute(),
                       eager.sum(axis=0))


def test_pickle_round_trip(lazy_movie):
    path, eager = lazy_movie
    mf = MovieFile(path)
    np.asarray(mf.data)  # open the memory map first: it must not be pickled
    mf2 = pickle.loads(pickle.dumps(mf))
    assert mf2.path == mf.path
    assert_same_pixels(mf2.data, eager)
    assert mf2.timing == mf.timing
    data2 = pickle.loads(pickle.dumps(mf.data))
    assert_same_pixels(data2[::2], eager[::2])
    assert len(pickle.dumps(mf.data)) < 4096  # by path, not by value


# ---------------------------------------------------------------------------------------
# Writer rules
# ---------------------------------------------------------------------------------------
def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def small_writer(path: Path, n: int = 4, **kw) -> MovieWriter:
    return MovieWriter(path, TimingInfo(n, dropped=(1,)), SpacingInfo(2, 3), np.uint16, **kw)


def test_nothing_under_final_name_until_flush(tmp_path):
    path = tmp_path / "m.isxd"
    writer = small_writer(path)
    writer.set_frame_data(0, np.ones((2, 3), np.uint16))
    writer.write_frames(np.ones((2, 2, 3), np.uint16))
    assert not path.exists()
    assert writer.next_index is None
    writer.flush()
    assert listing(tmp_path) == ["m.isxd"]
    assert MovieFile(path).shape == (4, 2, 3)
    with pytest.raises(IsxWriteError):
        writer.set_frame_data(3, np.ones((2, 3), np.uint16))


def test_existing_file_kept_unless_overwrite(tmp_path):
    path = tmp_path / "m.isxd"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        small_writer(path)
    with pytest.raises(FileExistsError):
        write_movie(path, np.zeros((2, 2, 3), np.uint16))
    assert path.read_bytes() == b"precious"
    write_movie(path, np.zeros((2, 2, 3), np.uint16), overwrite=True)
    assert MovieFile(path).shape == (2, 2, 3)
    assert listing(tmp_path) == ["m.isxd"]


@pytest.mark.parametrize(("index", "frame", "words"), [
    (2, np.ones((2, 3), np.uint16), "order"),
    (0, np.ones((3, 2), np.uint16), "shape"),
    (0, np.ones((1, 2, 3), np.uint16), "shape"),
    (0, np.ones((2, 2, 3), np.uint16), "shape"),
    (0, np.ones(6, np.uint16), "shape"),
    (0, np.ones((2, 3), np.float32), "float32"),
    (0, np.full((2, 3), 70000, np.int64), "fit"),
    (0, np.full((2, 3), -1, np.int16), "fit"),
    (0, np.ones((2, 3), np.complex64), "complex64"),
    (0, np.array([["a"] * 3] * 2), "convert"),
    (7, np.ones((2, 3), np.uint16), "out of range"),
    (-1, np.ones((2, 3), np.uint16), "out of range"),
])
def test_bad_frames_raise_write_error(tmp_path, index, frame, words):
    writer = small_writer(tmp_path / "m.isxd")
    with pytest.raises(IsxWriteError, match=words):
        writer.set_frame_data(index, frame)
    assert writer.num_written == 0
    writer.close()
    assert listing(tmp_path) == []


def test_frame_conversions_that_keep_values(tmp_path):
    path = tmp_path / "m.isxd"
    with small_writer(path) as writer:
        writer.set_frame_data(0, np.full((2, 3), 65535, np.int64))
        writer.set_frame_data(2, np.ones((2, 3), bool))
        writer.set_frame_data(3, np.ones((2, 3), ">u2"))
    assert np.asarray(MovieFile(path).data)[:, 0, 0].tolist() == [65535, 0, 1, 1]
    with pytest.raises(IsxWriteError, match="int64"):  # a nested list is int64: no such pixels
        write_movie(tmp_path / "f.isxd", [[[1, 2]], [[3, 4]]])
    write_movie(tmp_path / "f.isxd", np.array([[[1.5, 2]], [[3, 4]]], np.float32))
    assert_same_pixels(MovieFile(tmp_path / "f.isxd").data,
                       np.array([[[1.5, 2]], [[3, 4]]], np.float32))
    write_movie(tmp_path / "g.isxd", np.ones((2, 3), np.uint16))  # one 2-D frame: an image
    assert MovieFile(tmp_path / "g.isxd").header.type == 4


def test_write_frames_checks(tmp_path):
    writer = small_writer(tmp_path / "m.isxd")
    with pytest.raises(IsxWriteError, match="too many"):
        writer.write_frames(np.zeros((4, 2, 3), np.uint16))
    with pytest.raises(IsxWriteError, match="shape"):
        writer.write_frames(np.zeros((2, 3), np.uint16))
    writer.close()
    plain = small_writer(tmp_path / "x.isxd")
    with pytest.raises(IsxWriteError, match="header"):
        plain.set_frame_data(0, np.zeros((2, 3), np.uint16), header=np.zeros(FRAME_HEADER_ITEMS))
    plain.close()
    framed = MovieWriter(tmp_path / "y.isxd", TimingInfo(1), SpacingInfo(2, 3), np.uint16,
                         frame_header_footer=True)
    with pytest.raises(IsxWriteError, match="2560"):
        framed.set_frame_data(0, np.zeros((2, 3), np.uint16), header=np.zeros(10))
    framed.close()
    for dtype, framing, timing in ((np.float32, True, TimingInfo(1)),
                                   (np.int32, False, TimingInfo(1)),
                                   (np.uint16, False, TimingInfo(3, dropped=(1, 1))),
                                   (np.uint16, False, TimingInfo(3, blank=(3,))),
                                   (np.uint16, False, TimingInfo(3, cropped=((1, 5),)))):
        with pytest.raises(IsxWriteError):
            MovieWriter(tmp_path / "z.isxd", timing, SpacingInfo(2, 3), dtype,
                        frame_header_footer=framing)
    assert listing(tmp_path) == []


def test_exception_inside_with_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), small_writer(tmp_path / "m.isxd") as w:
        w.set_frame_data(0, np.ones((2, 3), np.uint16))
        raise RuntimeError("boom")
    assert listing(tmp_path) == []


def test_too_few_frames_at_flush(tmp_path):
    path = tmp_path / "m.isxd"
    writer = small_writer(path)
    writer.set_frame_data(0, np.ones((2, 3), np.uint16))
    with pytest.raises(IsxWriteError, match="2 valid frame"):
        writer.flush()
    assert not path.exists()
    writer.close()
    assert listing(tmp_path) == []
    with pytest.raises(IsxWriteError, match="not written"), small_writer(path) as w:
        w.set_frame_data(0, np.ones((2, 3), np.uint16))
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------------------
# Damaged files: IsxFormatError (naming the file) or recovery with a warning, nothing else
# ---------------------------------------------------------------------------------------
DAMAGE = Params(6, 2, 3, np.dtype(np.uint16), (50, 1000), (1700000000123, 1000), -25200,
                [2], [(4, 4)], [], 11)


@pytest.fixture(scope="module")
def good_movie(tmp_path_factory):
    path = tmp_path_factory.mktemp("damage") / "good.isxd"
    isx_write(path, DAMAGE, DAMAGE.frames())
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[-8:])
    return raw, len(raw) - 9 - n, json.loads(raw[len(raw) - 9 - n:-9]), isx_read(path)[1]


def open_damaged(path: Path):
    """Open and read everything; return the MovieFile, or the IsxFormatError raised."""
    began = time.perf_counter()
    try:
        mf = MovieFile(path)
        np.asarray(mf.data)
        mf.timing  # noqa: B018
        if mf.header.has_frame_header_footer:
            np.asarray(mf.frame_headers)
            mf.tsc  # noqa: B018
    except IsxFormatError as err:
        assert err.path == str(path)
        assert str(path) in str(err)
        assert err.reason
        return err
    finally:
        assert time.perf_counter() - began < 10
    return mf


def test_truncated_at_every_byte(good_movie, tmp_path):
    raw = good_movie[0]
    path = tmp_path / "cut.isxd"
    for cut in range(len(raw)):
        path.write_bytes(raw[:cut])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no recovery from truncation either
            assert isinstance(open_damaged(path), IsxFormatError), cut


def write_variant(folder: Path, raw: bytes) -> Path:
    path = folder / "damaged.isxd"
    path.write_bytes(raw)
    return path


def header_variant(raw: bytes, data_size: int, header) -> bytes:
    text = _json.dumps(header).encode()
    return raw[:data_size] + text + b"\x00" + struct.pack("<Q", len(text))


@SETTINGS
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)),
                      min_size=1, max_size=3))
def test_byte_flips_in_trailer(good_movie, flips):
    raw, data_size, _, _ = good_movie
    damaged = bytearray(raw)
    for pos, xor in flips:
        damaged[data_size + pos % (len(raw) - data_size)] ^= xor
    with scratch() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore", IsxFormatWarning)
        path = write_variant(folder, bytes(damaged))
        result = open_damaged(path)
        if isinstance(result, MovieFile):  # still a valid movie: must agree with isx
            try:
                movie, frames = isx_read(path)
            except Exception:
                return
            assert_same_pixels(result.data, frames)
            assert_timing_matches(result.timing, movie.timing)


@SETTINGS
@given(stray=st.binary(min_size=1, max_size=64))
def test_appended_stray_bytes_recovered(good_movie, stray):
    raw, _, _, eager = good_movie
    with scratch() as folder:
        path = write_variant(folder, raw + stray)
        with pytest.warns(IsxFormatWarning, match=rf"ignored {len(stray)} stray byte"):
            mf = MovieFile(path)
        assert_same_pixels(mf.data, eager)
        assert mf.trailer.stray_bytes == len(stray)
        with pytest.raises(IsxFormatError):
            MovieFile(path, recover=False)


@SETTINGS
@given(length=st.integers(0, 2**64 - 1))
def test_bad_length_field(good_movie, length):
    raw = good_movie[0]
    assume(struct.pack("<Q", length) != raw[-8:])
    with scratch() as folder, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(open_damaged(write_variant(folder, raw[:-8] + struct.pack(
            "<Q", length))), IsxFormatError)


@SETTINGS
@given(garbage=st.binary(min_size=1, max_size=300)
       | st.text(st.sampled_from('{}[]":,0123456789 \nabtrue'), max_size=80).map(str.encode))
def test_garbage_json(good_movie, garbage):
    raw, data_size, _, _ = good_movie
    with scratch() as folder:
        path = write_variant(folder, raw[:data_size] + garbage + b"\x00"
                             + struct.pack("<Q", len(garbage)))
        assert isinstance(open_damaged(path), IsxFormatError)


def key_paths(obj, prefix=()):
    """Every path to a value inside a JSON object (dict keys and list indices)."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) \
        if isinstance(obj, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from key_paths(value, (*prefix, key))


def edited(header, path, value=None, delete=False):
    header = json.loads(json.dumps(header))
    node = header
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return header


OPTIONAL = {("extraProperties",), ("fileVersion",), ("hasFrameHeaderFooter",), ("producer",),
            ("timingInfo", "blank"), ("timingInfo", "cropped"), ("timingInfo", "dropped"),
            ("spacingInfo", "pixelSize"), ("spacingInfo", "topLeft"),
            ("timingInfo", "start", "utcOffset")}


REQUIRED = {("type",), ("dataType",), ("spacingInfo",), ("spacingInfo", "numPixels"),
            ("spacingInfo", "numPixels", "x"), ("spacingInfo", "numPixels", "y"),
            ("timingInfo",), ("timingInfo", "numTimes"), ("timingInfo", "period"),
            ("timingInfo", "period", "num"), ("timingInfo", "period", "den"),
            ("timingInfo", "start"), ("timingInfo", "start", "secsSinceEpoch"),
            ("timingInfo", "start", "secsSinceEpoch", "num"),
            ("timingInfo", "start", "secsSinceEpoch", "den"),
            ("timingInfo", "dropped"), ("timingInfo", "cropped"),  # frames no longer fit
            ("timingInfo", "dropped", 0), ("timingInfo", "cropped", 0)}
HARMLESS = {("extraProperties",), ("fileVersion",), ("hasFrameHeaderFooter",), ("producer",),
            ("producer", "name"), ("producer", "version"), ("timingInfo", "blank"),
            ("spacingInfo", "pixelSize"), ("spacingInfo", "topLeft"),
            ("timingInfo", "start", "utcOffset")}


def test_missing_keys(good_movie, tmp_path):
    raw, data_size, header, eager = good_movie
    paths = list(key_paths(header))
    assert REQUIRED | HARMLESS <= set(paths)
    for path_ in paths:
        damaged = write_variant(tmp_path, header_variant(raw, data_size,
                                                         edited(header, path_, delete=True)))
        result = open_damaged(damaged)
        if path_ in HARMLESS:
            assert isinstance(result, MovieFile), path_
            assert_same_pixels(result.data, eager)
        elif path_ in REQUIRED:
            assert isinstance(result, IsxFormatError), path_
            assert result.key is not None, path_
            assert result.key.split(".")[0] == path_[0]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                 max_size=3),
    max_leaves=8)


@SETTINGS
@given(choice=st.integers(0, 10**6), value=_json_values)
def test_ill_typed_keys(good_movie, choice, value):
    raw, data_size, header, _ = good_movie
    paths = list(key_paths(header))
    with scratch() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore", IsxFormatWarning)
        damaged = write_variant(folder, header_variant(
            raw, data_size, edited(header, paths[choice % len(paths)], value)))
        open_damaged(damaged)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("dataType", 3, "RGB888"), ("dataType", 4, "pixel data type"),
    ("dataType", -1, "pixel data type"), ("dataType", 2**40, "pixel data type"),
    ("dataType", "0", "wrong JSON type"), ("type", 1, "not a movie"), ("type", 5, "not a movie"),
    ("type", 99, "not a movie"), ("type", -4, "not a movie"), ("type", None, "wrong JSON type"),
    ("fileVersion", -1, "out of range"), ("hasFrameHeaderFooter", 1, "wrong JSON type"),
])
def test_unknown_codes(good_movie, tmp_path, key, value, words):
    raw, data_size, header, _ = good_movie
    path = write_variant(tmp_path, header_variant(raw, data_size, {**header, key: value}))
    err = open_damaged(path)
    assert isinstance(err, IsxFormatError)
    assert err.key == key
    assert words in str(err)
    if value == 3:
        assert isinstance(err, IsxUnsupportedError)


@pytest.mark.parametrize(("edit", "words"), [
    ({"numTimes": 2**32}, "does not match"), ({"numTimes": 2**32 + 1}, "out of range"),
    ({"numTimes": 2**64 - 1}, "out of range"), ({"numTimes": 10**30}, "out of range"),
    ({"numTimes": 2**31, "cropped": ["5 - 2147483647"]}, "implausibly many"),
    ({"numTimes": 7}, "does not match"), ({"numTimes": 5}, "does not match"),
    ({"numTimes": 10**6}, "does not match"), ({"numTimes": 0}, "does not match"),
    ({"cropped": ["99999999999999999999999999 - 1"]}, "malformed"),
    ({"cropped": ["3 - 1"]}, "invalid cropped"), ({"cropped": ["x"]}, "malformed"),
    ({"cropped": [3]}, "wrong JSON type"), ({"dropped": [2**40]}, "out of range"),
    ({"dropped": [9]}, "past the last"), ({"dropped": [-1]}, "out of range"),
    ({"dropped": [1.5]}, "wrong JSON type"), ({"dropped": "2"}, "wrong JSON type"),
    ({"period": {"num": 0, "den": 1}}, "positive"),
    ({"period": {"num": 1, "den": 0}}, "zero denominator"),
    ({"period": {"num": 1, "den": 2**63}}, "out of range"),
    ({"start": {"secsSinceEpoch": {"num": 1, "den": 1}, "utcOffset": 2**31}}, "out of range"),
])
def test_absurd_timing(good_movie, tmp_path, edit, words):
    raw, data_size, header, _ = good_movie
    header = {**header, "timingInfo": {**header["timingInfo"], **edit}}
    err = open_damaged(write_variant(tmp_path, header_variant(raw, data_size, header)))
    assert isinstance(err, IsxFormatError)
    assert words in str(err)
    assert err.key.startswith("timingInfo")


@pytest.mark.parametrize("pixels", [
    {"x": 2**20, "y": 2**20}, {"x": 2**21, "y": 1}, {"x": -1, "y": 2}, {"x": 3, "y": 3},
    {"x": 0, "y": 2}, {"x": 2**20, "y": 0},
])
def test_absurd_num_pixels(good_movie, tmp_path, pixels):
    raw, data_size, header, _ = good_movie
    header = edited(header, ("spacingInfo", "numPixels"), pixels)
    err = open_damaged(write_variant(tmp_path, header_variant(raw, data_size, header)))
    assert isinstance(err, IsxFormatError)
    assert err.key.startswith(("spacingInfo", "timingInfo"))


@SETTINGS
@given(delta=st.integers(-36, 36).filter(bool), at_start=st.booleans())
def test_data_size_mismatch(good_movie, delta, at_start):
    raw, data_size, _, _ = good_movie
    data, tail = raw[:data_size], raw[data_size:]
    if delta > 0:
        data = bytes(range(delta)) + data if at_start else data + bytes(range(delta))
    else:
        data = data[-delta:] if at_start else data[:delta]
    with scratch() as folder:
        err = open_damaged(write_variant(folder, data + tail))
        assert isinstance(err, IsxFormatError)
        assert "data section" in err.reason
        assert err.expected is not None and err.found is not None
        assert str(len(data)) in str(err.found)
