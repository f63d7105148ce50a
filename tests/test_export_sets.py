"""Event set, GPIO and IMU CSV exports and the GPIO -> .isxd conversion, against
isx 2.1.0 on the same inputs: bytes identical."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isxio.export as ours
from isxio.errors import IsxFormatError, IsxTypeError
from isxio.export.sets import ratio_seconds
from isxio.formats.common import Ratio
from isxio.testing import fixtures as fx

pytestmark = pytest.mark.isx
isx = pytest.importorskip("isx")

MODES = [(sparse, amp) for sparse in (True, False) for amp in (True, False)]
T0 = 459472532939
UUID = "GA-00000000-0000000000-1600000000000"


def both_event_csvs(tmp: Path, inputs, tag: str, **kw) -> tuple[bytes, bytes]:
    theirs, mine = tmp / f"isx_{tag}.csv", tmp / f"our_{tag}.csv"
    isx.export_event_set_to_csv(inputs, str(theirs), **kw)
    ours.export_event_set_to_csv(inputs, str(mine), **kw)
    return theirs.read_bytes(), mine.read_bytes()


# ------------------------------------------------------------------ event sets
@pytest.mark.parametrize("time_ref", ["start", "unix"])
def test_event_csv_real_file(tmp_path, realdata, time_ref):
    src = [str(realdata / "sample_eventset_msr_1.isxd")]
    for sparse, amp in MODES:
        tag = f"{sparse}{amp}"
        theirs, mine = both_event_csvs(tmp_path, src, tag, time_ref=time_ref,
                                       sparse_output=sparse, write_amplitude=amp)
        assert mine == theirs
    isx.export_event_set_to_csv(src, str(tmp_path / "isx.csv"),
                                output_props_file=str(tmp_path / "isx_props.csv"))
    ours.export_event_set_to_csv(src, str(tmp_path / "our.csv"),
                                 output_props_file=str(tmp_path / "our_props.csv"))
    assert (tmp_path / "our_props.csv").read_bytes() == (tmp_path / "isx_props.csv").read_bytes()


@st.composite
def event_sets(draw):
    n = draw(st.integers(2, 30))
    period_us = draw(st.integers(1000, 200000))
    start_ms = draw(st.integers(0, 2_000_000_000_000))
    cells = draw(st.integers(1, 3))
    data = []
    for _ in range(cells):
        k = draw(st.integers(0, n))
        idx = sorted(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k,
                                   unique=True)))
        jitter = draw(st.lists(st.integers(-period_us // 2 - 2, period_us // 2 + 2),
                               min_size=len(idx), max_size=len(idx)))
        offs = sorted({max(0, i * period_us + j) for i, j in zip(idx, jitter, strict=True)})
        amps = draw(st.lists(st.floats(-1e6, 1e6, width=32), min_size=len(offs),
                             max_size=len(offs)))
        data.append((offs, amps))
    return n, period_us, start_ms, data


def write_event_set(path: Path, n, period_us, start_ms, data) -> None:
    start = isx.Time._from_secs_since_epoch(isx.Duration.from_msecs(start_ms))
    timing = isx.Timing(num_samples=n, period=isx.Duration.from_usecs(period_us), start=start)
    es = isx.EventSet.write(str(path), timing, [f"C{i}" for i in range(len(data))])
    for i, (offs, amps) in enumerate(data):
        es.set_cell_data(i, np.array(offs, np.uint64), np.array(amps, np.float32))
    es.flush()


@settings(max_examples=25, deadline=None)
@given(event_sets(), event_sets(), st.sampled_from(["start", "unix"]), st.booleans())
def test_event_csv_matches_isx(first, second, time_ref, two_files):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_event_set(tmp / "a.isxd", *first)
        inputs = [str(tmp / "a.isxd")]
        if two_files and len(second[3]) == len(first[3]):
            write_event_set(tmp / "b.isxd", *second)
            inputs.append(str(tmp / "b.isxd"))
        for sparse, amp in MODES:
            theirs, mine = both_event_csvs(tmp, inputs, f"{sparse}{amp}", time_ref=time_ref,
                                           sparse_output=sparse, write_amplitude=amp)
            assert mine == theirs


def test_event_csv_blocked_events_like_isx(tmp_path):
    """An event that misses its sample window blocks the cell's later events (isx rule)."""
    write_event_set(tmp_path / "e.isxd", 10, 100000, 1600000000123,
                    [([0, 100000, 120000, 300000, 450000], [1, 2, 3, 4, 5]),
                     ([50000, 250000], [9, 10])])
    theirs, mine = both_event_csvs(tmp_path, [str(tmp_path / "e.isxd")], "b")
    assert mine == theirs
    assert b"0.2, 0, 10" in mine


def test_event_csv_refusals(tmp_path, realdata):
    src = [str(realdata / "sample_eventset_msr_1.isxd")]
    with pytest.raises(ValueError, match="writeTimeRelativeTo"):
        ours.export_event_set_to_csv(src, str(tmp_path / "a.csv"), time_ref="tsc")
    with pytest.raises(IsxFormatError, match=r"cellset\.isxd"):
        ours.export_event_set_to_csv([str(realdata / "cellset.isxd")], str(tmp_path / "b.csv"))
    assert not list(tmp_path.iterdir())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**40), max_size=5), st.integers(-2**45, 2**45),
       st.integers(1, 10**9), st.integers(1, 10**6), st.booleans())
