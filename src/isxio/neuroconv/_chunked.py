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

import sys
from typing import Any

import h5py
import numpy as np
from neuroconv.tools.roiextractors.imagingextractordatachunkiterator import (
    ImagingExtractorDataChunkIterator,
)

from .._h5chunks import ChunkPlan, deflate, plan_for, write_chunks

__all__ = ["ChunkPlan", "DirectWriteIterator", "deflate", "plan_for", "write_chunks"]


#: how many caller frames are searched for the dataset being written
_FRAMES_SEARCHED = 4


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
