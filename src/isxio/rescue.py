"""Recover the intact frames of truncated or trailer-less recordings.

An acquisition cut short (disk full, power loss, an interrupted copy) leaves an
``.isxd`` movie without its JSON trailer (spec ``isxd.md`` §1.1): the frames are
there, back to back from byte 0, but nothing says how to read them.
:func:`rescue` takes that layout (frame shape, pixel type, frame header/footer,
period, acquisition metadata) from a sibling file of the same recording or from
explicit arguments, copies every complete frame into a new, valid file and reports
what was recovered and what was lost.  The timeline (dropped frames, start time)
comes from the damaged file's own hardware timestamps (nVista 3 frame headers,
§4.5-4.6) or from whatever survives of its own trailer, never from the sibling's
lists.  Truncated ``.isxb`` nVision movies (``other.md`` §1) are rescued the same
way: their JPEG frames are self-delimiting.

The damaged file is only read; the output is written under a temporary name and
renamed into place when complete.
"""

from __future__ import annotations

import datetime as _dt
import json
import mmap
import os
import re
import struct
import warnings
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import IsxError, IsxFormatError, IsxFormatWarning
from .formats import _json
from .formats._fields import Fields
from .formats.common import Ratio, SpacingInfo, Time, TimingInfo
from .formats.container import MAX_STRAY_BYTES, TRAILER_SIZE, AtomicFile, read_trailer
from .formats.frameheader import HEADER_FIELDS, SYNC_PIXEL, SYNC_WORD
from .formats.isxb import HEADER as ISXB_HEADER
from .formats.isxb import MAX_FRAMES, FileSection, IsxbFile, IsxbHeader, index_jpegs
from .formats.movie import DATA_TYPES, FRAME_HEADER_ITEMS, MovieFile, MovieWriter, decode_tsc

__all__ = ["RescueRefused", "RescueReport", "rescue"]

#: Bytes of an nVista 3 frame header (and of a footer): 2560 uint16 values.
NVISTA3_HEADER_BYTES = 2 * FRAME_HEADER_ITEMS
#: How far from the end the JSON text of a cut trailer is looked for.
JSON_WINDOW = 1 << 26
#: A gap between two TSCs worth more frames than this is a corrupt header, not drops.
MAX_GAP_FRAMES = 100_000
#: Sibling and damaged TSCs further apart than this (µs) are from different clocks.
MAX_TSC_OFFSET_US = 7 * 24 * 3600 * 10**6
_COPY_BYTES = 1 << 25  # bytes copied per chunk
_PRETTY_START = b'{\n    "dataType"'  # how every isxcore movie trailer begins
_TOP_KEY_RE = re.compile(r'\n {4}"([A-Za-z_]+)": ')
_SPACE = b" \t\r\n"


class RescueRefused(IsxError, ValueError):
    """The file needs no rescue (its trailer is intact) or cannot be rescued as asked."""


@dataclass(frozen=True)
class RescueReport:
    """What :func:`rescue` recovered from a damaged file and what it lost."""

    source: str  #: the damaged file (left untouched)
    output: str  #: the rescued file written
    frames_recovered: int  #: complete frames copied, bit-exact
    frames_lost: int  #: frames known lost: the partial one(s), or all missing if announced
    bytes_ignored: int  #: bytes of the damaged file not copied as frames
    warnings: tuple[str, ...] = ()
    num_samples: int = 0  #: samples of the rescued timeline (frames + dropped)
    dropped: int = 0  #: dropped frames found in the damaged file's own timestamps
    frames_expected: int | None = None  #: stored frames the damaged file announced, if known
    trailer_bytes: int = 0  #: of ``bytes_ignored``, the remains of the old trailer / metadata
    start_source: str = ""  #: where the start time came from
    notes: tuple[str, ...] = field(default=())  #: what was taken from where

    def __str__(self) -> str:
        expected = "" if self.frames_expected is None else \
            f" of {self.frames_expected} announced"
        lines = [f"rescued {self.source} -> {self.output}",
                 f"  frames recovered: {self.frames_recovered}{expected} "
                 f"({self.num_samples} samples, {self.dropped} dropped)",
                 f"  frames lost:      {self.frames_lost}"
                 + ("" if self.frames_expected is not None else
                    " (partial frame; frames after the cut cannot be counted)"),
                 f"  bytes ignored:    {self.bytes_ignored} "
                 f"(of which {self.trailer_bytes} old trailer/metadata)",
                 f"  start time:       {self.start_source}"]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def rescue(path: str | os.PathLike[str], out: str | os.PathLike[str], *,
           like: str | os.PathLike[str] | None = None, shape: tuple[int, int] | None = None,
           dtype: Any = None, period: Any = None, frame_header_bytes: int | None = None,
           frame_footer_bytes: int | None = None, start: Any = None, force: bool = False,
           overwrite: bool = False) -> RescueReport:
    """Recover the complete frames of a truncated or trailer-less movie into ``out``.

    Parameters
    ----------
    path
        The damaged ``.isxd`` movie or ``.isxb`` nVision movie (only read).
    out
        The rescued file to write (must differ from ``path``; same kind).
    like
        A sibling file of the same recording giving the layout (shape, pixel type,
        frame header/footer, period, acquisition metadata), not the timeline.
    shape, dtype, period, frame_header_bytes, frame_footer_bytes
        The layout given explicitly (override ``like``): ``(rows, cols)``, uint16 /
        float32 / uint8, seconds (float, Fraction or Ratio), bytes before/after each
        frame (0, or 5120 for nVista 3 headers).
    start
        Start time (:class:`~isxio.formats.common.Time`, aware datetime or Unix
        seconds).  Default: the damaged file's own (``.isxb`` header, surviving
        trailer), else the sibling's start plus the TSC offset of the first frame.
    force
        Rescue even a file whose trailer is intact.
    overwrite
        Replace an existing ``out``.

    Returns
    -------
    RescueReport
        Frames recovered and lost, bytes ignored, warnings (``print`` it).
    """
    src, dst = os.path.abspath(os.fspath(path)), os.path.abspath(os.fspath(out))
    if not os.path.isfile(src):
        raise FileNotFoundError(f"File does not exist: {src}")
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise RescueRefused(f"{src}: the rescued file must not replace the damaged one")
    ext = os.path.splitext(src)[1].lower()
    if os.path.splitext(dst)[1].lower() != ext:
        raise RescueRefused(f"{dst}: the rescued file must have the extension {ext!r}")
    opts = _Options(like, shape, dtype, _as_period(period), frame_header_bytes,
                    frame_footer_bytes, _as_time(start), force, overwrite)
    if ext == ".isxb":
        return _rescue_isxb(src, dst, opts)
    return _rescue_isxd(src, dst, opts)


