"""isxcore's ratio arithmetic, reproduced to get its sample counts and offsets.

Spec ``other.md`` §0.4.  isxcore keeps times as unreduced 128-bit ratios
``(num, den)`` and converts them to doubles; exact rational arithmetic differs from
it on a few samples, so the GPIO and IMU converters use these functions instead.
"""

from __future__ import annotations

import math

from .common import Ratio, Time

__all__ = ["isx_num_samples", "r_add", "r_div", "r_double", "r_mul", "time_plus"]


def r_add(a: tuple[int, int], b: tuple[int, int], sign: int = 1) -> tuple[int, int]:
    """``a + b`` (or ``a - b`` with ``sign=-1``) as isxcore computes it (unreduced)."""
    if a[1] == b[1]:
        return (a[0] + sign * b[0], a[1])
    den = a[1] * (b[1] // math.gcd(a[1], b[1]))
    return (a[0] * (den // a[1]) + sign * b[0] * (den // b[1]), den)


def _simplify(r: tuple[int, int]) -> tuple[int, int]:
    g = math.gcd(r[0], r[1]) or 1
    return (r[0] // g, r[1] // g)


def r_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """``a * b`` as isxcore computes it (operands simplified unless ``b`` is whole)."""
    if b[1] == 1:
        return (a[0] * b[0], a[1])
    a, b = _simplify(a), _simplify(b)
    return (a[0] * b[0], a[1] * b[1])


def r_div(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """``a / b`` as isxcore computes it."""
    if a[1] == b[1]:
        return (a[0], b[0])
    return r_mul(a, (b[1], b[0]))


def r_double(a: tuple[int, int]) -> float:
    """isxcore ``toDouble``: each 128-bit integer rounded to a double, then divided."""
    return float(a[0]) / float(a[1])


def isx_num_samples(start: Time, end: Time, period: Ratio) -> int:
    """``ceil((end - start) / period)`` in isxcore's ratio-and-double arithmetic."""
    span = r_add((end.secs_since_epoch.num, end.secs_since_epoch.den),
                 (start.secs_since_epoch.num, start.secs_since_epoch.den), -1)
    value = r_double(r_div(span, (period.num, period.den)))
    return max(0, math.ceil(value))


def time_plus(start: Time, duration: tuple[int, int]) -> Time:
    """``start + duration`` (isxcore ratio addition; the UTC offset is kept)."""
    s = start.secs_since_epoch
    num, den = r_add((s.num, s.den), duration)
    return Time(Ratio(num, den), start.utc_offset)
