"""GPIO channels (``.gpio``, nVoke ``.raw``, nVista 2 ``.hdf5``, GPIO ``.isxd``) -> NWB.

Where each kind of channel goes, and why
----------------------------------------
* **Digital / TTL lines** (``Digital GPI n``, ``Digital GPO n``, ``SoftTrig-n``, ``BNC
  Trigger Input``, ``BNC Sync Output``; nVoke ``GPIO1-4``, ``SYNC``, ``TRIG``; nVista 2
  ``IO1``, ``IO2``, ``sync``, ``trigger``): one :class:`pynwb.event.EventsTable` per line
  in ``nwbfile.events``, one row per *high period*: ``timestamp`` = rising edge,
  ``duration`` = time to the falling edge.  This is what pynwb 4 recommends for TTL
  pulses and exactly what neuroconv 0.10's own TTL interfaces write by default (their
  ``"high_period"`` reading, e.g. ``IntanDigitalInterface``), so a neuroconv user finds
  the pulses where and how they expect them.  Unlike a pair of edge tables it keeps the
  pulse width in one row, and unlike ``TimeIntervals`` it is the type meant for events.
  A line already high at its first sample starts a period at that sample; ``duration``
  is NaN where the fall is not in the file (still high at the end of the recording, or
  packets dropped while high).  Because Inscopix stores a line only when it changes,
  the high periods carry every value of a 0/1 line.  A line that is never high would
  be an empty table, which the NWB Inspector rejects (``check_empty_table``), so it is
  written as a ``TimeSeries`` of its raw samples in ``acquisition`` instead (it still
  appears, and says it stayed low).  A "digital" channel holding other values (e.g. the
  raw BNC trigger word of CAPTURE_GPIO packets) is written as a ``TimeSeries`` too,
  with a warning naming it; pass ``digital_channels_as="timeseries"`` to write every
  line as its raw samples.
* **Analog channels** (BNC ``GPIO-1..4``, LED powers, ``e-focus``, ``Frame Count``,
  nVoke ``GPIO4_AI``): one ``TimeSeries`` per channel in ``nwbfile.acquisition`` (raw
  acquired signals).  ``.gpio`` files record a value only when it changes (a sample
  holds until the next), so these series mostly have irregular ``timestamps``; a channel
  whose samples lie on a regular grid gets ``starting_time`` + ``rate``.
* **Units** come from the format spec (``other.md`` §2), never from the file, which
  stores none: LED powers are in mW (the files hold 0.1 mW counts, converted as isx
  does; the spec says power, not irradiance, so not mW/mm²); BNC analog inputs are raw
  16-bit ADC counts (floored to multiples of 16 by the acquisition format): the volt
  scale of the DAQ is **not in the file**, so the unit is ``"ADC counts"`` and the
  ``conversion`` is 1 (set ``unit`` / ``conversion`` in the metadata if you know it);
  ``e-focus`` has no known unit (``"a.u."``); ``Frame Count`` is a count of frames.
* Dropped packets read as NaN samples (as in isx); they stay NaN in a ``TimeSeries``.

Timestamps are the exact stored µs offsets (isx returns about 2 % of them 1 µs low,
see :mod:`isxio.formats.gpio`).  Every channel is written unless listed in
``exclude_channels``; a channel that cannot be written (no samples) is skipped with a
warning naming it.

Temporal alignment
------------------
The channels have their own sample times, so the interface's single timestamp vector
(:meth:`get_original_timestamps`) is the sorted union of all sample times of the
written channels.  :meth:`set_aligned_timestamps` maps that union onto new times and
every channel follows (each sample takes the aligned time of its union entry), so
``set_aligned_starting_time`` shifts every channel by the same offset and
``align_by_interpolation`` warps them all on one clock.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pynwb import NWBFile, TimeSeries
from pynwb.event import DurationVectorData, EventsTable, TimestampVectorData

from ..errors import IsxFormatError
from ..formats.common import Time
from ._base import InscopixTimedInterface

__all__ = ["InscopixGpioInterface"]

US = 1e-6
DENSE = 1
#: GPIO times are whole µs of the acquisition clock: a grid must hit them exactly.
GRID_TOLERANCE = 0.5e-6

#: Channel-name pattern -> (role, unit, what the channel is).  First match wins.
CHANNEL_TABLE: tuple[tuple[str, str, str, str], ...] = (
    (r"Digital GPI \d+", "digital", "", "digital general-purpose input"),
    (r"Digital GPO \d+", "digital", "", "digital general-purpose output"),
    (r"SoftTrig-\d+", "digital", "", "closed-loop software trigger"),
    (r"BNC Trigger Input", "digital", "", "BNC trigger input"),
    (r"BNC Sync Output", "digital", "", "BNC sync output (frame exposure)"),
    (r"GPIO\d", "digital", "", "nVoke digital GPIO"),
    (r"SYNC", "digital", "", "nVoke sync output"),
    (r"TRIG", "digital", "", "nVoke trigger input"),
    (r"IO\d|sync|trigger", "digital", "", "nVista 2 digital line"),
    (r"GPIO-\d", "analog", "ADC counts",
     "BNC analog input, raw 16-bit ADC counts floored to a multiple of 16; the volt scale "
     "is not stored in the file"),
    (r"(EX|OG|DI)[-_]LED\d?", "analog", "mW", "LED power (stored as 0.1 mW counts)"),
    (r"GPIO4_AI", "analog", "mW", "nVoke LED power following the analog input GPIO4"),
    (r"e-focus", "analog", "a.u.", "electronic focus setting; unit not stored in the file"),
    (r"Frame Count", "analog", "frames", "microscope frame counter"),
)


def channel_role(name: str) -> tuple[str, str, str]:
    """``(role, unit, description)`` of a channel by name; unknown names are analog, a.u."""
    for pattern, role, unit, what in CHANNEL_TABLE:
        if re.fullmatch(pattern, name):
            return role, unit, what
    return "unknown", "a.u.", "channel of unknown kind; unit not stored in the file"


# ---------------------------------------------------------------- source
@dataclass(frozen=True)
class ChannelSource:
    """One GPIO/IMU file seen as named channels of ``(seconds, float32 values)``."""

    path: str
    kind: str  # "gpio", "nvoke", "nvista2", "imu"
    names: tuple[str, ...]
    signal_types: tuple[int, ...]
    steps: tuple[float, ...]  # seconds per sample
    start: Time
    reader: Any
    isxd: bool

    def data(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample times (s from the file start) and values of channel ``index``."""
        if self.isxd:
            offsets, values = self.reader.channel_data(index, stored_offsets=True,
                                                       by_name=False)
        else:
            offsets, values = self.reader.channel_data(index, exact=True)
        return offsets.astype(np.float64) * US, values


