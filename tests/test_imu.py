"""IMU files (.imu) against isx: channels, values in g/rad/counts, timing, damage."""

from __future__ import annotations

import json
import pickle
import uuid
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxFormatWarning
from isxio.formats.common import Ratio, Time
from isxio.formats.gpio import read_gpio
from isxio.formats.imu import IMU_CHANNEL_NAMES, ImuFile, read_imu, stream_offsets
from isxio.testing import write_imu

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def unique(tmp_path: Path) -> Path:
    return tmp_path / f"i{uuid.uuid4().hex}.imu"


def isx_read(path: Path) -> tuple:
    g = isx.GpioSet.read(str(path))
    try:
        t = g.timing._impl
        return ([g.get_channel_name(i) for i in range(g.num_channels)],
                (t.num_samples, t.step.num, t.step.den, t.start.secs_since_epoch.num,
                 t.start.secs_since_epoch.den, t.start.utc_offset),
                [g.get_channel_data(i) for i in range(g.num_channels)])
    finally:
        del g
        Path("/tmp", path.name.split(".")[0] + "_imu.isxd").unlink(missing_ok=True)


def assert_same(path: Path, **kw) -> ImuFile:
    names, timing, data = isx_read(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsxFormatWarning)
        m = ImuFile(path, **kw)
    t = m.timing
    assert list(m.channel_names) == names
    assert (t.num_samples, t.period.num, t.period.den, t.start.secs_since_epoch.num,
            t.start.secs_since_epoch.den, t.start.utc_offset) == timing
    for i, (o, v) in enumerate(data):
        o2, v2 = m.channel_data(i)
        assert o2.dtype == np.uint64 and v2.dtype == np.float32
        np.testing.assert_array_equal(o2, o, err_msg=f"offsets of {names[i]}")
        np.testing.assert_array_equal(v2, v, err_msg=f"values of {names[i]}")
    return m


def _rows(draw, n: int) -> np.ndarray:
    return np.array(draw(st.lists(st.lists(st.integers(-32768, 32767), min_size=3, max_size=3),
                                  min_size=n, max_size=n)), dtype=np.int64).reshape(n, 3)


@st.composite
def imu_files(draw) -> dict:
    n_times = draw(st.integers(0, 40))
    dropped = sorted(draw(st.sets(st.integers(0, max(n_times - 1, 0)), max_size=4))) \
        if n_times else []
    n_acc = n_times - len(dropped)
    n_mag = draw(st.integers(0, 4))
    period = draw(st.sampled_from([(20, 1), (20570732, 1000000), (41, 2), (20000001, 1000000)]))
    start = draw(st.sampled_from([(1581619401465, 1000), (1600000000, 1), (3, 7),
                                  (1589970802786123457, 10**9)]))
    end_extra = draw(st.sampled_from([Fraction(0), Fraction(1, 1000), Fraction(-1, 10**6)]))
    end = Fraction(*start) + Fraction(period[0], period[1] * 1000) * n_times + end_extra
    return dict(acc=_rows(draw, n_acc), ori=_rows(draw, n_acc), mag=_rows(draw, n_mag),
                acc_period_ms=period, start=start, acc_dropped=dropped,
                mag_dropped=[0] if n_mag and draw(st.booleans()) else [],
                end=(end.numerator, end.denominator), utc_offset=draw(st.integers(-3600, 3600)),
                mag_timing=draw(st.booleans()) or n_mag == 0,
                mag_period_ms=draw(st.sampled_from([None, (7, 3)])))


@SETTINGS
@given(spec=imu_files())
def test_imu_matches_isx(tmp_path, spec):
    if not spec["mag_timing"]:
        spec["mag"] = np.zeros((0, 3), np.int64)
    path = write_imu(unique(tmp_path), **spec)
    m = assert_same(path)
    assert m.kind == "imu" and m.signal_types == (1,) * 9
    assert m.extra_properties["timingInfo"]["start"]["secsSinceEpoch"]["num"] == spec["start"][0]


def test_imu_values_and_units(tmp_path):
    acc = np.array([[-1, 16384, -16384], [0, 1, 2], [3, 4, 5]])
    ori = np.array([[-4392, -1401, -1163], [2048, 0, -2048], [1, 2, 3]])
    mag = np.array([[-27, 166, -83]])
    path = write_imu(unique(tmp_path), acc, ori, mag, acc_period_ms=(20570732, 1000000),
                     acc_dropped=[1])
    m = assert_same(path)
    offs, vals = m.channel_data("Acc x")
    assert vals[0] == np.float32(-6.103515625e-05) and np.isnan(vals[1])
    assert m.channel_data("Acc y")[1][0] == 1.0
    assert m.channel_data("Ori yaw")[1][0] == np.float32(-2.14453125)
    assert m.channel_data("Mag x")[1].tolist() == [-27.0]
    exact = m.channel_data(0, exact=True)[0]
    assert offs[0] == 0 and np.all(offs <= exact) and np.all(exact - offs <= 1)
    # the packets hold raw counts: g conversion only in channel_data (as isx's wrapper)
    assert m.packets["value"][0] == -1.0
    assert m.timing.period == Ratio(20570732, 10**9)


