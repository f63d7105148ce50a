"""The exception and warning hierarchy of isxio.

Every problem isxio detects in a file raises :class:`IsxFormatError` (a
:class:`ValueError`), whose message names the file, what was expected, what was
found and where (byte offset and/or JSON key).  Recoverable oddities are reported
with :class:`IsxFormatWarning`.
"""

from __future__ import annotations

import os

__all__ = [
    "IsxError",
    "IsxFormatError",
    "IsxFormatWarning",
    "IsxIndexError",
    "IsxTypeError",
    "IsxUnsupportedError",
    "IsxWriteError",
]


class IsxError(Exception):
    """Base class of every exception raised by isxio."""


class IsxFormatError(IsxError, ValueError):
    """A file is not what its format says it must be.

    Parameters
    ----------
    path
        The file concerned (or ``None`` for in-memory data).
    message
        What is wrong, in words.
    offset
        Byte offset in the file where the problem was found, if known.
    key
        JSON key (dotted path) where the problem was found, if known.
    expected, found
        What the format requires and what the file holds.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        message: str,
        *,
        offset: int | None = None,
        key: str | None = None,
        expected: object = None,
        found: object = None,
    ) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.offset = offset
        self.key = key
        self.expected = expected
        self.found = found
        self.reason = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        """``path: reason at key K, byte offset N; expected E, found F``.

        A reason written as whole sentences (ending in ``.``, ``!`` or ``?``, as isx's
        messages are) gets the details as a sentence of their own:
        ``path: Sentence. At key K; expected E, found F.``
        """
        reason = self.reason.rstrip()
        sentences = reason.endswith((".", "!", "?"))
        where = []
        if self.key is not None:
            where.append(f"key {self.key!r}")
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        detail = "at " + ", ".join(where) if where else ""
        if self.expected is not None:
            detail += f"; expected {self.expected}" if detail else f"expected {self.expected}"
        if self.found is not None:
            sep = ", " if self.expected is not None else "; " if detail else ""
            detail += f"{sep}found {self.found}"
        if sentences and detail:
            text = f"{reason} {detail[0].upper()}{detail[1:]}."
        elif detail:
            text = f"{reason} {detail}" if where else f"{reason}; {detail}"
        else:
            text = reason
        return f"{self.path}: {text}" if self.path else text

    def __reduce__(self):  # keep pickling (multiprocessing, dask) working
        return (
            _rebuild_format_error,
            (self.path, self.reason, self.offset, self.key, self.expected, self.found),
        )


def _rebuild_format_error(path, reason, offset, key, expected, found):
    return IsxFormatError(path, reason, offset=offset, key=key, expected=expected, found=found)


class IsxUnsupportedError(IsxFormatError):
    """A valid file uses a variant isxio does not read (e.g. RGB888 movies)."""


class IsxWriteError(IsxError, ValueError):
    """Data handed to a writer is not acceptable (wrong shape, dtype, order...)."""


class IsxFormatWarning(UserWarning):
    """A file has a recoverable oddity (stray bytes, duplicate indices, ...)."""


class IsxIndexError(IsxError, IndexError):
    """An index (frame, cell, channel...) is out of range."""


class IsxTypeError(IsxFormatError):
    """A valid file of another kind than the one asked for (a movie read as a cell set)."""
