"""Event-based ``.isxd`` files: event sets (type 5), GPIO (type 3) and IMU (type 7).

Spec ``isxd.md`` §7.  Two layouts exist:

* **V2** (``fileType`` 1): the data section is a flat array of 20-byte packets
  ``(offset µs since the global start: u8, channel index: u8, value: f4)`` in write
  order; the trailer holds the channel list, the global start/end times, per-channel
  steps, signal types (0 sparse, 1 dense), packet counts and first offsets.
* **V1** (legacy; ``fileType`` 0 or absent): the data section is a series of channel
  blocks, each a JSON header, a NUL and 16-byte packets ``(absolute µs since the Unix
  epoch: u8, float32 bits whose sign bit is the logical state: u4, reserved: u4)``.

Reading reproduces what isx returns: per channel, packets sorted by time, packets with
the same time collapsed to the last one read, offsets in µs since the global start
converted through double seconds exactly as isx does (so some come back 1 µs below
the stored value; the stored offsets are available too).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import IsxFormatError, IsxFormatWarning, IsxWriteError
from . import _json
from ._fields import Fields, _describe
from .common import Ratio, Time, TimingInfo
from .container import ISX_PRODUCER, AtomicFile, Trailer, encode_trailer, read_trailer

__all__ = [
    "DENSE",
    "EVENT_METRIC_NAMES",
    "KINDS",
    "KIND_TYPES",
    "PACKET_DTYPE",
    "SPARSE",
    "V1_PACKET_DTYPE",
    "EventsFile",
    "EventsHeader",
    "EventsWriter",
    "collapse_channels",
    "event_metrics_json",
    "isx_microseconds",
    "parse_event_metrics",
    "write_v1_events_file",
]

#: V2 packet (spec §7.1): 20 bytes, packed, little-endian.
PACKET_DTYPE = np.dtype([("offset", "<u8"), ("signal", "<u8"), ("value", "<f4")])
#: V1 packet (spec §7.3): absolute µs time, float32 bits (sign = state), reserved.
V1_PACKET_DTYPE = np.dtype([("time", "<u8"), ("bits", "<u4"), ("reserved", "<u4")])
#: ``signalTypes`` values.
SPARSE, DENSE = 0, 1
#: ``type`` -> kind name, and back.
KINDS = {5: "events", 3: "gpio", 7: "imu"}
KIND_TYPES = {name: code for code, name in KINDS.items()}
V1_TYPES = (3, 5)
#: Period isx assumes when every channel step is zero.
DEFAULT_PERIOD = Ratio(1, 1000)
_SIGN = np.uint32(0x80000000)
_MAX_HEADER = 1 << 20  # sanity bound on a V1 channel header's JSON text
#: Per-channel event metrics, in the order of a ``metrics`` entry (spec §7.2).
EVENT_METRIC_NAMES = ("snr", "mad", "eventRate", "eventAmpMedian", "eventAmpSD",
                      "riseMedian", "riseSD", "decayMedian", "decaySD")


def _at(f: Fields, name: str, index: int, value: Any) -> Fields:
    """Wrap element ``index`` of array ``name`` so that messages say ``name[index]``."""
    return Fields({f"{name}[{index}]": value}, f.path, f.prefix, f.offset)


def _truncate_to_ms(t: Fraction) -> Ratio:
    """isx's end time: truncated (toward zero) to whole milliseconds, den 1000."""
    return Ratio(int(t * 1000), 1000)


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


