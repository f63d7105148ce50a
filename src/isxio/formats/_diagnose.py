"""Say in words what a file that is not a readable ``.isxd`` container is.

When the trailer check of :mod:`isxio.formats.container` fails, the technical detail
(a length field pointing before the start of the file, ...) is true but not useful to
a person who renamed a TIFF.  :func:`diagnose` looks at the first and last bytes and
returns the diagnosis to put first in the message: another known format, a text file,
an ``.isxd`` whose JSON header is cut or damaged, or simply no ``.isxd`` trailer.
"""

from __future__ import annotations

import os
from typing import BinaryIO

__all__ = [
    "HEAD_BYTES",
    "ISXD_KINDS",
    "TAIL_BYTES",
    "describe_file",
    "diagnose",
    "kind_mismatch",
    "read_ends",
    "size_diagnosis",
]

HEAD_BYTES = 4096  #: bytes read from the start of the file
TAIL_BYTES = 1 << 16  #: bytes read from the end (where a cut JSON header would be)

# (magic, offset, what the file is); checked in order
_MAGICS: tuple[tuple[bytes, int, str], ...] = (
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"II+\x00", 0, "a BigTIFF image"),
    (b"MM\x00+", 0, "a BigTIFF image"),
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF8", 0, "a GIF image"),
    (b"BM", 0, "a BMP image"),
    (b"\x89HDF\r\n\x1a\n", 0, "an HDF5 file"),
    (b"PK\x03\x04", 0, "a ZIP archive (or a file stored in one: .zip, .npz, .docx, ...)"),
    (b"%PDF", 0, "a PDF document"),
    (b"\x93NUMPY", 0, "a NumPy .npy file"),
    (b"\x1f\x8b", 0, "a gzip-compressed file"),
    (b"RIFF", 0, "a RIFF file (AVI video or WAV audio)"),
    (b"\x1aE\xdf\xa3", 0, "a Matroska / WebM video"),
    (b"ftyp", 4, "an MP4 / QuickTime video"),
)
#: How an isxcore JSON header starts (pretty-printed with 4 spaces, keys sorted).
_JSON_START = b'{\n    "'
#: Keys only isxd headers have (to tell a cut isxd header from any JSON file).
_ISXD_KEYS = (b'"type"', b'"timingInfo"', b'"producer"', b'"dataType"', b'"fileVersion"',
              b'"CellNames"', b'"channel list"', b'"spacingInfo"')


def read_ends(fh: BinaryIO, size: int) -> tuple[bytes, bytes, int]:
    """The first :data:`HEAD_BYTES`, the last :data:`TAIL_BYTES` and the tail's offset."""
    fh.seek(0)
    head = fh.read(min(size, HEAD_BYTES))
    tail_at = max(0, size - TAIL_BYTES)
    fh.seek(tail_at)
    return head, fh.read(size - tail_at), tail_at


def _is_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the window's end
        if exc.start < len(data) - 4:
            return False
        text = data[:exc.start].decode("utf-8")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
    return controls == 0


def _json_header_at(head: bytes, tail: bytes, tail_at: int) -> int | None:
    """Offset of what looks like the start of an isxd JSON header near the end, if any."""
    pos = tail.rfind(_JSON_START)
    if pos > 0 or (pos == 0 and tail_at > 0):
        return tail_at + pos
    if head.startswith(_JSON_START) and any(k in head for k in _ISXD_KEYS):
        return 0  # a JSON-only file (an empty cell set) cut or damaged
    return None


def diagnose(head: bytes, tail: bytes, tail_at: int, size: int, *,
             located: bool = False) -> str:
    """What a file whose ``.isxd`` trailer does not check out most likely is, in words.

    Parameters
    ----------
    head, tail
        The first and last bytes of the file (see :func:`read_ends`).
    tail_at
        Offset of ``tail`` in the file.
    size
        File size in bytes.
    located
        True if the trailer (NUL + length) checked out and only the JSON it points to
        is bad (believed only if an isxd JSON header is seen near the end).
    """
    for magic, at, what in _MAGICS:
        if head[at:at + len(magic)] == magic:
            return f"not an Inscopix .isxd file: it is {what}"
    if size == 0:
        return "not an Inscopix .isxd file: it is empty (0 bytes)"
    json_at = _json_header_at(head, tail, tail_at)
    if located and json_at is not None:
        return ("damaged .isxd file: its trailer (NUL + JSON length) is in place but the "
                "JSON header it points to is corrupt")
    if json_at is not None:
        return (f"truncated or damaged .isxd file: its JSON header starts at byte {json_at} "
                f"but the file ({size} bytes) does not end with the NUL and JSON length "
                "that must follow it")
    if _is_text(head) and _is_text(tail):
        return "not an Inscopix .isxd file: it is a text file"
    return ("not an Inscopix .isxd file, or a truncated one: it does not end with an isxd "
            f"trailer (JSON header, NUL, 8-byte length); the file is {size} bytes")


def describe_file(fh: BinaryIO, *, located: bool = False) -> str:
    """:func:`diagnose` for an open binary file (its position is not restored)."""
    size = fh.seek(0, os.SEEK_END)
    return diagnose(*read_ends(fh, size), size, located=located)


def size_diagnosis(size: int, need: int | None, unit: int, item: str) -> str:
    """Lead words for a data section of ``size`` bytes where ``need`` bytes are described.

    ``unit`` is the size of one ``item`` (frame, cell, packet; 0 if items vary in
    size); ``need`` is ``None`` when only whole items are required.
    """
    if need is None or size < need:
        said = f"the trailer describes {need} bytes" if need is not None else (
            f"{item}s are {unit} bytes each")
        whole = f" ({size // unit} complete {item}(s))" if unit else ""
        return f"truncated or damaged data section: it is {size} bytes{whole}, {said}"
    return (f"the data section is {size - need} bytes longer than the {need} bytes the "
            "trailer describes")


#: What each ``.isxd`` ``type`` code holds (spec ``isxd.md`` §2), for "it is ..." messages.
ISXD_KINDS = {0: "a movie", 1: "a cell set", 2: "a behavioural movie", 3: "a GPIO set",
              4: "an image", 5: "an event set", 6: "a metrics file", 7: "an IMU set",
              8: "a vessel set", 9: "an nVision movie"}


def kind_mismatch(wanted: str, kind: object) -> str:
    """Lead words for an ``.isxd`` of another kind: ``not a cell set: it is a movie``."""
    what = ISXD_KINDS.get(kind) if isinstance(kind, int) else None
    return f"not {wanted}: it is {what}" if what else f"not {wanted}"
