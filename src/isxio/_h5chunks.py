"""Writing an HDF5 dataset chunk by chunk, compressed in parallel (h5py and numpy only).

h5py compresses every chunk with gzip in one thread, holding the GIL.  Here a thread pool
cuts each chunk out of a block of samples (transposing it if the dataset's axes are in
another order), pads an edge chunk with the fill value (as HDF5 does), compresses it
with ``zlib`` (the stream HDF5's deflate filter writes and reads; zlib releases the GIL;
zlib-ng's compatible and faster ``compress`` when it is installed) and the main thread
stores it with ``dset.id.write_direct_chunk``, in order, at most ``2 * workers`` chunks
in flight.  :func:`plan_for` allows this only where it is exactly what HDF5 would store:
a chunked dataset whose filter pipeline is empty or deflate alone.  Any reader decodes
the chunks with its ordinary deflate filter.

Used by the NWB movie writer (:mod:`isxio.neuroconv._chunked`) and imwrite's HDF5 target.
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product
from typing import Any

import h5py
import numpy as np

__all__ = ["ChunkPlan", "deflate", "plan_for", "write_chunks"]


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
          axes: tuple[int, ...], span: tuple[int, int]
          ) -> Iterator[tuple[tuple[int, ...], Callable[[], Any], int]]:
    """(chunk offset, job producing its bytes, samples done once it is stored: the end of
    its row of chunks for the last chunk of that row, else 0) for every chunk, in file
    order."""
    grid = [range(-(-n // c)) for n, c in zip(plan.shape[1:], plan.chunks[1:], strict=True)]
    step = plan.chunks[0]
    for t0 in range(span[0], span[1], step):
        t_len = min(step, span[1] - t0)
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
                 on_progress: Callable[[int], None] | None = None,
                 span: tuple[int, int] | None = None) -> int:
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
    span
        Only the samples ``[start, stop)`` along time (``start`` a multiple of the chunk
        length, ``stop`` one too or the end); default: all.
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
            for offset, job, done in _jobs(plan, read, release, axes,
                                           span or (0, plan.shape[0])):
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
