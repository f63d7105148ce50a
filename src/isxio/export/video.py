"""Movies to MP4 (``export_movie_to_mp4``) with PyAV, frame by frame.

Spec: ``other.md`` §5.11.  Like isx: MPEG-4 Part 2 video (FFmpeg ``mpeg4``), yuv420p,
GOP 10, frame size truncated to even numbers, bit rate from ``compression_quality``,
time base = frame period reduced to 16-bit terms (``'float'``) or ``1/round(fps)``
(``'int'``).  uint8 frames are written as they are; uint16/float32 frames are mapped
to 0..255 with the global min/max of all valid frames of all inputs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import IsxFormatError
from ._common import (
    DEFAULT_CHUNK_FRAMES,
    as_file_list,
    atomic_file,
    iter_chunks,
    open_movie,
    optional_import,
    progress_bar,
)
from .overlay import draw_tracking

__all__ = ["export_movie_to_mp4", "mp4_time_base", "reduce_rational", "scale_to_u8"]

GOP_SIZE = 10
MAX_TIME_BASE = 65535  # MPEG-4 Part 2 limit on the time base denominator


def reduce_rational(num: int, den: int, limit: int) -> tuple[int, int]:
    """Closest fraction to ``num/den`` with numerator and denominator ``<= limit``.

    Walks the continued-fraction convergents; when the next one is too large, the best
    semi-convergent is taken if it is strictly closer (FFmpeg ``av_reduce`` semantics).
    """
    value = Fraction(num, den)
    if value.numerator <= limit and value.denominator <= limit:
        return value.numerator, value.denominator
    h0, k0, h1, k1 = 0, 1, 1, 0
    n, d = value.numerator, value.denominator
    while d:
        a, rem = divmod(n, d)
        h2, k2 = a * h1 + h0, a * k1 + k0
        if h2 > limit or k2 > limit:
            x = min((limit - h0) // h1 if h1 else a, (limit - k0) // k1 if k1 else a)
            if x >= 1:
                semi = Fraction(x * h1 + h0, x * k1 + k0)
                if k1 == 0 or abs(semi - value) < abs(Fraction(h1, k1) - value):
                    return x * h1 + h0, x * k1 + k0
            return h1, k1
        h0, k0, h1, k1 = h1, k1, h2, k2
        n, d = d, rem
    return h1, k1


def mp4_time_base(period: Any, frame_rate_format: str) -> Fraction:
    """The stream time base isx uses for a frame ``period`` (a Ratio or Fraction)."""
    period = Fraction(period.num, period.den) if hasattr(period, "den") else Fraction(period)
    if frame_rate_format == "float":
        return Fraction(*reduce_rational(period.numerator, period.denominator,
                                         MAX_TIME_BASE))
    if frame_rate_format == "int":
        fps = 1.0 / float(period)
        return Fraction(1, max(1, math.floor(fps + 0.5)))
    raise ValueError("Invalid frame rate format. Valid frame rate formats include: "
                     "float, int")


def scale_to_u8(frames: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map values to 0..255 by ``255 (v - lo) / (hi - lo)``, truncated (zeros if flat)."""
    if frames.dtype == np.uint8:
        return frames
    if hi <= lo:
        return np.zeros(frames.shape, np.uint8)
    scaled = (frames.astype(np.float64) - lo) * (255.0 / (hi - lo))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _global_range(movies: Sequence[Any], chunk_frames: int) -> tuple[float, float]:
    """Min and max over every valid frame of the non-uint8 movies (one streaming pass)."""
    lo, hi = math.inf, -math.inf
    for movie in movies:
        if np.dtype(movie.dtype) == np.uint8:
            continue
        for _, block in iter_chunks(movie, chunk_frames, valid_only=True):
            lo, hi = min(lo, float(np.nanmin(block))), max(hi, float(np.nanmax(block)))
    return lo, hi


