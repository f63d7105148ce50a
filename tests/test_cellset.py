"""Cell sets (isxd.md §6): isxio against isx, in both directions, plus damaged files."""

from __future__ import annotations

import json
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxFormatWarning, IsxWriteError
from isxio.formats.cellset import (
    STATUS_NAMES,
    CellSetFile,
    CellSetWriter,
    fill_empty_names,
    pack_color,
    set_cell_statuses,
    unpack_colors,
    write_cell_set,
)
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.container import read_trailer

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
REAL_CELLSETS = ["cellset.isxd", "cellset_accepted_undecided_and_rejected_cells.isxd",
                 "empty_cellset.isxd"]
NAME_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    min_size=1, max_size=8)


# ---------------------------------------------------------------------- helpers
@st.composite
def cell_specs(draw, max_cells: int = 13) -> dict:
    n = draw(st.integers(0, max_cells))
    t = draw(st.integers(1, 12))
    idx = st.integers(0, t - 1)
    dropped = sorted(set(draw(st.lists(idx, max_size=3))))
    blank = sorted(set(draw(st.lists(idx, max_size=2))) - set(dropped))
    cropped = []
    if draw(st.booleans()):
        a = draw(idx)
        cropped = [(a, draw(st.integers(a, t - 1)))]
    return dict(
        n=n, t=t, shape=(draw(st.integers(1, 6)), draw(st.integers(1, 6))),
        dropped=dropped, blank=blank, cropped=cropped,
        period=(draw(st.integers(1, 10**6)), draw(st.sampled_from([1000, 10**6]))),
        start=(draw(st.integers(0, 2 * 10**12)), 1000, draw(st.integers(-50400, 50400))),
        names=draw(st.lists(st.one_of(st.none(), st.just(""), NAME_TEXT),
                            min_size=n, max_size=n)),
        statuses=draw(st.lists(st.sampled_from(STATUS_NAMES), min_size=n, max_size=n)),
        seed=draw(st.integers(0, 2**31)))


def our_timing(spec: dict) -> TimingInfo:
    (pn, pd), (sn, sd, utc) = spec["period"], spec["start"]
    return TimingInfo(spec["t"], Ratio(pn, pd), Time(Ratio(sn, sd), utc),
                      tuple(spec["dropped"]), tuple(spec["cropped"]), tuple(spec["blank"]))


def isx_timing(spec: dict):
    (pn, pd), (sn, sd, utc) = spec["period"], spec["start"]
    start = isx.Time._from_secs_since_epoch(isx.Duration._from_num_den(sn, sd), utc)
    return isx.Timing(num_samples=spec["t"], period=isx.Duration._from_num_den(pn, pd),
                      start=start, dropped=spec["dropped"], cropped=spec["cropped"],
                      blank=spec["blank"])


def cell_data(spec: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec["seed"])
    images = rng.normal(0, 1, (spec["n"], *spec["shape"])).astype(np.float32)
    traces = rng.normal(0, 10, (spec["n"], spec["t"])).astype(np.float32)
    traces[rng.random(traces.shape) < 0.1] = np.nan  # NaN at valid samples stays NaN
    return images, traces


def isx_write(path: Path, spec: dict) -> None:
    images, traces = cell_data(spec)
    cs = isx.CellSet.write(str(path), isx_timing(spec), isx.Spacing(num_pixels=spec["shape"]))
    for i in range(spec["n"]):
        cs.set_cell_data(i, images[i], traces[i], spec["names"][i])
    cs.flush()
    del cs
    edits = {i: s for i, s in enumerate(spec["statuses"]) if s != "undecided"}
    if edits:
        isx_edit(path, edits)


def isx_edit(path: Path, statuses: dict[int, str]) -> None:
    cs = isx.CellSet.read(str(path), read_only=False)
    for i, s in statuses.items():
        cs.set_cell_status(i, s)
    del cs


def our_spacing(spec: dict) -> SpacingInfo:
    return SpacingInfo(*spec["shape"])