# ---------------------------------------------------------------------- header
@dataclass(frozen=True)
class EventsHeader:
    """Everything the trailer of an event-based file says (spec §7.2 / §7.3).

    For V1 files the per-channel arrays are filled from the timing (one step per
    channel, sparse unless the file is analog); ``num_samples`` and
    ``start_offsets`` are then unknown until the channel blocks are read (empty
    tuples here, see :attr:`EventsFile.num_samples`).
    """

    type: int
    channel_names: tuple[str, ...]
    global_start: Time
    global_end: Time
    signal_steps: tuple[Ratio, ...]
    signal_types: tuple[int, ...]
    num_samples: tuple[int, ...] = ()
    start_offsets: tuple[int, ...] = ()
    metrics: Any = None
    extra_properties: Any = None
    file_version: int = 2
    file_type: int = 1  #: 1 = V2 (packets), 0 = V1 (legacy channel blocks)
    producer: dict[str, Any] = field(default_factory=lambda: dict(ISX_PRODUCER))
    v1_timing: TimingInfo | None = None  #: V1 only: the stored ``timing info``
    channel_offsets: tuple[int, ...] = ()  #: V1 only: byte offset of each channel header
    analog: bool = False  #: V1 only
    data_type: int = 1  #: V1 only: 0 GPIO, 1 events

    @property
    def kind(self) -> str:
        return KINDS[self.type]

    @property
    def is_v2(self) -> bool:
        return self.file_type == 1

    @property
    def num_channels(self) -> int:
        return len(self.channel_names)

    def to_json(self) -> dict[str, Any]:
        """The V2 trailer, as isx writes it."""
        if not self.is_v2:
            raise IsxWriteError("only V2 event-based headers can be serialised")
        return {
            "channel list": list(self.channel_names),
            "extraProperties": self.extra_properties,
            "fileType": 1,
            "fileVersion": self.file_version,
            "global times": [self.global_start.to_json(), self.global_end.to_json()],
            "metrics": self.metrics,
            "numSamples": list(self.num_samples),
            "producer": self.producer,
            "signalSteps": [s.to_json() for s in self.signal_steps],
            "signalTypes": list(self.signal_types),
            "startOffsets": list(self.start_offsets),
            "type": self.type,
        }

    @classmethod
    def from_trailer(cls, trailer: Trailer) -> EventsHeader:
        f = trailer.fields
        kind = f.integer("type")
        file_type = f.integer("fileType", 0)
        if file_type not in (0, 1):
            raise f.error("not a valid events file", key="fileType",
                          expected="0 (V1) or 1 (V2)", found=file_type)
        allowed = tuple(KINDS) if file_type == 1 else V1_TYPES
        if kind not in allowed:
            raise f.error("not an event-based file", key="type",
                          expected=" or ".join(f"{k} ({KINDS[k]})" for k in allowed),
                          found=kind)
        return cls._from_v2(f, kind) if file_type == 1 else cls._from_v1(f, kind, trailer)

    @classmethod
    def _from_v2(cls, f: Fields, kind: int) -> EventsHeader:
        version = f.integer("fileVersion", lo=0, hi=2**32)
        if version < 1:
            raise f.error("version 0 of the V2 events layout is not supported",
                          key="fileVersion", expected=">= 1", found=version)
        names = tuple(f.str_array("channel list"))
        n = len(names)
        times = f.array("global times")
        if len(times) < 2:
            raise f.error("global times needs a start and an end", key="global times",
                          expected="2 elements", found=f"{len(times)} elements")
        start, end = (Time.from_json(_at(f, "global times", i, times[i]), f"global times[{i}]")
                      for i in range(2))
        steps = tuple(Ratio.from_json(_at(f, "signalSteps", i, v), f"signalSteps[{i}]")
                      for i, v in enumerate(f.array("signalSteps", length=n)))
        types = tuple(f.int_array("signalTypes", length=n, lo=0, hi=255))
        bad = [t for t in types if t not in (SPARSE, DENSE)]
        if bad:
            raise f.error("unknown signal type", key="signalTypes",
                          expected="0 (sparse) or 1 (dense)", found=bad[0])
        counts = tuple(f.int_array("numSamples", length=n, lo=0))
        firsts = tuple(f.int_array("startOffsets", length=n, lo=0))
        metrics = f.raw("metrics", None)
        if metrics is not None and not isinstance(metrics, list):
            raise f.error("wrong JSON type", key="metrics", expected="null or an array",
                          found=type(metrics).__name__)
        producer = f.raw("producer", {})
        return cls(kind, names, start, end, steps, types, counts, firsts, metrics,
                   f.raw("extraProperties", None), version, 1,
                   producer if isinstance(producer, dict) else {})

    @classmethod
    def _from_v1(cls, f: Fields, kind: int, trailer: Trailer) -> EventsHeader:
        version = f.integer("fileVersion", lo=0, hi=2**32)
        timing = TimingInfo.from_json(f, "timing info")
        offsets = f.sub("channel offsets")
        # isxcore keeps channels in a std::map: sorted by the names' bytes.
        names = tuple(sorted(offsets.obj, key=lambda s: s.encode("utf-8")))
        where = tuple(offsets.integer(name, lo=-(2**31), hi=2**31 - 1) for name in names)
        for name, pos in zip(names, where, strict=True):
            if not 0 <= pos < trailer.data_size:
                raise f.error("channel header offset outside the data section",
                              key=f"channel offsets.{name}",
                              expected=f"0 <= offset < {trailer.data_size}", found=pos)
        data_type = f.integer("dataType", lo=0, hi=1)
        analog = ("GPIO4_AI" in names) if version == 0 else f.boolean("analog")
        start = timing.start
        end = Fraction(start.secs_since_epoch.fraction) + timing.duration
        n = len(names)
        producer = f.raw("producer", {})
        return cls(kind, names, start, Time(Ratio.from_fraction(end), start.utc_offset),
                   (timing.period,) * n, (DENSE if analog else SPARSE,) * n,
                   file_version=version, file_type=0,
                   producer=producer if isinstance(producer, dict) else {},
                   v1_timing=timing, channel_offsets=where, analog=analog,
                   data_type=data_type)