def open_channels(file_path: str | os.PathLike[str], kinds: tuple[str, ...],
                  what: str) -> ChannelSource:
    """Open ``file_path`` (``.gpio``/``.raw``/``.hdf5``/``.imu``/``.isxd``) as channels."""
    path = os.fspath(file_path)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".isxd":
        from ..formats.events import EventsFile

        reader: Any = EventsFile(path)
        isxd = True
    elif ext == ".imu":
        from ..formats.imu import ImuFile

        reader, isxd = ImuFile(path, exact=True), False
    elif ext in (".gpio", ".raw", ".hdf5"):
        from ..formats.gpio import GpioFile

        reader, isxd = GpioFile(path, exact=True), False
    else:
        raise IsxFormatError(path, f"{what} reads .gpio, .raw, .hdf5, .imu and .isxd files",
                             found=repr(ext))
    if reader.kind not in kinds:
        raise IsxFormatError(path, f"{what} cannot read this file", key="type",
                             expected=" or ".join(kinds), found=reader.kind)
    steps = reader.signal_steps if isxd else reader.channel_steps
    start = reader.global_start if isxd else reader.start
    return ChannelSource(path, reader.kind, tuple(reader.channel_names),
                         tuple(reader.signal_types), tuple(float(s.fraction) for s in steps),
                         start, reader, isxd)


