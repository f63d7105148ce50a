"""Event sets, GPIO and IMU ``.isxd`` files (spec isxd.md §7) against isx."""

from __future__ import annotations

import json
import math
import pickle
import struct
import uuid
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxFormatWarning, IsxWriteError
from isxio.formats import _json
from isxio.formats.common import Ratio, Time, TimingInfo
from isxio.formats.container import encode_trailer
from isxio.formats.events import (
    PACKET_DTYPE,
    EventsFile,
    EventsWriter,
    collapse_channels,
    isx_microseconds,
    write_v1_events_file,
)

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

SAMPLE_NAME = "sample_eventset_msr_1.isxd"
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
EPOCH_US = 1_600_000_000 * 10**6


# ------------------------------------------------------------------ helpers
def to_isx_timing(t: TimingInfo):
    start = isx.Time._from_secs_since_epoch(
        isx.Duration._from_num_den(t.start.secs_since_epoch.num, t.start.secs_since_epoch.den),
        t.start.utc_offset)
    return isx.Timing(num_samples=t.num_samples,
                      period=isx.Duration._from_num_den(t.period.num, t.period.den), start=start)


def isx_timing_tuple(t) -> tuple:
    s = t.start._impl
    return (t.num_samples, t.period._impl.num, t.period._impl.den,
            s.secs_since_epoch.num, s.secs_since_epoch.den, s.utc_offset)


def our_timing_tuple(t: TimingInfo) -> tuple:
    s = t.start
    return (t.num_samples, t.period.num, t.period.den,
            s.secs_since_epoch.num, s.secs_since_epoch.den, s.utc_offset)


def fresh(folder: Path, suffix: str = ".isxd") -> Path:
    return folder / f"f{uuid.uuid4().hex[:10]}{suffix}"


def read_isx_events(path: Path) -> tuple[tuple, list]:
    es = isx.EventSet.read(str(path))
    data = [es.get_cell_data(i) for i in range(es.num_cells)]
    return isx_timing_tuple(es.timing), data


def read_isx_gpio(path: Path) -> tuple[tuple, list[str], list]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = isx.GpioSet.read(str(path))
        names = [g.get_channel_name(i) for i in range(g.num_channels)]
        data = [g.get_channel_data(i) for i in range(g.num_channels)]
    return isx_timing_tuple(g.timing), names, data


def assert_same_data(ours: list, theirs: list) -> None:
    assert len(ours) == len(theirs)
    for (o_off, o_val), (t_off, t_val) in zip(ours, theirs, strict=True):
        assert o_off.dtype == np.uint64 and o_val.dtype == np.float32
        np.testing.assert_array_equal(o_off, t_off)
        np.testing.assert_array_equal(o_val, t_val)  # NaN == NaN here


def split_container(path: Path) -> tuple[bytes, dict]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[-8:])
    d = len(raw) - 9 - n
    return raw[:d], json.loads(raw[d:d + n])


def rebuild(path: Path, data: bytes, header: dict) -> None:
    path.write_bytes(data + encode_trailer(header))


# ------------------------------------------------------------------ strategies
@st.composite
def event_timings(draw) -> TimingInfo:
    n = draw(st.integers(0, 3000))
    num = draw(st.integers(1, 10**6))
    den = draw(st.sampled_from([1000, 10**6, 3, 7, 30, 20000, 12074000000]))
    snum = draw(st.integers(0, 2 * 10**12))
    sden = draw(st.sampled_from([1, 1000, 10**6, 3]))
    utc = draw(st.integers(-50400, 50400))
    t = TimingInfo(n, Ratio(num, den), Time(Ratio(snum, sden), utc))
    end = Fraction(snum, sden) + t.duration
    assume(Fraction(int(end * 1000), 1000) >= Fraction(snum, sden))  # isx wraps otherwise
    return t


offsets_st = st.lists(st.one_of(st.integers(0, 50), st.integers(0, 10**10),
                                st.integers(0, 2**62)), max_size=40)
