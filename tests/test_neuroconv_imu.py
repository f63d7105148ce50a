"""InscopixImuInterface: .imu / IMU .isxd -> NWB behavior TimeSeries, checked against isx."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from isxio.testing import write_imu

pytest.importorskip("neuroconv")
from isxio.neuroconv import InscopixImuInterface

from .test_neuroconv_gpio import (
    assert_inspector_clean,
    isx_channels,
    nwb_metadata,
    read_nwb,
    series_times,
    unique,
)

G_N = 9.80665  # standard gravity, m/s^2
START = (1581619401465, 1000)
AXES = {"Accelerometer": ("Acc x", "Acc y", "Acc z"),
        "Orientation": ("Ori yaw", "Ori pitch", "Ori roll"),
        "Magnetometer": ("Mag x", "Mag y", "Mag z")}


def make_imu(tmp_path: Path, n: int = 120, seed: int = 0) -> tuple[Path, dict]:
    """An .imu file with dropped samples; returns the raw int16 records too."""
    rng = np.random.default_rng(seed)
    raw = {"acc": rng.integers(-32768, 32768, (n, 3)),
           "ori": rng.integers(-6434, 6434, (n, 3)),  # ±pi in S4.11
           "mag": rng.integers(-2000, 2000, (n // 20, 3))}
    path = write_imu(unique(tmp_path, ".imu"), raw["acc"], raw["ori"], raw["mag"], start=START,
                     utc_offset=3600, acc_period_ms=(20570732, 1000000), acc_dropped=[3, 50])
    return path, raw


def check_against_isx(nwbfile, ref: dict, excluded: tuple[str, ...] = ()) -> None:
    behavior = nwbfile.processing["behavior"]
    for series, channels in AXES.items():
        kept = [c for c in channels if c not in excluded]
        if not kept:
            assert series not in behavior.data_interfaces
            continue
        ts = behavior[series]
        data = ts.data[:].reshape(len(ts.data), -1)
        assert data.shape[1] == len(kept)
        for column, name in enumerate(kept):
            offsets, values = ref[name]
            np.testing.assert_array_equal(data[:, column], values, err_msg=name)
            # isx's offsets are the grid converted through doubles near 1.6e15 µs and
            # truncated twice: up to about 2 µs below the exact grid NWB stores
            diff = series_times(ts) - offsets / 1e6
            assert np.all(diff > -0.5e-6) and np.all(diff < 2.5e-6), name


@pytest.mark.isx
def test_imu_to_nwb_matches_isx(tmp_path):
    path, raw = make_imu(tmp_path)
    ref = isx_channels(path)
    interface = InscopixImuInterface(path)
    metadata = nwb_metadata(interface)
    start = metadata["NWBFile"]["session_start_time"]
    assert start == dt.datetime.fromtimestamp(START[0] / START[1], dt.timezone.utc)
    assert start.utcoffset() == dt.timedelta(hours=1)
    out = tmp_path / "imu.nwb"
    interface.run_conversion(nwbfile_path=out, metadata=metadata, backend="hdf5")
    with read_nwb(out, "hdf5") as io:
        nwbfile = io.read()
        check_against_isx(nwbfile, ref)
        acc = nwbfile.processing["behavior"]["Accelerometer"]
        assert (acc.unit, acc.conversion) == ("m/s^2", G_N)
        # the values put in: raw / 16384 g; NaN at the dropped indices
        stored = np.delete(np.arange(len(acc.data)), [3, 50])
        np.testing.assert_allclose(acc.data[:][stored] * acc.conversion,
                                   raw["acc"] / 16384 * G_N, rtol=1e-6)
        assert np.isnan(acc.data[:][[3, 50]]).all()
        ori = nwbfile.processing["behavior"]["Orientation"]
        assert ori.unit == "radians"
        np.testing.assert_array_equal(ori.data[:][stored], np.float32(raw["ori"] / 2048))
        mag = nwbfile.processing["behavior"]["Magnetometer"]
        assert (mag.unit, mag.conversion) == ("counts", 1.0)
        np.testing.assert_array_equal(mag.data[:], raw["mag"])
        # the grid put in: 20.570732 ms per sample from the start
        np.testing.assert_allclose(series_times(acc), np.arange(len(acc.data)) * 0.020570732,
                                   rtol=0, atol=1e-9)
    assert_inspector_clean(out)


@pytest.mark.isx
def test_imu_isxd_zarr_matches_isx(tmp_path):
    isx = pytest.importorskip("isx")
    pytest.importorskip("hdmf_zarr")
    path, _ = make_imu(tmp_path, seed=1)
    ref = isx_channels(path)  # .imu: acceleration in g
    isx.export_gpio_to_isxd(str(path), str(tmp_path))
    (isxd,) = tmp_path.glob(f"{path.stem}*.isxd")
    raw_ref = isx_channels(isxd)  # .isxd: isx returns raw accelerometer counts
    np.testing.assert_array_equal(raw_ref["Acc x"][1] / np.float32(16384), ref["Acc x"][1])
    interface = InscopixImuInterface(isxd, exclude_channels=["Mag z", "Ori roll"])
    out = tmp_path / "imu.nwb.zarr"
    interface.run_conversion(nwbfile_path=out, metadata=nwb_metadata(interface),
                             backend="zarr")
    with read_nwb(out, "zarr") as io:
        nwbfile = io.read()
        check_against_isx(nwbfile, ref, excluded=("Mag z", "Ori roll"))
        assert "Columns: Mag x, Mag y." in nwbfile.processing["behavior"]["Magnetometer"] \
            .description
    assert_inspector_clean(out, "zarr")


def test_exclude_whole_sensor_and_alignment(tmp_path):
    path, _ = make_imu(tmp_path)
    interface = InscopixImuInterface(path, exclude_channels=["Mag x", "Mag y", "Mag z"])
    assert interface.get_channel_names() == [*AXES["Accelerometer"], *AXES["Orientation"]]
    times, values = interface.get_channel_data("Acc x")
    interface.set_aligned_starting_time(-1.25)
    nwbfile = interface.create_nwbfile(metadata=nwb_metadata(interface))
    behavior = nwbfile.processing["behavior"]
    assert set(behavior.data_interfaces) == {"Accelerometer", "Orientation"}
    np.testing.assert_allclose(series_times(behavior["Orientation"]), times - 1.25,
                               rtol=0, atol=2e-6)
    np.testing.assert_array_equal(interface.get_channel_data("Acc x")[1], values)
    with pytest.raises(ValueError, match="'Acc w'"):
        InscopixImuInterface(path, exclude_channels=["Acc w"])


def test_imu_without_samples_is_reported(tmp_path):
    path = write_imu(unique(tmp_path, ".imu"), np.zeros((0, 3)), np.zeros((0, 3)),
                     np.zeros((0, 3)))
    interface = InscopixImuInterface(path)
    with pytest.warns(UserWarning, match="no samples") as record:
        nwbfile = interface.create_nwbfile(metadata=nwb_metadata(interface))
    named = " ".join(str(w.message) for w in record)
    assert all(f"{sensor} (" in named for sensor in AXES)
    assert not nwbfile.processing["behavior"].data_interfaces
