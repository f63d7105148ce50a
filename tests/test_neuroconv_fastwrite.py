"""The chunk-by-chunk HDF5 write of movies: correct, readable by any reader, bounded memory.

Frames read back (by h5py with its own deflate filter, and by pynwb) are compared with
the frames the test wrote; stored chunks are compared with the ones HDF5's own filter
writes for the same dataset.  Speed is measured in ``benchmarks/bench_nwb.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
import zlib
from typing import ClassVar

import numpy as np
import pytest

pytest.importorskip("neuroconv")

import h5py
import nwbinspector
from neuroconv.tools.nwb_helpers import (
    configure_and_write_nwbfile,
    get_default_backend_configuration,
)
from pynwb import NWBHDF5IO

from isxio import _h5chunks
from isxio.formats.movie import write_movie
from isxio.neuroconv import InscopixImagingInterface
from isxio.neuroconv._chunked import ChunkPlan, plan_for, write_chunks

SUBJECT = {"subject_id": "m1", "species": "Mus musculus", "sex": "M", "age": "P90D"}
DATA = "acquisition/{}/data"


def _movie(path, dtype=np.uint16, shape=(53, 13, 11), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        frames = rng.normal(100, 20, shape).astype(dtype)
    else:
        frames = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    write_movie(path, frames)
    return frames


def _write(interface, out, *, chunks=None, compressors=("gzip",), options=None,
           fast_write=True):
    """add_to_nwbfile + the configured write; returns {series name: its iterator}."""
    metadata = interface.get_metadata()
    metadata["Subject"] = SUBJECT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwbfile = interface.create_nwbfile(metadata=metadata, fast_write=fast_write)
    config = get_default_backend_configuration(nwbfile, backend="hdf5")
    for location, dataset in config.dataset_configurations.items():
        if location.endswith("/data") and "PhotonSeries" in location:
            if chunks is not None:
                dataset.chunk_shape = chunks
            dataset.compressors = list(compressors) if compressors else None
            dataset.compressor_options = options
    configure_and_write_nwbfile(nwbfile, nwbfile_path=str(out), backend_configuration=config)
    return {name: series.data.data for name, series in nwbfile.acquisition.items()}


def _nwb_frames(path, name="OnePhotonSeries") -> np.ndarray:
    """Frames as h5py reads them with HDF5's filters, in the movie's (time, rows, cols)."""
    with h5py.File(path, "r") as f:
        data = f[DATA.format(name)]
        return data[:].transpose(0, 2, 1) if data.ndim == 3 else data[:].transpose(0, 2, 1, 3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("compressors", [("gzip",), None])
@pytest.mark.parametrize("tile", [64, 4])
def test_frames_read_back_equal_the_source(tmp_path, monkeypatch, dtype, compressors, tile):
    monkeypatch.setattr(_h5chunks, "TRANSPOSE_TILE", tile)  # 4: several blocks per chunk
    movie = tmp_path / "m.isxd"
    frames = _movie(movie, dtype)
    out = tmp_path / "m.nwb"
    # chunk edges are not multiples of the shape: partial chunks on every axis
    iterators = _write(InscopixImagingInterface(movie), out, chunks=(7, 5, 6),
                       compressors=compressors)
    assert iterators["OnePhotonSeries"].direct_chunks == 8 * 3 * 3  # the fast path ran
    np.testing.assert_array_equal(_nwb_frames(out), frames)
    with h5py.File(out, "r") as f:
        data = f[DATA.format("OnePhotonSeries")]
        assert data.chunks == (7, 5, 6) and data.dtype == dtype and not data.shuffle
        assert data.compression == ("gzip" if compressors else None)
    with NWBHDF5IO(str(out), "r") as io:
        series = io.read().acquisition["OnePhotonSeries"]
        np.testing.assert_array_equal(np.asarray(series.data[:]).transpose(0, 2, 1), frames)


@pytest.mark.parametrize(("level", "divisor"), [(1, 64), (4, 64), (9, 64), (4, 1)])
def test_chunks_are_the_ones_hdf5s_own_deflate_filter_writes(tmp_path, level, divisor,
                                                            monkeypatch):
    """Same chunks, masks and bytes; divisor 1: noise that deflate cannot shrink.

    With the standard library's zlib (as HDF5 uses zlib): zlib-ng, used when installed,
    writes other (equally valid) deflate bytes, checked by the read-back tests.
    """
    monkeypatch.setattr("isxio._h5chunks.deflate", zlib.compress)
    movie = tmp_path / "m.isxd"
    frames = _movie(movie, np.uint16, (40, 17, 9)) // divisor
    write_movie(movie, frames, overwrite=True)
    stored = {}
    for fast in (True, False):
        out = tmp_path / f"{fast}.nwb"
        it = _write(InscopixImagingInterface(movie), out, chunks=(6, 4, 10),
                    options=[{"level": level}], fast_write=fast)["OnePhotonSeries"]
        assert (it.direct_chunks is not None) == fast
        with h5py.File(out, "r") as f:
            data = f[DATA.format("OnePhotonSeries")]
            assert data.compression_opts == level
            stored[fast] = {data.id.get_chunk_info(i).chunk_offset:
                            data.id.read_direct_chunk(data.id.get_chunk_info(i).chunk_offset)
                            for i in range(data.id.get_num_chunks())}
    assert stored[True].keys() == stored[False].keys()
    for offset, (mask, raw) in stored[False].items():
        ours_mask, ours = stored[True][offset]
        assert ours_mask == mask == 0
        # the same zlib stream: same decoded chunk and (same zlib library) same bytes
        assert ours[:1] == raw[:1] == b"\x78"
        assert zlib.decompress(ours) == zlib.decompress(raw)
        assert ours == raw
    np.testing.assert_array_equal(_nwb_frames(tmp_path / "True.nwb"), frames)


def test_dropped_frames_skipped_non_contiguous_reads(tmp_path):
    from tests.test_planes import _write_interleaved  # (frame headers; needs isx to import)

    movie = tmp_path / "d.isxd"
    dropped = (3, 4, 9, 17, 18, 19, 31)
    frames = _write_interleaved(movie, 40, 1, dropped=dropped)
    valid = np.setdiff1d(np.arange(40), dropped)
    out = tmp_path / "d.nwb"
    it = _write(InscopixImagingInterface(movie, invalid_frames="skip"), out, chunks=(5, 6, 3))
    assert it["OnePhotonSeries"].direct_chunks == 7 * 1 * 2
    np.testing.assert_array_equal(_nwb_frames(out), frames[valid])
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert len(nwb.invalid_times) == 4  # runs (3, 4), 9, (17..19), 31


def test_multiplane_one_series_per_plane(tmp_path):
    from tests.test_planes import _multiplane_extra, _write_interleaved

    movie = tmp_path / "mp.isxd"
    frames = _write_interleaved(movie, 31, 3, extra=_multiplane_extra(3, (100, 400, 700)))
    out = tmp_path / "mp.nwb"
    iterators = _write(InscopixImagingInterface(movie), out, chunks=(4, 5, 3),
                       compressors=None)
    assert sorted(iterators) == [f"OnePhotonSeriesPlane{k}" for k in range(3)]
    for k in range(3):
        own = frames[k::3]  # plane 0 has 11 frames, planes 1 and 2 have 10
        # (time, columns, rows) = (10 or 11, 6, 4) in chunks of (4, 5, 3)
        assert iterators[f"OnePhotonSeriesPlane{k}"].direct_chunks == 3 * 2 * 2
        np.testing.assert_array_equal(_nwb_frames(out, f"OnePhotonSeriesPlane{k}"), own)


def test_volumetric_dataset_four_axes_with_a_fill_value(tmp_path, monkeypatch):
    """A (time, rows, cols, planes) source; edge chunks padded with the fill value, as HDF5
    pads them: every stored chunk equals the one HDF5 writes from the same array."""
    monkeypatch.setattr("isxio._h5chunks.deflate", zlib.compress)  # HDF5's zlib
    rng = np.random.default_rng(3)
    source = rng.integers(0, 600, (23, 7, 5, 3), dtype=np.uint16)
    expected = source.transpose(0, 2, 1, 3)  # NWB order
    layout = {"shape": expected.shape, "dtype": np.uint16, "chunks": (4, 2, 3, 2),
              "compression": "gzip", "compression_opts": 2, "fillvalue": 7}
    with h5py.File(tmp_path / "v.h5", "w") as f:
        ours = f.create_dataset("ours", **layout)
        f.create_dataset("hdf5", **layout)[...] = expected
        plan = plan_for(ours, expected.shape, np.dtype(np.uint16))
        assert plan == ChunkPlan(expected.shape, (4, 2, 3, 2), np.dtype(np.uint16), 2, 7)
        count = write_chunks(ours, plan, lambda a, b: source[a:b], axes=(0, 2, 1, 3),
                             workers=3)
        assert count == 6 * 3 * 3 * 2
    with h5py.File(tmp_path / "v.h5", "r") as f:
        np.testing.assert_array_equal(f["ours"][:], expected)
        for index in np.ndindex(6, 3, 3, 2):
            offset = tuple(int(k * c) for k, c in zip(index, (4, 2, 3, 2), strict=True))
            assert f["ours"].id.read_direct_chunk(offset) == \
                f["hdf5"].id.read_direct_chunk(offset)
        edge = np.frombuffer(zlib.decompress(f["ours"].id.read_direct_chunk((20, 4, 6, 2))[1]),
                             np.uint16).reshape(4, 2, 3, 2)
        assert (edge[3:] == 7).all() and (edge[:, 1:] == 7).all()  # outside the extent


def test_plan_refuses_what_it_cannot_write_exactly(tmp_path):
    with h5py.File(tmp_path / "p.h5", "w") as f:
        u2 = np.dtype(np.uint16)

        def make(name, **kw):
            return f.create_dataset(name, shape=(9, 4, 4), dtype=u2, **kw)

        assert plan_for(make("raw", chunks=(2, 4, 4)), (9, 4, 4), u2).level is None
        assert plan_for(make("gz", chunks=(2, 4, 4), compression="gzip"), (9, 4, 4), u2).level == 4
        for name, kw in {"contiguous": {}, "shuffle": {"chunks": (2, 4, 4), "shuffle": True},
                         "lzf": {"chunks": (2, 4, 4), "compression": "lzf"},
                         "fletcher": {"chunks": (2, 4, 4), "fletcher32": True},
                         "gz_shuffle": {"chunks": (2, 4, 4), "compression": "gzip",
                                        "shuffle": True}}.items():
            assert plan_for(make(name, **kw), (9, 4, 4), u2) is None, name
        gz = f["gz"]
        assert plan_for(gz, (9, 4, 5), u2) is None  # another shape
        assert plan_for(gz, (9, 4, 4), np.dtype(np.int16)) is None  # another dtype


@pytest.mark.parametrize("compressors", [["shuffle", "gzip"], ["lzf"]])
def test_other_filters_fall_back_to_neuroconvs_path(tmp_path, compressors):
    movie = tmp_path / "m.isxd"
    frames = _movie(movie)
    out = tmp_path / "m.nwb"
    it = _write(InscopixImagingInterface(movie), out, chunks=(7, 5, 6),
                compressors=compressors)["OnePhotonSeries"]
    assert it.direct_chunks is None
    np.testing.assert_array_equal(_nwb_frames(out), frames)
    with h5py.File(out, "r") as f:
        data = f[DATA.format("OnePhotonSeries")]
        assert data.shuffle == ("shuffle" in compressors)


def test_run_conversion_honours_the_backend_configuration(tmp_path):
    movie = tmp_path / "m.isxd"
    frames = _movie(movie)
    interface = InscopixImagingInterface(movie)
    metadata = interface.get_metadata()
    metadata["Subject"] = SUBJECT
    for level in (None, 7):
        nwbfile = interface.create_nwbfile(metadata=metadata)
        config = interface.get_default_backend_configuration(nwbfile, backend="hdf5")
        dataset = config.dataset_configurations["acquisition/OnePhotonSeries/data"]
        dataset.compressors = None if level is None else ["gzip"]
        dataset.compressor_options = None if level is None else [{"level": level}]
        out = tmp_path / f"{level}.nwb"
        interface.run_conversion(nwbfile_path=str(out), metadata=metadata, overwrite=True,
                                 backend_configuration=config)
        with h5py.File(out, "r") as f:
            data = f[DATA.format("OnePhotonSeries")]
            assert data.compression_opts == level
        np.testing.assert_array_equal(_nwb_frames(out), frames)
    found = [m for config in (None, nwbinspector.load_config("dandi"))
             for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(out), config=config)
             if m.importance in (nwbinspector.Importance.CRITICAL,
                                 nwbinspector.Importance.BEST_PRACTICE_VIOLATION)
             and m.check_function_name not in ("check_imaging_plane_location_allen_ccf",
                                               "check_data_orientation")]
    assert not found, [(m.check_function_name, m.message) for m in found]


def test_inside_a_converter_pipe_and_with_zarr(tmp_path):
    from hdmf_zarr import NWBZarrIO
    from neuroconv import ConverterPipe

    movie = tmp_path / "m.isxd"
    frames = _movie(movie)
    converter = ConverterPipe(data_interfaces={"imaging": InscopixImagingInterface(movie)})
    metadata = converter.get_metadata()
    metadata["Subject"] = SUBJECT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter.run_conversion(nwbfile_path=str(tmp_path / "c.nwb"), metadata=metadata,
                                 overwrite=True)
        converter.run_conversion(nwbfile_path=str(tmp_path / "c.nwb.zarr"), metadata=metadata,
                                 overwrite=True, backend="zarr")
    np.testing.assert_array_equal(_nwb_frames(tmp_path / "c.nwb"), frames)
    with NWBZarrIO(str(tmp_path / "c.nwb.zarr"), mode="r") as io:
        series = io.read().acquisition["OnePhotonSeries"]
        np.testing.assert_array_equal(np.asarray(series.data[:]).transpose(0, 2, 1), frames)


MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys, warnings
    from isxio.neuroconv import InscopixImagingInterface
    from neuroconv.tools.nwb_helpers import (configure_and_write_nwbfile,
                                             get_default_backend_configuration)
    movie, out, compress = sys.argv[1], sys.argv[2], sys.argv[3] == "gzip"
    warnings.simplefilter("ignore")
    interface = InscopixImagingInterface(movie)
    metadata = interface.get_metadata()
    nwbfile = interface.create_nwbfile(metadata=metadata)
    config = get_default_backend_configuration(nwbfile, backend="hdf5")
    for dataset in config.dataset_configurations.values():
        dataset.compressors = ["gzip"] if compress else None
        dataset.compressor_options = [{"level": 1}] if compress else None
    def peak_kib():  # this process's own high-water RSS (ru_maxrss keeps the parent's)
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
    before = peak_kib()
    configure_and_write_nwbfile(nwbfile, nwbfile_path=out, backend_configuration=config)
    after = peak_kib()
    direct = nwbfile.acquisition["OnePhotonSeries"].data.data.direct_chunks
    print(json.dumps({"before_kib": before, "after_kib": after, "direct": direct}))
""")


