"""nVision behaviour movies (``.isxb``): MJPEG frames, per-frame TSC, tracking data.

Spec ``other.md`` §1.  Layout: a 96-byte header of twelve 64-bit fields, the video
(baseline JPEG images back to back, one per *stored* frame), a per-frame JSON block
(``samples`` with ``tsc``/``fc``/``tracker`` and ``droppedFrames``) and a session
JSON block.  Opening an :class:`IsxbFile` reads the header and the two JSON blocks
only; the JPEG index is built on the first frame access and frames are decoded on
demand with PyAV (``pip install 'isxio[video]'``).

What isx returns for a frame is the JPEG's luma plane decoded by FFmpeg; isxio
decodes with FFmpeg too (PyAV), which is bit-identical on JPEGs FFmpeg itself
encoded and within ±1 on a few pixels per million on real nVision files (isx
bundles an older FFmpeg).  Dropped frames are not stored and read as black frames.

Unlike isx, isxio also decodes frames whose width is not a multiple of 64 (isx
2.1.0 compares the decoder's row stride with the width and refuses them) and
single-component (greyscale) JPEGs.

One opened :class:`IsxbFile` may be read from many threads at once (dask, neuroconv's
chunk iterators): each decode borrows an FFmpeg decoder from a small pool (an FFmpeg
codec context must never be used by two threads at once), the JPEG index is extended
under a lock and read without one, and FFmpeg decodes with the GIL released.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import FileSource, as_source
from .._lazy import locked_cached_property
from .._optional import require
from ..errors import IsxFormatError, IsxFormatWarning, IsxUnsupportedError
from ._fields import Fields
from .common import Ratio, SpacingInfo, Time, TimingInfo

__all__ = [
    "HEADER",
    "FileSection",
    "IsxbFile",
    "IsxbFrames",
    "IsxbHeader",
    "JpegIndex",
    "Tracking",
    "Zone",
    "ZoneEvent",
    "index_jpegs",
]

HEADER = struct.Struct("<QQQqQQQQQQQQ")
DEFAULT_PIXEL_SIZE = Ratio(3, 1)  # µm, isxcore's default for behaviour cameras
#: Sanity bound on frame counts (about 100 days at 30 fps): larger is a corrupt header.
MAX_FRAMES = 2**28
MIN_JPEG_SIZE = 64  # no JPEG image with its tables is smaller
ZONE_EVENTS = {"": "", "e": "entry", "o": "occupying", "x": "exit"}
ZONE_TRIGGERS = ("", "softTrig-1", "softTrig-2", "softTrig-3", "softTrig-4")
ZONE_TYPES = ("rectangle", "polygon", "ellipse")
#: Idle decoders kept per opened file (more concurrent readers create, then drop, extras).
MAX_IDLE_DECODERS = 16
_YUV_PREFIXES = ("yuv", "yuvj", "gray")


def _truncation(h: IsxbHeader, size: int, first_cut: str) -> str:
    """Why a cut ``.isxb`` does not open, and what to do (the timing lies after the video)."""
    ends = (h.video_offset + h.video_size, h.meta_offset + h.meta_size,
            h.session_at + h.session_size)
    video = "its video is cut too" if first_cut == "video" else "its video is intact"
    return (f"truncated .isxb file: it is {size} bytes, its header says its sections end at "
            f"byte {max(ends)}; the session metadata (and frame timing) stored after the "
            f"video is lost, so it cannot be opened as it is ({video}); "
            "isxio.rescue(path, out, like=SIBLING) recovers its complete frames into a new "
            "file, SIBLING being another .isxb of the same recording")


@dataclass(frozen=True)
class IsxbHeader:
    """The 96-byte header (spec §1.1); offsets are absolute, sizes in bytes."""

    file_version: int
    header_size: int
    epoch_ms: int  #: recording start, ms since the Unix epoch (UTC)
    utc_offset_min: int  #: local time offset, minutes
    num_frames: int  #: stored (valid) frames
    num_drops: int  #: dropped frames (not stored)
    video_offset: int
    video_size: int
    meta_offset: int
    meta_size: int
    session_offset: int
    session_size: int

    @classmethod
    def read(cls, path: str, raw: bytes) -> IsxbHeader:
        if len(raw) < HEADER.size:
            raise IsxFormatError(path, "file too small for an isxb header", offset=0,
                                 expected=f">= {HEADER.size} bytes", found=f"{len(raw)} bytes")
        return cls(*HEADER.unpack_from(raw))

    def check(self, path: str, size: int) -> None:
        """Bounds-check every section against the file size."""
        if self.num_frames + self.num_drops > MAX_FRAMES \
                or self.num_frames > self.video_size // MIN_JPEG_SIZE + 1:
            raise IsxFormatError(path, "implausible frame count in the header", offset=32,
                                 expected=f"<= {MAX_FRAMES} frames and at least "
                                          f"{MIN_JPEG_SIZE} video bytes per stored frame",
                                 found=f"{self.num_frames} stored, {self.num_drops} dropped, "
                                       f"{self.video_size} video bytes")
        if self.session_size == 0:
            raise IsxFormatError(path, "the session metadata block is empty", offset=88,
                                 expected="sessionSize > 0", found=0)
        session_at = self.session_at
        for name, offset, length, field_at in (
                ("video", self.video_offset, self.video_size, 48),
                ("per-frame metadata", self.meta_offset, self.meta_size, 64),
                ("session metadata", session_at, self.session_size, 80)):
            if offset + length > size:
                raise IsxFormatError(path, f"{_truncation(self, size, name)}; the {name} "
                                     "section runs past the end of the file",
                                     offset=field_at,
                                     expected=f"offset + size <= {size} (file size)",
                                     found=f"offset {offset} + size {length} = {offset + length}")

    @property
    def session_at(self) -> int:
        """Where isx reads the session JSON: right after the per-frame block if any."""
        return self.meta_offset + self.meta_size if self.meta_size else self.session_offset


@dataclass(frozen=True)
class ZoneEvent:
    """A zone event of one frame (spec §1.8)."""

    zone_id: int
    name: str
    event: str = ""  #: "", "entry", "occupying" or "exit"
    trigger: str = ""  #: "" or "softTrig-1".."softTrig-4"


@dataclass(frozen=True)
class Zone:
    """A tracking zone defined in the session metadata (spec §1.8)."""

    id: int
    enabled: bool
    name: str
    description: str
    type: str  #: "rectangle", "polygon", "ellipse" or "" (unknown)
    coordinates: np.ndarray  #: (k, 2) float32 [x, y]; an ellipse has its centre only
    major_axis: float = 0.0  #: full axis lengths (px) of an ellipse, float32 values
    minor_axis: float = 0.0
    angle: float = 0.0  #: degrees
    in_color: tuple[int, int, int, int] | None = None  #: RGBA border colour inside
    out_color: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Tracking:
    """nVision tracking results, one row per sample (timeline index).

    ``box`` is ``[left, top, right, bottom]`` (float32, NaN where the frame has no
    box); ``valid`` follows isx (a box whose top and bottom, or left and right, are
    both 0 is not valid); ``center`` is computed in float32 as isx does.
    """

    box: np.ndarray
    valid: np.ndarray
    center: np.ndarray
    confidence: np.ndarray
    zone_events: tuple[tuple[ZoneEvent, ...], ...] = field(repr=False)


# ============================================================== JPEG index
class FileSection:
    """``size`` bytes of a file from ``offset``, read on demand (no handle kept open)."""

    def __init__(self, path: str | FileSource, offset: int, size: int) -> None:
        self.source = as_source(path)
        self.path, self.offset, self.size = self.source.name, offset, size

    def __len__(self) -> int:
        return self.size

    def read(self, start: int, stop: int) -> bytes:
        start, stop = max(start, 0), min(stop, self.size)
        if stop <= start:
            return b""
        if not self.source.is_local:
            return self.source.read(self.offset + start, stop - start)
        with open(self.path, "rb") as fh:
            fh.seek(self.offset + start)
            return fh.read(stop - start)


class MemorySection(FileSection):
    """The same interface over bytes in memory."""

    def __init__(self, data: Any) -> None:
        self.data = bytes(data)
        super().__init__("", 0, len(self.data))

    def read(self, start: int, stop: int) -> bytes:
        return self.data[max(start, 0):max(stop, 0)]


def _walk_segments(head: bytes, path: str, at: int) -> int | None:
    """Offset (in ``head``) where the entropy-coded data of the JPEG in ``head`` starts,
    walking marker segments from its SOI; None if ``head`` is too short."""
    q = 2
    while q + 4 <= len(head):
        if head[q] != 0xFF:
            raise IsxFormatError(path, "corrupt JPEG: marker expected", offset=at + q,
                                 expected="0xFF", found=f"0x{head[q]:02x}")
        m = head[q + 1]
        if m == 0xFF:  # fill byte
            q += 1
        elif m == 0x01 or 0xD0 <= m <= 0xD7:
            q += 2
        elif m == 0xD9:
            return q  # image without a scan: its EOI ends it
        else:
            seg = (head[q + 2] << 8) | head[q + 3]
            if m == 0xDA:
                return q + 2 + seg
            q += 2 + seg
    return None


class JpegIndex:
    """Incremental index of the JPEG images of a video section.

    Images are found one after the other, only as far as needed: from each SOI the
    marker segments are walked to the start of the scan (so APP segments with
    embedded thumbnails are skipped), then the EOI is searched in the entropy-coded
    data (where ``FF D9`` cannot occur otherwise).  Reading is buffered.

    Thread-safe: the index is extended under a lock; extents already found are read
    without one (the list only grows).
    """

    WINDOW = 1 << 22

    def __init__(self, section: FileSection, n: int, *, path: str = "", base: int = 0) -> None:
        self.section, self.n, self.path, self.base = section, n, path, base
        self.extents: list[tuple[int, int]] = []
        self.pos = 0
        self.done = n == 0
        self._buf, self._buf_at = b"", 0
        self._lock = threading.Lock()

    def _view(self, start: int, length: int) -> tuple[bytes, int]:
        """A buffer holding ``[start, start + length)`` if the file has it, and its offset."""
        end = min(start + length, len(self.section))
        if not (self._buf_at <= start and end <= self._buf_at + len(self._buf)):
            self._buf = self.section.read(start, start + max(length, self.WINDOW))
            self._buf_at = start
        return self._buf, self._buf_at

    def _find(self, needle: bytes, start: int) -> int:
        """Offset of the next ``needle`` at or after ``start`` (-1 if none)."""
        while start < len(self.section):
            buf, at = self._view(start, len(needle))
            hit = buf.find(needle, start - at)
            if hit >= 0:
                return at + hit
            if at + len(buf) >= len(self.section):
                return -1
            start = at + len(buf) - 1
        return -1

    def _scan_start(self, soi: int) -> int | None:
        """Start of the entropy-coded data; for a corrupt segment structure, right after
        the SOI (the image then fails to decode, but the next ones are still found)."""
        grab = 1 << 12
        while True:
            buf, at = self._view(soi, grab)
            head = buf[soi - at:soi - at + grab]
            try:
                scan = _walk_segments(head, self.path, self.base + soi)
            except IsxFormatError:
                return soi + 2
            if scan is not None or soi + grab >= len(self.section):
                return None if scan is None else soi + scan
            grab *= 4

    def _next(self) -> bool:
        soi = self._find(b"\xff\xd8", self.pos)
        if soi < 0:
            return False
        if soi != self.pos:
            warnings.warn(f"{self.path}: {soi - self.pos} stray byte(s) before JPEG frame "
                          f"{len(self.extents)} (byte offset {self.base + self.pos})",
                          IsxFormatWarning, stacklevel=6)
        scan = self._scan_start(soi)
        eoi = self._find(b"\xff\xd9", scan) if scan is not None else -1
        if eoi < 0:
            return False
        self.extents.append((soi, eoi + 2))
        self.pos = eoi + 2
        return True

    def get(self, k: int) -> tuple[int, int] | None:
        """Extent of image ``k`` (None if the section holds fewer images)."""
        extents = self.extents
        if 0 <= k < len(extents):  # found already: no lock
            return extents[k]
        with self._lock:
            while len(extents) <= k and not self.done:
                if len(extents) >= self.n or not self._next():
                    self.done = True
                    self._buf = b""
        return extents[k] if 0 <= k < len(extents) else None

    def all(self) -> np.ndarray:
        self.get(self.n - 1)
        return np.asarray(self.extents, dtype=np.int64).reshape(-1, 2)


def index_jpegs(section: FileSection | bytes, n: int, *, path: str = "", base: int = 0
                ) -> np.ndarray:
    """``(k, 2)`` [start, end) offsets in ``section`` of the first ``k <= n`` JPEG images."""
    if not isinstance(section, FileSection):
        section = MemorySection(section)
    return JpegIndex(section, n, path=path, base=base).all()


# ============================================================== lazy frames
class IsxbFrames:
    """Lazy ``(frames, rows, cols)`` uint8 view of an isxb movie's luma planes.

    Integer, slice and integer-array indexing decode only the frames asked for;
    dropped frames read as zeros.
    """

    def __init__(self, movie: IsxbFile) -> None:
        self._movie = movie

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._movie.shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    @property
    def ndim(self) -> int:
        return 3

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<IsxbFrames shape={self.shape} dtype=uint8 file={self._movie.path!r}>"

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        if first is Ellipsis:
            first, rest = slice(None), key
        if isinstance(first, int | np.integer):
            out = self._movie.frame(int(first))
        else:
            idx = np.arange(len(self))[first]
            frames = [self._movie.frame(int(i)) for i in np.ravel(idx)]
            out = (np.stack(frames) if frames else np.zeros((0, *self.shape[1:]), np.uint8))
            out = out.reshape(*np.shape(idx), *self.shape[1:])
            rest = (slice(None),) * np.ndim(idx) + rest if rest else ()
        return out[rest] if rest else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out.astype(dtype, copy=False) if dtype is not None else out

    def __iter__(self):
        for i in range(len(self)):
            yield self._movie.frame(i)

    def to_dask(self):
        """A dask array with one chunk per frame."""
        da = require("dask.array", "dask", "to_dask()")
        return da.from_array(self, chunks=(1, *self.shape[1:]), asarray=True, fancy=False,
                             name=f"isxio-{os.path.basename(self._movie.path)}-{id(self):x}",
                             meta=np.empty((0, 0, 0), np.uint8))


# ============================================================== metadata helpers
def _av() -> Any:
    """PyAV, or an ImportError naming the extra that installs it."""
    return require("av", "video", "decoding .isxb frames")


def _read_json(fh: Any, path: str, offset: int, size: int, what: str) -> Any:
    fh.seek(offset)
    raw = fh.read(size)
    raw = raw.split(b"\x00", 1)[0]  # isxcore parses the block as a C string
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise IsxFormatError(path, f"{what} is not valid UTF-8",
                             offset=offset + exc.start) from None
    except ValueError as exc:
        pos = getattr(exc, "pos", None)
        raise IsxFormatError(path, f"{what} JSON does not parse ({getattr(exc, 'msg', exc)})",
                             offset=offset + (len(raw.decode('utf-8')[:pos].encode())
                                              if pos is not None else 0)) from None


def _sample_ints(samples: list, name: str, path: str, offset: int) -> np.ndarray:
    """``samples[k][name]`` for every sample as uint64 (checked)."""
    vals = [s.get(name) if type(s) is dict else None for s in samples]
    bad = [k for k, v in enumerate(vals) if type(v) is not int or not 0 <= v < 2**64]
    if bad:
        k = bad[0]
        raise IsxFormatError(path, "frame sample lacks a valid integer", offset=offset,
                             key=f"samples[{k}].{name}", expected="an integer >= 0",
                             found=repr(vals[k])[:60])
    return np.array(vals, dtype=np.uint64)


def _get(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...`` or None when any level is missing or not an object."""
    for k in keys:
        if not isinstance(obj, dict) or k not in obj:
            return None
        obj = obj[k]
    return obj