def timing_kwargs(times: np.ndarray, step: float, tolerance: float) -> dict[str, Any]:
    """``starting_time`` + ``rate`` when the samples lie on a regular grid, else ``timestamps``.

    The grid is the channel's sample period, or else the mean spacing; a sample within
    ``tolerance`` seconds counts as on it.  Regular timestamps written as such are a
    best-practice violation for the NWB Inspector (``check_regular_timestamps``).
    """
    n = len(times)
    if n >= 3:
        for period in (step, (times[-1] - times[0]) / (n - 1)):
            if period > 0:
                grid = times[0] + np.arange(n) * period
                if float(np.max(np.abs(times - grid))) <= tolerance:
                    return {"starting_time": float(times[0]), "rate": 1.0 / period}
    return {"timestamps": times}


def object_name(channel: str) -> str:
    """An NWB object name for a channel: its own name, without ``/`` (not allowed)."""
    return channel.replace("/", "_")


# ---------------------------------------------------------------- shared base
class InscopixChannelSetInterface(InscopixTimedInterface):
    """Shared base of the GPIO and IMU interfaces: channels, exclusion and alignment."""

    _kinds: tuple[str, ...] = ()
    _default_metadata_key = ""

    def __init__(self, file_path: str | os.PathLike[str], *,
                 exclude_channels: list[str] | None = None, metadata_key: str | None = None,
                 verbose: bool = False, **options: Any) -> None:
        super().__init__(verbose=verbose, file_path=file_path,
                         exclude_channels=exclude_channels, metadata_key=metadata_key, **options)
        self.metadata_key = metadata_key or self._default_metadata_key
        self._source = open_channels(file_path, self._kinds, type(self).__name__)
        excluded = list(exclude_channels or [])
        unknown = sorted(set(excluded) - set(self._source.names))
        if unknown:
            raise ValueError(f"{self._source.path}: exclude_channels names {unknown}, which the "
                             f"file does not have (channels: {list(self._source.names)})")
        self._indices = [i for i, n in enumerate(self._source.names) if n not in excluded]

    # -------------------------------------------------------------- channels
    def _start(self) -> Time:
        return self._source.start

    def get_channel_names(self) -> list[str]:
        """Names of the channels this interface writes (file order, exclusions removed)."""
        return [self._source.names[i] for i in self._indices]

    @cached_property
    def _data(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        return {i: self._source.data(i) for i in self._indices}

    def _index(self, channel_name: str) -> int:
        for i in self._indices:
            if self._source.names[i] == channel_name:
                return i
        raise KeyError(f"{self._source.path}: no written channel named {channel_name!r} "
                       f"(channels: {self.get_channel_names()})")

    def get_channel_data(self, channel_name: str) -> tuple[np.ndarray, np.ndarray]:
        """Aligned sample times (s) and values (float32, as isx reads them) of a channel."""
        i = self._index(channel_name)
        return self._aligned_times(i), self._data[i][1]

    # -------------------------------------------------------------- alignment
    @cached_property
    def _union(self) -> np.ndarray:
        parts = [t for t, _ in self._data.values()]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0)

    def get_original_timestamps(self) -> np.ndarray:
        """Sorted union of the sample times (s from the file start) of the written channels."""
        return self._union.copy()

    def get_original_channel_timestamps(self, channel_name: str) -> np.ndarray:
        """One channel's sample times as stored (s from the file start)."""
        return self._data[self._index(channel_name)][0].copy()

    def _aligned_times(self, index: int) -> np.ndarray:
        times = self._data[index][0]
        if self._aligned is None:
            return times
        return self._aligned[np.searchsorted(self._union, times)]

    def set_aligned_timestamps(self, aligned_timestamps: Any) -> None:
        """New times for :meth:`get_original_timestamps` (the union); every channel follows."""
        super().set_aligned_timestamps(aligned_timestamps)

    def set_aligned_starting_time(self, aligned_starting_time: float) -> None:
        """Shift every channel by ``aligned_starting_time`` seconds."""
        self.set_aligned_timestamps(self.get_timestamps() + float(aligned_starting_time))

    # -------------------------------------------------------------- metadata
    _entries_key = "channels"

    def _default_entries(self) -> dict[str, dict[str, Any]]:
        """Per written object (channel or sensor): name, description, unit, conversion."""
        raise NotImplementedError

    def get_metadata(self) -> Any:
        metadata = super().get_metadata()
        metadata[self.metadata_key] = {self._entries_key: self._default_entries()}
        return metadata

    def get_metadata_schema(self) -> dict[str, Any]:
        schema = super().get_metadata_schema()
        entry = {"type": "object", "properties": {
            "name": {"type": "string"}, "description": {"type": "string"},
            "unit": {"type": "string"}, "conversion": {"type": "number"}}}
        schema["properties"][self.metadata_key] = {
            "type": "object", "properties": {
                self._entries_key: {"type": "object", "additionalProperties": entry}}}
        return schema

    def _entries(self, metadata: dict | None) -> dict[str, dict[str, Any]]:
        """The default entries, each updated with what ``metadata`` gives for it."""
        given = ((metadata or {}).get(self.metadata_key) or {}).get(self._entries_key) or {}
        return {key: {**entry, **given.get(key, {})}
                for key, entry in self._default_entries().items()}

    def _warn(self, message: str) -> None:
        warnings.warn(f"{self._source.path}: {message}", UserWarning, stacklevel=3)


