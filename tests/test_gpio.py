"""GPIO files (.gpio nVista 3 / nVoke 2 incl. closed-loop, .raw nVoke 1) against isx.

isx converts each file into an event-based .isxd and reads that; isxio converts in
memory.  Every file here is written by isxio's fixture writers, then read by isx and
by isxio, and everything isx reports (channel names and order, offsets, values,
timing, extra properties) must be identical.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxFormatWarning
from isxio.formats.common import Ratio
from isxio.formats.gpio import GpioFile, isx_offsets, read_gpio
from isxio.testing import fixtures as fx

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


# ------------------------------------------------------------------ helpers
def unique(tmp_path: Path, ext: str) -> Path:
    """isx converts to /tmp/<basename>_gpio.isxd: keep basenames unique."""
    return tmp_path / f"g{uuid.uuid4().hex}{ext}"


def isx_read(path: Path) -> dict:
    if path.suffix == ".hdf5":  # GpioSet.read takes .hdf5 for a movie: convert explicitly
        isx.export_gpio_to_isxd(str(path), str(path.parent))
        path = path.with_suffix(".isxd")
    g = isx.GpioSet.read(str(path))
    try:
        t = g.timing._impl
        out = {
            "names": [g.get_channel_name(i) for i in range(g.num_channels)],
            "timing": (t.num_samples, t.step.num, t.step.den, t.start.secs_since_epoch.num,
                       t.start.secs_since_epoch.den, t.start.utc_offset),
            "data": [g.get_channel_data(i) for i in range(g.num_channels)],
        }
    finally:
        del g
        base = path.name.split(".")[0]
        for suffix in ("_gpio.isxd", "_imu.isxd", ".isxd"):
            Path("/tmp", base + suffix).unlink(missing_ok=True)
    return out


def isxio_read(path: Path, **kw) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsxFormatWarning)
        g = read_gpio(path, **kw)
    t = g.timing
    return {
        "names": list(g.channel_names),
        "timing": (t.num_samples, t.period.num, t.period.den, t.start.secs_since_epoch.num,
                   t.start.secs_since_epoch.den, t.start.utc_offset),
        "data": [g.channel_data(i) for i in range(g.num_channels)],
        "obj": g,
    }


def assert_same(path: Path, expected_path: Path | None = None) -> GpioFile:
    """isxio reading ``path`` == isx reading ``expected_path`` (default: the same file)."""
    ref = isx_read(expected_path or path)
    got = isxio_read(path)
    assert got["names"] == ref["names"]
    assert got["timing"] == ref["timing"]
    for i, ((o1, v1), (o2, v2)) in enumerate(zip(got["data"], ref["data"], strict=True)):
        assert o1.dtype == np.uint64 and v1.dtype == np.float32
        np.testing.assert_array_equal(o1, o2, err_msg=f"offsets of channel {i}")
        np.testing.assert_array_equal(v1, v2, err_msg=f"values of channel {i}")
    return got["obj"]


T0 = 459472532939  # a real-looking TSC (µs), above 2**32


# ------------------------------------------------------------------ strategies
@st.composite
def gpio_events(draw, allow_junk: bool = True) -> list:
    n = draw(st.integers(1, 25))
    tsc = draw(st.integers(0, 2**40))
    steps = st.sampled_from([0, 1, 249, 251, 489, 1000, 2001, 76000, 2**32 - 7])
    u16 = st.integers(0, 0xFFFF)
    events: list = []
    for _ in range(n):
        tsc += draw(steps)
        kind = draw(st.sampled_from(["all", "all", "gpio", "bnc", "dig", "led", "fc", "trig",
                                     "sync", "wave", "gap", "junk", "unknown", "badsize",
                                     "nonevent"]))
        seq = draw(st.integers(0, 2**32 - 1)) if kind == "gap" else None
        if kind in ("all", "gap"):
            events.append(fx.capture_all(
                tsc, fc=draw(u16), gpi=draw(u16), gpo=draw(u16),
                bnc=draw(st.lists(u16, min_size=4, max_size=4)), ex_led=draw(u16),
                og_led=draw(st.sampled_from([0, 20, 4001])), di_led=draw(u16),
                efocus=draw(st.sampled_from([0, 500, 16383])), sync=draw(st.integers(0, 1)),
                trig=draw(st.integers(0, 1)), seq=seq))
        elif kind == "gpio":
            events.append(fx.capture_gpio(tsc, gpi=draw(u16), trig=draw(st.sampled_from([0, 1, 5])),
                                          bnc=draw(st.lists(u16, min_size=4, max_size=4))))
        elif kind == "bnc":
            events.append(fx.bnc_gpio(draw(st.integers(1, 4)), tsc,
                                      draw(st.integers(0, 2**32 - 1))))
        elif kind == "dig":
            events.append(fx.digital_gpio(tsc, draw(st.integers(0, 2**32 - 1))))
        elif kind == "led":
            events.append(fx.led(draw(st.sampled_from(["ex", "og", "di"])), tsc,
                                 draw(st.integers(0, 2**32 - 1))))
        elif kind == "fc":
            events.append(fx.frame_count(tsc, draw(st.integers(0, 2**32 - 1))))
        elif kind in ("trig", "sync"):
            maker = fx.bnc_trig if kind == "trig" else fx.bnc_sync
            events.append(maker(tsc, draw(st.sampled_from([0, 1, 5, 2**31]))))
        elif kind == "wave":
            events.append(fx.waveform(draw(u16), draw(u16)))
        elif allow_junk and kind == "junk":
            events.append(draw(st.binary(min_size=1, max_size=3).map(lambda b: b.ljust(4, b"\1"))))
        elif allow_junk and kind == "unknown":
            events.append(fx.gpio_packet(0x4010 + draw(st.integers(0, 0xEF)), [1, 2, 3, 4]))
        elif allow_junk and kind == "badsize":
            events.append(fx.gpio_packet(0x4001, [tsc >> 32, tsc & 0xFFFFFFFF, 0, 1]))
        elif allow_junk and kind == "nonevent":
            events.append(fx.gpio_packet(0x1234, [0xAA55, 7, 8]))
    return events


def sessions() -> st.SearchStrategy:
    clock = st.sampled_from([1000, 2000, 4800, 5000])
    return st.one_of(
        st.none(),
        clock.map(lambda c: {"ad": {"clock": c}}),
        clock.map(lambda c: {"adMode": "manual", "manual": {"clock": c}}),
        clock.map(lambda c: {"autoAd": {"clock": c}}),
        st.booleans().map(lambda b: {"microscope": {"dualColor": {"enabled": b}},
                                     "processingInterface": {"recordingUUID": "AC-1"}}),
        st.just(b"{not json"),
    )


# ------------------------------------------------------------------ .gpio vs isx
@SETTINGS
@given(events=gpio_events(), header=st.sampled_from(["none", "basic", "extras", "extras"]),
       session=sessions(), file_format=st.sampled_from([1, 240]),
       start=st.sampled_from([(1654732421836, 1000), (10, 7), (1589970802786123456, 10**9)]),
       utc=st.integers(-50400, 50400))
def test_gpio_matches_isx(tmp_path, events, header, session, file_format, start, utc):
    if header == "none":
        events = [e for e in events if not isinstance(e, bytes)]  # H0 must start with sync
        if not events:
            events = [fx.bnc_sync(T0, 1)]
    path = fx.write_gpio(unique(tmp_path, ".gpio"), events, header=header, start=start,
                         utc_offset=utc, session=session, file_format=file_format)
    try:
        isx_read(path)
    except Exception:  # isx refuses the file (e.g. a stream of junk only): so must isxio
        with pytest.raises(IsxFormatError):
            isxio_read(path)
        return
    got = assert_same(path)
    if header == "extras" and isinstance(session, dict):
        assert got.extra_properties == {**session, "firstTsc": got.first_tsc}


def test_synthetic_a_like_file(tmp_path):
    """The spec's synthA recipe: 27 channels, NaN at a gap, 251 µs read as 250."""
    ev = [fx.capture_all(T0, gpi=3, gpo=1, bnc=(14523, 65535, 0, 0), ex_led=4001, og_led=20,
                         di_led=5, efocus=500, sync=1, trig=1),
          fx.capture_all(T0 + 249, gpi=1, bnc=(14523, 65535, 0, 0), ex_led=4001, og_led=20,
                         di_led=5, efocus=500, sync=1),
          fx.capture_all(T0 + 251, gpi=0, bnc=(14523, 65535, 0, 0), ex_led=4001, og_led=20,
                         di_led=5, efocus=500, sync=1),
          fx.bnc_gpio(2, T0 + 1000, 65535), fx.led("ex", T0 + 1500, 123),
          fx.digital_gpio(T0 + 2000, 0, seq=10), fx.frame_count(T0 + 3000, 42),
          fx.bnc_trig(T0 + 76000, 1)]
    session = {"ad": {"clock": 1000}, "processingInterface": {"recordingUUID": "AC-X"},
               "animal": {"id": "m1"}}
    path = fx.write_gpio(unique(tmp_path, ".gpio"), ev, utc_offset=-25200, session=session)
    g = assert_same(path)
    assert g.num_channels == 27 and g.timing.num_samples == 77
    offs, _ = g.channel_data("Digital GPI 0")
    assert 250 in offs.tolist() and 251 not in offs.tolist()
    exact, _ = g.channel_data("Digital GPI 0", exact=True)
    assert 251 in exact.tolist()
    _, nan_vals = g.channel_data("GPIO-3")
    assert np.isnan(nan_vals).any()
    assert g.first_tsc == T0 and g.extra_properties["firstTsc"] == T0


