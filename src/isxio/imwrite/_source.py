"""What :func:`isxio.imwrite` writes: a source of one or more frame streams.

Every input (a reader, a series, a per-plane view, an array, an extractor, a store
written by imwrite) becomes a :class:`Source`: one :class:`Stream` per plane or colour
channel, each a lazy ``(frames, rows, cols)`` array with its own timing.  Selections
(planes, channels, frames; all 0-based) make new, still lazy, sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ..formats.common import Ratio, SpacingInfo, Time, TimingInfo

__all__ = ["Source", "Stream", "Take", "release", "select", "timing_from_json",
           "timing_from_rate"]


@dataclass
class Stream:
    """One plane or channel: lazy frames ``(T, Y, X)`` and what is known of their timing.

    Attributes
    ----------
    data
        Array-like indexed along axis 0 by slices or integer arrays.
    label
        ``""`` for a single stream, ``"plane0"``, ``"green"``, ...
    timing
        Timing as isx reports it (period from the hardware clock when there is one), or
        None when the input has none (a bare array without ``fs``).
    file_timing
        Timing as an ``.isxd`` header stores it (defaults to ``timing``).
    offsets
        Seconds from ``timing.start`` of each frame (NaN where invalid), or None.
    tsc
        Hardware timestamps (µs, uint64, 0 where invalid), or None.
    headers, footers
        nVista 3 frame headers/footers ``(T, 2560)`` uint16 (lazy), or None.
    efocus
        Electronic focus of the plane, if known.
    index
        Frame indices of the source this stream holds (after a frame selection).
    """

    data: Any
    label: str = ""
    timing: TimingInfo | None = None
    file_timing: TimingInfo | None = None
    offsets: np.ndarray | None = None
    tsc: np.ndarray | None = None
    headers: Any = None
    footers: Any = None
    efocus: int | None = None
    index: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.file_timing is None:
            self.file_timing = self.timing
        if self.index is None:
            self.index = np.arange(len(self))

    def __len__(self) -> int:
        return int(self.data.shape[0])

    @property
    def valid(self) -> np.ndarray:
        """True where a frame is valid (every frame when the input has no timing)."""
        t = self.file_timing or self.timing
        return t.valid_mask() if t is not None else np.ones(len(self), bool)


@dataclass
class Source:
    """Streams of one recording with their shared metadata.

    ``axis`` says what the streams are: ``""`` (one stream), ``"z"`` (planes) or
    ``"c"`` (colour channels).
    """

    streams: list[Stream]
    axis: str = ""
    spacing: SpacingInfo | None = None
    dtype: np.dtype = field(default_factory=lambda: np.dtype("u2"))
    extra_properties: dict[str, Any] | None = None
    name: str = ""
    kind: str = ""  #: what the input was ("isxd", "array", "extractor", ...)
    producer: dict[str, Any] | None = None  #: ``producer`` of a source ``.isxd`` trailer
    #: JSON text of the source ``.isxd`` trailer, verbatim (UTF-8), while the source is
    #: that whole movie as one stream; any selection drops it (see :func:`select`)
    trailer: bytes | None = field(default=None, repr=False)

    @property
    def frame_shape(self) -> tuple[int, int]:
        return tuple(int(s) for s in self.streams[0].data.shape[1:3])  # type: ignore[return-value]

    @property
    def num_frames(self) -> int:
        """Frames every stream has (a partial last volume is left out)."""
        return min(len(s) for s in self.streams)

    def single(self, k: int) -> Source:
        """The source made of stream ``k`` alone."""
        whole = len(self.streams) == 1
        return replace(self, streams=[self.streams[k]], axis="",
                       trailer=self.trailer if whole else None)


class Take:
    """Frames ``index`` of a lazy array, itself lazy (slices read contiguous runs)."""

    def __init__(self, base: Any, index: np.ndarray) -> None:
        self.base, self.index = base, np.asarray(index, np.int64)
        self.shape = (len(self.index), *tuple(base.shape[1:]))
        self.dtype = np.dtype(base.dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        idx = self.index[key]
        if idx.ndim == 0:
            return np.asarray(self.base[int(idx)])
        if len(idx) and np.all(np.diff(idx) == 1):
            return np.asarray(self.base[int(idx[0]):int(idx[-1]) + 1])
        return np.asarray(self.base[idx])

    def close(self) -> None:
        release(self.base)


def release(arr: Any) -> None:
    """Drop the memory maps behind a lazy array (they are reopened on the next read).

    Pages of a live memory map count in the process's RSS: streaming writers call
    this after each block so that RSS stays bounded.
    """
    for part in getattr(arr, "parts", ()):
        release(part)
    close = getattr(arr, "close", None)
    if callable(close) and not isinstance(arr, np.ndarray):
        close()


# ---------------------------------------------------------------- timing helpers
def timing_from_rate(n: int, fs: float, start: Time | None = None,
                     valid: np.ndarray | None = None) -> TimingInfo:
    """Regular timing of ``n`` samples at ``fs`` Hz (period as an exact µs-ratio)."""
    if not fs or fs <= 0 or not np.isfinite(fs):
        raise ValueError(f"sampling rate must be a positive number, got {fs!r}")
    period = Fraction(1 / fs).limit_denominator(10**9)
    dropped = () if valid is None else tuple(int(i) for i in np.flatnonzero(~valid))
    return TimingInfo(n, Ratio.from_fraction(period), start or Time(), dropped=dropped)


def _ratio(d: dict[str, Any]) -> Ratio:
    return Ratio(int(d["num"]), int(d["den"]))


def timing_from_json(d: dict[str, Any]) -> TimingInfo:
    """The inverse of ``TimingInfo.to_json`` (as stored in imwrite's metadata)."""
    crops = []
    for text in d.get("cropped", []):
        a, _, b = str(text).partition("-")
        crops.append((int(a), int(b or a)))
    start = d.get("start", {})
    return TimingInfo(int(d["numTimes"]), _ratio(d["period"]),
                      Time(_ratio(start["secsSinceEpoch"]), int(start.get("utcOffset", 0))),
                      tuple(int(i) for i in d.get("dropped", [])), tuple(crops),
                      tuple(int(i) for i in d.get("blank", [])))


def _sub_timing(timing: TimingInfo, idx: np.ndarray) -> TimingInfo:
    """Timing of samples ``idx`` of ``timing``: start at ``idx[0]``, invalid kinds kept.

    A regular selection (a constant step) multiplies the period by the step; an
    irregular one keeps the period (its real times are in the stream's offsets).
    """
    n = timing.num_samples
    if not len(idx):
        return replace(timing, num_samples=0, dropped=(), cropped=(), blank=())
    steps = np.unique(np.diff(idx))
    step = int(steps[0]) if len(steps) == 1 and steps[0] > 0 else 1
    first = int(idx[0])
    start = Time(Ratio.from_fraction(timing.start.secs_since_epoch.fraction
                                     + first * timing.period.fraction), timing.start.utc_offset)
    kinds = {}
    for name in ("dropped", "blank"):
        mask = np.zeros(n, bool)
        vals = np.asarray(getattr(timing, name), np.int64)
        mask[vals[(vals >= 0) & (vals < n)]] = True
        kinds[name] = tuple(int(i) for i in np.flatnonzero(mask[idx]))
    crop = np.zeros(n, bool)
    for a, b in timing.cropped:
        crop[a:b + 1] = True
    sel = np.flatnonzero(crop[idx])
    runs = np.split(sel, np.flatnonzero(np.diff(sel) != 1) + 1) if len(sel) else []
    return TimingInfo(len(idx), Ratio.from_fraction(timing.period.fraction * step), start,
                      kinds["dropped"], tuple((int(r[0]), int(r[-1])) for r in runs),
                      kinds["blank"]).normalized()


def _take(value: Any, idx: np.ndarray) -> Any:
    return None if value is None else Take(value, idx)


def select_frames(stream: Stream, idx: np.ndarray) -> Stream:
    """The frames ``idx`` (0-based, in the stream's own numbering) of ``stream``."""
    n = len(stream)
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"frame indices must be in 0..{n - 1} (0-based), got "
                         f"{int(idx.min())}..{int(idx.max())}")
    offsets = stream.offsets
    if offsets is not None and stream.timing is not None and len(idx):
        shift = float(stream.timing.period.fraction * int(idx[0]))
        offsets = offsets[idx] - shift
    return Stream(Take(stream.data, idx), stream.label,
                  None if stream.timing is None else _sub_timing(stream.timing, idx),
                  None if stream.file_timing is None else _sub_timing(stream.file_timing, idx),
                  offsets, None if stream.tsc is None else stream.tsc[idx],
                  _take(stream.headers, idx), _take(stream.footers, idx), stream.efocus,
                  stream.index[idx])


