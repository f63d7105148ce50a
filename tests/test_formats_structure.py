"""The shape of the format layer: one writer base, readers by path, no import cycles.

The four ``.isxd`` writers share their flush / close / context-manager / atomic-rename
code (:mod:`isxio.formats._base`); these tests hold every writer to the same contract
and check the data they write against the values given.  The module-graph tests keep
the GPIO/IMU knot untied and every name importable from where it used to live.
"""

from __future__ import annotations

import ast
import importlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from isxio.errors import IsxWriteError
from isxio.formats.cellset import CellSetFile, CellSetWriter
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.events import EventsFile, EventsWriter
from isxio.formats.movie import MovieFile, MovieWriter
from isxio.formats.vesselset import DIAMETER, VesselSetFile, VesselSetWriter

FORMATS = Path(__file__).resolve().parents[1] / "src" / "isxio" / "formats"

FRAMES = np.arange(2 * 2 * 3, dtype=np.uint16).reshape(2, 2, 3)
IMAGE = np.arange(4, dtype=np.float32).reshape(2, 2) / 4
TRACE = np.array([0.5, -1.0, 2.25], np.float32)
LINE = np.array([[0, 1], [2, 3]], np.int64)
OFFSETS, AMPS = np.array([0, 10, 20], np.uint64), np.array([1.0, 2.0, 3.0], np.float32)


def _movie(path, **kw):
    return MovieWriter(path, TimingInfo(num_samples=2), SpacingInfo(2, 3), np.uint16, **kw)


def _cells(path, **kw):
    return CellSetWriter(path, TimingInfo(num_samples=3), SpacingInfo(2, 2), **kw)


def _events(path, **kw):
    return EventsWriter(path, TimingInfo(num_samples=3), ["C0"], **kw)


def _vessels(path, **kw):
    return VesselSetWriter(path, TimingInfo(num_samples=3), SpacingInfo(2, 2), DIAMETER, **kw)


def _fill(writer):
    """Write the whole data section of a small file of each kind."""
    if isinstance(writer, MovieWriter):
        writer.write_frames(FRAMES)
    elif isinstance(writer, CellSetWriter):
        writer.set_cell_data(0, IMAGE, TRACE, "a")
    elif isinstance(writer, EventsWriter):
        writer.set_cell_data(0, OFFSETS, AMPS)
    else:
        writer.set_vessel_diameter_data(0, IMAGE, LINE, TRACE, name="a")


def _check_read_back(path):
    """What was written reads back as the source values (read with the matching reader)."""
    with isxio_open(path) as f:
        if isinstance(f, MovieFile):
            np.testing.assert_array_equal(np.asarray(f.data), FRAMES)
        elif isinstance(f, CellSetFile):
            np.testing.assert_array_equal(np.asarray(f.footprints)[0], IMAGE)
            np.testing.assert_array_equal(np.asarray(f.traces)[0], TRACE)
            assert f.names == ["a"]
        elif isinstance(f, EventsFile):
            offs, vals = f.channel_data(0, stored_offsets=True)
            np.testing.assert_array_equal(offs, OFFSETS)
            np.testing.assert_array_equal(vals, AMPS)
        else:
            assert isinstance(f, VesselSetFile)
            np.testing.assert_array_equal(f.projection, IMAGE)
            np.testing.assert_array_equal(f.lines[0], LINE)
            np.testing.assert_array_equal(f.traces[0], TRACE)


def isxio_open(path):
    import isxio

    return isxio.open(path)


WRITERS = pytest.mark.parametrize("make", [_movie, _cells, _events, _vessels],
                                  ids=["movie", "cellset", "events", "vesselset"])


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# ---------------------------------------------------------------------- writers
@WRITERS
def test_writer_writes_the_source_values_atomically(tmp_path, make):
    path = tmp_path / "out.isxd"
    with make(path) as writer:
        _fill(writer)
        assert not path.exists()  # nothing under the final name before flush
        assert len(_leftovers(tmp_path)) == 1
    assert path.exists() and not _leftovers(tmp_path)
    _check_read_back(path)


