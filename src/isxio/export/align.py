"""Start-time alignment of paired recordings (``align_start_times``) and their aligned
timestamps (``export_aligned_timestamps``).

Spec: ``other.md`` §5.13 and §5.14.  Files recorded in one paired and synchronised
session share a ``processingInterface.recordingUUID`` and a hardware clock (TSC, µs);
a timing reference (``.gpio``, ``.isxd`` movie with frame timestamps or ``.isxb``) gives
the start time that the other files' start times are moved to.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import IsxFormatError, IsxTypeError
from ..formats.common import Ratio, Time
from ._common import TextOutput, as_file_list, parse_time_ref, round_half_away
from .timestamps import first_tsc, format_times, has_frame_timestamps, movie_tsc

__all__ = ["align_start_times", "export_aligned_timestamps"]

US = 1_000_000


@dataclass
class _Source:
    """A timing source: its reader, kind and what alignment needs from it."""

    path: str
    reader: Any
    kind: str  # "gpio", "movie" or "isxb"

    @property
    def start(self) -> Time:
        r = self.reader
        return r.start if self.kind == "gpio" else r.timing.start

    @property
    def uuid(self) -> Any:
        extra = self.reader.extra_properties
        proc = extra.get("processingInterface") if isinstance(extra, dict) else None
        return proc.get("recordingUUID") if isinstance(proc, dict) else None

    def first_tsc(self) -> int:
        if self.kind == "gpio":
            value = self.reader.first_tsc
            if value is None:
                raise IsxFormatError(self.path, "GPIO file has no first TSC (firstTsc)",
                                     key="extraProperties.firstTsc")
            return int(value)
        if not has_frame_timestamps(self.reader):
            raise IsxFormatError(self.path, "Cannot get first tsc from movie with no frame "
                                 "timestamps.", key="hasFrameHeaderFooter")
        return first_tsc(*movie_tsc(self.reader), self.reader.timing.period)


def _open_source(path: str, allowed: Sequence[str]) -> _Source:
    ext = os.path.splitext(path)[1].lower()
    if ext in (".gpio", ".raw"):
        from ..formats.gpio import GpioFile

        src = _Source(path, GpioFile(path), "gpio")
    elif ext == ".isxb":
        from ..formats.isxb import IsxbFile

        src = _Source(path, IsxbFile(path), "isxb")
    else:
        src = _open_isxd(path)
    if src.kind not in allowed:
        raise IsxTypeError(path, f"Unsupported data type for this operation: {src.kind}",
                           expected=" or ".join(allowed), found=src.kind)
    return src


def _open_isxd(path: str) -> _Source:
    from ..formats.container import read_trailer

    trailer = read_trailer(path)
    kind = trailer.header.get("type")
    if kind in (0, 4):
        from ..formats.movie import MovieFile

        return _Source(path, MovieFile(path, trailer=trailer), "movie")
    if kind == 3:
        from ..formats.events import EventsFile

        reader = EventsFile(path)
        return _Source(path, _GpioIsxd(reader), "gpio")
    raise IsxTypeError(path, "Unsupported data type for this operation", key="type",
                       expected="a movie, nVision movie or GPIO data set", found=kind)


class _GpioIsxd:
    """A converted GPIO ``.isxd`` presented like a GpioFile (start, firstTsc, channels)."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.start = reader.global_start
        self.extra_properties = reader.extra_properties
        self.channel_names = reader.channel_names
        extra = reader.extra_properties
        tsc = extra.get("firstTsc") if isinstance(extra, dict) else None
        self.first_tsc = tsc if isinstance(tsc, int) else None

    def channel_data(self, i: int, exact: bool = True) -> tuple[np.ndarray, np.ndarray]:
        return self.reader.channel_data(i, stored_offsets=exact)


def _check_uuids(ref: _Source, others: Sequence[_Source]) -> None:
    if ref.uuid is None:
        raise IsxFormatError(ref.path, "Cannot determine if files are paired and synchronized"
                             " - no recording UUID in timing reference file metadata.",
                             key="processingInterface.recordingUUID")
    for src in others:
        if src.uuid != ref.uuid:
            raise IsxFormatError(src.path, "Files are not paired and synchronized - recording "
                                 f"UUID of align file ({src.uuid}) does not match recording "
                                 f"UUID of timing reference file ({ref.uuid}).",
                                 key="processingInterface.recordingUUID")


def _dedupe(ref: str, files: Sequence[str]) -> list[str]:
    out: list[str] = []
    for f in files:
        if os.path.abspath(f) == os.path.abspath(ref):
            warnings.warn(f"{f}: the timing reference is also an align file; ignored",
                          stacklevel=3)
        elif any(os.path.abspath(f) == os.path.abspath(o) for o in out):
            warnings.warn(f"{f}: given twice; aligned once", stacklevel=3)
        else:
            out.append(f)
    return out


# ------------------------------------------------------------------ align start times
def _rewrite_isxb_start(src: _Source, epoch_ms: int, utc_offset_s: int) -> None:
    """Header bytes 16-31: start (ms) and UTC offset in minutes, as isx 2.1.0 writes."""
    minutes = int(utc_offset_s / 60)
    with open(src.path, "r+b") as fh:
        fh.seek(16)
        fh.write(struct.pack("<Qq", epoch_ms, minutes))


