"""Movies to zarr (OME-Zarr 0.4) and HDF5: thin wrappers over :func:`isxio.imwrite`.  Not in isx.

The frames, the per-frame arrays and the metadata are written by ``imwrite`` (its
layout, see ``docs/imwrite.md``), streamed block by block (``chunk_frames`` frames at a
time) and moved into place only when complete.  Every sample is stored (invalid frames
as zeros, as :attr:`MovieFile.data` reads them) so that the time axis stays regular, and
the movie is written as stored (a multiplane movie's planes stay interleaved; use
``isxio.imwrite`` to split them).

Files written by the first versions of these functions keep loading the same way: the
frames are at the same name (zarr ``0``, HDF5 ``data``), and the legacy entries are
added: root-level ``valid`` and ``tsc`` (HDF5: hard links to ``isxio/valid`` and
``isxio/tsc``; zarr: small copies), HDF5 ``timestamps`` (seconds from the start of every
sample), and the ``isxio`` attribute keeps the old keys (:func:`movie_metadata`) beside
imwrite's.  Such files, old or new, are also inputs of ``imwrite``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import DEFAULT_CHUNK_FRAMES, atomic_dir, atomic_file, open_movie, optional_import

__all__ = ["export_movie_to_hdf5", "export_movie_to_zarr", "movie_metadata"]

#: root-level arrays of the first layout, found in imwrite's ``isxio`` group
LEGACY_ARRAYS = ("valid", "tsc")


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


def _whole_movie(movie: Any) -> Any:
    """The movie as one stream of all its frames (imwrite splits planes and channels)."""
    from ..imwrite import as_source
    from ..imwrite._inputs import _from_movie

    if type(movie).__name__ == "MovieFile":
        return _from_movie(movie, split=False)
    return as_source(movie)


def _export(movie_file: str | os.PathLike[str], out: str | os.PathLike[str], ext: str,
            chunk_frames: int, progress: bool, legacy: Callable[[str, Any], None],
            options: dict[str, Any]) -> None:
    """Write ``movie_file`` with imwrite into a temporary ``out``, add ``legacy``, move it."""
    from ..imwrite import imwrite

    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be at least 1, got {chunk_frames}")
    if progress:
        optional_import("tqdm", "progress", "progress=True")
    with open_movie(os.fspath(movie_file)) as movie:
        rows, cols = movie.spacing.shape
        frame = max(1, rows * cols * np.dtype(movie.dtype).itemsize)
        chunk_mb = (chunk_frames + 0.5) * frame / 2**20  # blocks of chunk_frames frames
        with (atomic_dir if ext == "zarr" else atomic_file)(out) as tmp:
            imwrite(_whole_movie(movie), tmp, ext=ext, overwrite=True, chunk_mb=chunk_mb,
                    progress=progress, **options)
            legacy(tmp, movie)


def _zarr_legacy(path: str, movie: Any) -> None:
    zarr = optional_import("zarr", "zarr")
    group = zarr.open_group(path, mode="r+")
    side = group["isxio"]
    for name in LEGACY_ARRAYS:
        if name in side:
            group[name] = side[name][...]
    group.attrs["isxio"] = {**group.attrs["isxio"], **movie_metadata(movie)}


def _hdf5_legacy(path: str, movie: Any) -> None:
    h5py = optional_import("h5py", "hdf5")
    with h5py.File(path, "r+") as f:
        for name in LEGACY_ARRAYS:
            if name in f["isxio"]:
                f[name] = f["isxio"][name]  # a hard link: no copy
        f["timestamps"] = movie.timing.offsets()
        f.attrs["isxio"] = json.dumps({**json.loads(f.attrs["isxio"]), **movie_metadata(movie)})


def export_movie_to_zarr(movie_file: str | os.PathLike[str], out: str | os.PathLike[str], *,
                         chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                         progress: bool = False) -> None:
    """Export a movie to a zarr group with OME-NGFF 0.4 ``multiscales`` metadata.

    ``isxio.imwrite(movie, out, ext="zarr", zarr_format=2, chunk_frames=chunk_frames)``
    plus the first layout's entries.  Layout: array ``0`` ``(frames, rows, cols)`` chunked
    ``chunk_frames`` frames deep, compressed losslessly with Blosc (zstd inside, level 5,
    imwrite's default; the first version used zarr 2's default Blosc-lz4: the values read
    back are the same); arrays ``valid`` (bool per frame) and ``tsc`` (µs, if stored), also
    in the group ``isxio`` with imwrite's ``offsets``, ``timestamps``, ``source_index``;
    group attributes ``multiscales`` (axes t/y/x in seconds and micrometres) and ``isxio``
    (exact timing/spacing JSON, acquisition metadata: imwrite's block and the keys of
    :func:`movie_metadata`).  Written as zarr format 2.

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
    optional_import("zarr", "zarr")
    _export(movie_file, out, "zarr", chunk_frames, progress, _zarr_legacy,
            {"zarr_format": 2, "chunk_frames": chunk_frames})


def export_movie_to_hdf5(movie_file: str | os.PathLike[str], out: str | os.PathLike[str], *,
                         dataset: str = "data", chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                         compression: str | None = None, progress: bool = False) -> None:
    """Export a movie to an HDF5 file, streaming blocks of frames.

    ``isxio.imwrite(movie, out, ext="h5", dataset_name=dataset, compression=compression,
    chunk_frames=chunk_frames)`` plus the first layout's entries.  Layout: dataset ``data``
    ``(frames, rows, cols)`` (dimension labels t/y/x; chunks ``chunk_frames`` frames
    deep), datasets ``valid``
    and ``tsc`` (if stored; hard links to ``isxio/valid`` and ``isxio/tsc``) and
    ``timestamps`` (seconds from the start), the group ``isxio`` with imwrite's per-frame
    arrays, root attribute ``isxio`` (JSON: exact timing/spacing, acquisition metadata:
    imwrite's block and the keys of :func:`movie_metadata`), ``fs`` and ``dim_order``.

    Parameters
    ----------
    movie_file
        The ``.isxd`` (or ``.isxb``) movie.
    out
        The HDF5 file to create (must not exist).
    dataset
        Name of the frame dataset.
    chunk_frames
        Frames per chunk and per read/write block.
    compression
        h5py compression filter (e.g. ``"gzip"``), or None.
    progress
        Show a tqdm progress bar (needs ``isxio[progress]``).
    """
    optional_import("h5py", "hdf5")
    _export(movie_file, out, "h5", chunk_frames, progress, _hdf5_legacy,
            {"dataset_name": dataset, "compression": compression,
             "chunk_frames": chunk_frames})
