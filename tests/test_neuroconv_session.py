"""The session converter on the built-in example session and on the real files.

The NWB file is read back with pynwb and each stream is compared with what isx (or the
file's own reader, for kinds isx reads differently) reads from its source, on the one
clock of the session.
"""

from __future__ import annotations

import datetime as dt
import shutil
import warnings

import numpy as np
import pytest

pytest.importorskip("neuroconv")
isx = pytest.importorskip("isx")

from pynwb import NWBHDF5IO  # noqa: E402

from isxio.cli import main  # noqa: E402
from isxio.examples import START_MS, UTC_OFFSET, make_example_session  # noqa: E402
from isxio.neuroconv import InscopixSessionConverter  # noqa: E402
from tests.test_neuroconv_ophys import SUBJECT, inspect  # noqa: E402
from tests.test_roiextractors_imaging import _isx_frames, _isx_offsets  # noqa: E402

pytestmark = pytest.mark.isx


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The full example session converted once, with a stray non-Inscopix file beside it."""
    folder = tmp_path_factory.mktemp("session")
    paths = make_example_session(folder, full=True)
    (folder / "notes.txt").write_text("lab notes")
    converter = InscopixSessionConverter(folder)
    metadata = converter.get_metadata()
    for plane in metadata["Ophys"]["ImagingPlanes"].values():
        plane["location"] = "CA1"
    out = folder / "session.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter.run_conversion(nwbfile_path=str(out), metadata=metadata, overwrite=True)
    return {"paths": paths, "converter": converter, "out": out, "folder": folder}


def test_every_file_is_used_or_reported(session):
    converter, paths = session["converter"], session["paths"]
    assert sorted(converter.data_interface_objects) == sorted([
        "Imaging", "Imaging_example_multiplane", "Segmentation", "Events", "Gpio", "Imu",
        "BehaviorVideo"])
    unused = converter.unused_files
    assert "one frame" in unused[str(paths["image"])]
    assert "not an Inscopix file" in unused[str(session["folder"] / "notes.txt")]
    assert "not used" in converter.summary()


def test_one_clock_from_the_earliest_file(session):
    converter = session["converter"]
    # GPIO and IMU start 2 s before the movie, the behaviour movie 1 s before
    start = dt.datetime.fromtimestamp((START_MS - 2_000) / 1000, dt.timezone.utc)
    assert converter.session_start_time == start
    assert converter.session_start_time.utcoffset() == dt.timedelta(seconds=UTC_OFFSET)
    with NWBHDF5IO(str(session["out"])) as io:
        nwb = io.read()
        assert nwb.session_start_time == start
        assert nwb.session_start_time.utcoffset() == dt.timedelta(seconds=UTC_OFFSET)
        movie = isx.Movie.read(str(session["paths"]["movie"]))
        valid = np.array(movie.timing.get_valid_samples_mask(), bool)
        series = nwb.acquisition["OnePhotonSeries"]
        np.testing.assert_allclose(series.timestamps[:], 2.0 + _isx_offsets(movie)[valid],
                                   atol=1e-6)
        np.testing.assert_array_equal(np.asarray(series.data[:]).transpose(0, 2, 1),
                                      _isx_frames(movie, np.flatnonzero(valid)))
        runs = nwb.invalid_times.to_dataframe()
        assert sorted(t[0] for t in runs["tags"]) == ["cropped", "dropped"]
        assert runs["start_time"].min() > 2.0
        mp = isx.Movie.read(str(session["paths"]["multiplane"]))
        for k in range(3):
            plane = nwb.acquisition[f"OnePhotonSeriesPlane{k}_example_multiplane"]
            np.testing.assert_allclose(plane.timestamps[:], 62.0 + _isx_offsets(mp)[k::3],
                                       atol=1e-6)
        video = nwb.acquisition["BehaviorVideo"]
        times = (video.starting_time + np.arange(video.num_samples) / video.rate
                 if video.timestamps is None else video.timestamps[:])
        assert times[0] == pytest.approx(1.0, abs=1e-6)


def test_cells_events_gpio_imu_on_the_clock(session):
    paths = session["paths"]
    with NWBHDF5IO(str(session["out"])) as io:
        nwb = io.read()
        table = nwb.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
        # linked to the movie's imaging plane (same frame shape), not a plane of its own
        assert table.imaging_plane is nwb.acquisition["OnePhotonSeries"].imaging_plane
        cells = isx.CellSet.read(str(paths["cellset"]))
        assert list(table["cell_status"][:]) == [cells.get_cell_status(i) for i in range(6)]
        traces = nwb.processing["ophys"]["DfOverF"]["RoiResponseSeries"]
        assert traces.starting_time == pytest.approx(2.0)
        events = isx.EventSet.read(str(paths["events"]))
        df = nwb.events["CellEvents"].to_dataframe()
        rows = nwb.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
        for i in range(events.num_cells):
            name = events.get_cell_name(i)
            mine = df[df["cell_name"] == name]
            offsets, amplitudes = events.get_cell_data(i)
            # isx reports offsets through doubles (0 or 1 µs low): compare to 1.1 µs
            np.testing.assert_allclose(mine["timestamp"], 2.0 + offsets / 1e6, atol=1.1e-6)
            np.testing.assert_array_equal(mine["amplitude"], amplitudes)
            linked = {rows["roi_name"][int(r)] for r in nwb.events["CellEvents"]["cell"].data[
                mine.index.to_numpy()]} if len(mine) else {name}
            assert linked == {name}
        gpio = isx.GpioSet.read(str(paths["gpio"]))
        names = [gpio.get_channel_name(i) for i in range(gpio.num_channels)]
        analog = nwb.acquisition[names[names.index("GPIO-1")]]
        t, _ = gpio.get_channel_data(names.index("GPIO-1"))
        first_time = analog.starting_time if analog.timestamps is None else analog.timestamps[0]
        assert first_time == pytest.approx(float(t[0]) / 1e6, abs=1e-6)
        assert "behavior" in nwb.processing


def test_nwb_file_passes_nwbinspector(session):
    inspect(session["out"])


def test_external_video_beside_the_nwb_file(session):
    with NWBHDF5IO(str(session["out"])) as io:
        video = io.read().acquisition["BehaviorVideo"]
        assert list(video.external_file[:]) == ["example_behavior.mkv"]
    assert (session["folder"] / "example_behavior.mkv").is_file()


@pytest.mark.realdata
def test_real_files_as_a_session(realdata, tmp_path):
    for name in ("movie_longer_than_3_min.isxd", "cellset.isxd",
                 "sample_eventset_msr_1.isxd", "IM13_session1_2024-10-07_local_corr_img.isxd"):
        shutil.copy(realdata / name, tmp_path / name)
    converter = InscopixSessionConverter(tmp_path)
    assert sorted(converter.data_interface_objects) == ["Events", "Imaging", "Segmentation"]
    assert "one frame" in converter.unused_files[str(tmp_path / "IM13_session1_2024-10-07_"
                                                                "local_corr_img.isxd")]
    starts = converter.start_times()
    assert converter.session_start_time == min(starts.values())
    metadata = converter.get_metadata()
    metadata["Subject"] = {**metadata.get("Subject", {}), **SUBJECT}
    out = tmp_path / "real.nwb"
    converter.run_conversion(nwbfile_path=str(out), metadata=metadata, overwrite=True)
    with NWBHDF5IO(str(out)) as io:
        nwb = io.read()
        assert nwb.session_start_time == min(starts.values())
        movie = isx.Movie.read(str(tmp_path / "movie_longer_than_3_min.isxd"))
        shift = (starts["Imaging"] - converter.session_start_time).total_seconds()
        series = nwb.acquisition["OnePhotonSeries"]
        assert series.starting_time == pytest.approx(shift + _isx_offsets(movie)[0], abs=1e-6)
    inspect(out)


def test_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(NotADirectoryError):
        InscopixSessionConverter(tmp_path / "missing")
    (tmp_path / "junk.isxd").write_bytes(b"not an isxd file at all")
    with pytest.raises(ValueError, match=r"no Inscopix data.*junk\.isxd"):
        InscopixSessionConverter(tmp_path)
    with pytest.raises(ValueError, match="either"):
        InscopixSessionConverter()


def test_demo_ends_in_a_valid_nwb_file(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "no critical issue, no best-practice violation" in out
    assert (tmp_path / "demo" / "example_session.nwb").is_file()
    assert (tmp_path / "demo" / "example_movie.isxd").is_file()  # the files stay
