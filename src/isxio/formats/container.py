"""The ``.isxd`` container: binary data section, JSON text, NUL, u64 JSON length.

Spec ``isxd.md`` §1.  :func:`read_trailer` locates and parses the JSON reading only
the end of the file; :class:`AtomicFile` writes a container under a temporary name
and renames it into place only when complete.
"""

from __future__ import annotations

import os
import struct
import tempfile
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from .._io import FileSource, as_source
from ..errors import IsxFormatError, IsxFormatWarning
from . import _json
from ._diagnose import describe_file
from ._fields import Fields

__all__ = ["AtomicFile", "Trailer", "current_umask", "encode_trailer", "read_trailer",
           "rewrite_trailer"]

TRAILER_SIZE = 9  # NUL + u64 length
#: How many stray bytes after a trailer :func:`read_trailer` looks past when recovering.
MAX_STRAY_BYTES = 64
#: Sanity bound on the JSON text size (a corrupt length field is caught before reading).
MAX_JSON_SIZE = 1 << 30
_JSON_PEEK = 4096  # bytes read first, to reject a non-JSON region before reading it all
_JSON_SPACE = b" \t\r\n"

ISX_PRODUCER = {"name": "isxcore", "version": [2, 0, 1]}
"""The ``producer`` written by isx 2.1.0; isxio writes the same so outputs are byte-identical."""


@dataclass(frozen=True)
class Trailer:
    """What :func:`read_trailer` found at the end of a file."""

    path: str
    header: dict[str, Any]  #: the parsed JSON object
    data_size: int  #: D: bytes of the data section (= offset of the JSON text)
    json_size: int  #: N
    file_size: int  #: S (excluding any ignored stray bytes)
    stray_bytes: int = 0  #: bytes after the trailer that were ignored
    #: the JSON text exactly as stored (``json_size`` bytes), for verbatim copies
    text: bytes = field(default=b"", repr=False, compare=False)

    @property
    def fields(self) -> Fields:
        return Fields(self.header, self.path, offset=self.data_size)


def _parse_at(path: str, fh: BinaryIO, end: int) -> Trailer:
    """Parse a container whose trailer ends at byte ``end``; raise on any inconsistency."""
    if end < TRAILER_SIZE:
        raise IsxFormatError(path, "file too small to hold an isxd trailer", offset=0,
                             expected=f">= {TRAILER_SIZE} bytes", found=f"{end} bytes")
    fh.seek(end - TRAILER_SIZE)
    tail = fh.read(TRAILER_SIZE)
    if len(tail) != TRAILER_SIZE:
        raise IsxFormatError(path, "could not read the trailer", offset=end - TRAILER_SIZE)
    (n,) = struct.unpack("<Q", tail[1:])
    data_size = end - TRAILER_SIZE - n
    if n > MAX_JSON_SIZE or data_size < 0:
        raise IsxFormatError(path, "JSON length field points before the start of the file",
                             offset=end - 8, expected=f"a length <= {end - TRAILER_SIZE}",
                             found=n)
    if tail[0] != 0:
        raise IsxFormatError(path, "missing NUL byte between the JSON and its length",
                             offset=end - TRAILER_SIZE, expected="0x00",
                             found=f"0x{tail[0]:02x}")
    fh.seek(data_size)
    raw = fh.read(min(n, _JSON_PEEK))
    if not raw.lstrip(_JSON_SPACE).startswith(b"{") and raw.strip(_JSON_SPACE):
        raise IsxFormatError(path, "JSON text does not start with '{'", offset=data_size,
                             expected="a JSON object", found=repr(raw[:16]))
    if n > len(raw):
        raw += fh.read(n - len(raw))
    if len(raw) != n:
        raise IsxFormatError(path, "JSON text is cut short", offset=data_size,
                             expected=f"{n} bytes", found=f"{len(raw)} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IsxFormatError(path, "JSON text is not valid UTF-8",
                             offset=data_size + exc.start) from None
    try:
        header = _json.loads(text)
    except RecursionError:
        raise IsxFormatError(path, "JSON text is nested too deeply to parse",
                             offset=data_size) from None
    except ValueError as exc:
        pos = getattr(exc, "pos", None)
        raise IsxFormatError(path, f"JSON text does not parse ({getattr(exc, 'msg', exc)})",
                             offset=data_size + len(text[:pos].encode()) if pos is not None
                             else data_size) from None
    if not isinstance(header, dict):
        raise IsxFormatError(path, "JSON text is not an object", offset=data_size,
                             expected="a JSON object", found=type(header).__name__)
    return Trailer(path, header, data_size, n, end, text=raw)


#: Trailer failures that happen after the NUL + length checked out (the JSON is bad).
_JSON_FAILURES = ("JSON text is cut short", "JSON text is not valid", "JSON text does not parse",
                  "JSON text is nested", "JSON text is not an object")


