"""InscopixEventsInterface: event sets -> NWB, read back with pynwb and checked against isx.

Every event's time, amplitude and cell is compared with what isx reads
(``isx.EventSet.get_cell_data``: isx's offsets may be 1 µs below the stored ones, its
documented truncation) and exactly with the stored offsets (the source data put in, or
the real file's packets read with numpy from the spec's layout).  Every file is checked
with nwbinspector (default and DANDI configurations).
"""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest

from isxio.formats.cellset import write_cell_set
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.container import encode_trailer
from isxio.formats.events import EventsHeader, EventsWriter, write_v1_events_file

pytest.importorskip("neuroconv")
isx = pytest.importorskip("isx")

import nwbinspector  # noqa: E402
from pynwb import NWBHDF5IO  # noqa: E402

from isxio.neuroconv import InscopixEventsInterface, InscopixSegmentationInterface  # noqa: E402

pytestmark = pytest.mark.isx

SUBJECT = {"subject_id": "mouse-1", "species": "Mus musculus", "sex": "M", "age": "P90D",
           "description": "test animal"}
BAD = {nwbinspector.Importance.CRITICAL, nwbinspector.Importance.BEST_PRACTICE_VIOLATION,
       nwbinspector.Importance.ERROR}
#: V2 packets, as the spec (isxd.md §7.1) lays them out
PACKET = np.dtype([("offset", "<u8"), ("signal", "<u8"), ("value", "<f4")])
START = Time(Ratio(1_700_000_000_250, 1000), -7200)


# ------------------------------------------------------------------ helpers
def fresh(folder: Path) -> Path:
    return folder / f"e{uuid.uuid4().hex[:10]}.isxd"


def open_nwb(path: Path):
    if path.suffix == ".zarr":
        from hdmf_zarr.nwb import NWBZarrIO

        return NWBZarrIO(str(path), mode="r")
    return NWBHDF5IO(str(path), mode="r")


def inspect(path: Path, allowed: tuple[str, ...] = ()) -> None:
    """No CRITICAL / BEST_PRACTICE_VIOLATION / ERROR, with and without the DANDI config.

    nwbinspector 0.7.2 cannot open Zarr paths itself, so a Zarr file is read here and
    its NWBFile inspected.
    """
    for config in (None, nwbinspector.load_config("dandi")):
        if path.suffix == ".zarr":
            with open_nwb(path) as io:
                messages = list(nwbinspector.inspect_nwbfile_object(io.read(), config=config))
        else:
            messages = list(nwbinspector.inspect_nwbfile(nwbfile_path=str(path), config=config))
        found = [(m.check_function_name, m.object_name, m.message) for m in messages
                 if m.importance in BAD and m.check_function_name not in allowed]
        assert not found, found


def convert(interface, path: Path, **options) -> dict:
    metadata = interface.get_metadata()
    metadata["Subject"] = {**metadata.get("Subject", {}), **SUBJECT}
    interface.run_conversion(nwbfile_path=str(path), metadata=metadata, overwrite=True,
                             backend="zarr" if path.suffix == ".zarr" else "hdf5", **options)
    return metadata


def check_events(table, path: Path, stored: dict[str, tuple[np.ndarray, np.ndarray]],
                 shift: float = 0.0) -> None:
    """Each cell's rows of ``table`` against isx and against the stored ``(µs, amplitudes)``."""
    df = table.to_dataframe()
    assert np.all(np.diff(df["timestamp"].to_numpy()) >= 0)
    es = isx.EventSet.read(str(path))
    try:
        assert sorted(set(df["cell_name"])) == sorted(n for n, v in stored.items() if len(v[0]))
        for i in range(es.num_cells):
            name = es.get_cell_name(i)
            isx_offsets, isx_amps = es.get_cell_data(i)
            rows = df[df["cell_name"] == name]
            times = rows["timestamp"].to_numpy() - shift
            us = np.round(times * 1e6).astype(np.int64)
            assert set(np.unique(us - isx_offsets.astype(np.int64))) <= {0, 1}, name
            np.testing.assert_array_equal(rows["amplitude"].to_numpy(), isx_amps, err_msg=name)
            offsets, amps = stored[name]
            np.testing.assert_array_equal(us, offsets, err_msg=name)
            np.testing.assert_array_equal(rows["amplitude"].to_numpy(), amps, err_msg=name)
            if shift == 0.0:  # float64 seconds exactly as stored µs / 1e6
                np.testing.assert_array_equal(times, offsets / 1e6, err_msg=name)
    finally:
        del es