@dataclass(frozen=True)
class _Options:
    like: Any
    shape: tuple[int, int] | None
    dtype: Any
    period: Ratio | None
    header_bytes: int | None
    footer_bytes: int | None
    start: Time | None
    force: bool
    overwrite: bool


def _as_period(value: Any) -> Ratio | None:
    if value is None or isinstance(value, Ratio):
        return value
    if isinstance(value, Fraction | int):
        frac = Fraction(value)
    else:
        frac = Fraction(round(float(value) * 10**6), 10**6)
    if frac <= 0:
        raise ValueError(f"period must be positive, got {value!r}")
    return Ratio.from_fraction(frac)


def _as_time(value: Any) -> Time | None:
    if value is None or isinstance(value, Time):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ValueError("start must be an aware datetime (with a time zone)")
        offset = value.utcoffset() or _dt.timedelta(0)
        micros = round(value.timestamp() * 10**6)
        return Time(Ratio(micros, 10**6), int(offset.total_seconds()))
    if isinstance(value, Fraction | int):
        return Time(Ratio.from_fraction(Fraction(value)))
    return Time(Ratio(round(float(value) * 10**6), 10**6))


def _with_map(path: str, work: Any, *args: Any) -> Any:
    """Call ``work(buf, *args)`` with the whole file as a read-only uint8 array.

    The array is only passed down, so no view of it outlives ``work`` and the map
    can be closed (if a traceback still holds one, the map closes when collected).
    """
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return work(np.zeros(0, np.uint8), *args)
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return work(np.frombuffer(mm, np.uint8), *args)
    finally:
        try:
            mm.close()
        except BufferError:  # pragma: no cover - an exception's frames hold a view
            pass


# ============================================================== .isxd: the old trailer
@dataclass
class _Trailer:
    """Where the remains of the damaged file's own trailer start, and what they say."""

    start: int | None = None  #: byte offset of the JSON text (None: not found)
    keys: dict[str, Any] = field(default_factory=dict)  #: top-level keys that decode
    complete: bool = False  #: the whole JSON parsed


def _tail_json_start(buf: np.ndarray) -> int | None:
    """The JSON start D if the last 9 bytes are a plausible trailer (NUL + length)."""
    size = len(buf)
    if size < TRAILER_SIZE:
        return None
    (n,) = struct.unpack("<Q", buf[size - 8:].tobytes())
    d = size - TRAILER_SIZE - n
    if n == 0 or d < 0 or buf[size - TRAILER_SIZE] != 0:
        return None
    return d if bytes(buf[d:d + 1]) == b"{" else None


def _is_json_text(raw: bytes) -> bool:
    """True if ``raw`` (to the end of the file) can be the start of a trailer: JSON text,
    possibly cut, possibly followed by the NUL, the length and a few stray bytes."""
    if not raw.startswith(b"{") or raw[1:].lstrip(_SPACE)[:1] not in (b'"', b""):
        return False
    nul = raw.find(b"\x00")
    if nul >= 0:
        if len(raw) - nul > TRAILER_SIZE + MAX_STRAY_BYTES:
            return False
        raw = raw[:nul]
    arr = np.frombuffer(raw, np.uint8)
    if np.any((arr < 0x20) & (arr != 9) & (arr != 10) & (arr != 13)) or np.any(arr == 0x7F):
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end is fine
        return exc.start >= len(raw) - 3 and "end of data" in exc.reason
    return True