def test_closed_loop_and_dual_colour(tmp_path):
    ev = [fx.capture_all(T0 + 10 * k, gpi=k, gpo=255 - k, ex_led=k, og_led=2 * k)
          for k in range(5)]
    session = {"adMode": "manual", "manual": {"clock": 2000},
               "microscope": {"dualColor": {"enabled": True}}}
    path = fx.write_gpio(unique(tmp_path, ".gpio"), ev, session=session, file_format=240)
    g = assert_same(path)
    names = g.channel_names
    assert names[4:8] == ("SoftTrig-1", "SoftTrig-2", "SoftTrig-3", "SoftTrig-4")
    assert "Digital GPO 4" not in names and "EX-LED1" in names and "EX-LED2" in names
    assert g.timing.period.num == 1 and g.timing.period.den == 2000
    assert g.file_format == 240
    # a sequence gap registers every channel, GPO 4-7 included (spec §2.1.4 says
    # closed-loop files never have them; isx does produce them here)
    gap = fx.write_gpio(unique(tmp_path, ".gpio"), [ev[0], fx.capture_all(T0 + 50, seq=9)],
                        session=session, file_format=240)
    assert "Digital GPO 7" in assert_same(gap).channel_names


def test_exact_offsets_match_isx_csv_export(tmp_path):
    """``exact=True`` gives the offsets isx's CSV export prints (not get_channel_data's)."""
    ev = [fx.capture_gpio(T0 + t, gpi=k % 2) for k, t in enumerate([0, 249, 251, 489, 493,
                                                                    2001, 9999])]
    path = fx.write_gpio(unique(tmp_path, ".gpio"), ev, session={"ad": {"clock": 1000}})
    csv = tmp_path / "out.csv"
    isx.export_gpio_set_to_csv([str(path)], str(csv), inter_isxd_file_dir=str(tmp_path))
    rows = [line.split(", ") for line in csv.read_text().splitlines()[1:]]
    g = GpioFile(path, exact=True)
    ours = [(f"{o / 1e6:.16g}", name, f"{v:.7g}")
            for name in g.channel_names for o, v in zip(*g.channel_data(name), strict=True)]
    assert ours == [tuple(r) for r in rows]
    assert "0.000251" in {r[0] for r in rows}
    truncated = isx_offsets(np.array([251, 489, 500], np.uint64), g.start)
    assert truncated.tolist() == [250, 488, 500]


