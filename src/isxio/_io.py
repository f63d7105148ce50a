"""File sources: where a reader's bytes come from (a local path, a URL, an open file).

Readers take a path, an ``fsspec`` URL (``s3://``, ``gs://``, ``https://``, ...) or an
open binary file object; :func:`as_source` turns any of them into a :class:`FileSource`.

* :class:`LocalSource` keeps the fast path: readers memory-map the file.
* :class:`FsspecSource` reads byte ranges through fsspec (optional extra
  ``isxio[remote]``), exactly the ranges asked for (no read-ahead block cache).
* :class:`FileObjectSource` reads ranges of an open, seekable binary file object.

Every remote failure (dropped connection, HTTP error, short read) raises
:class:`IsxRemoteError`, an :class:`OSError` naming the URL; a range is never returned
shorter or longer than asked.  Sources pickle by URL (file objects do not pickle).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Sequence
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from ._optional import require
from .errors import IsxError

__all__ = ["FileObjectSource", "FileSource", "FsspecSource", "IsxRemoteError", "LocalSource",
           "SourceReader", "as_source", "is_url", "url_extension"]

#: Bytes read at once from the end of a remote file when its trailer is first read.
TAIL_PREFETCH = 1 << 16


class IsxRemoteError(IsxError, OSError):
    """Reading a remote file or file object failed (the message names the URL)."""


def is_url(target: Any) -> bool:
    """True for a string with a protocol other than ``file://`` (``s3://``, ``https://``)."""
    if not isinstance(target, str) or "://" not in target:
        return False
    return not target.startswith("file://")


def url_extension(name: str) -> str:
    """The lower-case extension of a path or of a URL's path (query and fragment left out)."""
    return os.path.splitext(urlsplit(name).path if is_url(name) else name)[1].lower()


def as_source(target: Any, **storage_options: Any) -> FileSource:
    """The :class:`FileSource` for a path, URL, open binary file or source."""
    if isinstance(target, FileSource):
        return target
    if is_url(target):
        return FsspecSource(target, storage_options)
    if isinstance(target, str | os.PathLike):
        path = os.fspath(target)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return LocalSource(path[7:] if path.startswith("file://") else path)
    if hasattr(target, "read") and hasattr(target, "seek"):
        return FileObjectSource(target)
    raise TypeError(f"expected a path, a URL or an open binary file, got {type(target).__name__}")


