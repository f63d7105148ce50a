"""InscopixSegmentationExtractor against what isx reads, and against the isx-backed class."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pytest

from isxio.errors import IsxTypeError
from isxio.formats.cellset import write_cell_set
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo

pytest.importorskip("roiextractors")
isx = pytest.importorskip("isx")

from isxio.roiextractors import InscopixSegmentationExtractor  # noqa: E402

pytestmark = pytest.mark.isx

REAL_CELL_SETS = ["cellset.isxd", "cellset_accepted_undecided_and_rejected_cells.isxd",
                  "empty_cellset.isxd"]


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_CELL_SETS)
def test_real_cell_set_as_isx_reads_it(realdata, name):
    path = str(realdata / name)
    theirs = isx.CellSet.read(path)
    ours = InscopixSegmentationExtractor(path)
    n, t = theirs.num_cells, theirs.timing.num_samples
    names = [theirs.get_cell_name(i) for i in range(n)]
    assert ours.get_roi_ids() == names
    assert ours.get_num_rois() == n
    assert ours.get_frame_shape() == tuple(theirs.spacing.num_pixels)
    assert ours.get_num_samples() == t
    assert ours.get_sampling_frequency() == pytest.approx(1 / theirs.timing.period.secs_float)
    traces = ours.get_traces()
    assert traces.shape == (t, n) and traces.dtype == np.float32
    masks = ours.get_roi_image_masks()
    assert masks.shape == (*theirs.spacing.num_pixels, n)
    for i in range(n):
        np.testing.assert_array_equal(traces[:, i], theirs.get_cell_trace_data(i))
        np.testing.assert_array_equal(masks[:, :, i], theirs.get_cell_image_data(i))
    statuses = [theirs.get_cell_status(i) for i in range(n)]
    np.testing.assert_array_equal(ours.get_property("cell_status", names), statuses)
    np.testing.assert_array_equal(ours.get_property("is_accepted", names),
                                  [s == "accepted" for s in statuses])
    offsets = [d.secs_float for d in theirs.timing.get_offsets_since_start()]
    np.testing.assert_allclose(ours.get_native_timestamps(), offsets, rtol=0, atol=1e-6)
    assert ours.get_traces(start_frame=3, end_frame=7).shape == (4, n)
    if n:
        sub = ours.get_traces(roi_ids=[names[-1], names[0]], start_frame=1, end_frame=5)
        np.testing.assert_array_equal(sub[:, 0], theirs.get_cell_trace_data(n - 1)[1:5])
        pixels = ours.get_roi_pixel_masks(roi_ids=[names[0]])[0]
        image = theirs.get_cell_image_data(0)
        assert len(pixels) == np.count_nonzero(image)
        np.testing.assert_array_equal(
            pixels[:, 2], image[pixels[:, 0].astype(int), pixels[:, 1].astype(int)])
    start = ours._get_session_start_time()
    assert start.tzinfo is not None
    assert start.replace(tzinfo=None) == theirs.timing.start.to_datetime()


@pytest.mark.realdata
def test_what_the_isx_backed_class_gets_wrong(realdata):
    """Same values as roiextractors' isx-backed class, minus its documented mistakes."""
    from roiextractors import InscopixSegmentationExtractor as IsxBacked

    path = str(realdata / "cellset.isxd")
    if sys.version_info >= (3, 13):  # the isx-backed class refuses Python 3.13 outright
        with pytest.raises(ImportError, match="isx package only supports"):
            IsxBacked(path)
        return
    theirs, ours = IsxBacked(path), InscopixSegmentationExtractor(path)
    # theirs: (columns, rows) frame shape and (rois, time) traces, never registered
    assert theirs.get_frame_shape() == ours.get_frame_shape()[::-1]
    np.testing.assert_array_equal(theirs.get_traces(), ours.get_traces().T)
    assert theirs.get_traces_dict()["raw"] is None
    assert ours.get_traces_dict()["raw"].shape == (5444, 4)
    assert theirs.get_native_timestamps() is None
    meta_theirs, meta_ours = theirs._get_metadata(), ours._get_metadata()
    for section in ("device", "subject", "analysis", "session", "probe"):
        for key, value in meta_theirs[section].items():
            if key == "field_of_view_pixels":
                continue
            assert meta_ours[section][key] == value
    assert meta_ours["analysis"] == {"cell_identification_method": "cnmfe",
                                     "trace_units": "dF over noise"}
    assert meta_ours["session_start_time"] == meta_theirs["session_start_time"].replace(
        tzinfo=dt.timezone.utc)