def test_torn_last_packet_keeps_complete_ones(tmp_path):
    ev = [fx.capture_all(T0 + 100 * k, gpi=k) for k in range(6)]
    full = fx.write_gpio(unique(tmp_path, ".gpio"), ev, session=None, header="basic")
    size = full.stat().st_size
    torn = fx.write_gpio(unique(tmp_path, ".gpio"), ev, header="basic", truncate=size - 9)
    ref = fx.write_gpio(unique(tmp_path, ".gpio"), ev[:-1], header="basic")
    with pytest.warns(IsxFormatWarning, match="cut short by the end of the file"):
        GpioFile(torn)
    assert_same(torn, ref)
    with pytest.raises(IsxFormatError, match="cut short") as err:
        GpioFile(torn, strict=True)
    assert err.value.offset == 32 + 5 * (16 + 36)
    # a torn H2 file also loses its session JSON: both losses are reported
    h2 = fx.write_gpio(unique(tmp_path, ".gpio"), ev, session={"ad": {"clock": 2000}},
                       truncate=48 + 6 * 52 - 9)
    with pytest.warns(IsxFormatWarning) as record:
        g = GpioFile(h2)
    messages = " ".join(str(w.message) for w in record)
    assert "cut short" in messages and "session metadata" in messages
    assert g.extra_properties is None and g.timing.period == Ratio(1, 1000)
    assert_same(h2, ref)


