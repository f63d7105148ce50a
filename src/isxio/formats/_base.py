"""What the ``.isxd`` readers and writers share.

Spec ``isxd.md`` §1.  Readers are context managers that pickle by path.  A writer
streams its data section to a temporary file next to the output
(:class:`~isxio.formats.container.AtomicFile`); :meth:`IsxdWriter.flush` appends the
JSON trailer and renames the file into place, :meth:`IsxdWriter.close` discards it.
Nothing ever appears under the final name unless the file is complete.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from ..errors import IsxWriteError
from .common import TimingInfo
from .container import AtomicFile, encode_trailer

__all__ = ["IsxdReader", "IsxdWriter", "checked_timing"]

_R = TypeVar("_R", bound="IsxdReader")
_W = TypeVar("_W", bound="IsxdWriter")


class IsxdReader:
    """Base of the ``.isxd`` readers: a context manager that pickles by path.

    Subclasses set ``path`` and list their lazy arrays (cached properties with a
    ``close`` method) in ``_lazy_arrays``, or override :meth:`close`.
    """

    path: str
    _lazy_arrays: tuple[str, ...] = ()

    def close(self) -> None:
        """Close the memory maps of the lazy arrays opened so far (they reopen on use)."""
        for name in self._lazy_arrays:
            arr = self.__dict__.get(name)
            if arr is not None:
                arr.close()

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        source = self.__dict__.get("source")  # remote files pickle by URL (and options)
        return (type(self), (self.path if source is None or source.is_local else source,))


def checked_timing(timing: TimingInfo) -> TimingInfo:
    """Refuse timings isx would store inconsistently; return the normalised timing."""
    for name, seq in (("dropped", timing.dropped), ("blank", timing.blank)):
        if len(set(seq)) != len(seq):
            raise IsxWriteError(f"duplicate indices in {name}: {sorted(seq)}")
        if any(not 0 <= i < timing.num_samples for i in seq):
            raise IsxWriteError(f"{name} index outside 0..{timing.num_samples - 1}")
    if any(not 0 <= a <= b < timing.num_samples for a, b in timing.cropped):
        raise IsxWriteError(f"cropped range outside 0..{timing.num_samples - 1}")
    return timing.normalized()


class IsxdWriter:
    """Base of the ``.isxd`` writers (movie, cell set, event-based, vessel set).

    A subclass checks its arguments, then calls :meth:`_open` last in its
    ``__init__`` (so a refused argument leaves no temporary file), writes its data
    through :meth:`_check_open`, and implements :meth:`_finish`.  Used as a context
    manager, the file is flushed when the block succeeds and discarded otherwise
    (also when the flush itself fails).
    """

    path: str
    _file: AtomicFile | None = None

    def _open(self, path: str | os.PathLike[str], overwrite: bool) -> None:
        """Start the temporary file of ``path`` (FileExistsError unless ``overwrite``)."""
        self.path = os.path.abspath(os.fspath(path))
        self._file = AtomicFile(self.path, overwrite=overwrite)

    def _check_open(self) -> AtomicFile:
        """The temporary file; :class:`~isxio.errors.IsxWriteError` once closed."""
        if self._file is None or self._file.closed:
            raise IsxWriteError(f"{self.path}: writer is closed")
        return self._file

    def _finish(self, f: AtomicFile) -> dict[str, Any] | bytes:
        """Check the data are complete, write what precedes the trailer (if anything)
        to ``f`` and return the trailer's JSON object (or its JSON text, written
        verbatim)."""
        raise NotImplementedError

    def flush(self) -> None:
        """Write the trailer and move the file into place (no-op once done)."""
        if self._file is None:
            return
        f = self._check_open()
        f.write(encode_trailer(self._finish(f)))
        f.commit()
        self._file = None

    def close(self) -> None:
        """Discard the temporary file if :meth:`flush` was not called."""
        if self._file is not None:
            self._file.abort()
            self._file = None

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()  # no-op after a successful flush; else discards the temporary file
