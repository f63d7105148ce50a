"""``isxio.imwrite``: any movie isxio reads to the formats analysis pipelines read.

Targets (by ``ext=`` or the suffix of ``out``): Suite2p binary (``.bin``), OME-Zarr
(``.zarr``), HDF5 (``.h5``/``.hdf5``), ImageJ TIFF (``.tif``/``.tiff``) and Inscopix
(``.isxd``).  Frames are streamed in blocks of about ``chunk_mb`` MiB (memory does not
grow with the movie) and every output appears under its final name only when complete.
All indices (planes, channels, frames) are 0-based.  See ``docs/imwrite.md``.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._inputs import as_source
from ._output import check_output
from ._source import Source, Stream, select

__all__ = ["TARGETS", "Source", "Stream", "as_source", "imwrite"]

#: suffix -> target module
TARGETS = {".bin": "suite2p", ".suite2p": "suite2p", ".zarr": "zarr", ".ome.zarr": "zarr",
           ".h5": "hdf5", ".hdf5": "hdf5", ".tif": "tiff", ".tiff": "tiff",
           ".isxd": "isxd"}


def _target(out: str, ext: str | None) -> str:
    if ext is not None:
        key = ext.lower() if ext.startswith(".") else "." + ext.lower()
    else:
        key = Path(out.rstrip("/\\")).suffix.lower()
    if key not in TARGETS:
        raise ValueError(f"unknown output format {ext or key or out!r}: give ext= or an "
                         f"output suffix among {sorted(set(TARGETS))}")
    return TARGETS[key]


def _named(out: str, label: str) -> str:
    root, suffix = os.path.splitext(out)
    return f"{root}_{label}{suffix}"


def _plan(module: Any, source: Source, out: str, separate: bool) -> list[tuple[str, Source]]:
    """``(output, source)`` pairs: one output, or one per plane/channel."""
    if len(source.streams) == 1 or (module.HOLDS_STREAMS and not separate):
        lengths = sorted({len(s) for s in source.streams})
        if len(lengths) > 1 and module.__name__.rsplit(".", 1)[-1] != "suite2p":
            warnings.warn(f"{out}: planes/channels have {lengths} frames; the last "
                          f"{lengths[-1] - lengths[0]} frame(s) of the longer ones (a partial "
                          "last volume) are left out (separate=True keeps them)",
                          UserWarning, stacklevel=3)
        return [(out, source)]
    return [(_named(out, s.label or str(k)), source.single(k))
            for k, s in enumerate(source.streams)]


def _input_paths(data: Any) -> set[str]:
    items = data if isinstance(data, list | tuple) else [data]
    return {os.path.abspath(os.fspath(p)) for p in items if isinstance(p, str | os.PathLike)}


def imwrite(data: Any, out: str | os.PathLike[str], *, ext: str | None = None,
            planes: Any = None, frames: Any = None, channels: Any = None,
            overwrite: bool = False, chunk_mb: float = 100,
            progress: bool | Callable[[int, int], Any] = True,
            metadata: dict[str, Any] | None = None, dim_order: str | None = None,
            fs: float | None = None, separate: bool = False,
            **format_options: Any) -> list[Path]:
    """Write a movie to Suite2p, OME-Zarr, HDF5, TIFF or ``.isxd``, streaming.

    Parameters
    ----------
    data
        A path (or list of paths of one recording) isxio opens, an isxio reader,
        ``MovieSeries``, ``SubMovie``, a store written by imwrite (``.zarr``/``.h5``),
        a numpy/dask array (see ``dim_order``) or a roiextractors ImagingExtractor.
        Multiplane movies are split into planes, multiplexed dual-colour movies into
        channels.
    out
        Output path; its suffix picks the format unless ``ext`` is given.
    ext
        ``"bin"`` (Suite2p), ``"zarr"``, ``"h5"``/``"hdf5"``, ``"tif"``/``"tiff"``,
        ``"isxd"``.
    planes, channels
        0-based plane indices / channel indices or labels (``"green"``) to keep.
    frames
        0-based frames to keep (of each plane): slice, range, increasing indices or a
        boolean mask.
    overwrite
        Replace an existing output (replaced only once the new one is complete).
    chunk_mb
        Size of a read/write block in MiB (peak memory is a few blocks).
    progress
        tqdm bar (True), none (False) or a callable ``f(frames_done, total)``.
    metadata
        Extra JSON-able metadata stored with the output (under ``isxio.user``).
    dim_order
        Axes of an array input: ``"TYX"`` (default for 3-D), ``"TZYX"``, ``"TCYX"``.
    fs
        Frames per second of an input without timing (arrays); for ``.isxd`` it
        overrides the input's.
    separate
        One output per plane/channel even for formats that hold them together
        (``_plane0``, ``_green``, ... added to the name).
    **format_options
        Passed to the target: Suite2p ``int16=``, ``int16_range=``; Zarr
        ``compressor=``, ``compression_level=``, ``chunk_frames=``, ``shards=``,
        ``zarr_format=``; HDF5 ``dataset_name=``, ``compression=``; TIFF
        ``bigtiff=``, ``compression=``, ``maxworkers=``; isxd ``dtype=``.

    Returns
    -------
    list of Path
        The outputs written (Suite2p: the plane folders).
    """
    out = os.fspath(out)
    module = importlib.import_module(f".{_target(out, ext)}", __name__)
    if chunk_mb <= 0:
        raise ValueError(f"chunk_mb must be positive, got {chunk_mb}")
    source = as_source(data, dim_order=dim_order, fs=fs)
    source = select(source, planes=planes, channels=channels, frames=frames)
    if module.__name__.endswith(".isxd"):
        format_options["fs"] = fs
    jobs = _plan(module, source, out, separate)
    inputs = _input_paths(data)
    for path, _ in jobs:  # refuse before writing anything
        final = getattr(module, "output_name", str)(path)
        if os.path.abspath(final) in inputs:
            raise ValueError(f"output {final} is the input file")
        check_output(final, overwrite)
    written: list[str] = []
    for path, part in jobs:
        written += module.write(part, path, overwrite=overwrite, chunk_mb=chunk_mb,
                                progress=progress, metadata=metadata, **format_options)
    return [Path(p) for p in written]
