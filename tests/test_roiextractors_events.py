"""``InscopixEventsExtractor`` against isx (``isx.EventSet``) and against the source data.

The only allowed difference from isx is its 1 µs rounding: isx converts each stored
offset (whole µs) to double seconds and back, truncating, so about 2 % of its offsets
come back 1 µs below the stored value.  The extractor returns the stored offsets, so
for every event ``ours - isx`` is 0 or 1 µs, and exactly
:func:`isxio.formats.events.isx_microseconds` of ours equals isx's.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxUnsupportedError
from isxio.formats.common import Ratio, Time, TimingInfo
from isxio.formats.container import encode_trailer
from isxio.formats.events import (
    EVENT_METRIC_NAMES,
    EventsFile,
    EventsHeader,
    EventsWriter,
    isx_microseconds,
    write_v1_events_file,
)

pytest.importorskip("roiextractors")
isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

from isxio.roiextractors import InscopixEventsExtractor  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def fresh(folder: Path) -> Path:
    return folder / f"e{uuid.uuid4().hex[:10]}.isxd"


def assert_matches_isx(path: Path) -> InscopixEventsExtractor:
    """Every getter of the extractor agrees with isx on ``path`` (1 µs rule above)."""
    ours = InscopixEventsExtractor(path)
    es = isx.EventSet.read(str(path))
    start = ours._file.global_start
    assert ours.get_num_channels() == es.num_cells
    assert ours.get_channel_names() == [es.get_cell_name(i) for i in range(es.num_cells)]
    for i in range(es.num_cells):
        isx_offsets, isx_amps = es.get_cell_data(i)
        offsets = ours.get_event_offsets(i)
        diff = offsets - isx_offsets.astype(np.int64)
        assert set(np.unique(diff)) <= {0, 1}
        np.testing.assert_array_equal(isx_microseconds(offsets, start).astype(np.uint64),
                                      isx_offsets)
        np.testing.assert_array_equal(ours.get_event_times(i), offsets / 1e6)
        np.testing.assert_array_equal(ours.get_event_amplitudes(i), isx_amps)
    assert ours.get_sampling_frequency() == pytest.approx(1 / es.timing.period.secs_float,
                                                          rel=1e-12)
    assert ours.get_num_samples() == es.timing.num_samples
    naive = ours.get_start_time().replace(tzinfo=None)  # isx: naive local wall time
    # isx converts through double seconds: 1 µs, or a few float64 steps far from 1970
    step = math.ulp(abs(naive - dt.datetime(1970, 1, 1)).total_seconds()) * 4
    assert abs(naive - es.timing.start.to_datetime()) <= dt.timedelta(seconds=max(1e-6, step))
    del es
    return ours


def expected_channel(offsets: list[int], amps: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Source data -> sorted by time, a repeated time keeps the last amplitude written."""
    last = {}
    for o, a in zip(offsets, amps, strict=True):
        last[o] = a
    keys = sorted(last)
    return np.array(keys, np.int64), np.array([last[k] for k in keys], np.float32)


# ------------------------------------------------------------------ real file
@pytest.mark.realdata
def test_real_event_set(realdata):
    ours = assert_matches_isx(realdata / "sample_eventset_msr_1.isxd")
    assert ours.get_channel_names() == ["C001", "C014", "C030", "C114", "C175"]
    assert ours.get_num_events() == 13504
    assert ours.get_metrics() is None and ours.extra_properties is None
    assert ours.get_start_time() == dt.datetime(2024, 8, 26, 10, 8, 40, 278000,
                                                tzinfo=dt.timezone.utc)
    times, amps, chans = ours.get_events()
    assert len(times) == 13504 and np.all(np.diff(times) >= 0)
    for i in range(5):
        np.testing.assert_array_equal(times[chans == i], ours.get_event_times(i))
        np.testing.assert_array_equal(amps[chans == i], ours.get_event_amplitudes(i))