def _salvage_keys(raw: bytes) -> tuple[dict[str, Any], bool]:
    """Top-level keys of a (cut or damaged) JSON object that still decode on their own."""
    text = raw.split(b"\x00", 1)[0]
    try:
        whole = _json.loads(text.decode("utf-8"))
        if isinstance(whole, dict):
            return whole, True
    except (ValueError, RecursionError):
        pass
    keys: dict[str, Any] = {}
    decoder = json.JSONDecoder()
    decoded = text.decode("utf-8", errors="ignore")
    for m in _TOP_KEY_RE.finditer(decoded):  # isxcore's pretty print: 4-space top level
        try:
            keys[m.group(1)], _ = decoder.raw_decode(decoded, m.end())
        except (ValueError, RecursionError):
            continue
    return keys, False


def _find_trailer(buf: np.ndarray) -> _Trailer:
    """Locate the old trailer without knowing the layout: its length field, or the way
    isxcore always begins a movie trailer, searched near the end of the file."""
    start = _tail_json_start(buf)
    if start is None:
        lo = max(0, len(buf) - JSON_WINDOW)
        hit = bytes(buf[lo:]).rfind(_PRETTY_START)
        if hit >= 0 and _is_json_text(bytes(buf[lo + hit:])):
            start = lo + hit
    if start is None:
        return _Trailer()
    keys, complete = _salvage_keys(bytes(buf[start:]))
    return _Trailer(start, keys, complete)


def _scan_boundaries(buf: np.ndarray, record: int) -> int | None:
    """The first record boundary where JSON text runs to the end of the file."""
    if record <= 0 or len(buf) == 0:
        return None
    bounds = np.arange(0, len(buf), record, dtype=np.int64)
    for at in bounds[buf[bounds] == ord("{")]:
        head = bytes(buf[at:at + 64])
        if _is_json_text(head if at + 64 < len(buf) else bytes(buf[at:])) \
                and _is_json_text(bytes(buf[at:])):
            return int(at)
    return None


# ============================================================== .isxd: the layout
@dataclass(frozen=True)
class _Layout:
    spacing: SpacingInfo
    dtype: np.dtype
    header_bytes: int
    footer_bytes: int
    period: Ratio | None
    extra: dict[str, Any] | None
    source: str  #: where the layout came from

    @property
    def frame_bytes(self) -> int:
        return self.spacing.num_pixels * self.dtype.itemsize

    @property
    def record_bytes(self) -> int:
        return self.header_bytes + self.frame_bytes + self.footer_bytes

    @property
    def nvista3(self) -> bool:
        return self.header_bytes == self.footer_bytes == NVISTA3_HEADER_BYTES


def _own_layout(path: str, keys: dict[str, Any]) -> _Layout | None:
    """The layout from the damaged file's surviving trailer keys, if they give one."""
    if not {"dataType", "spacingInfo"} <= keys.keys():
        return None
    f = Fields(keys, path)
    try:
        spacing = SpacingInfo.from_json(f)
        dtype = DATA_TYPES[f.integer("dataType")]
        framed = f.boolean("hasFrameHeaderFooter", False) and f.integer("fileVersion", 0) >= 1
    except (IsxFormatError, KeyError):
        return None
    extra = keys.get("extraProperties")
    hb = NVISTA3_HEADER_BYTES if framed else 0
    return _Layout(spacing, dtype, hb, hb, None, extra if isinstance(extra, dict) else None,
                   "the file's own trailer")


@dataclass(frozen=True)
class _Sibling:
    """What a sibling file gives: the layout, and its start tied to its hardware clock."""

    layout: _Layout
    start: Time
    tsc_at_start: Fraction | None  #: TSC (µs) of its sample 0, extrapolated if dropped


def _read_sibling(like: str) -> _Sibling:
    with MovieFile(like) as sib:
        h = sib.header
        hb = NVISTA3_HEADER_BYTES if h.has_frame_header_footer else 0
        layout = _Layout(h.spacing, h.dtype, hb, hb, h.timing.period, h.extra_properties,
                         f"sibling {os.path.basename(like)}")
        valid = np.flatnonzero(sib.valid_mask)
        tsc0 = None
        if h.has_frame_header_footer and len(valid):
            f0 = int(valid[0])
            first = int(decode_tsc(np.asarray(sib.frame_headers[f0])))
            tsc0 = first - f0 * sib.timing.period.fraction * 10**6
        return _Sibling(layout, h.timing.start, tsc0)


def _offset_start(sib_start: Time, sib_tsc0: Fraction, own_tsc0: int, warn: list[str]
                  ) -> Time | None:
    """The sibling's start moved by the TSC offset of the damaged file's first frame."""
    delta = Fraction(own_tsc0) - sib_tsc0
    if abs(delta) > MAX_TSC_OFFSET_US:
        warn.append(f"the first TSC is {float(delta) / 1e6:.0f} s away from the sibling's: "
                    "not the same acquisition clock; start time not derived from it")
        return None
    secs = sib_start.secs_since_epoch.fraction + delta / 10**6
    return Time(Ratio(round(secs * 10**6), 10**6), sib_start.utc_offset)


