"""The built-in example session (the README's main job) and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

import isxio
from isxio.cli import main
from isxio.examples import make_example_session

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx


def test_demo_command_runs(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "example_movie.isxd: MovieFile" in out and "cells" in out


def test_example_session_is_read_identically_by_isx(tmp_path):
    paths = make_example_session(tmp_path)
    assert set(paths) == {"movie", "image", "cellset", "events"}
    ours, theirs = isxio.Movie.read(str(paths["movie"])), isx.Movie.read(str(paths["movie"]))
    assert theirs.timing.dropped == [17] and theirs.timing.cropped == [(120, 121)]
    for i in (0, 17, 50, 120, 199):
        np.testing.assert_array_equal(ours.get_frame_data(i), theirs.get_frame_data(i))
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    cs = isx.CellSet.read(str(paths["cellset"]))
    assert cs.num_cells == 6 and cs.get_cell_status(0) == "accepted"
    assert np.isnan(cs.get_cell_trace_data(0)[17])
    es = isx.EventSet.read(str(paths["events"]))
    assert es.num_cells == 6
    for a, b in zip(es.get_cell_data(0), isxio.EventSet.read(str(paths["events"]))
                    .get_cell_data(0), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(b) > 0
    with pytest.raises(FileExistsError):
        make_example_session(tmp_path)
    make_example_session(tmp_path, overwrite=True)


def test_info_command(tmp_path, capsys):
    paths = make_example_session(tmp_path)
    assert main(["info", *map(str, paths.values())]) == 0
    assert "6 cells" in capsys.readouterr().out
