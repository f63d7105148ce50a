"""IMU files (``.imu``, nVista 3 / nVoke 2): accelerometer, orientation, magnetometer.

Spec ``other.md`` §3.  Like GPIO files, isx converts an ``.imu`` file into an
event-based ``.isxd`` (9 DENSE channels) before reading it; :class:`ImuFile`
performs the same conversion in memory and offers the interface of
:class:`~isxio.formats.gpiodata.GpioData`.

* Timing comes from the JSON footer (``timingInfo``), not from the records'
  millisecond timestamps.  Sample offsets are computed with isxcore's unreduced
  ratio arithmetic and truncating double conversions, which is the only way to get
  isx's integers (exact rational arithmetic differs on a few samples).
* ``channel_data`` returns the accelerometer in g (raw / 16384, as isx's Python
  wrapper does), orientation in radians (raw / 2048, S4.11), magnetometer raw.
* Dropped samples read as NaN.  Where the file holds fewer records than the timing
  needs (a header count that is too small, records cut short), isx reads zeros or
  memory past its array; isxio returns NaN for those samples and warns.
* A footer that does not parse (e.g. a truncated file) makes isx's conversion fail;
  isxio raises :class:`~isxio.errors.IsxFormatError`.  A footer that parses but
  lacks usable timing gives a file without samples, with a warning, as in isx.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import as_source
from ..errors import IsxFormatError, IsxFormatWarning
from ._isxratio import r_add
from .common import Ratio, Time
from .events_packets import DENSE, PACKET_DTYPE
from .gpiodata import GpioData, parse_json_stream

__all__ = ["IMU_CHANNEL_NAMES", "IMU_HEADER", "ImuFile", "read_imu"]

IMU_CHANNEL_NAMES = ("Acc x", "Acc y", "Acc z", "Ori yaw", "Ori pitch", "Ori roll",
                     "Mag x", "Mag y", "Mag z")
#: epochNum, epochDen, utcOffset, fileFormat, reserved, then count/offset/size of
#: accelerometer, magnetometer and orientation records, sessionOffset, sessionSize.
IMU_HEADER = struct.Struct("<QQiHH" + "Q" * 11)
RECORD = np.dtype([("timestamp", "<u8"), ("xyz", "<i2", (3,)), ("reserved", "<i2")])
ACC_SCALE = 16384.0  # counts per g (applied by isx's Python wrapper)
ORI_SCALE = 2048.0  # S4.11 fixed point
US = 1_000_000
MAX_SAMPLES = 2**28  # sanity bound on numTimes (about 60 days at 50 Hz)


@dataclass
class _StreamTiming:
    step: tuple[int, int] = (0, 1)  # seconds, unreduced
    num_times: int = 0
    dropped: list[int] = field(default_factory=list)


@dataclass
class _ImuTiming:
    start: Time = field(default_factory=Time)
    end: Time = field(default_factory=Time)
    acc: _StreamTiming = field(default_factory=_StreamTiming)
    mag: _StreamTiming = field(default_factory=_StreamTiming)


def _json_ratio(obj: Any) -> tuple[int, int]:
    num, den = obj["num"], obj["den"]
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (num, den)) or den == 0:
        raise ValueError(f"bad ratio {obj!r}")
    return num, den


def _json_time(obj: Any) -> Time:
    num, den = _json_ratio(obj["secsSinceEpoch"])
    utc = obj.get("utcOffset", 0)
    if isinstance(utc, bool) or not isinstance(utc, int):
        raise ValueError(f"bad utcOffset {utc!r}")
    return Time(Ratio(num, den), utc)


def _json_stream(block: Any) -> _StreamTiming:
    ms = _json_ratio(block["periodMs"])
    dropped = block["dropped"]
    n = block["numTimes"]
    if not isinstance(dropped, list) or any(
            isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in dropped):
        raise ValueError("dropped must be a list of non-negative integers")
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 2**32:
        raise ValueError(f"bad numTimes {n!r}")
    return _StreamTiming((ms[0], ms[1] * 1000), n, sorted(dropped))


def _parse_timing(footer: Any, path: str) -> _ImuTiming:
    """Timing from the JSON footer; on failure keep what isxcore kept (and warn)."""
    out = _ImuTiming()
    try:
        ti = footer["timingInfo"]
        out.start = _json_time(ti["start"])
        out.end = _json_time(ti["end"])
        acc = _json_stream(ti["accelerometer"]) if "accelerometer" in ti else \
            _StreamTiming((20, 1000))
        mag = _json_stream(ti["magnetometer"]) if "magnetometer" in ti else \
            _StreamTiming((acc.step[0] * 20, acc.step[1]))
        out.acc, out.mag = acc, mag
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        warnings.warn(f"{path}: IMU timing in the JSON footer is unusable ({exc!r}); the "
                      "file reads with no samples, as in isx", IsxFormatWarning, stacklevel=4)
    return out


def stream_offsets(start: Time, step: tuple[int, int], n: int) -> np.ndarray:
    """Stored µs offsets of samples ``0..n-1`` (spec §3.4).

    ``toMicroseconds(start + step·j) − toMicroseconds(start)`` with isxcore's
    unreduced ratio sum and truncating double conversion.
    """
    s = start.secs_since_epoch
    base = int(float(s.num) / float(s.den) * 1e6)
    if n == 0:
        return np.zeros(0, np.uint64)
    a, d = r_add((s.num, s.den), (0, step[1]))  # the sum's fixed denominator and offset
    b = r_add((0, s.den), (step[0], step[1]))[0]  # numerator increment per sample
    j = np.arange(n, dtype=np.uint64)
    big = a < 0 or b < 0 or a + b * (n - 1) >= 2**64
    if big:  # pragma: no cover - needs absurd start ratios
        nums = np.array([float(a + b * int(k)) for k in range(n)], np.float64)
    else:
        nums = (np.uint64(a) + np.uint64(b) * j).astype(np.float64)
    out = (nums / float(d) * 1e6).astype(np.uint64) - np.uint64(base)
    out[0] = 0  # index 0 is the start itself
    return out


def _record_indices(timing: _StreamTiming) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: stored record index (isxcore's counting, duplicates included), valid."""
    j = np.arange(timing.num_times)
    dropped = np.asarray(timing.dropped, np.int64)
    return j - np.searchsorted(dropped, j, side="left"), ~np.isin(j, dropped)


