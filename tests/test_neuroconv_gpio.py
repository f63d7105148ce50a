"""InscopixGpioInterface: GPIO files -> NWB, read back with pynwb and checked against isx.

Files are synthetic (fixture writers; no real GPIO file exists here).  Every channel
isx reports must be in the NWB file: analog channels with isx's values and times (within
the 1 µs isx loses by truncation; exactly the TSCs put in), TTL lines as high periods
rebuilt independently from isx's samples.
"""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest

from isxio.errors import IsxFormatError
from isxio.testing import fixtures as fx

pytest.importorskip("neuroconv")
pytest.importorskip("pynwb")
from pynwb import NWBHDF5IO

from isxio.neuroconv import InscopixGpioInterface

T0 = 459472532939  # TSC of the first packet (µs)
START_MS = 1654732421836
BAD = ("CRITICAL", "BEST_PRACTICE_VIOLATION")


# ------------------------------------------------------------------ helpers (shared)
def nwb_metadata(interface) -> dict:
    """The interface's metadata plus what DANDI requires (subject, description)."""
    metadata = interface.get_metadata()
    metadata["NWBFile"]["session_description"] = "synthetic Inscopix session"
    metadata["Subject"] = {"subject_id": "m1", "species": "Mus musculus", "sex": "M",
                           "age": "P90D", "description": "synthetic test subject"}
    return metadata


def assert_inspector_clean(path: Path, backend: str = "hdf5") -> None:
    """No CRITICAL or BEST_PRACTICE_VIOLATION, with and without the DANDI config.

    nwbinspector 0.7.2 cannot open Zarr paths itself (it passes HDF5 driver arguments
    to ZarrIO), so a Zarr file is opened here and its NWBFile object inspected.
    """
    nwbinspector = pytest.importorskip("nwbinspector")
    for config in (None, nwbinspector.load_config("dandi")):
        if backend == "zarr":
            with read_nwb(path, backend) as io:
                messages = list(nwbinspector.inspect_nwbfile_object(io.read(), config=config))
        else:
            messages = list(nwbinspector.inspect_nwbfile(nwbfile_path=str(path), config=config))
        found = [f"{m.importance.name} {m.check_function_name} {m.location}: {m.message}"
                 for m in messages if m.importance.name in BAD or m.importance.name == "ERROR"]
        assert not found, found


def read_nwb(path: Path, backend: str):
    """Open an NWB file for reading (caller closes the io)."""
    if backend == "zarr":
        from hdmf_zarr.nwb import NWBZarrIO

        return NWBZarrIO(str(path), mode="r")
    return NWBHDF5IO(str(path), mode="r")


def series_times(ts) -> np.ndarray:
    if ts.timestamps is not None:
        return np.asarray(ts.timestamps[:])
    return ts.starting_time + np.arange(ts.data.shape[0]) / ts.rate


