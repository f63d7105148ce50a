"""The built-in example session (the README's main job) and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

import isxio
from isxio.cli import main
from isxio.examples import make_example_session

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx


def test_demo_command_runs_and_keeps_its_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "example_movie.isxd: MovieFile" in out and "cells" in out
    assert f"written to {tmp_path / 'isxio-demo'}" in out
    assert (tmp_path / "isxio-demo" / "example_movie.isxd").is_file()


def test_demo_without_the_nwb_extra_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("isxio.cli._nwb_available", lambda: False)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert "pip install 'isxio[nwb]'" in capsys.readouterr().out


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
    assert [cs.get_cell_status(i) for i in range(2, 4)] == ["undecided", "rejected"]
    assert ours.get_frame_timestamp(1) == theirs.get_frame_timestamp(1) > 0
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