# ---------------------------------------------------------------------- metrics
def _metric_row(f: Fields, index: int, entry: Any) -> np.ndarray:
    """One ``metrics`` entry -> 9 float64 values (NaN for null; all NaN for ``{}``/null)."""
    key = f"metrics[{index}]"
    width = len(EVENT_METRIC_NAMES)
    row = np.full(width, np.nan)
    if entry is None or entry == {}:
        return row
    if not isinstance(entry, list):
        raise f.error("malformed event metrics entry", key=key,
                      expected=f"{{}}, null or an array of {width} numbers",
                      found=_describe(entry))
    if len(entry) < width:
        raise f.error("event metrics entry is too short", key=key,
                      expected=f"{width} numbers ({', '.join(EVENT_METRIC_NAMES)})",
                      found=f"{len(entry)} elements")
    if len(entry) > width:
        warnings.warn(f"{f.path}: {key} holds {len(entry)} values; only the first {width} "
                      "are known metrics (isx ignores the rest too)", IsxFormatWarning,
                      stacklevel=4)
    for j, value in enumerate(entry[:width]):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise f.error("wrong JSON type", key=f"{key}[{j}]",
                          expected=f"a number or null ({EVENT_METRIC_NAMES[j]})",
                          found=_describe(value))
        row[j] = float(value)
    return row


def parse_event_metrics(f: Fields, metrics: Any, num_channels: int) -> np.ndarray | None:
    """The ``metrics`` JSON value as a float64 array ``(num_channels, 9)``, or None.

    Columns follow :data:`EVENT_METRIC_NAMES`.  ``null`` values read as NaN, and so do
    channels whose entry is ``{}`` or null or that have no entry (isx's properties
    export prints 0 for those).  ``null`` or ``[]`` (no metrics at all) gives None.
    Entries past the last channel are ignored with a warning, as are values past the
    ninth; as in isxcore, an entry shorter than 9 values or holding a non-number is
    an error (:class:`~isxio.errors.IsxFormatError` naming the key).  Values are
    the stored (double) ones; isxcore narrows them to float32 when it reads them.
    """
    if metrics is None or (isinstance(metrics, list) and not metrics):
        return None
    if not isinstance(metrics, list):
        raise f.error("wrong JSON type", key="metrics", expected="null or an array",
                      found=_describe(metrics))
    if len(metrics) > num_channels:
        warnings.warn(f"{f.path}: metrics has {len(metrics)} entries for {num_channels} "
                      "channel(s); the extra entries are ignored", IsxFormatWarning,
                      stacklevel=3)
    out = np.full((num_channels, len(EVENT_METRIC_NAMES)), np.nan)
    for i, entry in enumerate(metrics[:num_channels]):
        out[i] = _metric_row(f, i, entry)
    return out


def _metrics_table(values: Any, num_channels: int) -> np.ndarray:
    """(channels, 9) float64 from an array-like or a mapping name -> per-channel values."""
    width = len(EVENT_METRIC_NAMES)
    if isinstance(values, Mapping):
        unknown = sorted(set(values) - set(EVENT_METRIC_NAMES))
        if unknown:
            raise IsxWriteError(f"unknown event metric(s) {unknown}; known: "
                                f"{list(EVENT_METRIC_NAMES)}")
        table = np.full((num_channels, width), np.nan)
        for j, name in enumerate(EVENT_METRIC_NAMES):
            if name in values:
                column = np.asarray(values[name], dtype=np.float64)
                if column.shape != (num_channels,):
                    raise IsxWriteError(f"metric {name!r} has shape {column.shape}; "
                                        f"expected ({num_channels},), one per channel")
                table[:, j] = column
        return table
    try:
        table = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise IsxWriteError(f"channel metrics must be numbers: {exc}") from None
    if table.shape != (num_channels, width):
        raise IsxWriteError(f"channel metrics have shape {table.shape}; expected "
                            f"({num_channels}, {width}): one row per channel, columns "
                            f"{', '.join(EVENT_METRIC_NAMES)}")
    return table