# (target key, source path) tables of the nVision acquisition info (spec §1.4)
_ANIMAL = (("Animal Sex", "sex"), ("Animal Date of Birth", "dob"), ("Animal ID", "id"),
           ("Animal Species", "species"), ("Animal Weight", "weight"),
           ("Animal Description", "description"))
_BEHAVIOR = (("Behavior Session Name", ("system", "sessionName")),
             ("Behavior Acquisition SW Version", ("software", "behaviorIdas")))
_MINISCOPE = (("Miniscope Session Name", ("system", "sessionName")),
              ("Miniscope Serial Number", ("system", "systemSerial")),
              ("Miniscope Acquisition SW Version", ("software", "miniscopeIdas")))
_CAMERA = (("Camera Name", ("cameraAlias",)), ("Camera Serial Number", ("cameraSerial",)),
           ("Camera Brightness", ("sensorParams", "brightness")),
           ("Camera Contrast", ("sensorParams", "contrast")),
           ("Camera Saturation", ("sensorParams", "saturation")),
           ("Camera Gain", ("sensorParams", "gain")))


def _put(info: dict[str, Any], table: tuple, source: Any) -> None:
    for target, keys in table:
        keys = (keys,) if isinstance(keys, str) else keys
        parent = _get(source, *keys[:-1])
        if isinstance(parent, dict) and keys[-1] in parent:
            info[target] = parent[keys[-1]]