floats32 = st.floats(width=32, allow_nan=True, allow_infinity=True)


@st.composite
def event_sets(draw):
    timing = draw(event_timings())
    names = draw(st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")),
                                  min_size=1, max_size=8), min_size=1, max_size=6))
    calls = []
    for _ in range(draw(st.integers(0, 8))):
        offs = draw(offsets_st)
        amps = draw(st.lists(floats32, min_size=len(offs), max_size=len(offs)))
        calls.append((draw(st.integers(0, len(names) - 1)), offs, amps))
    return timing, names, calls


def write_with_isx(path: Path, timing: TimingInfo, names, calls) -> None:
    es = isx.EventSet.write(str(path), to_isx_timing(timing), list(names))
    for index, offs, amps in calls:
        es.set_cell_data(index, np.array(offs, np.uint64), np.array(amps, np.float32))
    es.flush()
    del es


def write_with_isxio(path: Path, timing: TimingInfo, names, calls, **kw) -> None:
    with EventsWriter(path, timing, names, **kw) as w:
        for index, offs, amps in calls:
            w.set_cell_data(index, np.array(offs, np.uint64), np.array(amps, np.float32))


# ------------------------------------------------------------------ V2 event sets
@SETTINGS
@given(spec=event_sets())
def test_read_isx_written_event_set(tmp_path, spec):
    timing, names, calls = spec
    path = fresh(tmp_path)
    write_with_isx(path, timing, names, calls)
    isx_timing, isx_data = read_isx_events(path)
    f = EventsFile(path)
    assert f.kind == "events" and f.is_v2
    assert f.channel_names == names and f.num_channels == len(names)
    assert our_timing_tuple(f.timing) == isx_timing
    assert_same_data([f.channel_data(i) for i in range(len(names))], isx_data)
    assert_same_data(f.all_channel_data(), isx_data)
    counts = [0] * len(names)
    for index, offs, _ in calls:
        counts[index] += len(offs)
    assert f.num_samples == counts
    assert f.signal_types == [0] * len(names)
    assert f.signal_steps == [timing.period] * len(names)
    assert f.metrics is None and f.extra_properties is None


@SETTINGS
@given(spec=event_sets())
def test_written_event_set_is_byte_identical_to_isx(tmp_path, spec):
    timing, names, calls = spec
    ours, theirs = fresh(tmp_path), fresh(tmp_path)
    write_with_isx(theirs, timing, names, calls)
    write_with_isxio(ours, timing, names, calls)
    assert ours.read_bytes() == theirs.read_bytes()
    reread = EventsFile(theirs)
    assert theirs.read_bytes().endswith(encode_trailer(reread.header.to_json()))
    isx_timing, isx_data = read_isx_events(ours)
    assert isx_timing == our_timing_tuple(EventsFile(ours).timing)
    assert_same_data(EventsFile(ours).all_channel_data(), isx_data)


def test_same_time_packets_collapse_to_the_last_one(tmp_path):
    path = fresh(tmp_path)
    timing = TimingInfo(10, Ratio(50, 1000), Time(Ratio(10, 1)))
    write_with_isx(path, timing, ["a", "b"], [(1, [300, 100, 100], [1, 2, 3]),
                                              (1, [100, 5], [4, 5])])
    f = EventsFile(path)
    off, val = f.channel_data(1)
    assert off.tolist() == [5, 100, 300] and val.tolist() == [5, 4, 1]
    assert_same_data(f.all_channel_data(), read_isx_events(path)[1])
    raw_off, _ = f.channel_data(1, stored_offsets=True)
    assert raw_off.tolist() == [5, 100, 300]


