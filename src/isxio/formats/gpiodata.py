"""The channels of a GPIO or IMU acquisition file, converted as isx converts them.

Spec ``other.md`` §2-3.  isx converts ``.gpio``, ``.raw``, ``.hdf5`` and ``.imu``
files into an event-based ``.isxd`` before reading them.  The readers
(:mod:`~isxio.formats.gpio`, :mod:`~isxio.formats.imu`) do the same conversion in
memory and hand the packets to :class:`GpioData`, which presents them the way
``isx.GpioSet`` does.  What the readers share lives here too: the offsets isx
reports, the JSON stream parser and the damaged-file report.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import IsxFormatError, IsxFormatWarning
from ._isxratio import isx_num_samples
from .common import Ratio, Time, TimingInfo
from .events_packets import PACKET_DTYPE

__all__ = ["PACKET_DTYPE", "GpioData", "isx_offsets", "parse_json_stream", "report_problems"]

US = 1_000_000


def isx_offsets(stored: np.ndarray, start: Time) -> np.ndarray:
    """Offsets as ``isx.GpioSet.get_channel_data`` returns them (spec §0.4, §2.1.6).

    isx adds ``offset / 1e6`` to the start ratio, subtracts the start again and
    converts to microseconds through a double, truncating.
    """
    stored = np.asarray(stored, dtype=np.uint64)
    den = start.secs_since_epoch.den
    scale = abs(den) // math.gcd(den, US) if den else 1  # lcm(den, 1e6) / 1e6
    if stored.size and int(stored.max()) * scale >= 2**53:  # pragma: no cover - huge
        return np.array([int(float(int(o) * scale) / float(US * scale) * 1e6)
                         for o in stored], dtype=np.uint64)
    return (stored.astype(np.float64) / 1e6 * 1e6).astype(np.uint64)


def parse_json_stream(raw: bytes) -> Any:
    """Parse one JSON value at the start of ``raw`` (leading whitespace allowed,
    trailing bytes ignored), as isxcore's stream parser does.  Raises ValueError."""
    text = raw.decode("utf-8", errors="surrogateescape")
    stripped = text.lstrip(" \t\r\n")
    value, end = json.JSONDecoder().raw_decode(stripped)
    stripped[:end].encode("utf-8")  # invalid UTF-8 inside the value -> ValueError
    return value


def report_problems(problems: list[tuple[int, str]], torn_at: int | None, size: int,
                    path: str, strict: bool) -> None:
    """Warn about (or, if ``strict``, raise on) the first of ``problems`` and a torn packet.

    ``problems`` are ``(byte offset, description)`` of what isx skips; ``torn_at`` is
    the offset of a packet cut short by the end of the file (``size`` bytes).
    """
    if torn_at is not None:
        problems = [*problems, (torn_at, f"packet cut short by the end of the file; its "
                                         f"{size - torn_at} byte(s) are ignored")]
    if not problems:
        return
    offset, what = problems[0]
    if strict:
        raise IsxFormatError(path, what, offset=offset)
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    warnings.warn(f"{path}: {what} at byte offset {offset}{more}", IsxFormatWarning,
                  stacklevel=4)


@dataclass(frozen=True)
class _Channel:
    offsets: np.ndarray  # stored µs offsets, sorted, duplicates collapsed (last wins)
    values: np.ndarray  # float32