def test_unknown_and_bad_packets_warn_or_raise(tmp_path):
    ev = [fx.capture_all(T0), fx.gpio_packet(0x40AB, [1, 2, 3]),
          fx.gpio_packet(0x4003, [0, 5, 0], words=3), b"\x01\x02\x03\x04",
          fx.capture_all(T0 + 1000, gpi=1)]
    path = fx.write_gpio(unique(tmp_path, ".gpio"), ev, header="basic")
    with pytest.warns(IsxFormatWarning, match=r"unknown event packet type \(type 0x40ab\)"):
        GpioFile(path)
    assert_same(path)
    with pytest.raises(IsxFormatError, match="unknown event packet type") as err:
        GpioFile(path, strict=True)
    assert err.value.offset == 32 + 16 + 36 and str(path) in str(err.value)


def test_sync_word_inside_payload_is_not_a_packet(tmp_path):
    """A payload holding 0x0000AA55 must be consumed, not rescanned (vectorised chain)."""
    ev = [fx.capture_all(T0, bnc=(0xAA55, 0, 0xAA55, 0), gpi=0xAA55),
          fx.bnc_gpio(1, T0 + 5, 0xAA55), fx.capture_all(T0 + 9, gpi=2)]
    path = fx.write_gpio(unique(tmp_path, ".gpio"), ev, header="basic")
    assert_same(path)


def test_bad_session_json_uses_defaults(tmp_path):
    ev = [fx.capture_all(T0), fx.capture_all(T0 + 5000, gpi=1)]
    for session in (b"{broken", b'"a string"', b"null", json.dumps({"adMode": 5}).encode(),
                    json.dumps({"microscope": "x", "ad": {"clock": 2000}}).encode()):
        path = fx.write_gpio(unique(tmp_path, ".gpio"), ev, session=session, file_format=240)
        assert_same(path)


@pytest.mark.parametrize("data, match", [
    (b"", "too small"), (b"\x01\x02", "too small"),
    (struct.pack("<QQiIQ", 1, 1000, 0, 48, 0) + b"\x00" * 8, "cut short"),
    (struct.pack("<QQiIQQQ", 1, 1000, 0, 48, 0, 1, 0) + b"\x01" * 64,
     "Failed to find the beginning"),
])
def test_gpio_damaged_headers(tmp_path, data, match):
    path = unique(tmp_path, ".gpio")
    path.write_bytes(data)
    with pytest.raises(IsxFormatError, match=match) as err:
        GpioFile(path)
    assert str(path) in str(err.value)


def test_gpio_zero_denominator(tmp_path):
    path = fx.write_gpio(unique(tmp_path, ".gpio"), [fx.capture_all(T0)], header="basic",
                         start=(5, 0))
    with pytest.raises(IsxFormatError, match="zero denominator"):
        GpioFile(path)


def test_gpio_pickles_and_errors(tmp_path):
    path = fx.write_gpio(unique(tmp_path, ".gpio"), [fx.capture_all(T0), fx.bnc_sync(T0 + 7, 1)])
    g = GpioFile(path)
    clone = pickle.loads(pickle.dumps(g))
    assert clone.channel_names == g.channel_names
    np.testing.assert_array_equal(clone.channel_data(3)[0], g.channel_data(3)[0])
    with pytest.raises(KeyError):
        g.channel_data("nope")
    with pytest.raises(IndexError):
        g.channel_data(99)
    with pytest.raises(IsxFormatError, match="extension"):
        GpioFile(path.with_suffix(".bin"))
    assert "GpioFile" in repr(g) and g.packets.dtype.names == ("offset", "signal", "value")