def test_isx_offsets_go_through_double_seconds():
    us = np.array([0, 1, 65500103, 129201576, 10**15 + 3], np.int64)
    expected = [math.trunc((int(u) / 1e6) * 1e6) for u in us]
    assert isx_microseconds(us).tolist() == expected
    assert expected[2] == 65500102  # isx returns 1 µs less than stored here
    # over the common denominator lcm(3, 10**6) the product no longer fits a double
    third = Time(Ratio(0, 3))
    assert isx_microseconds(np.array([6641195827154435]), third).tolist() == [6641195827154434]
    assert isx_microseconds(np.array([6641195827154435])).tolist() == [6641195827154435]


def test_duplicate_names_resolve_like_isx(tmp_path):
    path = fresh(tmp_path)
    write_with_isx(path, TimingInfo(10), ["a", "b", "a"], [(0, [1], [1.0]), (2, [2], [2.0])])
    f = EventsFile(path)
    assert_same_data(f.all_channel_data(), read_isx_events(path)[1])
    assert f.channel_data(2)[0].tolist() == [1]  # isx looks "a" up: the first one
    assert f.channel_data(2, by_name=False)[0].tolist() == [2]
    assert [o.tolist() for o, _ in f.all_channel_data(by_name=False)] == [[1], [], [2]]
    assert f.channel_index("a") == 0


def test_end_time_truncated_to_ms(tmp_path):
    timing = TimingInfo(7, Ratio(1, 3), Time(Ratio(10, 1), 3600))
    path = fresh(tmp_path)
    write_with_isxio(path, timing, ["c"], [])
    _, header = split_container(path)
    assert header["global times"][1] == {"secsSinceEpoch": {"den": 1000, "num": 12333},
                                         "utcOffset": 3600}
    assert EventsFile(path).global_end == Time(Ratio(12333, 1000), 3600)


def test_end_before_start_warns(tmp_path):
    # a sub-ms start with a sub-ms duration: the truncated end precedes the start
    timing = TimingInfo(3, Ratio(1, 10000), Time(Ratio(5, 10000)))
    ours, theirs = fresh(tmp_path), fresh(tmp_path)
    write_with_isxio(ours, timing, ["a"], [(0, [1], [1.0])])
    write_with_isx(theirs, timing, ["a"], [(0, [1], [1.0])])
    assert ours.read_bytes() == theirs.read_bytes()
    with pytest.warns(IsxFormatWarning, match="precedes"):
        assert EventsFile(ours).timing.num_samples == 0  # isx reports 2**64 - 5


@pytest.mark.realdata
def test_real_event_set_matches_isx(realdata):
    sample = realdata / SAMPLE_NAME
    f = EventsFile(sample)
    isx_timing, isx_data = read_isx_events(sample)
    assert our_timing_tuple(f.timing) == isx_timing
    assert f.channel_names == ["C001", "C014", "C030", "C114", "C175"]
    assert_same_data([f.channel_data(i) for i in range(f.num_channels)], isx_data)
    assert_same_data(f.all_channel_data(), isx_data)
    assert sum(f.num_samples) == f.trailer.data_size // 20
    assert sample.read_bytes()[f.trailer.data_size:] == encode_trailer(f.header.to_json())
    # the stored offsets differ from isx's by at most 1 µs (double rounding)
    stored = f.all_channel_data(stored_offsets=True)
    for (s_off, _), (i_off, _) in zip(stored, isx_data, strict=True):
        assert np.all(s_off.astype(np.int64) - i_off.astype(np.int64) <= 1)


def test_opening_reads_only_the_trailer(tmp_path):
    path = fresh(tmp_path)
    write_with_isxio(path, TimingInfo(10), ["a", "b"], [(0, [1, 2], [1, 2])])
    data, header = split_container(path)
    bad = bytearray(data)
    bad[8:16] = struct.pack("<Q", 7)  # first packet's channel index: out of range
    rebuild(path, bytes(bad), header)
    f = EventsFile(path)  # opens: packets are not scanned
    assert "packets" not in f.__dict__ and f.num_channels == 2 and f.timing.num_samples == 10
    with pytest.raises(IsxFormatError, match="channel that does not exist") as err:
        f.channel_data(0)
    assert str(path) in str(err.value) and err.value.offset == 8


