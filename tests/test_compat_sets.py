"""isxio.CellSet / EventSet / GpioSet / VesselSet facades against isx, both directions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import isxio

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _timing(mod, n, dropped=(), cropped=()):
    start = mod.Time._from_secs_since_epoch(mod.Duration._from_num_den(1_600_000_000_250, 1000),
                                            3600)
    return mod.Timing(num_samples=n, period=mod.Duration.from_usecs(33_333), start=start,
                      dropped=list(dropped), cropped=list(cropped))


@st.composite
def cell_specs(draw):
    n = draw(st.integers(1, 15))
    cells = draw(st.integers(0, 5))
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    dropped = sorted(set(draw(st.lists(st.integers(0, n - 1), max_size=2))))
    statuses = draw(st.lists(st.sampled_from(["accepted", "undecided", "rejected"]),
                             min_size=cells, max_size=cells))
    return n, cells, shape, dropped, statuses, draw(st.integers(0, 2**31))


def _write_cellset(mod, path, spec):
    n, cells, shape, dropped, statuses, seed = spec
    rng = np.random.default_rng(seed)
    cs = mod.CellSet.write(str(path), _timing(mod, n, dropped), mod.Spacing(num_pixels=shape))
    for c in range(cells):
        cs.set_cell_data(c, rng.random(shape).astype(np.float32),
                         rng.normal(size=n).astype(np.float32), f"cell {c}" if c % 2 else None)
    for c, status in enumerate(statuses):
        cs.set_cell_status(c, status)
    cs.flush()
    del cs


@SETTINGS
@given(spec=cell_specs())
def test_cellset_both_directions(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("cs")
    _write_cellset(isx, folder / "isx.isxd", spec)
    _write_cellset(isxio, folder / "ours.isxd", spec)
    assert (folder / "ours.isxd").read_bytes() == (folder / "isx.isxd").read_bytes()
    ours, theirs = isxio.CellSet.read(str(folder / "isx.isxd")), \
        isx.CellSet.read(str(folder / "ours.isxd"))
    assert ours.num_cells == theirs.num_cells
    assert ours.timing.num_samples == theirs.timing.num_samples
    for c in range(theirs.num_cells):
        assert ours.get_cell_name(c) == theirs.get_cell_name(c)
        assert ours.get_cell_status(c) == theirs.get_cell_status(c)
        np.testing.assert_array_equal(ours.get_cell_trace_data(c), theirs.get_cell_trace_data(c))
        np.testing.assert_array_equal(ours.get_cell_image_data(c), theirs.get_cell_image_data(c))


def test_cellset_status_edit_in_place_matches_isx(tmp_path):
    spec = (6, 3, (2, 3), [1], ["undecided"] * 3, 7)
    _write_cellset(isxio, tmp_path / "a.isxd", spec)
    (tmp_path / "b.isxd").write_bytes((tmp_path / "a.isxd").read_bytes())
    ours = isxio.CellSet.read(str(tmp_path / "a.isxd"), read_only=False)
    ours.set_cell_status(1, "accepted")
    theirs = isx.CellSet.read(str(tmp_path / "b.isxd"), read_only=False)
    theirs.set_cell_status(1, "accepted")
    del theirs
    assert (tmp_path / "a.isxd").read_bytes() == (tmp_path / "b.isxd").read_bytes()
    assert ours.get_cell_status(1) == "accepted"
    with pytest.raises(RuntimeError, match="read-only"):
        isxio.CellSet.read(str(tmp_path / "a.isxd")).set_cell_status(0, "rejected")


@st.composite
def event_specs(draw):
    n = draw(st.integers(1, 50))
    cells = draw(st.integers(1, 4))
    events = [sorted(draw(st.lists(st.integers(0, n * 33_333), max_size=8)))
              for _ in range(cells)]
    return n, events, draw(st.integers(0, 2**31))


def _write_events(mod, path, spec):
    n, events, seed = spec
    rng = np.random.default_rng(seed)
    names = [f"C{i}" for i in range(len(events))]
    es = mod.EventSet.write(str(path), _timing(mod, n), names)
    for c, offs in enumerate(events):
        es.set_cell_data(c, np.array(offs, np.uint64), rng.random(len(offs)).astype(np.float32))
    es.flush()
    del es


@SETTINGS
@given(spec=event_specs())
def test_eventset_both_directions(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("es")
    _write_events(isx, folder / "isx.isxd", spec)
    _write_events(isxio, folder / "ours.isxd", spec)
    assert (folder / "ours.isxd").read_bytes() == (folder / "isx.isxd").read_bytes()
    ours, theirs = isxio.EventSet.read(str(folder / "isx.isxd")), \
        isx.EventSet.read(str(folder / "ours.isxd"))
    assert ours.num_cells == theirs.num_cells and ours.cell_dict == theirs.cell_dict
    assert ours.timing.num_samples == theirs.timing.num_samples
    assert ours.timing.period.secs_float == theirs.timing.period.secs_float
    for c in range(theirs.num_cells):
        for a, b in zip(ours.get_cell_data(c), theirs.get_cell_data(c), strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(KeyError, match="does not exist"):
        ours.get_cell_index("nope")


def test_gpio_isxd_read_like_isx(tmp_path):
    from isxio.formats.common import Ratio, Time, TimingInfo
    from isxio.formats.events import DENSE, SPARSE, EventsWriter

    path = tmp_path / "gpio.isxd"
    timing = TimingInfo(100, Ratio(1, 1000), Time(Ratio(1_700_000_000, 1)))
    with EventsWriter(path, timing, ["Digital GPI 0", "BNC Sync Output", "GPIO-1"], kind="gpio",
                      signal_types=[SPARSE, SPARSE, DENSE],
                      signal_steps=[Ratio(1, 1000)] * 3) as writer:
        writer.set_cell_data(0, [5, 50, 70], [1, 0, 1])
        writer.set_cell_data(1, [10, 20], [1, 0])
        writer.set_cell_data(2, np.arange(0, 100_000, 1000), np.linspace(0, 5, 100))
    ours, theirs = isxio.GpioSet.read(str(path)), isx.GpioSet.read(str(path))
    assert ours.num_channels == theirs.num_channels == 3
    assert ours.channel_dict == theirs.channel_dict
    assert ours.timing.num_samples == theirs.timing.num_samples
    for i in range(3):
        for a, b in zip(ours.get_channel_data(i), theirs.get_channel_data(i), strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(Exception, match="Expected data set to be of type"):
        isxio.EventSet.read(str(path))


@pytest.mark.parametrize("kind", ["vessel diameter", "rbc velocity"])
def test_vesselset_both_directions(tmp_path, kind):
    rng = np.random.default_rng(3)
    n, shape = 7, (5, 6)

    def write(mod, path):
        vs = mod.VesselSet.write(str(path), _timing(mod, n, dropped=[2]),
                                 mod.Spacing(num_pixels=shape), kind)
        image = rng_image
        for v in range(3):
            trace = traces[v]
            if kind == "vessel diameter":
                vs.set_vessel_diameter_data(v, image, lines2[v], trace, second[v],
                                            name=None if v else "main")
            else:
                vs.set_rbc_velocity_data(v, image, lines4[v], trace, second[v], corr[v],
                                         name=None if v else "main")
        vs.flush()
        del vs

    rng_image = rng.random(shape).astype(np.float32)
    lines2 = rng.integers(0, 5, (3, 2, 2)).astype(np.int64)
    lines4 = rng.integers(0, 5, (3, 4, 2)).astype(np.int64)
    traces = rng.random((3, n)).astype(np.float32)
    second = rng.random((3, n)).astype(np.float32)
    corr = rng.random((3, n, 3, 2, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write(isx, tmp_path / "isx.isxd")
        write(isxio, tmp_path / "ours.isxd")
    assert (tmp_path / "ours.isxd").read_bytes() == (tmp_path / "isx.isxd").read_bytes()
    ours, theirs = isxio.VesselSet.read(str(tmp_path / "isx.isxd")), \
        isx.VesselSet.read(str(tmp_path / "ours.isxd"))
    assert ours.num_vessels == theirs.num_vessels == 3
    assert ours.get_vessel_set_type().value == theirs.get_vessel_set_type().value
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    for v in range(3):
        assert ours.get_vessel_name(v) == theirs.get_vessel_name(v)
        assert ours.get_vessel_status(v) == theirs.get_vessel_status(v)
        np.testing.assert_array_equal(ours.get_vessel_trace_data(v),
                                      theirs.get_vessel_trace_data(v))
        np.testing.assert_array_equal(ours.get_vessel_image_data(v),
                                      theirs.get_vessel_image_data(v))
        np.testing.assert_array_equal(ours.get_vessel_line_data(v),
                                      theirs.get_vessel_line_data(v))
        if kind == "vessel diameter":
            np.testing.assert_array_equal(ours.get_vessel_center_trace_data(v),
                                          theirs.get_vessel_center_trace_data(v))
        else:
            np.testing.assert_array_equal(ours.get_vessel_direction_trace_data(v),
                                          theirs.get_vessel_direction_trace_data(v))
            assert ours.has_correlation_heatmaps() == theirs.has_correlation_heatmaps()
            for frame in (0, 3, n - 1):
                np.testing.assert_array_equal(ours.get_vessel_correlations_data(v, frame),
                                              theirs.get_vessel_correlations_data(v, frame))


def _compare_gpioset(path):
    ours, theirs = isxio.GpioSet.read(str(path)), isx.GpioSet.read(str(path))
    assert ours.num_channels == theirs.num_channels
    assert ours.channel_dict == theirs.channel_dict
    assert ours.timing.num_samples == theirs.timing.num_samples
    assert ours.timing.period.secs_float == theirs.timing.period.secs_float
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    for i in range(theirs.num_channels):
        assert ours.get_channel_name(i) == theirs.get_channel_name(i)
        for a, b in zip(ours.get_channel_data(i), theirs.get_channel_data(i), strict=True):
            np.testing.assert_array_equal(a, b)
    return ours


def test_gpioset_reads_gpio_files_like_isx(tmp_path):
    from isxio.testing import fixtures as fx

    events = [fx.capture_all(1_000_000, gpi=0b101, ex_led=12),
              fx.digital_gpio(1_050_000, 0b001), fx.led("ex", 1_100_000, 30),
              fx.bnc_sync(1_150_000, 1), fx.digital_gpio(1_200_000, 0b110)]
    path = fx.write_gpio(tmp_path / "session.gpio", events)
    ours = _compare_gpioset(path)
    assert ours.num_channels > 0


def test_gpioset_reads_imu_files_like_isx(tmp_path):
    from isxio.testing import fixtures as fx

    rng = np.random.default_rng(1)
    acc = rng.integers(-16384, 16384, (25, 3)).astype(np.int16)
    ori = rng.integers(-1000, 1000, (25, 3)).astype(np.int16)
    mag = rng.integers(-500, 500, (5, 3)).astype(np.int16)
    path = fx.write_imu(tmp_path / "session.imu", acc, ori, mag)
    ours = _compare_gpioset(path)
    _, values = ours.get_channel_data(0)  # accelerometer in g, as isx reports it
    np.testing.assert_allclose(values, acc[:, 0] / 16384.0, rtol=1e-6)


def test_movie_reads_isxb_fixture_like_isx(tmp_path):
    from isxio.testing import fixtures as fx

    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (4, 64, 128), dtype=np.uint8)
    path = fx.write_isxb(tmp_path / "behaviour.isxb", frames,
                         [10_000, 43_000, 76_000, 110_000])
    ours, theirs = isxio.Movie.read(str(path)), isx.Movie.read(str(path))
    assert ours.timing.num_samples == theirs.timing.num_samples == 4
    assert ours.timing.period.secs_float == theirs.timing.period.secs_float
    assert ours.get_acquisition_info() == theirs.get_acquisition_info()
    for i in range(4):
        np.testing.assert_array_equal(ours.get_frame_data(i), theirs.get_frame_data(i))
        assert ours.get_frame_timestamp(i) == theirs.get_frame_timestamp(i)