# ------------------------------------------------------------------ .raw (nVoke 1)
@st.composite
def raw_packets(draw) -> list[bytes]:
    t = draw(st.integers(1_400_000_000 * 10**6, 1_600_000_000 * 10**6))
    out = []
    for k in range(draw(st.integers(1, 20))):
        t += draw(st.sampled_from([0, 1, 999, 1000, 12345, 10**6 + 3]))
        kind = draw(st.sampled_from(["gpio", "led", "analog", "sync", "junk"]))
        if kind == "gpio":
            out.append(fx.raw_gpio_packet(draw(st.integers(1, 6)), t, draw(st.booleans()),
                                           counter=k, noise=draw(st.integers(0, 15))))
        elif kind == "led":
            out.append(fx.raw_led_packet(draw(st.integers(8, 10)), t, draw(st.integers(0, 511)),
                                         draw(st.integers(0, 3)), counter=k))
        elif kind == "analog":
            out.append(fx.raw_analog_packet(
                t, draw(st.lists(st.integers(0, 0xFFFF), min_size=10, max_size=10)),
                draw(st.integers(0, 255)), counter=k))
        elif kind == "sync":
            out.append(fx.RAW_SYNC_PACKET)
        else:
            out.append(draw(st.sampled_from([b"\x00", b"\x33\x44", b"\x0b"])))
    # isx leaves its end time uninitialised when a file holds a single non-analog
    # packet: always end with two more packets.
    out += [fx.raw_gpio_packet(5, t + 1, True), fx.raw_gpio_packet(6, t + 2, False)]
    return out


@SETTINGS
@given(packets=raw_packets(), prefix=st.binary(max_size=8).filter(lambda b: b[:1] != b"\xfe"))
def test_nvoke_raw_matches_isx(tmp_path, packets, prefix):
    path = fx.write_nvoke_raw(unique(tmp_path, ".raw"), packets, prefix=prefix)
    assert_same(path)


def test_nvoke_raw_spec_values(tmp_path):
    t0 = 1478277469294107
    packets = [fx.raw_analog_packet(t0, [0x4000] * 10, 106),
               fx.raw_gpio_packet("SYNC", t0 + 17693, True),
               fx.raw_led_packet("EX_LED", t0 + 20000, 5, 1),
               fx.raw_led_packet("EX_LED", t0 + 30000, 7, 2)]
    path = fx.write_nvoke_raw(unique(tmp_path, ".raw"), packets, prefix=b"\x00\x01")
    g = assert_same(path)
    assert g.channel_names == ("GPIO4_AI", "SYNC", "EX_LED")
    assert g.signal_types == (1, 0, 1)  # analog and ramped LED are DENSE
    offs, vals = g.channel_data("GPIO4_AI")
    assert offs.tolist() == list(range(0, 10000, 1000))
    assert vals[0] == np.float32(0x4000 / 655360.0 * 106)
    assert g.start.secs_since_epoch.num == t0 and g.start.secs_since_epoch.den == 10**6


def test_nvoke_raw_damage(tmp_path):
    path = unique(tmp_path, ".raw")
    path.write_bytes(b"\xfe\xff\xff\xff" + fx.RAW_SYNC_PACKET)
    with pytest.raises(IsxFormatError, match="nVista raw recording"):
        GpioFile(path)
    path.write_bytes(b"\x01" * 50)
    with pytest.raises(IsxFormatError, match="Failed to find the beginning"):
        GpioFile(path)
    t0 = 1478277469000000
    good = [fx.raw_gpio_packet(1, t0, True), fx.raw_gpio_packet(1, t0 + 5, False)]
    cut = fx.raw_analog_packet(t0 + 9, [1] * 10, 3)[:20]
    torn = fx.write_nvoke_raw(unique(tmp_path, ".raw"), [*good, cut])
    ref = fx.write_nvoke_raw(unique(tmp_path, ".raw"), good)
    with pytest.warns(IsxFormatWarning, match="cut short"):
        GpioFile(torn)
    assert_same(torn, ref)
    junk = fx.write_nvoke_raw(unique(tmp_path, ".raw"), [good[0], b"\x42\x42", good[1]])
    with pytest.raises(IsxFormatError, match="unknown packet types") as err:
        GpioFile(junk, strict=True)
    assert err.value.offset == 7 + 11