def expected(offsets: list[int], amps: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Source data -> sorted by time; a time given twice keeps the last amplitude."""
    last = dict(zip(offsets, amps, strict=True))
    keys = sorted(last)
    return np.array(keys, np.int64), np.array([last[k] for k in keys], np.float32)


def write_events(path: Path, channels: dict[str, tuple[list[int], list[float]]],
                 timing: TimingInfo | None = None, **options) -> dict:
    """An event set of ``channels`` (name -> offsets µs, amplitudes); returns the expected."""
    with EventsWriter(path, timing or TimingInfo(1000, Ratio(50, 1000), START),
                      list(channels), **options) as writer:
        for i, (offsets, amps) in enumerate(channels.values()):
            writer.set_cell_data(i, np.array(offsets, np.uint64), amps)
    return {name: expected(*data) for name, data in channels.items()}


# ------------------------------------------------------------------ real file
@pytest.mark.realdata
def test_real_event_set_to_nwb(realdata, tmp_path):
    path = realdata / "sample_eventset_msr_1.isxd"
    packets = np.fromfile(path, PACKET, count=13504)  # 5 cells, 13504 events (README)
    names = ["C001", "C014", "C030", "C114", "C175"]
    stored = {}
    for i, name in enumerate(names):
        mine = packets[packets["signal"] == i]
        stored[name] = expected(mine["offset"].astype(np.int64).tolist(), mine["value"].tolist())
    out = tmp_path / "events.nwb"
    metadata = convert(InscopixEventsInterface(path), out)
    assert metadata["NWBFile"]["session_start_time"] == dt.datetime(
        2024, 8, 26, 10, 8, 40, 278000, tzinfo=dt.timezone.utc)
    with NWBHDF5IO(str(out), mode="r") as io:
        nwb = io.read()
        assert nwb.session_start_time == metadata["NWBFile"]["session_start_time"]
        table = nwb.events["CellEvents"]
        assert len(table) == 13504
        assert table["timestamp"].resolution == 1e-6
        assert "49.9619 ms" in table.description  # the event set's own period
        assert "cell" not in table.colnames  # no cell set converted: cells by name only
        check_events(table, path, stored)
        assert "ophys" not in nwb.processing  # the real file has no metrics
    inspect(out)


# ------------------------------------------------------------------ with the cell set
@pytest.mark.parametrize("suffix", [".nwb", ".nwb.zarr"])
def test_events_linked_to_plane_segmentation_in_a_converter(tmp_path, suffix):
    from neuroconv import ConverterPipe

    if suffix.endswith(".zarr"):
        pytest.importorskip("hdmf_zarr")

    timing = TimingInfo(200, Ratio(50, 1000), START)
    cells = tmp_path / "cells.isxd"
    rng = np.random.default_rng(7)
    write_cell_set(cells, rng.random((3, 4, 5), dtype=np.float32),
                   rng.random((3, 200), dtype=np.float32), timing=timing,
                   spacing=SpacingInfo(4, 5), names=["C0", "C1", "C2"])
    metrics = np.arange(18, dtype=np.float64).reshape(2, 9) / 4
    metrics[1, 3:] = np.nan
    events = fresh(tmp_path)  # a subset of the cells, in another order
    stored = write_events(events, {"C2": ([100_000, 50_000, 9_950_000], [1.5, -2.0, 3.25]),
                                   "C0": ([50_000, 7_000_001], [4.0, 0.5])},
                          timing, channel_metrics=metrics)
    converter = ConverterPipe(data_interfaces={"cells": InscopixSegmentationInterface(cells),
                                               "events": InscopixEventsInterface(events)})
    metadata = converter.get_metadata()
    metadata["Subject"] = SUBJECT
    out = tmp_path / f"both{suffix}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converter.run_conversion(nwbfile_path=str(out), metadata=metadata, overwrite=True,
                                 backend="zarr" if suffix.endswith(".zarr") else "hdf5",
                                 conversion_options={"events": {
                                     "plane_segmentation_name": "PlaneSegmentation"}})
    assert not [w for w in caught if events.name in str(w.message)]
    with open_nwb(out) as io:
        nwb = io.read()
        plane = nwb.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
        table = nwb.events["CellEvents"]
        check_events(table, events, stored)
        assert table["cell"].table is plane
        roi_names = list(plane["roi_name"][:])
        linked = [roi_names[r] for r in table["cell"].data[:]]
        assert linked == list(table["cell_name"][:])
        assert list(table["cell_name"][:]) == ["C2", "C0", "C2", "C0", "C2"]  # ties: file order
        # metrics: one row per event-set cell, linked the same way, NaN where missing
        per_cell = nwb.processing["ophys"]["CellEventMetrics"]
        assert list(per_cell["cell_name"][:]) == ["C2", "C0"]
        assert [roi_names[r] for r in per_cell["cell"].data[:]] == ["C2", "C0"]
        assert per_cell["cell"].table is plane
        np.testing.assert_array_equal(per_cell["snr"][:], metrics[:, 0])
        np.testing.assert_array_equal(per_cell["event_rate"][:], metrics[:, 2])
        np.testing.assert_array_equal(per_cell["decay_sd"][:], metrics[:, 8])
        assert "Hz" in per_cell["event_rate"].description
    # the cell set carries no brain location (the user's metadata gives it)
    inspect(out, allowed=("check_imaging_plane_location_allen_ccf",))


# ------------------------------------------------------------------ Zarr, metadata, alignment
def test_zarr_metadata_and_aligned_start(tmp_path):
    """A start with a non-decimal denominator (isx loses 1 µs on some offsets; we don't)."""
    pytest.importorskip("hdmf_zarr")
    timing = TimingInfo(3000, Ratio(1, 30), Time(Ratio(5_100_000_001, 3), 3600))
    offsets = (np.arange(1, 2001) * 33_333).tolist()
    extra = {"name": "session-7", "personnel": {"name": "A. Person"},
             "animal": {"id": "m42", "species": "Mus musculus", "sex": "f"}}
    path = fresh(tmp_path)
    stored = write_events(path, {"a": (offsets[::2], [1.0] * 1000),
                                 "b": (offsets[1::2], list(np.linspace(0, 1, 1000)))},
                          timing, extra_properties=extra)
    interface = InscopixEventsInterface(path)
    metadata = interface.get_metadata()
    assert metadata["NWBFile"]["session_id"] == "session-7"
    assert metadata["NWBFile"]["experimenter"] == ["A. Person"]
    assert metadata["Subject"]["subject_id"] == "m42"
    assert metadata["Subject"]["sex"] == "F"
    start = metadata["NWBFile"]["session_start_time"]
    assert start.utcoffset() == dt.timedelta(hours=1)
    assert start.timestamp() == pytest.approx(5_100_000_001 / 3, abs=1e-6)
    interface.set_aligned_starting_time(2.5)
    out = tmp_path / "events.nwb.zarr"
    convert(interface, out)
    with open_nwb(out) as io:
        nwb = io.read()
        assert nwb.session_id == "session-7"
        check_events(nwb.events["CellEvents"], path, stored, shift=2.5)
        assert "33.3333 ms" in nwb.events["CellEvents"].description
    inspect(out)


def test_alignment_follows_neuroconv_contract(tmp_path):
    path = fresh(tmp_path)
    write_events(path, {"a": ([10, 30], [1.0, 2.0]), "b": ([20], [3.0])})
    interface = InscopixEventsInterface(path)
    original = interface.get_original_timestamps()
    np.testing.assert_array_equal(original, [10e-6, 20e-6, 30e-6])
    interface.set_aligned_timestamps(original * 2)
    times, amps, names = interface.get_events()
    np.testing.assert_array_equal(times, [20e-6, 40e-6, 60e-6])
    assert (amps.tolist(), names) == ([1.0, 3.0, 2.0], ["a", "b", "a"])
    with pytest.raises(ValueError, match="aligned timestamps"):
        interface.set_aligned_timestamps(original[:2])


# ------------------------------------------------------------------ V1 layout
def test_v1_event_file(tmp_path):
    start = Time(Ratio(1_600_000_000_250, 1000), -7200)
    origin = 1_600_000_000_250_000
    path = fresh(tmp_path)
    write_v1_events_file(path, TimingInfo(100, Ratio(50, 1000), start), [
        ("C1", np.array([origin + 900, origin + 10, origin + 10], np.uint64), [3.0, 1.0, 2.0],
         [True] * 3),
        ("C0", np.array([origin + 5], np.uint64), [4.0], [True]),
    ], kind="events")
    out = tmp_path / "v1.nwb"
    convert(InscopixEventsInterface(path), out)
    with NWBHDF5IO(str(out), mode="r") as io:
        nwb = io.read()
        assert nwb.session_start_time.utcoffset() == dt.timedelta(hours=-2)
        check_events(nwb.events["CellEvents"], path,
                     {"C0": expected([5], [4.0]), "C1": expected([900, 10, 10], [3.0, 1.0, 2.0])})
    inspect(out)


# ------------------------------------------------------------------ nothing to write
def test_zero_events_writes_metrics_and_warns(tmp_path):
    path = fresh(tmp_path)
    metrics = {"snr": [2.5, np.nan], "eventRate": [0.0, 0.0]}
    with EventsWriter(path, TimingInfo(5, Ratio(50, 1000), START), ["a", "b"],
                      channel_metrics=metrics):
        pass
    out = tmp_path / "none.nwb"
    with pytest.warns(UserWarning, match="no events; no EventsTable"):
        convert(InscopixEventsInterface(path), out)
    with NWBHDF5IO(str(out), mode="r") as io:
        nwb = io.read()
        assert not nwb.events
        per_cell = nwb.processing["ophys"]["CellEventMetrics"]
        np.testing.assert_array_equal(per_cell["snr"][:], [2.5, np.nan])
        np.testing.assert_array_equal(per_cell["mad"][:], [np.nan, np.nan])
    inspect(out)


def test_zero_channels_writes_nothing_and_warns(tmp_path):
    path = fresh(tmp_path)
    header = EventsHeader(5, (), START, Time(Ratio(1_700_000_010, 1), 0), (), ())
    path.write_bytes(encode_trailer(header.to_json()))
    out = tmp_path / "empty.nwb"
    with pytest.warns(UserWarning, match="no cells; nothing is written"):
        convert(InscopixEventsInterface(path), out)
    with NWBHDF5IO(str(out), mode="r") as io:
        nwb = io.read()
        assert not nwb.events and not nwb.processing
    inspect(out)


# ------------------------------------------------------------------ linking errors
def test_missing_plane_segmentation_warns_and_writes_names(tmp_path):
    path = fresh(tmp_path)
    write_events(path, {"a": ([10], [1.0])})
    interface = InscopixEventsInterface(path)
    metadata = interface.get_metadata()
    metadata["Subject"] = SUBJECT
    with pytest.warns(UserWarning, match="no PlaneSegmentation named 'Cells'"):
        nwbfile = interface.create_nwbfile(metadata=metadata, plane_segmentation_name="Cells")
    table = nwbfile.events["CellEvents"]
    assert "cell" not in table.colnames and list(table["cell_name"][:]) == ["a"]


def test_cells_not_in_plane_segmentation_are_an_error(tmp_path):
    cells = tmp_path / "cells.isxd"
    write_cell_set(cells, np.ones((2, 3, 3), np.float32), np.zeros((2, 4), np.float32),
                   names=["C0", "C1"])
    events = fresh(tmp_path)
    write_events(events, {"C1": ([10], [1.0]), "C9": ([20], [1.0])})
    segmentation = InscopixSegmentationInterface(cells)
    metadata = segmentation.get_metadata()
    metadata["Subject"] = SUBJECT
    nwbfile = segmentation.create_nwbfile(metadata=metadata)
    with pytest.raises(ValueError, match=r"cells \['C9'\] are not among its roi_name"):
        InscopixEventsInterface(events).add_to_nwbfile(
            nwbfile, metadata, plane_segmentation_name="PlaneSegmentation")
    twice = fresh(tmp_path)
    with EventsWriter(twice, TimingInfo(10), ["C1", "C1"]) as writer:
        writer.set_cell_data(0, [10], [1.0])
    with pytest.raises(ValueError, match=r"the event set repeats the cell names \['C1'\]"):
        InscopixEventsInterface(twice).add_to_nwbfile(
            nwbfile, metadata, plane_segmentation_name="PlaneSegmentation")


def test_second_event_set_needs_its_own_table_names(tmp_path):
    first, second = fresh(tmp_path), fresh(tmp_path)
    write_events(first, {"a": ([10], [1.0])}, channel_metrics={"snr": [1.0]})
    write_events(second, {"a": ([20], [2.0])}, channel_metrics={"snr": [2.0]})
    one = InscopixEventsInterface(first)
    metadata = one.get_metadata()
    metadata["Subject"] = SUBJECT
    nwbfile = one.create_nwbfile(metadata=metadata)
    two = InscopixEventsInterface(second, metadata_key="InscopixEvents2")
    with pytest.raises(ValueError, match="already has a table named 'CellEvents'"):
        two.add_to_nwbfile(nwbfile, metadata)
    own = two.get_metadata()["InscopixEvents2"]
    own["EventsTable"]["name"] = "CellEvents2"
    with pytest.raises(ValueError, match="already has a table named 'CellEventMetrics'"):
        two.add_to_nwbfile(nwbfile, {**metadata, "InscopixEvents2": own})
    assert "CellEvents2" not in nwbfile.events  # nothing written before the error
    own["MetricsTable"]["name"] = "CellEventMetrics2"
    two.add_to_nwbfile(nwbfile, {**metadata, "InscopixEvents2": own})
    assert nwbfile.events["CellEvents2"]["timestamp"][:] == [20e-6]
    assert nwbfile.processing["ophys"]["CellEventMetrics2"]["snr"][:] == [2.0]
