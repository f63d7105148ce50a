"""isx-compatible ``Movie`` and ``Image``."""

from __future__ import annotations

import os
import textwrap
from typing import Any

import numpy as np

from ..acquisition import acquisition_info
from ..errors import IsxError, IsxWriteError
from ..formats.movie import MovieFile, MovieWriter
from ._base import as_type, check_index, check_isxd_type, fspath
from .core import Spacing, Timing

__all__ = ["Image", "Movie"]


def _open_reader(path: str) -> Any:
    if path.lower().endswith(".isxb"):
        from ..formats.isxb import IsxbFile

        return IsxbFile(path)
    check_isxd_type(path, (0, 4), "Movie")
    return MovieFile(path)


class Movie:
    """A movie backed by a file (``isx.Movie``): read ``.isxd``/``.isxb``, write ``.isxd``.

    Examples
    --------
    >>> movie = isxio.Movie.read("recording.isxd")            # doctest: +SKIP
    >>> frame = movie.get_frame_data(0)                        # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._reader: Any = None
        self._writer: MovieWriter | None = None
        self._path: str | None = None
        self._timing: Timing | None = None
        self._spacing: Spacing | None = None
        self._dtype: np.dtype | None = None

    # ------------------------------------------------------------- properties
    @property
    def file_path(self) -> str | None:
        return self._path

    @property
    def mode(self) -> str | None:
        if self._path is None:
            return None
        return "w" if self._writer is not None else "r"

    @property
    def timing(self) -> Timing | None:
        if self._timing is None and self._reader is not None:
            self._timing = Timing.from_info(self._reader.timing)
        return self._timing

    @property
    def spacing(self) -> Spacing | None:
        return self._spacing

    @property
    def data_type(self) -> type | None:
        return None if self._dtype is None else self._dtype.type

    @property
    def reader(self) -> Any:
        """The underlying isxio reader (:class:`~isxio.formats.movie.MovieFile`, ...)."""
        return self._reader

    # ------------------------------------------------------------- open
    @classmethod
    def read(cls, file_path: str | os.PathLike[str]) -> Movie:
        """Open a movie for reading; reads only its metadata."""
        self = cls()
        self._path = fspath(file_path)
        self._reader = _open_reader(self._path)
        self._spacing = Spacing.from_info(self._reader.spacing)
        self._dtype = np.dtype(self._reader.dtype)
        return self

    @classmethod
    def write(cls, file_path: str | os.PathLike[str], timing: Timing, spacing: Spacing,
              data_type: Any) -> Movie:
        """Open a new movie for writing (an existing file is an error)."""
        if not isinstance(timing, Timing):
            raise TypeError("timing must be a Timing object")
        if not isinstance(spacing, Spacing):
            raise ValueError("spacing must be a Spacing object")
        dtype = np.dtype(data_type)
        if dtype not in (np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.uint8)):
            raise ValueError(f"data_type must be numpy.uint16, numpy.float32 or numpy.uint8, "
                             f"not {data_type}")
        self = cls()
        self._writer = MovieWriter(file_path, timing.info, spacing.info, dtype)
        self._path = os.fspath(file_path)
        self._timing, self._spacing, self._dtype = timing, spacing, dtype
        return self

    # ------------------------------------------------------------- frames
    def _require_reader(self) -> Any:
        if self._reader is None:
            if self._writer is not None:
                raise IsxError(f"{self._path}: movie is open for writing; flush it and read "
                               "it with Movie.read")
            raise RuntimeError("Underlying pointer is null. Try using the read or write "
                               "function instead of the constructor.")
        return self._reader

    def get_frame_data(self, index: int) -> np.ndarray:
        """The frame at ``index`` as a new array (zeros for dropped/cropped/blank frames)."""
        reader = self._require_reader()
        i = check_index(index, reader.timing.num_samples, "frame")
        return np.array(reader.data[i])

    def get_frame_timestamp(self, index: int) -> int:
        """Hardware (TSC) timestamp of frame ``index`` in microseconds."""
        reader = self._require_reader()
        i = check_index(index, reader.timing.num_samples, "frame")
        has = getattr(reader, "header", None)
        if has is not None and hasattr(has, "has_tsc") and not has.has_tsc:
            raise IsxError(f"{self._path}: No frame timestamps stored in movie.")
        return int(reader.tsc[i])

    def set_frame_data(self, index: int, frame: np.ndarray) -> None:
        """Write the frame of sample ``index`` (frames in increasing order)."""
        if self._writer is None:
            raise ValueError("Cannot set frame data if movie is read-only.")
        if not isinstance(frame, np.ndarray):
            raise TypeError("Frame must be a numpy array")
        if frame.shape != self._spacing.num_pixels:  # type: ignore[union-attr]
            raise ValueError("Cannot set frame with different shape than movie")
        self._writer.set_frame_data(int(index), as_type(frame, self._dtype))

    def flush(self) -> None:
        """Write the metadata and close the file; then the movie can be read."""
        if self._writer is None:
            return
        self._writer.flush()
        self._writer = None
        self._reader = MovieFile(self._path)  # type: ignore[arg-type]
        self._timing = None

    def get_acquisition_info(self) -> dict[str, Any] | None:
        """Acquisition summary as isx reports it (None if the file has none)."""
        reader = self._require_reader()
        if hasattr(reader, "acquisition_info"):  # nVision .isxb: its own summary
            return reader.acquisition_info
        return acquisition_info(reader.extra_properties)

    def __del__(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.close()

    def __str__(self) -> str:
        return textwrap.dedent(f"""\
        Movie
            file_path: {self.file_path}
            mode: {self.mode}
            timing: {self.timing}
            spacing: {self.spacing}
            data_type: {self.data_type}""")


class Image:
    """A single-frame image backed by a file (``isx.Image``)."""

    def __init__(self) -> None:
        self._impl = Movie()
        self._data: np.ndarray | None = None

    @property
    def file_path(self) -> str | None:
        return self._impl.file_path

    @property
    def mode(self) -> str | None:
        return self._impl.mode

    @property
    def spacing(self) -> Spacing | None:
        return self._impl.spacing

    @property
    def data_type(self) -> type | None:
        return self._impl.data_type

    @classmethod
    def read(cls, file_path: str | os.PathLike[str]) -> Image:
        self = cls()
        self._impl = Movie.read(file_path)
        if self._impl.timing.num_samples > 1:  # type: ignore[union-attr]
            raise AttributeError("File has more than one frame. Use isx.Movie.read instead.")
        self._data = self._impl.get_frame_data(0)
        return self

    @classmethod
    def write(cls, file_path: str | os.PathLike[str], spacing: Spacing, data_type: Any,
              data: np.ndarray) -> Image:
        self = cls()
        arr = as_type(data, data_type)
        if arr.shape != spacing.num_pixels:
            raise IsxWriteError(f"image shape {arr.shape} does not match spacing "
                                f"{spacing.num_pixels}")
        self._impl = Movie.write(file_path, Timing(num_samples=1), spacing, data_type)
        self._impl.set_frame_data(0, arr)
        self._impl.flush()
        self._data = arr
        return self

    def get_data(self) -> np.ndarray:
        return self._data  # type: ignore[return-value]

    def __str__(self) -> str:
        return textwrap.dedent(f"""\
        Image
            file_path: {self.file_path}
            mode: {self.mode}
            spacing: {self.spacing}
            data_type: {self.data_type}""")