def test_pickle_and_context_manager(tmp_path):
    path = fresh(tmp_path)
    write_with_isxio(path, TimingInfo(10), ["a"], [(0, [3, 1], [1, 2])])
    with EventsFile(path) as f:
        g = pickle.loads(pickle.dumps(f))
        assert_same_data(g.all_channel_data(), f.all_channel_data())
        assert isinstance(f.packets, np.memmap) and f.packets.dtype == PACKET_DTYPE
        assert f.packets["offset"].tolist() == [3, 1]  # file order


# ------------------------------------------------------------------ writer behaviour
def test_writer_rejects_bad_input_and_leaves_no_file(tmp_path):
    path = fresh(tmp_path)
    with pytest.raises(IsxWriteError):
        EventsWriter(path, TimingInfo(10), [])
    with pytest.raises(IsxWriteError), EventsWriter(path, TimingInfo(10), ["a"]) as w:
        w.set_cell_data(1, [1], [1.0])
    with pytest.raises(IsxWriteError), EventsWriter(path, TimingInfo(10), ["a"]) as w:
        w.set_cell_data(0, [1, 2], [1.0])
    with pytest.raises(IsxWriteError), EventsWriter(path, TimingInfo(10), ["a"]) as w:
        w.set_cell_data(0, [-1], [1.0])
    assert not path.exists() and not list(tmp_path.glob("*.part"))
    write_with_isxio(path, TimingInfo(10), ["a"], [])
    with pytest.raises(FileExistsError):
        EventsWriter(path, TimingInfo(10), ["a"])
    w = EventsWriter(path, TimingInfo(10), ["b"], overwrite=True)
    w.flush()
    with pytest.raises(IsxWriteError, match="closed"):
        w.set_cell_data(0, [1], [1.0])
    assert EventsFile(path).channel_names == ["b"]


# ------------------------------------------------------------------ V2 GPIO / IMU
@st.composite
def gpio_sets(draw):
    timing = draw(event_timings())
    n = draw(st.integers(1, 9))
    types = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    steps = []
    for t in types:
        zero_ok = t == 0
        num = draw(st.integers(0 if zero_ok else 1, 1000))
        steps.append(Ratio(num, draw(st.sampled_from([1000, 10**6, 3, 30]))))
    calls = [(i, [0], [0.0]) for i, t in enumerate(types) if t == 1]  # dense: >= 1 packet
    for _ in range(draw(st.integers(0, 10))):
        offs = draw(offsets_st)
        amps = draw(st.lists(floats32, min_size=len(offs), max_size=len(offs)))
        calls.append((draw(st.integers(0, n - 1)), offs, amps))
    calls = draw(st.permutations(calls))
    kind = draw(st.sampled_from(["gpio", "imu"]))
    return timing, [f"ch {i}" for i in range(n)], steps, types, calls, kind


@SETTINGS
@given(spec=gpio_sets())
def test_gpio_and_imu_v2_read_by_isx(tmp_path, spec):
    timing, names, steps, types, calls, kind = spec
    path = fresh(tmp_path)
    write_with_isxio(path, timing, names, calls, kind=kind, signal_steps=steps,
                     signal_types=types)
    f = EventsFile(path)
    assert f.kind == kind and f.signal_types == types and f.signal_steps == steps
    isx_timing, isx_names, isx_data = read_isx_gpio(path)
    assert isx_names == names == f.channel_names
    assert our_timing_tuple(f.timing) == isx_timing
    assert_same_data(f.all_channel_data(), isx_data)
    assert_same_data([f.channel_data(i) for i in range(len(names))], isx_data)
    pk = f.packets
    assert_same_data(collapse_channels(pk["signal"], pk["offset"], pk["value"], len(names),
                                       start=f.global_start), isx_data)