def _diagnosed(first: IsxFormatError, fh: BinaryIO) -> IsxFormatError:
    """``first`` with what the file most likely is put first (see :mod:`._diagnose`)."""
    try:
        what = describe_file(fh, located=first.reason.startswith(_JSON_FAILURES))
    except OSError:
        return first
    return IsxFormatError(first.path, f"{what}; {first.reason}", offset=first.offset,
                          key=first.key, expected=first.expected, found=first.found)


def read_trailer(path: str | os.PathLike[str] | FileSource, fh: BinaryIO | None = None, *,
                 recover: bool = True) -> Trailer:
    """Locate and parse the JSON trailer of an ``.isxd`` file.

    Reads only the last 9 bytes and the JSON text.  If the trailer is damaged and
    ``recover`` is true, looks for a valid trailer up to :data:`MAX_STRAY_BYTES`
    before the end (e.g. a newline appended by a text tool); if one is found, warns
    with :class:`~isxio.errors.IsxFormatWarning` saying how many bytes are ignored.
    ``path`` may also be a URL or a :class:`~isxio._io.FileSource` (remote files: the
    end of the file is fetched in one ranged read, the JSON in a second if longer).
    """
    source = as_source(path)
    path = source.name
    own = fh is None
    if own:
        fh = open(path, "rb") if source.is_local else source.open()
    try:
        size = fh.seek(0, os.SEEK_END)
        try:
            return _parse_at(path, fh, size)
        except IsxFormatError as first:
            if not recover:
                raise _diagnosed(first, fh) from None
            for stray in range(1, min(MAX_STRAY_BYTES, size - TRAILER_SIZE) + 1):
                try:
                    found = _parse_at(path, fh, size - stray)
                except IsxFormatError:
                    continue
                if "type" not in found.header:
                    continue
                warnings.warn(
                    f"{path}: ignored {stray} stray byte(s) after the isxd trailer "
                    f"(bytes {size - stray}..{size - 1})", IsxFormatWarning, stacklevel=3)
                return replace(found, stray_bytes=stray)
            raise _diagnosed(first, fh) from None
    finally:
        if own:
            fh.close()


def encode_trailer(header: dict[str, Any] | bytes) -> bytes:
    """JSON text + NUL + u64 length.

    ``header`` is the JSON object (written with isxcore's formatting) or the JSON text
    itself as UTF-8 bytes, written verbatim (e.g. a source file's :attr:`Trailer.text`).
    """
    raw = header if isinstance(header, bytes) else _json.dumps(header).encode("utf-8")
    return raw + b"\x00" + struct.pack("<Q", len(raw))


def current_umask() -> int:
    """The process umask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # portable fallback: read by setting, then restore
    os.umask(mask)
    return mask


def rewrite_trailer(path: str, data_size: int, header: dict[str, Any]) -> None:
    """Replace the JSON trailer of ``path`` (data section kept) and truncate the file.

    isx rewrites the trailer in place without truncating, which leaves a stale tail
    when the JSON gets shorter; truncating gives the same bytes otherwise.
    """
    raw = encode_trailer(header)
    with open(path, "r+b") as fh:
        fh.seek(data_size)
        fh.write(raw)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())


class AtomicFile:
    """A binary file written under a temporary name and renamed into place on commit.

    Nothing appears under ``path`` until :meth:`commit` succeeds.  Unless
    ``overwrite`` is true, an existing ``path`` is an error (checked at open and again
    at commit).
    """

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.overwrite = overwrite
        if os.path.exists(self.path) and not overwrite:
            raise FileExistsError(f"{self.path}: file exists (pass overwrite=True to replace it)")
        folder, name = os.path.split(self.path)
        fd, self.tmp_path = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        self.fh: BinaryIO | None = os.fdopen(fd, "w+b")
        try:  # mkstemp creates 0600; give the file the mode open() would have given it
            os.chmod(self.tmp_path, 0o666 & ~current_umask())
        except OSError:  # pragma: no cover - e.g. filesystems without modes
            pass

    @property
    def closed(self) -> bool:
        return self.fh is None

    def write(self, data: bytes | memoryview) -> None:
        assert self.fh is not None
        self.fh.write(data)

    def tell(self) -> int:
        assert self.fh is not None
        return self.fh.tell()

    def commit(self) -> None:
        """Flush, close and rename the temporary file to the final name."""
        if self.fh is None:
            return
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        self.fh = None
        if not self.overwrite and os.path.exists(self.path):
            os.unlink(self.tmp_path)
            raise FileExistsError(f"{self.path}: file appeared while writing; not replaced")
        os.replace(self.tmp_path, self.path)

    def abort(self) -> None:
        """Discard everything written; the final path is left untouched."""
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass

    def __del__(self) -> None:
        if getattr(self, "fh", None) is not None:
            self.abort()