def test_stream_offsets_need_ratio_emulation():
    """Exact rationals and isxcore's double arithmetic disagree on some samples."""
    start = Time(Ratio(1581619401465, 1000))
    step = (20570732, 10**9)
    ours = stream_offsets(start, step, 3000)
    exact = [int((Fraction(1581619401465, 1000) + Fraction(*step) * j) * 10**6)
             - int(Fraction(1581619401465, 1000) * 10**6) for j in range(3000)]
    assert ours[0] == 0 and len(ours) == 3000
    assert (ours != np.array(exact, np.uint64)).any()


def test_imu_missing_blocks_and_bad_footer(tmp_path):
    acc = np.arange(12).reshape(4, 3)
    no_mag = write_imu(unique(tmp_path), acc, acc, np.zeros((0, 3)), mag_timing=False)
    assert_same(no_mag)
    bad = write_imu(unique(tmp_path), acc, acc, acc[:1], session=b"{oops")
    with pytest.raises(IsxFormatError, match="footer does not parse") as err:
        ImuFile(bad)
    assert err.value.offset == 112 + (4 + 1 + 4) * 16  # header + acc + mag + ori records
    with pytest.raises(Exception, match="extra properties"):
        isx_read(bad)  # isx cannot read it either
    for footer in (json.dumps({"timingInfo": {"start": 1}}).encode(),
                   json.dumps({"other": 1}).encode()):
        path = write_imu(unique(tmp_path), acc, acc, acc[:1], session=footer)
        with pytest.warns(IsxFormatWarning, match="IMU"):
            m = ImuFile(path)
        assert m.timing.num_samples == 0
        assert_same(path)
        with pytest.raises(IsxFormatError):
            ImuFile(path, strict=True)


def test_imu_short_records(tmp_path):
    """Fewer records than the timing needs: complete ones kept, the rest NaN (warned).

    isx reads past its array there (undefined values), so only the complete records
    and the other streams are compared with isx.
    """
    acc = np.arange(30).reshape(10, 3)
    path = write_imu(unique(tmp_path), acc, acc[:6] + 1, np.ones((2, 3)))
    with pytest.warns(IsxFormatWarning, match="orientation timing needs 10 stored records"):
        m = ImuFile(path)
    data = isx_read(path)[2]
    for i in (0, 1, 2, 6, 7, 8):
        np.testing.assert_array_equal(m.channel_data(i)[1], data[i][1])
    for i in (3, 4, 5):
        yaw = m.channel_data(i)[1]
        np.testing.assert_array_equal(yaw[:6], data[i][1][:6])
        assert np.isnan(yaw[6:]).all()
    with pytest.raises(IsxFormatError, match="orientation timing needs"):
        ImuFile(path, strict=True)
    truncated = unique(tmp_path)
    truncated.write_bytes(path.read_bytes()[:200])  # the JSON footer is lost
    with pytest.raises(IsxFormatError, match="footer") as err:
        ImuFile(truncated)
    assert str(truncated) in str(err.value)
    tiny = unique(tmp_path)
    tiny.write_bytes(path.read_bytes()[:50])
    with pytest.raises(IsxFormatError, match="too small") as err:
        ImuFile(tiny)
    assert err.value.offset == 0 and str(tiny) in str(err.value)


def test_imu_api(tmp_path):
    path = write_imu(unique(tmp_path), np.ones((3, 3)), np.ones((3, 3)), np.ones((1, 3)))
    m = read_gpio(path)
    assert isinstance(m, ImuFile) and m.channel_names == IMU_CHANNEL_NAMES
    assert read_imu(path).num_channels == 9
    clone = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(clone.channel_data(8)[1], m.channel_data(8)[1])
    assert m.channel_index("Mag z") == 8 and m.first_tsc is None


def test_imu_implausible_num_times(tmp_path):
    start = {"secsSinceEpoch": {"num": 1, "den": 1}, "utcOffset": 0}
    footer = {"timingInfo": {"start": start, "end": start, "accelerometer": {
        "periodMs": {"num": 20, "den": 1}, "dropped": [], "numTimes": 10**8}}}
    path = write_imu(unique(tmp_path), np.ones((2, 3)), np.ones((2, 3)), np.ones((1, 3)),
                     session=footer)
    with pytest.raises(IsxFormatError, match="implausible accelerometer numTimes") as err:
        ImuFile(path)
    assert err.value.key == "timingInfo.accelerometer.numTimes"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.none() | st.integers(0, 10**4),
       flips=st.lists(st.tuples(st.integers(0, 10**4), st.integers(0, 255)), max_size=6))
def test_damaged_imu_raises_only_format_errors(tmp_path, cut, flips):
    good = write_imu(unique(tmp_path), np.ones((5, 3)), np.ones((5, 3)), np.ones((1, 3)),
                     acc_dropped=[2]).read_bytes()
    data = bytearray(good if cut is None else good[:cut % len(good)])
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    path = unique(tmp_path)
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsxFormatWarning)
        try:
            m = ImuFile(path)
        except IsxFormatError as exc:
            assert str(path) in str(exc)
            return
    for i in range(9):
        m.channel_data(i)