def test_ratio_seconds_is_unreduced_ratio_arithmetic(k, snum, sden, uden, base):
    start, unit = Ratio(snum, sden), Ratio(1, uden)
    got = ratio_seconds(np.array(k, np.int64), unit, start, start if base else None)
    for value, kk in zip(got, k, strict=True):
        den = uden if sden == uden else np.lcm(sden, uden).item()
        num = snum * (den // sden) + kk * (den // uden)
        if base:
            num -= snum * (den // sden)
        assert value == float(num) / float(den)


# ------------------------------------------------------------------ GPIO / IMU
def gpio_file(tmp: Path, events, **kw) -> Path:
    path = tmp / f"g{uuid.uuid4().hex[:12]}.gpio"
    fx.write_gpio(path, events, **kw)
    return path


def gpio_events(t0: int = T0) -> list:
    return [fx.capture_all(t0, fc=1, gpi=1, bnc=[0, 100, 65535, 3], ex_led=123, sync=1),
            fx.capture_all(t0 + 249, fc=2, gpi=0, bnc=[16, 100, 65535, 3], ex_led=123),
            fx.capture_all(t0 + 251, fc=3, gpi=1, bnc=[16, 100, 6553, 3], ex_led=12),
            fx.bnc_sync(t0 + 1000, 1), fx.digital_gpio(t0 + 2000, 5, seq=50),
            fx.frame_count(t0 + 3000, 7), fx.bnc_trig(t0 + 76000, 1)]


def assert_gpio_csv(tmp: Path, inputs, **kw) -> bytes:
    theirs, mine = tmp / "isx.csv", tmp / "our.csv"
    for p in (theirs, mine):
        p.unlink(missing_ok=True)
    isx.export_gpio_set_to_csv([str(p) for p in inputs], str(theirs),
                               inter_isxd_file_dir=str(tmp), **kw)
    ours.export_gpio_set_to_csv([str(p) for p in inputs], str(mine), **kw)
    assert mine.read_bytes() == theirs.read_bytes()
    return mine.read_bytes()


@pytest.mark.parametrize("time_ref", ["start", "unix"])
def test_gpio_csv_matches_isx(tmp_path, time_ref):
    a = gpio_file(tmp_path, gpio_events(), utc_offset=-25200,
                  session={"ad": {"clock": 1000}})
    b = gpio_file(tmp_path, gpio_events(T0 + 10**7), start=(1654732431836, 1000))
    text = assert_gpio_csv(tmp_path, [a], time_ref=time_ref)
    assert b", nan\n" in text and (time_ref == "unix" or b"\n0.000251, " in text)
    assert_gpio_csv(tmp_path, [a, b], time_ref=time_ref)
    # the converted .isxd files isx left behind export the same
    converted = sorted(tmp_path.glob("*_gpio.isxd"))
    assert len(converted) == 2
    assert_gpio_csv(tmp_path, converted, time_ref=time_ref)


@pytest.mark.parametrize("time_ref", ["start", "unix"])
def test_imu_csv_matches_isx(tmp_path, time_ref):
    rng = np.random.default_rng(0)
    path = tmp_path / f"i{uuid.uuid4().hex[:12]}.imu"
    fx.write_imu(path, rng.integers(-30000, 30000, (11, 3)), rng.integers(-3000, 3000, (11, 3)),
                 rng.integers(-300, 300, (3, 3)), acc_dropped=[4], acc_period_ms=(144, 7))
    assert_gpio_csv(tmp_path, [path], time_ref=time_ref)
    converted = sorted(tmp_path.glob("*_imu.isxd"))
    assert_gpio_csv(tmp_path, converted, time_ref=time_ref)


def test_gpio_to_isxd_bytes_match_isx(tmp_path):
    rng = np.random.default_rng(1)
    imu = tmp_path / "imu1.imu"
    fx.write_imu(imu, rng.integers(-30000, 30000, (5, 3)), rng.integers(-3000, 3000, (5, 3)),
                 rng.integers(-300, 300, (2, 3)))
    gpio = gpio_file(tmp_path, gpio_events(), session={"ad": {"clock": 1000},
                                                       "processingInterface": {
                                                           "recordingUUID": UUID}})
    for src in (gpio, imu):
        (tmp_path / "isx").mkdir(exist_ok=True)
        (tmp_path / "our").mkdir(exist_ok=True)
        isx.export_gpio_to_isxd(str(src), str(tmp_path / "isx"))
        ours.export_gpio_to_isxd(str(src), str(tmp_path / "our"))
    names = sorted(p.name for p in (tmp_path / "isx").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "our").iterdir())
    for name in names:
        assert (tmp_path / "our" / name).read_bytes() == (tmp_path / "isx" / name).read_bytes()


def test_gpio_csv_refusals(tmp_path, realdata):
    a = gpio_file(tmp_path, gpio_events())
    with pytest.raises(ValueError, match="writeTimeRelativeTo"):
        ours.export_gpio_set_to_csv([str(a)], str(tmp_path / "x.csv"), time_ref="tsc")
    with pytest.raises(IsxTypeError):
        ours.export_gpio_set_to_csv([str(realdata / "sample_eventset_msr_1.isxd")],
                                    str(tmp_path / "x.csv"))
    truncated = tmp_path / "t.gpio"
    truncated.write_bytes(a.read_bytes()[:20])
    with pytest.raises(ValueError, match=r"t\.gpio"):
        ours.export_gpio_set_to_csv([str(truncated)], str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()
