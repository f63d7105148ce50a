"""One opened reader, read from many threads at once, gives what serial reads give.

NWB conversion, dask and neuroconv's chunk iterators read one opened file from several
threads.  Here every reader kind (movies, images, cell sets, event sets, vessel sets,
``.isxb``, ``.gpio``, ``.imu``) is hammered by ``THREADS`` threads released together by
a barrier, each reading random items in random order from one *freshly opened* reader,
so that its lazy state (memory maps, JPEG index, decoders, cached properties) is also
built under contention.  The expected values are serial reads of another instance; on
synthetic files those are first checked against the values written.  Readers and their
lazy arrays pickle by path (dask distributed): a round trip gives equal data.
"""

from __future__ import annotations

import pickle
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import isxio
from isxio._lazy import RecordArray, locked_cached_property
from isxio.formats.cellset import CellSetFile, write_cell_set
from isxio.formats.common import Ratio, TimingInfo
from isxio.formats.events import EventsFile, EventsWriter
from isxio.formats.gpio import GpioFile
from isxio.formats.imu import ImuFile
from isxio.formats.isxb import IsxbFile, JpegIndex
from isxio.formats.movie import MovieFile, write_movie
from isxio.formats.vesselset import VesselSetFile, write_vessel_set
from isxio.testing import fixtures as fx

THREADS = 8
ROUNDS = 6
PER_THREAD = 24
REAL_ISXB = ("Group-20240111-080531_2024-01-12-08-55-21_sched_0.isxb",
             "Group-20240111-080531_2024-01-12-08-55-21_sched_1.isxb")
REAL_MOVIES = ("movie_longer_than_3_min.isxd", "multiplane_movie.isxd",
               "movie_part2_108x123x63.isxd", "movie_u8.isxd",
               "IM13_session1_2024-10-07_local_corr_img.isxd")
REAL_CELLSETS = ("cellset.isxd", "cellset_accepted_undecided_and_rejected_cells.isxd")
REAL_EVENTS = "sample_eventset_msr_1.isxd"
T0 = 459472532939  # a real-looking TSC (µs)

Reader = Callable[[Any, Any], Any]