def assert_same_cells(path: Path, ours: CellSetFile | None = None) -> CellSetFile:
    """isxio and isx read ``path`` identically."""
    ours = ours or CellSetFile(path)
    ref = isx.CellSet.read(str(path))
    assert ours.num_cells == ref.num_cells
    assert ours.spacing.shape == tuple(ref.spacing.num_pixels)
    assert_same_timing(ours.timing, ref.timing)
    for i in range(ours.num_cells):
        assert ours.names[i] == ref.get_cell_name(i)
        assert ours.status_names[i] == ref.get_cell_status(i)
        np.testing.assert_array_equal(ours.traces[i], ref.get_cell_trace_data(i))
        np.testing.assert_array_equal(ours.footprints[i], ref.get_cell_image_data(i))
    del ref
    return ours


def assert_same_timing(ours: TimingInfo, ref) -> None:
    assert ours.num_samples == ref.num_samples
    assert ours.period == Ratio(ref.period._impl.num, ref.period._impl.den)
    start = ref.start._impl
    assert ours.start.secs_since_epoch == Ratio(start.secs_since_epoch.num,
                                                start.secs_since_epoch.den)
    assert ours.start.utc_offset == start.utc_offset
    assert list(ours.dropped) == list(ref.dropped)
    assert list(ours.blank) == list(ref.blank)
    assert [tuple(c) for c in ours.cropped] == [tuple(c) for c in ref.cropped]


def build(path: Path, data: bytes, header: dict | str) -> Path:
    """A container with ``data`` and the (minified) JSON ``header``."""
    raw = (header if isinstance(header, str) else json.dumps(header)).encode()
    path.write_bytes(data + raw + b"\x00" + struct.pack("<Q", len(raw)))
    return path


def split(path: Path) -> tuple[bytes, dict]:
    t = read_trailer(path)
    return path.read_bytes()[:t.data_size], json.loads(json.dumps(t.header))


def isx_error(path: Path) -> str | None:
    """The message isx gives when reading ``path`` (None if it reads)."""
    try:
        cs = isx.CellSet.read(str(path))
        for i in range(cs.num_cells):
            cs.get_cell_trace_data(i)
            cs.get_cell_status(i)
        del cs
    except Exception as exc:  # any isx failure counts
        return str(exc)
    return None


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """An isx-written cell set: 12 cells (padded default names), dropped/cropped/blank."""
    spec = dict(n=12, t=9, shape=(3, 4), dropped=[1], blank=[7], cropped=[(3, 4)],
                period=(50, 1000), start=(1_700_000_000_000, 1000, 3600),
                names=["a", "", None, "ä β", *[None] * 8],
                statuses=["accepted", "undecided", "rejected"] * 4, seed=7)
    path = tmp_path_factory.mktemp("cellset") / "sample.isxd"
    isx_write(path, spec)
    return path


# ---------------------------------------------------------------------- isx -> isxio
@SETTINGS
@given(spec=cell_specs())
def test_isx_writes_isxio_reads(tmp_path_factory, spec):
    path = tmp_path_factory.mktemp("cs") / "isx.isxd"
    isx_write(path, spec)
    with CellSetFile(path) as cells:
        assert_same_cells(path, cells)
        assert cells.timing == our_timing(spec).normalized()
        assert cells.status_names == spec["statuses"]
        images, traces = cell_data(spec)
        expected = traces.copy()
        expected[:, ~our_timing(spec).valid_mask()] = np.nan
        np.testing.assert_array_equal(cells.traces[:], expected.reshape(spec["n"], spec["t"]))
        np.testing.assert_array_equal(cells.footprints[:],
                                      images.reshape(spec["n"], *spec["shape"]))
        assert cells.colors == [0xFFFFFFFF] * spec["n"]
        assert cells.activity == [True] * spec["n"]