def acquisition_info(session: dict[str, Any]) -> dict[str, Any] | None:
    """``get_acquisition_info()`` of an nVision movie, from its session metadata
    (None when nothing applies, as isx returns)."""
    info: dict[str, Any] = {}
    ui = session.get("userInterface")
    animal = _get(ui, "animal")
    if isinstance(animal, dict) and animal:
        _put(info, _ANIMAL, animal)
    custom = _get(ui, "customMetadata")
    if isinstance(custom, dict):
        for name, entry in custom.items():
            if isinstance(entry, dict) and "value" in entry:
                info[name] = entry["value"]
    proc = session.get("processingInterface")
    if isinstance(proc, dict):
        _processing_info(info, proc, session.get("cameraName"))
    return dict(sorted(info.items())) if info else None


def _processing_info(info: dict[str, Any], proc: dict[str, Any], camera: Any) -> None:
    if isinstance(proc.get("recordingUUID"), str):
        info["Recording UUID"] = proc["recordingUUID"]
    system = proc.get("system")
    if isinstance(system, dict):
        behavior = system.get("behavior")
        paired = bool(_get(behavior, "paired")) if isinstance(behavior, dict) else False
        _put(info, _BEHAVIOR, behavior)
        info["Miniscope Paired"] = paired
        if paired:
            if "synced" in behavior:
                info["Miniscope Synced"] = behavior["synced"]
            _put(info, _MINISCOPE, system.get("miniscope"))
    cam = proc.get(camera) if isinstance(camera, str) else None
    if isinstance(cam, dict):
        _put(info, _CAMERA, cam)
        exposure = _get(cam, "sensorParams", "exposure")
        if _get(exposure, "type") == "manual" and "value" in exposure:
            info["Camera Exposure Time (ms)"] = exposure["value"]


