"""nVoke 1 ``.raw`` GPIO files: a resynchronising byte stream of small packets.

Spec ``other.md`` §2.2.  After a ``55 55 55 55 55 55 5D`` sync packet, each packet
starts with a type byte (1-6 digital GPIO/SYNC/TRIG, 7 analog GPIO4 with ten
samples, 8-10 LED powers) and ends with a big-endian timestamp.  Unknown bytes are
skipped one at a time, as isx does.  :func:`read_nvoke1` returns the converted packets.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..errors import IsxFormatError, IsxFormatWarning
from ._isxratio import time_plus
from .common import Ratio, Time
from .events_packets import DENSE, PACKET_DTYPE, SPARSE
from .gpiodata import US, report_problems

__all__ = ["RAW_NAMES", "read_nvoke1"]

RAW_SYNC = b"\x55" * 6 + b"\x5d"
RAW_NAMES = {1: "GPIO1", 2: "GPIO2", 3: "GPIO3", 4: "GPIO4", 5: "SYNC", 6: "TRIG",
             7: "GPIO4_AI", 8: "EX_LED", 9: "OG_LED", 10: "DI_LED"}
RAW_ANALOG, RAW_SYNC_TYPE = 7, 0x55
_RAW_LENGTH = [0] * 256
for _t in range(1, 7):
    _RAW_LENGTH[_t] = 11
_RAW_LENGTH[RAW_ANALOG] = 32
for _t in (8, 9, 10):
    _RAW_LENGTH[_t] = 13


def _walk_raw(data: bytes, path: str) -> tuple[list[int], list[tuple[int, str]], int | None]:
    """Packet start offsets of an nVoke ``.raw`` stream (spec §2.2).

    The resynchronising byte walk is sequential by nature; it only collects packet
    starts (one step per packet) and all decoding is vectorised afterwards.
    """
    if data[:4] == b"\xfe\xff\xff\xff":
        raise IsxFormatError(path, "this looks like an nVista raw recording file, not an "
                             "nVoke GPIO file", offset=0, found="FE FF FF FF")
    p = data.find(RAW_SYNC)
    if p < 0:
        raise IsxFormatError(path, "Failed to find the beginning of the data stream "
                             "(no 55 55 55 55 55 55 5D sync packet)", offset=0)
    p += len(RAW_SYNC)
    n, length, starts = len(data), _RAW_LENGTH, []
    skipped, first_skip, torn = 0, -1, None
    while n - p >= 3:
        t = data[p]
        size = length[t]
        if size:
            if n - p < size:
                torn = p
                break
            starts.append(p)
            p += size
        elif t == RAW_SYNC_TYPE:
            p += len(RAW_SYNC)
        else:
            if not skipped:
                first_skip = p
            skipped += 1
            p += 1
    problems = [(first_skip, f"{skipped} byte(s) of unknown packet types skipped")] \
        if skipped else []
    return starts, problems, torn


def _raw_times(b: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """µs since the epoch: big-endian u32 seconds + 20-bit big-endian µs at ``ts``."""
    secs = ((b[ts].astype(np.uint64) << np.uint64(24)) | (b[ts + 1].astype(np.uint64) << 16)
            | (b[ts + 2].astype(np.uint64) << 8) | b[ts + 3])
    usec = ((b[ts + 4].astype(np.uint64) & 0x0F) << 16) | (b[ts + 5].astype(np.uint64) << 8) \
        | b[ts + 6]
    return secs * np.uint64(US) + usec


def _raw_values(b: np.ndarray, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per packet: 1 value (GPIO, LED) or 10 analog values, as float32 ``(n, 10)``."""
    out = np.zeros((len(s), 10), np.float32)
    gpio = t <= 6
    out[gpio, 0] = (b[s[gpio] + 3] & 0x80) > 0
    led = t >= 8
    power = (b[s[led] + 3].astype(np.int64) << 1) + ((b[s[led] + 4] & 0x10) >> 4)
    state = b[s[led] + 4] & 0x03
    out[led, 0] = np.where((state == 1) | (state == 3), power / 10.0, 0.0)
    ana = np.flatnonzero(t == RAW_ANALOG)
    max_power = (b[s[ana] + 3] & 0x80) | (b[s[ana] + 4] & 0x7F)
    i = np.arange(10)
    samples = (b[s[ana, None] + 5 + 2 * i].astype(np.int64) << 8) | b[s[ana, None] + 6 + 2 * i]
    out[ana] = samples / 655360.0 * max_power[:, None].astype(np.float64)
    return out


def read_nvoke1(path: str, strict: bool, data: bytes | None = None) -> dict[str, Any]:
    """The :class:`~isxio.formats.gpiodata.GpioData` arguments of an nVoke 1 ``.raw`` file
    (``data``: its bytes when already read, e.g. from a URL)."""
    if data is None:
        with open(path, "rb") as fh:  # whole file: nVoke 1 GPIO files are small
            data = fh.read()
    starts, problems, torn = _walk_raw(data, path)
    report_problems(problems, torn, len(data), path, strict)
    b = np.frombuffer(data, np.uint8)
    s = np.asarray(starts, dtype=np.int64)
    t = b[s].astype(np.int64) if len(s) else np.zeros(0, np.int64)
    lengths = np.asarray(_RAW_LENGTH, np.int64)[t]
    times = _raw_times(b, s + lengths - 7)
    start_us = int(times[0]) if len(times) else 0
    counts = np.where(t == RAW_ANALOG, 10, 1)
    pkt = np.repeat(np.arange(len(s)), counts)
    sub = np.arange(len(pkt)) - np.repeat(np.cumsum(counts) - counts, counts)
    values = _raw_values(b, s, t)[pkt, sub]
    abs_us = times[pkt] + sub.astype(np.uint64) * np.uint64(1000)
    end_us = int(abs_us[-1]) if len(s) > 1 or (len(s) and t[0] == RAW_ANALOG) else start_us
    kinds, first_seen = np.unique(t, return_index=True)
    channel_kinds = [int(k) for k in kinds[np.argsort(first_seen)]]
    lut = np.zeros(256, np.uint64)
    lut[channel_kinds] = np.arange(len(channel_kinds), dtype=np.uint64)
    early = abs_us < np.uint64(start_us)
    if early.any():
        warnings.warn(f"{path}: {int(early.sum())} sample(s) time-stamped before the first "
                      "packet skipped", IsxFormatWarning, stacklevel=3)
    packets = np.zeros(int((~early).sum()), PACKET_DTYPE)
    packets["offset"] = abs_us[~early] - np.uint64(start_us)
    packets["signal"] = lut[t[pkt][~early]]
    packets["value"] = values[~early]
    ramps = t >= 8
    ramp_kinds = set(t[ramps][(b[s[ramps] + 4] & 0x02) > 0].tolist())
    types = [DENSE if k == RAW_ANALOG or k in ramp_kinds else SPARSE for k in channel_kinds]
    start = Time(Ratio(start_us, US), 0)
    n_times = math.ceil(((end_us - start_us + 1) / 1e6) / (1 / 1000))
    return dict(kind="nvoke", channel_names=[RAW_NAMES[k] for k in channel_kinds],
                signal_types=types, channel_steps=[Ratio(1, 1000)] * len(channel_kinds),
                packets=packets, start=start, end=time_plus(start, (n_times, 1000)),
                extra_properties=None, file_format=None)
