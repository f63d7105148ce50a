"""Shared JSON objects of Inscopix files: Ratio, Time, TimingInfo, SpacingInfo.

Spec: ``isxd.md`` §2.  Ratios keep their numerator and denominator exactly as stored
(isxcore never reduces them) but compare by value.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ._fields import INT64_MAX, INT64_MIN, Fields

__all__ = ["MAX_SAMPLES", "DurationRatio", "Ratio", "SpacingInfo", "Time", "TimingInfo"]

#: Largest ``numTimes`` accepted on read; anything larger is a corrupt trailer.
MAX_SAMPLES = 2**32


@dataclass(frozen=True, eq=False)
class Ratio:
    """An exact rational number ``num / den``, stored unreduced (isxcore ``Ratio``)."""

    num: int
    den: int = 1

    def __post_init__(self) -> None:
        if self.den == 0:
            raise ZeroDivisionError("Ratio denominator is zero")

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.num, self.den)

    def __float__(self) -> float:
        return self.num / self.den

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ratio):
            return self.num * other.den == other.num * self.den
        if isinstance(other, int | Fraction):
            return self.fraction == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.fraction)

    def __repr__(self) -> str:
        return f"Ratio({self.num}, {self.den})"

    @classmethod
    def from_fraction(cls, value: Fraction | int) -> Ratio:
        value = Fraction(value)
        return cls(value.numerator, value.denominator)

    def to_json(self) -> dict[str, int]:
        return {"den": self.den, "num": self.num}

    @classmethod
    def from_json(cls, f: Fields, name: str) -> Ratio:
        sub = f.sub(name)
        num = sub.integer("num", lo=INT64_MIN, hi=INT64_MAX)
        den = sub.integer("den", lo=INT64_MIN, hi=INT64_MAX)
        if den == 0:
            raise sub.error("ratio has a zero denominator", key=sub.key("den"),
                            expected="a non-zero integer", found=0)
        return cls(num, den)


class DurationRatio(Ratio):
    """A :class:`Ratio` that is a duration in seconds (a period, a step).

    ``str()`` reads as a duration (``0.05 s``, 6 significant digits); ``repr()``,
    equality and hashing are exactly :class:`Ratio`'s (``Ratio(50, 1000)``).
    """

    def __str__(self) -> str:
        return f"{float(self):.6g} s"

    @classmethod
    def of(cls, value: Ratio) -> DurationRatio:
        """``value`` as a duration (itself if it already is one)."""
        return value if isinstance(value, DurationRatio) else cls(value.num, value.den)


@dataclass(frozen=True)
class Time:
    """A point in time: seconds since the Unix epoch (UTC) and the local UTC offset."""

    secs_since_epoch: Ratio = field(default_factory=lambda: Ratio(0, 1))
    utc_offset: int = 0  #: seconds east of UTC of the recording's local time

    @property
    def seconds(self) -> float:
        """Seconds since the Unix epoch (UTC), as a float."""
        return float(self.secs_since_epoch)

    def to_datetime(self, local: bool = False) -> _dt.datetime:
        """The time as an aware UTC datetime, or as local wall time if ``local``."""
        tz = _dt.timezone(_dt.timedelta(seconds=self.utc_offset)) if local else _dt.timezone.utc
        frac = self.secs_since_epoch.fraction
        whole = frac.numerator // frac.denominator
        micro = round((frac - whole) * 1_000_000)
        epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        try:
            return (epoch + _dt.timedelta(seconds=whole, microseconds=micro)).astimezone(tz)
        except OverflowError:
            raise ValueError(f"time {float(frac):g} s since the epoch is outside the range "
                             "of datetime") from None

    def to_json(self) -> dict[str, Any]:
        return {"secsSinceEpoch": self.secs_since_epoch.to_json(), "utcOffset": self.utc_offset}

    @classmethod
    def from_json(cls, f: Fields, name: str) -> Time:
        sub = f.sub(name)
        return cls(Ratio.from_json(sub, "secsSinceEpoch"),
                   sub.integer("utcOffset", 0, lo=-(2**31), hi=2**31 - 1))


# At most 20 digits: larger values are out of range anyway, and int() of very long
# digit strings is refused by Python (sys.set_int_max_str_digits).
_CROP_RE = re.compile(r"^\s*(\d{1,20})\s*(?:-\s*(\d{1,20})\s*)?$")


def _merge_ranges(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


def _in_ranges(values: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    if not ranges or values.size == 0:
        return np.zeros(values.shape, bool)
    firsts = np.array([a for a, _ in ranges], dtype=np.uint64)
    lasts = np.array([b for _, b in ranges], dtype=np.uint64)
    pos = np.searchsorted(firsts, values, side="right") - 1
    ok = pos >= 0
    res = np.zeros(values.shape, bool)
    res[ok] = values[ok] <= lasts[pos[ok]]
    return res


@dataclass(frozen=True)
class TimingInfo:
    """Timing of a sampled series (``timingInfo``): samples, period, start, invalid samples.

    ``dropped``, ``cropped`` and ``blank`` hold sample indices; ``cropped`` holds
    inclusive ``(first, last)`` ranges.  Use :meth:`normalized` to get what isxcore
    stores (ranges merged, indices inside ranges removed, sorted; duplicates kept).
    """

    num_samples: int = 0
    period: Ratio = field(default_factory=lambda: Ratio(50, 1000))
    start: Time = field(default_factory=Time)
    dropped: tuple[int, ...] = ()
    cropped: tuple[tuple[int, int], ...] = ()
    blank: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.period, Ratio):  # prints as "0.05 s"; compares as the Ratio
            object.__setattr__(self, "period", DurationRatio.of(self.period))

    # ----------------------------------------------------------------- derived
    def normalized(self) -> TimingInfo:
        """The timing as isxcore normalises it on write (spec §2.3)."""
        crops = _merge_ranges([(int(a), int(b)) for a, b in self.cropped])
        blank = np.sort(np.asarray(self.blank, dtype=np.uint64))
        blank = blank[~_in_ranges(blank, crops)]
        dropped = np.sort(np.asarray(self.dropped, dtype=np.uint64))
        dropped = dropped[~(_in_ranges(dropped, crops) | np.isin(dropped, blank))]
        return replace(self, cropped=crops, blank=tuple(int(x) for x in blank),
                       dropped=tuple(int(x) for x in dropped))

    @property
    def period_seconds(self) -> float:
        return float(self.period)

    @property
    def sampling_rate(self) -> float:
        """Samples per second (1 / period)."""
        return self.period.den / self.period.num if self.period.num else float("inf")

    @property
    def duration(self) -> Fraction:
        """``num_samples × period`` in seconds, exactly."""
        return self.period.fraction * self.num_samples

    def valid_mask(self) -> np.ndarray:
        """Boolean array, True where a sample is valid (not dropped, cropped or blank)."""
        mask = np.ones(self.num_samples, dtype=bool)
        for a, b in self.cropped:
            mask[a:b + 1] = False
        for seq in (self.dropped, self.blank):
            idx = np.asarray(seq, dtype=np.int64)
            mask[idx[(idx >= 0) & (idx < self.num_samples)]] = False
        return mask

    @property
    def num_valid(self) -> int:
        return int(np.count_nonzero(self.valid_mask()))

    def offsets(self) -> np.ndarray:
        """Seconds from the start to each sample (float64, ``i × period``)."""
        return np.arange(self.num_samples, dtype=np.float64) * self.period.num / self.period.den

    def timestamps(self) -> np.ndarray:
        """Seconds since the Unix epoch (UTC) of each sample's start (float64)."""
        return self.start.seconds + self.offsets()

    def record_indices(self) -> np.ndarray:
        """For each sample, the index of its stored record (isxcore's counting, §4.3).

        Entries of ``dropped`` and ``blank`` are counted with multiplicity, exactly as
        isxcore does.  Values for invalid samples are meaningless (-1).
        """
        n = self.num_samples
        idx = np.arange(n, dtype=np.int64)
        rec = idx.copy()
        for seq in (self.dropped, self.blank):
            arr = np.sort(np.asarray(seq, dtype=np.int64))
            rec -= np.searchsorted(arr, idx, side="left")
        if self.cropped:
            firsts = np.array([a for a, _ in self.cropped], dtype=np.int64)
            sizes = np.array([b - a + 1 for a, b in self.cropped], dtype=np.int64)
            order = np.argsort(firsts, kind="stable")
            cum = np.concatenate([[0], np.cumsum(sizes[order])])
            rec -= cum[np.searchsorted(firsts[order], idx, side="right")]
        rec[~self.valid_mask()] = -1
        return rec

    # -------------------------------------------------------------------- JSON
    def to_json(self) -> dict[str, Any]:
        return {
            "blank": list(self.blank),
            "cropped": [f"{a}" if a == b else f"{a} - {b}" for a, b in self.cropped],
            "dropped": list(self.dropped),
            "numTimes": self.num_samples,
            "period": self.period.to_json(),
            "start": self.start.to_json(),
        }

    @classmethod
    def from_json(cls, f: Fields, name: str = "timingInfo", *, normalize: bool = True
                  ) -> TimingInfo:
        sub = f.sub(name)
        n = sub.integer("numTimes", lo=0, hi=MAX_SAMPLES)
        period = Ratio.from_json(sub, "period")
        if period.num <= 0 or period.den <= 0:
            raise sub.error("sample period must be positive", key=sub.key("period"),
                            expected="num > 0 and den > 0", found=f"{period.num}/{period.den}")
        start = Time.from_json(sub, "start")
        dropped = tuple(sub.int_array("dropped", [], lo=0, hi=MAX_SAMPLES))
        blank = tuple(sub.int_array("blank", [], lo=0, hi=MAX_SAMPLES))
        crops = []
        for i, text in enumerate(sub.str_array("cropped", [])):
            m = _CROP_RE.match(text)
            key = f"{sub.key('cropped')}[{i}]"
            if not m:
                raise sub.error("malformed cropped range", key=key,
                                expected="'first - last' or 'index'", found=repr(text))
            a = int(m.group(1))
            b = int(m.group(2)) if m.group(2) is not None else a
            if b < a or b > MAX_SAMPLES:
                raise sub.error("invalid cropped range", key=key,
                                expected="first <= last", found=repr(text))
            crops.append((a, b))
        timing = cls(n, period, start, dropped, tuple(crops), blank)
        return timing.normalized() if normalize else timing


