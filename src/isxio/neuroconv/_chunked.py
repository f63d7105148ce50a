"""Fast, bounded-memory writing of imaging frames into an HDF5 (NWB) dataset.

neuroconv writes a movie through hdmf: a ``GenericDataChunkIterator`` hands hdmf buffers
of frames and h5py compresses every chunk with gzip in one thread, holding the GIL.
:class:`DirectWriteIterator` is that same iterator (same shape, dtype, chunk and buffer
shapes, so ``get_default_backend_configuration`` / ``configure_backend`` treat it exactly
as neuroconv's own) with one shortcut:

1. hdmf creates the dataset as configured (shape, chunks, compression, ...) and then asks
   the iterator for its first buffer (``HDF5IODataChunkIteratorQueue._write_chunk(dset,
   data)``).  The iterator finds that ``h5py.Dataset`` in its caller's frame (the hdmf
   function holds both the dataset and the iterator).
2. It reads the dataset's own creation properties and takes the shortcut only when it
   writes exactly what HDF5 would: a chunked dataset of the iterator's shape and dtype
   whose filter pipeline is empty or is deflate (gzip) alone.  Shuffle, fletcher32,
   scale-offset, other compressors, a contiguous layout, a Zarr array (no ``h5py.Dataset``
   in sight), a different hdmf: nothing found, and the normal buffered path runs.
3. It then fills every chunk itself: the main thread reads frames from the extractor one
   row of chunks along time at a time (a slice of the memory map), a thread pool
   transposes each chunk to NWB's (time, columns, rows) order, pads an edge chunk with the
   fill value (0, as HDF5 does) and compresses it with ``zlib`` (the zlib stream HDF5's
   deflate filter writes and reads; zlib releases the GIL, so chunks are compressed in
   parallel; zlib-ng's compatible and faster ``compress`` when it is installed), and the
   main thread stores it with ``dset.id.write_direct_chunk``, in order.  At most
   ``2 * workers`` chunks are in flight, and the extractor's memory maps are dropped
   after every row of chunks, so memory (RSS included) does not grow with the movie.
   The iterator's progress bar, when shown, moves after every row of chunks.  Then the
   iterator reports that it is exhausted.

Any reader (h5py, HDF5 tools, pynwb, MATLAB) decodes the chunks with its ordinary
deflate filter: nothing but the writer differs.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product
from typing import Any

import h5py
import numpy as np
from neuroconv.tools.roiextractors.imagingextractordatachunkiterator import (
    ImagingExtractorDataChunkIterator,
)

__all__ = ["ChunkPlan", "DirectWriteIterator", "deflate", "plan_for", "write_chunks"]


def _fastest_deflate() -> Callable[..., bytes]:
    """zlib-ng's ``compress`` when installed (same zlib stream format, about twice as fast
    at the same level, GIL released), else the standard library's."""
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        return zlib.compress
    return zlib_ng.compress


#: the deflate used for chunks: any zlib-format stream decodes with HDF5's deflate filter
deflate = _fastest_deflate()

#: the largest row of chunks along time (full frames) read at once; above it, the
#: normal buffered path is used
SLAB_BUDGET_BYTES = 256 * 2**20

#: source rows per block of a transposing copy
TRANSPOSE_TILE = 64

#: how many caller frames are searched for the dataset being written
_FRAMES_SEARCHED = 4


@dataclass(frozen=True)
class ChunkPlan:
    """How to write one dataset chunk by chunk."""

    shape: tuple[int, ...]  #: dataset shape, NWB order (time, columns, rows[, planes])
    chunks: tuple[int, ...]  #: chunk shape
    dtype: np.dtype
    level: int | None  #: zlib level, None when the chunks are stored raw
    fill: Any = 0  #: the dataset's fill value (pads edge chunks)

    @property
    def slab_bytes(self) -> int:
        """Bytes of one row of chunks along time (full frames)."""
        return int(np.prod((self.chunks[0], *self.shape[1:]), dtype=np.int64)) \
            * self.dtype.itemsize


def plan_for(dset: h5py.Dataset, shape: tuple[int, ...], dtype: np.dtype) -> ChunkPlan | None:
    """The plan for ``dset``, or None unless writing it chunk by chunk is exactly equivalent.

    Equivalent means: a chunked dataset of ``shape`` and ``dtype`` whose only filter, if
    any, is deflate (gzip), so that chunks compressed with ``zlib`` at the dataset's level
    (or stored raw) are what HDF5 itself would store.
    """
    if dset.chunks is None or tuple(dset.shape) != tuple(shape) or dset.dtype != dtype:
        return None
    dcpl = dset.id.get_create_plist()
    filters = [dcpl.get_filter(i) for i in range(dcpl.get_nfilters())]
    level = None
    if len(filters) == 1 and filters[0][0] == h5py.h5z.FILTER_DEFLATE:
        values = filters[0][2]
        level = int(values[0]) if len(values) else 6  # HDF5's deflate default
    elif filters:
        return None
    plan = ChunkPlan(tuple(shape), tuple(dset.chunks), np.dtype(dset.dtype), level,
                     dset.fillvalue)
    return plan if plan.slab_bytes <= SLAB_BUDGET_BYTES else None


