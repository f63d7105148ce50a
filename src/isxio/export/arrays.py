"""Movies to chunked array stores: zarr (OME-Zarr style) and HDF5.  Not in isx.

Both stream the movie block by block (``chunk_frames`` frames at a time), so a movie
larger than memory exports in bounded memory.  Every sample is stored (invalid frames
as zeros, as :attr:`MovieFile.data` reads them) so that the time axis stays regular; a
``valid`` mask, the hardware timestamps (``tsc``, when the movie has them) and the
exact ``timingInfo``/``spacingInfo`` JSON travel with the data.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ._common import (
    DEFAULT_CHUNK_FRAMES,
    atomic_dir,
    atomic_file,
    iter_chunks,
    open_movie,
    optional_import,
    progress_bar,
)
from .timestamps import has_frame_timestamps

__all__ = ["export_movie_to_hdf5", "export_movie_to_zarr", "movie_metadata", "ome_multiscales"]

OME_VERSION = "0.4"


def movie_metadata(movie: Any) -> dict[str, Any]:
    """The movie's exact timing, spacing and acquisition metadata as JSON-able data."""
    import isxio

    return {
        "source": os.path.basename(movie.path),
        "dtype": np.dtype(movie.dtype).name,
        "timing": movie.timing.to_json(),
        "spacing": movie.spacing.to_json(),
        "extra_properties": getattr(movie, "extra_properties", None),
        "num_valid_frames": int(movie.timing.num_valid),
        "producer": f"isxio {isxio.__version__}",
    }


def ome_multiscales(movie: Any, path: str = "0") -> list[dict[str, Any]]:
    """OME-NGFF 0.4 ``multiscales`` for one (t, y, x) level: seconds and micrometres."""
    sp = movie.spacing
    px, py = (float(r) for r in sp.pixel_size)
    tx, ty = (float(r) for r in sp.top_left)
    return [{
        "version": OME_VERSION,
        "name": os.path.basename(movie.path),
        "axes": [{"name": "t", "type": "time", "unit": "second"},
                 {"name": "y", "type": "space", "unit": "micrometer"},
                 {"name": "x", "type": "space", "unit": "micrometer"}],
        "datasets": [{"path": path, "coordinateTransformations": [
            {"type": "scale", "scale": [float(movie.timing.period), py, px]},
            {"type": "translation", "translation": [0.0, ty, tx]}]}],
        "type": "none",
    }]


def _stream(movie: Any, array: Any, chunk_frames: int, bar: Any) -> None:
    for idx, block in iter_chunks(movie, chunk_frames):
        array[int(idx[0]):int(idx[-1]) + 1] = block
        bar.update(len(block))


def _side_arrays(movie: Any) -> dict[str, np.ndarray]:
    out = {"valid": np.asarray(movie.timing.valid_mask(), bool)}
    if has_frame_timestamps(movie):
        out["tsc"] = np.asarray(movie.tsc, np.uint64)
    return out


def _zarr_array(zarr: Any, group: Any, name: str, shape: tuple, chunks: tuple,
                dtype: Any) -> Any:
    if int(zarr.__version__.split(".")[0]) >= 3:
        return group.create_array(name=name, shape=shape, chunks=chunks, dtype=dtype,
                                  fill_value=0)
    return group.create_dataset(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=0)


def export_movie_to_zarr(movie_file: str | os.PathLike[str], out: str | os.PathLike[str], *,
                         chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                         progress: bool = False) -> None:
    """Export a movie to a zarr group with OME-NGFF 0.4 ``multiscales`` metadata.

    Layout: array ``0`` ``(frames, rows, cols)`` chunked ``chunk_frames`` frames deep,
    arrays ``valid`` (bool per frame) and ``tsc`` (µs, if stored); group attributes
    ``multiscales`` (axes t/y/x in seconds and micrometres) and ``isxio`` (exact
    timing/spacing JSON, acquisition metadata).  Written as zarr format 2.

    Parameters
    ----------
    movie_file
        The ``.isxd`` (or ``.isxb``) movie.
    out
        The zarr directory to create (must not exist).
    chunk_frames
        Frames per chunk and per read block.
    progress
        Show a tqdm progress bar (needs ``isxio[progress]``).
    """
    zarr = optional_import("zarr", "zarr")
    movie = open_movie(os.fspath(movie_file))
    n = movie.timing.num_samples
    shape = (n, *movie.spacing.shape)
    chunks = (max(1, min(chunk_frames, n)), *movie.spacing.shape)
    bar = progress_bar(n, "zarr", progress)
    kwargs = {"zarr_format": 2} if int(zarr.__version__.split(".")[0]) >= 3 else {}
    try:
        with atomic_dir(out) as tmp:
            group = zarr.open_group(tmp, mode="w", **kwargs)
            data = _zarr_array(zarr, group, "0", shape, chunks, np.dtype(movie.dtype))
            _stream(movie, data, chunk_frames, bar)
            for name, values in _side_arrays(movie).items():
                side = _zarr_array(zarr, group, name, values.shape, (max(1, n),), values.dtype)
                side[:] = values
            group.attrs.update({"multiscales": ome_multiscales(movie),
                                "isxio": movie_metadata(movie)})
    finally:
        bar.close()


def export_movie_to_hdf5(movie_file: str | os.PathLike[str], out: str | os.PathLike[str], *,
                         dataset: str = "data", chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                         compression: str | None = None, progress: bool = False) -> None:
    """Export a movie to an HDF5 file, streaming blocks of frames.

    Layout: dataset ``data`` ``(frames, rows, cols)`` chunked ``chunk_frames`` frames
    deep (dimension labels t/y/x), datasets ``valid`` and ``tsc`` (if stored) and
    ``timestamps`` (seconds from the start), root attribute ``isxio`` (JSON: exact
    timing/spacing, acquisition metadata).

    Parameters
    ----------
    movie_file
        The ``.isxd`` (or ``.isxb``) movie.
    out
        The HDF5 file to create (must not exist).
    dataset
        Name of the frame dataset.
    chunk_frames
        Frames per chunk and per read block.
    compression
        h5py compression filter (e.g. ``"gzip"``), or None.
    progress
        Show a tqdm progress bar (needs ``isxio[progress]``).
    """
    h5py = optional_import("h5py", "hdf5")
    movie = open_movie(os.fspath(movie_file))
    n = movie.timing.num_samples
    shape = (n, *movie.spacing.shape)
    chunks = (max(1, min(chunk_frames, n)), *movie.spacing.shape) if n and all(shape) else None
    bar = progress_bar(n, "HDF5", progress)
    try:
        with atomic_file(out) as tmp, h5py.File(tmp, "w") as f:
            data = f.create_dataset(dataset, shape=shape, dtype=np.dtype(movie.dtype),
                                    chunks=chunks, compression=compression if chunks else None)
            for axis, label in enumerate("tyx"):
                data.dims[axis].label = label
            _stream(movie, data, chunk_frames, bar)
            for name, values in _side_arrays(movie).items():
                f.create_dataset(name, data=values)
            f.create_dataset("timestamps", data=movie.timing.offsets())
            f.attrs["isxio"] = json.dumps(movie_metadata(movie))
    finally:
        bar.close()
