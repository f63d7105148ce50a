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

This module holds the header, the reader of both layouts and the V2 writer; the V1
layout lives in :mod:`~isxio.formats.events_v1`, packet grouping and times in
:mod:`~isxio.formats.events_packets`, the per-channel metrics in
:mod:`~isxio.formats.events_metrics`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .._io import as_source
from .._lazy import locked_cached_property
from ..errors import IsxFormatError, IsxFormatWarning, IsxWriteError
from ..metadata import EventMetrics, event_metrics_table
from ._base import IsxdReader, IsxdWriter
from ._diagnose import kind_mismatch, size_diagnosis
from ._fields import Fields
from ._isxratio import r_add, r_double, r_mul
from .common import Ratio, Time, TimingInfo
from .container import ISX_PRODUCER, AtomicFile, Trailer, read_trailer
from .events_metrics import EVENT_METRIC_NAMES, event_metrics_json, parse_event_metrics
from .events_packets import (
    DENSE,
    PACKET_DTYPE,
    SPARSE,
    collapse_channels,
    collapse_order,
    isx_microseconds,
    split_channels,
)
from .events_v1 import (
    V1_PACKET_DTYPE,
    V1_TYPES,
    V1Block,
    parse_v1_trailer,
    read_v1_blocks,
    v1_channel,
    write_v1_events_file,
)

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

#: ``type`` -> kind name, and back.
KINDS = {5: "events", 3: "gpio", 7: "imu"}
KIND_TYPES = {name: code for code, name in KINDS.items()}
#: Period isx assumes when every channel step is zero.
DEFAULT_PERIOD = Ratio(1, 1000)


def _at(f: Fields, name: str, index: int, value: Any) -> Fields:
    """Wrap element ``index`` of array ``name`` so that messages say ``name[index]``."""
    return Fields({f"{name}[{index}]": value}, f.path, f.prefix, f.offset)


