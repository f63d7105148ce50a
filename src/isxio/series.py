"""Several files of one recording as one series (spec ``isxd.md`` §9.1).

:class:`MovieSeries` sorts its members by start time, checks they fit together (same
pixel type and spacing, no temporal overlap) and concatenates their frames lazily.
Like isxcore, the series index is gapless (global frame ``g`` is member ``k``'s local
frame); unlike isx, the gaps between members are reported (:attr:`MovieSeries.gaps`)
and :meth:`MovieSeries.timestamps` keeps each frame's real time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from itertools import pairwise
from typing import Any

import numpy as np

from .errors import IsxFormatError
from .formats.common import TimingInfo

__all__ = ["ConcatArray", "MovieSeries", "open_series"]


class ConcatArray:
    """Lazy concatenation along axis 0 of numpy-like arrays with equal trailing shapes."""

    def __init__(self, parts: Sequence[Any]) -> None:
        self.parts = list(parts)
        if not self.parts:
            raise ValueError("ConcatArray needs at least one part")
        tail = {tuple(p.shape[1:]) for p in self.parts}
        if len(tail) != 1:
            raise ValueError(f"parts have different trailing shapes: {sorted(tail)}")
        self._tail = tail.pop()
        self._dtype = np.dtype(self.parts[0].dtype)
        self.bounds = np.cumsum([0] + [len(p) for p in self.parts])

    @property
    def shape(self) -> tuple[int, ...]:
        return (int(self.bounds[-1]), *self._tail)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return 1 + len(self._tail)

    def __len__(self) -> int:
        return int(self.bounds[-1])

    def __getitem__(self, key: Any) -> np.ndarray:
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        if first is Ellipsis:
            return np.asarray(self[:])[key]
        n = len(self)
        if isinstance(first, int | np.integer):
            i = int(first) + (n if first < 0 else 0)
            if not 0 <= i < n:
                raise IndexError(f"index {first} is out of range for {n} samples")
            k = int(np.searchsorted(self.bounds, i, side="right") - 1)
            item = np.asarray(self.parts[k][i - int(self.bounds[k])])
            return item[rest] if rest else item
        idx = np.arange(n)[first]
        out = np.empty((len(idx), *self._tail), self._dtype)
        member = np.searchsorted(self.bounds, idx, side="right") - 1
        for k in np.unique(member):
            sel = member == k
            local = idx[sel] - self.bounds[k]
            out[sel] = self.parts[k][local]
        return out[(slice(None), *rest)] if rest else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out.astype(dtype, copy=False) if dtype is not None else out

    def to_dask(self):
        """A dask array: the members' own dask arrays concatenated."""
        import dask.array as da

        return da.concatenate([p.to_dask() if hasattr(p, "to_dask") else da.from_array(p)
                               for p in self.parts])


def _end(timing: TimingInfo) -> Fraction:
    return timing.start.secs_since_epoch.fraction + timing.duration


def _member_times(member: Any) -> np.ndarray:
    if hasattr(member, "timestamps") and callable(member.timestamps):
        try:
            return np.asarray(member.timestamps(), np.float64)
        except TypeError:
            pass
    from .planes import frame_times

    return frame_times(member)


class MovieSeries:
    """Movies (``.isxd`` or ``.isxb``) of one recording, opened together.

    Parameters
    ----------
    members
        Opened readers (``MovieFile``, ``IsxbFile``, ...), in any order.
    """

    def __init__(self, members: Sequence[Any]) -> None:
        if not members:
            raise ValueError("a series needs at least one file")
        self.members = sorted(members, key=lambda m: m.timing.start.secs_since_epoch.fraction)
        first = self.members[0]
        for prev, cur in pairwise(self.members):
            if np.dtype(cur.dtype) != np.dtype(first.dtype):
                raise IsxFormatError(cur.path, "series member has another pixel type",
                                     expected=np.dtype(first.dtype), found=np.dtype(cur.dtype))
            if cur.spacing.shape != first.spacing.shape:
                raise IsxFormatError(cur.path, "series member has other spacing information",
                                     expected=first.spacing.shape, found=cur.spacing.shape)
            if cur.timing.start.secs_since_epoch.fraction < _end(prev.timing):
                raise IsxFormatError(cur.path, "series member temporally overlaps the "
                                     f"previous one ({prev.path})",
                                     expected=f"start >= {float(_end(prev.timing)):.6f}",
                                     found=f"{float(cur.timing.start.secs_since_epoch):.6f}")

    @property
    def paths(self) -> list[str]:
        return [m.path for m in self.members]

    @property
    def spacing(self):
        return self.members[0].spacing

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.members[0].dtype)

    @property
    def data(self) -> ConcatArray:
        """All frames of all members, lazily, in time order."""
        return ConcatArray([m.data for m in self.members])

    @property
    def timing(self) -> TimingInfo:
        """isxcore's series timing: first start, first period, total samples, invalid kept."""
        first = self.members[0].timing
        dropped, offset = [], 0
        for m in self.members:
            mask = m.timing.valid_mask()
            dropped.extend(int(i) + offset for i in np.flatnonzero(~mask))
            offset += m.timing.num_samples
        return replace(first, num_samples=offset, dropped=tuple(dropped), cropped=(), blank=())

    @property
    def gaps(self) -> list[float]:
        """Seconds between the end of each member and the start of the next."""
        return [float(b.timing.start.secs_since_epoch.fraction - _end(a.timing))
                for a, b in pairwise(self.members)]

    def timestamps(self) -> np.ndarray:
        """Each frame's time (s since the Unix epoch) from its own member's timing."""
        return np.concatenate([_member_times(m) for m in self.members])

    def __len__(self) -> int:
        return sum(m.timing.num_samples for m in self.members)

    def __repr__(self) -> str:
        return f"<MovieSeries of {len(self.members)} files, {len(self)} frames>"


def open_series(paths: Sequence[str | os.PathLike[str]], **kwargs: Any) -> MovieSeries:
    """Open movie files of one recording as a :class:`MovieSeries`."""
    from .api import open as open_file

    return MovieSeries([open_file(p, **kwargs) for p in paths])