# ------------------------------------------------------------------ synthetic V2
@st.composite
def event_sets(draw):
    n = draw(st.integers(1, 5))
    names = draw(st.lists(st.text("abcC0123_ ", min_size=1, max_size=5), min_size=n,
                          max_size=n, unique=True))
    channels = []
    for _ in range(n):
        offs = draw(st.lists(st.one_of(st.integers(0, 50), st.integers(0, 10**11)),
                             max_size=40))
        amps = draw(st.lists(st.floats(width=32, allow_nan=False), min_size=len(offs),
                             max_size=len(offs)))
        channels.append((offs, amps))
    start = Time(Ratio(draw(st.integers(0, 2 * 10**11)), draw(st.sampled_from([1, 1000, 3]))),
                 draw(st.integers(-50400, 50400)))
    timing = TimingInfo(draw(st.integers(1, 10**5)),
                        Ratio(draw(st.integers(1, 1000)), draw(st.sampled_from([1000, 30]))),
                        start)
    return timing, names, channels


@SETTINGS
@given(spec=event_sets())
def test_synthetic_event_sets(tmp_path, spec):
    timing, names, channels = spec
    path = fresh(tmp_path)
    with EventsWriter(path, timing, names) as w:
        for i, (offs, amps) in enumerate(channels):
            w.set_cell_data(i, np.array(offs, np.uint64), amps)
    ours = assert_matches_isx(path)
    all_times, all_amps, all_chans = [], [], []
    for i, (offs, amps) in enumerate(channels):
        exp_off, exp_amp = expected_channel(offs, amps)
        np.testing.assert_array_equal(ours.get_event_offsets(i), exp_off)
        np.testing.assert_array_equal(ours.get_event_times(names[i]), exp_off / 1e6)
        np.testing.assert_array_equal(ours.get_event_amplitudes(i), exp_amp)
        all_times += list(exp_off)
        all_amps += list(exp_amp)
        all_chans += [i] * len(exp_off)
    order = np.lexsort((all_chans, all_times))
    times, amps, chans = ours.get_events()
    np.testing.assert_array_equal(times, np.array(all_times, np.float64)[order] / 1e6)
    np.testing.assert_array_equal(amps, np.array(all_amps, np.float32)[order])
    np.testing.assert_array_equal(chans, np.array(all_chans, np.int64)[order])
    assert times.dtype == np.float64 and chans.dtype == np.int64
    offset = dt.timedelta(seconds=timing.start.utc_offset)
    assert ours.get_start_time().utcoffset() == offset
    assert ours.get_start_time() == dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + \
        dt.timedelta(microseconds=round(timing.start.secs_since_epoch.fraction * 10**6))


def test_times_exact_to_the_microsecond_where_isx_is_not(tmp_path):
    """A start with a non-decimal denominator: isx drops 1 µs on some offsets, we don't."""
    timing = TimingInfo(10, Ratio(1, 30), Time(Ratio(5_100_000_001, 3), 3600))
    offsets = np.arange(1, 2001, dtype=np.uint64) * np.uint64(33_333)
    path = fresh(tmp_path)
    with EventsWriter(path, timing, ["c"]) as w:
        w.set_cell_data(0, offsets, np.ones(len(offsets)))
    ours = assert_matches_isx(path)
    isx_offsets = isx.EventSet.read(str(path)).get_cell_data(0)[0]
    assert np.any(isx_offsets != offsets)  # isx's rounding shows up here...
    np.testing.assert_array_equal(ours.get_event_offsets(0), offsets)  # ...ours is exact
    assert ours.get_start_time().utcoffset() == dt.timedelta(hours=1)


def test_metrics_and_extra_properties(tmp_path):
    table = np.arange(27.0).reshape(3, 9)
    table[1] = np.nan
    extra = {"idps": {"cellset": {"method": "x"}}}
    path = fresh(tmp_path)
    with EventsWriter(path, TimingInfo(10), ["a", "b", "c"], channel_metrics=table,
                      extra_properties=extra) as w:
        w.set_cell_data(2, [5], [1.0])
    ours = assert_matches_isx(path)
    metrics = ours.get_metrics()
    assert list(metrics) == list(EVENT_METRIC_NAMES) == list(ours.metric_names)
    np.testing.assert_array_equal(metrics["snr"], [0.0, math.nan, 18.0])
    np.testing.assert_array_equal(metrics["decaySD"], [8.0, math.nan, 26.0])
    assert ours.extra_properties == extra
    assert ours.get_event_times(0).size == 0 and ours.get_num_events() == 1