def _resolve_layout(path: str, opts: _Options, own: _Trailer, base: _Layout | None,
                    warn: list[str]) -> tuple[_Layout, list[str]]:
    """Explicit arguments > sibling (``base``) > the damaged file's own surviving trailer."""
    own_layout = _own_layout(path, own.keys)
    if base is None:
        base = own_layout
    elif own_layout is not None and (own_layout.spacing.shape, own_layout.dtype) != \
            (base.spacing.shape, base.dtype):
        warn.append(f"the file's own trailer says {own_layout.spacing.shape} "
                     f"{own_layout.dtype}, the sibling {base.spacing.shape} {base.dtype}; "
                     "using the sibling's")
    if base is None and (opts.shape is None or opts.dtype is None):
        raise RescueRefused(f"{path}: no layout: pass like=SIBLING (a file of the same "
                            "recording) or shape= and dtype=")
    if base is None:
        base = _Layout(SpacingInfo(0, 0), np.dtype("u1"), 0, 0, None, None, "arguments")
    spacing = base.spacing if opts.shape is None else \
        replace(base.spacing, num_rows=int(opts.shape[0]), num_cols=int(opts.shape[1]))
    dtype = base.dtype if opts.dtype is None else np.dtype(opts.dtype).newbyteorder("<")
    if dtype.itemsize == 1:
        dtype = np.dtype("u1")
    if dtype not in DATA_TYPES.values():
        raise RescueRefused(f"unsupported pixel type {dtype}: uint16, float32 or uint8")
    layout = _Layout(spacing, dtype,
                     base.header_bytes if opts.header_bytes is None else int(opts.header_bytes),
                     base.footer_bytes if opts.footer_bytes is None else int(opts.footer_bytes),
                     opts.period or base.period, base.extra, base.source)
    if layout.record_bytes <= 0 or layout.header_bytes < 0 or layout.footer_bytes < 0:
        raise RescueRefused(f"{path}: invalid layout: {layout.record_bytes}-byte records")
    if layout.nvista3 and layout.dtype != np.dtype("<u2"):
        raise RescueRefused(f"{path}: frame headers/footers need uint16 pixels")
    notes = [f"layout {spacing.shape} {dtype} with {layout.header_bytes}+"
             f"{layout.footer_bytes} header/footer bytes from {layout.source}"]
    return layout, notes


# ============================================================== .isxd: frames and timeline
def _check_intact_isxd(path: str, force: bool) -> None:
    try:
        trailer = read_trailer(path, recover=False)
    except IsxFormatError:
        return
    kind = trailer.header.get("type")
    if kind not in (0, 4):
        raise RescueRefused(f"{path}: not a movie (its intact trailer says type {kind!r}); "
                            "only movies and .isxb files can be rescued")
    try:
        with MovieFile(path, trailer=trailer):
            pass
    except IsxFormatError:
        return
    if not force:
        raise RescueRefused(f"{path}: its trailer is intact and it reads as a valid movie: "
                            "nothing to rescue (pass force=True to rebuild it anyway)")


def _data_end(path: str, buf: np.ndarray, layout: _Layout, own: _Trailer) -> int:
    """Where the frames end: at the old trailer if any is found, else at the end of file."""
    record = layout.record_bytes
    if own.start is None:
        own.start = _scan_boundaries(buf, record)
        if own.start is not None:
            own.keys, own.complete = _salvage_keys(bytes(buf[own.start:]))
    if own.start is None:
        return len(buf)
    if own.start % record:
        raise RescueRefused(
            f"{path}: the old trailer starts at byte {own.start}, which is not a whole number "
            f"of {record}-byte frames: the layout ({layout.source}) does not fit this file")
    return own.start


def _record_view(buf: np.ndarray, layout: _Layout, n: int) -> np.ndarray:
    return buf[:n * layout.record_bytes].reshape(n, layout.record_bytes)


def _header_tscs(buf: np.ndarray, layout: _Layout, n: int, warn: list[str]) -> np.ndarray:
    """TSCs (µs) of the first ``n`` records' nVista 3 headers; checks the sync words."""
    heads = _record_view(buf, layout, n)[:, :NVISTA3_HEADER_BYTES].view("<u2")
    bad = np.flatnonzero(heads[:, SYNC_PIXEL] != SYNC_WORD)
    if len(bad):
        warn.append(f"{len(bad)} of {n} frame header(s) lack the sync word 0x{SYNC_WORD:03X} "
                    f"(first: frame {int(bad[0])}): check the layout")
    first = HEADER_FIELDS["tsc"][0]
    return decode_tsc(heads[:, :first + 8])


