"""Event sets, GPIO and IMU data to CSV (``export_event_set_to_csv``,
``export_gpio_set_to_csv``, ``export_gpio_to_isxd``).

Spec: ``other.md`` §0.3 (number formats), §0.4 (exact unreduced ratio arithmetic of
times), §5.5 (GPIO), §5.6 (IMU) and §5.7 (event sets).  Times are computed exactly as
isxcore does: ``(start + offset) - base`` as unreduced ratios, then ``num / den`` in
doubles, printed with 16 significant digits.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import IsxFormatError, IsxTypeError
from ..formats.common import Ratio
from ._common import TextOutput, as_file_list, check_new_output, parse_time_ref

__all__ = [
    "export_event_set_to_csv",
    "export_gpio_set_to_csv",
    "export_gpio_to_isxd",
    "ratio_seconds",
    "series_metrics",
]

US = 1_000_000
#: GPIO acquisition files: nVista 3 / nVoke 2, nVoke 1, nVista 2 (HDF5, needs h5py).
GPIO_EXTENSIONS = (".gpio", ".raw", ".hdf5")
IMU_ACC_SCALE = np.float32(16384.0)
_SET_TIME_REFS = ("start", "unix")
_GPIO_KINDS = ("gpio", "imu", "nvoke", "nvista2")


# ------------------------------------------------------------------ exact times
def ratio_seconds(k: np.ndarray, unit: Ratio, start: Ratio, base: Ratio | None) -> np.ndarray:
    """``(start + k * unit) - base`` in isxcore's unreduced ratio arithmetic, as doubles.

    ``k`` is an integer array (µs offsets with ``unit`` = 1/1e6, or sample indices with
    ``unit`` = the period); ``base`` None means no subtraction (Unix time).
    """
    den = unit.den if start.den == unit.den else math.lcm(start.den, unit.den)
    const = start.num * (den // start.den)
    coef = unit.num * (den // unit.den)
    if base is not None:
        if base.den == den:
            const -= base.num
        else:
            wide = math.lcm(den, base.den)
            const = const * (wide // den) - base.num * (wide // base.den)
            coef, den = coef * (wide // den), wide
    k = np.asarray(k)
    kmax = int(np.abs(k).max()) if k.size else 0
    if abs(const) + kmax * abs(coef) < 2**53:  # exact in int64 and in float64
        nums = const + k.astype(np.int64) * coef
        return nums.astype(np.float64) / float(den)
    nums = k.astype(object) * coef + const  # Python integers; float() rounds to nearest
    return nums.astype(np.float64) / float(den)


def _g16(values: np.ndarray) -> list[str]:
    return list(map("%.16g".__mod__, np.asarray(values, np.float64).tolist()))


def _g7(values: np.ndarray) -> list[str]:
    return list(map("%.7g".__mod__, np.asarray(values, np.float64).tolist()))


# ------------------------------------------------------------------ inputs
class _ChannelSet:
    """A uniform view of an event/GPIO/IMU source: names, start, exact samples."""

    def __init__(self, path: str, reader: Any, kind: str) -> None:
        self.path, self.reader, self.kind = path, reader, kind
        self.names = list(reader.channel_names)
        start = getattr(reader, "global_start", None) or reader.start
        self.start: Ratio = start.secs_since_epoch
        self.timing = reader.timing

    def channel(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact stored offsets (µs since ``start``) and values of channel ``i``."""
        if hasattr(self.reader, "global_start"):  # EventsFile (.isxd)
            offsets, values = self.reader.channel_data(i, stored_offsets=True)
            if self.kind == "imu" and i < 3:
                values = values / IMU_ACC_SCALE
        else:  # GpioFile / ImuFile (scaling already applied)
            offsets, values = self.reader.channel_data(i, exact=True)
        return np.asarray(offsets, np.int64), np.asarray(values, np.float32)


def _open_set(path: str, kinds: Sequence[str]) -> _ChannelSet:
    ext = os.path.splitext(path)[1].lower()
    if ext in GPIO_EXTENSIONS:
        from ..formats.gpio import GpioFile

        reader: Any = GpioFile(path)
        kind = "gpio"
    elif ext == ".imu":
        from ..formats.imu import ImuFile

        reader, kind = ImuFile(path), "imu"
    else:
        from ..formats.events import EventsFile

        reader = EventsFile(path)
        kind = reader.kind
    if kind not in kinds:
        raise IsxTypeError(path, "unsupported data set for this export", key="type",
                           expected=" or ".join(kinds), found=kind)
    return _ChannelSet(path, reader, kind)