def test_gpio_period_rule(tmp_path):
    R = Ratio
    cases = {  # steps -> period isx reports
        (R(0, 1), R(1, 10), R(1, 100)): R(1, 1000),  # a zero first step stays: 1 ms
        (R(1, 10), R(0, 1), R(3, 100)): R(3, 100),
        (R(5, 1000), R(7, 1000), R(2, 1000)): R(2, 1000),
    }
    timing = TimingInfo(100, R(1, 1000), Time(R(1600000000, 1)))
    for steps, period in cases.items():
        path = fresh(tmp_path)
        write_with_isxio(path, timing, ["a", "b", "c"], [], kind="gpio", signal_steps=steps)
        f = EventsFile(path)
        assert f.timing.period == period
        assert our_timing_tuple(f.timing) == read_isx_gpio(path)[0]


# ------------------------------------------------------------------ V1 (legacy)
@st.composite
def v1_files(draw):
    start_ms = draw(st.integers(1_500_000_000_000, 1_700_000_000_000))
    sden = draw(st.sampled_from([1000, 1, 3]))
    snum = start_ms * sden // 1000
    n = draw(st.integers(0, 5000))
    idx = st.integers(0, max(n - 1, 0))
    dropped = draw(st.lists(idx, max_size=4, unique=True)) if n else []
    blank = draw(st.lists(idx, max_size=3, unique=True)) if n else []
    blank = [b for b in blank if b not in dropped]
    cropped = [(a, draw(st.integers(a, min(a + 5, n - 1)))) for a in
               draw(st.lists(idx, max_size=2))] if n else []
    timing = TimingInfo(n, Ratio(draw(st.integers(1, 100)), draw(st.sampled_from([1000, 30]))),
                        Time(Ratio(snum, sden), draw(st.integers(-3600, 3600))),
                        tuple(dropped), tuple(cropped), tuple(blank))
    origin = math.ceil(Fraction(snum, sden) * 10**6)
    names = draw(st.lists(st.text("aAbB_1 GPIO", min_size=1, max_size=6), min_size=1,
                          max_size=5, unique=True))
    channels = []
    for name in names:
        rel = draw(st.lists(st.one_of(st.integers(0, 30), st.integers(0, 10**11)),
                            min_size=1, max_size=30))  # analog: an empty block means "to EOF"
        times = np.array(rel, np.uint64) + np.uint64(origin)
        values = draw(st.lists(st.floats(width=32, allow_nan=False), min_size=len(rel),
                               max_size=len(rel)))
        states = draw(st.lists(st.booleans(), min_size=len(rel), max_size=len(rel)))
        channels.append((name, times, np.array(values, np.float32), states))
    analog = draw(st.booleans())
    version = draw(st.sampled_from([0, 1]))
    if version == 0 and analog:
        channels.append(("GPIO4_AI", np.array([origin + 5], np.uint64),
                         np.array([-2.5], np.float32), None))
    elif version == 0 and "GPIO4_AI" in names:
        version = 1
    kind = draw(st.sampled_from(["gpio", "events"]))
    return timing, channels, kind, analog, version


@SETTINGS
@given(spec=v1_files())
def test_v1_files_read_like_isx(tmp_path, spec):
    timing, channels, kind, analog, version = spec
    path = fresh(tmp_path)
    write_v1_events_file(path, timing, channels, kind=kind, analog=analog,
                         file_version=version)
    f = EventsFile(path)
    assert not f.is_v2 and f.kind == kind
    assert f.num_samples == [len(next(c for c in channels if c[0] == name)[1])
                             for name in f.channel_names]
    if kind == "gpio":
        g = isx.GpioSet.read(str(path))
        assert f.channel_names == [g.get_channel_name(i) for i in range(g.num_channels)]
        isx_data = [g.get_channel_data(i) for i in range(g.num_channels)]
    else:
        g = isx.EventSet.read(str(path))
        isx_data = [g.get_cell_data(i) for i in range(g.num_cells)]
    assert our_timing_tuple(f.timing) == isx_timing_tuple(g.timing)
    assert list(f.timing.dropped) == g.timing.dropped
    assert list(f.timing.blank) == g.timing.blank
    assert [list(c) for c in f.timing.cropped] == [list(c) for c in g.timing.cropped]
    assert_same_data(f.all_channel_data(), isx_data)