# ------------------------------------------------------------------ the hammer
@pytest.fixture(autouse=True)
def busy_switching():
    """Switch threads every µs (default 5 ms) so that races show up within a test's time."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _copy(value: Any) -> Any:
    """Results as plain in-memory values (no memory-map views kept across rounds)."""
    if isinstance(value, tuple | list):
        return tuple(_copy(v) for v in value)
    return None if value is None else np.array(value)


def assert_same(got: Any, expected: Any, what: Any) -> None:
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected), what
        for g, e in zip(got, expected, strict=True):
            assert_same(g, e, what)
        return
    if expected is None:
        assert got is None, what
        return
    assert got.dtype == expected.dtype and got.shape == expected.shape, what
    np.testing.assert_array_equal(got, expected, err_msg=f"{what}")


def _close(reader: Any) -> None:
    close = getattr(reader, "close", None)
    if close is not None:
        close()


def serial(open_reader: Callable[[], Any], read: Reader, keys: list) -> dict:
    reader = open_reader()
    try:
        return {k: _copy(read(reader, k)) for k in keys}
    finally:
        _close(reader)


def hammer(open_reader: Callable[[], Any], read: Reader, keys: list, *,
           expected: dict | None = None, rounds: int = ROUNDS, per_thread: int = PER_THREAD,
           seed: int = 0) -> dict:
    """Read ``keys`` from ``THREADS`` threads at once on one reader; compare with serial.

    Each round opens a new reader, so the first accesses (lazy builds) race too.
    """
    expected = serial(open_reader, read, keys) if expected is None else expected
    rng = random.Random(seed)
    for _ in range(rounds):
        plans = [[rng.choice(keys) for _ in range(per_thread)] for _ in range(THREADS)]
        reader = open_reader()
        barrier = threading.Barrier(THREADS)

        def work(plan: list, reader: Any = reader, barrier: Any = barrier) -> list:
            barrier.wait()
            return [(k, _copy(read(reader, k))) for k in plan]

        try:
            with ThreadPoolExecutor(THREADS) as pool:
                done = list(pool.map(work, plans))
        finally:
            _close(reader)
        for results in done:
            for key, got in results:
                assert_same(got, expected[key], key)
    return expected


def array_keys(n: int, seed: int = 1) -> list:
    """Integer, negative, slice, strided, fancy (unsorted, repeated) and pixel-subset keys."""
    rng = np.random.default_rng(seed)
    keys: list = [("i", i) for i in range(min(n, 12))] + [("i", -1), ("i", n // 2)]
    keys += [("s", 0, n, 1), ("s", n // 3, n, 2), ("s", n - 1, None, -3), ("s", 1, 4, 1)]
    keys += [("f", tuple(int(x) for x in rng.integers(0, n, 5))) for _ in range(4)]
    keys += [("p", int(i)) for i in rng.integers(0, n, 3)]
    return keys


def index(arr: Any, key: tuple) -> Any:
    kind, *args = key
    if kind == "i":
        return arr[args[0]]
    if kind == "s":
        return arr[slice(*args)]
    if kind == "f":
        return arr[list(args[0])]
    rest = (slice(1, None, 2),) * (arr.ndim - 1)
    return arr[(args[0], *rest)]


def read_attr(name: str) -> Reader:
    return lambda reader, key: index(getattr(reader, name), key)


# ------------------------------------------------------------------ synthetic files
MOVIE_TIMING = TimingInfo(40, Ratio(50, 1000), dropped=(3, 17), cropped=((20, 22),))


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> dict[str, Any]:
    """Every kind of file, with the values written."""
    folder = tmp_path_factory.mktemp("threads")
    rng = np.random.default_rng(7)
    out: dict[str, Any] = {}
    frames = rng.integers(0, 2**16, (40, 12, 10), dtype=np.uint16)
    write_movie(folder / "movie.isxd", frames, timing=MOVIE_TIMING)
    out["movie"] = frames * MOVIE_TIMING.valid_mask()[:, None, None].astype(np.uint16)
    image = rng.normal(0, 1, (16, 9)).astype(np.float32)
    write_movie(folder / "image.isxd", image[None], timing=TimingInfo(1))
    out["image"] = image[None]
    timing = TimingInfo(30, Ratio(50, 1000), dropped=(4,), cropped=((10, 11),))
    fps = rng.normal(0, 1, (6, 8, 7)).astype(np.float32)
    traces = rng.normal(0, 1, (6, 30)).astype(np.float32)
    write_cell_set(folder / "cells.isxd", fps, traces, timing=timing)
    out["footprints"], out["traces"] = fps, np.where(timing.valid_mask(), traces, np.nan)
    out["events"] = _write_events(folder / "events.isxd", rng)
    out["vessels"] = _write_vessels(folder / "vessels.isxd", rng)
    stored = rng.integers(0, 256, (10, 48, 64), dtype=np.uint8)
    fx.write_isxb(folder / "behavior.isxb", stored, dropped=[2, 7])
    events = [fx.capture_gpio(T0 + 37 * k, gpi=k % 2) for k in range(200)]
    fx.write_gpio(folder / "sync.gpio", events, session={"ad": {"clock": 1000}})
    acc = rng.integers(-2000, 2000, (400, 3)).astype(np.int16)
    ori = rng.integers(-2000, 2000, (400, 3)).astype(np.int16)
    mag = rng.integers(-2000, 2000, (20, 3)).astype(np.int16)
    fx.write_imu(folder / "motion.imu", acc, ori, mag)
    out["folder"] = folder
    return out


def _write_events(path: Path, rng: np.random.Generator) -> list:
    channels = []
    with EventsWriter(path, TimingInfo(2000, Ratio(1, 1000)), [f"C{i}" for i in range(5)]) as w:
        for i in range(5):
            offs = np.sort(rng.choice(2_000_000, 50 + 20 * i, replace=False)).astype(np.uint64)
            amps = rng.normal(0, 1, len(offs)).astype(np.float32)
            w.set_cell_data(i, offs, amps)
            channels.append((offs, amps))
    return channels


def _write_vessels(path: Path, rng: np.random.Generator) -> dict:
    n, t = 4, 25
    d = dict(image=rng.normal(0, 1, (9, 11)).astype(np.float32),
             lines=rng.integers(0, 100, (n, 4, 2)).astype(np.int64),
             traces=rng.normal(0, 1, (n, t)).astype(np.float32),
             second=rng.normal(0, 1, (n, t)).astype(np.float32),
             corr=[rng.normal(0, 1, (t, 3, 2 + i, 3)).astype(np.float32) for i in range(n)])
    write_vessel_set(path, "rbc velocity", d["image"], d["lines"], d["traces"], d["second"],
                     correlations=d["corr"], timing=TimingInfo(t))
    return d


def vessel_read(reader: VesselSetFile, key: Any) -> Any:
    what, i = key
    if what == "corr":
        return reader.correlations(i)
    if what == "projection":
        return reader.projection
    return getattr(reader, what)[i]


def events_read(reader: Any, key: Any) -> Any:
    what, i = key
    if what == "all":
        return reader.all_channel_data()[i]
    return reader.channel_data(i, **({"stored_offsets": True} if what == "stored" else {}))


def gpio_read(reader: Any, key: Any) -> Any:
    what, i = key
    if what == "exact":
        return reader.channel_data(i, exact=True)
    return reader.channel_data(i)


# ------------------------------------------------------------------ synthetic: threads
def test_movie_threads_match_values_written(synth):
    path = synth["folder"] / "movie.isxd"
    keys = array_keys(40)
    expected = serial(lambda: MovieFile(path), read_attr("data"), keys)
    for key in keys:  # the serial reads are right
        np.testing.assert_array_equal(expected[key], index(synth["movie"], key))
    hammer(lambda: MovieFile(path), read_attr("data"), keys, expected=expected)
    hammer(lambda: isxio.open(path), lambda m, k: m.data[k[1]] if k[0] == "i"
           else m.valid_mask, [("i", i) for i in range(40)] + [("mask", 0)])


def test_image_threads(synth):
    path = synth["folder"] / "image.isxd"
    keys = [("i", 0), ("i", -1), ("p", 0), ("s", 0, 1, 1)]
    expected = hammer(lambda: MovieFile(path), read_attr("data"), keys, rounds=3)
    np.testing.assert_array_equal(expected[("i", 0)], synth["image"][0])


def test_cell_set_threads_match_values_written(synth):
    path = synth["folder"] / "cells.isxd"
    keys = [("footprints", k) for k in array_keys(6)] + [("traces", k) for k in array_keys(6)]

    def read(reader: CellSetFile, key: Any) -> Any:
        return index(getattr(reader, key[0]), key[1])

    expected = hammer(lambda: CellSetFile(path), read, keys)
    for (name, key), value in expected.items():
        np.testing.assert_array_equal(value, index(synth[name], key))


def test_event_set_threads_match_values_written(synth):
    path = synth["folder"] / "events.isxd"
    keys = [(what, i) for what in ("isx", "stored", "all") for i in range(5)]
    expected = hammer(lambda: EventsFile(path), events_read, keys)
    for i, (offs, amps) in enumerate(synth["events"]):
        np.testing.assert_array_equal(expected[("stored", i)][0], offs)
        np.testing.assert_array_equal(expected[("stored", i)][1], amps)


def test_vessel_set_threads_match_values_written(synth):
    path = synth["folder"] / "vessels.isxd"
    d = synth["vessels"]
    keys = [("projection", 0)] + [(what, i) for what in ("traces", "direction_traces",
                                                         "lines", "corr") for i in range(4)]
    expected = hammer(lambda: VesselSetFile(path), vessel_read, keys)
    np.testing.assert_array_equal(expected[("projection", 0)], d["image"])
    for i in range(4):
        np.testing.assert_array_equal(expected[("traces", i)], d["traces"][i])
        np.testing.assert_array_equal(expected[("direction_traces", i)], d["second"][i])
        np.testing.assert_array_equal(expected[("lines", i)], d["lines"][i])
        np.testing.assert_array_equal(expected[("corr", i)], d["corr"][i])


def test_isxb_threads(synth):
    pytest.importorskip("av")
    path = synth["folder"] / "behavior.isxb"
    keys = array_keys(12)
    expected = hammer(lambda: isxio.open(path), read_attr("data"), keys, rounds=10)
    assert not expected[("i", 2)].any() and not expected[("i", 7)].any()  # dropped frames


def test_gpio_threads(synth):
    path = synth["folder"] / "sync.gpio"
    n = GpioFile(path).num_channels
    keys = [(what, i) for what in ("isx", "exact") for i in range(n)]
    expected = hammer(lambda: GpioFile(path), gpio_read, keys)
    offs, values = expected[("exact", GpioFile(path).channel_index("Digital GPI 0"))]
    assert len(offs) and set(np.unique(values).tolist()) <= {0.0, 1.0}


def test_imu_threads(synth):
    path = synth["folder"] / "motion.imu"
    keys = [(what, i) for what in ("isx", "exact") for i in range(9)]
    expected = hammer(lambda: ImuFile(path), gpio_read, keys)
    assert len(expected[("isx", 0)][0]) == 400 and len(expected[("isx", 8)][0]) == 20


def test_dask_threaded_scheduler_matches_serial(synth):
    dask = pytest.importorskip("dask")
    pytest.importorskip("av")
    folder = synth["folder"]
    with MovieFile(folder / "movie.isxd") as movie:
        arr = movie.data.to_dask()
        with dask.config.set(scheduler="threads", num_workers=THREADS):
            np.testing.assert_array_equal(arr.compute(), synth["movie"])
            np.testing.assert_array_equal(arr[::3, 2:9].sum(axis=0).compute(),
                                          synth["movie"][::3, 2:9].sum(axis=0))
    behavior = isxio.open(folder / "behavior.isxb")
    expected = np.asarray(isxio.open(folder / "behavior.isxb").data)
    for _ in range(3):
        got = behavior.data.to_dask().compute(scheduler="threads", num_workers=THREADS)
        np.testing.assert_array_equal(got, expected)
    with CellSetFile(folder / "cells.isxd") as cells:
        got = cells.traces.to_dask().compute(scheduler="threads", num_workers=THREADS)
        np.testing.assert_array_equal(got, synth["traces"])


# ------------------------------------------------------------------ synthetic: pickling
def _pickled(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


def test_every_reader_kind_pickles_by_path(synth):
    pytest.importorskip("av")
    folder = synth["folder"]
    arrays = {"movie.isxd": ("data",), "image.isxd": ("data",),
              "cells.isxd": ("footprints", "traces"), "behavior.isxb": ("data",),
              "vessels.isxd": ("projection", "lines", "traces", "direction_traces"),
              "events.isxd": ("packets",), "sync.gpio": ("packets",),
              "motion.imu": ("packets",)}
    for name, attrs in arrays.items():
        reader = isxio.open(folder / name)
        for attr in attrs:
            before = np.asarray(getattr(reader, attr))  # lazy state built, then pickled
            copy = _pickled(reader)
            assert type(copy) is type(reader) and copy is not reader
            assert copy.path == reader.path
            assert_same(np.asarray(getattr(copy, attr)), before, (name, attr))
            assert_same(np.asarray(_pickled(getattr(reader, attr))), before, (name, attr))
        _close(reader)
    events = EventsFile(folder / "events.isxd")
    assert_same(_copy(_pickled(events).all_channel_data()), _copy(events.all_channel_data()),
                "events")
    for cls, name in ((GpioFile, "sync.gpio"), (ImuFile, "motion.imu")):
        g = cls(folder / name, exact=True)
        copy = _pickled(g)
        assert copy.exact and copy.strict == g.strict
        assert_same(_copy(copy.channel_data(0)), _copy(g.channel_data(0)), name)


def test_pickled_isxb_frames_reopen(synth):
    pytest.importorskip("av")
    path = synth["folder"] / "behavior.isxb"
    movie = isxio.open(path)
    first = movie.frame(5)  # decoder pool and JPEG index now exist
    frames = _pickled(movie.data)
    assert frames._movie is not movie and frames._movie.path == movie.path
    np.testing.assert_array_equal(frames[5], first)
    np.testing.assert_array_equal(frames[:], movie.data[:])


# ------------------------------------------------------------------ the building blocks
def test_locked_cached_property_builds_once():
    calls = []

    class Slow:
        @locked_cached_property
        def value(self) -> list:
            """Doc kept."""
            calls.append(threading.get_ident())
            time.sleep(0.05)
            return [len(calls)]

    obj = Slow()
    barrier = threading.Barrier(THREADS)

    def get(_: int) -> list:
        barrier.wait()
        return obj.value

    with ThreadPoolExecutor(THREADS) as pool:
        got = list(pool.map(get, range(THREADS)))
    assert len(calls) == 1 and all(g is got[0] for g in got)
    assert Slow.value.__doc__ == "Doc kept." and obj.value is got[0]


def test_record_array_close_while_reading(synth):
    """``close()`` from another thread never breaks a read (the map just reopens)."""
    path = synth["folder"] / "movie.isxd"
    movie = MovieFile(path)
    arr: RecordArray = movie.data
    stop = threading.Event()

    def closer() -> None:
        while not stop.is_set():
            arr.close()

    corner = synth["movie"][:, 5, 4]

    def reader(seed: int) -> int:
        frames = np.random.default_rng(seed).integers(0, 40, 1000).tolist()
        got = [arr[i][5, 4] for i in frames]  # reads as tight as possible: widest race
        np.testing.assert_array_equal(got, corner[frames])
        return seed

    worker = threading.Thread(target=closer)
    worker.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            assert sorted(pool.map(reader, range(4))) == list(range(4))
    finally:
        stop.set()
        worker.join()
        movie.close()


class _SmallWindowIndex(JpegIndex):
    WINDOW = 64  # many small reads: the incremental indexing has many steps to race on


def test_jpeg_index_built_by_racing_threads(synth):
    pytest.importorskip("av")
    movie = IsxbFile(synth["folder"] / "behavior.isxb")
    expected = [tuple(e) for e in movie.jpeg_extents.tolist()]
    n = len(expected)
    for seed in range(20):
        index = _SmallWindowIndex(movie._video, n, path=movie.path)
        barrier = threading.Barrier(THREADS)
        order = random.Random(seed).sample(range(n), n)

        def get(t: int, index: Any = index, barrier: Any = barrier, order: list = order) -> list:
            barrier.wait()
            return [(k, index.get(k)) for k in order[t:] + order[:t]]

        with ThreadPoolExecutor(THREADS) as pool:
            for found in pool.map(get, range(THREADS)):
                assert all(ext == expected[k] for k, ext in found), seed
        assert index.extents == expected and index.get(n) is None


class _ClosedRightAfterMapping(RecordArray):
    """A close() from another thread landing just after the map is stored (made certain)."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "_mm" and value is not None:
            super().__setattr__("_mm", None)