@WRITERS
def test_writer_refuses_an_existing_file_and_keeps_it(tmp_path, make):
    path = tmp_path / "out.isxd"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        make(path)
    assert path.read_bytes() == b"keep me" and not _leftovers(tmp_path)
    with make(path, overwrite=True) as writer:
        _fill(writer)
    _check_read_back(path)


@WRITERS
def test_writer_discards_everything_on_an_error(tmp_path, make):
    path = tmp_path / "out.isxd"
    with pytest.raises(RuntimeError, match="boom"), make(path) as writer:
        _fill(writer)
        raise RuntimeError("boom")
    assert not path.exists() and not _leftovers(tmp_path)
    with pytest.raises(IsxWriteError, match="writer is closed"):
        _fill(writer)


@WRITERS
def test_writer_does_not_replace_a_file_that_appears_while_writing(tmp_path, make):
    path = tmp_path / "out.isxd"
    writer = make(path)
    _fill(writer)
    path.write_bytes(b"theirs")
    with pytest.raises(FileExistsError, match="appeared while writing"):
        writer.flush()
    writer.close()
    assert path.read_bytes() == b"theirs" and not _leftovers(tmp_path)


@WRITERS
def test_writer_flush_is_final(tmp_path, make):
    path = tmp_path / "out.isxd"
    writer = make(path)
    _fill(writer)
    writer.flush()
    size = os.path.getsize(path)
    writer.flush()  # a second flush and a close change nothing
    writer.close()
    assert os.path.getsize(path) == size
    with pytest.raises(IsxWriteError, match="writer is closed"):
        _fill(writer)
    _check_read_back(path)


def test_failed_flush_in_a_with_block_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "m.isxd"
    with pytest.raises(IsxWriteError, match=r"1 valid frame\(s\) not written yet"), \
            _movie(path) as writer:
        writer.set_frame_data(0, FRAMES[0])
    assert not path.exists() and not _leftovers(tmp_path)
    path = tmp_path / "c.isxd"
    with pytest.raises(IsxWriteError, match="invalid cell metrics"), \
            _cells(path, cell_metrics=["not a metric"]) as writer:
        writer.set_cell_data(0, IMAGE, TRACE)
    assert not path.exists() and not _leftovers(tmp_path)


def test_refused_arguments_leave_no_temporary_file(tmp_path):
    path = tmp_path / "x.isxd"
    bad = TimingInfo(num_samples=3, dropped=(1, 1))
    for make in (lambda: MovieWriter(path, bad, SpacingInfo(2, 2), np.uint16),
                 lambda: CellSetWriter(path, bad, SpacingInfo(2, 2)),
                 lambda: VesselSetWriter(path, bad, SpacingInfo(2, 2), DIAMETER),
                 lambda: EventsWriter(path, TimingInfo(num_samples=3), [])):
        with pytest.raises(IsxWriteError):
            make()
    assert not list(tmp_path.iterdir())


@WRITERS
def test_readers_pickle_by_path_and_close(tmp_path, make):
    path = tmp_path / "out.isxd"
    with make(path) as writer:
        _fill(writer)
    reader = isxio_open(path)
    clone = pickle.loads(pickle.dumps(reader))
    assert type(clone) is type(reader) and clone.path == reader.path
    _check_read_back(path)
    with clone:
        pass  # closing twice, or unused, is fine
    clone.close()


# ---------------------------------------------------------------------- module graph
def _format_imports() -> dict[str, set[str]]:
    """Module name -> the sibling format modules it imports (at any level)."""
    graph = {}
    for path in FORMATS.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
        graph[path.stem] = found & {p.stem for p in FORMATS.glob("*.py")}
    return graph


def test_format_modules_have_no_import_cycle():
    graph = _format_imports()
    state: dict[str, int] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        assert state.get(name) != 1, f"import cycle: {' -> '.join((*trail, name))}"
        state[name] = 1
        for dep in sorted(graph[name]):
            visit(dep, (*trail, name))
        state[name] = 2

    for name in sorted(graph):
        visit(name, ())


