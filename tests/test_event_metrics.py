"""Event-set metrics (isxd.md §7.2): typed reading, writing, and what isx makes of them.

isx has no getter for event metrics, but ``isx.export_event_set_to_csv(...,
output_props_file=...)`` prints each channel's SNR (metric 0) and event rate (metric 2)
when a file has metrics: that is the oracle for how isxcore reads what we write.
"""

from __future__ import annotations

import csv
import math
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxFormatWarning, IsxWriteError
from isxio.formats.common import Ratio, Time, TimingInfo
from isxio.formats.events import EVENT_METRIC_NAMES, EventsFile, EventsWriter

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
TIMING = TimingInfo(100, Ratio(50, 1000), Time(Ratio(1_600_000_000, 1), 0))
OFFSETS = [[0, 100_000, 2_500_000], [50_000], [], [4_000_000, 1_000]]
AMPS = [[1.0, 2.5, -3.0], [7.0], [], [0.5, 9.0]]


def fresh(folder: Path) -> Path:
    return folder / f"m{uuid.uuid4().hex[:10]}.isxd"


def write(path: Path, n: int = 2, **kw) -> Path:
    with EventsWriter(path, TIMING, [f"C{i}" for i in range(n)], **kw) as w:
        for i in range(n):
            w.set_cell_data(i, OFFSETS[i % 4], AMPS[i % 4])
    return path


def isx_props(path: Path, folder: Path) -> list[list[str]]:
    """Rows of isx's properties CSV for ``path`` (header first)."""
    props = folder / f"p{uuid.uuid4().hex[:8]}.csv"
    isx.export_event_set_to_csv([str(path)], str(folder / f"e{uuid.uuid4().hex[:8]}.csv"),
                                output_props_file=str(props))
    with open(props, newline="") as fh:
        return list(csv.reader(fh))


def stored(value: float) -> float:
    """What isxcore's JSON keeps of a float: C ``%.15g`` (spec §1.4)."""
    return float(f"{value:.15g}")


# ------------------------------------------------------------------ round trip
FINITE = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)
CELL = st.one_of(FINITE, st.just(math.nan))


@st.composite
def metric_tables(draw):
    n = draw(st.integers(1, 4))
    rows = [draw(st.one_of(st.lists(CELL, min_size=9, max_size=9),
                           st.just([math.nan] * 9))) for _ in range(n)]
    return np.array(rows, dtype=np.float64)


@SETTINGS
@given(table=metric_tables())
def test_metrics_round_trip_and_isx_reads_them(tmp_path, table):
    n = len(table)
    path = write(fresh(tmp_path), n, channel_metrics=table)
    f = EventsFile(path)
    expected = np.vectorize(lambda v: v if math.isnan(v) else stored(v))(table)
    np.testing.assert_array_equal(f.channel_metrics, expected)  # NaN == NaN here
    assert list(f.metrics_dict()) == list(EVENT_METRIC_NAMES)
    np.testing.assert_array_equal(f.metrics_dict()["eventRate"], expected[:, 2])
    # isx opens the file, reads the events unchanged and sees our metrics
    es = isx.EventSet.read(str(path))
    assert es.num_cells == n
    for i in range(n):
        offs, amps = es.get_cell_data(i)
        order = np.argsort(OFFSETS[i % 4], kind="stable")
        np.testing.assert_array_equal(offs, np.asarray(OFFSETS[i % 4], np.uint64)[order])
        np.testing.assert_array_equal(amps, np.asarray(AMPS[i % 4], np.float32)[order])
    del es
    rows = isx_props(path, tmp_path)
    assert rows[0] == ["Name", "SNR", "EventRate(Hz)"]
    for i, (name, snr, rate) in enumerate(rows[1:]):
        assert name == f"C{i}"
        if np.isnan(table[i]).all():  # written as {}: isx prints 0 for "no metrics"
            assert (snr, rate) == ("0", "0")
            continue
        for text, value in ((snr, expected[i, 0]), (rate, expected[i, 2])):
            if math.isnan(value):
                assert text == "nan"
            else:  # isxcore holds metrics as float32 and prints them %g (6 digits)
                assert float(text) == pytest.approx(float(np.float32(value)), rel=1e-5,
                                                    abs=1e-44)


def test_metrics_from_a_mapping(tmp_path):
    path = write(fresh(tmp_path), 2, channel_metrics={"snr": [3.5, 1.0], "eventRate": [0.25, 2]})
    f = EventsFile(path)
    assert f.metrics[0][:3] == [3.5, None, 0.25]
    assert f.metrics_dict()["snr"].tolist() == [3.5, 1.0]
    assert np.isnan(f.channel_metrics[:, [1, 3, 4, 5, 6, 7, 8]]).all()
    assert isx_props(path, tmp_path)[1:] == [["C0", "3.5", "0.25"], ["C1", "1", "2"]]


