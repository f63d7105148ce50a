"""nVista 3 / nVoke 2 ``.gpio`` files (incl. closed loop): the GPIO event stream.

Spec ``other.md`` §2.1.  A 32-byte header (start time, event offset), optional
extras (file format, session offset), then 32-bit words: packets that start with a
``0x0000AA55`` sync word, a type, a sequence number and a payload size, and last the
session JSON (:mod:`~isxio.formats.gpio_session`).  The scan finds the packets in
one vectorised pass, the decoders turn each packet type into the values isxcore
records per channel, and :func:`_record` applies isxcore's change filter and final
flush.  :func:`read_nvista3` returns the converted packets.
"""

from __future__ import annotations

import math
import struct
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import IsxFormatError, IsxFormatWarning
from ._isxratio import time_plus
from .common import Ratio, Time
from .events_packets import PACKET_DTYPE, SPARSE
from .gpio_session import CLOSED_LOOP_FORMAT, apply_session, read_session
from .gpiodata import report_problems

__all__ = ["GPIO_CHANNEL_NAMES", "read_nvista3"]

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


# ---------------------------------------------------------------- reader
def read_nvista3(path: str, strict: bool, data: bytes | None = None) -> dict[str, Any]:
    """The :class:`~isxio.formats.gpiodata.GpioData` arguments of a ``.gpio`` file
    (``data``: its bytes when already read, e.g. from a URL)."""
    buf = _read_bytes(path) if data is None else np.frombuffer(data, np.uint8)
    layout = _gpio_layout(buf, path)
    scan = _scan_packets(buf, layout, path)
    report_problems(scan.problems, scan.torn_at, len(buf), path, strict)
    closed_loop = layout.file_format == CLOSED_LOOP_FORMAT
    calls, last = _decode(scan, closed_loop)
    channels, packets, first = _record(calls, last, path)
    names = [GPIO_CHANNEL_NAMES[ch] for ch in channels]
    extra, clock = None, 1000
    if layout.session_offset > 0:
        extra, clock = apply_session(read_session(buf, layout.session_offset, path), first,
                                      names, layout.file_format, path)
    period = Ratio(1, clock)
    n_times = math.ceil(((last - first + 1) / 1e6) / (1 / clock))
    return dict(kind="gpio", channel_names=names, signal_types=[SPARSE] * len(names),
                channel_steps=[period] * len(names), packets=packets, start=layout.start,
                end=time_plus(layout.start, (n_times, clock)), extra_properties=extra,
                file_format=layout.file_format)
