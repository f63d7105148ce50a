"""The modern entry point: :func:`open` returns the right typed reader for any file."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from ._io import as_source, url_extension
from .errors import IsxFormatError
from .formats.container import read_trailer

if TYPE_CHECKING:
    from .metadata import AnyReader

__all__ = ["open"]

# .isxd ``type`` -> (module, class)
_ISXD_READERS = {
    0: ("movie", "MovieFile"),
    4: ("movie", "MovieFile"),
    1: ("cellset", "CellSetFile"),
    3: ("events", "EventsFile"),
    5: ("events", "EventsFile"),
    7: ("events", "EventsFile"),
    8: ("vesselset", "VesselSetFile"),
}
# other extensions -> (module, class)
_EXT_READERS = {
    ".isxb": ("isxb", "IsxbFile"),
    ".gpio": ("gpio", "GpioFile"),
    ".raw": ("gpio", "GpioFile"),
    ".hdf5": ("gpio", "GpioFile"),  # nVista 2 GPIO (needs h5py); isxio reads no .hdf5 movie
    ".imu": ("imu", "ImuFile"),
}


def _reader_class(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"isxio.formats.{module}"), name)


def open(path: str | os.PathLike[str] | Any, *,
         storage_options: dict[str, Any] | None = None, **kwargs: Any) -> AnyReader:
    """Open any Inscopix file lazily and return its typed reader.

    ``.isxd`` files are dispatched on their ``type`` key: movies and images give a
    :class:`~isxio.formats.movie.MovieFile`, cell sets a ``CellSetFile``, event/GPIO/IMU
    sets an ``EventsFile``, vessel sets a ``VesselSetFile``.  ``.isxb``, ``.gpio``,
    ``.raw``, nVista 2 ``.hdf5`` (GPIO, needs ``isxio[hdf5]``) and ``.imu`` files give
    their own readers.  Every reader has ``timing``,
    ``extra_properties`` and lazy numpy-like arrays.

    Parameters
    ----------
    path
        The file to open: a path, an fsspec URL (``s3://``, ``gs://``, ``https://``, ...;
        needs ``isxio[remote]``) or an open, seekable binary file object.  Remote files
        and file objects are read by ranges: opening reads the trailer only, and each
        index of a lazy array reads the bytes of the records it selects.
    storage_options
        For URLs: passed to fsspec (e.g. ``{"anon": True}`` for a public S3 bucket).
    **kwargs
        Passed to the reader (e.g. ``recover=False``).
    """
    source = as_source(path, **(storage_options or {}))
    if source.is_local:
        path = source.name
        if not os.path.exists(path):
            raise FileNotFoundError(f"File does not exist: {path}")
    else:
        path = source
        source.size  # noqa: B018 - a missing remote file fails here, naming its URL
    ext = url_extension(source.name)
    if ext in _EXT_READERS:
        return _reader_class(*_EXT_READERS[ext])(path, **kwargs)
    trailer = read_trailer(source, recover=kwargs.get("recover", True))
    kind = trailer.header.get("type")
    if kind not in _ISXD_READERS:
        raise IsxFormatError(source.name, "unknown data set type", key="type",
                             expected=f"one of {sorted(_ISXD_READERS)}", found=kind)
    return _reader_class(*_ISXD_READERS[kind])(path, trailer=trailer, **kwargs)
