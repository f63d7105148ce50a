"""Packets of event-based files: layout, times as isx reports them, per-channel grouping.

Spec ``isxd.md`` §7.  isx adds each stored offset to the file's start in exact
rational arithmetic, then converts the difference to microseconds through a double,
truncating; within a channel it sorts packets by time and keeps the last of packets
with equal times.  Both the V2 (packet array) and the V1 (legacy channel blocks)
layouts use this.
"""

from __future__ import annotations

import math

import numpy as np

from .common import Time

__all__ = ["DENSE", "PACKET_DTYPE", "SPARSE", "collapse_channels", "collapse_order",
           "exact_scaled", "isx_microseconds", "split_channels", "to_isx_us"]

#: V2 packet (spec §7.1): 20 bytes, packed, little-endian.  GPIO and IMU acquisition
#: files are converted to such packets too.
PACKET_DTYPE = np.dtype([("offset", "<u8"), ("signal", "<u8"), ("value", "<f4")])
#: ``signalTypes`` values.
SPARSE, DENSE = 0, 1


def exact_scaled(a: np.ndarray, scale: int, shift: int) -> np.ndarray:
    """``a * scale - shift`` exactly: int64 when it fits, else Python ints (object)."""
    a = np.asarray(a)
    if a.size == 0:
        return np.zeros(0, np.int64)
    lo, hi = int(a.min()), int(a.max())
    bounds = (lo * scale - shift, hi * scale - shift, lo, hi)
    if all(-(2**63) <= v < 2**63 for v in bounds):
        return a.astype(np.int64) * np.int64(scale) - np.int64(shift)
    return a.astype(object) * scale - shift


def to_isx_us(num: np.ndarray, den: int) -> np.ndarray:
    """isx's ``Duration(num/den).toMicroseconds()``: trunc(double(num)/double(den) * 1e6)."""
    secs = num.astype(np.float64) / float(den)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.trunc(secs * 1e6).astype(np.int64)


def isx_microseconds(us: np.ndarray, start: Time | None = None) -> np.ndarray:
    """Stored V2 offsets (µs, int64) as isx returns them, relative to ``start``.

    isx adds each offset to the start time in exact rational arithmetic (common
    denominator ``L = lcm(start den, 10**6)``), subtracts the start again and converts
    the difference to double seconds, then to whole µs, truncating.  About 2 % of
    offsets come back 1 µs below the stored value.
    """
    den = math.lcm(start.secs_since_epoch.den, 10**6) if start is not None else 10**6
    return to_isx_us(exact_scaled(us, den // 10**6, 0), den)


def collapse_order(signal: np.ndarray, key: np.ndarray, num_channels: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Packets to keep (sorted by channel then ``key``, last of equal keys) and bounds."""
    sig = np.asarray(signal, dtype=np.uint64)
    order = np.lexsort((key, sig))  # stable: equal keys keep file order
    s_sig, s_key = sig[order], key[order]
    last = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        last[:-1] = (s_sig[1:] != s_sig[:-1]) | (s_key[1:] != s_key[:-1])
    bounds = np.searchsorted(s_sig[last], np.arange(num_channels + 1, dtype=np.uint64))
    return order[last], bounds


def split_channels(offsets: np.ndarray, values: np.ndarray, bounds: np.ndarray
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per channel ``(offsets as uint64, values)`` copies, cut at ``bounds``."""
    off = offsets.view(np.uint64)
    return [(off[bounds[i]:bounds[i + 1]].copy(), values[bounds[i]:bounds[i + 1]].copy())
            for i in range(len(bounds) - 1)]


def collapse_channels(signal: np.ndarray, offset: np.ndarray, value: np.ndarray,
                      num_channels: int, *, start: Time | None = None,
                      stored_offsets: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """Group V2 packets per channel as isx does, in one vectorised pass.

    Within a channel, packets are sorted by time (``offset`` read as a signed 64-bit
    count of µs, as isxcore does) and packets sharing a time collapse to the last
    one in file order.  Offsets are converted as isx does for a file whose global
    start is ``start`` (:func:`isx_microseconds`) unless ``stored_offsets`` is true.

    Returns
    -------
    list of (offsets, values)
        ``offsets`` uint64 µs since the global start, ``values`` float32, per channel.
    """
    signed = np.ascontiguousarray(offset, dtype=np.uint64).view(np.int64)
    keep, bounds = collapse_order(signal, signed, num_channels)
    out = signed[keep] if stored_offsets else isx_microseconds(signed[keep], start)
    return split_channels(out, np.asarray(value, dtype=np.float32)[keep], bounds)