class GpioData:
    """Channels of a converted GPIO/IMU acquisition, as ``isx.GpioSet`` shows them.

    Parameters
    ----------
    path
        The source file.
    kind
        ``"gpio"`` (nVista 3 / nVoke 2), ``"nvoke"`` (nVoke 1 ``.raw``), ``"nvista2"``
        (``.hdf5``) or ``"imu"``.
    channel_names, signal_types, channel_steps
        Per channel: name, 0 (SPARSE) or 1 (DENSE), sample period.
    packets
        The converted event file's packets (:data:`PACKET_DTYPE`) in write order.
    start, end
        The event file's ``global times``.
    extra_properties
        Session metadata (``.gpio``: with ``firstTsc`` added; ``.imu``: the JSON footer).
    exact
        Default of :meth:`channel_data`'s ``exact`` (see :mod:`isxio.formats.gpio`).
    """

    def __init__(self, path: str, kind: str, channel_names: list[str],
                 signal_types: list[int], channel_steps: list[Ratio], packets: np.ndarray,
                 start: Time, end: Time, extra_properties: dict[str, Any] | None = None,
                 *, exact: bool = False, file_format: int | None = None) -> None:
        self.path = os.fspath(path)
        self.kind = kind
        self.channel_names = tuple(channel_names)
        self.signal_types = tuple(signal_types)
        self.channel_steps = tuple(channel_steps)
        self.packets = packets
        self.start = start
        self.end = end
        self.extra_properties = extra_properties
        self.exact = exact
        self.file_format = file_format

    # -------------------------------------------------------------- metadata
    @property
    def num_channels(self) -> int:
        return len(self.channel_names)

    @property
    def first_tsc(self) -> int | None:
        """TSC (µs) of the first recorded event (``.gpio`` only; used for alignment)."""
        extra = self.extra_properties
        value = extra.get("firstTsc") if isinstance(extra, dict) else None
        return value if isinstance(value, int) else None

    @cached_property
    def timing(self) -> TimingInfo:
        """Timing as isx reports it: smallest non-zero channel step, ``ceil(span/step)``."""
        step = Ratio(0, 1)
        if self.channel_steps:
            step = self.channel_steps[0]
            for s in self.channel_steps:
                if s.fraction < step.fraction and s.fraction > 0:
                    step = s
        if step.num == 0:
            step = Ratio(1, 1000)
        n = isx_num_samples(self.start, self.end, step)
        return TimingInfo(num_samples=n, period=step, start=self.start)

    def channel_index(self, name: str) -> int:
        """Index of the channel called ``name``."""
        try:
            return self.channel_names.index(name)
        except ValueError:
            raise KeyError(f'Channel with name "{name}" does not exist.') from None

    # -------------------------------------------------------------- data
    @cached_property
    def _channels(self) -> list[_Channel]:
        p = self.packets
        sig = p["signal"].astype(np.int64)
        out = []
        order = np.argsort(sig, kind="stable")
        bounds = np.searchsorted(sig[order], np.arange(self.num_channels + 1))
        for i in range(self.num_channels):
            sel = order[bounds[i]:bounds[i + 1]]
            offs, vals = p["offset"][sel], p["value"][sel]
            o = np.argsort(offs, kind="stable")
            offs, vals = offs[o], vals[o]
            keep = np.ones(len(offs), bool)
            keep[:-1] = offs[1:] != offs[:-1]  # equal times: the last written wins
            out.append(_Channel(offs[keep], vals[keep]))
        return out

    def _scale(self, index: int) -> float | None:
        return None

    def channel_data(self, index: int | str, *, exact: bool | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Samples of one channel: ``(offsets_us uint64, values float32)`` sorted by time.

        Parameters
        ----------
        index
            Channel index or name.
        exact
            True: offsets as stored in the converted file; False: as isx returns
            them (see :mod:`isxio.formats.gpio`).  Default: the object's ``exact``.
        """
        i = self.channel_index(index) if isinstance(index, str) else int(index)
        if not 0 <= i < self.num_channels:
            raise IndexError(f"channel index {index} out of range 0..{self.num_channels - 1}")
        ch = self._channels[i]
        exact = self.exact if exact is None else exact
        offsets = ch.offsets.copy() if exact else isx_offsets(ch.offsets, self.start)
        values = ch.values.copy()
        scale = self._scale(i)
        if scale is not None:
            values /= np.float32(scale)
        return offsets, values

    def close(self) -> None:
        """Nothing to release: the file was read whole when opened (the reader protocol)."""

    def __enter__(self) -> GpioData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.path!r} kind={self.kind} "
                f"channels={self.num_channels} samples={self.timing.num_samples}>")
