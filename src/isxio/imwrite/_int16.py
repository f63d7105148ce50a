"""Conversion of any pixel type to Suite2p's int16, declared and recorded, never silent.

Methods (``value ≈ (stored - offset) / scale`` in every case):

``"none"``
    uint8, int8, int16 and bool: exact.
``"clip"``
    Values rounded to the nearest integer and clipped to -32768..32767 (``scale`` 1,
    ``offset`` 0).  Exact for uint16 movies whose values stay below 32768 (Inscopix
    sensors are 12-bit); clipped values are counted and reported with a warning.
``"offset"``
    ``stored = value - 32768``: every uint16 value kept exactly, shifted.
``"scale"``
    ``stored = round((value - lo) × 65534 / (hi - lo)) - 32767`` with ``lo``/``hi`` the
    movie's minimum and maximum (one extra streaming pass) or ``int16_range``.  The
    default for float movies.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["Int16Conversion", "choose_int16"]

METHODS = ("none", "clip", "offset", "scale")
LO, HI = -32768, 32767


@dataclass
class Int16Conversion:
    """How frames become int16, and what it cost (counts of clipped values)."""

    method: str
    scale: float = 1.0
    offset: float = 0.0
    clipped_low: int = 0
    clipped_high: int = 0
    nan: int = 0

    def convert(self, block: np.ndarray) -> np.ndarray:
        """``block`` as little-endian int16 (counting what does not fit).

        Works in place on one widened copy (int32/float32 for pixels of up to 16 bits),
        so a block costs about three times its own size at most.
        """
        if self.method == "none":
            return block.astype("<i2")
        if block.dtype == np.dtype("<u2") and self.scale == 1.0:
            return self._convert_uint16(block)
        if block.dtype.kind in "biu" and self.scale == 1.0:
            wide = block.astype(np.int32 if block.dtype.itemsize <= 2 else np.int64)
            wide += int(self.offset)
        else:
            wide = block.astype(np.float64 if block.dtype.itemsize > 4 else np.float32)
            bad = ~np.isfinite(wide)
            if bad.any():
                self.nan += int(np.count_nonzero(bad))
                wide[bad] = 0
            del bad
            wide *= self.scale
            wide += self.offset
            np.rint(wide, out=wide)
        self.clipped_low += int(np.count_nonzero(wide < LO))
        self.clipped_high += int(np.count_nonzero(wide > HI))
        np.clip(wide, LO, HI, out=wide)
        return wide.astype("<i2")

    def _convert_uint16(self, block: np.ndarray) -> np.ndarray:
        """uint16 in one or two passes: ``offset`` flips the top bit (``v - 32768`` as
        int16 bits); ``clip`` is the same bits when nothing exceeds 32767."""
        if self.offset == -32768.0:
            return (block ^ np.uint16(0x8000)).view("<i2")
        if self.offset == 0.0:
            if block.size and int(block.max()) > HI:
                self.clipped_high += int(np.count_nonzero(block > HI))
                block = np.minimum(block, np.uint16(HI))
            return block.astype("<i2")
        raise AssertionError(f"no uint16 conversion with offset {self.offset}")

    def report(self, where: str) -> dict[str, Any]:
        """The record kept beside the data; warns if any value was clipped or was NaN."""
        lost = self.clipped_low + self.clipped_high
        if lost or self.nan:
            warnings.warn(f"{where}: int16 conversion '{self.method}' clipped {lost} values "
                          f"({self.clipped_low} below -32768, {self.clipped_high} above 32767)"
                          f" and set {self.nan} NaN/inf values to 0; use int16='offset' "
                          "(uint16) or int16='scale' to keep them", UserWarning, stacklevel=4)
        return {**asdict(self), "formula": "value = (stored - offset) / scale"}


def _scan_range(source: Any, chunk_mb: float) -> tuple[float, float]:
    from ._output import iter_blocks

    lo, hi = np.inf, -np.inf
    for _, blocks in iter_blocks(source, chunk_mb):
        for b in blocks:
            finite = b if b.dtype.kind != "f" else b[np.isfinite(b)]
            if finite.size:
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return (lo, hi) if lo <= hi else (0.0, 0.0)


def choose_int16(source: Any, method: str | None, chunk_mb: float,
                 value_range: tuple[float, float] | None = None) -> Int16Conversion:
    """The conversion for ``source``: ``method`` or the default for its pixel type."""
    dtype = np.dtype(source.dtype)
    exact = dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize == 1) \
        or dtype == np.int16
    if method in (None, "auto"):
        method = "none" if exact else "scale" if dtype.kind == "f" else "clip"
    if method not in METHODS:
        raise ValueError(f"int16 must be one of {METHODS} or 'auto', got {method!r}")
    if method == "none" and not exact:
        raise ValueError(f"{dtype} pixels do not fit int16 exactly: choose int16='clip', "
                         "'offset' or 'scale'")
    if method == "offset":
        return Int16Conversion("offset", 1.0, -32768.0)
    if method != "scale":
        return Int16Conversion(method)
    lo, hi = value_range if value_range is not None else _scan_range(source, chunk_mb)
    scale = (HI - (LO + 1)) / (hi - lo) if hi > lo else 1.0
    return Int16Conversion("scale", scale, -lo * scale + (LO + 1))
