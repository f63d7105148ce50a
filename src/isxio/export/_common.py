"""Shared plumbing of the exporters: inputs, atomic outputs, time references, progress.

Spec: ``other.md`` §0.3 (number formats), §0.4 (exact time arithmetic) and §5 (general
rules: outputs are never overwritten, ``time_ref`` values).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .._optional import require
from ..errors import IsxFormatError, IsxTypeError
from ..formats.container import current_umask

__all__ = [
    "TIME_REFS",
    "TextOutput",
    "as_file_list",
    "atomic_dir",
    "atomic_file",
    "check_new_output",
    "iter_chunks",
    "open_movie",
    "optional_import",
    "parse_time_ref",
    "progress_bar",
    "round_half_away",
]

TIME_REFS = ("start", "unix", "tsc")
#: Frames read per block by the streaming exporters (bounded memory).
DEFAULT_CHUNK_FRAMES = 64
#: Rows formatted per block by the CSV writers.
CSV_BLOCK_ROWS = 65536


def optional_import(module: str, extra: str, what: str = "this export") -> Any:
    """Import an optional dependency, or raise an ImportError naming the extra to install.

    A thin alias of :func:`isxio._optional.require`, the one place that words the hint.
    """
    return require(module, extra, what)


def as_file_list(files: Any, what: str = "input files") -> list[str]:
    """One path or a sequence of paths as a non-empty list of existing paths."""
    if isinstance(files, str | os.PathLike):
        files = [files]
    try:
        paths = [os.fspath(f) for f in files]
    except TypeError:
        raise TypeError(f"{what} must be a path or a list of paths, not "
                        f"{type(files).__name__}") from None
    if not paths:
        raise ValueError(f"no {what} given")
    for p in paths:
        if not os.path.exists(p):
            raise FileNotFoundError(f"File does not exist: {p}")
    return paths


def check_new_output(path: str | os.PathLike[str]) -> str:
    """Refuse to overwrite an existing output, as isx does ("File already exists")."""
    path = os.fspath(path)
    if not path:
        raise ValueError("an output path is required")
    if os.path.lexists(path):
        raise FileExistsError(f"File already exists: {path}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Output folder does not exist: {folder}")
    return path


def parse_time_ref(time_ref: str, allowed: Sequence[str] = TIME_REFS) -> str:
    """Check a ``time_ref`` argument (``'start'``, ``'unix'`` or ``'tsc'``)."""
    if time_ref not in allowed:
        raise ValueError(f"Invalid time_ref {time_ref!r}; expected one of {list(allowed)}")
    return time_ref


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    Nothing appears under ``path`` if the export fails, and an existing file is never
    replaced.
    """
    path = check_new_output(path)
    folder, name = os.path.split(os.path.abspath(path))
    ext = os.path.splitext(name)[1]  # kept: some writers check the extension
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".part{ext}", dir=folder)
    os.close(fd)
    with contextlib.suppress(OSError):  # mkstemp makes 0600 files; use the usual mode
        os.chmod(tmp, 0o666 & ~current_umask())
    try:
        yield tmp
        if os.path.lexists(path):
            raise FileExistsError(f"File already exists: {path}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[str]:
    """Like :func:`atomic_file` for an output directory (e.g. a zarr store)."""
    path = check_new_output(path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=folder)
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700
    try:
        yield tmp
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


class TextOutput:
    """A text file written atomically: LF line ends, UTF-8, written in blocks."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._ctx = atomic_file(path)
        self._fh: Any = None

    def __enter__(self) -> TextOutput:
        tmp = self._ctx.__enter__()
        self._fh = open(tmp, "w", encoding="utf-8", newline="\n")
        return self

    def line(self, text: str) -> None:
        self._fh.write(text + "\n")

    def lines(self, lines: Iterable[str]) -> None:
        """Write many lines (each without its line end)."""
        block: list[str] = []
        for text in lines:
            block.append(text)
            if len(block) >= CSV_BLOCK_ROWS:
                self._fh.write("\n".join(block) + "\n")
                block = []
        if block:
            self._fh.write("\n".join(block) + "\n")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._fh.close()
        self._ctx.__exit__(exc_type, exc, tb)


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm progress bar if ``enabled`` (needs ``isxio[progress]``), else a no-op."""
    if not enabled:
        return _NoProgress()
    tqdm = require("tqdm", "progress", "progress=True")
    return tqdm.tqdm(total=total, desc=desc, unit="frame")


def round_half_away(x: float) -> int:
    """C ``std::round``: halves round away from zero (Python's round goes to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


# ------------------------------------------------------------------ movie inputs
def open_movie(path: str, *, allow_isxb: bool = True, min_frames: int = 1) -> Any:
    """Open an ``.isxd`` movie (or an ``.isxb`` if allowed) for export."""
    if path.lower().endswith(".isxb"):
        if not allow_isxb:
            raise IsxTypeError(path, "this export does not accept nVision (.isxb) movies",
                               expected=".isxd movie", found=".isxb")
        isxb = _isxb_module(path)
        return isxb.IsxbFile(path)
    from ..formats.container import read_trailer
    from ..formats.movie import MovieFile

    trailer = read_trailer(path)
    kind = trailer.header.get("type")
    if kind not in (0, 4):
        raise IsxTypeError(path, "not a movie", key="type", expected="0 (movie) or 4 (image)",
                           found=kind)
    movie = MovieFile(path, trailer=trailer)
    if movie.num_frames < min_frames:
        raise IsxTypeError(path, "Expected data set to be of type: Movie. Instead it is of "
                           "type: Image.", key="timingInfo.numTimes",
                           expected=f">= {min_frames} frames", found=movie.num_frames)
    return movie


def _isxb_module(path: str) -> Any:
    try:
        return importlib.import_module("isxio.formats.isxb")
    except ImportError:
        raise IsxFormatError(path, "reading .isxb files is not available in this "
                             "version of isxio") from None


def iter_chunks(movie: Any, chunk_frames: int = DEFAULT_CHUNK_FRAMES, *,
                valid_only: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(frame_indices, frames)`` blocks of at most ``chunk_frames`` frames.

    Invalid frames read as zeros; with ``valid_only`` they are left out.  Each block is
    read with one vectorised access, so memory stays bounded by the block size.
    """
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
    n = movie.timing.num_samples
    mask = movie.timing.valid_mask()
    for lo in range(0, n, chunk_frames):
        hi = min(lo + chunk_frames, n)
        idx = np.arange(lo, hi)
        if valid_only:
            keep = mask[lo:hi]
            if not keep.any():
                continue
            if not keep.all():
                idx = idx[keep]
                yield idx, np.asarray(movie.data[idx])
                continue
        yield idx, np.asarray(movie.data[lo:hi])