def isx_channels(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``name -> (offsets µs, values)`` as isx reads the file."""
    isx = pytest.importorskip("isx")
    g = isx.GpioSet.read(str(path))
    try:
        return {g.get_channel_name(i): g.get_channel_data(i) for i in range(g.num_channels)}
    finally:
        del g
        base = path.name.split(".")[0]
        for suffix in ("_gpio.isxd", "_imu.isxd"):
            Path("/tmp", base + suffix).unlink(missing_ok=True)


def expected_high_periods(times: np.ndarray, values: np.ndarray) -> list[tuple[float, float]]:
    """High periods of a 0/1/NaN line, sample by sample (independent of the interface)."""
    out, onset = [], None
    for t, v in zip(times.tolist(), values.tolist(), strict=True):
        if v == 1 and onset is None:
            onset = t
        elif v != 1 and onset is not None:
            out.append((onset, np.nan if np.isnan(v) else t - onset))
            onset = None
    if onset is not None:
        out.append((onset, np.nan))
    return out


def unique(tmp_path: Path, ext: str) -> Path:
    return tmp_path / f"g{uuid.uuid4().hex}{ext}"


# ------------------------------------------------------------------ fixtures
def pulse_train() -> list:
    """CAPTURE_ALL packets: TTL pulses on GPI 0/1 and GPO 2, analog, LEDs, a packet gap."""
    events = []
    for k in range(40):
        events.append(fx.capture_all(
            T0 + 1000 * k + (k % 3), gpi=(k // 2) % 2 | ((k // 5) % 2) << 1,
            gpo=((k // 7) % 2) << 2, bnc=(160 * k, 64 * (k % 4), 5000, 0),
            ex_led=20 + (k // 10), og_led=100, di_led=0, efocus=500 + k // 20,
            sync=k % 2, trig=int(k == 12),
            seq=1000 if k == 30 else None))  # a sequence gap: NaN in every channel
    return events


def check_against_isx(nwbfile, ref: dict, excluded: tuple[str, ...] = ()) -> None:
    """Every channel isx reads is in ``nwbfile`` (unless excluded), value by value."""
    for name, (offsets, values) in ref.items():
        if name in excluded:
            assert name not in nwbfile.acquisition and name not in nwbfile.events
            continue
        times = offsets.astype(np.float64) / 1e6
        if name in nwbfile.events:
            df = nwbfile.events[name].to_dataframe()
            got = list(zip(df["timestamp"], df["duration"], strict=True))
            want = expected_high_periods(times, values)
            assert len(got) == len(want) > 0, name
            np.testing.assert_allclose(np.array(got, float), np.array(want, float),
                                       atol=1.01e-6, err_msg=name)
            continue
        ts = nwbfile.acquisition[name]
        np.testing.assert_array_equal(ts.data[:], values, err_msg=name)
        got_t = series_times(ts)
        assert np.all(got_t - times >= -1e-9) and np.all(got_t - times <= 1.01e-6), name


# ------------------------------------------------------------------ tests
@pytest.mark.isx
def test_gpio_file_to_nwb_matches_isx(tmp_path):
    path = fx.write_gpio(unique(tmp_path, ".gpio"), pulse_train(), start=(START_MS, 1000),
                         utc_offset=-25200, session={"ad": {"clock": 1000}})
    ref = isx_channels(path)
    interface = InscopixGpioInterface(path)
    assert interface.get_channel_names() == list(ref)
    metadata = nwb_metadata(interface)
    start = metadata["NWBFile"]["session_start_time"]
    assert start == dt.datetime.fromtimestamp(START_MS / 1000, dt.timezone.utc)
    assert start.utcoffset() == dt.timedelta(hours=-7)
    out = tmp_path / "gpio.nwb"
    interface.run_conversion(nwbfile_path=out, metadata=metadata, backend="hdf5")
    with read_nwb(out, "hdf5") as io:
        nwbfile = io.read()
        assert nwbfile.session_start_time == start
        check_against_isx(nwbfile, ref)
        # pulses on GPI 0 are 2 ms wide, every 4 ms: rising edges at the TSCs put in
        gpi0 = nwbfile.events["Digital GPI 0"].to_dataframe()
        assert gpi0["timestamp"].iloc[0] == pytest.approx((1000 * 2 + 2) / 1e6, abs=1e-12)
        # units, from the spec (none are in the file)
        assert nwbfile.acquisition["EX-LED"].unit == "mW"
        np.testing.assert_array_equal(np.unique(nwbfile.acquisition["EX-LED"].data[:])[:2],
                                      np.float32([2.0, 2.1]))
        assert nwbfile.acquisition["GPIO-1"].unit == "ADC counts"
        assert "volt scale is not stored" in nwbfile.acquisition["GPIO-1"].description
        # a line that never goes high stays visible as raw samples
        assert "never high" in nwbfile.acquisition["Digital GPI 5"].description
    assert_inspector_clean(out)


@pytest.mark.isx
def test_gpio_isxd_zarr_matches_isx(tmp_path):
    isx = pytest.importorskip("isx")
    pytest.importorskip("hdmf_zarr")
    src = fx.write_gpio(unique(tmp_path, ".gpio"), pulse_train(),
                        session={"adMode": "manual", "manual": {"clock": 2000}})
    isx.export_gpio_to_isxd(str(src), str(tmp_path))
    isxd = tmp_path / f"{src.stem}_gpio.isxd"
    ref = isx_channels(isxd)
    interface = InscopixGpioInterface(isxd, exclude_channels=["e-focus", "Digital GPO 7"])
    out = tmp_path / "gpio.nwb.zarr"
    interface.run_conversion(nwbfile_path=out, metadata=nwb_metadata(interface),
                             backend="zarr")
    with read_nwb(out, "zarr") as io:
        check_against_isx(io.read(), ref, excluded=("e-focus", "Digital GPO 7"))
    assert_inspector_clean(out, "zarr")


@pytest.mark.isx
def test_nvoke_raw_to_nwb_matches_isx(tmp_path):
    t0 = 1478277469294107
    packets = [fx.raw_analog_packet(t0 + 10000 * k, [1000 * k + j for j in range(10)], 106)
               for k in range(5)]
    packets += [fx.raw_gpio_packet("SYNC", t0 + 1500 * k, k % 2 == 0) for k in range(1, 20)]
    packets += [fx.raw_led_packet("EX_LED", t0 + 20000 + 5000 * k, 5 + k, 1) for k in range(4)]
    packets.sort(key=lambda p: p[-7:])  # time order (big-endian seconds + µs)
    path = fx.write_nvoke_raw(unique(tmp_path, ".raw"), packets)
    ref = isx_channels(path)
    interface = InscopixGpioInterface(path)
    out = tmp_path / "raw.nwb"
    interface.run_conversion(nwbfile_path=out, metadata=nwb_metadata(interface),
                             backend="hdf5")
    with read_nwb(out, "hdf5") as io:
        nwbfile = io.read()
        check_against_isx(nwbfile, ref)
        assert "SYNC" in nwbfile.events
        assert nwbfile.acquisition["GPIO4_AI"].unit == "mW"
    assert_inspector_clean(out)


@pytest.mark.isx
def test_nvista2_hdf5_to_nwb_matches_isx(tmp_path):
    isx = pytest.importorskip("isx")
    pytest.importorskip("h5py")
    rng = np.random.default_rng(3)
    n = 6
    anc = rng.integers(0, 2**16, (n, 15), dtype=np.uint16)
    counts = rng.integers(4, 16, n)
    path = fx.write_nvista2_hdf5(unique(tmp_path, ".hdf5"), 1.6e9 + np.arange(n) * 0.05, anc,
                                 counts, images=np.zeros((n, 4, 4), np.uint16))
    isx.export_gpio_to_isxd(str(path), str(tmp_path))
    ref = isx_channels(path.with_suffix(".isxd"))
    interface = InscopixGpioInterface(path)
    out = tmp_path / "nv2.nwb"
    interface.run_conversion(nwbfile_path=out, metadata=nwb_metadata(interface),
                             backend="hdf5")
    with read_nwb(out, "hdf5") as io:
        nwbfile = io.read()
        check_against_isx(nwbfile, ref)
        assert set(nwbfile.events) == {"IO1", "IO2", "sync", "trigger"}
    assert_inspector_clean(out)


def test_non_binary_digital_line_is_kept_with_a_warning(tmp_path):
    events = [fx.capture_gpio(T0 + 1000 * k, gpi=k % 2, trig=(0, 1, 5)[k % 3]) for k in range(9)]
    path = fx.write_gpio(unique(tmp_path, ".gpio"), events)
    interface = InscopixGpioInterface(path)
    out = tmp_path / "trig.nwb"
    with pytest.warns(UserWarning, match="'BNC Trigger Input' holds values other than 0/1"):
        interface.run_conversion(nwbfile_path=out, metadata=nwb_metadata(interface))
    with read_nwb(out, "hdf5") as io:
        nwbfile = io.read()
        data = nwbfile.acquisition["BNC Trigger Input"].data[:]
        np.testing.assert_array_equal(data, np.float32([0, 1, 5] * 3))  # the final flush collapses)
        assert len(nwbfile.events["Digital GPI 0"]) == 4


def test_digital_channels_as_timeseries(tmp_path):
    path = fx.write_gpio(unique(tmp_path, ".gpio"), pulse_train())
    interface = InscopixGpioInterface(path, digital_channels_as="timeseries")
    nwbfile = interface.create_nwbfile(metadata=nwb_metadata(interface))
    assert not nwbfile.events
    assert len(nwbfile.acquisition) == len(interface.get_channel_names())
    with pytest.raises(ValueError, match="digital_channels_as"):
        InscopixGpioInterface(path, digital_channels_as="edges")


def test_exclusions_and_wrong_files(tmp_path):
    path = fx.write_gpio(unique(tmp_path, ".gpio"), pulse_train())
    with pytest.raises(ValueError, match=rf"{path.name}.*'Nope'"):
        InscopixGpioInterface(path, exclude_channels=["Nope"])
    imu = fx.write_imu(unique(tmp_path, ".imu"), np.zeros((4, 3)), np.zeros((4, 3)),
                       np.zeros((1, 3)))
    with pytest.raises(IsxFormatError, match="InscopixGpioInterface cannot read"):
        InscopixGpioInterface(imu)
    with pytest.raises(IsxFormatError, match=r"reads \.gpio"):
        InscopixGpioInterface(tmp_path / "x.txt")


def test_alignment_shifts_every_channel(tmp_path):
    path = fx.write_gpio(unique(tmp_path, ".gpio"), pulse_train())
    interface = InscopixGpioInterface(path)
    union = interface.get_original_timestamps()
    before = {n: interface.get_channel_data(n)[0] for n in interface.get_channel_names()}
    assert np.array_equal(union, np.unique(np.concatenate(list(before.values()))))
    interface.set_aligned_starting_time(2.5)
    nwbfile = interface.create_nwbfile(metadata=nwb_metadata(interface))
    for name, times in before.items():
        np.testing.assert_allclose(interface.get_channel_data(name)[0], times + 2.5,
                                   rtol=0, atol=1e-12)
        if name in nwbfile.acquisition:
            np.testing.assert_allclose(series_times(nwbfile.acquisition[name]), times + 2.5,
                                       rtol=0, atol=1e-12)
    first = nwbfile.events["Digital GPI 0"]["timestamp"].data[0]
    assert first == pytest.approx(2.5 + before["Digital GPI 0"][1], abs=1e-12)
    # an arbitrary mapping of the union warps every channel the same way
    interface.set_aligned_timestamps(union * 2.0)
    np.testing.assert_allclose(interface.get_channel_data("GPIO-1")[0], before["GPIO-1"] * 2)
    with pytest.raises(ValueError, match="aligned timestamps"):
        interface.set_aligned_timestamps(union[:-1])


def test_metadata_overrides_names_units(tmp_path):
    path = fx.write_gpio(unique(tmp_path, ".gpio"), pulse_train())
    interface = InscopixGpioInterface(path)
    metadata = nwb_metadata(interface)
    gpio1 = metadata["InscopixGpio"]["channels"]["GPIO-1"]
    gpio1.update(name="LickSensor", unit="volts", conversion=10 / 65536)
    metadata["InscopixGpio"]["channels"]["Digital GPI 0"]["name"] = "CameraTTL"
    out = tmp_path / "renamed.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        interface.run_conversion(nwbfile_path=out, metadata=metadata)
    with read_nwb(out, "hdf5") as io:
        nwbfile = io.read()
        ts = nwbfile.acquisition["LickSensor"]
        assert (ts.unit, ts.conversion) == ("volts", 10 / 65536)
        assert "CameraTTL" in nwbfile.events