def _tsc_positions(tsc: np.ndarray, period: Ratio | None, warn: list[str]) -> np.ndarray:
    """Timeline index of each stored frame, from gaps between hardware timestamps."""
    n = len(tsc)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    diffs = np.diff(tsc.astype(np.int64))
    median = float(np.median(diffs))
    step = float(period) * 1e6 if period is not None else median
    if step <= 0:
        warn.append("frame timestamps do not increase: no dropped frames inferred")
        return np.arange(n, dtype=np.int64)
    if period is not None and median > 0 and abs(median / step - 1) > 0.25:
        warn.append(f"frames are {median:.0f} µs apart in their timestamps, the period says "
                    f"{step:.0f} µs; gaps measured with the period")
    steps = np.rint(diffs / step).astype(np.int64)
    bad = (steps < 1) | (steps > MAX_GAP_FRAMES)
    if bad.any():
        warn.append(f"{int(bad.sum())} implausible timestamp step(s) (first after frame "
                    f"{int(np.flatnonzero(bad)[0])}): treated as consecutive frames")
        steps[bad] = 1
    return np.concatenate([[0], np.cumsum(steps)])


def _own_timing(path: str, own: _Trailer, n: int, warn: list[str]) -> TimingInfo | None:
    """The damaged file's own surviving ``timingInfo``, cut to its first ``n`` frames."""
    if "timingInfo" not in own.keys:
        return None
    try:
        timing = TimingInfo.from_json(Fields(own.keys, path))
    except IsxFormatError as exc:
        warn.append(f"the old trailer's timingInfo is unusable ({exc.reason})")
        return None
    return _cut_timing(timing, n, warn)


def _cut_timing(timing: TimingInfo, n: int, warn: list[str]) -> TimingInfo | None:
    """``timing`` ending at its ``n``-th valid sample (None if it has fewer)."""
    valid = np.flatnonzero(timing.valid_mask())
    if len(valid) < n:
        warn.append(f"the file's own timing lists {len(valid)} valid frame(s) but {n} are "
                    "stored: it is ignored")
        return None
    num = int(valid[n - 1]) + 1 if n else 0
    return replace(timing, num_samples=num,
                   dropped=tuple(i for i in timing.dropped if i < num),
                   blank=tuple(i for i in timing.blank if i < num),
                   cropped=tuple((a, min(b, num - 1)) for a, b in timing.cropped if a < num))


def _timeline(path: str, buf: np.ndarray, layout: _Layout, own: _Trailer, n: int,
              warn: list[str]) -> tuple[TimingInfo, int | None, np.ndarray | None, str]:
    """(timing with a placeholder start, frames expected, TSCs, where the timing came from)."""
    own_timing = _own_timing(path, own, n, warn)
    tsc = _header_tscs(buf, layout, n, warn) if layout.nvista3 else None
    if own_timing is not None:
        expected = TimingInfo.from_json(Fields(own.keys, path)).num_valid
        return own_timing, expected, tsc, "the file's own trailer"
    period = layout.period
    if tsc is not None:
        pos = _tsc_positions(tsc, period, warn)
        num = int(pos[-1]) + 1
        dropped = tuple(int(i) for i in np.setdiff1d(np.arange(num), pos))
        if period is None and n > 1:
            period = Ratio(int(tsc[-1]) - int(tsc[0]), (num - 1) * 10**6)
        source = "its frame timestamps (TSC)"
    else:
        num, dropped, source = n, (), "none: frames assumed consecutive"
        warn.append("no frame timestamps: dropped frames, if any, cannot be located")
    if period is None:
        warn.append("no period known (pass period= or like=): using 50 ms")
        period = Ratio(50, 1000)
    return TimingInfo(num, period, Time(), dropped), None, tsc, source


def _start(opts: _Options, own_timing_used: bool, timing: TimingInfo, sib: _Sibling | None,
           tsc: np.ndarray | None, warn: list[str]) -> tuple[Time, str]:
    if opts.start is not None:
        return opts.start, "given (start=)"
    if own_timing_used:
        return timing.start, "the file's own trailer"
    if sib is not None and sib.tsc_at_start is not None and tsc is not None and len(tsc):
        found = _offset_start(sib.start, sib.tsc_at_start, int(tsc[0]), warn)
        if found is not None:
            return found, "the sibling's start + the TSC offset of the first frame"
    warn.append("start time unknown (pass start=): written as the Unix epoch (isx's default)")
    return Time(), "unknown (Unix epoch written)"


