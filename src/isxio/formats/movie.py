"""Movies and images (``type`` 0 and 4): frames, frame headers/footers, TSC timestamps.

Spec ``isxd.md`` §4-5.  Only valid frames are stored; dropped, cropped and blank
frames take no space and read as zeros.  nVista 3 acquisitions wrap every frame in a
5120-byte header and footer whose metadata pixels carry a hardware (TSC) timestamp.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._io import as_source
from .._lazy import RecordArray, locked_cached_property
from ..errors import IsxFormatError, IsxFormatWarning, IsxUnsupportedError, IsxWriteError
from . import _json
from ._base import IsxdReader, IsxdWriter, checked_timing
from ._diagnose import kind_mismatch, size_diagnosis
from .common import Ratio, SpacingInfo, TimingInfo
from .container import ISX_PRODUCER, AtomicFile, Trailer, read_trailer

__all__ = [
    "DATA_TYPES",
    "FRAME_HEADER_ITEMS",
    "MovieFile",
    "MovieHeader",
    "MovieWriter",
    "decode_tsc",
    "encode_tsc",
    "write_movie",
]

#: ``dataType`` code -> numpy dtype (3 = RGB888 has no reader path in isx).
DATA_TYPES: dict[int, np.dtype] = {
    0: np.dtype("<u2"),
    1: np.dtype("<f4"),
    2: np.dtype("u1"),
}
DATA_TYPE_CODES = {dt: code for code, dt in DATA_TYPES.items()}
#: uint16 values in each nVista 3 frame header and in each footer (2 sensor rows).
FRAME_HEADER_ITEMS = 2560
TSC_PIXEL = 1272  # header pixels 1272..1279 carry the TSC, one byte each in bits 4-11
MOVIE_TYPE, IMAGE_TYPE = 0, 4
#: Most samples accepted for a movie whose frames have no pixels (nothing bounds them).
MAX_EMPTY_FRAMES = 1 << 20
#: Most samples accepted for any movie (37 hours at 1 kHz); each costs ~24 bytes of index.
MAX_MOVIE_FRAMES = 1 << 27


def dtype_code(dtype: Any) -> int:
    """``dataType`` code of a numpy dtype (uint16, float32 or uint8)."""
    dt = np.dtype(dtype).newbyteorder("<") if np.dtype(dtype).itemsize > 1 else np.dtype(dtype)
    try:
        return DATA_TYPE_CODES[dt]
    except KeyError:
        raise IsxWriteError(
            f"unsupported pixel type {np.dtype(dtype)}; expected uint16, float32 or uint8"
        ) from None


def decode_tsc(header_pixels: np.ndarray) -> np.ndarray:
    """Decode TSC timestamps (µs) from frame header pixels 1272..1279 (last axis: 2560).

    Pixel ``1272 + n`` carries byte ``n`` of the little-endian TSC in bits 4-11; the
    components are combined as isxcore does, without masking the top bits.
    """
    return _tsc_from_pixels(np.asarray(header_pixels)[..., TSC_PIXEL:TSC_PIXEL + 8])


def _tsc_from_pixels(pixels: np.ndarray) -> np.ndarray:
    """TSCs from the 8 TSC pixels of each header (last axis: 8)."""
    p = np.asarray(pixels).astype(np.uint64)
    tsc = np.zeros(p.shape[:-1], np.uint64)
    for j in range(4):
        comp = (p[..., 2 * j + 1] << np.uint64(4)) | (p[..., 2 * j] >> np.uint64(4))
        tsc |= comp << np.uint64(16 * j)
    return tsc


_TSC_SHIFTS = np.arange(0, 64, 8, dtype=np.uint64)  # byte n of a TSC: bits 8n..8n+7


def encode_tsc(tsc: Any) -> np.ndarray:
    """The 8 header pixels that carry ``tsc`` (inverse of :func:`decode_tsc`).

    ``tsc`` is one timestamp (-> 8 uint16 values) or an array of them (-> shape
    ``(..., 8)``); a negative or larger integer contributes its low 64 bits.
    """
    if isinstance(tsc, int):
        tsc = tsc & 0xFFFF_FFFF_FFFF_FFFF
    t = np.asarray(tsc)
    t = t if t.dtype == np.uint64 else t.astype(np.uint64)
    return (((t[..., np.newaxis] >> _TSC_SHIFTS) & np.uint64(0xFF)) << np.uint64(4)
            ).astype(np.uint16)


# One version component: an optionally signed decimal integer, blanks around it allowed.
_VERSION_PART_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]{1,10})[ \t\n\v\f\r]*", re.ASCII)


def _acquisition_version(extra: Any) -> tuple[int, int, int] | None:
    """``extraProperties.producer.version`` as ``(major, minor, patch)``, or None.

    Parsed as isx 2.1.0 does (checked against it): the text before the first ``-``
    is split at ``.``; the first three parts (missing ones are 0) must each be a whole
    32-bit integer, possibly signed and surrounded by blanks; later parts are ignored.
    """
    if not isinstance(extra, dict):
        return None
    producer = extra.get("producer")
    version = producer.get("version") if isinstance(producer, dict) else None
    if not isinstance(version, str):
        return None
    numbers = []
    for part in version.split("-", 1)[0].split(".")[:3]:
        m = _VERSION_PART_RE.fullmatch(part)
        if not m or not -(2**31) <= int(m.group(1)) < 2**31:
            return None
        numbers.append(int(m.group(1)))
    return tuple(numbers + [0] * (3 - len(numbers)))  # type: ignore[return-value]


@dataclass(frozen=True)
class MovieHeader:
    """Everything a movie/image trailer says (spec §4.1)."""

    timing: TimingInfo  #: as stored in the file (normalised), before any TSC override
    spacing: SpacingInfo
    dtype: np.dtype
    has_frame_header_footer: bool = False
    extra_properties: dict[str, Any] | None = None
    file_version: int = 1
    producer: dict[str, Any] = field(default_factory=lambda: dict(ISX_PRODUCER))
    type: int = MOVIE_TYPE

    @property
    def frame_items(self) -> int:
        return self.spacing.num_rows * self.spacing.num_cols

    @property
    def record_items(self) -> int:
        extra = 2 * FRAME_HEADER_ITEMS if self.has_frame_header_footer else 0
        return self.frame_items + extra

    @property
    def record_bytes(self) -> int:
        return self.record_items * self.dtype.itemsize

    @property
    def has_tsc(self) -> bool:
        """True if frames carry TSC timestamps isx would report (spec §4.6)."""
        version = _acquisition_version(self.extra_properties)
        return bool(self.has_frame_header_footer and version is not None
                    and version >= (1, 1, 1))

    def to_json(self) -> dict[str, Any]:
        return {
            "dataType": DATA_TYPE_CODES[self.dtype],
            "extraProperties": self.extra_properties,
            "fileVersion": self.file_version,
            "hasFrameHeaderFooter": self.has_frame_header_footer,
            "producer": self.producer,
            "spacingInfo": self.spacing.to_json(),
            "timingInfo": self.timing.to_json(),
            "type": self.type,
        }

    @classmethod
    def from_trailer(cls, trailer: Trailer) -> MovieHeader:
        f = trailer.fields
        kind = f.integer("type")
        if kind not in (MOVIE_TYPE, IMAGE_TYPE):
            raise f.error(kind_mismatch("a movie or image", kind), key="type",
                          expected="0 (movie) or 4 (image)", found=kind)
        code = f.integer("dataType")
        if code == 3:
            raise IsxUnsupportedError(trailer.path, "RGB888 movies are not supported",
                                      key="dataType", found=3)
        if code not in DATA_TYPES:
            raise f.error("unknown pixel data type", key="dataType",
                          expected="0 (uint16), 1 (float32) or 2 (uint8)", found=code)
        version = f.integer("fileVersion", 0, lo=0, hi=2**32)
        framed = f.boolean("hasFrameHeaderFooter", False) and version >= 1
        if framed and code != 0:
            raise f.error("frame header/footer needs uint16 pixels", key="dataType",
                          expected=0, found=code)
        extra = f.raw("extraProperties", None)
        producer = f.raw("producer", {})
        return cls(TimingInfo.from_json(f), SpacingInfo.from_json(f), DATA_TYPES[code],
                   framed, extra, version, producer if isinstance(producer, dict) else {}, kind)


class MovieFile(IsxdReader):
    """A movie or image ``.isxd`` file opened for reading.

    Opening reads only the trailer.  ``data`` is a lazy, memory-mapped array of shape
    ``(frames, rows, cols)``; invalid (dropped/cropped/blank) frames read as zeros.

    Parameters
    ----------
    path
        The ``.isxd`` file.
    recover
        Accept (with a warning) stray bytes appended after the trailer.
    trailer
        The already-parsed trailer of ``path`` (saves reading it again).
    """

    _lazy_arrays = ("data", "frame_headers", "frame_footers")

    def __init__(self, path: str | os.PathLike[str], *, recover: bool = True,
                 trailer: Trailer | None = None) -> None:
        self.source = as_source(path)
        self.path = self.source.name
        self.trailer = trailer or read_trailer(self.source, recover=recover)
        self.header = MovieHeader.from_trailer(self.trailer)
        self._index = self._check_layout()

    def _check_layout(self) -> np.ndarray:
        """Check the trailer against the data section; return the frame -> record map."""
        timing = self.header.timing
        self._check_invalid_lists(timing)
        self._check_counts(timing)  # from the lists alone, before any per-frame array
        try:
            index = timing.record_indices()
        except MemoryError:
            raise IsxFormatError(self.path, "timing describes too many frames to index",
                                 key="timingInfo.numTimes", found=timing.num_samples) from None
        valid = timing.valid_mask()
        if valid.any() and index[valid].min() < 0:
            first = int(np.flatnonzero(valid & (index < 0))[0])
            raise IsxFormatError(
                self.path, f"duplicate dropped/blank indices place valid frame {first} before "
                "the first stored frame", key="timingInfo",
                expected="dropped/blank indices without duplicates", found=f"frame {first} at "
                f"record {int(index[first])}")
        n_valid = int(np.count_nonzero(valid))
        needed = int(index[valid].max()) + 1 if n_valid else 0
        if needed * self.header.record_bytes > self.trailer.data_size:
            raise self._size_error(n_valid)
        return index

    def _check_invalid_lists(self, timing: TimingInfo) -> None:
        n = timing.num_samples
        for name, seq in (("dropped", timing.dropped), ("blank", timing.blank)):
            if seq and n and max(seq) >= n:
                raise IsxFormatError(self.path, f"{name} index past the last frame",
                                     key=f"timingInfo.{name}", expected=f"< {n}",
                                     found=max(seq))
            if len(set(seq)) != len(seq):
                warnings.warn(f"{self.path}: duplicate indices in timingInfo.{name}; frames "
                              "are located as isxcore does (each duplicate shifts later "
                              "frames)", IsxFormatWarning, stacklevel=4)

    def _check_counts(self, timing: TimingInfo) -> None:
        """Match the data size with the number of valid frames, counted from the lists.

        Each duplicate dropped/blank entry moves later frames one record back (isxcore's
        counting), so with ``d`` duplicates between ``valid - d`` and ``valid`` records
        are read; without duplicates, exactly ``valid``.
        """
        n, rb, size = timing.num_samples, self.header.record_bytes, self.trailer.data_size
        cropped = sum(min(b, n - 1) - a + 1 for a, b in timing.cropped if a < n)
        listed = set(timing.dropped) | set(timing.blank)
        n_valid = n - cropped - sum(1 for i in listed if i < n)
        extras = len(timing.dropped) + len(timing.blank) - len(set(timing.dropped)) \
            - len(set(timing.blank))
        if rb == 0:
            if size:
                raise IsxFormatError(self.path, "data section must be empty for 0-pixel frames",
                                     offset=0, key="spacingInfo.numPixels",
                                     expected="0 bytes", found=f"{size} bytes")
            limit = MAX_EMPTY_FRAMES
        elif size % rb or not max(n_valid - extras, 0) * rb <= size <= n_valid * rb:
            raise self._size_error(n_valid)
        else:
            limit = MAX_MOVIE_FRAMES
        if n > limit:  # mostly cropped away or 0-pixel: indexing it would exhaust memory
            raise IsxFormatError(self.path, "implausibly many frames", key="timingInfo.numTimes",
                                 expected=f"<= {limit}", found=n)

    def _size_error(self, n_valid: int) -> IsxFormatError:
        rb, size = self.header.record_bytes, self.trailer.data_size
        return IsxFormatError(
            self.path, f"{size_diagnosis(size, n_valid * rb, rb, 'frame')}; data section "
            "size does not match the frames the trailer describes",
            offset=size, key="timingInfo",
            expected=f"{n_valid} stored frames x {rb} bytes = {n_valid * rb} bytes",
            found=f"{size} bytes ({size / rb:g} frames)")

    # -------------------------------------------------------------- metadata
    @property
    def spacing(self) -> SpacingInfo:
        return self.header.spacing

    @property
    def dtype(self) -> np.dtype:
        return self.header.dtype

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.header.timing.num_samples, *self.header.spacing.shape)

    @property
    def num_frames(self) -> int:
        return self.header.timing.num_samples

    @property
    def num_records(self) -> int:
        rb = self.header.record_bytes
        return self.trailer.data_size // rb if rb else 0

    @property
    def extra_properties(self) -> dict[str, Any] | None:
        return self.header.extra_properties

    @property
    def valid_mask(self) -> np.ndarray:
        return self._index >= 0

    @property
    def has_frame_timestamps(self) -> bool:
        """True if frames carry TSC timestamps (``tsc``) as isx reports them (§4.6)."""
        return self.header.has_tsc

    @locked_cached_property
    def timing(self) -> TimingInfo:
        """Timing as isx reports it: the period comes from the TSCs when available (§4.6)."""
        timing = self.header.timing
        if not self.header.has_tsc:
            return timing
        valid = np.flatnonzero(self._index >= 0)
        if len(valid) < 2:
            return timing
        f0, f1 = int(valid[0]), int(valid[-1])
        t0, t1 = (int(x) for x in self._tsc_part()[[f0, f1]])
        if f1 - f0 > 1 and t0 < t1:
            return replace(timing, period=Ratio(t1 - t0, (f1 - f0) * 1_000_000))
        return timing

    # -------------------------------------------------------------- data
    def _records(self, start: int, count: int) -> RecordArray:
        h = self.header
        return RecordArray(self.source, 0, h.record_items, start, (count,) if count else (0,),
                           self.num_records, h.dtype if not h.has_frame_header_footer
                           else np.dtype("<u2"), self._index)

    @locked_cached_property
    def data(self) -> RecordArray:
        """Frames as a lazy array ``(frames, rows, cols)``; invalid frames are zeros."""
        h = self.header
        start = FRAME_HEADER_ITEMS if h.has_frame_header_footer else 0
        return RecordArray(self.source, 0, h.record_items, start, h.spacing.shape,
                           self.num_records, h.dtype, self._index)

    @locked_cached_property
    def frame_headers(self) -> RecordArray:
        """The 2560-value frame headers ``(frames, 2560)`` (zeros for invalid frames)."""
        if not self.header.has_frame_header_footer:
            raise IsxFormatError(self.path, "movie has no frame headers",
                                 key="hasFrameHeaderFooter", found=False)
        return self._records(0, FRAME_HEADER_ITEMS)

    @locked_cached_property
    def frame_footers(self) -> RecordArray:
        """The 2560-value frame footers ``(frames, 2560)`` (zeros for invalid frames)."""
        if not self.header.has_frame_header_footer:
            raise IsxFormatError(self.path, "movie has no frame footers",
                                 key="hasFrameHeaderFooter", found=False)
        return self._records(FRAME_HEADER_ITEMS + self.header.frame_items, FRAME_HEADER_ITEMS)

    def _tsc_part(self) -> _TscView:
        """TSCs of frames as a lazy accessor: ``self._tsc_part()[frames]`` -> uint64 array."""
        if not self.header.has_frame_header_footer:
            raise IsxFormatError(self.path, "No frame timestamps stored in movie",
                                 key="hasFrameHeaderFooter", found=False)
        part = RecordArray(self.source, 0, self.header.record_items, TSC_PIXEL, (8,),
                           self.num_records, np.dtype("<u2"), self._index)
        return _TscView(part)

    @locked_cached_property
    def tsc(self) -> np.ndarray | None:
        """Per-frame hardware timestamps in µs (uint64; 0 for invalid frames).

        None when the movie stores no frame headers (no timestamps: an absent optional
        feature, not a format error).  Frames with headers always decode; isx reports
        them only when :attr:`has_frame_timestamps` is true (spec §4.6).
        """
        if not self.header.has_frame_header_footer:
            return None
        return self._tsc_part()[:]

    def __repr__(self) -> str:
        return (f"<MovieFile {self.path!r} {self.shape} {self.dtype} "
                f"period={float(self.timing.period):g}s>")


def _cast_pixels(arr: np.ndarray, target: np.dtype) -> np.ndarray:
    """``arr`` as ``target`` pixels; refuse conversions that would change values' meaning.

    Integers (and booleans) convert to uint pixels when every value fits; integers and
    floats convert to float32.  Floats never silently become integers.
    """
    if arr.dtype == target:
        return arr
    kind = arr.dtype.kind
    if target.kind == "f" and kind in "buif":
        return arr.astype(target)
    if target.kind == "u" and kind in "bui":
        info = np.iinfo(target)
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) > info.max):
            raise IsxWriteError(f"frame values {int(arr.min())}..{int(arr.max())} do not fit "
                                f"in {target} pixels (0..{info.max})")
        return arr.astype(target)
    raise IsxWriteError(f"frames are {arr.dtype}, movie is {target}; convert explicitly")


class _TscView:
    """Index frames, get their decoded TSCs (0 for invalid frames)."""

    def __init__(self, part: RecordArray) -> None:
        self.part = part

    def __getitem__(self, key: Any) -> np.ndarray:
        return _tsc_from_pixels(self.part[key])


#: Trailer fields a verbatim trailer must agree on with the movie being written: the
#: ones a reader locates and interprets the data section by (spec §4.1-4.3).
_VERBATIM_FIELDS: tuple[tuple[str, Any], ...] = (
    ("dataType", lambda h: DATA_TYPE_CODES[h.dtype]),
    ("hasFrameHeaderFooter", lambda h: h.has_frame_header_footer),
    ("spacingInfo.numPixels", lambda h: h.spacing.shape),
    ("spacingInfo.pixelSize", lambda h: h.spacing.pixel_size),
    ("spacingInfo.topLeft", lambda h: h.spacing.top_left),
    ("timingInfo.numTimes", lambda h: h.timing.num_samples),
    ("timingInfo.period", lambda h: h.timing.period),
    ("timingInfo.start", lambda h: h.timing.start),
    ("timingInfo.dropped", lambda h: h.timing.dropped),
    ("timingInfo.cropped", lambda h: h.timing.cropped),
    ("timingInfo.blank", lambda h: h.timing.blank),
    ("extraProperties", lambda h: h.extra_properties),
)
#: Records interleaved (header + pixels + footer) per write: bounds the extra memory.
_RECORD_BLOCK_BYTES = 1 << 25


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _verbatim_header(path: str, raw: bytes | str, want: MovieHeader,
                     producer: dict[str, Any] | None) -> tuple[bytes, MovieHeader]:
    """``raw`` as UTF-8 bytes and what it says, checked to describe ``want``.

    Raises :class:`~isxio.errors.IsxWriteError` naming ``path`` and the first field
    that differs (``producer`` is compared only when the caller chose one).
    """
    text = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    try:
        obj = _json.loads(text.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError(f"JSON text is {type(obj).__name__}, not an object")
        found = MovieHeader.from_trailer(Trailer(path, obj, 0, len(text), len(text)))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise IsxWriteError(f"{path}: raw_trailer is not a movie trailer ({exc})") from None
    checks = [(key, get(want), get(found)) for key, get in _VERBATIM_FIELDS]
    if found.type != want.type and not (found.type == MOVIE_TYPE and want.type == IMAGE_TYPE
                                        and want.timing.num_samples <= 1):
        checks.append(("type", want.type, found.type))  # a 1-frame movie may stay a movie
    if producer:
        checks.append(("producer", producer, found.producer))
    for key, expected, got in checks:
        if expected != got:
            raise IsxWriteError(f"{path}: raw_trailer does not describe the movie being "
                                f"written: {key} is {_short(got)} in the trailer, "
                                f"{_short(expected)} for the data; nothing was written")
    return text, found


class MovieWriter(IsxdWriter):
    """Write a movie (or image) frame by frame, in bounded memory.

    Frames must be given in increasing order of their (valid) indices.  Nothing
    appears under ``path`` before :meth:`flush` succeeds; the file is written to a
    temporary file in the same folder and renamed.  The output is byte-identical to
    what isx writes for the same input.

    Parameters
    ----------
    path
        Output ``.isxd`` file.
    timing, spacing, dtype
        Movie geometry; ``dtype`` is uint16, float32 or uint8.
    overwrite
        Replace an existing file (default: an existing file is an error).
    extra_properties
        ``extraProperties`` object (acquisition metadata), or None.
    frame_header_footer
        Write nVista 3 style 2560-value frame headers/footers (uint16 only).
    producer
        ``producer`` object of the trailer (default: isx 2.1.0's).
    raw_trailer
        JSON text (UTF-8 bytes or str) written verbatim as the trailer instead of
        serialising one, e.g. a source file's ``MovieFile.trailer.text`` (so that a
        copy is byte-identical even when an older isxcore wrote another JSON layout).
        It must describe exactly this movie: its pixel type, frame header/footer flag,
        spacing, timing (number of frames, period, start, dropped/cropped/blank) and
        ``extraProperties`` (and ``producer`` when given) are compared with the
        arguments; any difference raises :class:`~isxio.errors.IsxWriteError`.
    """

    def __init__(self, path: str | os.PathLike[str], timing: TimingInfo, spacing: SpacingInfo,
                 dtype: Any, *, overwrite: bool = False,
                 extra_properties: dict[str, Any] | None = None,
                 frame_header_footer: bool = False,
                 producer: dict[str, Any] | None = None,
                 raw_trailer: bytes | str | None = None) -> None:
        code = dtype_code(dtype)
        if frame_header_footer and code != 0:
            raise IsxWriteError("frame headers/footers need uint16 pixels")
        timing = checked_timing(timing)
        self.header = MovieHeader(
            timing, spacing, DATA_TYPES[code], frame_header_footer, extra_properties, 1,
            dict(producer or ISX_PRODUCER),
            MOVIE_TYPE if timing.num_samples > 1 else IMAGE_TYPE)
        self._raw: bytes | None = None
        if raw_trailer is not None:
            self._raw, self.header = _verbatim_header(
                os.path.abspath(os.fspath(path)), raw_trailer, self.header, producer)
        self._mask = timing.valid_mask()
        self._valid = np.flatnonzero(self._mask)
        self._written = 0
        self._open(path, overwrite)

    @property
    def num_written(self) -> int:
        return self._written

    @property
    def next_index(self) -> int | None:
        """Index of the next frame expected, or None when all are written."""
        return int(self._valid[self._written]) if self._written < len(self._valid) else None

    def _as_frames(self, frames: Any, count: int | None) -> np.ndarray:
        """Check shape (one frame if ``count`` is 1, else a stack) and convert the dtype."""
        arr = np.asarray(frames)
        shape = self.header.spacing.shape
        want = shape if count == 1 else (arr.shape[0] if arr.ndim == 3 else -1, *shape)
        if arr.shape != want:
            raise IsxWriteError(f"frame shape {arr.shape} does not match the movie's "
                                f"{'(frames, ' if count != 1 else '('}{shape[0]}, {shape[1]})")
        return np.ascontiguousarray(_cast_pixels(arr, self.header.dtype))

    def _parts(self, name: str, part: Any, count: int) -> np.ndarray | None:
        """Frame headers or footers of ``count`` frames as ``(count, 2560)`` uint16."""
        if part is None:
            return None
        if not self.header.has_frame_header_footer:
            raise IsxWriteError("this movie has no frame headers/footers")
        block = np.asarray(part, "<u2")
        if block.size != count * FRAME_HEADER_ITEMS:
            raise IsxWriteError(f"frame {name} must have {FRAME_HEADER_ITEMS} values per "
                                f"frame ({count} frame(s)), got {block.size} values")
        return block.reshape(count, FRAME_HEADER_ITEMS)

    def _write_records(self, f: AtomicFile, pixels: np.ndarray, headers: np.ndarray | None,
                       footers: np.ndarray | None) -> None:
        """Write ``header + pixels + footer`` records, interleaved a block at a time."""
        k, h, n = len(pixels), FRAME_HEADER_ITEMS, self.header.frame_items
        flat = pixels.reshape(k, n)
        step = max(1, _RECORD_BLOCK_BYTES // max(1, self.header.record_bytes))
        for lo in range(0, k, step):
            hi = min(lo + step, k)
            rec = np.empty((hi - lo, 2 * h + n), "<u2")
            rec[:, :h] = 0 if headers is None else headers[lo:hi]
            rec[:, h:h + n] = flat[lo:hi]
            rec[:, h + n:] = 0 if footers is None else footers[lo:hi]
            f.write(memoryview(rec).cast("B"))

    def set_frame_data(self, index: int, frame: Any, *, header: Any = None,
                       footer: Any = None) -> bool:
        """Write the frame of sample ``index``.

        Returns False (with a warning, as isx does) if ``index`` is an invalid
        (dropped/cropped/blank) sample: nothing is written for it.
        """
        f = self._check_open()
        timing = self.header.timing
        if not 0 <= index < timing.num_samples:
            raise IsxWriteError(f"frame index {index} out of range 0..{timing.num_samples - 1}")
        if not self._mask[index]:
            warnings.warn(f"Attempted to write invalid frame {index}. Skipping.", stacklevel=2)
            return False
        expected = self.next_index
        if index != expected:
            raise IsxWriteError(f"frames must be written in order: expected frame {expected}, "
                                f"got {index}")
        pixels = self._as_frames(frame, 1)
        headers, footers = self._parts("header", header, 1), self._parts("footer", footer, 1)
        if self.header.has_frame_header_footer:
            self._write_records(f, pixels[np.newaxis], headers, footers)
        else:
            f.write(pixels.tobytes())
        self._written += 1
        return True

    def write_frames(self, frames: Any, headers: Any = None, footers: Any = None) -> None:
        """Append the next ``len(frames)`` valid frames at once (array ``(k, rows, cols)``).

        ``headers``/``footers``: the frames' nVista 3 headers/footers ``(k, 2560)``
        uint16 (zeros when omitted), for a movie with ``frame_header_footer``.
        """
        f = self._check_open()
        arr = self._as_frames(frames, None)
        if self._written + len(arr) > len(self._valid):
            raise IsxWriteError(f"too many frames: {len(self._valid) - self._written} "
                                f"valid frame(s) left, got {len(arr)}")
        heads = self._parts("header", headers, len(arr))
        feet = self._parts("footer", footers, len(arr))
        if self.header.has_frame_header_footer:
            self._write_records(f, arr, heads, feet)
        else:
            f.write(memoryview(arr).cast("B"))
        self._written += len(arr)

    def _finish(self, f: AtomicFile) -> dict[str, Any] | bytes:
        """The trailer; every valid frame must be written."""
        if self._written != len(self._valid):
            missing = len(self._valid) - self._written
            raise IsxWriteError(f"{self.path}: {missing} valid frame(s) not written yet "
                                f"(next expected: frame {self.next_index}); nothing was saved")
        if self._raw is None:
            return self.header.to_json()
        size, want = f.tell(), self._written * self.header.record_bytes
        if size != want:  # the data section a reader of the verbatim trailer expects
            raise IsxWriteError(f"{self.path}: data section is {size} bytes, the verbatim "
                                f"trailer describes {want}; nothing was saved")
        return self._raw


def write_movie(path: str | os.PathLike[str], data: Any, *, timing: TimingInfo | None = None,
                spacing: SpacingInfo | None = None, overwrite: bool = False,
                extra_properties: dict[str, Any] | None = None,
                chunk_frames: int = 256) -> None:
    """Write a whole movie from an array ``(frames, rows, cols)`` (or any sliceable).

    ``data`` holds every sample (invalid ones are skipped) and is consumed in chunks
    of ``chunk_frames``, so a lazy or memory-mapped source streams in bounded memory.
    """
    if not (hasattr(data, "shape") and hasattr(data, "dtype")):
        data = np.asarray(data)
    shape = tuple(data.shape)
    if len(shape) == 2:
        data, shape = np.asarray(data)[np.newaxis], (1, *shape)
    if len(shape) != 3:
        raise IsxWriteError(f"movie data must be 3-D (frames, rows, cols), got shape {shape}")
    timing = timing or TimingInfo(num_samples=shape[0])
    if timing.num_samples != shape[0]:
        raise IsxWriteError(f"timing has {timing.num_samples} samples, data has {shape[0]}")
    spacing = spacing or SpacingInfo(shape[1], shape[2])
    with MovieWriter(path, timing, spacing, data.dtype, overwrite=overwrite,
                     extra_properties=extra_properties) as writer:
        for start, stop in _valid_runs(writer._valid, chunk_frames):
            # no name keeps the block: it is freed before the next one is read
            writer.write_frames(np.asarray(data[start:stop]))


def _valid_runs(valid: np.ndarray, chunk_frames: int):
    """``(start, stop)`` of runs of consecutive valid frames, at most ``chunk_frames`` long."""
    step = max(int(chunk_frames), 1)
    for run in np.split(valid, np.flatnonzero(np.diff(valid) != 1) + 1):
        for lo in range(0, len(run), step):
            yield int(run[lo]), int(run[min(lo + step, len(run)) - 1]) + 1
