"""TIFF target (``.tif``/``.tiff``): an ImageJ hyperstack that Fiji opens with its axes.

One page per frame (per plane or channel within a time point), uint8/uint16/float32
as ImageJ needs (other types are written without ImageJ metadata, with a warning).
ImageJ metadata: axes ``TYX``/``TZYX``/``TCYX``, frame interval (s), pixel size (µm)
and, as ``Info``, the ``isxio`` JSON (exact timing, acquisition metadata) with the
per-frame times when there are at most :data:`MAX_INFO_TIMES` frames.  Past 4 GB the
file is a BigTIFF (``bigtiff=`` forces either way; Fiji reads it through Bio-Formats;
``bigtiff=False`` keeps ImageJ's own contiguous layout).  ``compression=`` is
tifffile's (e.g. ``"zlib"``), run on ``maxworkers`` threads.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._optional import require
from ._output import Progress, atomic_output, iter_blocks, metadata_block, side_arrays
from ._source import Source

__all__ = ["HOLDS_STREAMS", "MAX_INFO_TIMES", "write"]

HOLDS_STREAMS = True
MAX_INFO_TIMES = 100_000
IMAGEJ_DTYPES = (np.dtype("u1"), np.dtype("<u2"), np.dtype("<f4"))
BIGTIFF_BYTES = 2**32 - 2**25


def _pages(source: Source, chunk_mb: float, bar: Progress) -> Iterator[np.ndarray]:
    """Frames in page order (time, then plane/channel), read block by block."""
    for _, blocks in iter_blocks(source, chunk_mb):
        pages = blocks[0] if len(blocks) == 1 else np.stack(blocks, axis=1)
        yield from pages.reshape(-1, *pages.shape[-2:])
        bar.update(len(blocks[0]))


def _imagej_metadata(source: Source, meta: dict[str, Any]) -> dict[str, Any]:
    axes = "T" + (source.axis.upper() if len(source.streams) > 1 else "") + "YX"
    out: dict[str, Any] = {"axes": axes, "unit": "um"}
    timing = source.streams[0].timing
    if timing is not None:
        out["finterval"] = float(timing.period)
    info = dict(meta)
    side = side_arrays(source)
    if "offsets" in side and source.num_frames <= MAX_INFO_TIMES:
        info["offsets"] = np.round(side["offsets"], 9).tolist()
    out["Info"] = json.dumps(info, separators=(",", ":"))
    return out


def write(source: Source, out: str, *, overwrite: bool, chunk_mb: float, progress: Any,
          metadata: dict | None, bigtiff: bool | None = None, compression: Any = None,
          maxworkers: int | None = None, imagej: bool | None = None) -> list[str]:
    """Write ``source`` as a TIFF ``out``; return ``[out]``."""
    tifffile = require("tifffile", "tiff", "imwrite to TIFF")
    dtype = np.dtype(source.dtype).newbyteorder("<") if np.dtype(source.dtype).itemsize > 1 \
        else np.dtype(source.dtype)
    n, (rows, cols) = source.num_frames, source.frame_shape
    k = len(source.streams)
    shape = (n, rows, cols) if k == 1 else (n, k, rows, cols)
    if imagej is None:
        imagej = dtype in IMAGEJ_DTYPES
        if not imagej:
            warnings.warn(f"{out}: ImageJ cannot hold {dtype} pixels; writing a plain TIFF "
                          "without hyperstack metadata", UserWarning, stacklevel=3)
    size = int(np.prod(shape)) * dtype.itemsize
    big = size > BIGTIFF_BYTES if bigtiff is None else bool(bigtiff)
    meta = metadata_block(source, metadata)
    sp = source.spacing
    resolution = (1 / float(sp.pixel_size[0]), 1 / float(sp.pixel_size[1])) \
        if sp is not None and all(float(p) > 0 for p in sp.pixel_size) else None
    bar = Progress(n, "TIFF", progress)
    try:
        with atomic_output(out, overwrite=overwrite) as tmp, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "writing nonconformant BigTIFF ImageJ")
            with tifffile.TiffWriter(tmp, bigtiff=big, imagej=imagej, byteorder="<") as tw:
                kw: dict[str, Any] = {"metadata": _imagej_metadata(source, meta)} if imagej \
                    else {"metadata": {"isxio": json.dumps(meta)}}
                tw.write(_pages(source, chunk_mb, bar) if n else None, shape=shape,
                         dtype=dtype, photometric="minisblack", resolution=resolution,
                         compression=compression, maxworkers=maxworkers,
                         software=False, **kw)
    finally:
        bar.close()
    return [out]