# ---------------------------------------------------------------- high periods
def is_binary(values: np.ndarray) -> bool:
    """True when every value is 0, 1 or NaN (a TTL line)."""
    finite = values[~np.isnan(values)]
    return bool(np.all((finite == 0) | (finite == 1)))


def high_periods(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and durations of the runs where a 0/1 line is 1.

    A run ends at the next sample that is not 1; its duration is NaN when that sample
    is NaN (dropped packets) or when the line is still high at its last sample.
    """
    high = values == 1
    prev = np.concatenate([[False], high[:-1]])
    onset = np.flatnonzero(high & ~prev)
    low = np.flatnonzero(~high)
    k = np.searchsorted(low, onset)
    has_end = k < len(low)
    end = low[np.minimum(k, max(len(low) - 1, 0))] if len(low) else np.zeros_like(onset)
    ok = has_end & ~np.isnan(values[end]) if len(onset) else has_end
    durations = np.where(ok, times[end] - times[onset], np.nan) if len(onset) else \
        np.zeros(0)
    return times[onset], durations.astype(np.float64)


# ---------------------------------------------------------------- interface
class InscopixGpioInterface(InscopixChannelSetInterface):
    """GPIO channels of an Inscopix acquisition as NWB (see the module docstring).

    Parameters
    ----------
    file_path
        ``.gpio`` (nVista 3 / nVoke 2, incl. closed-loop), ``.raw`` (nVoke 1),
        ``.hdf5`` (nVista 2) or a GPIO ``.isxd`` file.
    exclude_channels
        Channel names not to write (every other channel is written).
    digital_channels_as
        ``"events"`` (default): TTL lines as high-period ``EventsTable`` s;
        ``"timeseries"``: TTL lines as raw sample ``TimeSeries`` like analog channels.
    metadata_key
        Key of this interface's per-channel metadata (default ``"InscopixGpio"``);
        give each GPIO interface of one converter its own.
    verbose
        Unused; kept for neuroconv's interface signature.
    """

    display_name = "Inscopix GPIO"
    keywords = ("Inscopix", "GPIO", "TTL", "nVista", "nVoke")
    associated_suffixes = (".gpio", ".raw", ".hdf5", ".isxd")
    info = "Interface for Inscopix GPIO (digital/TTL and analog) channels."
    _kinds = ("gpio", "nvoke", "nvista2")
    _default_metadata_key = "InscopixGpio"

    def __init__(self, file_path: str | os.PathLike[str], *,
                 exclude_channels: list[str] | None = None,
                 digital_channels_as: Literal["events", "timeseries"] = "events",
                 metadata_key: str | None = None, verbose: bool = False) -> None:
        if digital_channels_as not in ("events", "timeseries"):
            raise ValueError("digital_channels_as must be 'events' or 'timeseries', got "
                             f"{digital_channels_as!r}")
        self.digital_channels_as = digital_channels_as
        super().__init__(file_path, exclude_channels=exclude_channels,
                         metadata_key=metadata_key, verbose=verbose,
                         digital_channels_as=digital_channels_as)

    def _is_events(self, index: int) -> bool:
        role = channel_role(self._source.names[index])[0]
        values = self._data[index][1]
        return (self.digital_channels_as == "events" and role == "digital"
                and is_binary(values) and bool(np.any(values == 1)))

    def _default_entries(self) -> dict[str, dict[str, Any]]:
        return {self._source.names[i]: self._channel_entry(i) for i in self._indices}

    def _channel_entry(self, index: int) -> dict[str, Any]:
        name = self._source.names[index]
        role, unit, what = channel_role(name)
        source = os.path.basename(self._source.path)
        if self._is_events(index):
            return {"name": object_name(name),
                    "description": f"High periods of the {what} '{name}' of {source}: "
                                   "timestamp = rising edge (or first sample if already "
                                   "high), duration = time to the falling edge (NaN if "
                                   "the fall is not recorded)."}
        held = "" if self._source.signal_types[index] == DENSE else \
            " Recorded on change: each value holds until the next sample."
        if role == "digital":
            held += (" Digital line: 0 low, 1 high (never high in this file)."
                     if is_binary(self._data[index][1]) else " Raw values as recorded.")
        return {"name": object_name(name), "unit": unit or "a.u.", "conversion": 1.0,
                "description": f"'{name}' of {source}: {what}.{held}"}

    def add_to_nwbfile(self, nwbfile: NWBFile, metadata: dict | None = None) -> None:
        """Add every written channel: TTL lines to ``nwbfile.events``, others to acquisition."""
        entries = self._entries(metadata)
        for i in self._indices:
            name = self._source.names[i]
            times, values = self._aligned_times(i), self._data[i][1]
            if self._is_events(i):
                nwbfile.add_events_table(self._events_table(entries[name], times, values))
                continue
            if channel_role(name)[0] == "digital" and self.digital_channels_as == "events" \
                    and not is_binary(values):
                self._warn(f"digital channel '{name}' holds values other than 0/1; written as "
                           "a TimeSeries of its raw samples")
            if channel_role(name)[0] == "unknown":
                self._warn(f"channel '{name}' is of an unknown kind; written as a TimeSeries "
                           "with unit 'a.u.'")
            if not len(times):
                self._warn(f"channel '{name}' has no samples and cannot be written; skipped")
                continue
            nwbfile.add_acquisition(self._time_series(i, entries[name], times, values))

    def _events_table(self, entry: dict[str, Any], times: np.ndarray,
                      values: np.ndarray) -> EventsTable:
        onsets, durations = high_periods(times, values)
        columns = [
            TimestampVectorData(name="timestamp", data=onsets, resolution=US,
                                description="Rising edge of each high period (s from the "
                                            "session start)."),
            DurationVectorData(name="duration", data=durations, resolution=US,
                               description="Time from the rising to the falling edge (s); "
                                           "NaN when the fall is not recorded."),
        ]
        return EventsTable(name=entry["name"], description=entry["description"],
                           source_description="Inscopix acquisition system (GPIO file)",
                           columns=columns)

    def _time_series(self, index: int, entry: dict[str, Any], times: np.ndarray,
                     values: np.ndarray) -> TimeSeries:
        return TimeSeries(name=entry["name"], description=entry["description"], data=values,
                          unit=entry["unit"], conversion=float(entry["conversion"]),
                          **timing_kwargs(times, self._source.steps[index], GRID_TOLERANCE))