def _check_needed(timing: _StreamTiming, buf: np.ndarray, name: str, path: str) -> int:
    """Records the timing needs; a need far beyond what the file can hold is an error."""
    capacity = 2 * (len(buf) // RECORD.itemsize) + 1024
    if timing.num_times > MAX_SAMPLES or timing.num_times - len(timing.dropped) > capacity:
        raise IsxFormatError(path, f"implausible {name} numTimes in the JSON footer",
                             key=f"timingInfo.{name}.numTimes",
                             expected=f"about the {len(buf) // RECORD.itemsize} records the "
                                      "file can hold", found=timing.num_times)
    rec, valid = _record_indices(timing)
    return int(rec[valid].max()) + 1 if valid.any() else 0


def _records(buf: np.ndarray, count: int, offset: int, name: str, path: str,
             needed: int) -> np.ndarray:
    """``(count, 3)`` float32 axis values of the records that are really in the file."""
    avail = max(0, (len(buf) - offset) // RECORD.itemsize) if offset <= len(buf) else 0
    n = min(count, avail)
    if n < needed:
        warnings.warn(f"{path}: {name} timing needs {needed} stored records, the header "
                      f"declares {count} at byte offset {offset} and the file holds {n}; "
                      "the missing samples read as NaN", IsxFormatWarning, stacklevel=4)
    if n == 0:
        return np.zeros((0, 3), np.float32)
    rec = np.frombuffer(buf, RECORD, count=n, offset=offset)
    return rec["xyz"].astype(np.float32)


def _stream_values(records: np.ndarray, timing: _StreamTiming, scale: float | None
                   ) -> np.ndarray:
    """``(numTimes, 3)`` values: stored records at non-dropped indices, NaN elsewhere."""
    rec, valid = _record_indices(timing)
    ok = valid & (rec < len(records))
    out = np.full((timing.num_times, 3), np.nan, np.float32)
    vals = records[rec[ok]]
    out[ok] = vals / np.float32(scale) if scale else vals
    return out


class ImuFile(GpioData):
    """An ``.imu`` file, converted as isx does (see the module docstring).

    Parameters
    ----------
    path
        The ``.imu`` file.
    exact
        Default for :meth:`channel_data`: False = offsets as isx returns them,
        True = as stored in the converted event file.
    strict
        Raise :class:`~isxio.errors.IsxFormatError` instead of warning about a
        missing/unparsable footer or missing records.
    """

    def __init__(self, path: str | os.PathLike[str], *, exact: bool = False,
                 strict: bool = False) -> None:
        self.source = source = as_source(path)
        path = source.name
        data = None if source.is_local else source.read(0, source.size)  # remote: whole file
        self.strict = strict
        if strict:
            with warnings.catch_warnings():
                warnings.simplefilter("error", IsxFormatWarning)
                try:
                    parts = self._parse(path, data)
                except IsxFormatWarning as exc:
                    raise IsxFormatError(path, str(exc).split(": ", 1)[-1]) from None
        else:
            parts = self._parse(path, data)
        super().__init__(path, exact=exact, **parts)

    @staticmethod
    def _parse(path: str, data: bytes | None = None) -> dict[str, Any]:
        size = os.path.getsize(path) if data is None else len(data)
        if size < IMU_HEADER.size:
            raise IsxFormatError(path, "file too small for an IMU header", offset=0,
                                 expected=f">= {IMU_HEADER.size} bytes", found=f"{size} bytes")
        buf = np.fromfile(path, dtype=np.uint8) if data is None \
            else np.frombuffer(data, np.uint8)  # small files; nothing stays open
        h = IMU_HEADER.unpack_from(bytes(buf[:IMU_HEADER.size]))
        acc_count, acc_off, mag_count, mag_off = h[5], h[6], h[8], h[9]
        ori_count, ori_off, session_off = h[11], h[12], h[14]
        footer = _footer(buf, session_off, path)
        timing = _parse_timing(footer, path)
        acc_needed = _check_needed(timing.acc, buf, "accelerometer", path)
        mag_needed = _check_needed(timing.mag, buf, "magnetometer", path)
        acc = _records(buf, acc_count, acc_off, "accelerometer", path, acc_needed)
        ori = _records(buf, ori_count, ori_off, "orientation", path, acc_needed)
        mag = _records(buf, mag_count, mag_off, "magnetometer", path, mag_needed)
        streams = ((acc, timing.acc, None), (ori, timing.acc, ORI_SCALE),
                   (mag, timing.mag, None))
        packets = _packets(streams, timing.start)
        steps = [Ratio(*timing.acc.step)] * 6 + [Ratio(*timing.mag.step)] * 3
        return dict(kind="imu", channel_names=list(IMU_CHANNEL_NAMES),
                    signal_types=[DENSE] * 9, channel_steps=steps, packets=packets,
                    start=timing.start, end=timing.end,
                    extra_properties=footer if isinstance(footer, dict) else None)

    def _scale(self, index: int) -> float | None:
        return ACC_SCALE if index < 3 else None

    def __reduce__(self):
        where = self.path if self.source.is_local else self.source
        return (_reopen_imu, (where, self.exact, self.strict))


def _reopen_imu(path: str, exact: bool, strict: bool) -> ImuFile:
    return ImuFile(path, exact=exact, strict=strict)


def _footer(buf: np.ndarray, offset: int, path: str) -> Any:
    """The JSON footer.  isx cannot read a file whose footer does not parse (its
    conversion fails storing it), so neither does isxio."""
    try:
        if offset >= len(buf):
            raise ValueError(f"offset {offset} is past the end of the file ({len(buf)} bytes)")
        return parse_json_stream(bytes(buf[offset:]))
    except (ValueError, UnicodeError) as exc:
        raise IsxFormatError(path, f"IMU JSON footer does not parse ({exc})",
                             offset=offset) from None


def _packets(streams: Any, start: Time) -> np.ndarray:
    """The converted file's packets: channel by channel, sample by sample."""
    parts = []
    for k, (records, timing, scale) in enumerate(streams):
        offsets = stream_offsets(start, timing.step, timing.num_times)
        values = _stream_values(records, timing, scale)
        for axis in range(3):
            p = np.zeros(timing.num_times, PACKET_DTYPE)
            p["offset"] = offsets
            p["signal"] = 3 * k + axis
            p["value"] = values[:, axis]
            parts.append(p)
    return np.concatenate(parts)


def read_imu(path: str | os.PathLike[str], *, exact: bool = False,
             strict: bool = False) -> ImuFile:
    """Read an ``.imu`` file (same as :class:`ImuFile`)."""
    return ImuFile(path, exact=exact, strict=strict)
