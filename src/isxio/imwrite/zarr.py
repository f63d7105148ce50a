"""OME-Zarr target (``.zarr``): OME-Zarr 0.5 on zarr 3 (sharded), 0.4 on zarr 2.

Layout: an image group with array ``0`` ``(T, Y, X)`` (``(T, Z, Y, X)`` / ``(T, C, Y,
X)`` for several planes / channels) and ``multiscales`` metadata (axes t in seconds,
z/c, y/x in micrometres; scale = period and pixel size, translation = top-left); the
group attribute ``isxio`` holds the exact timing (rational period and start, invalid
frames), spacing and the source's acquisition metadata (and, for a whole ``.isxd``
movie, its trailer JSON text verbatim as ``source_trailer``); the sub-group ``isxio`` holds
per-frame ``valid``, ``offsets``, ``timestamps``, ``tsc``, ``source_index`` and, for a
whole nVista 3 movie, the raw ``frame_headers``/``frame_footers`` (so that the movie
converts back to ``.isxd`` with its hardware timestamps).

Compression: ``compressor="blosc"`` (default; zstd inside blosc, byte shuffle),
``"zstd"`` or None, ``compression_level`` (default 5).  Chunks hold about 1 MiB of
frames (``chunk_frames=``); on zarr 3 shards hold one write block (``shards=False``
turns sharding off).  Blocks are compressed in parallel (zarr 3's own pipeline; a
thread per chunk on zarr 2).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .._optional import require
from ._output import (
    HEADER_CHUNK_FRAMES,
    Progress,
    atomic_output,
    frame_header_parts,
    iter_blocks,
    metadata_block,
    side_arrays,
)
from ._source import Source

__all__ = ["HOLDS_STREAMS", "ome_multiscales", "write", "zarr_major"]

HOLDS_STREAMS = True
CHUNK_BYTES = 1 << 20
AXIS_TYPES = {"t": ("time", "second"), "z": ("space", "micrometer"), "c": ("channel", None),
              "y": ("space", "micrometer"), "x": ("space", "micrometer")}


def zarr_major(zarr: Any) -> int:
    return int(zarr.__version__.split(".")[0])


def _axes(source: Source) -> str:
    return "t" + (source.axis if len(source.streams) > 1 else "") + "yx"


def ome_multiscales(source: Source, version: str) -> list[dict[str, Any]]:
    """OME-NGFF ``multiscales`` of one level, path ``0`` (``version`` "0.4" or "0.5")."""
    axes = _axes(source)
    timing = source.streams[0].timing
    sp = source.spacing
    px, py = (float(r) for r in sp.pixel_size) if sp is not None else (1.0, 1.0)
    tx, ty = (float(r) for r in sp.top_left) if sp is not None else (0.0, 0.0)
    scale = {"t": float(timing.period) if timing is not None else 1.0, "z": 1.0, "c": 1.0,
             "y": py, "x": px}
    shift = {"t": 0.0, "z": 0.0, "c": 0.0, "y": ty, "x": tx}
    entries = []
    for a in axes:
        kind, unit = AXIS_TYPES[a]
        entries.append({"name": a, "type": kind, **({"unit": unit} if unit else {})})
    ms = {"name": source.name, "axes": entries, "datasets": [{"path": "0",
          "coordinateTransformations": [
              {"type": "scale", "scale": [scale[a] for a in axes]},
              {"type": "translation", "translation": [shift[a] for a in axes]}]}]}
    if version == "0.4":
        ms = {"version": "0.4", **ms}
    return [ms]


def _codec(zarr: Any, compressor: str | None, level: int) -> Any:
    if compressor not in (None, "none", "blosc", "zstd"):
        raise ValueError(f"compressor must be 'blosc', 'zstd' or None, got {compressor!r}")
    if compressor in (None, "none"):
        return None
    if zarr_major(zarr) >= 3:
        from zarr.codecs import BloscCodec, ZstdCodec

        return (BloscCodec(cname="zstd", clevel=level, shuffle="shuffle")
                if compressor == "blosc" else ZstdCodec(level=level))
    import numcodecs

    return (numcodecs.Blosc(cname="zstd", clevel=level, shuffle=numcodecs.Blosc.SHUFFLE)
            if compressor == "blosc" else numcodecs.Zstd(level=level))


def _create(zarr: Any, group: Any, name: str, shape: tuple, chunks: tuple, dtype: Any,
            codec: Any, shards: tuple | None, dims: str | None) -> Any:
    if zarr_major(zarr) >= 3:
        kw: dict[str, Any] = {"compressors": [codec] if codec is not None else None}
        if shards is not None:
            kw["shards"] = shards
        if dims:
            kw["dimension_names"] = list(dims)
        return group.create_array(name=name, shape=shape, chunks=chunks, dtype=dtype,
                                  fill_value=0, **kw)
    return group.create_dataset(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=0,
                                compressor=codec, dimension_separator="/", overwrite=True)


def _chunks(source: Source, chunk_frames: int | None) -> tuple[int, ...]:
    rows, cols = source.frame_shape
    per = chunk_frames or max(1, CHUNK_BYTES // max(1, rows * cols
                                                    * np.dtype(source.dtype).itemsize))
    t = max(1, min(per, source.num_frames))
    return (t, rows, cols) if len(source.streams) == 1 else (t, 1, rows, cols)


def _put(zarr: Any, array: Any, lo: int, data: np.ndarray, step: int, pool: Any) -> None:
    """Write ``data`` at frame ``lo``: one task per chunk on zarr 2 (compressed in parallel)."""
    if zarr_major(zarr) >= 3 or pool is None or len(data) <= step:
        array[lo:lo + len(data)] = data
        return

    def put(a: int) -> None:
        array[lo + a:lo + min(a + step, len(data))] = data[a:a + step]

    list(pool.map(put, range(0, len(data), step)))


def write(source: Source, out: str, *, overwrite: bool, chunk_mb: float, progress: Any,
          metadata: dict | None, compressor: str | None = "blosc", compression_level: int = 5,
          chunk_frames: int | None = None, shards: bool = True,
          zarr_format: int | None = None) -> list[str]:
    """Write ``source`` as an OME-Zarr image ``out``; return ``[out]``."""
    zarr = require("zarr", "zarr", "imwrite to Zarr")
    fmt = zarr_format or (3 if zarr_major(zarr) >= 3 else 2)
    if fmt == 3 and zarr_major(zarr) < 3:
        raise ValueError(f"zarr_format=3 needs zarr >= 3 (installed: {zarr.__version__})")
    n, rows, cols = source.num_frames, *source.frame_shape
    shape = (n, rows, cols) if len(source.streams) == 1 else (n, len(source.streams), rows,
                                                              cols)
    chunks = _chunks(source, chunk_frames)
    codec = _codec(zarr, compressor, compression_level)
    axes = _axes(source)
    bar = Progress(n, "Zarr", progress)
    pool = ThreadPoolExecutor(os.cpu_count() or 2)
    try:
        with atomic_output(out, overwrite=overwrite, directory=True) as tmp:
            kw = {"zarr_format": fmt} if zarr_major(zarr) >= 3 else {}
            group = zarr.open_group(tmp, mode="w", **kw)
            from ._output import block_frames

            step = block_frames(source, chunk_mb, chunks[0])
            shard = (min(step, max(n, 1)), *chunks[1:]) if fmt == 3 and shards and n else None
            if shard is not None and shard[0] % chunks[0]:
                shard = (shard[0] // chunks[0] * chunks[0] or chunks[0], *shard[1:])
            data = _create(zarr, group, "0", shape, chunks, np.dtype(source.dtype), codec,
                           shard, axes if fmt == 3 else None)
            extras = _header_arrays(zarr, group, source, codec)
            for lo, blocks in iter_blocks(source, chunk_mb, multiple=shard[0] if shard
                                          else chunks[0]):
                block = blocks[0] if len(blocks) == 1 else np.stack(blocks, axis=1)
                _put(zarr, data, lo, block, chunks[0], pool)
                for arr, part in extras:
                    arr[lo:lo + len(block)] = np.asarray(part[lo:lo + len(block)])
                bar.update(len(block))
            _side(zarr, group, source, codec)
            _attrs(group, source, metadata, fmt)
    finally:
        pool.shutdown()
        bar.close()
    return [out]


def _header_arrays(zarr: Any, group: Any, source: Source, codec: Any) -> list[tuple]:
    """Arrays for the raw nVista 3 frame headers/footers of a whole movie (if any)."""
    parts = frame_header_parts(source)
    side = group.require_group("isxio") if parts else None
    out = []
    for name, part in parts:
        shape = (source.num_frames, *tuple(part.shape[1:]))
        chunks = (max(1, min(shape[0], HEADER_CHUNK_FRAMES)), *shape[1:])
        out.append((_create(zarr, side, name, shape, chunks, np.dtype("<u2"), codec, None,
                            None), part))
    return out


def _side(zarr: Any, group: Any, source: Source, codec: Any) -> None:
    side = group.require_group("isxio")
    for name, values in side_arrays(source).items():
        chunks = (max(1, min(len(values), 1 << 16)), *values.shape[1:])
        arr = _create(zarr, side, name, values.shape, chunks, values.dtype, codec, None, None)
        arr[...] = values


def _attrs(group: Any, source: Source, metadata: dict | None, fmt: int) -> None:
    meta = metadata_block(source, metadata, keep_trailer=True, zarr_format=fmt)
    if fmt >= 3:
        group.attrs.update({"ome": {"version": "0.5",
                                    "multiscales": ome_multiscales(source, "0.5")},
                            "isxio": meta})
    else:
        group.attrs.update({"multiscales": ome_multiscales(source, "0.4"), "isxio": meta})