def _rewrite_isxd_start(src: _Source, epoch_ms: int, utc_offset_s: int) -> None:
    """Trailer timing replaced by the timing isx reports (TSC period) with the new start."""
    from ..formats.container import rewrite_trailer

    trailer = src.reader.trailer
    timing = replace(src.reader.timing, start=Time(Ratio(epoch_ms, 1000), utc_offset_s))
    header = dict(trailer.header)
    header["timingInfo"] = timing.to_json()
    rewrite_trailer(src.path, trailer.data_size, header)


def align_start_times(input_ref_file: str, input_align_files: Any) -> None:
    """Move the start times of movies to the clock of a timing reference (as ``isx``).

    The new start of each align file is ``ref start (ms) + (align first TSC - ref first
    TSC) / 1000`` (rounded); files are rewritten in place only where it changes
    (``.isxb``: the header's start and UTC offset; ``.isxd``: the trailer's timing start).

    Parameters
    ----------
    input_ref_file
        The timing reference: ``.gpio``, ``.isxd`` movie with frame timestamps or
        ``.isxb``.
    input_align_files
        ``.isxd`` movies (with frame timestamps) or ``.isxb`` movies of the same
        paired and synchronised recording (same recording UUID).
    """
    ref_path = as_file_list(input_ref_file, "timing reference file")[0]
    paths = _dedupe(ref_path, as_file_list(input_align_files, "input align files"))
    ref = _open_source(ref_path, ("gpio", "movie", "isxb"))
    aligns = [_open_source(p, ("movie", "isxb")) for p in paths]
    _check_uuids(ref, aligns)
    ref_first = ref.first_tsc()
    ref_start = ref.start
    updates = []
    for src in aligns:
        new_ms = ref_start.secs_since_epoch.num + round_half_away(
            (src.first_tsc() - ref_first) / 1000)
        if new_ms != src.start.secs_since_epoch.num:
            updates.append((src, new_ms))
    for src, new_ms in updates:
        close = getattr(src.reader, "close", None)
        if close is not None:
            close()
        rewrite = _rewrite_isxb_start if src.kind == "isxb" else _rewrite_isxd_start
        rewrite(src, new_ms, ref_start.utc_offset)


# ------------------------------------------------------------------ aligned timestamps
def _source_tscs(src: _Source) -> tuple[np.ndarray, list[str] | None]:
    """TSCs (µs) contributed by a source and, for GPIO, the channel of each."""
    if src.kind != "gpio":
        tsc, _ = movie_tsc(src.reader)  # dropped frames contribute 0, as in isx
        return tsc, None
    r = src.reader
    first = src.first_tsc()
    start_den = r.start.secs_since_epoch.den
    den = US if start_den == US else np.lcm(start_den, US)
    scale = int(den) // US
    tscs, names = [], []
    for i, name in enumerate(r.channel_names):
        offsets, _ = r.channel_data(i, exact=True)
        tscs.append(first + np.asarray(offsets, np.int64) * scale)
        names += [name] * len(offsets)
    return (np.concatenate(tscs) if tscs else np.zeros(0, np.int64)), names


def _column(src: _Source, time_ref: str, ref_first: int, ref_start_num: int) -> list[list[str]]:
    tsc, names = _source_tscs(src)
    if time_ref == "tsc":
        times = list(map(str, tsc.tolist()))
    else:
        times = format_times(tsc - ref_first, time_ref, ref_start_num)
    return [times] if names is None else [times, names]


def _aligned_rows(columns: Sequence[list[str]]) -> Iterator[str]:
    n = max((len(c) for c in columns), default=0)
    for i in range(n):
        yield ",".join(c[i] if i < len(c) else "" for c in columns)


def export_aligned_timestamps(input_ref_file: str, input_align_files: Any,
                              input_ref_name: str, input_align_names: Any,
                              output_csv_file: str, time_ref: str = "start") -> None:
    """Export the timestamps of paired recordings on the reference clock (as ``isx``).

    Row ``i`` holds the ``i``-th timestamp of every input: movie frames (dropped frames
    give TSC 0, reproduced as isx prints them) and GPIO samples, channel by channel,
    with their channel name.

    Parameters
    ----------
    input_ref_file
        The timing reference (``.gpio``, ``.isxd`` movie or ``.isxb``).
    input_align_files
        Other files of the same recording (``.gpio``, ``.isxd``, ``.isxb``).
    input_ref_name, input_align_names
        Column names of the reference and of each align file.
    output_csv_file
        The CSV file to write (must not exist).
    time_ref : {'start', 'unix', 'tsc'}
        Seconds from the reference's first TSC, seconds since the Unix epoch, or µs.
    """
    time_ref = parse_time_ref(time_ref)
    ref_path = as_file_list(input_ref_file, "timing reference file")[0]
    paths = as_file_list(input_align_files, "input align files")
    names = [input_align_names] if isinstance(input_align_names, str) \
        else list(input_align_names)
    if len(names) != len(paths):
        raise ValueError(f"{len(paths)} align files but {len(names)} align names")
    kinds = ("gpio", "movie", "isxb")
    ref = _open_source(ref_path, kinds)
    aligns = [_open_source(p, kinds) for p in paths]
    _check_uuids(ref, aligns)
    ref_first = ref.first_tsc()
    start_num = ref.start.secs_since_epoch.num
    header, columns = [], []
    for src, name in zip([ref, *aligns], [input_ref_name, *names], strict=True):
        cols = _column(src, time_ref, ref_first, start_num)
        header += [f"{name} Timestamp (s)"] + ([f"{name} Channel"] if len(cols) == 2 else [])
        columns += cols
    with TextOutput(output_csv_file) as out:
        out.line(",".join(header))
        out.lines(_aligned_rows(columns))