def event_metrics_json(values: Any, num_channels: int) -> list[Any]:
    """Per-channel metrics -> the ``metrics`` JSON value isxcore stores (spec §7.2).

    ``values`` is an array-like ``(num_channels, 9)`` (columns
    :data:`EVENT_METRIC_NAMES`) or a mapping metric name -> ``(num_channels,)``
    values (missing metrics are NaN).  NaN is written as ``null``; a channel whose
    metrics are all NaN is written ``{}`` (no metrics).  Infinite values are refused:
    the JSON dialect cannot hold them.
    """
    table = _metrics_table(values, num_channels)
    if np.isinf(table).any():
        raise IsxWriteError("channel metrics must be finite or NaN (JSON has no infinity)")
    return [{} if np.isnan(row).all() else
            [None if np.isnan(v) else float(v) for v in row] for row in table]


# ---------------------------------------------------------------------- reading
def _exact(a: np.ndarray, scale: int, shift: int) -> np.ndarray:
    """``a * scale - shift`` exactly: int64 when it fits, else Python ints (object)."""
    a = np.asarray(a)
    if a.size == 0:
        return np.zeros(0, np.int64)
    lo, hi = int(a.min()), int(a.max())
    bounds = (lo * scale - shift, hi * scale - shift, lo, hi)
    if all(-(2**63) <= v < 2**63 for v in bounds):
        return a.astype(np.int64) * np.int64(scale) - np.int64(shift)
    return a.astype(object) * scale - shift