def _copy_frames(dst: str, buf: np.ndarray, layout: _Layout, timing: TimingInfo, n: int,
                 extra: dict[str, Any] | None, overwrite: bool) -> None:
    """Write the first ``n`` records as a movie, headers and footers kept verbatim."""
    hb, fb = layout.header_bytes, layout.frame_bytes
    framed = layout.nvista3
    recs = _record_view(buf, layout, n)
    per = max(1, _COPY_BYTES // layout.record_bytes)
    with MovieWriter(dst, timing, layout.spacing, layout.dtype, overwrite=overwrite,
                     extra_properties=extra, frame_header_footer=framed) as writer:
        for lo in range(0, n, per):
            block = recs[lo:lo + per]
            pixels = np.ascontiguousarray(block[:, hb:hb + fb]).view(layout.dtype) \
                .reshape(len(block), *layout.spacing.shape)
            if not framed:
                writer.write_frames(pixels)
                continue
            writer.write_frames(pixels, np.ascontiguousarray(block[:, :hb]).view("<u2"),
                                np.ascontiguousarray(block[:, hb + fb:]).view("<u2"))


def _rescue_isxd(src: str, dst: str, opts: _Options) -> RescueReport:
    _check_intact_isxd(src, opts.force)
    sib = _read_sibling(os.fspath(opts.like)) if opts.like is not None else None
    return _with_map(src, _rescue_movie, src, dst, opts, sib)


def _rescue_movie(buf: np.ndarray, src: str, dst: str, opts: _Options, sib: _Sibling | None
                  ) -> RescueReport:
    warn: list[str] = []
    own = _find_trailer(buf)
    layout, notes = _resolve_layout(src, opts, own, sib.layout if sib else None, warn)
    if (layout.header_bytes or layout.footer_bytes) and not layout.nvista3:
        warn.append("frame headers/footers that are not nVista 3's (5120 bytes each) "
                    "are dropped: only the pixels are kept")
    end = _data_end(src, buf, layout, own)
    record = layout.record_bytes
    n = end // record
    if n == 0:
        raise RescueRefused(f"{src}: no complete frame of {record} bytes in its "
                            f"{end}-byte data section: nothing to recover")
    timing, expected, tsc, source = _timeline(src, buf, layout, own, n, warn)
    start, start_source = _start(opts, expected is not None, timing, sib, tsc, warn)
    timing = replace(timing, start=start)
    extra = own.keys["extraProperties"] if isinstance(
        own.keys.get("extraProperties"), dict) else layout.extra
    _copy_frames(dst, buf, layout, timing, n, extra, opts.overwrite)
    notes.append(f"timeline from {source}")
    if expected is None and own.start is not None:
        expected = n  # the old trailer follows the frames: none is missing after them
    lost = expected - n if expected is not None else int(end > n * record)
    return RescueReport(
        src, dst, n, lost, len(buf) - n * record, tuple(warn), timing.num_samples,
        len(timing.dropped), expected, len(buf) - own.start if own.start is not None else 0,
        start_source, tuple(notes))


# ============================================================== .isxb
@dataclass(frozen=True)
class _IsxbSibling:
    session: dict[str, Any]
    period: Ratio
    start: Time
    tsc_at_start: Fraction | None


def _read_isxb_sibling(like: str) -> _IsxbSibling:
    sib = IsxbFile(like)
    timing = sib.timing
    tsc0 = None
    valid = np.flatnonzero(sib.valid_mask)
    if sib.has_frame_timestamps and len(valid):
        f0 = int(valid[0])
        tsc0 = int(sib.tsc[f0]) - f0 * timing.period.fraction * 10**6
    session = {k: v for k, v in sib.session.items() if k != "timingInfo"}
    return _IsxbSibling(session, timing.period, timing.start, tsc0)


def _check_intact_isxb(path: str, force: bool) -> None:
    try:
        movie = IsxbFile(path)
        with warnings.catch_warnings():
            warnings.simplefilter("error", IsxFormatWarning)
            complete = len(movie.jpeg_extents) == movie.header.num_frames
    except (IsxFormatError, IsxFormatWarning):
        return
    if complete and not force:
        raise RescueRefused(f"{path}: its header, frames and metadata are intact: nothing to "
                            "rescue (pass force=True to rebuild it anyway)")


def _isxb_header(path: str, buf: np.ndarray, warn: list[str]) -> IsxbHeader | None:
    """The damaged file's header if it is plausible (it is written first, so survives)."""
    if len(buf) < ISXB_HEADER.size:
        raise RescueRefused(f"{path}: {len(buf)} bytes, not even an .isxb header")
    h = IsxbHeader.read(path, bytes(buf[:ISXB_HEADER.size]))
    if h.video_offset != ISXB_HEADER.size or h.num_frames > MAX_FRAMES:
        warn.append(f"implausible header (video at byte {h.video_offset}, {h.num_frames} "
                    f"frames): frames searched from byte {ISXB_HEADER.size}")
        return None
    return h


def _salvage_frame_meta(raw: bytes) -> tuple[list[int] | None, list[Any]]:
    """``droppedFrames`` and the leading complete ``samples`` of a (cut) per-frame block."""
    text = raw.decode("utf-8", errors="ignore")
    try:
        whole = json.loads(text)
        if isinstance(whole, dict):
            dropped = whole.get("droppedFrames")
            samples = whole.get("samples")
            return (dropped if isinstance(dropped, list) else None,
                    samples if isinstance(samples, list) else [])
    except ValueError:
        pass
    decoder, dropped, samples = json.JSONDecoder(), None, []
    m = re.search(r'"droppedFrames"\s*:\s*', text)
    if m:
        try:
            found, _ = decoder.raw_decode(text, m.end())
            dropped = found if isinstance(found, list) else None
        except ValueError:
            pass
    m = re.search(r'"samples"\s*:\s*\[\s*', text)
    at = m.end() if m else len(text)
    while at < len(text):
        try:
            sample, at = decoder.raw_decode(text, at)
        except ValueError:
            break
        samples.append(sample)
        at = len(text) if (m2 := re.compile(r"\s*,\s*").match(text, at)) is None else m2.end()
    return dropped, samples


def _isxb_positions(n: int, dropped: list[int] | None) -> tuple[int, list[int]]:
    """(samples, dropped indices) of a timeline whose first ``n`` stored frames survive."""
    drops = sorted({int(d) for d in dropped or () if isinstance(d, int) and d >= 0})
    num, k = n, 0
    for d in drops:  # each drop before the last stored frame pushes it one sample on
        if d < num:
            num += 1
            k += 1
    return num, drops[:k]


def _isxb_period(samples: list[Any], sib: _IsxbSibling | None, opts: _Options,
                 warn: list[str]) -> Ratio:
    if opts.period is not None:
        return opts.period
    if sib is not None:
        return sib.period
    try:
        tsc = [int(samples[i]["tsc"]) for i in (0, -1)]
        fc = [int(samples[i]["fc"]) for i in (0, -1)]
        if fc[1] > fc[0] and tsc[1] > tsc[0]:
            return Ratio(tsc[1] - tsc[0], (fc[1] - fc[0]) * 10**6)
    except (IndexError, KeyError, TypeError, ValueError):
        pass
    warn.append("no period known (pass period= or like=): using 50 ms")
    return Ratio(50, 1000)


def _own_session(path: str, buf: np.ndarray, h: IsxbHeader | None
                 ) -> tuple[dict[str, Any] | None, TimingInfo | None]:
    """The file's own session block if whole, and its own ``timingInfo`` (IDPS writes one),
    decoded even from a cut block."""
    if h is None or not h.session_size or h.session_at >= len(buf):
        return None, None
    raw = bytes(buf[h.session_at:h.session_at + h.session_size]).decode("utf-8", "ignore")
    try:
        session = json.loads(raw)
    except ValueError:
        session = None
    found: Any = session.get("timingInfo") if isinstance(session, dict) else None
    m = re.search(r'"timingInfo"\s*:\s*', raw) if session is None else None
    if m:
        try:
            found, _ = json.JSONDecoder().raw_decode(raw, m.end())
        except ValueError:
            found = None
    timing = None
    if isinstance(found, dict):
        try:
            timing = TimingInfo.from_json(Fields({"timingInfo": found}, path))
        except IsxFormatError:
            timing = None
    return (session if isinstance(session, dict) else None), timing


def _isxb_session(path: str, own: dict[str, Any] | None, sib: _IsxbSibling | None,
                  opts: _Options) -> dict[str, Any]:
    """The session block: the file's own if it survived, else the sibling's, else minimal."""
    if own is not None:
        session = {k: v for k, v in own.items() if k != "timingInfo"}
    elif sib is not None:
        session = dict(sib.session)
    elif opts.shape is not None:
        session = {}
    else:
        raise RescueRefused(f"{path}: its session metadata is lost: pass like=SIBLING (a file "
                            "of the same recording) or shape=(rows, cols)")
    if opts.shape is not None:
        session["spacingInfo"] = SpacingInfo(int(opts.shape[0]), int(opts.shape[1])).to_json()
    return session


def _isxb_start(opts: _Options, h: IsxbHeader | None, samples: list[Any],
                sib: _IsxbSibling | None, warn: list[str]) -> tuple[Time, str]:
    if opts.start is not None:
        return opts.start, "given (start=)"
    if h is not None and h.epoch_ms > 0:
        utc = ((h.utc_offset_min + 2**31) % 2**32 - 2**31) * 60
        return Time(Ratio(h.epoch_ms, 1000), utc), "the file's own header"
    if sib is not None and sib.tsc_at_start is not None and samples:
        try:
            found = _offset_start(sib.start, sib.tsc_at_start, int(samples[0]["tsc"]), warn)
        except (KeyError, TypeError, ValueError):
            found = None
        if found is not None:
            return found, "the sibling's start + the TSC offset of the first frame"
    warn.append("start time unknown (pass start=): written as the Unix epoch")
    return Time(), "unknown (Unix epoch written)"


def _write_isxb(dst: str, src: str, extents: np.ndarray, start: Time, num_drops: int,
                meta: bytes, session: bytes, overwrite: bool) -> None:
    """An ``.isxb`` container: header, the JPEGs copied verbatim, per-frame and session JSON."""
    size = int((extents[:, 1] - extents[:, 0]).sum())
    base = ISXB_HEADER.size
    epoch_ms = round(start.secs_since_epoch.fraction * 1000)
    out = AtomicFile(dst, overwrite=overwrite)
    try:
        out.write(ISXB_HEADER.pack(100, base, epoch_ms, start.utc_offset // 60, len(extents),
                                   num_drops, base, size, base + size, len(meta),
                                   base + size + len(meta), len(session)))
        breaks = np.flatnonzero(extents[1:, 0] != extents[:-1, 1]) + 1
        with open(src, "rb") as fh:  # copy runs of back-to-back JPEGs in large chunks
            for run in np.split(extents, breaks):
                at, stop = int(run[0, 0]), int(run[-1, 1])
                fh.seek(at)
                while at < stop:
                    chunk = fh.read(min(_COPY_BYTES, stop - at))
                    out.write(chunk)
                    at += len(chunk)
        out.write(meta)
        out.write(session)
        out.commit()
    except BaseException:
        out.abort()
        raise


def _rescue_isxb(src: str, dst: str, opts: _Options) -> RescueReport:
    _check_intact_isxb(src, opts.force)
    sib = _read_isxb_sibling(os.fspath(opts.like)) if opts.like is not None else None
    return _with_map(src, _rescue_nvision, src, dst, opts, sib)


def _isxb_frames(src: str, buf: np.ndarray, h: IsxbHeader | None, warn: list[str]
                 ) -> tuple[np.ndarray, int]:
    """Absolute [start, end) of every complete JPEG, and where the video section ends."""
    base = ISXB_HEADER.size
    end = len(buf)
    if h is not None and h.video_size and base + h.video_size <= end:
        end = base + h.video_size  # the video is whole: what follows is metadata
    limit = h.num_frames if h is not None and h.num_frames else MAX_FRAMES
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IsxFormatWarning)
        extents = index_jpegs(FileSection(src, base, end - base), limit, path=src, base=base)
    warn += [str(w.message) for w in caught]
    return extents + base, end


