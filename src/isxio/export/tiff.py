"""Movies and images to TIFF, and TIFF images to ``.isxd`` (tifffile, streaming).

Spec: ``other.md`` §5.10.  isx writes one BigTIFF page per exported frame (invalid
frames skipped, or written as zeros), and starts a new file ``<base>_<k><ext>`` every
65535 pages.  The pages, their pixel type and the file split are reproduced; the
tags/byte layout are tifffile's (see ``docs/exports.md``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._optional import require
from ..errors import IsxFormatError
from ._common import (
    DEFAULT_CHUNK_FRAMES,
    as_file_list,
    atomic_file,
    check_new_output,
    iter_chunks,
    open_movie,
    progress_bar,
)

__all__ = [
    "MAX_TIFF_PAGES",
    "export_isxd_image_to_tiff",
    "export_movie_to_tiff",
    "export_tiff_to_isxd_image",
    "normalize_to_dtype",
    "tiff_part_paths",
]

#: isx starts a new TIFF file after this many pages.
MAX_TIFF_PAGES = 65535


def _tifffile() -> Any:
    return require("tifffile", "tiff", "TIFF export")


def tiff_part_paths(path: str, total_frames: int) -> list[str]:
    """Output files of an export of ``total_frames`` pages: ``path``, ``<base>_1<ext>``, ...

    The suffix is zero-padded to the number of digits of ``total_frames - 1``.
    """
    parts = max(1, -(-total_frames // MAX_TIFF_PAGES))
    base, ext = os.path.splitext(path)
    width = len(str(max(total_frames - 1, 0)))
    return [path] + [f"{base}_{k:0{width}d}{ext}" for k in range(1, parts)]


def _movie_frames(movies: Sequence[Any], write_invalid: bool, chunk_frames: int,
                  bar: Any) -> Iterator[np.ndarray]:
    """Exported frames of all movies in order, read in bounded blocks."""
    for movie in movies:
        for _, block in iter_chunks(movie, chunk_frames, valid_only=not write_invalid):
            yield from block
            bar.update(len(block))


def _write_pages(path: str, frames: Iterator[np.ndarray], count: int,
                 shape: tuple[int, int], dtype: np.dtype) -> None:
    """Write ``count`` frames from ``frames`` as pages of one BigTIFF file."""
    tifffile = _tifffile()
    taken = (next(frames) for _ in range(count))
    with atomic_file(path) as tmp, tifffile.TiffWriter(tmp, bigtiff=True, byteorder="<") as tw:
        tw.write(taken, shape=(count, *shape), dtype=dtype, photometric="minisblack",
                 rowsperstrip=1, metadata=None, software=False, contiguous=False)


def export_movie_to_tiff(input_movie_files: Any, output_tiff_file: str,
                         write_invalid_frames: bool = False, *,
                         chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                         progress: bool = False) -> None:
    """Export ``.isxd`` movies to a multi-page BigTIFF file (as ``isx``).

    One page per frame, movies in the given order.  Frames are streamed in blocks of
    ``chunk_frames``: memory does not grow with the movie.  Beyond 65535 pages the
    export continues in ``<base>_1<ext>``, ``<base>_2<ext>``, ... as isx does.

    Parameters
    ----------
    input_movie_files
        Path(s) of the ``.isxd`` movies (more than one frame each; same frame size and
        pixel type).
    output_tiff_file
        The TIFF file to write (must not exist).
    write_invalid_frames
        Write invalid (dropped, cropped, blank) frames as zero pages instead of
        leaving them out.
    chunk_frames
        Frames read per block.
    progress
        Show a tqdm progress bar (needs ``isxio[progress]``).
    """
    paths = as_file_list(input_movie_files, "input movie files")
    movies = [open_movie(p, allow_isxb=False, min_frames=2) for p in paths]
    first = movies[0]
    for m in movies[1:]:
        if m.spacing.shape != first.spacing.shape or m.dtype != first.dtype:
            raise IsxFormatError(m.path, "movies exported together must have the same frame "
                                 "size and pixel type",
                                 expected=f"{first.spacing.shape} {first.dtype}",
                                 found=f"{m.spacing.shape} {m.dtype}")
    total = sum(m.num_frames if write_invalid_frames else m.timing.num_valid for m in movies)
    outputs = tiff_part_paths(os.fspath(output_tiff_file), total)
    for out in outputs:
        check_new_output(out)
    bar = progress_bar(total, "TIFF", progress)
    frames = _movie_frames(movies, write_invalid_frames, chunk_frames, bar)
    try:
        for k, out in enumerate(outputs):
            count = min(MAX_TIFF_PAGES, total - k * MAX_TIFF_PAGES)
            _write_pages(out, frames, count, first.spacing.shape, first.dtype)
        # resume the reader past its last block so that the block is counted too
        if next(frames, None) is not None:  # pragma: no cover - a bug in the page count
            raise RuntimeError("TIFF export: more frames than pages")
    finally:
        bar.close()


# ------------------------------------------------------------------ images
def normalize_to_dtype(array: np.ndarray, dtype: Any = np.uint16) -> np.ndarray:
    """Rescale ``array`` to ``[0, 1]`` by its NaN-ignoring min and max, then to ``dtype``.

    Integer targets are scaled to their full range and truncated; float targets to the
    type's largest value.  Arithmetic keeps the input's numpy dtype, as isx does, so
    results (including wrap-around of a constant integer image) match isx exactly.
    """
    target = np.dtype(dtype)
    lo, hi = np.nanmin(array), np.nanmax(array)
    scaled = (array - lo) / (hi - lo) if hi - lo != 0 else array.copy()
    if target.kind in "ui":
        scaled *= np.iinfo(target).max
    else:
        scaled *= np.finfo(target).max
    if np.iscomplexobj(array) and target.kind != "c":
        scaled = np.real(scaled)
    with np.errstate(invalid="ignore", over="ignore"):
        return scaled.astype(target)


def export_isxd_image_to_tiff(input_isxd_image: str, output_tiff_file: str) -> None:
    """Export an ``.isxd`` image to a uint16 TIFF, rescaled to the full range (as ``isx``).

    Parameters
    ----------
    input_isxd_image
        The ``.isxd`` image (one frame).
    output_tiff_file
        The TIFF file to write (must not exist).
    """
    path = os.fspath(input_isxd_image)
    if not os.path.exists(path):
        raise FileNotFoundError(f"ISXD image not found: {path}")
    image = open_movie(path, allow_isxb=False)
    if image.num_frames != 1:
        raise IsxFormatError(path, "File has more than one frame; export it as a movie",
                             key="timingInfo.numTimes", expected=1, found=image.num_frames)
    data = normalize_to_dtype(np.array(image.data[0]), np.uint16)
    tifffile = _tifffile()
    with atomic_file(output_tiff_file) as tmp:
        tifffile.imwrite(tmp, data, photometric="minisblack", metadata=None, software=False)


def _image_for_isxd(image: np.ndarray) -> np.ndarray:
    """Pixel type conversion isx applies to a TIFF image before writing it as ``.isxd``."""
    if image.dtype in (np.float32, np.uint16):
        return image
    if image.dtype == np.float64:  # isx's rule would rescale to float32's maximum (~3e38)
        return image.astype(np.float32)  # but its TIFF reader cannot open float64 anyway
    if image.dtype == bool:
        return image.astype(np.uint16)
    return normalize_to_dtype(image, np.uint16)


def _as_displayed(image: np.ndarray, photometric: int) -> np.ndarray:
    """Pixels as isx's TIFF reader (Pillow) gives them: MINISWHITE 1/8-bit images inverted."""
    image = image.astype(image.dtype.newbyteorder("="), copy=False)
    if photometric == 0 and image.dtype == bool:
        return ~image
    if photometric == 0 and image.dtype == np.uint8:
        return 255 - image
    return image


def export_tiff_to_isxd_image(input_tiff_file: str, output_isxd_file: str) -> None:
    """Convert a single-channel TIFF image (first page) to an ``.isxd`` image (as ``isx``).

    float32 and uint16 pixels are kept, float64 becomes float32 (values kept), other
    types are rescaled to uint16 by :func:`normalize_to_dtype`; booleans become 0/1.
    The image gets a default spacing (3 µm pixels) and timing.

    Parameters
    ----------
    input_tiff_file
        The TIFF file.
    output_isxd_file
        The ``.isxd`` image to write (must not exist).
    """
    from ..formats.common import SpacingInfo
    from ..formats.movie import write_movie

    path = os.fspath(input_tiff_file)
    if not os.path.exists(path):
        raise FileNotFoundError(f"TIFF file not found: {path}")
    check_new_output(output_isxd_file)
    tifffile = _tifffile()
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        image = _as_displayed(page.asarray(), int(page.photometric))
    if image.ndim != 2:
        raise IsxFormatError(path, "only single-channel (2-D) TIFF images can be converted",
                             expected="2-D image", found=f"shape {image.shape}")
    image = _image_for_isxd(image)
    write_movie(output_isxd_file, image[np.newaxis], spacing=SpacingInfo(*image.shape))
