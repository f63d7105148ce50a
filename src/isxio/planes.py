"""Multiplane (electronic focus) and dual-colour movies as separate per-plane series.

An nVista 3 multiplane acquisition interleaves its planes in time: stored frame
``i`` belongs to plane ``i % P`` (spec ``isxd.md`` §4.7).  isx reports such a file
as one interleaved movie; :func:`split_planes` gives one :class:`SubMovie` per
plane, with its own timing, TSC timestamps and efocus.  A dual-colour movie in
*multiplexing* mode alternates channels the same way (:func:`split_channels`).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from functools import cached_property
from typing import Any

import numpy as np

from ._lazy import RecordArray
from .errors import IsxFormatWarning
from .formats.common import Ratio, Time, TimingInfo
from .formats.frameheader import decode_header_fields
from .formats.movie import MovieFile

__all__ = ["SubMovie", "frame_offsets", "frame_times", "num_planes", "split_channels",
           "split_planes"]


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def num_planes(extra: dict[str, Any] | None) -> int:
    """Number of interleaved planes a movie holds (1 unless it is a multiplane acquisition).

    ``microscope.multiplane.enabled`` alone is not enough: a plane already split out
    by IDPS keeps that block but adds ``idps.efocus``.
    """
    if _get(extra, "idps", "efocus") is not None:
        return 1
    if _get(extra, "microscope", "multiplane", "enabled") is not True:
        return 1
    active = _get(extra, "microscope", "multiplane", "activePlanes")
    return int(active) if isinstance(active, int) and active > 1 else 1


def plane_focus(extra: dict[str, Any] | None, plane: int) -> int | None:
    """Focus (efocus) of 0-based ``plane`` from ``microscope.multiplane.planes``."""
    value = _get(extra, "microscope", "multiplane", "planes", f"plane-{plane + 1}", "focus")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _sub_timing(timing: TimingInfo, phase: int, stride: int) -> TimingInfo:
    """Timing of samples ``phase, phase + stride, ...`` of ``timing``."""
    n = max(0, -(-(timing.num_samples - phase) // stride))
    invalid = ~timing.valid_mask()[phase::stride]
    start = Time(Ratio.from_fraction(timing.start.secs_since_epoch.fraction
                                     + phase * timing.period.fraction),
                 timing.start.utc_offset)
    period = Ratio(timing.period.num * stride, timing.period.den)
    return TimingInfo(n, period, start, dropped=tuple(int(i) for i in np.flatnonzero(invalid)))


def frame_times(movie: MovieFile) -> np.ndarray:
    """Per-frame start times in seconds since the Unix epoch (NaN for invalid frames).

    With TSC timestamps (nVista 3 raw movies) the times are the hardware timestamps
    anchored at the first valid frame's nominal time; otherwise ``start + i × period``.
    """
    return movie.timing.start.seconds + frame_offsets(movie)


def frame_offsets(movie: MovieFile) -> np.ndarray:
    """Per-frame times in seconds from the movie's start (float64, NaN for invalid frames).

    :func:`frame_times` relative to ``timing.start``, computed without the epoch so that
    no precision is lost: with TSC timestamps the first valid frame sits at its nominal
    offset and the others follow its hardware clock; otherwise ``i × period``.
    """
    timing = movie.timing
    offsets = timing.offsets()
    valid = movie.valid_mask
    if movie.has_frame_timestamps and valid.any():
        tsc = movie.tsc.astype(np.int64)
        f0 = int(np.flatnonzero(valid)[0])
        offsets = offsets[f0] + (tsc - tsc[f0]) / 1e6
    offsets = offsets.astype(np.float64)
    offsets[~valid] = np.nan
    return offsets


class SubMovie:
    """Every ``stride``-th stored frame of a movie, starting at ``phase``: one plane/channel.

    Attributes
    ----------
    data
        Lazy array ``(frames, rows, cols)``.
    timing
        Timing of this series (period ``stride ×`` the movie's; start shifted by
        ``phase`` periods; frames invalid in the movie are marked dropped).
    label
        ``"plane-1"``, ``"green"``, ...
    """

    def __init__(self, movie: MovieFile, phase: int, stride: int, label: str,
                 efocus: int | None = None) -> None:
        self.movie, self.phase, self.stride, self.label = movie, phase, stride, label
        self.efocus = efocus
        self._index = movie._index[phase::stride]

    @property
    def path(self) -> str:
        return self.movie.path

    @property
    def spacing(self):
        return self.movie.spacing

    @property
    def dtype(self) -> np.dtype:
        return self.movie.dtype

    @property
    def extra_properties(self) -> dict[str, Any] | None:
        return self.movie.extra_properties

    @property
    def valid_mask(self) -> np.ndarray:
        return self._index >= 0

    @cached_property
    def data(self) -> RecordArray:
        full = self.movie.data
        return RecordArray(full.source, full.offset, full.record_items, full.item_start,
                           full.item_shape, full.n_records, full.dtype, self._index)

    @cached_property
    def timing(self) -> TimingInfo:
        timing = _sub_timing(self.movie.timing, self.phase, self.stride)
        if self.movie.has_frame_timestamps:
            tsc = self.tsc
            valid = np.flatnonzero(self.valid_mask)
            if len(valid) > 2 and tsc[valid[0]] < tsc[valid[-1]]:
                span = int(tsc[valid[-1]]) - int(tsc[valid[0]])
                timing = replace(timing, period=Ratio(span, int(valid[-1] - valid[0]) * 10**6))
        return timing

    @cached_property
    def tsc(self) -> np.ndarray | None:
        tsc = self.movie.tsc
        return None if tsc is None else tsc[self.phase::self.stride]

    def timestamps(self) -> np.ndarray:
        """Per-frame Unix times (s) of this series, from the TSCs when available."""
        return frame_times(self.movie)[self.phase::self.stride]

    def __repr__(self) -> str:
        return f"<SubMovie {self.label} of {self.movie.path!r}: {self.data.shape}>"


def split_planes(movie: MovieFile, planes: int | None = None) -> list[SubMovie]:
    """One :class:`SubMovie` per plane of an interleaved multiplane movie.

    ``planes`` defaults to :func:`num_planes` of the movie's metadata.  The efocus of
    each plane is taken from the frame headers when present (and checked against
    ``microscope.multiplane.planes``; a disagreement warns), else from the metadata.
    """
    extra = movie.extra_properties
    count = planes or num_planes(extra)
    header_focus: np.ndarray | None = None
    if movie.header.has_frame_header_footer and movie.num_frames:
        header_focus = decode_header_fields(movie.frame_headers[:])["efocus"]
    out = []
    for p in range(count):
        focus = plane_focus(extra, p)
        if header_focus is not None:
            valid = movie.valid_mask[p::count]
            seen = np.unique(header_focus[p::count][valid])
            if len(seen) == 1:
                if focus is not None and int(seen[0]) != focus:
                    warnings.warn(f"{movie.path}: plane {p + 1} efocus is {int(seen[0])} in "
                                  f"the frame headers but {focus} in the metadata",
                                  IsxFormatWarning, stacklevel=2)
                focus = int(seen[0])
            elif len(seen) > 1:
                warnings.warn(f"{movie.path}: frames of plane {p + 1} have several efocus "
                              f"values {seen.tolist()}; planes may not be interleaved as "
                              f"{count}", IsxFormatWarning, stacklevel=2)
        out.append(SubMovie(movie, p, count, f"plane-{p + 1}", focus))
    return out


def channel_pattern(extra: dict[str, Any] | None) -> list[str]:
    """The repeating channel sequence of a dual-colour movie (``["green"]`` if single).

    In multiplexing mode channels alternate starting with ``startChannel``, with
    ``muxRatio.led1`` green and ``muxRatio.led2`` red frames per cycle.
    """
    dual = _get(extra, "microscope", "dualColor")
    if not isinstance(dual, dict) or dual.get("enabled") is not True:
        return []
    if dual.get("mode") != "multiplexing":
        channel = _get(dual, "single", "channel") or _get(extra, "idps", "channel")
        return [str(channel)] if channel else []
    ratio = {"green": _get(dual, "muxRatio", "led1") or 1,
             "red": _get(dual, "muxRatio", "led2") or 1}
    first = dual.get("startChannel", "green")
    second = "red" if first == "green" else "green"
    return [first] * int(ratio[first]) + [second] * int(ratio[second])


def split_channels(movie: MovieFile) -> dict[str, SubMovie]:
    """One :class:`SubMovie` per colour channel of a multiplexed dual-colour movie.

    Only 1:1 multiplexing (alternating frames) maps to evenly strided channels; other
    ratios raise ``NotImplementedError``.
    """
    pattern = channel_pattern(movie.extra_properties)
    if len(pattern) <= 1:
        label = pattern[0] if pattern else "channel-1"
        return {label: SubMovie(movie, 0, 1, label)}
    if sorted(pattern) != ["green", "red"]:
        raise NotImplementedError(f"dual-colour pattern {pattern} is not a 1:1 alternation")
    return {label: SubMovie(movie, p, 2, label) for p, label in enumerate(pattern)}
