"""isx-compatible core types: ``Duration``, ``Time``, ``Timing``, ``Spacing``.

Same names, constructors, properties and semantics as ``isx.core`` (isx 2.1.0), built
on isxio's exact :class:`~isxio.formats.common.Ratio` / ``TimingInfo`` /
``SpacingInfo``.  Where isx has an evident bug (``Timing.__eq__`` ignores ``cropped``)
isxio compares correctly.
"""

from __future__ import annotations

import datetime as _dt
from fractions import Fraction
from typing import Any

import numpy as np

from ..formats.common import Ratio, SpacingInfo, TimingInfo
from ..formats.common import Time as _TimeInfo

__all__ = ["Duration", "Spacing", "Time", "Timing"]


class _RatioImpl:
    """Mimics isx's ``_impl`` ratio struct (``num``, ``den``) for code that peeks at it."""

    __slots__ = ("den", "num")

    def __init__(self, num: int, den: int) -> None:
        self.num, self.den = int(num), int(den)

    def _as_float(self) -> float:
        return self.num / self.den

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RatioImpl) and self._as_float() == other._as_float()

    def __repr__(self) -> str:
        return f"IsxRatio({self.num}, {self.den})"


class Duration:
    """A duration of time, an exact ratio of seconds (``isx.Duration``)."""

    def __init__(self) -> None:
        self._ratio = Ratio(0, 1)

    # ---- isx API
    @property
    def secs_float(self) -> float:
        return float(self._ratio.num) / float(self._ratio.den)

    def to_secs(self) -> int:
        return int(self.secs_float)

    def to_msecs(self) -> int:
        return int(self.secs_float * 1e3)

    def to_usecs(self) -> int:
        return round(self.secs_float * 1e6)

    @classmethod
    def from_secs(cls, secs: float) -> Duration:
        return cls._from_num_den(int(secs), 1)

    @classmethod
    def from_msecs(cls, msecs: float) -> Duration:
        return cls._from_num_den(int(msecs), 1000)

    @classmethod
    def from_usecs(cls, usecs: float) -> Duration:
        return cls._from_num_den(int(usecs), 1_000_000)

    @classmethod
    def _from_num_den(cls, num: int, den: int) -> Duration:
        return cls.from_ratio(Ratio(int(num), int(den)))

    @classmethod
    def _from_secs_float(cls, flt: float, max_denominator: int = 1_000_000_000) -> Duration:
        frac = Fraction(flt).limit_denominator(max_denominator)
        return cls._from_num_den(frac.numerator, frac.denominator)

    # ---- isxio additions
    @classmethod
    def from_ratio(cls, ratio: Ratio) -> Duration:
        self = cls()
        self._ratio = ratio
        return self

    @property
    def ratio(self) -> Ratio:
        """The exact, unreduced ratio of seconds."""
        return self._ratio

    @property
    def _impl(self) -> _RatioImpl:
        return _RatioImpl(self._ratio.num, self._ratio.den)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Duration):
            return NotImplemented
        return self.secs_float == other.secs_float

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"{self.secs_float}s"

    def __repr__(self) -> str:
        return f"Duration({self._ratio.num}/{self._ratio.den} s)"


class Time:
    """A time stamp: seconds since the Unix epoch (UTC) and a UTC offset (``isx.Time``)."""

    def __init__(self) -> None:
        self._info = _TimeInfo()

    def to_datetime(self) -> _dt.datetime:
        """The nearest naive datetime of the local wall time (UTC + offset), like isx."""
        secs = self._to_secs_since_epoch().secs_float + float(self._info.utc_offset)
        return _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=secs)

    def _to_secs_since_epoch(self) -> Duration:
        return Duration.from_ratio(self._info.secs_since_epoch)

    @classmethod
    def _from_secs_since_epoch(cls, secs_since_epoch: Duration, utc_offset: int = 0) -> Time:
        return cls.from_info(_TimeInfo(secs_since_epoch.ratio, int(utc_offset)))

    @classmethod
    def from_info(cls, info: _TimeInfo) -> Time:
        self = cls()
        self._info = info
        return self

    @property
    def info(self) -> _TimeInfo:
        """The underlying :class:`isxio.formats.common.Time`."""
        return self._info

    @property
    def utc_offset(self) -> int:
        return self._info.utc_offset

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Time):
            return NotImplemented
        return (float(self._info.secs_since_epoch) == float(other._info.secs_since_epoch)
                and self._info.utc_offset == other._info.utc_offset)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return str(self.to_datetime())


def _as_1d(values: Any, name: str) -> list[int]:
    arr = np.asarray(values if values is not None else [], dtype=np.int64).reshape(-1)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} indices must be non-negative")
    return [int(x) for x in arr]


