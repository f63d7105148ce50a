"""Helpers shared by the export tests: input files written with isx or isxio, and runners
that call an isx export and ours on the same inputs.  (No tests here.)"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.movie import (
    FRAME_HEADER_ITEMS,
    TSC_PIXEL,
    MovieWriter,
    encode_tsc,
    write_movie,
)

#: An acquisition version recent enough for isx to report frame timestamps (TSC).
TSC_EXTRA = {"producer": {"name": "IDAS", "version": "1.9.2"}}


def frames_for(n: int, shape: tuple[int, int], dtype: Any, seed: int = 0) -> np.ndarray:
    """Deterministic random frames of the given type (full uint16 range included)."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.float32:
        return (rng.standard_normal((n, *shape)) * 100).astype(np.float32)
    hi = np.iinfo(dtype).max
    return rng.integers(0, hi, (n, *shape), endpoint=True).astype(dtype)


def write_isx_movie(isx: Any, path: Path | str, n: int = 6, shape: tuple[int, int] = (4, 5),
                    dtype: Any = np.uint16, *, dropped: Sequence[int] = (),
                    cropped: Sequence[tuple[int, int]] = (), blank: Sequence[int] = (),
                    period_ms: int = 50, start_s: float = 0.0, seed: int = 0) -> np.ndarray:
    """Write a movie with isx; return the frames of every sample (zeros where invalid).

    isx cannot write uint8 movies: those are written by isxio (whose movie writer is
    byte-identical to isx's)."""
    frames = frames_for(n, shape, dtype, seed)
    invalid = set(dropped) | set(blank) | {i for a, b in cropped for i in range(a, b + 1)}
    frames[sorted(invalid)] = 0
    if np.dtype(dtype) == np.uint8:
        info = TimingInfo(n, Ratio(period_ms, 1000), Time(Ratio(round(start_s * 1000), 1000)),
                          tuple(dropped), tuple(cropped), tuple(blank))
        write_movie(path, frames, timing=info)
        return frames
    start = isx.Duration.from_msecs(round(start_s * 1000))
    timing = isx.Timing(num_samples=n, period=isx.Duration.from_msecs(period_ms),
                        start=isx.Time._from_secs_since_epoch(start) if start_s else isx.Time(),
                        dropped=list(dropped), cropped=[list(c) for c in cropped],
                        blank=list(blank))
    movie = isx.Movie.write(str(path), timing, isx.Spacing(num_pixels=shape), dtype)
    for i in range(n):
        if i not in invalid:
            movie.set_frame_data(i, frames[i])
    movie.flush()
    return frames


def write_tsc_movie(path: Path | str, n: int, *, start_ms: int, tsc0: int,
                    period_us: int = 50000, dropped: Sequence[int] = (),
                    cropped: Sequence[tuple[int, int]] = (),
                    jitter: Sequence[int] | None = None, shape: tuple[int, int] = (3, 4),
                    utc_offset: int = -25200) -> np.ndarray:
    """Write an nVista 3 style movie whose frame headers carry TSC timestamps (isx cannot
    write frame headers, so this uses isxio's writer).  Returns the TSC of each sample."""
    timing = TimingInfo(n, Ratio(period_us, 1_000_000), Time(Ratio(start_ms, 1000), utc_offset),
                        tuple(dropped), tuple(cropped))
    jitter = np.zeros(n, np.int64) if jitter is None else np.asarray(jitter, np.int64)
    tsc = tsc0 + np.arange(n, dtype=np.int64) * period_us + jitter
    with MovieWriter(path, timing, SpacingInfo(*shape), np.uint16, frame_header_footer=True,
                     extra_properties=TSC_EXTRA) as writer:
        for i in np.flatnonzero(timing.valid_mask()):
            header = np.zeros(FRAME_HEADER_ITEMS, np.uint16)
            header[TSC_PIXEL:TSC_PIXEL + 8] = encode_tsc(int(tsc[i]))
            writer.set_frame_data(int(i), np.full(shape, i % 65536, np.uint16), header=header)
    return tsc


def run_both(tmp: Path, name: str, isx_fn: Callable[..., Any], our_fn: Callable[..., Any],
             inputs: Any, *args: Any, **kwargs: Any) -> tuple[Path, Path]:
    """Run isx's export and ours on the same inputs; return (isx output, our output)."""
    theirs, ours = tmp / f"isx_{name}", tmp / f"our_{name}"
    isx_fn(inputs, str(theirs), *args, **kwargs)
    our_fn(inputs, str(ours), *args, **kwargs)
    return theirs, ours


def valid_frames(isx: Any, path: Path | str) -> np.ndarray:
    """The valid frames of a movie as isx reads them."""
    movie = isx.Movie.read(str(path))
    timing = movie.timing
    invalid = set(timing.dropped) | set(timing.blank)
    invalid |= {i for a, b in timing.cropped for i in range(a, b + 1)}
    keep = [i for i in range(timing.num_samples) if i not in invalid]
    return np.stack([movie.get_frame_data(i) for i in keep]) if keep else np.zeros(
        (0, *movie.spacing.num_pixels), movie.data_type)


def all_frames(isx: Any, path: Path | str) -> np.ndarray:
    movie = isx.Movie.read(str(path))
    return np.stack([movie.get_frame_data(i) for i in range(movie.timing.num_samples)])


def listdir(path: Path) -> list[str]:
    return sorted(os.listdir(path))
