"""GPIO acquisition files: nVista 3 / nVoke 2 ``.gpio``, nVoke 1 ``.raw``, nVista 2 ``.hdf5``.

Spec ``other.md`` §2.  Inscopix software never reads these files directly: it
*converts* them into an event-based ``.isxd`` (channel index, µs offset, float32
value per packet) and reads that.  :class:`GpioFile` performs the same conversion
in memory, vectorised, and presents the result the way ``isx.GpioSet`` does:
the same channel names and order, the same values, the same timing.

Offsets and the ``exact`` option
--------------------------------
isx returns each sample's offset after a round trip through doubles
(``int((o / 1e6) * 1e6)``), so about 2 % of offsets come back 1 µs low
(251 µs -> 250 µs), while isx's own CSV export prints the exact value.
``channel_data`` reproduces isx by default (``exact=False``): isxio is a drop-in
replacement, and code ported from isx must see the numbers it saw before.  Pass
``exact=True`` (to the constructor or per call) to get the offsets as stored in the
converted event file, i.e. the true TSC differences for ``.gpio`` files.  Value
conversions that are part of the acquisition format itself (16-count floor of BNC
analog inputs, LED powers in float32 mW, IMU g units) are always applied, as isx
does; the raw counts are not recoverable from isx either.

Damaged files
-------------
isx skips unknown event types, packets whose size does not match their type and
stray words between packets.  isxio does the same and reports them with one
:class:`~isxio.errors.IsxFormatWarning` naming the file and the first byte offset;
``strict=True`` raises :class:`~isxio.errors.IsxFormatError` instead.  A packet cut
short by the end of the file (a torn acquisition) is dropped with a warning; every
complete packet before it is kept.
"""

from __future__ import annotations

import json
import math
import os
import struct
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .._optional import require
from ..errors import IsxFormatError, IsxFormatWarning
from .common import Ratio, Time, TimingInfo

__all__ = [
    "CLOSED_LOOP_FORMAT",
    "GPIO_CHANNEL_NAMES",
    "PACKET_DTYPE",
    "GpioData",
    "GpioFile",
    "read_gpio",
]

#: One packet of the converted event file (``isxd.md`` §7.1), in write order.
PACKET_DTYPE = np.dtype([("offset", "<u8"), ("signal", "<u8"), ("value", "<f4")])
SPARSE, DENSE = 0, 1
CLOSED_LOOP_FORMAT = 240
SYNC_WORD = 0x0000AA55
EVENT_SIGNATURE = 0x40
HEADER = struct.Struct("<QQiIQ")  # AdpDumpHeader, 32 bytes
EXTRAS = struct.Struct("<QQ")  # fileFormat, sessionDataOffset

#: Channel names by isxcore's channel enum (the order of the final flush).
GPIO_CHANNEL_NAMES: tuple[str, ...] = (
    "Frame Count",
    *(f"Digital GPI {i}" for i in range(8)),
    *(f"Digital GPO {i}" for i in range(8)),
    *(f"GPIO-{i}" for i in range(1, 5)),
    "EX-LED", "OG-LED", "DI-LED", "e-focus", "BNC Trigger Input", "BNC Sync Output",
)
CH_FC, CH_GPI, CH_GPO, CH_BNC = 0, 1, 9, 17
CH_EX, CH_OG, CH_DI, CH_EFOCUS, CH_TRIG, CH_SYNC = 21, 22, 23, 24, 25, 26

# Event packet types and their payload sizes in 32-bit words (spec §2.1.2).
CAPTURE_ALL, CAPTURE_GPIO, DIGITAL_GPIO = 0x4001, 0x4002, 0x4007
FRAME_COUNT, BNC_TRIG, BNC_SYNC, WAVEFORM = 0x400B, 0x400C, 0x400D, 0x400E
PAYLOAD_WORDS = {CAPTURE_ALL: 9, CAPTURE_GPIO: 6, 0x4003: 4, 0x4004: 4, 0x4005: 4, 0x4006: 4,
                 DIGITAL_GPIO: 4, 0x4008: 4, 0x4009: 4, 0x400A: 4, FRAME_COUNT: 3,
                 BNC_TRIG: 4, BNC_SYNC: 4, WAVEFORM: 2}
