"""IMU channels (``.imu``, IMU ``.isxd``) -> NWB ``TimeSeries`` in the behavior module.

One ``TimeSeries`` per sensor, its axes as columns, in ``nwbfile.processing["behavior"]``:

============== ======================= =========== =============================================
series         channels (columns)      unit        stored data and conversion
============== ======================= =========== =============================================
Accelerometer  Acc x, Acc y, Acc z     m/s^2       g as isx returns it (raw / 16384, float32);
                                                   ``conversion`` = 9.80665, the standard
                                                   acceleration of gravity g_n (CGPM 1901,
                                                   ISO 80000-3), so data × conversion is m/s²
Orientation    Ori yaw, pitch, roll    radians     raw / 2048 (S4.11 fixed point), as stored
Magnetometer   Mag x, Mag y, Mag z     counts      raw signed sensor counts: **the file gives no
                                                   unit or scale** (spec ``other.md`` §3.1), so
                                                   the raw counts are kept, conversion 1
============== ======================= =========== =============================================

Units come from the format spec; the file stores no unit strings.  The sensors sample
at a fixed rate, so the series get ``starting_time`` + ``rate``: the exact grid of the
file's period.  The µs offsets isx reports are that grid after double conversions and
truncations, up to about 2 µs early; dropped samples are NaN, as in isx.
An IMU ``.isxd`` (what isx converts an ``.imu`` into) stores raw accelerometer counts;
they are divided by 16384 exactly as ``isx.GpioSet`` does for ``.imu`` files.

``exclude_channels`` drops single axes (the series keeps the others, and its
description lists its columns).  A channel of unknown name is written as its own
``TimeSeries`` (unit ``"a.u."``) with a warning; a sensor without samples cannot be
written and is skipped with a warning naming it.  Alignment: as
:class:`~isxio.neuroconv.InscopixGpioInterface` (one clock shift for all sensors).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from neuroconv.tools.nwb_helpers import get_module
from pynwb import NWBFile, TimeSeries

from ..formats.imu import ACC_SCALE
from .gpio import InscopixChannelSetInterface, object_name, timing_kwargs

__all__ = ["STANDARD_GRAVITY", "InscopixImuInterface"]

#: IMU offsets are the sample grid truncated to µs twice (isxcore, spec §3.4).
GRID_TOLERANCE = 2.5e-6
#: g_n in m/s² (exact by definition).
STANDARD_GRAVITY = 9.80665

#: series name, channel names, unit, conversion, description.
SENSORS: tuple[tuple[str, tuple[str, ...], str, float, str], ...] = (
    ("Accelerometer", ("Acc x", "Acc y", "Acc z"), "m/s^2", STANDARD_GRAVITY,
     "Head-mounted accelerometer. Data are in g (raw counts / 16384, as isx reads them); "
     "conversion 9.80665 (standard gravity g_n) gives m/s^2."),
    ("Orientation", ("Ori yaw", "Ori pitch", "Ori roll"), "radians", 1.0,
     "Head orientation from the IMU's sensor fusion: yaw, pitch, roll in radians "
     "(raw S4.11 fixed point / 2048)."),
    ("Magnetometer", ("Mag x", "Mag y", "Mag z"), "counts", 1.0,
     "Magnetometer, raw signed sensor counts: the file states no unit or scale to tesla, "
     "so none is applied."),
)

KNOWN = frozenset(name for sensor in SENSORS for name in sensor[1])


class InscopixImuInterface(InscopixChannelSetInterface):
    """IMU sensors of an nVista 3 / nVoke 2 acquisition as NWB (see the module docstring).

    Parameters
    ----------
    file_path
        An ``.imu`` file or the IMU ``.isxd`` isx converts it into.
    exclude_channels
        Channel names (``"Acc x"``, ..., ``"Mag z"``) not to write.
    metadata_key
        Key of this interface's per-sensor metadata (default ``"InscopixImu"``).
    verbose
        Unused; kept for neuroconv's interface signature.
    """

    display_name = "Inscopix IMU"
    keywords = ("Inscopix", "IMU", "accelerometer", "head orientation", "behavior")
    associated_suffixes = (".imu", ".isxd")
    info = "Interface for Inscopix IMU (accelerometer, orientation, magnetometer) data."
    _kinds = ("imu",)
    _default_metadata_key = "InscopixImu"
    _entries_key = "series"

    def __init__(self, file_path: str | os.PathLike[str], *,
                 exclude_channels: list[str] | None = None, metadata_key: str | None = None,
                 verbose: bool = False) -> None:
        super().__init__(file_path, exclude_channels=exclude_channels,
                         metadata_key=metadata_key, verbose=verbose)

    def _values(self, index: int) -> np.ndarray:
        """Channel values as isx reads an ``.imu`` (acceleration in g)."""
        values = self._data[index][1]
        if self._source.isxd and self._source.names[index] in SENSORS[0][1]:
            values = values / np.float32(ACC_SCALE)
        return values

    def get_channel_data(self, channel_name: str) -> tuple[np.ndarray, np.ndarray]:
        """Aligned sample times (s) and values (acceleration in g) of a channel."""
        i = self._index(channel_name)
        return self._aligned_times(i), self._values(i)

    def _groups(self) -> list[tuple[str, list[int], tuple[str, float, str]]]:
        """(series key, channel indices, (unit, conversion, description)) to write."""
        names = self._source.names
        groups = []
        for key, channels, unit, conversion, what in SENSORS:
            idx = [i for i in self._indices if names[i] in channels]
            times = [self._data[i][0] for i in idx]
            if all(np.array_equal(times[0], t) for t in times[1:]):
                groups.append((key, idx, (unit, conversion, what)))
            else:  # axes on different clocks: one series per axis
                groups += [(f"{key} {names[i]}", [i], (unit, conversion, what)) for i in idx]
        groups += [(names[i], [i], ("a.u.", 1.0, "IMU channel of unknown kind; unit not "
                                                 "stored in the file"))
                   for i in self._indices if names[i] not in KNOWN]
        return [g for g in groups if g[1]]

    def _default_entries(self) -> dict[str, dict[str, Any]]:
        source = os.path.basename(self._source.path)
        out = {}
        for key, idx, (unit, conversion, what) in self._groups():
            columns = ", ".join(self._source.names[i] for i in idx)
            out[key] = {"name": object_name(key), "unit": unit, "conversion": conversion,
                        "description": f"{what} Columns: {columns}. Source: {source}."}
        return out

    def add_to_nwbfile(self, nwbfile: NWBFile, metadata: dict | None = None) -> None:
        """Add one ``TimeSeries`` per sensor to ``nwbfile.processing["behavior"]``."""
        entries = self._entries(metadata)
        module = get_module(nwbfile, "behavior", "Processed behavioral data")
        for key, idx, _ in self._groups():
            names = [self._source.names[i] for i in idx]
            if not set(names) <= KNOWN:
                self._warn(f"channel '{key}' is of an unknown kind; written as a TimeSeries "
                           "with unit 'a.u.'")
            times = self._aligned_times(idx[0])
            if not len(times):
                self._warn(f"{key} ({', '.join(names)}) has no samples and cannot be "
                           "written; skipped")
                continue
            data = np.stack([self._values(i) for i in idx], axis=1)
            entry = entries[key]
            module.add(TimeSeries(name=entry["name"], description=entry["description"],
                                  data=data if len(idx) > 1 else data[:, 0],
                                  unit=entry["unit"], conversion=float(entry["conversion"]),
                                  **timing_kwargs(times, self._source.steps[idx[0]],
                                                  GRID_TOLERANCE)))