def test_v1_state_decoding_and_name_order(tmp_path):
    path = fresh(tmp_path)
    timing = TimingInfo(100, Ratio(1, 1000), Time(Ratio(1600000000, 1)))
    s = EPOCH_US
    write_v1_events_file(path, timing, [
        ("b", [s + 5, s + 3, s + 3, s + 10], np.array([1.5, 0, 0, 2], np.float32),
         [True, True, False, False]),
        ("GPIO1", [s + 1, s + 2], np.array([0.0, -0.0], np.float32)),
    ])
    f = EventsFile(path)
    assert f.channel_names == ["GPIO1", "b"]  # byte order, not file order
    assert [v.tolist() for _, v in f.all_channel_data()] == [[0.0, 1.0], [0.0, 1.5, 0.0]]
    assert_same_data(f.all_channel_data(), read_isx_gpio(path)[2])


def test_v1_analog_packet_count_inferred(tmp_path):
    path = fresh(tmp_path)
    timing = TimingInfo(100, Ratio(1, 1000), Time(Ratio(1600000000, 1)))
    s = EPOCH_US
    write_v1_events_file(path, timing, [
        ("GPIO1", [s + 1, s + 2], np.array([-1.5, 2], np.float32)),
        ("GPIO4_AI", [s + 1, s + 2, s + 4], np.array([-1.5, 0.25, -3], np.float32),
         {"Number of Packets": 0}),
    ], analog=True)
    f = EventsFile(path)
    assert f.num_samples == [2, 3] and f.signal_types == [1, 1]
    assert f.channel_data(1)[1].tolist() == [1.5, 0.25, 3.0]
    assert_same_data(f.all_channel_data(), read_isx_gpio(path)[2])


# ------------------------------------------------------------------ damaged files
def _v2_file(folder: Path) -> Path:
    path = fresh(folder)
    write_with_isxio(path, TimingInfo(10), ["a", "b"], [(0, [1, 2], [1, 2]), (1, [4], [3])])
    return path


def _raises(path: Path, match: str | None, *, on_read: bool = False) -> IsxFormatError:
    with pytest.raises(IsxFormatError, match=match) as err:
        f = EventsFile(path)
        if on_read:
            f.all_channel_data()
    assert str(path) in str(err.value)
    return err.value


def test_truncated_and_garbage_files(tmp_path):
    path = _v2_file(tmp_path)
    raw = path.read_bytes()
    for cut in (1, 9, len(raw) - 3):
        bad = fresh(tmp_path)
        bad.write_bytes(raw[:-cut])
        _raises(bad, None)
    bad = fresh(tmp_path)
    data, _ = split_container(path)
    text = b"{ this is not json"
    bad.write_bytes(data + text + b"\x00" + struct.pack("<Q", len(text)))
    _raises(bad, "JSON")


def test_packet_count_and_size_mismatch(tmp_path):
    path = _v2_file(tmp_path)
    data, header = split_container(path)
    rebuild(path, data[:-20], header)  # one packet short
    err = _raises(path, "packet count")
    assert err.key == "numSamples"
    rebuild(path, data + b"\x00" * 7, header)
    _raises(path, "20-byte packets")
    header["numSamples"] = [2, 2]
    rebuild(path, data, header)
    _raises(path, "packet count")