class FileSource:
    """Where the bytes of one file come from.

    ``name`` is what errors print (the path, the URL or the file object's name).
    """

    name: str
    is_local: bool = False

    @property
    def size(self) -> int:
        raise NotImplementedError

    def read(self, offset: int, n: int) -> bytes:
        """Exactly ``n`` bytes at ``offset`` (:class:`IsxRemoteError` otherwise)."""
        return self.read_ranges([(offset, n)])[0]

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Exactly the bytes of each ``(offset, n)`` range."""
        raise NotImplementedError

    def open(self) -> BinaryIO:
        """A read-only, seekable binary file over the source (close it after use)."""
        return SourceReader(self)  # type: ignore[return-value]

    def _checked(self, got: list[Any], ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        for data, (offset, n) in zip(got, ranges, strict=True):
            if isinstance(data, BaseException):
                raise IsxRemoteError(f"{self.name}: reading bytes {offset}..{offset + n - 1} "
                                     f"failed: {type(data).__name__}: {data}") from data
            if len(data) != n:
                why = "short read" if len(data) < n else "the server ignored the range"
                raise IsxRemoteError(f"{self.name}: {why} at byte {offset}: expected "
                                     f"{n} bytes, got {len(data)}")
        return got

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class LocalSource(FileSource):
    """A local file: readers memory-map it (``path``) instead of calling :meth:`read`."""

    is_local = True

    def __init__(self, path: str) -> None:
        self.name = self.path = path

    @property
    def size(self) -> int:
        return os.path.getsize(self.path)

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        with open(self.path, "rb") as fh:
            out = []
            for offset, n in ranges:
                fh.seek(offset)
                out.append(fh.read(n))
        return self._checked(out, ranges)

    def open(self) -> BinaryIO:
        return open(self.path, "rb")

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (LocalSource, (self.path,))


class FsspecSource(FileSource):
    """A file behind an fsspec URL, read by ranged requests of exactly the bytes needed.

    ``storage_options`` go to :func:`fsspec.core.url_to_fs` (e.g. ``anon=True`` for
    public S3 buckets).  The file system is created on first use (and again after
    unpickling), so the source travels to dask workers by URL.
    """

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.name = self.url = url
        self.storage_options = dict(storage_options or {})
        self._fs: Any = None
        self._path = ""
        self._size: int | None = None
        self._lock = threading.Lock()

    def _filesystem(self) -> tuple[Any, str]:
        if self._fs is None:
            with self._lock:
                if self._fs is None:
                    fsspec = require("fsspec", "remote", f"reading {self.url}")
                    fs, path = fsspec.core.url_to_fs(self.url, **self.storage_options)
                    self._path, self._fs = path, fs
        return self._fs, self._path

    @property
    def size(self) -> int:
        if self._size is None:
            fs, path = self._filesystem()
            try:
                info = fs.info(path)
            except FileNotFoundError as exc:
                cause = exc.__cause__ or exc.__context__  # fsspec's http hides these
                if cause is None or isinstance(cause, FileNotFoundError) \
                        or getattr(cause, "status", None) in (404, 410):
                    raise FileNotFoundError(f"File does not exist: {self.url}") from None
                raise IsxRemoteError(f"{self.url}: could not get the file size: "
                                     f"{type(cause).__name__}: {cause}") from cause
            except Exception as exc:  # network layers raise their own types: name the URL
                raise IsxRemoteError(f"{self.url}: could not get the file size: "
                                     f"{type(exc).__name__}: {exc}") from exc
            size = info.get("size")
            if size is None:
                raise IsxRemoteError(f"{self.url}: the server does not report the file size")
            self._size = int(size)
        return self._size

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        todo = [(o, n) for o, n in ranges if n > 0]
        if not todo:
            return [b""] * len(ranges)
        fs, path = self._filesystem()
        try:
            if len(todo) == 1:
                got: list[Any] = [fs.cat_file(path, start=todo[0][0], end=sum(todo[0]))]
            else:
                got = fs.cat_ranges([path] * len(todo), [o for o, _ in todo],
                                    [o + n for o, n in todo], on_error="return")
        except Exception as exc:  # aiohttp / botocore / ... errors: one error naming the URL
            first, n = todo[0]
            raise IsxRemoteError(f"{self.url}: reading bytes {first}..{first + n - 1} failed: "
                                 f"{type(exc).__name__}: {exc}") from exc
        checked = iter(self._checked(got, todo))
        return [next(checked) if n > 0 else b"" for _, n in ranges]

    def __reduce__(self) -> tuple[Any, tuple[str, dict[str, Any]]]:
        return (FsspecSource, (self.url, self.storage_options))


class FileObjectSource(FileSource):
    """An open, seekable binary file object (its position is restored after each read)."""

    def __init__(self, fileobj: Any) -> None:
        self.fileobj = fileobj
        name = getattr(fileobj, "name", None)
        self.name = os.fsdecode(name) if isinstance(name, str | bytes) \
            else f"<{type(fileobj).__name__} file object>"
        self._lock = threading.Lock()
        try:
            if not fileobj.seekable():
                raise ValueError
        except (AttributeError, ValueError, OSError):
            raise TypeError(f"{self.name}: the file object must be seekable") from None

    @property
    def size(self) -> int:
        with self._lock:
            where = self.fileobj.tell()
            try:
                return self.fileobj.seek(0, os.SEEK_END)
            finally:
                self.fileobj.seek(where)

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        out: list[Any] = []
        with self._lock:
            where = self.fileobj.tell()
            try:
                for offset, n in ranges:
                    self.fileobj.seek(offset)
                    out.append(_read_fully(self.fileobj, n))
            except (OSError, ValueError) as exc:
                out += [exc] * (len(ranges) - len(out))
            finally:
                self.fileobj.seek(where)
        return self._checked(out, ranges)

    def __reduce__(self) -> Any:
        raise TypeError(f"{self.name}: a reader over an open file object cannot be pickled; "
                        "open the file by path or URL to use it with multiprocessing or dask")


def _read_fully(fh: Any, n: int) -> bytes:
    """Read ``n`` bytes, looping over the short reads that raw streams may give."""
    parts, left = [], n
    while left > 0:
        chunk = fh.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


class SourceReader(io.RawIOBase):
    """A read-only seekable file over a :class:`FileSource`.

    The first read that falls in the last :data:`TAIL_PREFETCH` bytes fetches them all at
    once, so locating and parsing a trailer costs one request (two if the JSON is longer).
    """

    def __init__(self, source: FileSource) -> None:
        super().__init__()
        self.source = source
        self.name = source.name
        self._pos = 0
        self._tail: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.source.size}[whence]
        self._pos = max(base + pos, 0)
        return self._pos

    def read(self, n: int = -1) -> bytes:
        size = self.source.size
        stop = size if n is None or n < 0 else min(self._pos + n, size)
        if stop <= self._pos:
            return b""
        start, self._pos = self._pos, stop
        if self._tail is None and start >= size - TAIL_PREFETCH:
            at = max(size - TAIL_PREFETCH, 0)
            self._tail = (at, self.source.read(at, size - at))
        if self._tail is not None and start >= self._tail[0]:
            at, data = self._tail
            return data[start - at:stop - at]
        return self.source.read(start, stop - start)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