LED_CHANNEL = {0x4008: CH_EX, 0x4009: CH_OG, 0x400A: CH_DI}
_EXPECTED = np.full(16, -1, np.int64)
for _t, _w in PAYLOAD_WORDS.items():
    _EXPECTED[_t & 0xF] = _w

SLOT_PAYLOAD = 32  # order-key slot of a packet's own samples (gap NaNs use 0..25)
ORDER_STRIDE = 64
US = 1_000_000


# ---------------------------------------------------------------- isxcore Ratio
# isxcore keeps times as unreduced 128-bit ratios and converts them to doubles;
# reproducing its sample counts needs the same arithmetic (spec §0.4).
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


# ---------------------------------------------------------------- result object
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
        Default of :meth:`channel_data`'s ``exact`` (see the module docstring).
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
            them (see the module docstring).  Default: the object's ``exact``.
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

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.path!r} kind={self.kind} "
                f"channels={self.num_channels} samples={self.timing.num_samples}>")


# ---------------------------------------------------------------- .gpio layout
@dataclass(frozen=True)
class _Layout:
    start: Time
    event_offset: int
    file_format: int | None
    session_offset: int


def _read_bytes(path: str) -> np.ndarray:
    """The whole file in memory (the event stream must be scanned end to end anyway;
    no descriptor or memory map outlives the call, even when parsing fails)."""
    return np.fromfile(path, dtype=np.uint8)


def _gpio_layout(buf: np.ndarray, path: str) -> _Layout:
    size = len(buf)
    if size < 4:
        raise IsxFormatError(path, "file too small for a GPIO file", offset=0,
                             expected=">= 4 bytes", found=f"{size} bytes")
    raw = bytes(buf[:48])
    if struct.unpack_from("<I", raw)[0] == SYNC_WORD:
        return _Layout(Time(Ratio(0, 1), 0), 0, None, 0)
    if size < HEADER.size:
        raise IsxFormatError(path, "GPIO file header is cut short", offset=0,
                             expected=f"{HEADER.size} bytes", found=f"{size} bytes")
    num, den, utc, event_offset, _count = HEADER.unpack_from(raw)
    if den == 0:
        raise IsxFormatError(path, "start time has a zero denominator", offset=8,
                             expected="a non-zero secsSinceEpochDen", found=0)
    start = Time(Ratio(num, den), utc)
    if size >= 36 and struct.unpack_from("<I", raw, 32)[0] == SYNC_WORD:
        return _Layout(start, event_offset, None, 0)
    if size < HEADER.size + EXTRAS.size:
        raise IsxFormatError(path, "GPIO header extras are cut short", offset=32,
                             expected=f"{EXTRAS.size} bytes", found=f"{size - 32} bytes")
    file_format, session_offset = EXTRAS.unpack_from(raw, 32)
    return _Layout(start, event_offset, file_format, session_offset)


# ---------------------------------------------------------------- packet scan
@dataclass
class _Scan:
    words: np.ndarray  # u32 words from the event offset
    pos: np.ndarray  # word index of each accepted packet's sync word
    type: np.ndarray
    seq: np.ndarray
    size: np.ndarray
    good: np.ndarray  # known event type with the right payload size
    torn_at: int | None  # byte offset of a packet cut short by EOF
    problems: list[tuple[int, str]]


