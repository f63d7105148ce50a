"""Code written for isx runs unchanged with ``import isxio as isx``.

The same script (modelled on the examples of isx's own documentation) runs once with
``isx`` and once with ``isxio`` in its place; every file it writes must be identical.
"""

from __future__ import annotations

import numpy as np
import pytest

import isxio

isx_module = pytest.importorskip("isx")
pytestmark = pytest.mark.isx


def isx_workflow(isx, folder):
    """A typical isx session script: movie -> image -> cell set -> events -> exports."""
    timing = isx.Timing(num_samples=40, period=isx.Duration.from_msecs(50), dropped=[3])
    spacing = isx.Spacing(num_pixels=(12, 16))
    movie = isx.Movie.write(str(folder / "movie.isxd"), timing, spacing, np.uint16)
    rng = np.random.default_rng(0)
    for i in range(timing.num_samples):
        if i != 3:
            movie.set_frame_data(i, rng.integers(0, 4096, spacing.num_pixels, dtype=np.uint16))
    movie.flush()

    movie = isx.Movie.read(str(folder / "movie.isxd"))
    min_image = 4095 * np.ones(movie.spacing.num_pixels, dtype=movie.data_type)
    for i in range(movie.timing.num_samples):
        min_image = np.minimum(min_image, movie.get_frame_data(i))
    isx.Image.write(str(folder / "min.isxd"), movie.spacing, movie.data_type, min_image)

    cell_set = isx.CellSet.write(str(folder / "cells.isxd"), movie.timing, movie.spacing)
    for c in range(3):
        image = np.zeros(cell_set.spacing.num_pixels, np.float32)
        image[c * 3:c * 3 + 3, c * 4:c * 4 + 4] = 1
        trace = np.array([movie.get_frame_data(i)[image > 0].mean()
                          for i in range(movie.timing.num_samples)], np.float32)
        cell_set.set_cell_data(c, image, trace, f"C{c}")
    cell_set.flush()

    cell_set = isx.CellSet.read(str(folder / "cells.isxd"))
    names = [cell_set.get_cell_name(c) for c in range(cell_set.num_cells)]
    event_set = isx.EventSet.write(str(folder / "events.isxd"), cell_set.timing, names)
    offsets = np.array([x.to_usecs() for x in cell_set.timing.get_offsets_since_start()],
                       np.uint64)
    for c in range(cell_set.num_cells):
        trace = cell_set.get_cell_trace_data(c)
        above = trace > np.nanmedian(trace)
        event_set.set_cell_data(c, offsets[above], trace[above])
    event_set.flush()

    try:  # a movie without hardware timestamps: isx refuses, so must isxio
        isx.export_movie_timestamps_to_csv([str(folder / "movie.isxd")],
                                           str(folder / "timestamps.csv"))
        tsc_export = "ok"
    except Exception as exc:
        tsc_export = "frame timestamps" in str(exc)
    isx.export_event_set_to_csv([str(folder / "events.isxd")], str(folder / "events.csv"))
    return {
        "acq": movie.get_acquisition_info(),
        "statuses": [cell_set.get_cell_status(c) for c in range(cell_set.num_cells)],
        "tsc_export": tsc_export,
    }


def test_same_script_same_files(tmp_path):
    (tmp_path / "isx").mkdir()
    (tmp_path / "isxio").mkdir()
    theirs = isx_workflow(isx_module, tmp_path / "isx")
    ours = isx_workflow(isxio, tmp_path / "isxio")
    assert ours == theirs
    names = sorted(p.name for p in (tmp_path / "isx").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "isxio").iterdir())
    for name in names:
        assert (tmp_path / "isxio" / name).read_bytes() == \
            (tmp_path / "isx" / name).read_bytes(), name