def _chunk_data(block: np.ndarray, t_len: int, where: tuple[slice, ...], plan: ChunkPlan,
                axes: tuple[int, ...]) -> tuple[bytes | np.ndarray, int]:
    """One chunk and its filter mask: ``block`` (extractor order) cut, transposed to NWB
    order, padded, compressed.

    Like HDF5 2.0's deflate filter, a chunk that deflate does not shrink is stored
    compressed all the same (mask 0; HDF5 1.x stored it raw with mask 1: both decode).
    """
    piece = block[(slice(0, t_len), *where)]
    shape = tuple(piece.shape[a] for a in axes)
    if shape == plan.chunks:
        chunk = np.empty(plan.chunks, plan.dtype)
    else:  # an edge chunk: HDF5 stores it whole, the outside filled with the fill value 0
        chunk = np.full(plan.chunks, plan.fill, plan.dtype)
    _transpose_into(chunk[tuple(slice(0, n) for n in shape)], piece, axes)
    if plan.level is None:
        return chunk, 0
    return deflate(chunk, plan.level), 0


def _transpose_into(out: np.ndarray, src: np.ndarray, axes: tuple[int, ...]) -> None:
    """``out[...] = src.transpose(axes)``, in slabs of ``tile`` source rows (cache-friendly:
    ~3x numpy's single strided copy for a (time, rows, cols) -> (time, cols, rows) chunk)."""
    if axes[1] == 1:
        out[...] = src.transpose(axes)
        return
    dest_axis, tile = axes.index(1), TRANSPOSE_TILE
    for r0 in range(0, src.shape[1], tile):
        rows = slice(r0, r0 + tile)
        where = tuple(rows if j == dest_axis else slice(None) for j in range(out.ndim))
        out[where] = src[:, rows].transpose(axes)


def _source_slices(plan: ChunkPlan, index: tuple[int, ...], axes: tuple[int, ...]
                   ) -> tuple[slice, ...]:
    """Slices of the extractor's (rows, columns[, planes]) axes covering chunk ``index``."""
    nwb = [slice(k * c, min((k + 1) * c, n))
           for k, c, n in zip(index, plan.chunks[1:], plan.shape[1:], strict=True)]
    # NWB axis j (1-based) comes from extractor axis axes[j]
    source = [slice(None)] * len(nwb)
    for j, sl in enumerate(nwb, start=1):
        source[axes[j] - 1] = sl
    return tuple(source)