def test_bad_signal_index_raises_on_read(tmp_path):
    path = _v2_file(tmp_path)
    data, header = split_container(path)
    bad = bytearray(data)
    bad[40 + 8:40 + 16] = struct.pack("<Q", 2)
    rebuild(path, bytes(bad), header)
    err = _raises(path, "channel that does not exist", on_read=True)
    assert err.offset == 48 and err.found == 2


@pytest.mark.parametrize("edit, match", [
    (lambda h: h.update(fileType=7), "not a valid events file"),
    (lambda h: h.update(type=1), "not an event-based file"),
    (lambda h: h.update(fileVersion=0), "version 0"),
    (lambda h: h.update(signalTypes=[0, 3]), "unknown signal type"),
    (lambda h: h.update(numSamples=[3]), "wrong length"),
    (lambda h: h.update({"global times": h["global times"][:1]}), "start and an end"),
    (lambda h: h["signalSteps"][1].update(den=0), "zero denominator"),
    (lambda h: h.update({"channel list": "ab"}), "wrong JSON type"),
    *[(lambda h, k=k: h.pop(k), "missing") for k in (
        "type", "fileVersion", "channel list", "global times", "signalSteps", "signalTypes",
        "numSamples", "startOffsets")],
])
def test_bad_v2_trailers(tmp_path, edit, match):
    path = _v2_file(tmp_path)
    data, header = split_container(path)
    edit(header)
    rebuild(path, data, header)
    _raises(path, match)


def _v1_file(folder: Path) -> Path:
    path = fresh(folder)
    timing = TimingInfo(100, Ratio(1, 1000), Time(Ratio(1600000000, 1)))
    write_v1_events_file(path, timing, [
        ("a", [EPOCH_US + 1, EPOCH_US + 2], np.array([1, 2], np.float32)),
        ("b", [EPOCH_US + 3], np.array([3], np.float32)),
    ])
    return path


def _edit_v1_block(path: Path, old: bytes, new: bytes) -> None:
    data, header = split_container(path)
    assert data.count(old) == 1 and len(old) == len(new)
    rebuild(path, data.replace(old, new), header)


@pytest.mark.parametrize("old, new, match", [
    (b'"Number of Packets": 2', b'"Number of Packets": 3', "run past"),
    (b'"Number of Packets": 1', b'"Number of Packets": 2', "run past"),
    (b'"channel": "a"', b'"channel": "z"', "names another channel"),
    (b'"b",\n    "mode": ""\n}\x00', b'"b",\n    "mode": ""\n}}',
     "not NUL-terminated|does not parse"),
    (b'"Number of Packets": 1', b'"Number of Packets":-1', "out of range"),
])
def test_bad_v1_channel_blocks(tmp_path, old, new, match):
    path = _v1_file(tmp_path)
    _edit_v1_block(path, old, new)
    f = EventsFile(path)  # the footer is fine: blocks are read on first access
    with pytest.raises(IsxFormatError, match=match) as err:
        f.all_channel_data()
    assert str(path) in str(err.value)


@pytest.mark.parametrize("edit, match", [
    (lambda h: h["channel offsets"].update(a=10**6), "outside the data section"),
    (lambda h: h["channel offsets"].update(a=-1), "outside the data section"),
    (lambda h: h.pop("timing info"), "missing"),
    (lambda h: h.pop("analog"), "missing"),
    (lambda h: h.update(type=7), "not an event-based file"),
    (lambda h: h.update({"channel offsets": [1, 2]}), "not a JSON object"),
])
def test_bad_v1_footers(tmp_path, edit, match):
    path = _v1_file(tmp_path)
    data, header = split_container(path)
    edit(header)
    rebuild(path, data, header)
    _raises(path, match)


def test_v1_footer_json_is_isxcore_formatted(tmp_path):
    path = _v1_file(tmp_path)
    data, header = split_container(path)
    raw = path.read_bytes()
    assert raw[len(data):].startswith(_json.dumps(header).encode())
    assert sorted(header) == ["analog", "channel offsets", "dataType", "fileVersion",
                              "producer", "timing info", "type"]