def _chain(cand: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Which sync candidates the sequential scan visits (the rest lie inside payloads).

    The scan resumes at ``nxt[i]`` after candidate ``i``; consecutive runs are
    marked at once, so the Python loop only turns at the rare skipped candidates.
    """
    n = len(cand)
    nxt_idx = np.searchsorted(cand, nxt)
    on = np.zeros(n, bool)
    breaks = np.flatnonzero(nxt_idx != np.arange(1, n + 1))
    i = 0
    while i < n:
        k = np.searchsorted(breaks, i)
        if k == len(breaks):
            on[i:] = True
            break
        j = int(breaks[k])
        on[i:j + 1] = True
        i = int(nxt_idx[j])
    return on


def _scan_packets(buf: np.ndarray, layout: _Layout, path: str) -> _Scan:
    eo = layout.event_offset
    nw = max(0, (len(buf) - eo) // 4)
    words = np.frombuffer(buf, "<u4", count=nw, offset=eo) if nw else np.zeros(0, "<u4")
    cand = np.flatnonzero(words == SYNC_WORD)
    if not len(cand):
        raise IsxFormatError(path, "Failed to find the beginning of the data stream "
                             "(no 0x0000AA55 sync word)", offset=eo)
    has_hdr = cand + 3 < nw
    hc = np.where(has_hdr, cand, 0)
    t, s, z = (words[np.minimum(hc + k, nw - 1)].astype(np.int64) for k in (1, 2, 3))
    is_event = ((t >> 8) == EVENT_SIGNATURE) & has_hdr
    known = is_event & (t >= CAPTURE_ALL) & (t <= WAVEFORM)
    good = known & (z == _EXPECTED[t & 0xF])
    nxt = np.where(good, cand + 4 + z, np.where(has_hdr, cand + 4, nw))
    on = _chain(cand, nxt)
    torn = on & (~has_hdr | (good & (cand + 4 + z > nw)))
    torn_at = int(eo + 4 * cand[torn][0]) if torn.any() else None
    keep = on & ~torn
    extent = np.where(has_hdr, cand + 4 + z, nxt)  # declared extent, for stray words
    problems = _scan_problems(words, cand, on, extent, is_event & ~known & keep,
                              known & ~good & keep, layout, t, z)
    return _Scan(words, cand[keep], t[keep], s[keep], z[keep], good[keep], torn_at, problems)


def _scan_problems(words: np.ndarray, cand: np.ndarray, on: np.ndarray, extent: np.ndarray,
                   unknown: np.ndarray, badsize: np.ndarray, layout: _Layout,
                   t: np.ndarray, z: np.ndarray) -> list[tuple[int, str]]:
    """Byte offsets and descriptions of what isx would skip (for warnings/strict mode)."""
    eo = layout.event_offset
    out: list[tuple[int, str]] = []
    for mask, what in ((unknown, "unknown event packet type"),
                       (badsize, "packet size does not match its type")):
        for i in np.flatnonzero(mask)[:1]:
            detail = (f"type 0x{int(t[i]):04x}" if what.startswith("unknown") else
                      f"type 0x{int(t[i]):04x} with {int(z[i])} payload words, expected "
                      f"{PAYLOAD_WORDS[int(t[i])]}")
            out.append((eo + 4 * int(cand[i]), f"{what} ({detail}); {int(mask.sum())} "
                        "such packet(s) skipped"))
    # words between packets that are not sync words (stray data), before the session JSON
    end = (layout.session_offset - eo) // 4 if layout.session_offset > eo else len(words)
    visited = cand[on]
    gap_start = np.concatenate([[0], extent[on]])
    gap_end = np.concatenate([visited, [min(end, len(words))]])
    stray = np.clip(gap_end - gap_start, 0, None)
    if stray.sum():
        first = int(np.flatnonzero(stray)[0])
        out.append((eo + 4 * int(gap_start[first]),
                    f"{int(stray.sum())} stray word(s) outside packets skipped"))
    return sorted(out)


# ---------------------------------------------------------------- .gpio decoding
class _Calls:
    """Every value isxcore hands to its per-channel recorder, with a scan-order key.

    Parts are kept as recipes (shared key/TSC arrays and a value function) and a
    channel's arrays are built only when it is recorded, one channel at a time, so
    memory stays at a few arrays of the packet count.
    """

    def __init__(self) -> None:
        self.parts: dict[int, list[tuple[np.ndarray, int, np.ndarray, Any]]] = {}

    def add(self, channel: int, key: np.ndarray, slot: int, tsc: np.ndarray,
            values: Any) -> None:
        """``values``: an array, a scalar, or a function returning one (evaluated later)."""
        if len(key):
            self.parts.setdefault(channel, []).append((key, slot, tsc, values))

    def channel(self, channel: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = self.parts.pop(channel)
        order = np.concatenate([k + s for k, s, _, _ in parts])
        tsc = np.concatenate([t for _, _, t, _ in parts])
        vals = np.concatenate([np.broadcast_to(np.asarray(v() if callable(v) else v,
                                                          np.float32), k.shape)
                               for k, _, _, v in parts])
        if len(parts) == 1:
            return order, tsc, vals
        srt = np.argsort(order, kind="stable")
        return order[srt], tsc[srt], vals[srt]


def _bit(values: np.ndarray, b: int) -> Any:
    return lambda: ((values >> b) & 1).astype(np.float32)


def _bnc(values: np.ndarray) -> Any:
    """16-bit ADC counts floored to a multiple of 16 (isxcore's noise suppression)."""
    return lambda: (16 * (values.astype(np.int64) // 16)).astype(np.float32)


def _led(values: np.ndarray) -> Any:
    """LED power in counts of 0.1 mW -> mW, in float32 as isxcore computes it."""
    return lambda: (values & 0xFFFF).astype(np.float32) / np.float32(10)


def _float(values: np.ndarray) -> Any:
    return lambda: values.astype(np.float32)


def _decode_all(c: _Calls, w: np.ndarray, base: np.ndarray, key: np.ndarray,
                tsc: np.ndarray, closed_loop: bool) -> None:
    gpi, gpo = w[base + 7] & 0xFFFF, w[base + 7] >> 16
    for b in range(8):
        c.add(CH_GPI + b, key, 32 + b, tsc, _bit(gpi, b))
    for b in range(4 if closed_loop else 8):
        c.add(CH_GPO + b, key, 40 + b, tsc, _bit(gpo, b))
    w8, w9, w10, w11 = (w[base + i] for i in (8, 9, 10, 11))
    for i, v in enumerate((w8 & 0xFFFF, w8 >> 16, w9 & 0xFFFF, w9 >> 16)):
        c.add(CH_BNC + i, key, 48 + i, tsc, _bnc(v))
    c.add(CH_EX, key, 52, tsc, _led(w10))
    c.add(CH_OG, key, 53, tsc, _led(w10 >> 16))
    c.add(CH_DI, key, 54, tsc, _led(w11))
    c.add(CH_EFOCUS, key, 55, tsc, _float(w11 >> 16))
    trig_sync = w[base + 12] & 0xFFFF
    c.add(CH_SYNC, key, 56, tsc, _bit(trig_sync, 0))
    c.add(CH_TRIG, key, 57, tsc, _bit(trig_sync, 1))


def _decode_capture_gpio(c: _Calls, w: np.ndarray, base: np.ndarray, key: np.ndarray,
                         tsc: np.ndarray) -> None:
    w7, w8, w9 = w[base + 7], w[base + 8], w[base + 9]
    for b in range(8):
        c.add(CH_GPI + b, key, 32 + b, tsc, _bit(w7 & 0xFFFF, b))
    c.add(CH_TRIG, key, 40, tsc, _float(w7 >> 16))  # raw, not masked
    for i, v in enumerate((w8 & 0xFFFF, w8 >> 16, w9 & 0xFFFF, w9 >> 16)):
        c.add(CH_BNC + i, key, 41 + i, tsc, _bnc(v))


def _decode_single(c: _Calls, kind: int, w: np.ndarray, base: np.ndarray, key: np.ndarray,
                   tsc: np.ndarray) -> None:
    v = w[base + 7] if kind != FRAME_COUNT else w[base + 6]
    if 0x4003 <= kind <= 0x4006:
        c.add(CH_BNC + kind - 0x4003, key, 32, tsc, _bnc(v))
    elif kind == DIGITAL_GPIO:
        for b in range(8):
            c.add(CH_GPI + b, key, 32 + b, tsc, _bit(v & 0xFFFF, b))
    elif kind in LED_CHANNEL:
        c.add(LED_CHANNEL[kind], key, 32, tsc, _led(v))
    else:
        channel = {FRAME_COUNT: CH_FC, BNC_TRIG: CH_TRIG, BNC_SYNC: CH_SYNC}[kind]
        c.add(channel, key, 32, tsc, _float(v))


def _decode(scan: _Scan, closed_loop: bool) -> tuple[_Calls, int]:
    """All recorder calls of the scan, and ``lastTimestamp`` (TSC of the last data packet)."""
    w, p = scan.words, scan.pos
    key = np.arange(len(p), dtype=np.int64) * ORDER_STRIDE
    data = scan.good & (scan.type != WAVEFORM)
    tsc = np.zeros(len(p), np.uint64)
    tsc[data] = (w[p[data] + 4].astype(np.uint64) << np.uint64(32)) | w[p[data] + 5]
    c = _Calls()
    _gap_calls(c, scan, data, tsc, key)
    for kind in np.unique(scan.type[data]):
        sel = np.flatnonzero(data & (scan.type == kind))
        args = (w, p[sel], key[sel], tsc[sel])
        if kind == CAPTURE_ALL:
            _decode_all(c, *args, closed_loop)
        elif kind == CAPTURE_GPIO:
            _decode_capture_gpio(c, *args)
        else:
            _decode_single(c, int(kind), *args)
    last = int(tsc[np.flatnonzero(data)[-1]]) if data.any() else 0
    return c, last


def _gap_calls(c: _Calls, scan: _Scan, data: np.ndarray, tsc: np.ndarray,
               key: np.ndarray) -> None:
    """NaN samples at ``lastTimestamp + 1 µs`` for every sequence gap (spec §2.1.2)."""
    event = np.flatnonzero((scan.type >> 8) == EVENT_SIGNATURE)
    seq = scan.seq[event].astype(np.uint32)
    gaps = event[1:][seq[1:] != seq[:-1] + np.uint32(1)]
    if not len(gaps):
        return
    data_idx = np.flatnonzero(data)
    j = np.searchsorted(data_idx, gaps) - 1
    last = np.where(j >= 0, tsc[data_idx[np.maximum(j, 0)]], np.uint64(0)) + np.uint64(1)
    for ch in range(CH_GPI, CH_SYNC + 1):
        c.add(ch, key[gaps], ch - CH_GPI, last, np.float32(np.nan))


def _changed(values: np.ndarray) -> np.ndarray:
    """isxcore records a value only when it differs from the channel's previous one."""
    keep = np.ones(len(values), bool)
    prev, cur = values[:-1], values[1:]
    keep[1:] = np.where(np.isnan(cur), ~np.isnan(prev), prev != cur)
    return keep


def _record(c: _Calls, last: int, path: str) -> tuple[list[int], np.ndarray, int]:
    """Apply the change filter and the final flush; return channels, packets and ``first``."""
    firsts, parts = {}, []
    flush_key = np.iinfo(np.int64).max - 64
    for ch in sorted(c.parts):
        order, tsc, values = c.channel(ch)
        firsts[ch] = (int(order[0]), int(tsc[0]))
        keep = _changed(values)
        parts.append((order[keep], tsc[keep], np.full(int(keep.sum()), ch), values[keep]))
        parts.append((np.array([flush_key + ch]), np.array([last], np.uint64),
                      np.array([ch]), values[-1:]))
    channels = sorted(firsts, key=lambda ch: firsts[ch][0])
    if not channels:
        return [], np.zeros(0, PACKET_DTYPE), 0
    first = min(firsts.values())[1]
    order = np.concatenate([p[0] for p in parts])
    srt = np.argsort(order, kind="stable")
    tsc = np.concatenate([p[1] for p in parts])[srt]
    enum = np.concatenate([p[2] for p in parts])[srt]
    values = np.concatenate([p[3] for p in parts])[srt]
    if last < first:
        raise IsxFormatError(path, "GPIO timestamps go backwards: the last event precedes "
                             "the first", expected=f"last TSC >= {first}", found=last)
    early = tsc < np.uint64(first)
    if early.any():
        warnings.warn(f"{path}: {int(early.sum())} GPIO sample(s) earlier than the first "
                      f"event (TSC {first}) skipped, as isx does", IsxFormatWarning,
                      stacklevel=4)
    index = np.zeros(CH_SYNC + 1, np.uint64)
    index[channels] = np.arange(len(channels), dtype=np.uint64)
    packets = np.zeros(int((~early).sum()), PACKET_DTYPE)
    packets["offset"] = tsc[~early] - np.uint64(first)
    packets["signal"] = index[enum[~early]]
    packets["value"] = values[~early]
    return channels, packets, first


# ---------------------------------------------------------------- session JSON
def parse_json_stream(raw: bytes) -> Any:
    """Parse one JSON value at the start of ``raw`` (leading whitespace allowed,
    trailing bytes ignored), as isxcore's stream parser does.  Raises ValueError."""
    text = raw.decode("utf-8", errors="surrogateescape")
    stripped = text.lstrip(" \t\r\n")
    value, end = json.JSONDecoder().raw_decode(stripped)
    stripped[:end].encode("utf-8")  # invalid UTF-8 inside the value -> ValueError
    return value


def _session(buf: np.ndarray, offset: int, path: str) -> Any:
    """The session JSON at ``offset`` (to EOF), or ``_BAD`` (with a warning) if unparsable."""
    try:
        if offset >= len(buf):
            raise ValueError(f"offset {offset} is past the end of the file ({len(buf)} bytes)")
        return parse_json_stream(bytes(buf[offset:]))
    except (ValueError, UnicodeError) as exc:
        warnings.warn(f"{path}: session metadata at byte offset {offset} does not parse "
                      f"({exc}); using the defaults (1 kHz clock, no channel renames) as "
                      "isx does", IsxFormatWarning, stacklevel=4)
        return _BAD


_BAD = object()


def _ad_clock(extra: dict[str, Any]) -> int:
    """The A/D clock (Hz) of the session metadata (spec §2.1.5); raises on bad values."""
    if "adMode" in extra:
        mode = extra["adMode"]
        if not isinstance(mode, str):
            raise ValueError("adMode is not a string")
        clock = extra[mode]["clock"]
    elif "ad" in extra:
        clock = extra["ad"]["clock"]
    elif "autoAd" in extra:
        clock = extra["autoAd"]["clock"]
    else:
        return 1000
    if isinstance(clock, bool) or not isinstance(clock, int | float) or int(clock) <= 0:
        raise ValueError(f"A/D clock must be a positive number, found {clock!r}")
    return int(clock)


def _apply_session(session: Any, first: int, names: list[str], file_format: int | None,
                   path: str) -> tuple[dict[str, Any] | None, int]:
    """Extra properties (session + ``firstTsc``), clock, and channel renames in place.

    Follows isxcore's order: a failure at any step keeps what earlier steps did.
    """
    if session is _BAD:
        return None, 1000
    if session is None:  # isxcore's JSON turns null into an object on assignment
        session = {}
    if not isinstance(session, dict):
        warnings.warn(f"{path}: session metadata is not a JSON object; ignored as isx does",
                      IsxFormatWarning, stacklevel=4)
        return None, 1000
    extra = dict(session)
    extra["firstTsc"] = first
    try:
        clock = _ad_clock(extra)
    except (KeyError, TypeError, ValueError) as exc:
        warnings.warn(f"{path}: bad A/D clock in the session metadata ({exc!r}); using "
                      "1 kHz and no channel renames, as isx does", IsxFormatWarning,
                      stacklevel=4)
        return extra, 1000
    if not _dual_color_renames(extra, names):
        return extra, clock
    if file_format == CLOSED_LOOP_FORMAT:
        soft = {f"Digital GPI {4 + i}": f"SoftTrig-{1 + i}" for i in range(4)}
        names[:] = [soft.get(n, n) for n in names]
    return extra, clock


def _dual_color_renames(extra: dict[str, Any], names: list[str]) -> bool:
    """EX-LED/OG-LED -> EX-LED1/EX-LED2 on dual-colour scopes; False where isxcore throws."""
    scope = extra.get("microscope")
    if scope is None:
        return True
    if not isinstance(scope, dict):
        return False
    dual = scope.get("dualColor")
    if dual is None:
        return True
    if not isinstance(dual, dict) or not isinstance(dual.get("enabled"), bool):
        return False
    if dual["enabled"]:
        renames = {"EX-LED": "EX-LED1", "OG-LED": "EX-LED2"}
        names[:] = [renames.get(n, n) for n in names]
    return True


def _report(problems: list[tuple[int, str]], torn_at: int | None, size: int, path: str,
            strict: bool) -> None:
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


# ---------------------------------------------------------------- readers
def _read_nvista3(path: str, strict: bool) -> dict[str, Any]:
    buf = _read_bytes(path)
    layout = _gpio_layout(buf, path)
    scan = _scan_packets(buf, layout, path)
    _report(scan.problems, scan.torn_at, len(buf), path, strict)
    closed_loop = layout.file_format == CLOSED_LOOP_FORMAT
    calls, last = _decode(scan, closed_loop)
    channels, packets, first = _record(calls, last, path)
    names = [GPIO_CHANNEL_NAMES[ch] for ch in channels]
    extra, clock = None, 1000
    if layout.session_offset > 0:
        extra, clock = _apply_session(_session(buf, layout.session_offset, path), first,
                                      names, layout.file_format, path)
    period = Ratio(1, clock)
    n_times = math.ceil(((last - first + 1) / 1e6) / (1 / clock))
    return dict(kind="gpio", channel_names=names, signal_types=[SPARSE] * len(names),
                channel_steps=[period] * len(names), packets=packets, start=layout.start,
                end=time_plus(layout.start, (n_times, clock)), extra_properties=extra,
                file_format=layout.file_format)


# ---------------------------------------------------------------- nVoke 1 .raw
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


def _read_nvoke(path: str, strict: bool) -> dict[str, Any]:
    with open(path, "rb") as fh:  # whole file: nVoke 1 GPIO files are small
        data = fh.read()
    starts, problems, torn = _walk_raw(data, path)
    _report(problems, torn, len(data), path, strict)
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


# ---------------------------------------------------------------- nVista 2 .hdf5
NVISTA2_NAMES = ("IO1", "IO2", "sync", "trigger")
ANC_COLUMNS = 15


def _h5_datasets(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``timeStamp``/``timestamp``, ``anc_data`` and ``anc_data_count`` of an nVista 2 file."""
    h5py = require("h5py", "hdf5", "reading nVista 2 .hdf5 GPIO files")
    try:
        with h5py.File(path, "r") as f:
            name = next((n for n in ("timeStamp", "timestamp") if n in f), None)
            ts = np.asarray(f[name][()], np.float64).ravel() if name else np.zeros(0)
            if not len(ts):
                raise IsxFormatError(path, "The file does not contain any GPIO data: no "
                                     "timestamps", key="timeStamp")
            anc = np.asarray(f["anc_data"][()], np.uint16).ravel()
            count = f["anc_data_count"]
            size = count.dtype.itemsize
            counts = np.asarray(count[()]).ravel()
    except (OSError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, IsxFormatError):
            raise
        raise IsxFormatError(path, f"not a readable nVista 2 GPIO file ({exc})") from None
    counts = counts.astype(np.int64) & 0xFF if size in (1, 4) else np.zeros(0, np.int64)
    return ts, anc, counts[:len(ts)]


def _read_nvista2(path: str, strict: bool) -> dict[str, Any]:
    """nVista 2 GPIO (spec §2.3): 4 nibble-coded DENSE channels at 1 kHz."""
    ts, anc, counts = _h5_datasets(path)
    rows = np.repeat(np.arange(len(counts)) * ANC_COLUMNS, counts)
    cols = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = rows + cols
    if len(idx) and idx.max() >= len(anc):
        raise IsxFormatError(path, "anc_data_count points past the end of anc_data",
                             key="anc_data_count", expected=f"<= {len(anc)} words",
                             found=f"word {int(idx.max())}")
    words = anc[idx].astype(np.int64)
    nibbles = ((words[:, None] >> (4 * np.arange(4))) & 0xF).ravel()  # low nibble first
    n = len(nibbles)
    packets = np.zeros(4 * n, PACKET_DTYPE)
    packets["offset"] = np.tile(np.arange(n, dtype=np.uint64) * np.uint64(1000), 4)
    packets["signal"] = np.repeat(np.arange(4, dtype=np.uint64), n)
    packets["value"] = ((nibbles[None, :] >> np.arange(4)[:, None]) & 1).ravel()
    start = Time(Ratio(int(ts[0] * 1e6), US), 0)
    step = Ratio(1000, US)
    return dict(kind="nvista2", channel_names=list(NVISTA2_NAMES), signal_types=[DENSE] * 4,
                channel_steps=[step] * 4, packets=packets, start=start,
                end=time_plus(start, (1000 * n, US)), extra_properties=None, file_format=None)


# ---------------------------------------------------------------- public
class GpioFile(GpioData):
    """A ``.gpio`` (nVista 3 / nVoke 2, incl. closed-loop), ``.raw`` (nVoke 1) or
    ``.hdf5`` (nVista 2, needs h5py) GPIO file.

    Opening parses the whole event stream (vectorised) and converts it exactly as
    isxcore does; see the module docstring for ``exact`` and ``strict``.

    Parameters
    ----------
    path
        The file; the extension selects the format (``.gpio``, ``.raw``, ``.hdf5``).
    exact
        Default for :meth:`channel_data`: False = offsets as isx returns them.
    strict
        Raise :class:`~isxio.errors.IsxFormatError` on anything isx would skip.
    """

    def __init__(self, path: str | os.PathLike[str], *, exact: bool = False,
                 strict: bool = False) -> None:
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".raw":
            parts = _read_nvoke(path, strict)
        elif ext == ".gpio":
            parts = _read_nvista3(path, strict)
        elif ext == ".hdf5":
            parts = _read_nvista2(path, strict)
        else:
            raise IsxFormatError(path, "unsupported GPIO file extension",
                                 expected="'.gpio', '.raw' or '.hdf5'", found=repr(ext))
        super().__init__(path, exact=exact, **parts)
        self.strict = strict

    def __reduce__(self):
        return (_reopen, (type(self), self.path, self.exact, self.strict))


def _reopen(cls: type, path: str, exact: bool, strict: bool) -> GpioData:
    return cls(path, exact=exact, strict=strict)


def read_gpio(path: str | os.PathLike[str], *, exact: bool = False,
              strict: bool = False) -> GpioData:
    """Read a ``.gpio``, ``.raw``, ``.hdf5`` or ``.imu`` file (dispatch on the extension)."""
    if os.fspath(path).lower().endswith(".imu"):
        from .imu import ImuFile

        return ImuFile(path, exact=exact, strict=strict)
    return GpioFile(path, exact=exact, strict=strict)