def _yuv420(luma: np.ndarray) -> np.ndarray:
    """A yuv420p picture (PyAV layout: Y rows then U and V rows) with neutral chroma."""
    h, w = luma.shape
    out = np.full((h * 3 // 2, w), 128, np.uint8)
    out[:h] = luma
    return out


def _frames(movies: Sequence[Any], write_invalid: bool, chunk_frames: int, rng: tuple,
            size: tuple[int, int], draw: dict[str, bool]) -> Iterator[np.ndarray]:
    h, w = size
    for movie in movies:
        valid = movie.timing.valid_mask()
        for idx, block in iter_chunks(movie, chunk_frames, valid_only=not write_invalid):
            u8 = scale_to_u8(block, *rng)
            if write_invalid and not valid[idx].all():
                u8 = np.where(valid[idx, None, None], u8, np.uint8(0))  # invalid: black
            if any(draw.values()) and hasattr(movie, "tracking"):
                u8 = draw_tracking(u8.copy(), movie, idx, **draw)
            for frame in u8:
                yield frame[:h, :w]


def _check_inputs(movies: Sequence[Any]) -> None:
    first = movies[0]
    p0 = float(first.timing.period)
    for m in movies[1:]:
        if tuple(m.spacing.shape) != tuple(first.spacing.shape):
            raise IsxFormatError(m.path, "movies exported together must have the same frame "
                                 "size", expected=first.spacing.shape, found=m.spacing.shape)
        if abs(float(m.timing.period) - p0) > 0.01:
            warnings.warn(f"{m.path}: Steps don't match (frame period "
                          f"{float(m.timing.period):g} s vs {p0:g} s)", stacklevel=3)


def export_movie_to_mp4(input_movie_files: Any, output_mp4_file: str,
                        compression_quality: float = 0.1, write_invalid_frames: bool = False,
                        frame_rate_format: str = "float", draw_bounding_box: bool = True,
                        draw_bounding_box_center: bool = True, draw_zones: bool = True, *,
                        chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                        progress: bool = False) -> None:
    """Export movies (``.isxd`` or nVision ``.isxb``) to an MP4 file (as ``isx``).

    Frames are encoded one at a time (MPEG-4 Part 2, yuv420p, GOP 10): a movie larger
    than memory exports in bounded memory.  For ``.isxb`` movies with tracking data the
    bounding box, its centre and the zones can be drawn into the frames.

    Parameters
    ----------
    input_movie_files
        Path(s) of the movies, exported in the given order.
    output_mp4_file
        The MP4 file to write (must not exist).
    compression_quality
        0.001..1: bit rate as a fraction of the uncompressed data rate of the first movie.
    write_invalid_frames
        Write invalid frames as black frames instead of leaving them out.
    frame_rate_format : {'float', 'int'}
        Keep the exact frame period (reduced to 16-bit terms) or round the frame rate.
    draw_bounding_box, draw_bounding_box_center, draw_zones
        Overlays for ``.isxb`` movies with nVision tracking data.
    chunk_frames
        Frames read per block.
    progress
        Show a tqdm progress bar (needs ``isxio[progress]``).
    """
    av = optional_import("av", "video")
    if not 0.001 <= compression_quality <= 1:
        raise ValueError(f"compression_quality must be in [0.001, 1], got {compression_quality}")
    movies = [open_movie(p) for p in as_file_list(input_movie_files, "input movie files")]
    time_base = mp4_time_base(movies[0].timing.period, frame_rate_format)
    _check_inputs(movies)
    first = movies[0]
    rows, cols = first.spacing.shape
    size = (rows - rows % 2, cols - cols % 2)
    rate = first.timing.period.den / first.timing.period.num
    pixel_bits = np.dtype(first.dtype).itemsize * 8
    bit_rate = int(compression_quality * rate * rows * cols * pixel_bits)
    total = sum(m.timing.num_samples if write_invalid_frames else m.timing.num_valid
                for m in movies)
    draw = {"box": draw_bounding_box, "center": draw_bounding_box_center, "zones": draw_zones}
    frames = _frames(movies, write_invalid_frames, chunk_frames,
                     _global_range(movies, chunk_frames), size, draw)
    bar = progress_bar(total, "MP4", progress)
    try:
        with atomic_file(output_mp4_file) as tmp:
            _encode(av, tmp, frames, size, time_base, bit_rate, bar)
    finally:
        bar.close()


def _encode(av: Any, path: str, frames: Iterator[np.ndarray], size: tuple[int, int],
            time_base: Fraction, bit_rate: int, bar: Any) -> None:
    with av.open(path, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=1 / time_base)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = max(bit_rate, 1)
        stream.codec_context.gop_size = GOP_SIZE
        stream.codec_context.time_base = time_base
        for pts, luma in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(_yuv420(luma), format="yuv420p")
            picture.pts = pts
            picture.time_base = time_base
            container.mux(stream.encode(picture))
            bar.update(1)
        container.mux(stream.encode(None))
