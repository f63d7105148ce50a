"""Typed metadata (:mod:`isxio.metadata`): statuses, colours, metrics, channels, acquisition.

Values are compared with what the files were written with, or with what isx reads.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import isxio
from isxio.examples import make_example_session
from isxio.formats.cellset import CellSetFile, write_cell_set
from isxio.formats.common import DurationRatio, Ratio, Time, TimingInfo
from isxio.formats.events import EventsFile, EventsWriter
from isxio.metadata import (
    CELL_METRIC_LABELS,
    EVENT_METRIC_LABELS,
    Acquisition,
    CellMetrics,
    CellStatus,
    EventMetrics,
    Reader,
    Rgba,
    acquisition,
    channel_infos,
    rgba,
)

INT64_MIN = -(2**63)


def test_status_is_an_int_enum():
    assert CellStatus.ACCEPTED == 0 and CellStatus.UNDECIDED == 1 and CellStatus.REJECTED == 2
    assert str(CellStatus.REJECTED) == "rejected"
    assert [CellStatus(i) for i in range(3)] == [0, 1, 2]


def _cell_set(tmp_path, **kw):
    path = tmp_path / "cells.isxd"
    write_cell_set(path, np.ones((3, 4, 5), np.float32), np.ones((3, 6), np.float32), **kw)
    return path


def test_cell_set_statuses_and_colours(tmp_path):
    path = _cell_set(tmp_path, statuses=["rejected", "accepted", "undecided"],
                     colors=[(10, 20, 30), (255, 0, 0, 128), 0xFF0000FF])
    with CellSetFile(path) as cs:
        assert cs.statuses == [2, 0, 1]  # equal to the stored ints ...
        assert cs.statuses == [CellStatus.REJECTED, CellStatus.ACCEPTED, CellStatus.UNDECIDED]
        assert all(type(s) is CellStatus for s in cs.statuses)
        assert cs.colors_rgba == [(10, 20, 30, 255), (255, 0, 0, 128), (0, 0, 255, 255)]
        assert cs.colors_rgba[1].alpha == 128
        assert cs.colors == [0xFF0A141E, 0x80FF0000, 0xFF0000FF]  # packed ints kept
    assert rgba(0x80FF0000) == Rgba(255, 0, 0, 128)


def test_cell_metrics_table_uses_nan_not_sentinels(tmp_path):
    metrics = [
        [1, {"x": 3, "y": 4}, {"x": 3, "y": 4}, 10.5, 10.5, 2.0, 2.0],
        [2, {"x": INT64_MIN, "y": INT64_MIN}, {"x": 1, "y": 2}, 7.0, 5.0, 3.0, 1.5],
        {},
    ]
    path = _cell_set(tmp_path, cell_metrics=metrics)
    with CellSetFile(path) as cs:
        table = cs.metrics_table()
    assert table[0] == CellMetrics(1, 3, 4, 3, 4, 10.5, 10.5, 2.0, 2.0)
    second = table[1]
    assert math.isnan(second.overall_center_x) and math.isnan(second.overall_center_y)
    assert (second.largest_center_x, second.largest_center_y) == (1, 2)
    assert (second.num_components, second.overall_area, second.largest_max_contour_width) \
        == (2, 7.0, 1.5)
    assert all(math.isnan(v) for v in table[2])
    assert [f for f, _ in CELL_METRIC_LABELS] == list(CellMetrics._fields)


def test_cell_set_without_metrics(tmp_path):
    with CellSetFile(_cell_set(tmp_path)) as cs:
        assert cs.metrics_table() is None


@pytest.mark.realdata
@pytest.mark.isx
def test_real_cell_set_matches_isx(realdata):
    isx = pytest.importorskip("isx")
    path = realdata / "cellset_accepted_undecided_and_rejected_cells.isxd"
    theirs = isx.CellSet.read(str(path))
    with isxio.open(path) as ours:
        expected = [theirs.get_cell_status(i) for i in range(theirs.num_cells)]
        assert [str(s) for s in ours.statuses] == expected
        assert {"accepted", "undecided", "rejected"} <= set(expected)


@pytest.mark.realdata
def test_real_cell_metrics_no_sentinel(realdata):
    with isxio.open(realdata / "cellset.isxd") as cs:
        raw = cs.cell_metrics
        table = cs.metrics_table()
    assert raw[2][1] == {"x": INT64_MIN, "y": INT64_MIN}  # stored as a sentinel
    assert math.isnan(table[2].overall_center_x)
    assert (table[2].largest_center_x, table[2].largest_center_y) == (124, 295)
    assert table[0].overall_area == 111.5
    values = np.array(table, dtype=float)
    assert not (values == INT64_MIN).any()


TIMING = TimingInfo(100, Ratio(50, 1000), Time(Ratio(1_600_000_000, 1), 0))


def test_event_metrics_table(tmp_path):
    path = tmp_path / "events.isxd"
    row = [3.5, 0.1, 0.25, 2.0, 0.5, 0.01, 0.002, 0.3, None]
    with EventsWriter(path, TIMING, ["C0", "C1"], metrics=[row, {}]) as w:
        w.set_cell_data(0, [0, 100_000], [1.0, 2.0])
        w.set_cell_data(1, [50_000], [3.0])
    with EventsFile(path) as ev:
        table = ev.metrics_table()
        infos = channel_infos(ev)
    assert table[0][:8] == EventMetrics(*row[:8], math.nan)[:8]
    assert table[0].snr == 3.5 and table[0].event_rate == 0.25
    assert math.isnan(table[0].decay_sd) and all(math.isnan(v) for v in table[1])
    assert [label for _, label in EVENT_METRIC_LABELS][:3] == ["snr", "mad", "eventRate"]
    assert [(c.name, c.signal, c.step_seconds) for c in infos] == [
        ("C0", "sparse", 0.05), ("C1", "sparse", 0.05)]


def test_duration_ratio_prints_as_seconds():
    t = TimingInfo(5, Ratio(12345, 10000))
    assert str(t.period) == "1.2345 s"
    assert repr(t.period) == "Ratio(12345, 10000)"
    assert t.period == Ratio(12345, 10000) and hash(t.period) == hash(Ratio(12345, 10000))
    assert isinstance(t.period, DurationRatio)
    assert pickle.loads(pickle.dumps(t)) == t
    assert repr(Ratio(1, 3)) == "Ratio(1, 3)"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return make_example_session(tmp_path_factory.mktemp("session"), full=True)


def test_every_reader_follows_the_protocol(session):
    for kind, path in session.items():
        with isxio.open(path) as reader:
            assert isinstance(reader, Reader), kind
            assert reader.path == str(path)


def test_gpio_channels(session):
    isx = pytest.importorskip("isx")
    with isxio.open(session["gpio"]) as gp:
        infos = channel_infos(gp)
    theirs = isx.GpioSet.read(str(session["gpio"]))
    assert [c.name for c in infos] == [theirs.get_channel_name(i)
                                       for i in range(theirs.num_channels)]
    assert {c.signal for c in infos} <= {"sparse", "dense"}


@pytest.mark.realdata
def test_acquisition_typed_and_verbatim(realdata):
    with isxio.open(realdata / "movie_longer_than_3_min.isxd") as movie:
        acq = acquisition(movie)
        extra = movie.extra_properties
    assert isinstance(acq, Acquisition)
    assert acq.microscope_type == "NVista3" and acq.gain == 5.9 and acq.exposure_ms == 20
    assert acq.ex_led_power == 0.4 and acq.session_name == "4D_SAAV_PFC_IM7_20191007"
    assert acq.extra_properties is extra  # the vendor JSON, verbatim
    assert acq.summary["Microscope Serial Number"] == acq.microscope_serial == "FA-11092903"
    assert acq.probe_type == "None" and acq.recording_uuid is None


@pytest.mark.realdata
@pytest.mark.isx
def test_acquisition_summary_is_isx(realdata):
    isx = pytest.importorskip("isx")
    path = realdata / "cellset.isxd"
    with isxio.open(path) as cs:
        acq = acquisition(cs)
    assert acq.summary == isx.CellSet.read(str(path)).get_acquisition_info()
    assert acq.trace_units == "dF over noise" and acq.animal_id == "FV4581"


def test_acquisition_of_isxb_uses_its_session(session):
    pytest.importorskip("av")
    with isxio.open(session["behavior"]) as video:
        acq = acquisition(video)
        own = video.acquisition_info
    assert own and acq.summary == own
