"""Imaging and segmentation interfaces: NWB files read back with pynwb and compared with isx.

Every value written is compared with what isx reads from the source file; every file
is checked with nwbinspector (default and DANDI configurations).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest

from isxio.formats.cellset import write_cell_set
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.movie import MovieFile

pytest.importorskip("neuroconv")
isx = pytest.importorskip("isx")

import nwbinspector  # noqa: E402
from pynwb import NWBHDF5IO  # noqa: E402

from isxio.neuroconv import InscopixImagingInterface, InscopixSegmentationInterface  # noqa: E402
from tests.test_planes import _multiplane_extra, _write_interleaved  # noqa: E402
from tests.test_roiextractors_imaging import _isx_frames, _isx_offsets  # noqa: E402

pytestmark = pytest.mark.isx

SUBJECT = {"subject_id": "mouse-1", "species": "Mus musculus", "sex": "M", "age": "P90D",
           "description": "test animal"}
BAD = {nwbinspector.Importance.CRITICAL, nwbinspector.Importance.BEST_PRACTICE_VIOLATION}


def inspect(path, allowed=()) -> None:
    """No CRITICAL / BEST_PRACTICE_VIOLATION from nwbinspector, but for ``allowed`` checks.

    ``check_imaging_plane_location_allen_ccf`` is always allowed: Inscopix files carry
    no brain location (the user's metadata gives it).
    """
    allowed = {"check_imaging_plane_location_allen_ccf", *allowed}
    for config in (None, nwbinspector.load_config("dandi")):
        found = [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path), config=config)
                 if m.importance in BAD and m.check_function_name not in allowed]
        assert not found, [(m.check_function_name, m.object_name, m.message) for m in found]


def convert(interface, path, **options):
    metadata = interface.get_metadata()
    metadata["Subject"] = {**metadata.get("Subject", {}), **SUBJECT}
    interface.run_conversion(nwbfile_path=str(path), metadata=metadata, overwrite=True,
                             **options)
    return metadata


def series_times(series) -> np.ndarray:
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:])
    return series.starting_time + np.arange(series.data.shape[0]) / series.rate


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["movie_longer_than_3_min.isxd", "movie_part2_108x123x63.isxd",
                                  "movie_u8.isxd"])
def test_real_movie_to_nwb(realdata, tmp_path, name):
    path = str(realdata / name)
    theirs = isx.Movie.read(path)
    n = theirs.timing.num_samples
    out = tmp_path / "movie.nwb"
    metadata = convert(InscopixImagingInterface(path), out)
    with NWBHDF5IO(str(out)) as io:
        nwb = io.read()
        series = nwb.acquisition["OnePhotonSeries"]
        assert type(series).__name__ == "OnePhotonSeries"
        # neuroconv's orientation: (time, columns, rows)
        np.testing.assert_array_equal(np.asarray(series.data[:]).transpose(0, 2, 1),
                                      _isx_frames(theirs, range(n)))
        np.testing.assert_allclose(series_times(series), _isx_offsets(theirs), atol=1e-6)
        assert series.rate is not None  # regular: written as rate + starting_time
        assert nwb.session_start_time == metadata["NWBFile"]["session_start_time"]
        assert nwb.session_start_time.replace(tzinfo=None) == theirs.timing.start.to_datetime()
        assert len(nwb.invalid_times or []) == 0
        plane = series.imaging_plane
        spacing = theirs.spacing
        assert plane.imaging_rate == pytest.approx(1 / theirs.timing.period.secs_float)
        size = MovieFile(path).trailer.header["spacingInfo"]["pixelSize"]  # as stored
        assert list(plane.grid_spacing[:]) == [size[a]["num"] / size[a]["den"] for a in "xy"]
        assert spacing.num_pixels == series.data.shape[:0:-1]
        assert plane.device.model.manufacturer == "Inscopix"
    # fewer frames than pixels across: nwbinspector suspects the orientation
    inspect(out, allowed=("check_data_orientation",) if n < 200 else ())


@pytest.mark.realdata
def test_real_movie_metadata_from_the_file(realdata, tmp_path):
    path = str(realdata / "movie_longer_than_3_min.isxd")
    info = isx.Movie.read(path).get_acquisition_info()
    out = tmp_path / "m.nwb"
    convert(InscopixImagingInterface(path), out)
    with NWBHDF5IO(str(out)) as io:
        nwb = io.read()
        series = nwb.acquisition["OnePhotonSeries"]
        assert nwb.session_id == info["Session Name"]
        assert series.exposure_time == info["Exposure Time (ms)"] / 1000
        assert series.intensity == info["Microscope EX LED Power (mw/mm^2)"]
        device = series.imaging_plane.device
        assert device.serial_number == info["Microscope Serial Number"]
        assert device.model.name == info["Microscope Type"]
        assert info["Acquisition SW Version"] in device.description
        assert f"gain {info['Microscope Gain']}" in series.imaging_plane.description
        top_left = MovieFile(path).trailer.header["spacingInfo"]["topLeft"]  # as stored
        origin = [top_left[a]["num"] / top_left[a]["den"] for a in "xy"]
        assert list(series.imaging_plane.origin_coords[:]) == [*origin, info["efocus"]]
        assert series.imaging_plane.origin_coords_unit == "micrometers"


@pytest.mark.realdata
def test_real_multiplane_movie_one_series_per_plane(realdata, tmp_path):
    path = str(realdata / "multiplane_movie.isxd")
    theirs = isx.Movie.read(path)
    offsets = _isx_offsets(theirs)
    out = tmp_path / "mp.nwb"
    convert(InscopixImagingInterface(path), out)
    with NWBHDF5IO(str(out)) as io:
        nwb = io.read()
        assert sorted(nwb.acquisition) == [f"OnePhotonSeriesPlane{k}" for k in range(3)]
        for k, focus in enumerate((0, 500, 900)):
            series = nwb.acquisition[f"OnePhotonSeriesPlane{k}"]
            np.testing.assert_array_equal(np.asarray(series.data[:]).transpose(0, 2, 1),
                                          _isx_frames(theirs, range(k, 30, 3)))
            np.testing.assert_allclose(series_times(series), offsets[k::3], atol=1e-6)
            assert series.imaging_plane.name == f"ImagingPlanePlane{k}"
            assert series.imaging_plane.origin_coords[2] == focus
    inspect(out, allowed=("check_data_orientation",))


def test_dropped_frames_skipped_and_listed_in_invalid_times(tmp_path):
    path = tmp_path / "dropped.isxd"
    dropped = (3, 4, 9)
    frames = _write_interleaved(path, 12, 1, dropped=dropped,
                                extra={"producer": {"version": "1.9.0"}})
    theirs = isx.Movie.read(str(path))
    offsets = _isx_offsets(theirs)
    valid = np.ones(12, bool)
    valid[list(dropped)] = False
    for mode in ("skip", "keep"):
        out = tmp_path / f"{mode}.nwb"
        convert(InscopixImagingInterface(path, invalid_frames=mode), out)
        with NWBHDF5IO(str(out)) as io:
            nwb = io.read()
            series = nwb.acquisition["OnePhotonSeries"]
            data = np.asarray(series.data[:]).transpose(0, 2, 1)
            if mode == "skip":
                np.testing.assert_array_equal(data, frames[valid])
                np.testing.assert_allclose(series.timestamps[:], offsets[valid], atol=1e-6)
            else:
                np.testing.assert_array_equal(data, _isx_frames(theirs, range(12)))
            runs = nwb.invalid_times.to_dataframe()
            assert [list(t) for t in runs["tags"]] == [["dropped", "OnePhotonSeries"]] * 2
            period = float(theirs.timing.period.secs_float)
            stamps = InscopixImagingInterface(path).imaging_extractor.get_invalid_intervals()
            np.testing.assert_allclose(runs["start_time"], [stamps[0][0], stamps[1][0]])
            np.testing.assert_allclose(runs["stop_time"] - runs["start_time"],
                                       [2 * period, period], rtol=1e-4)
        inspect(out, allowed=("check_data_orientation",))


def test_dual_colour_movie_one_series_per_colour(tmp_path):
    path = tmp_path / "dual.isxd"
    extra = {"producer": {"version": "1.9.0"},
             "microscope": {"dualColor": {"enabled": True, "mode": "multiplexing",
                                          "startChannel": "green",
                                          "muxRatio": {"led1": 1, "led2": 1}}}}
    _write_interleaved(path, 8, 1, extra=extra)
    theirs = isx.Movie.read(str(path))
    out = tmp_path / "dual.nwb"
    convert(InscopixImagingInterface(path), out)
    with NWBHDF5IO(str(out)) as io:
        nwb = io.read()
        for phase, colour in enumerate(("Green", "Red")):
            series = nwb.acquisition[f"OnePhotonSeries{colour}"]
            np.testing.assert_array_equal(np.asarray(series.data[:]).transpose(0, 2, 1),
                                          _isx_frames(theirs, range(phase, 8, 2)))
            channel = series.imaging_plane.optical_channel[0]
            assert channel.name == colour.lower()
    inspect(out, allowed=("check_data_orientation",))


def test_nwb_imaging_read_back_by_roiextractors(realdata, tmp_path):
    from roiextractors import NwbImagingExtractor

    path = realdata / "movie_part2_108x123x63.isxd"
    out = tmp_path / "r.nwb"
    convert(InscopixImagingInterface(path), out)
    back = NwbImagingExtractor(str(out), optical_series_name="OnePhotonSeries")
    ours = InscopixImagingInterface(path).imaging_extractor
    assert back.get_image_shape() == ours.get_image_shape()
    np.testing.assert_array_equal(back.get_series(), ours.get_series())
    np.testing.assert_allclose(back.get_timestamps(), ours.get_native_timestamps(), atol=1e-6)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["cellset.isxd",
                                  "cellset_accepted_undecided_and_rejected_cells.isxd"])
def test_real_cell_set_to_nwb(realdata, tmp_path, name):
    path = str(realdata / name)
    theirs = isx.CellSet.read(path)
    n = theirs.num_cells
    out = tmp_path / "cs.nwb"
    convert(InscopixSegmentationInterface(path), out)
    units = theirs.get_acquisition_info()["Trace Units"]
    container = {"dF over F": "DfOverF", "dF over noise": "Fluorescence"}[units]
    with NWBHDF5IO(str(out)) as io:
        nwb = io.read()
        ophys = nwb.processing["ophys"]
        table = ophys["ImageSegmentation"]["PlaneSegmentation"]
        assert list(table["roi_name"][:]) == [theirs.get_cell_name(i) for i in range(n)]
        assert list(table["cell_status"][:]) == [theirs.get_cell_status(i) for i in range(n)]
        assert list(table["is_accepted"][:]) == [
            theirs.get_cell_status(i) == "accepted" for i in range(n)]
        masks = np.asarray(table["image_mask"][:])
        traces = ophys[container]["RoiResponseSeries"]
        assert units.replace("dF over F", "dF/F") in traces.description
        data = np.asarray(traces.data[:])
        for i in range(n):
            # neuroconv's orientation: (columns, rows), as for the movie frames
            np.testing.assert_array_equal(masks[i].T, theirs.get_cell_image_data(i))
            np.testing.assert_array_equal(data[:, i], theirs.get_cell_trace_data(i))
        offsets = [d.secs_float for d in theirs.timing.get_offsets_since_start()]
        np.testing.assert_allclose(series_times(traces), offsets, atol=1e-6)
        assert "num_components" in table.colnames
        assert table["overall_area"].description
    inspect(out)


@pytest.mark.realdata
def test_empty_cell_set_converts_and_says_so(realdata, tmp_path):
    out = tmp_path / "empty.nwb"
    with pytest.warns(UserWarning, match="no cells"):
        convert(InscopixSegmentationInterface(realdata / "empty_cellset.isxd"), out)
    with NWBHDF5IO(str(out)) as io:
        assert "ophys" not in io.read().processing
    inspect(out, allowed=("check_session_start_time_old_date",))


def test_segmentation_read_back_by_roiextractors(tmp_path):
    from roiextractors import NwbSegmentationExtractor

    path = tmp_path / "cs.isxd"
    rng = np.random.default_rng(5)
    images = rng.random((3, 5, 4), dtype=np.float32)
    traces = rng.random((3, 20), dtype=np.float32)
    timing = TimingInfo(20, Ratio(1, 10), Time(Ratio(1_700_000_000, 1), 7200))
    write_cell_set(path, images, traces, timing=timing, spacing=SpacingInfo(5, 4),
                   statuses=["accepted", "rejected", "undecided"],
                   extra_properties={"idps": {"cellset": {"units": "dF over F"}}})
    out = tmp_path / "cs.nwb"
    convert(InscopixSegmentationInterface(path), out)
    back = NwbSegmentationExtractor(str(out))
    np.testing.assert_array_equal(back.get_roi_image_masks(), np.moveaxis(images, 0, -1))
    trace_names = [k for k, v in back.get_traces_dict().items() if v is not None]
    assert trace_names, back.get_traces_dict()
    np.testing.assert_array_equal(back.get_traces(name=trace_names[0]), traces.T)
    with NWBHDF5IO(str(out)) as io:
        start = io.read().session_start_time
    assert start.utcoffset() == dt.timedelta(hours=2)
    assert start == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)


def test_imaging_and_segmentation_in_one_converter(tmp_path):
    from neuroconv import ConverterPipe

    movie = tmp_path / "mp.isxd"
    _write_interleaved(movie, 9, 3, extra=_multiplane_extra(3, (100, 400, 700)))
    cells = tmp_path / "cs.isxd"
    write_cell_set(cells, np.ones((2, 4, 6), np.float32), np.zeros((2, 3), np.float32),
                   timing=TimingInfo(3, Ratio(3, 20), Time(Ratio(1_700_000_000, 1))),
                   spacing=SpacingInfo(4, 6))
    imaging = InscopixImagingInterface(movie, plane=1)
    segmentation = InscopixSegmentationInterface(cells)
    converter = ConverterPipe(data_interfaces={"imaging": imaging, "cells": segmentation})
    metadata = converter.get_metadata()
    metadata["Subject"] = SUBJECT
    metadata["Ophys"]["PlaneSegmentations"]["inscopix_segmentation"][
        "imaging_plane_metadata_key"] = "inscopix_imaging"
    out = tmp_path / "both.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter.run_conversion(nwbfile_path=str(out), metadata=metadata, overwrite=True)
    with NWBHDF5IO(str(out)) as io:
        nwb = io.read()
        table = nwb.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
        assert table.imaging_plane is nwb.acquisition["OnePhotonSeries"].imaging_plane
        assert table.imaging_plane.origin_coords[2] == 400
    inspect(out, allowed=("check_data_orientation",))


def test_zarr_backend(realdata, tmp_path):
    from hdmf_zarr import NWBZarrIO

    path = realdata / "movie_u8.isxd"
    out = tmp_path / "m.nwb.zarr"
    convert(InscopixImagingInterface(path), out, backend="zarr")
    theirs = isx.Movie.read(str(path))
    with NWBZarrIO(str(out), mode="r") as io:
        series = io.read().acquisition["OnePhotonSeries"]
        np.testing.assert_array_equal(np.asarray(series.data[:]).transpose(0, 2, 1),
                                      _isx_frames(theirs, range(5)))