@dataclass(frozen=True)
class SpacingInfo:
    """Pixel grid of images/frames (``spacingInfo``). Sizes in microns."""

    num_rows: int
    num_cols: int
    pixel_size: tuple[Ratio, Ratio] = (Ratio(3, 1), Ratio(3, 1))  #: (x = width, y = height)
    top_left: tuple[Ratio, Ratio] = (Ratio(0, 1), Ratio(0, 1))  #: (x, y)

    @property
    def shape(self) -> tuple[int, int]:
        """numpy shape ``(rows, cols)``."""
        return (self.num_rows, self.num_cols)

    @property
    def num_pixels(self) -> int:
        return self.num_rows * self.num_cols

    def to_json(self) -> dict[str, Any]:
        return {
            "numPixels": {"x": self.num_cols, "y": self.num_rows},
            "pixelSize": {"x": self.pixel_size[0].to_json(), "y": self.pixel_size[1].to_json()},
            "topLeft": {"x": self.top_left[0].to_json(), "y": self.top_left[1].to_json()},
        }

    @classmethod
    def from_json(cls, f: Fields, name: str = "spacingInfo") -> SpacingInfo:
        sub = f.sub(name)
        npx = sub.sub("numPixels")
        cols = npx.integer("x", lo=0, hi=2**20)
        rows = npx.integer("y", lo=0, hi=2**20)
        size = sub.sub("pixelSize", {"x": {"num": 3, "den": 1}, "y": {"num": 3, "den": 1}})
        top = sub.sub("topLeft", {"x": {"num": 0, "den": 1}, "y": {"num": 0, "den": 1}})
        return cls(rows, cols, (Ratio.from_json(size, "x"), Ratio.from_json(size, "y")),
                   (Ratio.from_json(top, "x"), Ratio.from_json(top, "y")))
