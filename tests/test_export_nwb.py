"""NWB export: our NWB 2 file read back with pynwb holds the source frames and times;
compared with the NWB 1.0.6 file isx 2.1.0 writes (read with h5py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pynwb = pytest.importorskip("pynwb")  # optional extra 'nwb': skip the module without it

import isxio  # noqa: E402
import isxio.export as ours  # noqa: E402
from isxio.errors import IsxTypeError  # noqa: E402

from .test_export_helpers import valid_frames, write_isx_movie  # noqa: E402

pytestmark = pytest.mark.isx
isx = pytest.importorskip("isx")
h5py = pytest.importorskip("h5py")

FIELDS = dict(identifier="id-1", session_description="a session", comments="some comments",
              description="a movie", experiment_description="an experiment",
              experimenter="A. Person", institution="Somewhere", lab="The Lab",
              session_id="s1")


def read_nwb(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io = pynwb.NWBHDF5IO(str(path), "r")
        return io, io.read()


def isx_nwb(path):
    """Series of isx's NWB 1.0.6 file: name -> (frames as stored type, timestamps)."""
    out = {}
    with h5py.File(path, "r") as f:
        for name, group in f["analysis"].items():
            out[name] = (group["data"][:], group["timestamps"][:], dict(group.attrs))
    return out


def test_nwb_matches_source_and_isx(tmp_path, realdata):
    a = tmp_path / "first.isxd"
    write_isx_movie(isx, a, 7, (5, 6), np.uint16, dropped=[1], cropped=[(4, 5)],
                    start_s=1_600_000_000.25, seed=8)
    b = realdata / "movie_part2_108x123x63.isxd"
    inputs = [str(a), str(b)]
    isx.export_movie_to_nwb(inputs, str(tmp_path / "isx.nwb"), **FIELDS)
    ours.export_movie_to_nwb(inputs, str(tmp_path / "our.nwb"), **FIELDS)
    theirs = isx_nwb(tmp_path / "isx.nwb")
    io, nwb = read_nwb(tmp_path / "our.nwb")
    with io:
        assert nwb.identifier == "id-1" and nwb.session_description == "a session"
        assert nwb.experimenter == ("A. Person",) and nwb.lab == "The Lab"
        assert nwb.institution == "Somewhere" and nwb.session_id == "s1"
        assert nwb.experiment_description == "an experiment"
        assert sorted(nwb.analysis) == sorted(theirs) == ["first", "movie_part2_108x123x63"]
        starts = {p: isxio.open(p).timing.start.to_datetime() for p in inputs}
        earliest = min(starts.values())
        assert nwb.session_start_time == earliest
        for path in inputs:
            name = path.rsplit("/", 1)[-1].split(".")[0]
            series = nwb.analysis[name]
            source = valid_frames(isx, path)
            data = series.data[:]
            assert data.dtype == source.dtype  # uint16 stays uint16 (isx: int16)
            np.testing.assert_array_equal(data.transpose(0, 2, 1), source)
            assert list(series.dimension[:]) == [source.shape[2], source.shape[1]]
            assert series.description == "a movie" and series.comments == "some comments"
            isx_data, isx_times, attrs = theirs[name]
            assert attrs["description"] == "a movie"
            np.testing.assert_array_equal(isx_data.view(source.dtype), source)
            offset = (starts[path] - earliest).total_seconds()
            # isx: relative to the first movie's start, through cancelling doubles
            first_start = starts[inputs[0]]
            np.testing.assert_allclose(series.timestamps[:],
                                       isx_times + (first_start - earliest).total_seconds(),
                                       atol=1e-5)
            assert series.timestamps[0] >= offset - 1e-9


def test_nwb_uint16_keeps_high_values(tmp_path):
    src = tmp_path / "m.isxd"
    frames = write_isx_movie(isx, src, 3, (2, 2), np.uint16, seed=9)
    frames[0, 0, 0] = 65535
    src.unlink()
    movie = isx.Movie.write(str(src), isx.Timing(num_samples=3), isx.Spacing(num_pixels=(2, 2)),
                            np.uint16)
    for i in range(3):
        movie.set_frame_data(i, frames[i])
    movie.flush()
    isx.export_movie_to_nwb([str(src)], str(tmp_path / "isx.nwb"))
    ours.export_movie_to_nwb([str(src)], str(tmp_path / "our.nwb"), chunk_frames=1)
    assert isx_nwb(tmp_path / "isx.nwb")["m"][0][0, 0, 0] == -1  # isx's int16 quirk
    io, nwb = read_nwb(tmp_path / "our.nwb")
    with io:
        assert nwb.analysis["m"].data[0, 0, 0] == 65535
        assert nwb.identifier  # a UUID replaces the empty identifier


def test_nwb_refuses_images_and_existing_output(tmp_path):
    img = tmp_path / "i.isxd"
    isx.Image.write(str(img), isx.Spacing(num_pixels=(2, 2)), np.uint16,
                    np.zeros((2, 2), np.uint16))
    with pytest.raises(IsxTypeError):
        ours.export_movie_to_nwb([str(img)], str(tmp_path / "o.nwb"))
    (tmp_path / "x.nwb").write_bytes(b"")
    src = tmp_path / "m.isxd"
    write_isx_movie(isx, src, 3)
    with pytest.raises(FileExistsError):
        ours.export_movie_to_nwb([str(src)], str(tmp_path / "x.nwb"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.isxd", "m.isxd", "x.nwb"]