def _isxb_timing(n: int, dropped: list[int] | None, samples: list[Any],
                 own_timing: TimingInfo | None, start: Time, sib: _IsxbSibling | None,
                 opts: _Options, warn: list[str]) -> tuple[TimingInfo | None, bytes, str]:
    """(timingInfo to store in the session or None, per-frame block, where timing is from).

    Precedence: the file's own ``timingInfo``; else its per-frame TSCs and frame counters
    (isx derives the period from them); else a period from ``period=`` or the sibling.
    """
    num, drops = _isxb_positions(n, dropped)
    meta = b""
    if len(samples) >= n >= 2:
        meta = json.dumps({"droppedFrames": drops, "samples": samples[:n]},
                          separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if own_timing is not None:
        timing = own_timing if opts.start is None else replace(own_timing, start=start)
        return timing, meta, "the file's own timingInfo (session metadata)"
    if dropped is None:
        warn.append("the per-frame metadata is lost: dropped frames, if any, cannot be located")
    if meta and opts.period is None:
        return None, meta, "its per-frame metadata (TSC, frame counters)"
    timing = TimingInfo(num, _isxb_period(samples, sib, opts, warn), start, tuple(drops))
    return timing, meta, "a timingInfo block in the session metadata" + \
        ("" if meta else " (per-frame TSCs lost)")


def _rescue_nvision(buf: np.ndarray, src: str, dst: str, opts: _Options,
                    sib: _IsxbSibling | None) -> RescueReport:
    warn: list[str] = []
    h = _isxb_header(src, buf, warn)
    extents, video_end = _isxb_frames(src, buf, h, warn)
    n = len(extents)
    if n == 0:
        raise RescueRefused(f"{src}: no complete JPEG frame: nothing to recover")
    dropped, samples = None, []
    if h is not None and h.meta_size and video_end == h.meta_offset < len(buf):
        dropped, samples = _salvage_frame_meta(bytes(buf[h.meta_offset:h.meta_offset
                                                         + h.meta_size]))
    own, own_timing = _own_session(src, buf, h)
    session = _isxb_session(src, own, sib, opts)
    own_timing = _cut_timing(own_timing, n, warn) if own_timing is not None else None
    start, start_source = _isxb_start(opts, h, samples, sib, warn)
    if own_timing is not None and opts.start is None:
        start, start_source = own_timing.start, "the file's own timingInfo"
    timing, meta, timing_from = _isxb_timing(n, dropped, samples, own_timing, start, sib,
                                             opts, warn)
    if timing is not None:
        session["timingInfo"] = timing.to_json()
    num, drops = (timing.num_samples, timing.dropped) if timing is not None else \
        _isxb_positions(n, dropped)
    _write_isxb(dst, src, extents, start, len(drops), meta,
                json.dumps(session, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
                opts.overwrite)
    expected = h.num_frames if h is not None and h.num_frames else None
    copied = int((extents[:, 1] - extents[:, 0]).sum())
    lost = expected - n if expected is not None else int(video_end > int(extents[-1, 1]))
    return RescueReport(src, dst, n, max(lost, 0), len(buf) - ISXB_HEADER.size - copied,
                        tuple(warn), num, len(drops), expected, len(buf) - video_end,
                        start_source, (f"timing from {timing_from}",))