FRAMES, POOL = 500, 16


@pytest.fixture(scope="module")
def big_movie(tmp_path_factory):
    """A 300 MB movie cycling through 16 noisy frames, and that pool."""
    pool = np.random.default_rng(0).normal(1000, 10, (POOL, 500, 600)).astype(np.uint16)
    movie = tmp_path_factory.mktemp("big") / "big.isxd"
    write_movie(movie, _Cycle(pool, FRAMES))
    return movie, pool


@pytest.mark.parametrize("compress", ["none", "gzip"])
def test_peak_memory_does_not_grow_with_the_movie(tmp_path, big_movie, compress):
    """Peak RSS (memory-mapped pages included) grows far less than the 300 MB movie.

    (~70 MB here; ~330 MB when the memory maps are not dropped after each block.)
    """
    movie, pool = big_movie
    out = tmp_path / "big.nwb"
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(movie), str(out),
                             compress], capture_output=True, text=True, check=True)
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert stats["direct"]  # the fast path ran
    growth_mb = (stats["after_kib"] - stats["before_kib"]) / 1024
    size_mb = movie.stat().st_size / 2**20
    assert growth_mb < size_mb / 2, (growth_mb, size_mb)
    np.testing.assert_array_equal(_nwb_frames(out)[::37], pool[np.arange(FRAMES)[::37] % POOL])


