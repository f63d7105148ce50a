"""Legacy (V1) event-based ``.isxd`` files: channel blocks of JSON header + packets.

Spec ``isxd.md`` §7.3.  V1 files (``fileType`` 0 or absent; GPIO or event sets
only) hold one block per channel: a JSON header, a NUL and 16-byte packets
``(absolute µs since the Unix epoch: u8, float32 bits whose sign bit is the logical
state: u4, reserved: u4)``.  The trailer lists the byte offset of each channel's
header and a ``timing info``.  isx reads this layout but cannot write it;
:func:`write_v1_events_file` builds it for test fixtures and old-data conversion.
:class:`~isxio.formats.events.EventsFile` reads both layouts through this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO

import numpy as np

from .._io import FileSource, as_source
from ..errors import IsxFormatError, IsxWriteError
from . import _json
from ._fields import Fields
from .common import Ratio, Time, TimingInfo
from .container import ISX_PRODUCER, AtomicFile, encode_trailer
from .events_packets import DENSE, SPARSE, exact_scaled, to_isx_us

__all__ = ["V1_PACKET_DTYPE", "V1_TYPES", "V1Block", "decode_v1_values", "parse_v1_trailer",
           "read_v1_blocks", "v1_channel", "v1_offsets", "write_v1_events_file"]

#: V1 packet (spec §7.3): absolute µs time, float32 bits (sign = state), reserved.
V1_PACKET_DTYPE = np.dtype([("time", "<u8"), ("bits", "<u4"), ("reserved", "<u4")])
#: ``type`` codes a V1 file may have (GPIO, event set), and by kind name.
V1_TYPES = (3, 5)
V1_KIND_TYPES = {"gpio": 3, "events": 5}
_SIGN = np.uint32(0x80000000)
_MAX_HEADER = 1 << 20  # sanity bound on a V1 channel header's JSON text


# ---------------------------------------------------------------------- trailer
def parse_v1_trailer(f: Fields, data_size: int) -> dict[str, Any]:
    """The :class:`~isxio.formats.events.EventsHeader` fields of a V1 trailer.

    Per-channel steps and types come from the timing (one step per channel, sparse
    unless the file is analog); the global end is the start plus the duration.
    """
    version = f.integer("fileVersion", lo=0, hi=2**32)
    timing = TimingInfo.from_json(f, "timing info")
    offsets = f.sub("channel offsets")
    # isxcore keeps channels in a std::map: sorted by the names' bytes.
    names = tuple(sorted(offsets.obj, key=lambda s: s.encode("utf-8")))
    where = tuple(offsets.integer(name, lo=-(2**31), hi=2**31 - 1) for name in names)
    for name, pos in zip(names, where, strict=True):
        if not 0 <= pos < data_size:
            raise f.error("channel header offset outside the data section",
                          key=f"channel offsets.{name}",
                          expected=f"0 <= offset < {data_size}", found=pos)
    data_type = f.integer("dataType", lo=0, hi=1)
    analog = ("GPIO4_AI" in names) if version == 0 else f.boolean("analog")
    start = timing.start
    end = Fraction(start.secs_since_epoch.fraction) + timing.duration
    n = len(names)
    producer = f.raw("producer", {})
    return dict(channel_names=names, global_start=start,
                global_end=Time(Ratio.from_fraction(end), start.utc_offset),
                signal_steps=(timing.period,) * n,
                signal_types=(DENSE if analog else SPARSE,) * n,
                file_version=version, file_type=0,
                producer=producer if isinstance(producer, dict) else {},
                v1_timing=timing, channel_offsets=where, analog=analog,
                data_type=data_type)


# ---------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class V1Block:
    """One channel block: where its header and packets are, and its header."""

    name: str
    header_offset: int
    data_offset: int
    count: int
    header: dict[str, Any]


def read_v1_blocks(path: str | FileSource, names: Iterable[str], offsets: tuple[int, ...],
                   data_size: int, analog: bool) -> list[V1Block]:
    """Parse every channel header (``offsets``: byte offset of each, per channel)."""
    starts = [*sorted(set(offsets)), data_size]
    source = as_source(path)
    path = source.name
    with source.open() as fh:
        return [_read_v1_block(path, fh, name, pos, starts[starts.index(pos) + 1], analog)
                for name, pos in zip(names, offsets, strict=True)]


def _read_v1_block(path: str, fh: BinaryIO, name: str, pos: int, limit: int,
                   analog: bool) -> V1Block:
    """Parse the channel header at ``pos``; its packets must end by ``limit``.

    ``limit`` is the next channel header or the end of the data section.  An
    analog channel with ``Number of Packets`` 0 runs up to ``limit`` (isx reads on
    to the end of the data section, i.e. into the next header, if there is one).
    """
    fh.seek(pos)
    raw = fh.read(min(limit - pos, _MAX_HEADER))
    end = raw.find(b"\x00")
    if end < 0:
        raise IsxFormatError(path, "channel header is not NUL-terminated before the next "
                             "block", offset=pos, key=f"channel offsets.{name}")
    try:
        obj = _json.loads(raw[:end].decode("utf-8"))
    except ValueError as exc:
        raise IsxFormatError(path, f"channel header does not parse ({exc})", offset=pos,
                             key=f"channel offsets.{name}") from None
    f = Fields(obj, path, f"channel[{name!r}]", pos)
    if f.string("channel") != name:
        raise f.error("channel header names another channel", key=f.key("channel"),
                      expected=repr(name), found=repr(f.string("channel")))
    count = f.integer("Number of Packets", lo=0)
    data = pos + end + 1
    avail = limit - data
    if count == 0 and analog:
        count, rest = divmod(avail, V1_PACKET_DTYPE.itemsize)
        if rest:
            raise IsxFormatError(path, "analog channel data is not a whole number of packets",
                                 key=f.key("Number of Packets"), offset=data,
                                 expected="a multiple of 16 bytes", found=f"{avail} bytes")
    if count * V1_PACKET_DTYPE.itemsize > avail:
        raise IsxFormatError(path, "channel packets run past the next block or the data "
                             "section", key=f.key("Number of Packets"), offset=data,
                             expected=f"<= {avail // V1_PACKET_DTYPE.itemsize} packets",
                             found=count)
    return V1Block(name, pos, data, count, obj)


def v1_channel(path: str | FileSource, block: V1Block, start: Time, analog: bool
               ) -> tuple[np.ndarray, ...]:
    """(time, exact offset, isx offset, value) of one V1 channel block, in file order."""
    source = as_source(path)
    if block.count and not source.is_local:
        pk = np.frombuffer(source.read(block.data_offset, block.count
                                       * V1_PACKET_DTYPE.itemsize), V1_PACKET_DTYPE)
    elif block.count:
        pk = np.fromfile(source.name, dtype=V1_PACKET_DTYPE, count=block.count,
                         offset=block.data_offset)
    else:
        pk = np.zeros(0, V1_PACKET_DTYPE)
    stored, rel = v1_offsets(pk["time"], start)
    return pk["time"], stored, rel, decode_v1_values(pk["bits"], analog)


# ---------------------------------------------------------------------- values
def v1_offsets(times_us: np.ndarray, start: Time) -> tuple[np.ndarray, np.ndarray]:
    """Absolute V1 µs times -> (exact µs since ``start`` truncated, isx's µs), int64.

    isx builds each time as ``times_us / 10**6`` and subtracts the start over the
    common denominator ``L = lcm(10**6, start den)``; negative results wrap when
    viewed as uint64, as in isx.
    """
    sec = start.secs_since_epoch
    den = math.lcm(10**6, abs(sec.den))
    num = exact_scaled(times_us, den // 10**6, sec.num * (den // sec.den))
    k = den // 10**6
    stored = num // k if k > 1 else num  # floor; equals truncation for offsets >= 0
    if k > 1:
        stored = stored + ((num < 0) & (num % k != 0))
    if stored.dtype == object:  # out of the int64 range (corrupt times): wrap like isx
        stored = (stored % 2**64).astype(np.uint64).view(np.int64)
    return stored.astype(np.int64), to_isx_us(num, den)


def decode_v1_values(bits: np.ndarray, analog: bool) -> np.ndarray:
    """V1 value decoding (spec §7.3): value = |float|; logical channels use the state."""
    value = (bits & ~_SIGN).view(np.float32)
    if analog:
        return value
    state = (bits >> np.uint32(31)).astype(np.float32)
    with np.errstate(invalid="ignore"):  # inf * 0 -> NaN, as in isx
        return np.where(value == 0, state, value * state).astype(np.float32)


# ---------------------------------------------------------------------- writer
def _v1_bits(values: np.ndarray, states: np.ndarray | None) -> np.ndarray:
    """float32 bit patterns: magnitude = |value|, sign bit = state (spec §7.3)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32)
    if states is None:
        return bits.copy()
    mag = bits & ~_SIGN
    return mag | np.where(np.asarray(states, dtype=bool), _SIGN, np.uint32(0))