@pytest.mark.realdata
def test_empty_cell_set_is_a_valid_empty_extractor(realdata):
    from roiextractors import InscopixSegmentationExtractor as IsxBacked

    path = str(realdata / "empty_cellset.isxd")
    ours = InscopixSegmentationExtractor(path)
    assert ours.get_roi_ids() == [] and ours.get_num_rois() == 0
    assert ours.get_traces().shape == (7, 0)
    assert ours.get_roi_image_masks().shape == (4, 5, 0)
    assert ours.get_roi_pixel_masks() == []
    assert ours.get_property("cell_status", []).shape == (0,)
    with pytest.raises(ValueError if sys.version_info < (3, 13) else ImportError):
        IsxBacked(path).get_traces()  # it cannot even return its traces (or refuses 3.13)


@pytest.mark.realdata
def test_cell_metrics_as_properties(realdata):
    from isxio.formats.cellset import CellSetFile

    path = realdata / "cellset_accepted_undecided_and_rejected_cells.isxd"
    ours = InscopixSegmentationExtractor(path)
    raw = CellSetFile(path).trailer.header["cellMetrics"]  # the JSON as stored
    ids = ours.get_roi_ids()
    np.testing.assert_array_equal(ours.get_property("num_components", ids),
                                  [m[0] for m in raw])
    np.testing.assert_array_equal(ours.get_property("overall_center_y", ids),
                                  [m[1]["y"] for m in raw])
    np.testing.assert_allclose(ours.get_property("largest_component_area", ids),
                               [m[4] for m in raw], rtol=1e-6)
    assert ours.get_property_info("overall_area").description


def test_synthetic_cell_set_with_dropped_samples_and_statuses(tmp_path):
    path = tmp_path / "cs.isxd"
    rng = np.random.default_rng(3)
    images = rng.random((3, 6, 7), dtype=np.float32)
    traces = rng.random((3, 9), dtype=np.float32)
    timing = TimingInfo(9, Ratio(1, 20), Time(Ratio(1_650_000_000, 1), 3600), dropped=(2, 5))
    write_cell_set(path, images, traces, timing=timing, spacing=SpacingInfo(6, 7),
                   names=["A", "B", "C"], statuses=["rejected", "accepted", "undecided"])
    theirs = isx.CellSet.read(str(path))
    ours = InscopixSegmentationExtractor(path)
    assert ours.get_roi_ids() == ["A", "B", "C"]
    np.testing.assert_array_equal(ours.get_invalid_sample_mask(),
                                  ~np.array(theirs.timing.get_valid_samples_mask(), bool))
    for i in range(3):
        np.testing.assert_array_equal(ours.get_traces()[:, i], theirs.get_cell_trace_data(i))
    assert np.isnan(ours.get_traces()[[2, 5]]).all()
    assert list(ours.get_property("cell_status", ["A", "B", "C"])) == [
        "rejected", "accepted", "undecided"]
    assert ours._get_session_start_time().utcoffset() == dt.timedelta(hours=1)
    # roiextractors' own slicing keeps working
    sliced = ours.slice_samples(1, 4)
    np.testing.assert_array_equal(sliced.get_traces(), ours.get_traces()[1:4])
    picked = ours.select_rois(["C", "A"])
    np.testing.assert_array_equal(picked.get_roi_image_masks()[:, :, 0], images[2])
    # properties follow the ROIs (roiextractors 0.10 alone returns A's and B's statuses)
    assert list(picked.get_property("cell_status", ["C", "A"])) == ["undecided", "rejected"]


def test_duplicate_cell_names_stay_distinct(tmp_path):
    path = tmp_path / "dup.isxd"
    images = np.ones((2, 3, 3), np.float32)
    write_cell_set(path, images, np.zeros((2, 4), np.float32), names=["C1", "C1"])
    with pytest.warns(UserWarning, match="repeat"):
        ours = InscopixSegmentationExtractor(path)
    assert ours.get_roi_ids() == ["C1#0", "C1#1"]


def test_roiextractors_consistency_checks(realdata):
    from roiextractors.testing import check_segmentations_images

    ours = InscopixSegmentationExtractor(realdata / "cellset.isxd")
    check_segmentations_images(ours, InscopixSegmentationExtractor(realdata / "cellset.isxd"))


def test_not_a_cell_set(realdata):
    with pytest.raises(IsxTypeError, match=r"not a cell set.*found MovieFile"):
        InscopixSegmentationExtractor(realdata / "movie_u8.isxd")
