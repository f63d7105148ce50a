"""Inscopix movie target (``.isxd``), through isxio's :class:`MovieWriter`.

One file per plane/channel (``.isxd`` holds neither Z nor C).  Timing: the input's
(``file_timing``: the period as stored, not the one derived from the hardware clock)
or ``fs=`` (regular, invalid frames kept as dropped); start from the input or the
Unix epoch.  Pixels: uint8, uint16 and float32 are kept; other integers become uint16
(an error if a value does not fit), float64 becomes float32 (with a warning: precision
is lost), bool becomes uint8.  Frame headers/footers of a whole nVista 3 movie are
copied verbatim; otherwise the hardware timestamps (TSC) are written into fresh
headers, so that isx reports the same frame times.  Frames (with their headers and
footers) are written a block at a time, never frame by frame.

Byte identity: the source's ``producer`` (of an ``.isxd``, also kept through a
Zarr/HDF5 store) is kept unless ``keep_producer=False``, and while the stream is the
whole source movie unchanged (no plane/channel/frame selection, no ``dtype=``, ``fs=``
or ``metadata=``, ``keep_producer`` and ``frame_timestamps`` left true) the source's
trailer JSON text travels with it (``Source.trailer``; a store keeps it as
``source_trailer``) and is written back verbatim, after :class:`MovieWriter` has
checked that it describes exactly the movie written.  A whole movie converted
``.isxd -> .isxd`` or ``.isxd -> .zarr/.h5 -> .isxd`` is then byte-identical, also when
an older isxcore wrote another JSON layout (e.g. isxcore 1.2 wrote no ``"blank"``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..formats.common import SpacingInfo, TimingInfo
from ..formats.movie import FRAME_HEADER_ITEMS, TSC_PIXEL, MovieWriter, encode_tsc
from ._inputs import plane_extra
from ._output import Progress, check_output, iter_blocks
from ._source import Source, Stream, timing_from_rate

__all__ = ["HOLDS_STREAMS", "write"]

HOLDS_STREAMS = False
#: bytes of one frame's header + footer
FRAME_HEADER_FOOTER_BYTES = 2 * FRAME_HEADER_ITEMS * 2


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


def _headers(stream: Stream, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Frame headers and footers of frames ``lo:hi`` (footers None: zeros)."""
    if stream.headers is not None:
        return np.asarray(stream.headers[lo:hi]), np.asarray(stream.footers[lo:hi])
    headers = np.zeros((hi - lo, FRAME_HEADER_ITEMS), "<u2")
    headers[:, TSC_PIXEL:TSC_PIXEL + 8] = encode_tsc(np.asarray(stream.tsc[lo:hi], np.uint64))
    return headers, None


def _write_blocks(writer: MovieWriter, source: Source, stream: Stream, framed: bool,
                  chunk_mb: float, bar: Progress) -> None:
    valid = writer.header.timing.valid_mask()
    if framed:  # a block's headers and footers count in its size too
        rows, cols = source.frame_shape
        frame = rows * cols * np.dtype(source.dtype).itemsize
        chunk_mb = chunk_mb * frame / (frame + FRAME_HEADER_FOOTER_BYTES)
    for lo, blocks in iter_blocks(source, chunk_mb):
        block = blocks[0]
        hi = lo + len(block)
        keep = np.flatnonzero(valid[lo:hi])
        if len(keep):
            sel = slice(None) if len(keep) == len(block) else keep  # a slice: no copy
            parts = _headers(stream, lo, hi) if framed else (None, None)
            writer.write_frames(block[sel], *(None if p is None else p[sel] for p in parts))
        bar.update(len(block))


def _verbatim_trailer(source: Source, stream: Stream, pixel: np.dtype, framed: bool,
                      changed: bool) -> bytes | None:
    """The source's trailer text if ``stream`` is the whole source movie unchanged."""
    if source.trailer is None or changed or len(source.streams) != 1:
        return None
    if pixel != np.dtype(source.dtype) or framed != (stream.headers is not None):
        return None
    return source.trailer


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
    raw = _verbatim_trailer(source, stream, pixel, framed,
                            bool(fs or metadata or not keep_producer))
    bar = Progress(len(stream), "isxd", progress)
    try:
        with MovieWriter(out, timing, spacing, pixel, overwrite=overwrite,
                         extra_properties=extra, frame_header_footer=framed,
                         producer=source.producer if keep_producer else None,
                         raw_trailer=raw) as writer:
            _write_blocks(writer, source, stream, framed, chunk_mb, bar)
    finally:
        bar.close()
    return [out]