def _jobs(plan: ChunkPlan, read: Callable[[int, int], np.ndarray], release: Callable[[], None],
          axes: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], Callable[[], Any], int]]:
    """(chunk offset, job producing its bytes, samples done once it is stored: the end of
    its row of chunks for the last chunk of that row, else 0) for every chunk, in file
    order."""
    grid = [range(-(-n // c)) for n, c in zip(plan.shape[1:], plan.chunks[1:], strict=True)]
    step = plan.chunks[0]
    for t0 in range(0, plan.shape[0], step):
        t_len = min(step, plan.shape[0] - t0)
        block = read(t0, t0 + t_len)
        indices = list(product(*grid))
        for k, index in enumerate(indices):
            where = _source_slices(plan, index, axes)
            offset = (t0, *(c * i for i, c in zip(index, plan.chunks[1:], strict=True)))
            done = t0 + t_len if k == len(indices) - 1 else 0
            yield (offset, (lambda b=block, n=t_len, w=where: _chunk_data(b, n, w, plan, axes)),
                   done)
        del block
        release()


def write_chunks(dset: h5py.Dataset, plan: ChunkPlan, read: Callable[[int, int], np.ndarray],
                 *, release: Callable[[], None] = lambda: None, workers: int | None = None,
                 axes: tuple[int, ...] | None = None,
                 on_progress: Callable[[int], None] | None = None) -> int:
    """Fill ``dset`` chunk by chunk; returns the number of chunks written.

    Parameters
    ----------
    dset
        The dataset, created with the chunking / filter ``plan`` describes.
    plan
        From :func:`plan_for`.
    read
        ``read(start, stop)``: samples ``[start, stop)`` in the source's order, which is
        ``plan``'s with axes permuted by ``axes``.
    release
        Called after each row of chunks along time is read (drop memory maps).
    workers
        Threads preparing chunks (default: the CPUs this process may use).
    axes
        ``axes[j]`` is the source axis of dataset axis ``j`` (default: the identity).
    on_progress
        Called with the number of samples (along time) stored so far, after each row of
        chunks along time is stored.
    """
    axes = tuple(range(len(plan.shape))) if axes is None else tuple(axes)
    workers = max(1, workers or _cpus())
    limit = 2 * workers
    pending: deque[tuple[tuple[int, ...], Future, int]] = deque()
    written = 0

    def store() -> int:
        offset, future, done = pending.popleft()
        data, mask = future.result()
        dset.id.write_direct_chunk(offset, data, mask)
        if done and on_progress is not None:
            on_progress(done)
        return 1

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="isxio-chunk") as pool:
        try:
            for offset, job, done in _jobs(plan, read, release, axes):
                pending.append((offset, pool.submit(job), done))
                while len(pending) >= limit:
                    written += store()
            while pending:
                written += store()
        except BaseException:
            for _, future, _ in pending:
                future.cancel()
            raise
    return written


def _cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def calling_dataset(owner: object) -> h5py.Dataset | None:
    """The ``h5py.Dataset`` held next to ``owner`` by one of the calling frames, if any."""
    frame = sys._getframe(2)
    try:
        for _ in range(_FRAMES_SEARCHED):
            if frame is None:
                return None
            values = list(frame.f_locals.values())
            if any(v is owner for v in values):
                found = [v for v in values if isinstance(v, h5py.Dataset)]
                if len(found) == 1:
                    return found[0]
            frame = frame.f_back
        return None
    finally:
        del frame


def release_memory_maps(extractor: Any) -> None:
    """Drop the memory maps of an isxio extractor (reopened on the next read).

    Pages of a memory-mapped file count in the process's RSS for as long as the map
    lives; dropping it after each block keeps RSS independent of the movie's size.
    """
    while extractor is not None:  # an isxio extractor, or a slice of one
        release = getattr(extractor, "release_memory_maps", None)
        if callable(release):
            release()
        extractor = getattr(extractor, "_parent_imaging", None)


class DirectWriteIterator(ImagingExtractorDataChunkIterator):
    """neuroconv's imaging iterator that fills an HDF5 dataset chunk by chunk when it can.

    Parameters
    ----------
    imaging_extractor
        The extractor whose frames are written.
    direct_write
        False: always use the normal buffered path.
    workers
        Threads compressing chunks (default: the number of CPUs).
    **iterator_options
        Passed to ``ImagingExtractorDataChunkIterator`` (``buffer_gb``, ``chunk_mb``, ...).

    After writing, :attr:`direct_chunks` is the number of chunks written directly
    (None when the normal path ran).  With ``display_progress``, the bar appears when
    writing starts (not when the iterator is made: a file with several series does not
    open all their bars at once).
    """

    def __init__(self, imaging_extractor: Any, *, direct_write: bool = True,
                 workers: int | None = None, **iterator_options: Any) -> None:
        self._bar = (iterator_options.pop("display_progress", False),
                     iterator_options.pop("progress_bar_class", None),
                     iterator_options.pop("progress_bar_options", None) or {})
        super().__init__(imaging_extractor=imaging_extractor, **iterator_options)
        self._direct_write = direct_write
        self._workers = workers
        self._started = False
        self._finished = False
        self.direct_chunks: int | None = None

    def _open_progress_bar(self) -> None:
        show, bar_class, options = self._bar
        if not show:
            return
        if bar_class is None:
            from tqdm.auto import tqdm as bar_class
        self.progress_bar = bar_class(total=self.num_buffers, **options)
        self.display_progress = True

    def __next__(self):
        if not self._started:
            self._started = True
            self._open_progress_bar()
            dset = calling_dataset(self) if self._direct_write else None
            plan = plan_for(dset, self.maxshape, np.dtype(self.dtype)) \
                if dset is not None else None
            if plan is not None:
                self.direct_chunks = self._write_direct(dset, plan)
                self._finished = True
        if self._finished:
            raise StopIteration
        return super().__next__()

    def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
        """The normal path's buffer; the memory maps are dropped once it is written."""
        data = super()._get_data(selection)
        release_memory_maps(self.imaging_extractor)  # the buffer keeps its own map alive
        return data

    def _write_direct(self, dset: h5py.Dataset, plan: ChunkPlan) -> int:
        ext = self.imaging_extractor
        axes = (0, 2, 1) if len(plan.shape) == 3 else (0, 2, 1, 3)
        try:
            return write_chunks(dset, plan, lambda a, b: ext.get_series(a, b),
                                release=lambda: release_memory_maps(ext),
                                workers=self._workers, axes=axes,
                                on_progress=self._advance if self.display_progress else None)
        finally:
            release_memory_maps(ext)
            if self.display_progress:
                self.progress_bar.close()

    def _advance(self, samples: int) -> None:
        """Move the progress bar (counted in buffers, as neuroconv's) to ``samples`` done."""
        total = max(1, self.maxshape[0])
        target = self.num_buffers if samples >= total else samples * self.num_buffers // total
        if target > self.progress_bar.n:
            self.progress_bar.update(n=target - self.progress_bar.n)