def write_v1_events_file(path: str | os.PathLike[str], timing: TimingInfo,
                         channels: Iterable[tuple[Any, ...]], *, kind: str = "gpio",
                         analog: bool = False, file_version: int = 1,
                         data_type: int | None = None, overwrite: bool = False,
                         producer: dict[str, Any] | None = None) -> None:
    """Build a legacy (V1) GPIO / event file byte by byte (spec §7.3).

    isx cannot write this layout; this writer exists to make test fixtures and to
    convert old data.

    Parameters
    ----------
    path
        Output ``.isxd`` file.
    timing
        Stored as ``timing info`` (its start is the origin of the offsets isx reports).
    channels
        Channel blocks in file order: tuples ``(name, times_us, values)`` or
        ``(name, times_us, values, states)``, optionally followed by a dict of extra
        header fields (``mode``, ``GPIO Trigger/Follow``, ``Number of Packets`` to
        override the count).  ``times_us`` are absolute µs since the Unix epoch.
        Without ``states`` the sign of each value is the stored state bit.
    kind
        ``'gpio'`` (type 3) or ``'events'`` (type 5).
    analog, file_version, data_type
        Footer fields; ``data_type`` defaults to 0 for GPIO, 1 for events.  With
        ``file_version`` 0 no ``analog`` key is written.
    """
    if kind not in ("gpio", "events"):
        raise IsxWriteError(f"V1 files are 'gpio' or 'events', got {kind!r}")
    code = V1_KIND_TYPES[kind]
    offsets: dict[str, int] = {}
    out = AtomicFile(path, overwrite=overwrite)
    try:
        for item in channels:
            name, times, values, *rest = item
            states = rest[0] if rest and not isinstance(rest[0], dict) else None
            extra = rest[-1] if rest and isinstance(rest[-1], dict) else {}
            times = np.asarray(times, dtype=np.uint64)
            pk = np.zeros(len(times), V1_PACKET_DTYPE)
            pk["time"] = times
            pk["bits"] = _v1_bits(np.asarray(values).reshape(len(times)), states)
            head = {"GPIO Trigger/Follow": "", "Number of Packets": len(times),
                    "channel": str(name), "mode": ""}
            head.update(extra)
            offsets[str(name)] = out.tell()
            out.write(_json.dumps(head).encode("utf-8") + b"\x00")
            out.write(pk.tobytes())
        footer = {
            "channel offsets": offsets,
            "dataType": (0 if code == 3 else 1) if data_type is None else data_type,
            "fileVersion": file_version,
            "producer": dict(producer or ISX_PRODUCER),
            "timing info": timing.to_json(),
            "type": code,
        }
        if file_version != 0:
            footer["analog"] = bool(analog)
        out.write(encode_trailer(footer))
        out.commit()
    except BaseException:
        out.abort()
        raise