class _Cycle:
    """A (frames, rows, cols) source cycling through a pool of frames (no big array)."""

    def __init__(self, pool: np.ndarray, frames: int) -> None:
        self.pool, self.shape, self.dtype = pool, (frames, *pool.shape[1:]), pool.dtype

    def __getitem__(self, key: slice) -> np.ndarray:
        return self.pool[np.arange(*key.indices(self.shape[0])) % len(self.pool)]


def test_faster_deflate_when_installed_decodes_with_hdf5s_filter(tmp_path):
    """zlib-ng (when installed) writes standard zlib streams: h5py's filter reads them."""
    pytest.importorskip("zlib_ng")
    from isxio.neuroconv import _chunked

    assert _chunked.deflate is not zlib.compress
    movie = tmp_path / "m.isxd"
    frames = _movie(movie, np.uint16, (30, 17, 9))
    write_movie(movie, frames, overwrite=True)
    out = tmp_path / "ng.nwb"
    it = _write(InscopixImagingInterface(movie), out, chunks=(6, 4, 10),
                options=[{"level": 4}], fast_write=True)["OnePhotonSeries"]
    assert it.direct_chunks is not None
    np.testing.assert_array_equal(_nwb_frames(out), frames)


def test_write_chunks_reports_progress_after_every_row_of_chunks(tmp_path):
    frames = np.arange(23 * 6 * 5, dtype=np.uint16).reshape(23, 6, 5)
    seen: list[int] = []
    with h5py.File(tmp_path / "p.h5", "w") as f:
        dset = f.create_dataset("d", shape=frames.shape, dtype=frames.dtype, chunks=(4, 3, 5),
                                compression="gzip")
        plan = plan_for(dset, frames.shape, frames.dtype)
        assert write_chunks(dset, plan, lambda a, b: frames[a:b], workers=2,
                            on_progress=seen.append) == 6 * 2
        np.testing.assert_array_equal(dset[:], frames)
    assert seen == [4, 8, 12, 16, 20, 23]  # one call per row of chunks along time, in order