# ------------------------------------------------------------------ edge cases
def test_no_events(tmp_path):
    path = fresh(tmp_path)
    with EventsWriter(path, TimingInfo(5), ["a", "b"]):
        pass
    ours = assert_matches_isx(path)
    times, amps, chans = ours.get_events()
    assert times.shape == amps.shape == chans.shape == (0,)
    assert ours.get_event_times("b").dtype == np.float64


def test_no_channels(tmp_path):
    """isx cannot write one, but reads a trailer with no channel (1 kHz default period)."""
    path = fresh(tmp_path)
    header = EventsHeader(5, (), Time(Ratio(1000, 1), 0), Time(Ratio(1010, 1), 0), (), ())
    path.write_bytes(encode_trailer(header.to_json()))
    ours = assert_matches_isx(path)
    assert ours.get_num_channels() == 0 and ours.get_channel_names() == []
    assert ours.get_sampling_frequency() == 1000.0 and ours.get_num_samples() == 10_000
    assert all(a.size == 0 for a in ours.get_events())
    with pytest.raises(IndexError):
        ours.get_event_times(0)


def test_v1_event_file(tmp_path):
    start = Time(Ratio(1_600_000_000_250, 1000), -7200)
    origin = 1_600_000_000_250_000
    path = fresh(tmp_path)
    write_v1_events_file(path, TimingInfo(100, Ratio(50, 1000), start), [
        ("C1", np.array([origin + 900, origin + 10, origin + 10], np.uint64), [3.0, 1.0, 2.0],
         [True] * 3),  # V1 values are |value| x the state bit
        ("C0", np.array([origin + 5], np.uint64), [4.0], [True]),
    ], kind="events")
    ours = assert_matches_isx(path)
    assert not ours._file.is_v2
    assert ours.get_channel_names() == ["C0", "C1"]  # isxcore sorts V1 channels by name
    np.testing.assert_array_equal(ours.get_event_offsets("C1"), [10, 900])
    np.testing.assert_array_equal(ours.get_event_amplitudes("C1"), [2.0, 3.0])
    assert ours.get_start_time().utcoffset() == dt.timedelta(hours=-2)


@pytest.mark.parametrize("kind, word", [("gpio", "GPIO"), ("imu", "IMU")])
def test_gpio_and_imu_files_are_refused(tmp_path, kind, word):
    path = fresh(tmp_path)
    with EventsWriter(path, TimingInfo(10), ["x"], kind=kind) as w:
        w.set_cell_data(0, [1], [1.0])
    with pytest.raises(IsxUnsupportedError, match=f"{word} file.*Inscopix{word.title()}"
                                                  "Interface") as err:
        InscopixEventsExtractor(path)
    assert str(path) in str(err.value)
    assert EventsFile(path).kind == kind  # the file itself is fine


def test_bad_channel_arguments(tmp_path):
    path = fresh(tmp_path)
    with EventsWriter(path, TimingInfo(10), ["a", "b"]) as w:
        w.set_cell_data(1, [7, 3], [1.0, 2.0])
    ours = InscopixEventsExtractor(path)
    np.testing.assert_array_equal(ours.get_event_offsets(-1), [3, 7])
    for bad in (2, -3, True, 1.0):
        with pytest.raises(IndexError):
            ours.get_event_times(bad)
    with pytest.raises(KeyError, match="nope"):
        ours.get_event_amplitudes("nope")
    assert "2 channel(s), 2 event(s)" in repr(ours)


def test_repeated_channel_name_keeps_its_own_events(tmp_path):
    """isx looks channels up by name (a repeat returns the first); the extractor does not."""
    path = fresh(tmp_path)
    with EventsWriter(path, TimingInfo(10), ["a", "a"]) as w:
        w.set_cell_data(0, [1], [1.0])
        w.set_cell_data(1, [2], [2.0])
    ours = InscopixEventsExtractor(path)
    es = isx.EventSet.read(str(path))
    assert es.get_cell_data(1)[0].tolist() == [1]  # isx: the first "a"
    assert ours.get_event_offsets(1).tolist() == [2]
    assert ours.get_event_offsets("a").tolist() == [1]