def _isx_end(timing: TimingInfo) -> Time:
    """isx's default end: ``start + period × samples`` in isxcore's ratio arithmetic,
    converted to a double, times 1000, truncated to whole ms (den 1000).

    Exact arithmetic differs from isx where the double falls just below a whole ms
    (start 1 ms, 528 × 1864/30 s: isx stores 32806400, not 32806401).
    """
    s, p = timing.start.secs_since_epoch, timing.period
    end = r_add((s.num, s.den), r_mul((p.num, p.den), (timing.num_samples, 1)))
    return Time(Ratio(int(r_double(end) * 1000), 1000), timing.start.utc_offset)


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
            raise f.error(kind_mismatch("an event-based file", kind), key="type",
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
        return cls(kind, **parse_v1_trailer(f, trailer.data_size))


# ---------------------------------------------------------------------- reading
class EventsFile(IsxdReader):
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
        self.source = as_source(path)
        self.path = self.source.name
        self.trailer = trailer or read_trailer(self.source, recover=recover)
        self.header = EventsHeader.from_trailer(self.trailer)
        if self.header.is_v2:
            self._check_v2_sizes()

    def _error(self, message: str, **kw: Any) -> IsxFormatError:
        return IsxFormatError(self.path, message, **kw)

    def _check_v2_sizes(self) -> None:
        size = self.trailer.data_size
        if size % PACKET_DTYPE.itemsize:
            raise self._error(f"{size_diagnosis(size, None, 20, 'packet')}; data section is "
                              "not a whole number of 20-byte packets",
                              offset=size, expected="a multiple of 20 bytes",
                              found=f"{size} bytes")
        total = sum(self.header.num_samples)
        if total != size // PACKET_DTYPE.itemsize:
            raise self._error(f"{size_diagnosis(size, total * 20, 20, 'packet')}; packet "
                              "count in the trailer does not match the data section",
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

    @locked_cached_property
    def channel_metrics(self) -> np.ndarray | None:
        """Per-channel event metrics: float64 ``(num_channels, 9)``, or None if none stored.

        Columns follow :data:`EVENT_METRIC_NAMES` (snr, mad, eventRate, ...); NaN where
        a value is null or a channel has no metrics (see :func:`parse_event_metrics`).
        """
        return parse_event_metrics(self.trailer.fields, self.header.metrics, self.num_channels)

    def metrics_table(self) -> list[EventMetrics] | None:
        """:attr:`channel_metrics` typed: one :class:`~isxio.metadata.EventMetrics` per
        channel (NaN where missing), or None if none stored."""
        table = self.channel_metrics
        return None if table is None else event_metrics_table(table, self.num_channels)

    def metrics_dict(self) -> dict[str, np.ndarray] | None:
        """:attr:`channel_metrics` as ``{metric name: (num_channels,) float64}``, or None."""
        table = self.channel_metrics
        if table is None:
            return None
        return {name: table[:, j].copy() for j, name in enumerate(EVENT_METRIC_NAMES)}

    @locked_cached_property
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
    @locked_cached_property
    def packets(self) -> np.ndarray:
        """V2 packets in file order: a structured memmap (``offset``, ``signal``, ``value``)."""
        if not self.header.is_v2:
            raise self._error("V1 files have no packet array; use channel_data()",
                              key="fileType", found=self.header.file_type)
        n = self.trailer.data_size // PACKET_DTYPE.itemsize
        if n == 0:
            return np.zeros(0, PACKET_DTYPE)
        if self.source.is_local:
            mm = np.memmap(self.path, dtype=PACKET_DTYPE, mode="r", offset=0, shape=(n,))
        else:  # remote: the packets are the index of every channel; read them once
            mm = np.frombuffer(self.source.read(0, n * PACKET_DTYPE.itemsize), PACKET_DTYPE)
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
    @locked_cached_property
    def _v1_blocks(self) -> list[V1Block]:
        h = self.header
        return read_v1_blocks(self.source, h.channel_names, h.channel_offsets,
                              self.trailer.data_size, h.analog)

    def _v1_channel(self, index: int) -> tuple[np.ndarray, ...]:
        """(time, exact offset, isx offset, value) of one V1 channel block, in file order."""
        return v1_channel(self.source, self._v1_blocks[index], self.header.global_start,
                          self.header.analog)

    # -------------------------------------------------------------- channels
    @locked_cached_property
    def _grouped(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(stored offsets, isx offsets, values, channel bounds), sorted and collapsed."""
        n = self.num_channels
        if self.header.is_v2:
            pk = self.packets
            self._check_counts(pk)
            key = np.ascontiguousarray(pk["offset"]).view(np.int64)
            keep, bounds = collapse_order(pk["signal"], key, n)
            stored = key[keep]
            return (stored, isx_microseconds(stored, self.header.global_start),
                    np.asarray(pk["value"][keep]), bounds)
        parts = [self._v1_channel(i) for i in range(n)]
        if not parts:
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros(0, np.float32), np.zeros(1, np.int64)
        sig = np.repeat(np.arange(n, dtype=np.uint64), [len(p[0]) for p in parts])
        times, stored, rel, val = (np.concatenate(p) for p in zip(*parts, strict=True))
        keep, bounds = collapse_order(sig, times, n)  # same time <=> same µs stamp
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
        data = split_channels(stored if stored_offsets else isx_off, values, bounds)
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


class EventsWriter(IsxdWriter):
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
        if global_end is None:
            global_end = _isx_end(timing)
        self.header = EventsHeader(
            KIND_TYPES[kind], names, timing.start, global_end, steps, types, metrics=metrics,
            extra_properties=extra_properties, producer=dict(producer or ISX_PRODUCER))
        self._counts = [0] * n
        self._firsts = [0] * n
        self._open(path, overwrite)

    @property
    def num_channels(self) -> int:
        return self.header.num_channels

    @property
    def num_samples(self) -> list[int]:
        """Packets written so far, per channel."""
        return list(self._counts)

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

    def _finish(self, f: AtomicFile) -> dict[str, Any]:
        """The trailer, with the packet counts and first offsets written (kept as
        :attr:`header`)."""
        h = self.header
        self.header = EventsHeader(h.type, h.channel_names, h.global_start, h.global_end,
                                   h.signal_steps, h.signal_types, tuple(self._counts),
                                   tuple(self._firsts), h.metrics, h.extra_properties,
                                   h.file_version, 1, h.producer)
        return self.header.to_json()