def test_gpio_variants_stand_alone():
    """Each acquisition variant imports shared modules only, never gpio.py, imu.py or
    another variant; imu.py does not import gpio.py."""
    graph = _format_imports()
    variants = {name for name in graph if name.startswith("gpio_")} - {"gpio_session"}
    assert variants == {"gpio_nvista3", "gpio_nvoke1", "gpio_nvista2"}
    for name in variants:
        assert not graph[name] & (variants | {"gpio", "imu"}), (name, graph[name])
    assert "gpio" not in graph["imu"] and "gpio" not in graph["gpiodata"]


# Names imported from each module by code and tests before the modules were split.
OLD_NAMES = {
    "movie": "DATA_TYPES FRAME_HEADER_ITEMS MovieFile MovieHeader MovieWriter TSC_PIXEL "
             "decode_tsc encode_tsc write_movie dtype_code",
    "cellset": "CELL_SET_TYPE STATUS_NAMES WHITE CellSetFile CellSetHeader CellSetWriter "
               "fill_empty_names pack_color set_cell_statuses status_code unpack_colors "
               "write_cell_set FILE_VERSION FLOAT32_NAN UNDECIDED ItemSetMetadata as_float32 "
               "checked_timing efocus_values extra_properties merged_statuses "
               "per_item_arrays float_array cell_metrics",
    "vesselset": "DIAMETER KINDS RBC_VELOCITY VESSEL_SET_TYPE VesselSetFile VesselSetHeader "
                 "VesselSetWriter set_vessel_statuses vessel_kind write_vessel_set",
    "events": "DENSE EVENT_METRIC_NAMES KINDS KIND_TYPES PACKET_DTYPE SPARSE V1_PACKET_DTYPE "
              "EventsFile EventsHeader EventsWriter collapse_channels event_metrics_json "
              "isx_microseconds parse_event_metrics write_v1_events_file V1_TYPES "
              "DEFAULT_PERIOD",
    "gpio": "CLOSED_LOOP_FORMAT GPIO_CHANNEL_NAMES PACKET_DTYPE GpioData GpioFile read_gpio "
            "isx_offsets parse_json_stream r_add",
    "imu": "IMU_CHANNEL_NAMES IMU_HEADER ImuFile read_imu stream_offsets ACC_SCALE",
    "container": "AtomicFile ISX_PRODUCER MAX_STRAY_BYTES Trailer current_umask "
                 "encode_trailer read_trailer rewrite_trailer",
}


@pytest.mark.parametrize("module", sorted(OLD_NAMES))
def test_names_stay_importable_where_they_were(module):
    mod = importlib.import_module(f"isxio.formats.{module}")
    missing = [name for name in OLD_NAMES[module].split() if not hasattr(mod, name)]
    assert not missing, f"isxio.formats.{module} lost {missing}"
    for name in getattr(mod, "__all__", ()):
        assert hasattr(mod, name), f"isxio.formats.{module}.__all__ names missing {name}"


# ---------------------------------------------------------------------- events end time
# (samples, period, start): the exact end lies just above a whole ms, its double just below
END_CASES = [(528, (1864, 30), (1, 1000)), (3764, (194356, 2582), (490781775615, 1)),
             (575, (784614, 8241), (592266788481, 1)), (3775, (379437, 9761), (562980082048, 10)),
             (100, (50, 1000), (3200000001, 2))]


@pytest.mark.isx
@pytest.mark.parametrize("n, period, start", END_CASES)
def test_default_event_set_end_time_is_isx_s(tmp_path, n, period, start):
    """isx stores ``start + period × samples`` converted through a double, in whole ms."""
    isx = pytest.importorskip("isx")
    from isxio.formats.container import read_trailer

    timing = TimingInfo(num_samples=n, period=Ratio(*period), start=Time(Ratio(*start), 0))
    theirs, ours = tmp_path / "isx.isxd", tmp_path / "ours.isxd"
    es = isx.EventSet.write(str(theirs), isx.Timing(
        num_samples=n, period=isx.Duration._from_num_den(*period),
        start=isx.Time._from_secs_since_epoch(isx.Duration._from_num_den(*start), 0)), ["a"])
    es.flush()
    del es
    with EventsWriter(ours, timing, ["a"]):
        pass
    want = read_trailer(theirs).header["global times"][1]
    assert read_trailer(ours).header["global times"][1] == want
    assert ours.read_bytes() == theirs.read_bytes()