def test_record_array_read_survives_close_right_after_mapping(synth):
    movie = MovieFile(synth["folder"] / "movie.isxd")
    d = movie.data
    arr = _ClosedRightAfterMapping(d.path, d.offset, d.record_items, d.item_start,
                                   d.item_shape, d.n_records, d.dtype, d.index_map)
    np.testing.assert_array_equal(arr[5], synth["movie"][5])
    np.testing.assert_array_equal(arr[::7], synth["movie"][::7])
    assert arr._mm is None


# ------------------------------------------------------------------ real files
@pytest.mark.realdata
def test_real_isxb_threads(realdata):
    """The issue's case: 8 threads on one opened nVision file (segfaulted before)."""
    pytest.importorskip("av")
    keys = [("i", i) for i in range(10)] + [("f", (9, 0, 9)), ("p", 4)]
    for name in REAL_ISXB:
        hammer(lambda name=name: isxio.open(realdata / name), read_attr("data"), keys,
               rounds=3, per_thread=8)


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_MOVIES)
def test_real_movie_threads(realdata, name):
    path = realdata / name
    n = MovieFile(path).num_frames
    hammer(lambda: MovieFile(path), read_attr("data"), array_keys(n), rounds=4)
    if MovieFile(path).header.has_frame_header_footer:
        hammer(lambda: MovieFile(path), lambda m, k: m.tsc if k[0] == "tsc"
               else index(m.frame_headers, k), [("tsc", 0), *array_keys(n)], rounds=3)


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_CELLSETS)
def test_real_cell_set_threads(realdata, name):
    path = realdata / name
    n = CellSetFile(path).num_cells
    keys = [(attr, k) for attr in ("footprints", "traces") for k in array_keys(n)]
    hammer(lambda: CellSetFile(path), lambda r, k: index(getattr(r, k[0]), k[1]), keys,
           rounds=4)


@pytest.mark.realdata
def test_real_event_set_threads(realdata):
    path = realdata / REAL_EVENTS
    keys = [(what, i) for what in ("isx", "stored", "all") for i in range(5)]
    hammer(lambda: EventsFile(path), events_read, keys, rounds=4)


@pytest.mark.realdata
def test_real_files_pickle_by_path(realdata):
    pytest.importorskip("av")
    for name in (*REAL_MOVIES, *REAL_CELLSETS, REAL_EVENTS, REAL_ISXB[0]):
        reader = isxio.open(realdata / name)
        attr = {CellSetFile: "traces", EventsFile: "packets"}.get(type(reader), "data")
        before = np.asarray(getattr(reader, attr)[:3])
        copy = _pickled(reader)
        np.testing.assert_array_equal(np.asarray(getattr(copy, attr)[:3]), before)
        np.testing.assert_array_equal(np.asarray(_pickled(getattr(reader, attr))[:3]), before)
        _close(reader)
        _close(copy)