def _as_nx2(values: Any) -> list[tuple[int, int]]:
    arr = np.asarray(values if values is not None else [], dtype=np.int64)
    if arr.size == 0:
        return []
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError("cropped must be an Nx2 array-like of (first, last) index ranges")
    return [(int(a), int(b)) for a, b in arr]


class Timing:
    """The timing of a sampled series (``isx.Timing``).

    Parameters
    ----------
    num_samples
        Number of samples, including invalid (dropped, cropped, blank) ones.
    period
        Sample period (:class:`Duration`), default 50 ms.
    start
        Start time (:class:`Time`), default the epoch.
    dropped, cropped, blank
        Invalid sample indices; ``cropped`` is a list of inclusive ``(first, last)``.
    """

    def __init__(self, num_samples: int = 0, period: Duration | None = None,
                 start: Time | None = None, dropped: Any = (), cropped: Any = (),
                 blank: Any = ()) -> None:
        period = Duration.from_msecs(50) if period is None else period
        start = Time() if start is None else start
        if num_samples < 0:
            raise ValueError("num_samples must be non-negative")
        if not isinstance(period, Duration):
            raise TypeError("period must be an isx.Duration object")
        if not isinstance(start, Time):
            raise ValueError("start_time must be an isx.Time object")
        self._info = TimingInfo(int(num_samples), period.ratio, start.info,
                                tuple(_as_1d(dropped, "dropped")), tuple(_as_nx2(cropped)),
                                tuple(_as_1d(blank, "blank")))

    @classmethod
    def from_info(cls, info: TimingInfo) -> Timing:
        self = cls.__new__(cls)
        self._info = info
        return self

    @property
    def info(self) -> TimingInfo:
        """The underlying :class:`isxio.formats.common.TimingInfo`."""
        return self._info

    @property
    def start(self) -> Time:
        return Time.from_info(self._info.start)

    @property
    def period(self) -> Duration:
        return Duration.from_ratio(self._info.period)

    @property
    def num_samples(self) -> int:
        return self._info.num_samples

    @property
    def dropped(self) -> list[int]:
        return list(self._info.dropped)

    @property
    def cropped(self) -> list[tuple[int, int]]:
        return list(self._info.cropped)

    @property
    def blank(self) -> list[int]:
        return list(self._info.blank)

    def get_offsets_since_start(self) -> list[Duration]:
        """The offset of each sample from the start (``i × period``), exactly."""
        num, den = self._info.period.num, self._info.period.den
        return [Duration._from_num_den(i * num, den) for i in range(self.num_samples)]

    def get_valid_samples_mask(self) -> np.ndarray:
        """Boolean array, True where a sample is valid."""
        return self._info.valid_mask()

    def get_valid_samples(self) -> np.ndarray:
        """Indices of the valid samples."""
        return np.flatnonzero(self.get_valid_samples_mask())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timing):
            return NotImplemented
        return (self.start == other.start and self.period == other.period
                and self.num_samples == other.num_samples and self.dropped == other.dropped
                and self.cropped == other.cropped and self.blank == other.blank)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return (f"Timing(num_samples={self.num_samples}, period={self.period}, "
                f"start={self.start}, dropped={self.dropped}, cropped={self.cropped}, "
                f"blank={self.blank})")

    __repr__ = __str__


class Spacing:
    """The pixel grid of images and frames (``isx.Spacing``).

    Parameters
    ----------
    num_pixels
        ``(num_rows, num_cols)``; pixel size defaults to 3 µm, top-left to 0.
    """

    def __init__(self, num_pixels: Any = (0, 0)) -> None:
        if len(num_pixels) != 2:
            raise ValueError("num_pixels must be specified as a two element list/tuple/array "
                             "(num_rows, num_cols)")
        self._info = SpacingInfo(int(num_pixels[0]), int(num_pixels[1]))

    @classmethod
    def from_info(cls, info: SpacingInfo) -> Spacing:
        self = cls.__new__(cls)
        self._info = info
        return self

    @property
    def info(self) -> SpacingInfo:
        """The underlying :class:`isxio.formats.common.SpacingInfo`."""
        return self._info

    @property
    def num_pixels(self) -> tuple[int, int]:
        return (self._info.num_rows, self._info.num_cols)

    @property
    def _pixel_coordinates(self) -> np.ndarray:
        width, height = (float(r) for r in self._info.pixel_size)
        left = float(self._info.top_left[0]) / width
        top = float(self._info.top_left[1]) / height
        return np.array([round(left), round(top), self._info.num_cols,
                         self._info.num_rows]).astype(int)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spacing):
            return NotImplemented
        return self._info == other._info

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"Spacing(num_pixels={self.num_pixels})"

    __repr__ = __str__