def _to_isx_us(num: np.ndarray, den: int) -> np.ndarray:
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
    return _to_isx_us(_exact(us, den // 10**6, 0), den)


def _v1_offsets(times_us: np.ndarray, start: Time) -> tuple[np.ndarray, np.ndarray]:
    """Absolute V1 µs times -> (exact µs since ``start`` truncated, isx's µs), int64.

    isx builds each time as ``times_us / 10**6`` and subtracts the start over the
    common denominator ``L = lcm(10**6, start den)``; negative results wrap when
    viewed as uint64, as in isx.
    """
    sec = start.secs_since_epoch
    den = math.lcm(10**6, abs(sec.den))
    num = _exact(times_us, den // 10**6, sec.num * (den // sec.den))
    k = den // 10**6
    stored = num // k if k > 1 else num  # floor; equals truncation for offsets >= 0
    if k > 1:
        stored = stored + ((num < 0) & (num % k != 0))
    if stored.dtype == object:  # out of the int64 range (corrupt times): wrap like isx
        stored = (stored % 2**64).astype(np.uint64).view(np.int64)
    return stored.astype(np.int64), _to_isx_us(num, den)


def _collapse_order(signal: np.ndarray, key: np.ndarray, num_channels: int
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


def _split(offsets: np.ndarray, values: np.ndarray, bounds: np.ndarray
           ) -> list[tuple[np.ndarray, np.ndarray]]:
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
    keep, bounds = _collapse_order(signal, signed, num_channels)
    out = signed[keep] if stored_offsets else isx_microseconds(signed[keep], start)
    return _split(out, np.asarray(value, dtype=np.float32)[keep], bounds)


def _decode_v1_values(bits: np.ndarray, analog: bool) -> np.ndarray:
    """V1 value decoding (spec §7.3): value = |float|; logical channels use the state."""
    value = (bits & ~_SIGN).view(np.float32)
    if analog:
        return value
    state = (bits >> np.uint32(31)).astype(np.float32)
    with np.errstate(invalid="ignore"):  # inf * 0 -> NaN, as in isx
        return np.where(value == 0, state, value * state).astype(np.float32)


@dataclass(frozen=True)
class _V1Block:
    name: str
    header_offset: int
    data_offset: int
    count: int
    header: dict[str, Any]


class EventsFile:
    """An event set, GPIO or IMU ``.isxd`` file opened for reading.

    Opening reads only the trailer.  Packets are read (memory-mapped) and checked
    the first time data is asked for.

    Parameters
    ----------
    path
        The ``.isxd`` file.
    recover
        Accept (with a warning) stray bytes appended after the trailer.
    trailer
        The already-parsed trailer of ``path`` (saves reading it again).
    """

    def __init__(self, path: str | os.PathLike[str], *, recover: bool = True,
                 trailer: Trailer | None = None) -> None:
        self.path = os.fspath(path)
        self.trailer = trailer or read_trailer(self.path, recover=recover)
        self.header = EventsHeader.from_trailer(self.trailer)
        if self.header.is_v2:
            self._check_v2_sizes()

    def _error(self, message: str, **kw: Any) -> IsxFormatError:
        return IsxFormatError(self.path, message, **kw)

    def _check_v2_sizes(self) -> None:
        size = self.trailer.data_size
        if size % PACKET_DTYPE.itemsize:
            raise self._error("data section is not a whole number of 20-byte packets",
                              offset=size, expected="a multiple of 20 bytes",
                              found=f"{size} bytes")
        total = sum(self.header.num_samples)
        if total != size // PACKET_DTYPE.itemsize:
            raise self._error("packet count in the trailer does not match the data section",
                              key="numSamples", offset=size,
                              expected=f"{size // PACKET_DTYPE.itemsize} packets "
                                       f"({size} bytes)",
                              found=f"{total} packets")

    # -------------------------------------------------------------- metadata
    @property
    def is_v2(self) -> bool:
        return self.header.is_v2

    @property
    def kind(self) -> str:
        """``'events'``, ``'gpio'`` or ``'imu'``."""
        return self.header.kind

    @property
    def channel_names(self) -> list[str]:
        """Channel (cell) names, in the order isx indexes them."""
        return list(self.header.channel_names)

    @property
    def num_channels(self) -> int:
        return self.header.num_channels

    @property
    def global_start(self) -> Time:
        return self.header.global_start

    @property
    def global_end(self) -> Time:
        return self.header.global_end

    @property
    def signal_steps(self) -> list[Ratio]:
        return list(self.header.signal_steps)

    @property
    def signal_types(self) -> list[int]:
        """Per channel: 0 sparse (event-triggered), 1 dense (fixed-rate samples)."""
        return list(self.header.signal_types)

    @property
    def num_samples(self) -> list[int]:
        """Packets stored per channel (V1: read from the channel headers)."""
        if self.header.is_v2:
            return list(self.header.num_samples)
        return [b.count for b in self._v1_blocks]

    @property
    def start_offsets(self) -> list[int]:
        """V2: ``startOffsets`` (offset of the first packet written per channel)."""
        return list(self.header.start_offsets)

    @property
    def extra_properties(self) -> Any:
        return self.header.extra_properties

    @property
    def metrics(self) -> Any:
        """The raw ``metrics`` JSON value (None when absent or null)."""
        return self.header.metrics

    @cached_property
    def channel_metrics(self) -> np.ndarray | None:
        """Per-channel event metrics: float64 ``(num_channels, 9)``, or None if none stored.

        Columns follow :data:`EVENT_METRIC_NAMES` (snr, mad, eventRate, ...); NaN where
        a value is null or a channel has no metrics (see :func:`parse_event_metrics`).
        """
        return parse_event_metrics(self.trailer.fields, self.header.metrics, self.num_channels)

    def metrics_dict(self) -> dict[str, np.ndarray] | None:
        """:attr:`channel_metrics` as ``{metric name: (num_channels,) float64}``, or None."""
        table = self.channel_metrics
        if table is None:
            return None
        return {name: table[:, j].copy() for j, name in enumerate(EVENT_METRIC_NAMES)}

    @cached_property
    def timing(self) -> TimingInfo:
        """The file timing exactly as isx reports it.

        V2: period = the first channel step, replaced by any later non-zero step
        that is smaller (so a zero first step stays zero), and 1 ms if that is zero;
        samples = ceil((end - start) / period); start = global start.
        V1: the stored ``timing info``.
        """
        h = self.header
        if not h.is_v2:
            assert h.v1_timing is not None
            return h.v1_timing
        period = h.signal_steps[0] if h.signal_steps else Ratio(0, 1)
        for step in h.signal_steps[1:]:
            if step.num != 0 and step.fraction < period.fraction:
                period = step
        if period.num == 0:
            period = DEFAULT_PERIOD
        span = h.global_end.secs_since_epoch.fraction - h.global_start.secs_since_epoch.fraction
        count = _ceil(span / period.fraction)
        if count < 0:
            warnings.warn(f"{self.path}: global end time precedes the start; reporting 0 "
                          "samples", IsxFormatWarning, stacklevel=3)
            count = 0
        return TimingInfo(count, period, h.global_start)

    # -------------------------------------------------------------- V2 data
    @cached_property
    def packets(self) -> np.ndarray:
        """V2 packets in file order: a structured memmap (``offset``, ``signal``, ``value``)."""
        if not self.header.is_v2:
            raise self._error("V1 files have no packet array; use channel_data()",
                              key="fileType", found=self.header.file_type)
        n = self.trailer.data_size // PACKET_DTYPE.itemsize
        if n == 0:
            return np.zeros(0, PACKET_DTYPE)
        mm = np.memmap(self.path, dtype=PACKET_DTYPE, mode="r", offset=0, shape=(n,))
        signal = mm["signal"]
        if len(signal) and int(signal.max()) >= self.num_channels:
            pos = int(np.argmax(signal >= self.num_channels))
            raise self._error("packet refers to a channel that does not exist",
                              offset=pos * PACKET_DTYPE.itemsize + 8,
                              expected=f"a channel index < {self.num_channels}",
                              found=int(signal[pos]))
        return mm

    def _check_counts(self, packets: np.ndarray) -> None:
        counts = np.bincount(packets["signal"].astype(np.int64), minlength=self.num_channels)
        if not np.array_equal(counts, self.header.num_samples):
            warnings.warn(f"{self.path}: per-channel packet counts {counts.tolist()} differ "
                          f"from numSamples {list(self.header.num_samples)}",
                          IsxFormatWarning, stacklevel=3)

    # -------------------------------------------------------------- V1 data
    @cached_property
    def _v1_blocks(self) -> list[_V1Block]:
        h, size = self.header, self.trailer.data_size
        starts = [*sorted(set(h.channel_offsets)), size]
        with open(self.path, "rb") as fh:
            return [self._read_v1_block(fh, name, pos, starts[starts.index(pos) + 1])
                    for name, pos in zip(h.channel_names, h.channel_offsets, strict=True)]

    def _read_v1_block(self, fh: Any, name: str, pos: int, limit: int) -> _V1Block:
        """Parse the channel header at ``pos``; its packets must end by ``limit``.

        ``limit`` is the next channel header or the end of the data section.  An
        analog channel with ``Number of Packets`` 0 runs up to ``limit`` (isx reads on
        to the end of the data section, i.e. into the next header, if there is one).
        """
        fh.seek(pos)
        raw = fh.read(min(limit - pos, _MAX_HEADER))
        end = raw.find(b"\x00")
        if end < 0:
            raise self._error("channel header is not NUL-terminated before the next block",
                              offset=pos, key=f"channel offsets.{name}")
        try:
            obj = _json.loads(raw[:end].decode("utf-8"))
        except ValueError as exc:
            raise self._error(f"channel header does not parse ({exc})", offset=pos,
                              key=f"channel offsets.{name}") from None
        f = Fields(obj, self.path, f"channel[{name!r}]", pos)
        if f.string("channel") != name:
            raise f.error("channel header names another channel", key=f.key("channel"),
                          expected=repr(name), found=repr(f.string("channel")))
        count = f.integer("Number of Packets", lo=0)
        data = pos + end + 1
        avail = limit - data
        if count == 0 and self.header.analog:
            count, rest = divmod(avail, V1_PACKET_DTYPE.itemsize)
            if rest:
                raise self._error("analog channel data is not a whole number of packets",
                                  key=f.key("Number of Packets"), offset=data,
                                  expected="a multiple of 16 bytes", found=f"{avail} bytes")
        if count * V1_PACKET_DTYPE.itemsize > avail:
            raise self._error("channel packets run past the next block or the data section",
                              key=f.key("Number of Packets"), offset=data,
                              expected=f"<= {avail // V1_PACKET_DTYPE.itemsize} packets",
                              found=count)
        return _V1Block(name, pos, data, count, obj)

    def _v1_channel(self, index: int) -> tuple[np.ndarray, ...]:
        """(time, exact offset, isx offset, value) of one V1 channel block, in file order."""
        block = self._v1_blocks[index]
        if block.count:
            pk = np.fromfile(self.path, dtype=V1_PACKET_DTYPE, count=block.count,
                             offset=block.data_offset)
        else:
            pk = np.zeros(0, V1_PACKET_DTYPE)
        stored, rel = _v1_offsets(pk["time"], self.header.global_start)
        return pk["time"], stored, rel, _decode_v1_values(pk["bits"], self.header.analog)

    # -------------------------------------------------------------- channels
    @cached_property
    def _grouped(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(stored offsets, isx offsets, values, channel bounds), sorted and collapsed."""
        n = self.num_channels
        if self.header.is_v2:
            pk = self.packets
            self._check_counts(pk)
            key = np.ascontiguousarray(pk["offset"]).view(np.int64)
            keep, bounds = _collapse_order(pk["signal"], key, n)
            stored = key[keep]
            return (stored, isx_microseconds(stored, self.header.global_start),
                    np.asarray(pk["value"][keep]), bounds)
        parts = [self._v1_channel(i) for i in range(n)]
        if not parts:
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros(0, np.float32), np.zeros(1, np.int64)
        sig = np.repeat(np.arange(n, dtype=np.uint64), [len(p[0]) for p in parts])
        times, stored, rel, val = (np.concatenate(p) for p in zip(*parts, strict=True))
        keep, bounds = _collapse_order(sig, times, n)  # same time <=> same µs stamp
        return stored[keep], rel[keep], val[keep], bounds

    def _index(self, index: int) -> int:
        n = self.num_channels
        if isinstance(index, bool) or not isinstance(index, int | np.integer) \
                or not -n <= int(index) < n:
            raise IndexError(f"channel index {index!r} out of range for {n} channels")
        return int(index) % n

    def _resolve(self, index: int, by_name: bool) -> int:
        i = self._index(index)
        return self.header.channel_names.index(self.header.channel_names[i]) if by_name else i

    def channel_data(self, index: int, *, stored_offsets: bool = False, by_name: bool = True
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Offsets (uint64 µs since the global start) and values (float32) of a channel.

        Sorted by time; packets of the same time collapse to the last one read,
        exactly as isx returns them.  isx converts offsets through double seconds,
        so some come back 1 µs below the stored value (:func:`isx_microseconds`);
        ``stored_offsets=True`` returns the exact stored offsets instead (V1: the
        exact difference to the start, in whole µs, rounded down).  isx looks a
        channel up by its name, so a channel whose name repeats an earlier one's
        returns that earlier channel's data; ``by_name=False`` returns its own.
        """
        i = self._resolve(index, by_name)
        stored, isx_off, values, bounds = self._grouped
        off = stored if stored_offsets else isx_off
        lo, hi = bounds[i], bounds[i + 1]
        return off[lo:hi].view(np.uint64).copy(), values[lo:hi].copy()

    def all_channel_data(self, *, stored_offsets: bool = False, by_name: bool = True
                         ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`channel_data` of every channel, computed in one vectorised pass."""
        stored, isx_off, values, bounds = self._grouped
        data = _split(stored if stored_offsets else isx_off, values, bounds)
        if not by_name:
            return data
        names = self.header.channel_names
        first = {name: names.index(name) for name in names}
        return [data[i] if first[name] == i else tuple(a.copy() for a in data[first[name]])
                for i, name in enumerate(names)]

    def channel_index(self, name: str) -> int:
        """Index of the first channel called ``name`` (isx looks channels up by name)."""
        try:
            return self.header.channel_names.index(name)
        except ValueError:
            raise KeyError(f"no channel named {name!r} in {self.path}") from None

    def close(self) -> None:
        """Drop cached data and memory maps (they are rebuilt on the next access)."""
        for name in ("packets", "_grouped", "_v1_blocks"):
            self.__dict__.pop(name, None)

    def __enter__(self) -> EventsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self):
        return (EventsFile, (self.path,))

    def __repr__(self) -> str:
        layout = "V2" if self.is_v2 else "V1"
        return (f"<EventsFile {self.path!r} {self.kind} {layout} "
                f"{self.num_channels} channel(s)>")


# ---------------------------------------------------------------------- writing
def _as_offsets(offsets: Any) -> np.ndarray:
    arr = np.asarray(offsets)
    if arr.ndim != 1:
        raise IsxWriteError(f"offsets must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise IsxWriteError("offsets must be finite")
    elif arr.dtype.kind not in "iub" and arr.size:
        raise IsxWriteError(f"offsets must be numbers of µs, got dtype {arr.dtype}")
    if arr.dtype.kind in "if" and arr.size and arr.min() < 0:
        raise IsxWriteError("offsets must be >= 0 µs since the start")
    return np.ascontiguousarray(arr.astype(np.uint64, copy=False))


class EventsWriter:
    """Write a V2 event set, GPIO or IMU file, channel data appended as given.

    With the defaults the output is byte-identical to ``isx.EventSet.write``: every
    channel sparse with step = ``timing.period``; global times = (``timing.start``,
    ``start + period × num_samples`` truncated to whole ms); the timing's invalid
    samples are not stored.  Packets are streamed to a temporary file, which
    :meth:`flush` completes and renames into place.

    Parameters
    ----------
    path
        Output ``.isxd`` file.
    timing
        Start, period and number of samples of the recording.
    channel_names
        One name per channel (cell).
    kind
        ``'events'`` (type 5), ``'gpio'`` (3) or ``'imu'`` (7).
    overwrite
        Replace an existing file.
    signal_steps, signal_types
        Per-channel steps and types (0 sparse, 1 dense); default period / sparse.
    global_end
        End of the listening window (default: isx's rule above).
    metrics, extra_properties
        Raw ``metrics`` and ``extraProperties`` JSON values (default null).
    channel_metrics
        Per-channel event metrics, stored as ``metrics`` the way isxcore does (see
        :func:`event_metrics_json`): an array ``(channels, 9)`` in the order of
        :data:`EVENT_METRIC_NAMES` or a mapping name -> per-channel values.  Floats
        are stored as ``%.15g`` (isxcore's JSON), so they read back to 15 significant
        digits.  Excludes ``metrics``.
    """

    def __init__(self, path: str | os.PathLike[str], timing: TimingInfo,
                 channel_names: Sequence[str], *, kind: str = "events",
                 overwrite: bool = False, signal_steps: Sequence[Ratio] | None = None,
                 signal_types: Sequence[int] | None = None, global_end: Time | None = None,
                 metrics: Any = None, extra_properties: Any = None,
                 producer: dict[str, Any] | None = None, channel_metrics: Any = None) -> None:
        if channel_metrics is not None:
            if metrics is not None:
                raise IsxWriteError("give either metrics (raw JSON) or channel_metrics")
            metrics = event_metrics_json(channel_metrics, len(channel_names))
        if kind not in KIND_TYPES:
            raise IsxWriteError(f"kind must be one of {sorted(KIND_TYPES)}, got {kind!r}")
        names = tuple(str(n) for n in channel_names)
        if not names:
            raise IsxWriteError("channel_names must not be empty")
        n = len(names)
        steps = tuple(signal_steps) if signal_steps is not None else (timing.period,) * n
        types = tuple(int(t) for t in signal_types) if signal_types is not None \
            else (SPARSE,) * n
        if len(steps) != n or len(types) != n:
            raise IsxWriteError(f"need one signal step and type per channel ({n}), got "
                                f"{len(steps)} steps and {len(types)} types")
        if any(t not in (SPARSE, DENSE) for t in types):
            raise IsxWriteError(f"signal types must be 0 (sparse) or 1 (dense), got {types}")
        start = timing.start
        if global_end is None:
            end = start.secs_since_epoch.fraction + timing.duration
            global_end = Time(_truncate_to_ms(end), start.utc_offset)
        self.header = EventsHeader(
            KIND_TYPES[kind], names, start, global_end, steps, types, metrics=metrics,
            extra_properties=extra_properties, producer=dict(producer or ISX_PRODUCER))
        self.path = os.path.abspath(os.fspath(path))
        self._counts = [0] * n
        self._firsts = [0] * n
        self._file: AtomicFile | None = AtomicFile(self.path, overwrite=overwrite)

    @property
    def num_channels(self) -> int:
        return self.header.num_channels

    @property
    def num_samples(self) -> list[int]:
        """Packets written so far, per channel."""
        return list(self._counts)

    def _check_open(self) -> AtomicFile:
        if self._file is None or self._file.closed:
            raise IsxWriteError(f"{self.path}: writer is closed")
        return self._file

    def set_cell_data(self, index: int, offsets_us: Any, amplitudes: Any) -> None:
        """Append packets ``(offset µs since the start, amplitude)`` to channel ``index``.

        Packets are stored in the order given (isx sorts them on read); calling
        again for the same channel appends.
        """
        f = self._check_open()
        n = self.num_channels
        if isinstance(index, bool) or not isinstance(index, int | np.integer) \
                or not 0 <= int(index) < n:
            raise IsxWriteError(f"channel index {index!r} out of range 0..{n - 1}")
        offs = _as_offsets(offsets_us)
        amps = np.asarray(amplitudes)
        if amps.shape != offs.shape:
            raise IsxWriteError(f"{len(offs)} offsets but {amps.size} amplitudes: "
                                "need one amplitude per offset")
        if not len(offs):
            return
        pk = np.empty(len(offs), PACKET_DTYPE)
        pk["offset"] = offs
        pk["signal"] = int(index)
        pk["value"] = amps.astype(np.float32, copy=False)
        f.write(pk.tobytes())
        if self._counts[index] == 0:
            self._firsts[index] = int(offs[0])
        self._counts[index] += len(offs)

    set_channel_data = set_cell_data

    def flush(self) -> None:
        """Write the trailer and move the file into place."""
        if self._file is None:
            return
        f = self._check_open()
        h = self.header
        header = EventsHeader(h.type, h.channel_names, h.global_start, h.global_end,
                              h.signal_steps, h.signal_types, tuple(self._counts),
                              tuple(self._firsts), h.metrics, h.extra_properties,
                              h.file_version, 1, h.producer)
        f.write(encode_trailer(header.to_json()))
        f.commit()
        self._file = None
        self.header = header

    def close(self) -> None:
        """Discard the temporary file if :meth:`flush` was not called."""
        if self._file is not None:
            self._file.abort()
            self._file = None

    def __enter__(self) -> EventsWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.flush()
        else:
            self.close()


# ---------------------------------------------------------------------- V1 writer
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
    code = KIND_TYPES[kind]
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
