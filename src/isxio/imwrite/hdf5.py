"""HDF5 target (``.h5``/``.hdf5``): dataset ``mov`` as Suite2p and CaImAn read it.

Layout: ``mov`` ``(T, Y, X)`` (``(T, Z, Y, X)`` / ``(T, C, Y, X)`` for several planes /
channels), chunked by frames (about 1 MiB, or ``chunk_frames=``), dimension labels;
group ``isxio`` with per-frame
``valid``, ``offsets`` (s from the start), ``timestamps`` (Unix s), ``tsc`` (µs),
``source_index`` (0-based) and, for a whole nVista 3 movie, the raw ``frame_headers``/
``frame_footers`` (so that it converts back to ``.isxd`` with them); root attributes
``isxio`` (JSON: exact timing, spacing, acquisition metadata and, for a whole ``.isxd``
movie, its trailer JSON text verbatim as ``source_trailer``), ``fs`` and ``dim_order``.
``compression="gzip"`` (level ``compression_opts``, default 4): the chunks are deflated
in parallel and stored directly, the same zlib streams HDF5's own filter writes and
reads (:mod:`isxio._h5chunks`); other filters (lzf, shuffle, ...) are h5py's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require
from ._output import (
    HEADER_CHUNK_FRAMES,
    Progress,
    atomic_output,
    dumps,
    frame_header_parts,
    iter_blocks,
    metadata_block,
    side_arrays,
)
from ._source import Source

__all__ = ["HOLDS_STREAMS", "write"]

HOLDS_STREAMS = True
CHUNK_BYTES = 1 << 20  #: about 1 MiB per HDF5 chunk


def _layout(source: Source, chunk_frames: int | None = None
            ) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    n, (rows, cols) = source.num_frames, source.frame_shape
    k = len(source.streams)
    per = chunk_frames or max(1, CHUNK_BYTES // max(1, rows * cols
                                                    * np.dtype(source.dtype).itemsize))
    t = max(1, min(per, n))
    if k == 1:
        return (n, rows, cols), (t, rows, cols), "tyx"
    return (n, k, rows, cols), (t, 1, rows, cols), "t" + source.axis + "yx"


def _header_datasets(side: Any, source: Source) -> list[tuple[Any, Any]]:
    """Datasets for the raw nVista 3 frame headers/footers of a whole movie (if any)."""
    out = []
    for name, part in frame_header_parts(source):
        shape = (source.num_frames, *tuple(part.shape[1:]))
        chunks = (max(1, min(shape[0], HEADER_CHUNK_FRAMES)), *shape[1:]) if shape[0] \
            else None
        out.append((side.create_dataset(name, shape=shape, dtype="<u2", chunks=chunks), part))
    return out


def write(source: Source, out: str, *, overwrite: bool, chunk_mb: float, progress: Any,
          metadata: dict | None, dataset_name: str = "mov", compression: str | None = None,
          compression_opts: Any = None, chunk_frames: int | None = None) -> list[str]:
    """Write ``source`` to the HDF5 file ``out``; return ``[out]``.  ``chunk_frames``:
    frames per chunk (default: about 1 MiB of frames)."""
    h5py = require("h5py", "hdf5", "imwrite to HDF5")
    from .._h5chunks import plan_for, write_chunks

    shape, chunks, labels = _layout(source, chunk_frames)
    empty = 0 in shape
    bar = Progress(shape[0], "HDF5", progress)
    try:
        with atomic_output(out, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as f:
            mov = f.create_dataset(dataset_name, shape=shape, dtype=np.dtype(source.dtype),
                                   chunks=None if empty else chunks,
                                   compression=None if empty else compression,
                                   compression_opts=None if empty else compression_opts)
            for axis, label in enumerate(labels):
                mov.dims[axis].label = label
            side = f.create_group("isxio")
            extras = _header_datasets(side, source)
            # gzip: chunks compressed in parallel, exactly as HDF5's deflate filter would
            plan = plan_for(mov, shape, mov.dtype) if compression and not empty else None
            for lo, blocks in iter_blocks(source, chunk_mb, multiple=chunks[0]):
                hi = lo + len(blocks[0])
                block = blocks[0] if len(blocks) == 1 else np.stack(blocks, axis=1)
                if plan is None:
                    mov[lo:hi] = block
                else:
                    write_chunks(mov, plan, lambda a, b, b0=lo, d=block: d[a - b0:b - b0],
                                 span=(lo, hi))
                for dset, part in extras:
                    dset[lo:hi] = np.asarray(part[lo:hi])
                bar.update(hi - lo)
            for name, values in side_arrays(source).items():
                side.create_dataset(name, data=values)
            meta = metadata_block(source, metadata, keep_trailer=True, dataset=dataset_name)
            f.attrs["isxio"] = dumps(meta)
            f.attrs["dim_order"] = labels.upper()
            timing = source.streams[0].timing
            if timing is not None:
                f.attrs["fs"] = float(timing.sampling_rate)
    finally:
        bar.close()
    return [out]