def _f32(value: Any, path: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IsxFormatError(path, "wrong JSON type", key=key, expected="a number",
                             found=repr(value)[:60])
    return float(np.float32(value))


def _zone_event(obj: Any, path: str, key: str) -> ZoneEvent:
    if not isinstance(obj, dict) or type(obj.get("id")) is not int \
            or not isinstance(obj.get("name"), str):
        raise IsxFormatError(path, "zone event needs an integer 'id' and a string 'name'",
                             key=key, found=repr(obj)[:60])
    event, trig = obj.get("event", ""), obj.get("trig", "")
    if event not in ZONE_EVENTS or trig not in ZONE_TRIGGERS:
        raise IsxFormatError(path, "unknown zone event or trigger", key=key,
                             expected=f"event in {sorted(ZONE_EVENTS)}, trig in "
                                      f"{list(ZONE_TRIGGERS)}", found=f"{event!r}, {trig!r}")
    return ZoneEvent(obj["id"], obj["name"], ZONE_EVENTS[event], trig)


def _color(obj: Any, path: str, key: str) -> tuple[int, int, int, int] | None:
    if obj is None:
        return None
    rgba = _get(obj, "borderColor")
    if not isinstance(rgba, list) or len(rgba) < 4 or not all(
            type(c) is int and 0 <= c <= 255 for c in rgba[:4]):
        raise IsxFormatError(path, "zone colour needs a 4-element borderColor", key=key,
                             found=repr(rgba)[:60])
    return tuple(rgba[:4])  # type: ignore[return-value]


def _zone(obj: Any, path: str, key: str) -> Zone:
    geo = _get(obj, "geometry")
    if not isinstance(obj, dict) or not isinstance(geo, dict) or type(obj.get("id")) is not int:
        raise IsxFormatError(path, "zone needs an integer 'id' and a 'geometry'", key=key)
    coords = geo.get("coordinates", [])
    if not isinstance(coords, list) or not all(isinstance(c, list) and len(c) >= 2
                                               for c in coords):
        raise IsxFormatError(path, "zone coordinates must be [x, y] pairs",
                             key=f"{key}.geometry.coordinates")
    xy = np.array([[_f32(c[0], path, key), _f32(c[1], path, key)] for c in coords],
                  np.float32).reshape(-1, 2)
    props = geo.get("properties") if isinstance(geo.get("properties"), dict) else {}
    axes = [_f32(props.get(k, 0.0), path, f"{key}.geometry.properties.{k}")
            for k in ("majorAxis", "minorAxis", "angle")]
    kind = geo.get("type")
    return Zone(obj["id"], bool(obj.get("enable", False)), str(obj.get("name", "")),
                str(obj.get("description", "")), kind if kind in ZONE_TYPES else "", xy,
                *axes, _color(obj.get("inColor"), path, f"{key}.inColor"),
                _color(obj.get("outColor"), path, f"{key}.outColor"))


# ============================================================== the movie
class IsxbFile:
    """An nVision ``.isxb`` movie opened for reading.

    Opening reads the header and the JSON blocks, not the video.  ``data`` is a
    lazy ``(frames, rows, cols)`` uint8 sequence; :meth:`frame` decodes one frame.

    Parameters
    ----------
    path
        The ``.isxb`` file.
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.source = as_source(path)
        self.path = self.source.name
        with self.source.open() as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(0)
            self.header = IsxbHeader.read(self.path, fh.read(HEADER.size))
            h = self.header
            h.check(self.path, size)
            frame_json = _read_json(fh, self.path, h.meta_offset, h.meta_size,
                                    "per-frame metadata") if h.meta_size else None
            session = _read_json(fh, self.path, h.session_at, h.session_size,
                                 "session metadata")
        if not isinstance(session, dict):
            raise IsxFormatError(self.path, "session metadata is not a JSON object",
                                 offset=h.session_at, found=type(session).__name__)
        self.frame_json = frame_json  #: the parsed per-frame block (or None)
        self.session = session  #: the parsed session block, verbatim
        self._samples = self._check_samples(frame_json)
        self.timing = self._read_timing()
        if self.timing.num_samples > MAX_FRAMES:
            raise IsxFormatError(self.path, "implausible number of frames", key="timingInfo",
                                 offset=h.session_at, expected=f"<= {MAX_FRAMES}",
                                 found=self.timing.num_samples)
        self.spacing = self._read_spacing()
        self.extra_properties = {k: v for k, v in session.items()
                                 if k not in ("timingInfo", "spacingInfo")}
        self._index = self.timing.record_indices()
        self._check_counts()
        self._decoders: list[Any] = []  #: idle FFmpeg decoders (list.pop/append are atomic)

    # -------------------------------------------------------------- metadata
    def _check_samples(self, frame_json: Any) -> list | None:
        samples = frame_json.get("samples") if isinstance(frame_json, dict) else None
        if samples is None:
            return None
        if not isinstance(samples, list) or len(samples) != self.header.num_frames:
            raise IsxFormatError(self.path, "Unexpected number of samples in the per-frame "
                                 "metadata", offset=self.header.meta_offset, key="samples",
                                 expected=f"{self.header.num_frames} (numFrames)",
                                 found=len(samples) if isinstance(samples, list)
                                 else type(samples).__name__)
        return samples

    def _read_timing(self) -> TimingInfo:
        h = self.header
        if "timingInfo" in self.session:
            return TimingInfo.from_json(Fields(self.session, self.path, offset=h.session_at))
        if self._samples is None or not self._samples:
            raise IsxFormatError(self.path, "no per-frame samples and no timingInfo: the "
                                 "timing is unknown", offset=h.meta_offset, key="samples")
        tsc = _sample_ints([self._samples[0], self._samples[-1]], "tsc", self.path,
                           h.meta_offset)
        fc = _sample_ints([self._samples[0], self._samples[-1]], "fc", self.path,
                          h.meta_offset)
        if tsc[1] < tsc[0] or fc[1] < fc[0]:
            raise IsxFormatError(self.path, "cannot derive the frame period: the last stored "
                                 "frame precedes the first", offset=h.meta_offset,
                                 key="samples", expected="tsc and fc not decreasing",
                                 found=f"tsc {tsc.tolist()}, fc {fc.tolist()}")
        if fc[1] == fc[0]:  # a single stored frame: isx reports the period 0/0
            warnings.warn(f"{self.path}: the frame period cannot be derived from the frame "
                          "counters of a single stored frame; using 50 ms", IsxFormatWarning,
                          stacklevel=3)
            period = Ratio(50, 1000)
        else:
            period = Ratio(int(tsc[1] - tsc[0]), int(float(fc[1] - fc[0]) * 1e6))
        meta = Fields(self.frame_json, self.path, offset=h.meta_offset)
        dropped = meta.int_array("droppedFrames", [], lo=0, hi=MAX_FRAMES)
        utc = ((h.utc_offset_min + 2**31) % 2**32 - 2**31) * 60  # int32 minutes -> s
        start = Time(Ratio(h.epoch_ms, 1000), utc)
        return TimingInfo(h.num_frames + h.num_drops, period, start,
                          tuple(dropped)).normalized()

    def _read_spacing(self) -> SpacingInfo:
        f = Fields(self.session, self.path, offset=self.header.session_at)
        if f.has("spacingInfo"):
            return SpacingInfo.from_json(f)
        camera = f.string("cameraName")
        fov = f.sub("processingInterface").sub(camera).sub("recordFov")
        dims = [fov.integer(k, lo=0, hi=2**20) for k in ("width", "height")]
        origin = [fov.integer(k, lo=0, hi=2**32) for k in ("originx", "originy")]
        return SpacingInfo(dims[1], dims[0], (DEFAULT_PIXEL_SIZE, DEFAULT_PIXEL_SIZE),
                           (Ratio(origin[0], 1), Ratio(origin[1], 1)))

    def _check_counts(self) -> None:
        t = self.timing
        for i in (*t.dropped, *t.blank):
            if i >= t.num_samples:
                raise IsxFormatError(self.path, "dropped/blank index past the last frame",
                                     offset=self.header.meta_offset, key="droppedFrames",
                                     expected=f"< {t.num_samples}", found=i)
        needed = int(self._index.max()) + 1 if len(self._index) and self._index.max() >= 0 \
            else 0
        if needed != self.header.num_frames:
            warnings.warn(f"{self.path}: the timing has {needed} valid frame(s) but the header "
                          f"stores {self.header.num_frames}", IsxFormatWarning, stacklevel=3)

    @property
    def num_frames(self) -> int:
        """Number of samples (stored + dropped)."""
        return self.timing.num_samples

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.timing.num_samples, *self.spacing.shape)

    @property
    def valid_mask(self) -> np.ndarray:
        return self._index >= 0

    @property
    def has_frame_timestamps(self) -> bool:
        return bool(self._samples)

    @locked_cached_property
    def tsc(self) -> np.ndarray:
        """Per-sample hardware timestamps in µs (uint64; 0 for invalid frames)."""
        if not self._samples:
            raise IsxFormatError(self.path, "No frame timestamps stored in movie",
                                 offset=self.header.meta_offset, key="samples")
        values = _sample_ints(self._samples, "tsc", self.path, self.header.meta_offset)
        out = np.zeros(self.num_frames, np.uint64)
        ok = (self._index >= 0) & (self._index < len(values))
        out[ok] = values[self._index[ok]]
        return out

    def frame_metadata(self, index: int) -> dict[str, Any] | None:
        """The per-frame JSON object of sample ``index`` (None for invalid frames)."""
        n = self.num_frames
        if not -n <= index < n:
            raise IndexError(f"frame index {index} is out of range for {n} frames")
        rec = int(self._index[index])
        if rec < 0 or not self._samples or rec >= len(self._samples):
            return None
        return self._samples[rec]

    @locked_cached_property
    def acquisition_info(self) -> dict[str, Any] | None:
        """What ``isx.Movie.get_acquisition_info()`` returns for this movie."""
        return acquisition_info(self.session)

    # -------------------------------------------------------------- tracking
    @locked_cached_property
    def tracking(self) -> Tracking:
        """Per-sample nVision tracking results (bounding box, confidence, zone events)."""
        n = self.num_frames
        box = np.full((n, 4), np.nan, np.float32)
        conf = np.full(n, np.nan, np.float32)
        events: list[tuple[ZoneEvent, ...]] = [()] * n
        for i in np.flatnonzero(self._index >= 0):
            tracker = _get(self.frame_metadata(int(i)), "tracker")
            if not isinstance(tracker, dict) or "box" not in tracker:
                continue
            key = f"samples[{self._index[i]}].tracker"
            b = tracker["box"]
            if not isinstance(b, list) or len(b) < 4:
                raise IsxFormatError(self.path, "tracker box must hold 4 numbers",
                                     key=f"{key}.box", found=repr(b)[:60])
            box[i] = [_f32(v, self.path, f"{key}.box") for v in b[:4]]
            if "conf" in tracker:
                conf[i] = _f32(tracker["conf"], self.path, f"{key}.conf")
            zones = tracker.get("zones")
            if zones is not None:
                zones = zones if isinstance(zones, list) else [zones]
                events[i] = tuple(_zone_event(z, self.path, f"{key}.zones") for z in zones)
        left, top, right, bottom = box.T
        valid = ((top != 0) | (bottom != 0)) & ((left != 0) | (right != 0)) & ~np.isnan(left)
        two = np.float32(2)
        center = np.stack([(left + right) / two, (top + bottom) / two], axis=1)
        return Tracking(box, valid, center, conf, tuple(events))

    @locked_cached_property
    def zones(self) -> list[Zone]:
        """Zone definitions of this movie's camera (``trackingInterface``), if any."""
        s = self.session
        if "trackingInterface" not in s or "processingInterface" not in s:
            return []
        camera = s.get("cameraName")
        if not isinstance(camera, str):
            raise IsxFormatError(self.path, "cameraName is missing", key="cameraName",
                                 offset=self.header.session_at)
        alias = _get(s, "processingInterface", camera, "cameraAlias")
        if isinstance(alias, str) and alias:
            camera = alias
        sections = s["trackingInterface"]
        for k, section in enumerate(sections if isinstance(sections, list) else []):
            if _get(section, "cameraName") == camera:
                zones = section.get("zones")
                if not isinstance(zones, list):
                    return []
                return [_zone(z, self.path, f"trackingInterface[{k}].zones[{j}]")
                        for j, z in enumerate(zones)]
        return []

    # -------------------------------------------------------------- video
    @property
    def _video(self) -> FileSection:
        return FileSection(self.source, self.header.video_offset, self.header.video_size)

    @locked_cached_property
    def _jpegs(self) -> JpegIndex:
        h = self.header
        return JpegIndex(self._video, h.num_frames, path=self.path, base=h.video_offset)

    @property
    def jpeg_extents(self) -> np.ndarray:
        """``(stored frames, 2)`` [start, end) offsets of each JPEG, relative to the video.

        Indexes the whole video section (frame access only indexes as far as needed).
        """
        idx = self._jpegs.all()
        if len(idx) < self.header.num_frames:
            warnings.warn(f"{self.path}: the video section holds {len(idx)} complete JPEG "
                          f"image(s), the header announces {self.header.num_frames}; later "
                          "frames cannot be read", IsxFormatWarning, stacklevel=2)
        return idx

    def _extent(self, index: int) -> tuple[int, int]:
        n = self.num_frames
        if not -n <= index < n:
            raise IndexError(f"frame index {index} is out of range for {n} frames")
        rec = int(self._index[index])
        if rec < 0:
            raise IndexError(f"frame {index} is not stored (dropped)")
        ext = self._jpegs.get(rec)
        if ext is None:
            h = self.header
            raise IsxFormatError(self.path, f"frame {index} (stored frame {rec}) is missing "
                                 "from the video section", offset=h.video_offset + h.video_size,
                                 expected=f"{h.num_frames} JPEG images",
                                 found=f"{len(self._jpegs.extents)} complete images")
        return ext

    def jpeg(self, index: int) -> bytes:
        """The stored JPEG bytes of sample ``index`` (IndexError for dropped frames)."""
        a, b = self._extent(index)
        return self._video.read(a, b)

    def frame(self, index: int) -> np.ndarray:
        """Decode sample ``index``: the luma plane ``(rows, cols)`` uint8; zeros if dropped."""
        n = self.num_frames
        if not -n <= index < n:
            raise IndexError(f"frame index {index} is out of range for {n} frames")
        index %= n
        if self._index[index] < 0:
            return np.zeros(self.spacing.shape, np.uint8)
        a, b = self._extent(index)
        return self._decode(self._video.read(a, b), index, self.header.video_offset + a)

    def _decode(self, data: bytes, index: int, offset: int) -> np.ndarray:
        """Decode one JPEG with a decoder borrowed from the pool (one per thread at a
        time); a decoder that failed is dropped, not returned."""
        av = _av()
        try:
            ctx = self._decoders.pop()
        except IndexError:
            ctx = av.CodecContext.create("mjpeg", "r")
            ctx.thread_count = 1
        try:
            frames = ctx.decode(av.Packet(data))
        except (av.FFmpegError, ValueError, OSError) as exc:
            raise IsxFormatError(self.path, f"JPEG of frame {index} does not decode ({exc})",
                                 offset=offset) from None
        if not frames:
            raise IsxFormatError(self.path, f"JPEG of frame {index} does not decode",
                                 offset=offset)
        luma = self._luma(frames[-1], index, offset)  # copied out before ctx is shared again
        if len(self._decoders) < MAX_IDLE_DECODERS:
            self._decoders.append(ctx)
        return luma

    def _luma(self, fr: Any, index: int, offset: int) -> np.ndarray:
        if not fr.format.name.startswith(_YUV_PREFIXES):
            raise IsxUnsupportedError(self.path, f"JPEG of frame {index} has an unsupported "
                                      "pixel format", offset=offset, found=fr.format.name)
        if (fr.height, fr.width) != self.spacing.shape:
            raise IsxFormatError(self.path, f"decoded frame {index} does not match the "
                                 "dimensions in the metadata", offset=offset,
                                 expected=f"{self.spacing.num_cols} x {self.spacing.num_rows}",
                                 found=f"{fr.width} x {fr.height}")
        plane = fr.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(fr.height, plane.line_size)
        return y[:, :fr.width].copy()

    @locked_cached_property
    def data(self) -> IsxbFrames:
        """Lazy ``(frames, rows, cols)`` uint8 frames."""
        return IsxbFrames(self)

    # -------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Release the idle decoders (no file stays open between calls anyway)."""
        self._decoders.clear()

    def __enter__(self) -> IsxbFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self):
        return (IsxbFile, (self.path if self.source.is_local else self.source,))

    def __repr__(self) -> str:
        return (f"<IsxbFile {self.path!r} {self.shape} uint8 "
                f"period={float(self.timing.period):g}s>")
