"""Movie frame timestamps to CSV (``export_movie_timestamps_to_csv``).

Spec: ``other.md`` §5.1 (layout, first-TSC extrapolation, number formats) and §5.2
(inputs sorted by start time, series check).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import IsxFormatError
from ._common import TextOutput, as_file_list, open_movie, parse_time_ref, round_half_away

__all__ = [
    "export_movie_timestamps_to_csv",
    "first_tsc",
    "format_times",
    "movie_tsc",
    "open_movie_series",
]


def has_frame_timestamps(movie: Any) -> bool:
    """True if the movie stores per-frame hardware timestamps (TSC)."""
    header = getattr(movie, "header", None)
    if header is not None and hasattr(header, "has_tsc"):
        return bool(header.has_tsc)
    return bool(getattr(movie, "has_tsc", getattr(movie, "has_frame_timestamps", False)))


def movie_tsc(movie: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(tsc, valid)``: per-frame TSCs in µs (int64, 0 where invalid) and the valid mask."""
    if not has_frame_timestamps(movie):
        raise IsxFormatError(movie.path, "Input movie does not have frame timestamps stored "
                             "in file.", key="hasFrameHeaderFooter")
    tsc = np.asarray(movie.tsc).astype(np.int64)
    valid = np.asarray(movie.timing.valid_mask(), bool)
    return np.where(valid, tsc, 0), valid


def first_tsc(tsc: np.ndarray, valid: np.ndarray, period: Fraction | Any) -> int:
    """TSC of frame 0, extrapolated back from the first valid frame if 0 is invalid."""
    good = np.flatnonzero(valid)
    if len(good) == 0:
        raise ValueError("movie has no valid frame to take a timestamp from")
    k = int(good[0])
    if k == 0:
        return int(tsc[0])
    period_us = float(period) * 1e6
    return round_half_away(int(tsc[k]) - period_us * k)


def _start_key(movie: Any) -> Fraction:
    return movie.timing.start.secs_since_epoch.fraction


def check_series(movies: Sequence[Any]) -> None:
    """isx's series rules: one pixel type and grid, no temporal overlap (sorted input)."""
    first = movies[0]
    for prev, movie in itertools.pairwise(movies):
        if np.dtype(movie.dtype) != np.dtype(first.dtype):
            raise IsxFormatError(movie.path, "all movies of a series must have the same data "
                                 "type", expected=np.dtype(first.dtype),
                                 found=np.dtype(movie.dtype))
        if tuple(movie.spacing.shape) != tuple(first.spacing.shape):
            raise IsxFormatError(movie.path, "all movies of a series must have the same "
                                 "spacing", expected=first.spacing.shape,
                                 found=movie.spacing.shape)
        t = prev.timing
        end = _start_key(prev) + t.period.fraction * t.num_samples
        if _start_key(movie) < end:
            raise IsxFormatError(movie.path, "Unable to insert data that temporally overlaps "
                                 f"with other parts of the series ({prev.path}).",
                                 key="timingInfo.start", expected=f">= {float(end):.6f} s",
                                 found=f"{float(_start_key(movie)):.6f} s")


def open_movie_series(paths: Sequence[str], *, allow_isxd: bool = True,
                      allow_isxb: bool = True) -> list[Any]:
    """Open movies, sort them by start time and check that they form a series."""
    movies = []
    for p in paths:
        if not allow_isxd and not p.lower().endswith(".isxb"):
            raise IsxFormatError(p, "this export accepts nVision (.isxb) movies only",
                                 expected=".isxb", found=os.path.splitext(p)[1])
        movies.append(open_movie(p, allow_isxb=allow_isxb))
    movies.sort(key=_start_key)
    if len({m.path.lower().endswith(".isxb") for m in movies}) > 1:
        raise IsxFormatError(movies[1].path, "a series cannot mix .isxd and .isxb movies")
    check_series(movies)
    return movies


def format_times(delta_us: np.ndarray, time_ref: str, start_num: int) -> list[str]:
    """Timestamps of frames as isx prints them, from their TSC minus the first TSC (µs)."""
    delta = np.asarray(delta_us, np.int64)
    if time_ref == "tsc":
        raise ValueError("format_times does not handle 'tsc'")
    seconds = delta / 1e6
    if time_ref == "unix":
        seconds = start_num / 1e3 + seconds
    return list(map("%.6f".__mod__, seconds.tolist()))


def timestamp_column(movies: Sequence[Any], time_ref: str) -> list[list[str]]:
    """Per movie, the formatted timestamp of each frame (``NaN`` for invalid frames)."""
    parts = [movie_tsc(m) for m in movies]
    base = first_tsc(*parts[0], movies[0].timing.period)
    start_num = movies[0].timing.start.secs_since_epoch.num
    out = []
    for tsc, valid in parts:
        text = (list(map(str, tsc.tolist())) if time_ref == "tsc"
                else format_times(tsc - base, time_ref, start_num))
        out.append([t if ok else "NaN" for t, ok in zip(text, valid.tolist(), strict=True)])
    return out


def export_movie_timestamps_to_csv(input_movie_files: Any, output_csv_file: str,
                                   time_ref: str = "start") -> None:
    """Export the frame timestamps of movies to a CSV file (as ``isx``).

    Accepts ``.isxd`` movies with frame timestamps and nVision ``.isxb`` movies.
    Movies are sorted by start time and must form a series.  One row per frame
    (invalid frames print ``NaN``); the first frame's timestamp of the first movie is
    extrapolated if that frame is invalid.

    Parameters
    ----------
    input_movie_files
        Path(s) of the movies.
    output_csv_file
        The CSV file to write (must not exist).
    time_ref : {'start', 'unix', 'tsc'}
        Seconds since the first frame, seconds since the Unix epoch, or the hardware
        counter (µs).
    """
    time_ref = parse_time_ref(time_ref)
    movies = open_movie_series(as_file_list(input_movie_files, "input movie files"))
    unit = "us" if time_ref == "tsc" else "s"
    columns = timestamp_column(movies, time_ref)

    def rows():
        g = 0
        for m, col in enumerate(columns):
            for local, ts in enumerate(col):
                yield f"{g},{m},{local},{ts}"
                g += 1

    with TextOutput(output_csv_file) as out:
        out.line(f"Global Frame Number,Movie Number,Local Frame Number,Frame Timestamp ({unit})")
        out.lines(rows())
