"""Movies to NWB (``export_movie_to_nwb``) with pynwb, streaming frame blocks.

Spec: ``other.md`` §5.12 describes what isx 2.1.0 writes: an NWB 1.0.6 file that
current NWB tools cannot read, uint16 movies stored as int16, timestamps computed by
subtracting two large doubles, and a session start time in the exporting machine's
time zone.  This exporter keeps isx's arguments and content (one ``ImageSeries`` per
input movie under ``/analysis/<name>``, valid frames only, per-frame timestamps) and
writes a standard NWB 2 file instead:

* pixels keep their type (uint16 stays uint16, uint8 stays uint8);
* frames are stored ``(frames, x, y)`` = ``(frames, columns, rows)``, the NWB
  ``ImageSeries`` convention also used by neuroconv/roiextractors;
* ``session_start_time`` is the earliest movie start, in the recording's UTC offset;
* timestamps are seconds from that start, computed without cancellation.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ._common import (
    DEFAULT_CHUNK_FRAMES,
    as_file_list,
    atomic_file,
    iter_chunks,
    open_movie,
    optional_import,
    progress_bar,
)

__all__ = ["export_movie_to_nwb", "movie_series_name", "valid_frame_times"]


def movie_series_name(path: str) -> str:
    """isx's series name: the file name up to its first dot."""
    return os.path.basename(path).split(".")[0] or "movie"


def _unique_names(paths: Sequence[str]) -> list[str]:
    names: list[str] = []
    for p in paths:
        base = name = movie_series_name(p)
        k = 1
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def valid_frame_times(movie: Any, session_start: Fraction) -> np.ndarray:
    """Seconds from ``session_start`` to each valid frame of ``movie`` (float64)."""
    timing = movie.timing
    offset = float(timing.start.secs_since_epoch.fraction - session_start)
    k = np.flatnonzero(timing.valid_mask()).astype(np.float64)
    return offset + k * (timing.period.num / timing.period.den)


def _frames(movie: Any, chunk_frames: int, bar: Any) -> Iterator[np.ndarray]:
    for _, block in iter_chunks(movie, chunk_frames, valid_only=True):
        yield from block.transpose(0, 2, 1)
        bar.update(len(block))


def _series(pynwb: Any, movie: Any, name: str, session_start: Fraction, chunk_frames: int,
            bar: Any, comments: str, description: str) -> Any:
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from hdmf.data_utils import DataChunkIterator

    rows, cols = movie.spacing.shape
    dtype = np.dtype(movie.dtype)
    n_valid = movie.timing.num_valid
    if n_valid:
        data: Any = DataChunkIterator(data=_frames(movie, chunk_frames, bar),
                                      maxshape=(n_valid, cols, rows), dtype=dtype,
                                      buffer_size=chunk_frames)
        data = H5DataIO(data, chunks=(min(chunk_frames, n_valid), cols, rows))
    else:
        data = np.zeros((0, cols, rows), dtype)
    return pynwb.image.ImageSeries(
        name=name, data=data, unit="n.a.", format="raw",
        timestamps=valid_frame_times(movie, session_start),
        dimension=[cols, rows],
        description=description or "no description", comments=comments or "no comments")


def export_movie_to_nwb(input_movie_files: Any, output_nwb_file: str, identifier: str = "",
                        session_description: str = "", comments: str = "",
                        description: str = "", experiment_description: str = "",
                        experimenter: str = "", institution: str = "", lab: str = "",
                        session_id: str = "", *, chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                        progress: bool = False) -> None:
    """Export ``.isxd`` movies to an NWB 2 file, one ``ImageSeries`` per movie.

    Same arguments as ``isx.export_movie_to_nwb``; see the module docstring for how the
    file differs from isx's NWB 1.0.6 output.  Frames are streamed in blocks of
    ``chunk_frames``.  An empty ``identifier`` is replaced by a random UUID (NWB
    requires a unique one).

    Parameters
    ----------
    input_movie_files
        Path(s) of the ``.isxd`` movies.
    output_nwb_file
        The NWB file to write (must not exist).
    identifier, session_description, experiment_description, experimenter,
    institution, lab, session_id
        NWB file fields (empty strings are left out).
    comments, description
        Comments and description of each ``ImageSeries``.
    chunk_frames
        Frames per block (and per HDF5 chunk).
    progress
        Show a tqdm progress bar (needs ``isxio[progress]``).
    """
    pynwb = optional_import("pynwb", "nwb")
    optional_import("pynwb.image", "nwb")  # loads the submodule used below

    paths = as_file_list(input_movie_files, "input movie files")
    movies = [open_movie(p, allow_isxb=False, min_frames=2) for p in paths]
    first = min(movies, key=lambda m: m.timing.start.secs_since_epoch.fraction)
    session_start = first.timing.start.secs_since_epoch.fraction
    optional = {"experiment_description": experiment_description, "institution": institution,
                "lab": lab, "session_id": session_id,
                "experimenter": [experimenter] if experimenter else None}
    nwbfile = pynwb.NWBFile(
        session_description=session_description or "no description",
        identifier=identifier or str(uuid.uuid4()),
        session_start_time=first.timing.start.to_datetime(local=True),
        **{k: v for k, v in optional.items() if v})
    bar = progress_bar(sum(m.timing.num_valid for m in movies), "NWB", progress)
    try:
        for movie, name in zip(movies, _unique_names(paths), strict=True):
            nwbfile.add_analysis(_series(pynwb, movie, name, session_start, chunk_frames, bar,
                                         comments, description))
        with atomic_file(output_nwb_file) as tmp, pynwb.NWBHDF5IO(tmp, "w") as io:
            io.write(nwbfile)
    finally:
        bar.close()