def test_isxcore_keeps_metrics_as_float32(tmp_path):
    """Why the typed accessor returns the stored (double) values, not isx's float32 ones."""
    row = [1e39, 0, 1e-40, 0, 0, 0, 0, 0, 0]
    path = write(fresh(tmp_path), 1, metrics=[row])
    assert EventsFile(path).channel_metrics[0, [0, 2]].tolist() == [1e39, 1e-40]
    assert isx_props(path, tmp_path)[1] == ["C0", "inf", "9.99995e-41"]


def test_no_metrics(tmp_path, realdata):
    assert EventsFile(write(fresh(tmp_path))).channel_metrics is None
    for raw in ([],):
        assert EventsFile(write(fresh(tmp_path), metrics=raw)).channel_metrics is None
    real = EventsFile(realdata / "sample_eventset_msr_1.isxd")  # IDPS wrote "metrics": null
    assert real.metrics is None and real.channel_metrics is None and real.metrics_dict() is None


# ------------------------------------------------------------------ raw JSON forms
ROW = [1.5, 0.25, 0.3, 2.0, 0.5, 0.1, 0.01, 0.2, 7]


@pytest.mark.parametrize("raw, expected_rows, isx_rows", [
    ([ROW, {}], [ROW, [math.nan] * 9], [["1.5", "0.3"], ["0", "0"]]),
    ([ROW, None], [ROW, [math.nan] * 9], [["1.5", "0.3"], ["0", "0"]]),
    ([ROW], [ROW, [math.nan] * 9], [["1.5", "0.3"], ["0", "0"]]),  # missing channel
    ([[None, *ROW[1:]], ROW], [[math.nan, *ROW[1:]], ROW], [["nan", "0.3"], ["1.5", "0.3"]]),
])
def test_accepted_forms_read_like_isx(tmp_path, raw, expected_rows, isx_rows):
    path = write(fresh(tmp_path), 2, metrics=raw)
    np.testing.assert_array_equal(EventsFile(path).channel_metrics, np.array(expected_rows))
    assert [r[1:] for r in isx_props(path, tmp_path)[1:]] == isx_rows


@pytest.mark.parametrize("raw, expected_rows", [
    ([[*ROW, 99.0], ROW], [ROW, ROW]),  # values past the ninth
    ([ROW, ROW, ROW], [ROW, ROW]),  # entries past the last channel
])
def test_extra_values_warn_and_are_ignored_as_isx_does(tmp_path, raw, expected_rows):
    path = write(fresh(tmp_path), 2, metrics=raw)
    with pytest.warns(IsxFormatWarning, match="ignored|ignores"):
        table = EventsFile(path).channel_metrics
    np.testing.assert_array_equal(table, np.array(expected_rows))
    assert [r[1:] for r in isx_props(path, tmp_path)[1:]] == [["1.5", "0.3"]] * 2


@pytest.mark.parametrize("raw, key", [
    ([ROW, [1, 2, 3]], "metrics[1]"),  # isx: "array index 3 is out of range"
    ([ROW, {"snr": 1}], "metrics[1]"),  # isx: "cannot use at() with object"
    ([5, ROW], "metrics[0]"),
    ([[*ROW[:3], "x", *ROW[4:]], ROW], "metrics[0][3]"),  # isx: "type must be number"
    ([ROW, [True, *ROW[1:]]], "metrics[1][0]"),
])
def test_malformed_metrics_raise_naming_the_key(tmp_path, raw, key):
    path = write(fresh(tmp_path), 2, metrics=raw)
    f = EventsFile(path)  # opening still works: metrics are parsed when asked for
    with pytest.raises(IsxFormatError, match=r"metrics") as err:
        _ = f.channel_metrics
    assert err.value.key == key and str(path) in str(err.value)
    with pytest.raises(Exception, match="Error calling C library function"):  # isx refuses too
        isx_props(path, tmp_path)


def test_writer_rejects_bad_metrics(tmp_path):
    names = ["a", "b"]
    bad = [
        (dict(channel_metrics=np.zeros((2, 8))), "shape"),
        (dict(channel_metrics=np.zeros((3, 9))), "shape"),
        (dict(channel_metrics=[[math.inf] + [0] * 8] * 2), "finite"),
        (dict(channel_metrics={"snr": [1, 2], "bogus": [1, 2]}), "unknown"),
        (dict(channel_metrics={"snr": [1, 2, 3]}), "shape"),
        (dict(channel_metrics=[["x"] * 9] * 2), "numbers"),
        (dict(channel_metrics=np.zeros((2, 9)), metrics=[]), "either"),
    ]
    for kw, match in bad:
        path = fresh(tmp_path)
        with pytest.raises(IsxWriteError, match=match):
            EventsWriter(path, TIMING, names, **kw)
        assert not path.exists()


def test_metrics_survive_close_and_are_cached(tmp_path):
    path = write(fresh(tmp_path), 2, channel_metrics=np.arange(18.0).reshape(2, 9))
    f = EventsFile(path)
    first = f.channel_metrics
    f.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(f.channel_metrics, np.arange(18.0).reshape(2, 9))
    assert f.channel_metrics is first