def frame_index(frames: Any, n: int) -> np.ndarray | None:
    """0-based frame indices from a slice, range, int or sequence (None keeps all)."""
    if frames is None:
        return None
    if isinstance(frames, slice | range):
        return np.arange(n)[frames if isinstance(frames, slice) else
                            slice(frames.start, frames.stop, frames.step)]
    idx = np.atleast_1d(np.asarray(frames))
    if idx.dtype == bool:
        if len(idx) != n:
            raise ValueError(f"a boolean frame mask needs {n} values, got {len(idx)}")
        return np.flatnonzero(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"frames must be integers, a slice or a boolean mask, not {idx.dtype}")
    idx = idx.astype(np.int64)
    if len(idx) > 1 and np.any(np.diff(idx) <= 0):
        raise ValueError("frame indices must be strictly increasing")
    return idx


def _pick(streams: list[Stream], wanted: Any, what: str) -> list[int]:
    labels = [s.label for s in streams]
    items = [wanted] if isinstance(wanted, int | str) else list(wanted)
    out = []
    for item in items:
        if isinstance(item, str):
            if item not in labels:
                raise ValueError(f"no {what} {item!r}; the input has {labels}")
            out.append(labels.index(item))
        elif not 0 <= int(item) < len(streams):
            raise IndexError(f"{what} {item} out of range: the input has {len(streams)} "
                             f"{what}s, numbered from 0")
        else:
            out.append(int(item))
    return out


def select(source: Source, *, planes: Any = None, channels: Any = None,
           frames: Any = None) -> Source:
    """Keep some planes / channels (0-based indices or labels) and frames (0-based)."""
    streams = source.streams
    for wanted, axis, what in ((planes, "z", "plane"), (channels, "c", "channel")):
        if wanted is None:
            continue
        if source.axis != axis:
            if list(np.atleast_1d(wanted)) in ([0], [source.streams[0].label]):
                continue  # plane 0 / the only channel of a single-stream input
            raise ValueError(f"{what}s= given but {source.name or 'the input'} has no "
                             f"{what}s (it is {'single' if not source.axis else source.axis})")
        streams = [streams[k] for k in _pick(streams, wanted, what)]
    whole = len(streams) == len(source.streams) == 1 and streams[0] is source.streams[0]
    idx = frame_index(frames, min(len(s) for s in streams))
    if idx is not None:
        streams = [select_frames(s, idx) for s in streams]
    axis = source.axis if len(streams) > 1 or source.axis else ""
    return replace(source, streams=streams, axis=axis,
                   trailer=source.trailer if whole and idx is None else None)