# ---------------------------------------------------------------------- isxio -> isx
@SETTINGS
@given(spec=cell_specs())
def test_isxio_writes_bytes_identical_to_isx(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("cs")
    isx_write(folder / "isx.isxd", spec)
    images, traces = cell_data(spec)
    with CellSetWriter(folder / "one.isxd", our_timing(spec), our_spacing(spec)) as writer:
        for i in range(spec["n"]):
            writer.set_cell_data(i, images[i], traces[i], spec["names"][i],
                                 status=spec["statuses"][i])
    write_cell_set(folder / "bulk.isxd", images, traces, timing=our_timing(spec),
                   spacing=our_spacing(spec), names=spec["names"], statuses=spec["statuses"],
                   chunk_cells=5)
    expected = (folder / "isx.isxd").read_bytes()
    assert (folder / "one.isxd").read_bytes() == expected
    assert (folder / "bulk.isxd").read_bytes() == expected
    assert_same_cells(folder / "bulk.isxd")


@SETTINGS
@given(spec=cell_specs(), data=st.data())
def test_status_edit_matches_isx(tmp_path_factory, spec, data):
    folder = tmp_path_factory.mktemp("cs")
    isx_write(folder / "a.isxd", spec)
    shutil.copy(folder / "a.isxd", folder / "b.isxd")
    edits = data.draw(st.dictionaries(st.integers(0, max(spec["n"] - 1, 0)),
                                      st.sampled_from(STATUS_NAMES))) if spec["n"] else {}
    set_cell_statuses(folder / "b.isxd", edits)
    if spec["n"] == 0:
        # isx appends a second trailer when it closes an empty cell set opened read-write
        # (the file is then unreadable); isxio just re-emits the trailer.
        assert (folder / "b.isxd").read_bytes() == (folder / "a.isxd").read_bytes()
        return
    isx_edit(folder / "a.isxd", edits)
    assert (folder / "b.isxd").read_bytes() == (folder / "a.isxd").read_bytes()


def test_full_status_list_and_codes(tmp_path, sample):
    shutil.copy(sample, tmp_path / "a.isxd")
    set_cell_statuses(tmp_path / "a.isxd", [2] * 12)
    assert CellSetFile(tmp_path / "a.isxd").statuses == [2] * 12
    with pytest.raises(IsxWriteError):
        set_cell_statuses(tmp_path / "a.isxd", [0] * 11)
    with pytest.raises(IsxWriteError):
        set_cell_statuses(tmp_path / "a.isxd", {12: "accepted"})
    with pytest.raises(IsxWriteError):
        set_cell_statuses(tmp_path / "a.isxd", {0: "maybe"})


def test_status_edit_truncates_shorter_trailer(tmp_path, sample):
    """isx rewrites a trailer in place without truncating: a shorter JSON leaves the old
    tail behind and the file becomes unreadable.  isxio truncates."""
    data, header = split(sample)
    long_json = json.dumps(header, indent=12)
    build(tmp_path / "isx.isxd", data, long_json)
    path = build(tmp_path / "ours.isxd", data, long_json)
    set_cell_statuses(path, {0: "undecided"})
    trailer = read_trailer(path, recover=False)
    assert path.stat().st_size == len(data) + trailer.json_size + 9 < len(long_json) + len(data)
    assert_same_cells(path)
    isx_edit(tmp_path / "isx.isxd", {0: "undecided"})
    stale = (tmp_path / "isx.isxd").read_bytes()
    assert stale[:path.stat().st_size] == path.read_bytes()
    assert len(stale) > path.stat().st_size


# ---------------------------------------------------------------------- writer API
def test_writer_rules(tmp_path):
    timing, spacing = TimingInfo(3), SpacingInfo(2, 2)
    img, tr = np.ones((2, 2), np.float32), np.arange(3, dtype=np.float32)
    with CellSetWriter(tmp_path / "a.isxd", timing, spacing) as w:
        with pytest.raises(IsxWriteError):
            w.set_cell_data(1, img, tr)
        w.set_cell_data(0, img, tr, "x", color=(255, 0, 0))
        w.set_cell_data(0, img * 2, tr, "y", status="rejected")  # replaces the last cell
        with pytest.raises(IsxWriteError):
            w.set_cell_data(1, np.ones((3, 2)), tr)
        with pytest.raises(IsxWriteError):
            w.set_cell_data(1, img, tr[:2])
        w.set_cell_data(1, img.reshape(-1), tr.astype(np.float64), status=0,
                        color=pack_color((1, 2, 3, 4)), active=False)
        assert w.num_cells == 2
        w.set_cell_status(0, "accepted")
        w.set_cell_status(0, 2)
        with pytest.raises(IsxWriteError):
            w.set_cell_status(2, 0)
    cells = CellSetFile(tmp_path / "a.isxd")
    assert cells.names == ["y", "C1"]
    assert cells.statuses == [2, 0]
    assert cells.colors == [0xFFFFFFFF, 0x04010203]
    assert unpack_colors(cells.colors).tolist() == [[255, 255, 255, 255], [1, 2, 3, 4]]
    assert cells.activity == [True, False]
    np.testing.assert_array_equal(cells.footprints[0], img * 2)
    assert_same_cells(tmp_path / "a.isxd")
    with pytest.raises(FileExistsError):
        CellSetWriter(tmp_path / "a.isxd", timing, spacing)
    with pytest.raises(IsxWriteError):
        CellSetWriter(tmp_path / "b.isxd", TimingInfo(3, dropped=(1, 1)), spacing)


def test_writer_discards_on_error(tmp_path):
    with pytest.raises(RuntimeError), \
            CellSetWriter(tmp_path / "a.isxd", TimingInfo(2), SpacingInfo(1, 1)) as w:
        w.set_cell_data(0, [[1.0]], [1.0, 2.0])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_fill_empty_names():
    assert fill_empty_names(["", "a"], "C") == ["C0", "a"]
    assert fill_empty_names([""] * 10, "C")[-1] == "C9"
    assert fill_empty_names([""] * 11, "C")[:2] == ["C00", "C01"]
    assert fill_empty_names([""] * 101, "V")[5] == "V005"


def test_lazy_views_and_pickle(sample):
    import pickle

    with CellSetFile(sample) as cells:
        block = cells.traces[2:6]
        assert not block.flags.owndata  # a view of the memory map
        assert cells.footprints.shape == (12, 3, 4) and cells.traces.shape == (12, 9)
        again = pickle.loads(pickle.dumps(cells))
        np.testing.assert_array_equal(again.traces[:], cells.traces[:])
        again.close()


def test_metadata_round_trip(tmp_path, sample):
    """Colours, activity, metrics, efocus and extraProperties survive isxio -> isxio."""
    with CellSetFile(sample) as cells:
        images, traces = cells.footprints[:], cells.traces[:]
        metrics = [[1, {"x": 3, "y": -9223372036854775808}, {"x": 3, "y": 4}, 0.1, 0, 2, 3.5]]
        metrics += [{}] * 11
        write_cell_set(tmp_path / "a.isxd", images, traces, timing=cells.timing,
                       spacing=cells.spacing, names=cells.names, statuses=cells.statuses,
                       colors=list(range(12)), activity=[False] * 12,
                       extra_properties={"idps": {"cellset": {"method": "cnmfe"}}},
                       efocus_values=[400, 700], cell_metrics=metrics)
    out = CellSetFile(tmp_path / "a.isxd")
    assert out.colors == list(range(12)) and out.activity == [False] * 12
    assert out.efocus_values == [400, 700]
    assert out.cell_metrics[0] == [1, {"x": 3, "y": -9223372036854775808}, {"x": 3, "y": 4},
                                   float(np.float32(0.1)), 0.0, 2.0, 3.5]
    assert out.extra_properties == {"idps": {"cellset": {"method": "cnmfe"}}}
    assert_same_cells(tmp_path / "a.isxd")
    ref = isx.CellSet.read(str(tmp_path / "a.isxd"))
    assert ref.get_acquisition_info()["Cell Identification Method"] == "cnmfe"
    del ref


# ---------------------------------------------------------------------- old versions
VERSION_KEYS = {
    1: ["CellActivity"],
    2: ["CellColors"],
    3: ["SizeGlobalCS", "Matches", "PairScores", "CentroidDistances"],
    4: ["cellMetrics"],
    5: ["extraProperties"],
}


def old_version(header: dict, version: int, keep_later: bool) -> dict:
    header = dict(header, fileVersion=version)
    for v, keys in VERSION_KEYS.items():
        if v > version:
            for key in keys:
                if keep_later:  # keys of later versions must be ignored
                    header[key] = {"CellActivity": [False] * 12, "CellColors": [7] * 12,
                                   "Matches": [3], "cellMetrics": [[1, 2]],
                                   "extraProperties": {"idps": {"efocus": 9}},
                                   "SizeGlobalCS": 4}.get(key, [1.5])
                else:
                    header.pop(key, None)
    return header


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("keep_later", [False, True])
def test_old_file_versions(tmp_path, sample, version, keep_later):
    data, header = split(sample)
    header["CellColors"] = [0xFF00FF00 + i for i in range(12)]
    header["CellActivity"] = [i % 2 == 0 for i in range(12)]
    header["cellMetrics"] = [[2, {"x": 1, "y": 2}, {"x": 3, "y": 4}, 1.5, 0.25, 1e-3, 7]] * 12
    header["Matches"], header["PairScores"], header["CentroidDistances"] = [1, -2], [0.5], [2]
    header["extraProperties"] = {"idps": {"efocus": 321}}
    del header["efocusValues"]
    path = build(tmp_path / "old.isxd", data, old_version(header, version, keep_later))
    cells = assert_same_cells(path)
    assert cells.header.file_version == version
    assert cells.activity == ([i % 2 == 0 for i in range(12)] if version >= 1 else [True] * 12)
    assert cells.colors == ([0xFF00FF00 + i for i in range(12)] if version >= 2
                            else [0xFFFFFFFF] * 12)
    assert cells.efocus_values == ([321] if version >= 5 else [0])
    assert (cells.cell_metrics is not None) == (version >= 4)
    # editing re-emits the file as isx 2.1.0 does
    shutil.copy(path, tmp_path / "isx.isxd")
    isx_edit(tmp_path / "isx.isxd", {1: "rejected"})
    set_cell_statuses(path, {1: "rejected"})
    assert path.read_bytes() == (tmp_path / "isx.isxd").read_bytes()


def test_efocus_and_empty_metrics(tmp_path, sample):
    data, header = split(sample)
    header["efocusValues"], header["cellMetrics"] = [5, 6], []
    path = build(tmp_path / "a.isxd", data, header)
    cells = CellSetFile(path)
    assert cells.efocus_values == [5, 6] and cells.cell_metrics is None
    shutil.copy(path, tmp_path / "isx.isxd")
    isx_edit(tmp_path / "isx.isxd", {0: "accepted"})
    set_cell_statuses(path, {0: "accepted"})
    assert path.read_bytes() == (tmp_path / "isx.isxd").read_bytes()


# ---------------------------------------------------------------------- damaged files
@SETTINGS
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncated_files_raise(tmp_path_factory, sample, cut):
    raw = sample.read_bytes()
    path = tmp_path_factory.mktemp("cut") / "cut.isxd"
    path.write_bytes(raw[:int(cut * len(raw))])
    for recover in (True, False):
        with pytest.raises(IsxFormatError) as info:
            CellSetFile(path, recover=recover)
        assert info.value.path == str(path)
    assert isx_error(path) is not None


@pytest.mark.parametrize("delta", [-1, 1, "B-1", "B", "B+1", "-B"])
def test_data_size_mismatch(tmp_path, sample, delta):
    data, header = split(sample)
    b = 4 * (12 + 9)
    k = {"B-1": b - 1, "B": b, "B+1": b + 1, "-B": -b}.get(delta, delta)
    data = data + b"\x01" * k if k > 0 else data[:k]
    path = build(tmp_path / "a.isxd", data, header)
    if 0 < k < b:  # isxcore ignores less than one cell of extra bytes
        assert isx_error(path) is None
        with pytest.warns(IsxFormatWarning, match="stray byte"):
            cells = CellSetFile(path)
        assert_same_cells(path, cells)
        with pytest.raises(IsxFormatError) as info:
            CellSetFile(path, recover=False)
    else:
        assert "Number of cells" in isx_error(path)
        with pytest.raises(IsxFormatError) as info:
            CellSetFile(path)
    assert info.value.path == str(path) and info.value.offset == len(data)


REQUIRED = ["type", "fileVersion", "dataType", "CellNames", "CellStatuses", "CellActivity",
            "CellColors", "isRoiSet", "SizeGlobalCS", "Matches", "PairScores",
            "CentroidDistances", "timingInfo", "spacingInfo"]


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_key(tmp_path, sample, key):
    data, header = split(sample)
    del header[key]
    path = build(tmp_path / "a.isxd", data, header)
    assert isx_error(path) is not None
    with pytest.raises(IsxFormatError) as info:
        CellSetFile(path)
    assert info.value.path == str(path)
    assert key in (info.value.key or "")


BAD_VALUES = [
    ("type", 0), ("type", "1"), ("fileVersion", "5"), ("dataType", 1), ("CellNames", 5),
    ("CellNames", [1] * 12), ("CellStatuses", ["accepted"] * 12), ("CellStatuses", [True] * 12),
    ("CellActivity", [1] * 12), ("isRoiSet", 1), ("cellMetrics", 5),
    ("cellMetrics", [{"a": 1}] * 12), ("cellMetrics", [[1, 2]] * 12),
    ("Matches", ["x"]), ("PairScores", [True]), ("efocusValues", "x"),
    ("CellNames", ["a"] * 11), ("CellNames", ["a"] * 13), ("CellStatuses", [1] * 11),
    ("CellColors", [1] * 13), ("timingInfo", {"numTimes": "9"}), ("spacingInfo", []),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_bad_values_raise_like_isx(tmp_path, sample, key, value):
    data, header = split(sample)
    header[key] = value
    path = build(tmp_path / "a.isxd", data, header)
    assert isx_error(path) is not None
    with pytest.raises(IsxFormatError) as info:
        CellSetFile(path)
    assert info.value.path == str(path)


STRICTER = [("CellStatuses", [3] * 12), ("CellColors", [-1] * 12),
            ("CellColors", [2**32] * 12), ("CellActivity", [True] * 11),
            ("cellMetrics", [{}] * 11), ("extraProperties", [1]), ("Matches", [70000]),
            ("efocusValues", [70000])]


@pytest.mark.parametrize(("key", "value"), STRICTER)
def test_stricter_than_isx(tmp_path, sample, key, value):
    """Values isx reads with wrap-around or without checking are errors in isxio."""
    data, header = split(sample)
    header[key] = value
    path = build(tmp_path / "a.isxd", data, header)
    with pytest.raises(IsxFormatError) as info:
        CellSetFile(path)
    assert info.value.path == str(path) and info.value.key.startswith(key)


def test_garbage_json_and_wrong_type(tmp_path, sample):
    data, header = split(sample)
    path = build(tmp_path / "a.isxd", data, "{" + json.dumps(header)[1:-1])
    with pytest.raises(IsxFormatError):
        CellSetFile(path)
    movie = build(tmp_path / "m.isxd", b"", dict(header, type=0))
    with pytest.raises(IsxFormatError, match="not a cell set"):
        CellSetFile(movie)
    header["dataType"] = "double"
    odd = build(tmp_path / "o.isxd", data, header)
    with pytest.warns(IsxFormatWarning, match="dataType"):
        CellSetFile(odd)


# ---------------------------------------------------------------------- real files
@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_CELLSETS)
def test_real_cellsets(realdata, name):
    path = realdata / name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cells = assert_same_cells(path)
    raw = json.loads(path.read_bytes()[cells.trailer.data_size:-9].decode())
    n = cells.num_cells
    assert cells.colors == raw["CellColors"] and cells.activity == raw["CellActivity"]
    assert cells.extra_properties == raw["extraProperties"]
    assert cells.efocus_values == raw["efocusValues"]
    assert len(cells.traces) == n and cells.traces.shape[1:] == (raw["timingInfo"]["numTimes"],)
    ref = isx.CellSet.read(str(path))
    if n:  # isx summarises the acquisition metadata; the source keys must be ours
        info = ref.get_acquisition_info()
        method = (cells.extra_properties or {}).get("idps", {}).get("cellset", {}).get("method")
        assert info.get("Cell Identification Method") == method
    del ref


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_CELLSETS[:2])
def test_real_cellset_status_edit(tmp_path, realdata, name):
    path = realdata / name
    shutil.copy(path, tmp_path / "isx.isxd")
    shutil.copy(path, tmp_path / "ours.isxd")
    for p in tmp_path.iterdir():
        p.chmod(0o644)
    isx_edit(tmp_path / "isx.isxd", {0: "rejected", 1: "undecided"})
    set_cell_statuses(tmp_path / "ours.isxd", {0: "rejected", 1: "undecided"})
    assert (tmp_path / "ours.isxd").read_bytes() == (tmp_path / "isx.isxd").read_bytes()