class _RecordingBar:
    """A tqdm stand-in (hdmf's ``progress_bar_class``) that records every position."""

    instances: ClassVar[list[_RecordingBar]] = []

    def __init__(self, total: int, **_: object) -> None:
        self.total, self.n, self.positions, self.closed = total, 0, [], False
        _RecordingBar.instances.append(self)

    def update(self, n: int = 1) -> None:
        self.n += n
        self.positions.append(self.n)

    def close(self) -> None:
        self.closed = True

    def write(self, *_: object) -> None:
        pass


def test_progress_bar_moves_during_the_fast_write(tmp_path):
    movie = tmp_path / "m.isxd"
    frames = _movie(movie, shape=(64, 13, 11))
    _RecordingBar.instances.clear()
    interface = InscopixImagingInterface(movie)
    metadata = interface.get_metadata()
    metadata["Subject"] = SUBJECT
    options = {"display_progress": True, "progress_bar_class": _RecordingBar,
               "buffer_shape": (8, 11, 13), "chunk_shape": (8, 11, 13)}
    out = tmp_path / "m.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwbfile = interface.create_nwbfile(metadata=metadata, iterator_options=options)
    configure_and_write_nwbfile(nwbfile, nwbfile_path=str(out), backend="hdf5")
    assert nwbfile.acquisition["OnePhotonSeries"].data.data.direct_chunks == 8  # fast path
    np.testing.assert_array_equal(_nwb_frames(out), frames)
    [bar] = [b for b in _RecordingBar.instances if b.positions]
    # 8 rows of chunks, 8 buffers: the bar steps once per row, not once at the end
    assert bar.total == 8 and bar.positions == list(range(1, 9)) and bar.closed