def _time_ref(time_ref: str) -> str:
    if time_ref not in _SET_TIME_REFS:
        raise ValueError(f"Invalid setting for writeTimeRelativeTo: {time_ref!r} "
                         f"(expected one of {list(_SET_TIME_REFS)})")
    return parse_time_ref(time_ref, _SET_TIME_REFS)


def _offset_seconds(src: _ChannelSet, offsets: np.ndarray, base: Ratio | None) -> np.ndarray:
    return ratio_seconds(offsets, Ratio(1, US), src.start, base)


# ------------------------------------------------------------------ event sets
def _dense_rows(sets: Sequence[_ChannelSet], base: Ratio | None, amplitude: bool
                ) -> Iterator[str]:
    """Cell-major: every event of cell 0 (all files in order), then cell 1, ..."""
    for i, name in enumerate(sets[0].names):
        for src in sets:
            offsets, values = src.channel(src.names.index(name) if name in src.names else i)
            times = _g16(_offset_seconds(src, offsets, base))
            if amplitude:
                yield from (f"{t}, {name}, {v}" for t, v in zip(times, _g7(values),
                                                                strict=True))
            else:
                yield from (f"{t}, {name}" for t in times)


def sample_assignment(offsets: np.ndarray, src: _ChannelSet) -> np.ndarray:
    """Sample index of each event in isx's sparse grid (-1: not placed).

    Samples are visited in order; the next unplaced event goes to the current sample if
    it lies within half a period of it (both ends inclusive).  An event that misses its
    window blocks every later event of that cell, exactly as in isx.
    """
    timing = src.timing
    p = timing.period.fraction
    shift = src.start.fraction - timing.start.secs_since_epoch.fraction
    n = len(offsets)
    if n == 0:
        return np.zeros(0, np.int64)
    # u = (event - first sample) / period, exactly: (o * a + b) / c
    a = p.denominator * shift.denominator
    b = shift.numerator * US * p.denominator
    c = US * shift.denominator * p.numerator
    two_num = (offsets.astype(object) * a + b) * 2
    k_lo = -((c - two_num) // (2 * c))  # ceil(u - 1/2)
    k_hi = (two_num + c) // (2 * c)  # floor(u + 1/2)
    k_lo, k_hi = k_lo.astype(np.int64), k_hi.astype(np.int64)
    idx = np.arange(n)
    placed = idx + np.maximum.accumulate(np.maximum(k_lo, 0) - idx)
    ok = (placed <= k_hi) & (placed < timing.num_samples)
    stop = int(np.argmin(ok)) if not ok.all() else n
    out = np.full(n, -1, np.int64)
    out[:stop] = placed[:stop]
    return out


def _sparse_rows(sets: Sequence[_ChannelSet], base: Ratio | None, amplitude: bool
                 ) -> Iterator[str]:
    """One row per sample of each file's timing; events placed on their sample."""
    for src in sets:
        timing = src.timing
        n = timing.num_samples
        grid = np.zeros((n, len(src.names)), np.float32)
        for i in range(len(src.names)):
            offsets, values = src.channel(i)
            where = sample_assignment(offsets, src)
            keep = where >= 0
            grid[where[keep], i] = values[keep] if amplitude else 1.0
        times = _g16(ratio_seconds(np.arange(n), timing.period,
                                   timing.start.secs_since_epoch, base))
        cells = np.asarray(_g7(grid.ravel()), dtype=object).reshape(grid.shape)
        for t, row in zip(times, cells.tolist(), strict=True):
            yield ", ".join([t, *row])


# ------------------------------------------------------------------ properties file
#: Columns of ``EVENT_METRIC_NAMES`` that isx's properties file shows: snr, eventRate.
PROPS_METRICS = (0, 2)
PROPS_HEADER = "Name,SNR,EventRate(Hz)"


def _file_metrics(src: _ChannelSet) -> np.ndarray | None:
    """SNR and event rate per channel as isxcore holds them: float32 ``(channels, 2)``.

    None when the file stores no metrics.  A channel whose entry is ``{}`` or null, or
    that has no entry, counts as 0; a null value inside an entry is NaN (spec §7.2).
    Malformed metrics raise :class:`~isxio.errors.IsxFormatError` (isx fails too).
    """
    table = src.reader.channel_metrics
    if table is None:
        return None
    raw = src.reader.metrics
    listed = np.array([i < len(raw) and isinstance(raw[i], list)
                       for i in range(len(table))], bool)
    values = np.where(listed[:, None], table[:, PROPS_METRICS], 0.0)
    with np.errstate(over="ignore"):
        return values.astype(np.float32)


def series_metrics(sets: Sequence[_ChannelSet]) -> np.ndarray | None:
    """SNR and event rate of a series as isx prints them: float32 ``(channels, 2)``.

    Each file's values are weighted by its share of the series' duration: files in
    time order, ``acc += float32(value * (duration / total))`` in float32, durations
    ``num_samples * period`` in doubles.  A file without metrics counts as zeros.  None
    when the first file in time order has none (isx then writes the ``Name`` column
    alone, whatever the later files hold).
    """
    per_file = [_file_metrics(src) for src in sets]
    order = sorted(range(len(sets)), key=lambda i: sets[i].timing.start.secs_since_epoch.fraction)
    if per_file[order[0]] is None:
        return None
    durations = [np.float64(sets[i].timing.duration) for i in order]
    total = np.float64(0.0)
    for d in durations:
        total += d
    acc = np.zeros((len(sets[0].names), len(PROPS_METRICS)), np.float32)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for i, d in zip(order, durations, strict=True):
            m = per_file[i] if per_file[i] is not None else np.zeros_like(acc)
            acc = acc + (m.astype(np.float64) * (d / total)).astype(np.float32)
    return acc


def _g6(values: np.ndarray) -> list[str]:
    """C ``%g`` of float32 values (6 significant digits; ``-nan`` for a negative NaN)."""
    flat = np.asarray(values, np.float32).ravel()
    neg = np.signbit(flat)
    return ["-nan" if n and v != v else f"{v:g}"
            for v, n in zip(flat.tolist(), neg.tolist(), strict=True)]


def _props_lines(sets: Sequence[_ChannelSet]) -> list[str]:
    """The properties CSV: ``Name`` alone, or ``Name,SNR,EventRate(Hz)`` with metrics."""
    names = sets[0].names
    for src in sets[1:]:
        if src.names != names:
            raise IsxFormatError(src.path, "Events series member with mismatching channels",
                                 key="channel list", expected=names, found=src.names)
    metrics = series_metrics(sets)
    if metrics is None:
        return ["Name", *names]
    cells = np.asarray(_g6(metrics), dtype=object).reshape(metrics.shape).tolist()
    return [PROPS_HEADER, *(",".join([n, *row]) for n, row in zip(names, cells, strict=True))]


def export_event_set_to_csv(input_event_set_files: Any, output_csv_file: str,
                            time_ref: str = "start", output_props_file: str = "",
                            sparse_output: bool = True, write_amplitude: bool = True) -> None:
    """Export event sets to a CSV file (as ``isx``).

    Parameters
    ----------
    input_event_set_files
        Path(s) of event set ``.isxd`` files.
    output_csv_file
        The CSV file to write (must not exist).
    time_ref : {'start', 'unix'}
        Seconds since the start of the first event set, or since the Unix epoch.
    output_props_file
        Optional CSV of cell properties: ``Name``, plus ``SNR`` and ``EventRate(Hz)``
        when the event sets store metrics (one row per cell; with several files the
        duration-weighted mean, exactly as isx computes and prints it).
    sparse_output
        True: a grid with one row per sample and one column per cell (0 where no
        event); False: one row per event (``Time (s), Cell Name[, Value]``).
    write_amplitude
        Write event amplitudes (True) or 1 for each event (sparse) / no Value column.
    """
    time_ref = _time_ref(time_ref)
    paths = as_file_list(input_event_set_files, "input event set files")
    sets = [_open_set(p, ("events",)) for p in paths]
    for out in (output_csv_file, output_props_file):
        if out:
            check_new_output(out)
    props_lines = _props_lines(sets) if output_props_file else []
    base = sets[0].start if time_ref == "start" else None
    names = sets[0].names
    with TextOutput(output_csv_file) as out:
        if sparse_output:
            out.line(", ".join(["Time (s)", *names]))
            out.lines(_sparse_rows(sets, base, write_amplitude))
        else:
            out.line("Time (s), Cell Name, Value" if write_amplitude
                     else "Time (s), Cell Name")
            out.lines(_dense_rows(sets, base, write_amplitude))
    if output_props_file:
        with TextOutput(output_props_file) as props:
            props.lines(props_lines)


# ------------------------------------------------------------------ GPIO / IMU
def _gpio_rows(sets: Sequence[_ChannelSet], base: Ratio | None) -> Iterator[str]:
    for i, name in enumerate(sets[0].names):
        for src in sets:
            j = src.names.index(name) if name in src.names else None
            if j is None:
                continue
            offsets, values = src.channel(j)
            times = _g16(_offset_seconds(src, offsets, base))
            yield from (f"{t}, {name}, {v}" for t, v in zip(times, _g7(values), strict=True))
        del i


def _imu_rows(sets: Sequence[_ChannelSet], base: Ratio | None) -> Iterator[str]:
    for src in sets:
        acc = [src.channel(i) for i in range(6)]
        mag = [src.channel(i) for i in range(6, 9)]
        acc_t = _g16(_offset_seconds(src, acc[0][0], base))
        mag_t = _g16(_offset_seconds(src, mag[0][0], base))
        acc_v = [_g16(v) for _, v in acc]
        mag_v = [_g16(v) for _, v in mag]
        for r, t in enumerate(acc_t):
            fields = [t] + [col[r] if r < len(col) else "nan" for col in acc_v]
            if r < len(mag_t):
                fields += [mag_t[r]] + [col[r] if r < len(col) else "nan" for col in mag_v]
            yield ", ".join(fields)


IMU_HEADER = ("IMU Time (s), Acc x, Acc y, Acc z, Ori yaw, Ori pitch, Ori roll, "
              "Mag Time (s), Mag x, Mag y, Mag z")


def export_gpio_set_to_csv(input_gpio_set_files: Any, output_csv_file: str,
                           inter_isxd_file_dir: str = "/tmp", time_ref: str = "start") -> None:
    """Export GPIO or IMU data to a CSV file (as ``isx``).

    Accepts ``.gpio``/``.raw``/``.hdf5`` (nVista 2, needs ``isxio[hdf5]``) acquisition
    files, ``.imu`` files and their converted ``.isxd`` files.
    GPIO: ``Time (s), Channel Name, Value`` rows, channel-major.
    IMU (when the first input is IMU): one row per accelerometer/orientation sample,
    magnetometer columns on the first rows.

    Parameters
    ----------
    input_gpio_set_files
        Path(s) of the inputs (all GPIO or all IMU).
    output_csv_file
        The CSV file to write (must not exist).
    inter_isxd_file_dir
        Accepted for compatibility; isxio converts in memory and writes no
        intermediate file.
    time_ref : {'start', 'unix'}
        Seconds since the start of the first input, or since the Unix epoch.
    """
    del inter_isxd_file_dir
    time_ref = _time_ref(time_ref)
    paths = as_file_list(input_gpio_set_files, "input GPIO files")
    sets = [_open_set(p, _GPIO_KINDS) for p in paths]
    check_new_output(output_csv_file)
    imu = sets[0].kind == "imu"
    if any((s.kind == "imu") != imu for s in sets):
        raise IsxFormatError(sets[-1].path, "IMU and GPIO inputs cannot be exported together")
    base = sets[0].start if time_ref == "start" else None
    with TextOutput(output_csv_file) as out:
        out.line(IMU_HEADER if imu else "Time (s), Channel Name, Value")
        out.lines(_imu_rows(sets, base) if imu else _gpio_rows(sets, base))


def export_gpio_to_isxd(input_gpio_file: str, output_isxd_dir: str) -> None:
    """Convert a GPIO (``.gpio``/``.raw``/``.hdf5``) or ``.imu`` file to an ``.isxd`` (as isx).

    The output is ``<output_isxd_dir>/<name>_gpio.isxd`` (``_imu.isxd`` for IMU files,
    ``<name>.isxd`` for nVista 2 ``.hdf5`` files, as isx names them), with the packets
    in isx's write order.

    Parameters
    ----------
    input_gpio_file
        The acquisition file.
    output_isxd_dir
        The folder for the converted file.
    """
    from ..formats.common import TimingInfo
    from ..formats.events import EventsWriter

    path = as_file_list(input_gpio_file, "input GPIO file")[0]
    ext = os.path.splitext(path)[1].lower()
    if ext not in (*GPIO_EXTENSIONS, ".imu"):
        raise IsxFormatError(path, "not a GPIO/IMU acquisition file",
                             expected=", ".join((*GPIO_EXTENSIONS, ".imu")), found=ext)
    reader = _open_set(path, _GPIO_KINDS).reader
    kind = "imu" if reader.kind == "imu" else "gpio"
    name = os.path.basename(path).split(".")[0]
    suffix = "" if ext == ".hdf5" else f"_{kind}"
    out = os.path.join(os.fspath(output_isxd_dir), f"{name}{suffix}.isxd")
    check_new_output(out)
    timing = TimingInfo(0, reader.timing.period, reader.start)
    packets = reader.packets
    with EventsWriter(out, timing, reader.channel_names, kind=kind,
                      signal_steps=reader.channel_steps, signal_types=reader.signal_types,
                      global_end=reader.end, extra_properties=reader.extra_properties) as w:
        signal = packets["signal"].astype(np.int64)
        cuts = np.flatnonzero(np.diff(signal)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(packets)], strict=True):
            if hi > lo:  # one call per run of packets of the same channel
                w.set_cell_data(int(signal[lo]), packets["offset"][lo:hi],
                                packets["value"][lo:hi])