def test_read_gpio_dispatch(tmp_path):
    path = fx.write_nvoke_raw(unique(tmp_path, ".raw"), [fx.raw_gpio_packet(1, 10**12, True)])
    g = read_gpio(os.fspath(path))
    assert g.kind == "nvoke" and g.channel_names == ("GPIO1",) and g.extra_properties is None
    assert g.timing.num_samples == 1


# ------------------------------------------------------------------ fuzzing
def _damage(data: bytes, cut: int | None, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data if cut is None else data[:cut % max(len(data), 1)])
    for pos, value in flips:
        if out:
            out[pos % len(out)] = value
    return bytes(out)


DAMAGE = dict(cut=st.none() | st.integers(0, 10**6),
              flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ext=st.sampled_from([".gpio", ".raw"]), **DAMAGE)
def test_damaged_files_raise_only_format_errors(tmp_path, ext, cut, flips):
    if ext == ".gpio":
        ev = [fx.capture_all(T0 + 100 * k, gpi=k, bnc=(k, 2 * k, 3, 4)) for k in range(6)]
        good = fx.encode_gpio_events([*ev, fx.bnc_sync(T0 + 900, 1)])
        data = struct.pack("<QQiIQQQ", 1, 1000, 0, 48, 7, 1, 48 + len(good)) + good + \
            json.dumps({"ad": {"clock": 2000}}).encode()
    else:
        data = fx.RAW_SYNC_PACKET + fx.raw_analog_packet(10**12, list(range(10)), 99) + \
            fx.raw_gpio_packet(1, 10**12 + 5, True) + fx.raw_led_packet(8, 10**12 + 9, 100, 3)
    path = unique(tmp_path, ext)
    path.write_bytes(_damage(data, cut, flips))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsxFormatWarning)
        try:
            g = GpioFile(path)
        except IsxFormatError as exc:
            assert str(path) in str(exc)
            return
    for i in range(g.num_channels):
        g.channel_data(i)
    assert g.timing.num_samples >= 0


# ------------------------------------------------------------------ .hdf5 (nVista 2)
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 12), seed=st.integers(0, 2**32 - 1),
       t0=st.floats(0, 2e9, allow_nan=False), name=st.sampled_from(["timeStamp", "timestamp"]),
       count_dtype=st.sampled_from(["uint8", "int32"]))
def test_nvista2_hdf5_matches_isx(tmp_path, n, seed, t0, name, count_dtype):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(seed)
    anc = rng.integers(0, 2**16, (n, 15), dtype=np.uint16)
    counts = rng.integers(0, 16, n)
    ts = t0 + np.arange(n) * 0.05
    path = fx.write_nvista2_hdf5(unique(tmp_path, ".hdf5"), ts, anc, counts,
                                 timestamp_name=name, count_dtype=count_dtype,
                                 images=np.zeros((n, 4, 4), np.uint16))
    g = assert_same(path)
    assert g.channel_names == ("IO1", "IO2", "sync", "trigger") and g.signal_types == (1,) * 4
    assert len(g.channel_data(0)[0]) == 4 * counts.sum()


def test_nvista2_hdf5_damage(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = unique(tmp_path, ".hdf5")
    with h5py.File(path, "w") as f:
        f["anc_data"] = np.zeros((2, 15), np.uint16)
    with pytest.raises(IsxFormatError, match="does not contain any GPIO data"):
        GpioFile(path)
    bad = fx.write_nvista2_hdf5(unique(tmp_path, ".hdf5"), [1.0, 2.0],
                                np.zeros((1, 15), np.uint16), [3, 20])
    with pytest.raises(IsxFormatError, match="past the end of anc_data"):
        GpioFile(bad)
    junk = unique(tmp_path, ".hdf5")
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(IsxFormatError, match="not a readable nVista 2"):
        GpioFile(junk)
