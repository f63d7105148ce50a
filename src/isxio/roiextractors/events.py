"""Inscopix event sets (cell events, ``.isxd`` type 5) in the spirit of roiextractors.

roiextractors has no base class for detected events, so :class:`InscopixEventsExtractor`
is a plain class with roiextractors-style ``get_*`` methods.  It reads V1 and V2 event
files through :class:`isxio.formats.events.EventsFile`; GPIO and IMU files are refused.
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any

import numpy as np

from ..errors import IsxUnsupportedError
from ..formats.events import EVENT_METRIC_NAMES, EventsFile

__all__ = ["InscopixEventsExtractor"]

#: Where to go for the event-based kinds this extractor refuses.
_ELSEWHERE = {
    "gpio": "isxio.neuroconv.InscopixGpioInterface or isxio.open(path)",
    "imu": "isxio.neuroconv.InscopixImuInterface or isxio.open(path)",
}


class InscopixEventsExtractor:
    """Detected cell events of an Inscopix event set (``.isxd``, V1 or V2 layout).

    Channels are the cells of the event set, in the file's order.  Event times are
    float64 seconds since the file's start time (``global times[0]``), computed from
    the offsets **as stored** (whole µs): ``offset_us / 1e6``.  isx instead returns
    offsets that went through double seconds and truncation, which puts about 2 % of
    them 1 µs below the stored value; this extractor does not reproduce that
    rounding.  As in isx, events of one channel come back sorted by time, and events
    stored twice at the same time keep the last one written.  Unlike isx (which looks
    channels up by name), a channel whose name repeats an earlier one returns its own
    events.

    Parameters
    ----------
    file_path
        The event set ``.isxd`` file.

    Raises
    ------
    IsxUnsupportedError
        The file is a GPIO or IMU file (same container, other meaning).
    """

    extractor_name = "InscopixEventsExtractor"

    def __init__(self, file_path: str | os.PathLike[str]) -> None:
        self.file_path = os.fspath(file_path)
        self._file = EventsFile(self.file_path)
        kind = self._file.kind
        if kind != "events":
            raise IsxUnsupportedError(
                self.file_path, f"is a {kind.upper()} file, not a cell event set; "
                f"read it with {_ELSEWHERE.get(kind, 'isxio.open(path)')}",
                key="type", expected="5 (events)", found=self._file.header.type)
        self._data = self._file.all_channel_data(stored_offsets=True, by_name=False)

    # ------------------------------------------------------------------ channels
    def get_channel_names(self) -> list[str]:
        """Cell names, in file order."""
        return self._file.channel_names

    def get_num_channels(self) -> int:
        return self._file.num_channels

    def _channel(self, channel: int | str) -> int:
        """Index of ``channel`` (an index, negative allowed, or a name: its first use)."""
        if isinstance(channel, str):
            return self._file.channel_index(channel)
        n = self.get_num_channels()
        if isinstance(channel, bool) or not isinstance(channel, int | np.integer) \
                or not -n <= int(channel) < n:
            raise IndexError(f"channel {channel!r} out of range for {n} channel(s) "
                             f"in {self.file_path}")
        return int(channel) % n

    def get_event_times(self, channel: int | str) -> np.ndarray:
        """Event times of ``channel`` (index or name): float64 seconds since the start."""
        offsets, _ = self._data[self._channel(channel)]
        return offsets.astype(np.float64) / 1e6

    def get_event_offsets(self, channel: int | str) -> np.ndarray:
        """Event times of ``channel`` as stored: int64 µs since the start."""
        offsets, _ = self._data[self._channel(channel)]
        return offsets.view(np.int64).copy()

    def get_event_amplitudes(self, channel: int | str) -> np.ndarray:
        """Event amplitudes of ``channel`` (float32, as stored), in time order."""
        return self._data[self._channel(channel)][1].copy()

    def get_num_events(self) -> int:
        """Events in the file (after collapsing same-time duplicates)."""
        return sum(len(off) for off, _ in self._data)

    def get_events(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every event, sorted by time (ties by channel index).

        Returns
        -------
        times, amplitudes, channels
            float64 seconds since the start, float32 amplitudes, int64 channel indices.
        """
        counts = [len(off) for off, _ in self._data]
        if not sum(counts):
            return np.zeros(0), np.zeros(0, np.float32), np.zeros(0, np.int64)
        offsets = np.concatenate([off.view(np.int64) for off, _ in self._data])
        amps = np.concatenate([amp for _, amp in self._data])
        chans = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        order = np.lexsort((chans, offsets))
        return offsets[order].astype(np.float64) / 1e6, amps[order], chans[order]

    # ------------------------------------------------------------------ timing
    def get_sampling_frequency(self) -> float:
        """Samples per second of the file timing (isx's rule: smallest channel step)."""
        return float(self._file.timing.sampling_rate)

    def get_num_samples(self) -> int:
        """Samples of the file timing (as isx reports it)."""
        return int(self._file.timing.num_samples)

    def get_start_time(self) -> _dt.datetime:
        """The file's start time, timezone-aware, in the file's local time (``utcOffset``)."""
        return self._file.global_start.to_datetime(local=True)

    # ------------------------------------------------------------------ metadata
    def get_metrics(self) -> dict[str, np.ndarray] | None:
        """Per-channel event metrics ``{name: (channels,) float64}`` or None if none stored.

        Names are :data:`isxio.formats.events.EVENT_METRIC_NAMES`; NaN where a value
        is null or a channel has no metrics.
        """
        return self._file.metrics_dict()

    @property
    def metric_names(self) -> tuple[str, ...]:
        return EVENT_METRIC_NAMES

    @property
    def extra_properties(self) -> Any:
        """The file's ``extraProperties`` JSON value, verbatim (None when null)."""
        return self._file.extra_properties

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.file_path!r} {self.get_num_channels()} "
                f"channel(s), {self.get_num_events()} event(s)>")
