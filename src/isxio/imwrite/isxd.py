"""Inscopix movie target (``.isxd``), through isxio's :class:`MovieWriter`.

One file per plane/channel (``.isxd`` holds neither Z nor C).  Timing: the input's
(``file_timing``: the period as stored, not the one derived from the hardware clock)
or ``fs=`` (regular, invalid frames kept as dropped); start from the input or the
Unix epoch.  Pixels: uint8, uint16 and float32 are kept; other integers become uint16
(an error if a value does not fit), float64 becomes float32 (with a warning: precision
is lost), bool becomes uint8.  Frame headers/footers of a whole nVista 3 movie are
copied verbatim; otherwise the hardware timestamps (TSC) are written into fresh
headers, so that isx reports the same frame times.  The source's ``producer`` (of an
``.isxd``, also kept through a Zarr/HDF5 store) is kept unless ``keep_producer=False``:
a whole movie converted ``.isxd -> .zarr -> .isxd`` is then byte-identical when the
source trailer is what isxio's writer produces (true of the real files tried).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..formats.common import SpacingInfo, TimingInfo
from ..formats.movie import FRAME_HEADER_ITEMS, MovieWriter, encode_tsc
from ._inputs import plane_extra
from ._output import Progress, check_output, iter_blocks
from ._source import Source, Stream, timing_from_rate

__all__ = ["HOLDS_STREAMS", "write"]

HOLDS_STREAMS = False
TSC_PIXEL = 1272


def _pixel_type(dtype: np.dtype, out: str) -> np.dtype:
    if dtype in (np.dtype("u1"), np.dtype("<u2"), np.dtype("<f4")) or dtype.kind == "b":
        return np.dtype("u1") if dtype.kind == "b" else dtype
    if dtype.kind == "f":
        warnings.warn(f"{out}: {dtype} pixels written as float32 (.isxd holds uint8, uint16 "
                      "or float32)", UserWarning, stacklevel=4)
        return np.dtype("<f4")
    if dtype.kind in "iu":
        return np.dtype("<u2")
    raise TypeError(f"{out}: {dtype} pixels cannot be written to .isxd")


def _timing(stream: Stream, fs: float | None, out: str) -> TimingInfo:
    n = len(stream)
    base = stream.file_timing or stream.timing
    if fs:
        return timing_from_rate(n, fs, base.start if base else None,
                                stream.valid if base else None)
    if base is None:
        raise ValueError(f"{out}: the input has no timing; give fs= (frames per second)")
    return base


def _headers(stream: Stream, lo: int, hi: int) -> tuple[Any, Any]:
    if stream.headers is not None:
        return np.asarray(stream.headers[lo:hi]), np.asarray(stream.footers[lo:hi])
    headers = np.zeros((hi - lo, FRAME_HEADER_ITEMS), "<u2")
    for i, tsc in enumerate(stream.tsc[lo:hi]):  # 8 values per frame, no pixel loop
        headers[i, TSC_PIXEL:TSC_PIXEL + 8] = encode_tsc(int(tsc))
    return headers, np.zeros_like(headers)


def _write_blocks(writer: MovieWriter, source: Source, stream: Stream, framed: bool,
                  chunk_mb: float, bar: Progress) -> None:
    valid = writer.header.timing.valid_mask()
    for lo, blocks in iter_blocks(source, chunk_mb):
        block = blocks[0]
        hi = lo + len(block)
        keep = np.flatnonzero(valid[lo:hi])
        if framed:  # MovieWriter takes headers one frame at a time
            headers, footers = _headers(stream, lo, hi)
            for i in keep:
                writer.set_frame_data(lo + int(i), block[i], header=headers[i],
                                      footer=footers[i])
        elif len(keep):
            writer.write_frames(block[keep] if len(keep) < len(block) else block)
        bar.update(len(block))


def write(source: Source, out: str, *, overwrite: bool, chunk_mb: float, progress: Any,
          metadata: dict | None, fs: float | None = None, dtype: Any = None,
          frame_timestamps: bool = True, keep_producer: bool = True) -> list[str]:
    """Write the single stream of ``source`` as the movie ``out``; return ``[out]``."""
    check_output(out, overwrite)
    stream = source.streams[0]
    timing = _timing(stream, fs, out)
    pixel = np.dtype(dtype) if dtype is not None else _pixel_type(np.dtype(source.dtype), out)
    framed = frame_timestamps and pixel == np.dtype("<u2") and (
        stream.headers is not None or stream.tsc is not None)
    extra = plane_extra(source.extra_properties, stream)
    if metadata:
        extra = {**(extra or {}), "isxio": metadata}
    rows, cols = source.frame_shape
    spacing = source.spacing or SpacingInfo(rows, cols)
    bar = Progress(len(stream), "isxd", progress)
    try:
        with MovieWriter(out, timing, spacing, pixel, overwrite=overwrite,
                         extra_properties=extra, frame_header_footer=framed,
                         producer=source.producer if keep_producer else None) as writer:
            _write_blocks(writer, source, stream, framed, chunk_mb, bar)
    finally:
        bar.close()
    return [out]
