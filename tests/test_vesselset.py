"""Vessel sets (isxd.md §8): isxio against isx for both kinds, plus damaged files."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxWriteError
from isxio.formats.cellset import STATUS_NAMES
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.container import read_trailer
from isxio.formats.vesselset import (
    DIAMETER,
    RBC_VELOCITY,
    VesselSetFile,
    VesselSetWriter,
    set_vessel_statuses,
    write_vessel_set,
)

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
NAME_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    min_size=1, max_size=6)


# ---------------------------------------------------------------------- helpers
@st.composite
def vessel_specs(draw, kind: str | None = None, max_vessels: int = 12) -> dict:
    kind = kind or draw(st.sampled_from([DIAMETER, RBC_VELOCITY]))
    n = draw(st.integers(0, max_vessels))
    t = draw(st.integers(1, 8))
    idx = st.integers(0, t - 1)
    dropped = sorted(set(draw(st.lists(idx, max_size=2))))
    blank = sorted(set(draw(st.lists(idx, max_size=2))) - set(dropped))
    cropped = []
    if draw(st.booleans()):
        a = draw(idx)
        cropped = [(a, draw(st.integers(a, t - 1)))]
    corr = kind == RBC_VELOCITY and draw(st.booleans())
    size = st.tuples(st.integers(1, 3), st.integers(1, 3))
    return dict(
        kind=kind, n=n, t=t, shape=(draw(st.integers(1, 5)), draw(st.integers(1, 5))),
        dropped=dropped, blank=blank, cropped=cropped,
        period=(draw(st.integers(1, 10**6)), draw(st.sampled_from([1000, 10**6]))),
        start=(draw(st.integers(0, 2 * 10**12)), 1000, draw(st.integers(-50400, 50400))),
        names=draw(st.lists(st.one_of(st.none(), st.just(""), NAME_TEXT),
                            min_size=n, max_size=n)),
        statuses=draw(st.lists(st.sampled_from(STATUS_NAMES), min_size=n, max_size=n)),
        corr_shapes=draw(st.lists(size, min_size=n, max_size=n)) if corr else None,
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


def vessel_data(spec: dict) -> dict:
    rng = np.random.default_rng(spec["seed"])
    n, t, points = spec["n"], spec["t"], 2 if spec["kind"] == DIAMETER else 4
    out = dict(images=rng.normal(0, 1, (n, *spec["shape"])).astype(np.float32),
               lines=rng.integers(-(2**40), 2**40, (n, points, 2), dtype=np.int64),
               traces=rng.normal(0, 5, (n, t)).astype(np.float32),
               second=rng.normal(0, 5, (n, t)).astype(np.float32), corr=None)
    out["traces"][rng.random((n, t)) < 0.1] = np.nan
    if spec["corr_shapes"] is not None:
        out["corr"] = [rng.normal(0, 1, (t, 3, h, w)).astype(np.float32)
                       for h, w in spec["corr_shapes"]]
    return out


def isx_write(path: Path, spec: dict) -> None:
    d = vessel_data(spec)
    vs = isx.VesselSet.write(str(path), isx_timing(spec), isx.Spacing(num_pixels=spec["shape"]),
                             spec["kind"])
    for i in range(spec["n"]):
        if spec["kind"] == DIAMETER:
            vs.set_vessel_diameter_data(i, d["images"][i], d["lines"][i], d["traces"][i],
                                        d["second"][i], spec["names"][i])
        else:
            vs.set_rbc_velocity_data(i, d["images"][i], d["lines"][i], d["traces"][i],
                                     d["second"][i], None if d["corr"] is None else d["corr"][i],
                                     spec["names"][i])
    vs.flush()
    del vs
    edits = {i: s for i, s in enumerate(spec["statuses"]) if s != "undecided"}
    if edits:
        isx_edit(path, edits)


def isx_edit(path: Path, statuses: dict[int, str]) -> None:
    vs = isx.VesselSet.read(str(path), read_only=False)
    for i, s in statuses.items():
        vs.set_vessel_status(i, s)
    del vs


def assert_same_vessels(path: Path, ours: VesselSetFile | None = None) -> VesselSetFile:
    """isxio and isx read ``path`` identically."""
    ours = ours or VesselSetFile(path)
    ref = isx.VesselSet.read(str(path))
    assert ours.num_vessels == ref.num_vessels
    assert ours.spacing.shape == tuple(ref.spacing.num_pixels)
    assert ours.timing.num_samples == ref.timing.num_samples
    assert ours.timing.period == Ratio(ref.timing.period._impl.num, ref.timing.period._impl.den)
    assert (list(ours.timing.dropped), list(ours.timing.blank)) == (ref.timing.dropped,
                                                                    ref.timing.blank)
    kind = {0: DIAMETER, 1: RBC_VELOCITY}[ref.get_vessel_set_type().value]
    assert ours.kind == kind
    assert ours.has_correlations == ref.has_correlation_heatmaps()
    for i in range(ours.num_vessels):
        assert ours.names[i] == ref.get_vessel_name(i)
        assert ours.status_names[i] == ref.get_vessel_status(i)
        np.testing.assert_array_equal(ours.projection, ref.get_vessel_image_data(i))
        np.testing.assert_array_equal(ours.lines[i], ref.get_vessel_line_data(i))
        np.testing.assert_array_equal(ours.traces[i], ref.get_vessel_trace_data(i))
        if ours.center_traces is not None:
            np.testing.assert_array_equal(ours.center_traces[i],
                                          ref.get_vessel_center_trace_data(i))
        if ours.direction_traces is not None:
            np.testing.assert_array_equal(ours.direction_traces[i],
                                          ref.get_vessel_direction_trace_data(i))
        if ours.has_correlations:
            corr = ours.correlations(i)
            for t in range(ours.timing.num_samples):
                np.testing.assert_array_equal(corr[t], ref.get_vessel_correlations_data(i, t))
    del ref
    return ours


def build(path: Path, data: bytes, header: dict | str) -> Path:
    raw = (header if isinstance(header, str) else json.dumps(header)).encode()
    path.write_bytes(data + raw + b"\x00" + struct.pack("<Q", len(raw)))
    return path


def split(path: Path) -> tuple[bytes, dict]:
    t = read_trailer(path)
    return path.read_bytes()[:t.data_size], json.loads(json.dumps(t.header))


def isx_error(path: Path) -> str | None:
    try:
        vs = isx.VesselSet.read(str(path))
        for i in range(vs.num_vessels):
            vs.get_vessel_trace_data(i)
            vs.get_vessel_status(i)
        del vs
    except Exception as exc:  # any isx failure counts
        return str(exc)
    return None


SAMPLE_SPECS = {
    "diameter": dict(kind=DIAMETER, n=3, t=5, shape=(2, 3), dropped=[1], blank=[], cropped=[],
                     period=(50, 1000), start=(0, 1, 0), names=["a", "", None],
                     statuses=["accepted", "undecided", "rejected"], corr_shapes=None, seed=1),
    "rbc": dict(kind=RBC_VELOCITY, n=3, t=4, shape=(3, 2), dropped=[], blank=[2],
                cropped=[(0, 0)], period=(1, 30), start=(5, 1, 0), names=[None] * 3,
                statuses=["undecided"] * 3, corr_shapes=[(2, 3), (1, 1), (3, 2)], seed=2),
    "rbc_nocorr": dict(kind=RBC_VELOCITY, n=2, t=4, shape=(2, 2), dropped=[], blank=[],
                       cropped=[], period=(50, 1000), start=(0, 1, 0), names=["x", "y"],
                       statuses=["rejected"] * 2, corr_shapes=None, seed=3),
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("vessels")
    for name, spec in SAMPLE_SPECS.items():
        isx_write(folder / f"{name}.isxd", spec)
    return {name: folder / f"{name}.isxd" for name in SAMPLE_SPECS}


# ---------------------------------------------------------------------- isx -> isxio
@SETTINGS
@given(spec=vessel_specs())
def test_isx_writes_isxio_reads(tmp_path_factory, spec):
    path = tmp_path_factory.mktemp("vs") / "isx.isxd"
    isx_write(path, spec)
    with VesselSetFile(path) as vessels:
        assert_same_vessels(path, vessels)
        assert vessels.timing == our_timing(spec).normalized()
        assert vessels.status_names == spec["statuses"]
        d = vessel_data(spec)
        n, mask = spec["n"], our_timing(spec).valid_mask()
        np.testing.assert_array_equal(vessels.lines, d["lines"])
        expected = d["traces"].copy()
        expected[:, ~mask] = np.nan
        np.testing.assert_array_equal(vessels.traces, expected)
        second = vessels.center_traces if spec["kind"] == DIAMETER else vessels.direction_traces
        if n:
            np.testing.assert_array_equal(vessels.projection, d["images"][0])
            expected = d["second"].copy()
            expected[:, ~mask] = np.nan
            np.testing.assert_array_equal(second, expected)
        if d["corr"] is not None and n:
            assert vessels.correlation_shapes == [tuple(s) for s in spec["corr_shapes"]]
            for i in range(n):
                np.testing.assert_array_equal(vessels.correlations(i), d["corr"][i])


# ---------------------------------------------------------------------- isxio -> isx
@SETTINGS
@given(spec=vessel_specs())
def test_isxio_writes_bytes_identical_to_isx(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("vs")
    isx_write(folder / "isx.isxd", spec)
    d = vessel_data(spec)
    spacing = SpacingInfo(*spec["shape"])
    with VesselSetWriter(folder / "one.isxd", our_timing(spec), spacing, spec["kind"]) as w:
        for i in range(spec["n"]):
            kw = dict(name=spec["names"][i], status=spec["statuses"][i])
            if spec["kind"] == DIAMETER:
                w.set_vessel_diameter_data(i, d["images"][i], d["lines"][i], d["traces"][i],
                                           d["second"][i], **kw)
            else:
                w.set_rbc_velocity_data(i, d["images"][i], d["lines"][i], d["traces"][i],
                                        d["second"][i],
                                        None if d["corr"] is None else d["corr"][i], **kw)
    expected = (folder / "isx.isxd").read_bytes()
    assert (folder / "one.isxd").read_bytes() == expected
    if spec["n"]:
        write_vessel_set(folder / "bulk.isxd", spec["kind"], d["images"][0], d["lines"],
                         d["traces"], d["second"], correlations=d["corr"],
                         timing=our_timing(spec), spacing=spacing, names=spec["names"],
                         statuses=spec["statuses"])
        assert (folder / "bulk.isxd").read_bytes() == expected
    assert_same_vessels(folder / "one.isxd")


@SETTINGS
@given(spec=vessel_specs(max_vessels=6), data=st.data())
def test_status_edit_matches_isx(tmp_path_factory, spec, data):
    if spec["n"] == 0:
        return  # isx corrupts an empty set opened read-write (see test_cellset)
    folder = tmp_path_factory.mktemp("vs")
    isx_write(folder / "a.isxd", spec)
    shutil.copy(folder / "a.isxd", folder / "b.isxd")
    edits = data.draw(st.dictionaries(st.integers(0, spec["n"] - 1),
                                      st.sampled_from(STATUS_NAMES)))
    isx_edit(folder / "a.isxd", edits)
    set_vessel_statuses(folder / "b.isxd", edits)
    assert (folder / "b.isxd").read_bytes() == (folder / "a.isxd").read_bytes()


def test_edit_keeps_vessel_metadata(tmp_path, samples):
    data, header = split(samples["rbc"])
    header["extraProperties"]["idps"]["vesselset"].update(units="microns per second",
                                                          timeWindow=0.5)
    header["extraProperties"]["foo"] = [1.5, None]
    header["VesselCenterSaved"] = False  # presence only; kept on rewrite
    header["efocusValues"] = [12, 13]
    a = build(tmp_path / "a.isxd", data, header)
    b = build(tmp_path / "b.isxd", data, header)
    isx_edit(a, {2: "accepted"})
    set_vessel_statuses(b, [1, 1, 0])
    assert b.read_bytes() == a.read_bytes()
    vessels = VesselSetFile(b)
    assert vessels.extra_properties["idps"]["vesselset"]["units"] == "microns per second"
    assert vessels.efocus_values == [12, 13] and vessels.statuses == [1, 1, 0]


# ---------------------------------------------------------------------- writer API
def test_writer_rules(tmp_path):
    timing, spacing = TimingInfo(2), SpacingInfo(1, 2)
    img, tr = np.zeros((1, 2), np.float32), np.zeros(2, np.float32)
    box, corr = np.zeros((4, 2), np.int64), np.zeros((2, 3, 1, 1), np.float32)
    with VesselSetWriter(tmp_path / "r.isxd", timing, spacing, "red blood cell velocity") as w:
        with pytest.raises(IsxWriteError):
            w.set_vessel_diameter_data(0, img, box[:2], tr, tr)
        with pytest.raises(IsxWriteError):
            w.set_rbc_velocity_data(1, img, box, tr, tr, corr)
        with pytest.raises(IsxWriteError):
            w.set_rbc_velocity_data(0, img, box[:2], tr, tr, corr)
        with pytest.raises(IsxWriteError):
            w.set_rbc_velocity_data(0, img, box, tr, tr, corr[:, :2])
        w.set_rbc_velocity_data(0, img, box, tr, tr, corr, status=2, color=(1, 2, 3))
        with pytest.raises(IsxWriteError, match="every vessel"):
            w.set_rbc_velocity_data(1, img, box, tr, tr, None)  # isx crashes on this mix
        w.set_rbc_velocity_data(1, img + 1, box, tr, tr, np.ones((2, 3, 2, 1)))
        w.set_vessel_status(1, "rejected")
        w.set_vessel_status(1, 1)
        assert w.num_vessels == 2
        with pytest.raises(IsxWriteError):
            w.set_vessel_status(2, 1)
    vessels = assert_same_vessels(tmp_path / "r.isxd")
    assert vessels.correlation_shapes == [(1, 1), (2, 1)]
    assert vessels.statuses == [2, 1] and vessels.colors[0] == 0xFF010203
    np.testing.assert_array_equal(vessels.projection, img)  # vessel 0's image
    with pytest.raises(IsxWriteError):
        VesselSetWriter(tmp_path / "x.isxd", timing, spacing, "capillary")


def test_old_layouts_without_second_trace(tmp_path):
    """Files from older software have no center/direction block; isx reads them."""
    timing, spacing = TimingInfo(3), SpacingInfo(2, 2)
    for kind, points in ((DIAMETER, 2), (RBC_VELOCITY, 4)):
        path = tmp_path / f"{points}.isxd"
        with VesselSetWriter(path, timing, spacing, kind) as w:
            for i in range(2):
                line = np.arange(2 * points).reshape(points, 2) + i
                if kind == DIAMETER:
                    w.set_vessel_diameter_data(i, np.ones((2, 2)), line, [1, 2, 3])
                else:
                    w.set_rbc_velocity_data(i, np.ones((2, 2)), line, [1, 2, 3])
        header = read_trailer(path).header
        assert "VesselCenterSaved" not in header and "VesselDirectionSaved" not in header
        vessels = assert_same_vessels(path)
        assert vessels.center_traces is None and vessels.direction_traces is None
        assert vessels.trailer.data_size == 16 + 2 * (16 * points + 12) + 16 * points


def test_zero_vessels(tmp_path):
    for kind in (DIAMETER, RBC_VELOCITY):
        path = tmp_path / f"{kind}.isxd"
        VesselSetWriter(path, TimingInfo(3), SpacingInfo(2, 2), kind).flush()
        vessels = assert_same_vessels(path)
        assert vessels.trailer.data_size == 0 and vessels.projection is None
        assert vessels.traces.shape == (0, 3) and vessels.lines.shape[0] == 0


def test_views_and_pickle(samples):
    import pickle

    with VesselSetFile(samples["diameter"]) as vessels:
        assert not vessels.traces.flags.owndata and not vessels.traces.flags.writeable
        again = pickle.loads(pickle.dumps(vessels))
        np.testing.assert_array_equal(again.center_traces, vessels.center_traces)
    with VesselSetFile(samples["rbc"]) as vessels:  # unequal records: gathered copies
        assert vessels.traces.shape == (3, 4)
        assert vessels.correlations(2).shape == (4, 3, 3, 2)
        with pytest.raises(IndexError):
            vessels.correlations(3)
    with VesselSetFile(samples["rbc_nocorr"]) as vessels, \
            pytest.raises(IsxFormatError, match="no correlation"):
        vessels.correlations(0)


# ---------------------------------------------------------------------- versions
@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 6])
def test_file_versions(tmp_path, samples, version):
    data, header = split(samples["diameter"])
    header["fileVersion"] = version
    path = build(tmp_path / "v.isxd", data, header)
    if version < 5:  # isxcore reads extraProperties (hence the kind) only from version 5
        assert "type must be string" in isx_error(path)
        with pytest.raises(IsxFormatError, match="kind is missing") as info:
            VesselSetFile(path)
        assert info.value.key == "extraProperties.idps.vesselset.type"
    else:
        assert_same_vessels(path)


def _drop_direction(tmp_path: Path, sample: Path) -> tuple[Path, VesselSetFile]:
    """Rebuild ``sample`` in the IDPS 1.7 rbc layout: no direction block or flag."""
    src = VesselSetFile(sample)
    data, header = split(sample)
    del header["VesselDirectionSaved"]
    t, pieces = src.timing.num_samples, [data[:4 * src.spacing.num_pixels]]
    for i, start in enumerate(src.record_offsets):
        h, w = src.correlation_shapes[i] if src.has_correlations else (0, 0)
        corr = start + 64 + 8 * t
        pieces.append(data[start:start + 64 + 4 * t] + data[corr:corr + 4 * 3 * h * w * t])
    return build(tmp_path / "old.isxd", b"".join(pieces) + bytes(64), header), src


def test_rbc_without_direction_block(tmp_path, samples):
    """IDPS 1.7 rbc files: no VesselDirectionSaved and no direction traces."""
    path, src = _drop_direction(tmp_path, samples["rbc_nocorr"])
    vessels = assert_same_vessels(path)
    assert vessels.direction_traces is None
    np.testing.assert_array_equal(vessels.traces, src.traces)


def test_rbc_heatmaps_without_direction_block(tmp_path, samples):
    """Heatmaps without a direction block: isx sizes the records without the direction
    trace but still skips one when it reads heatmaps; isxio reads them where they are."""
    path, src = _drop_direction(tmp_path, samples["rbc"])
    vessels = VesselSetFile(path)
    np.testing.assert_array_equal(vessels.traces, src.traces)
    for i in range(3):
        np.testing.assert_array_equal(vessels.correlations(i), src.correlations(i))
    ref = isx.VesselSet.read(str(path))
    flat = np.asarray(vessels.correlations(0)).reshape(-1)
    t = vessels.timing.num_samples
    h, w = vessels.correlation_shapes[0]
    isx_first = ref.get_vessel_correlations_data(0, 0).reshape(-1)
    np.testing.assert_array_equal(isx_first, flat[t:t + 3 * h * w])
    del ref


# ---------------------------------------------------------------------- damaged files
@SETTINGS
@given(cut=st.floats(0, 1, exclude_max=True), which=st.sampled_from(list(SAMPLE_SPECS)))
def test_truncated_files_raise(tmp_path_factory, samples, cut, which):
    raw = samples[which].read_bytes()
    path = tmp_path_factory.mktemp("cut") / "cut.isxd"
    path.write_bytes(raw[:int(cut * len(raw))])
    with pytest.raises(IsxFormatError) as info:
        VesselSetFile(path)
    assert info.value.path == str(path)
    assert isx_error(path) is not None


@pytest.mark.parametrize("which", list(SAMPLE_SPECS))
@pytest.mark.parametrize("delta", [-64, -32, -4, -1, 1, 4, 32, 64])
def test_data_size_must_be_exact(tmp_path, samples, which, delta):
    data, header = split(samples[which])
    data = data + bytes(delta) if delta > 0 else data[:delta]
    path = build(tmp_path / "a.isxd", data, header)
    assert "Number of vessels" in isx_error(path)
    with pytest.raises(IsxFormatError) as info:
        VesselSetFile(path)
    assert info.value.path == str(path) and info.value.offset == len(data)


REQUIRED = ["type", "fileVersion", "dataType", "VesselNames", "VesselStatuses",
            "VesselActivity", "VesselColors", "extraProperties", "timingInfo", "spacingInfo"]


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_key(tmp_path, samples, key):
    data, header = split(samples["rbc"])
    del header[key]
    path = build(tmp_path / "a.isxd", data, header)
    assert isx_error(path) is not None
    with pytest.raises(IsxFormatError) as info:
        VesselSetFile(path)
    assert info.value.path == str(path) and key in (info.value.key or "")


BAD = [("type", 1), ("dataType", 0), ("VesselNames", ["a", "b"]), ("VesselNames", 3),
       ("VesselStatuses", ["x"] * 3), ("VesselActivity", [0] * 3), ("VesselColors", "w"),
       ("VesselCorrelationSizes", [[1, 1]] * 3), ("VesselCorrelationSizes", [[2, 3]] * 2),
       ("extraProperties", {"idps": {"vesselset": {"type": 5}}}),
       ("extraProperties", {"idps": {"vesselset": {"type": "vessel diameter"}}}),
       ("extraProperties", None), ("spacingInfo", {"numPixels": {"x": 2, "y": 2}})]


@pytest.mark.parametrize(("key", "value"), BAD)
def test_bad_values_raise_like_isx(tmp_path, samples, key, value):
    data, header = split(samples["rbc"])
    header[key] = value
    path = build(tmp_path / "a.isxd", data, header)
    assert isx_error(path) is not None
    with pytest.raises(IsxFormatError) as info:
        VesselSetFile(path)
    assert info.value.path == str(path)


STRICTER = [("VesselStatuses", [1, 1]), ("VesselActivity", [True]), ("VesselStatuses", [4] * 3),
            ("VesselCorrelationSizes", [[3, 2], [1, 1], [2, 3], [0, 0]]),
            ("VesselCorrelationSizes", [[3, 2], [1, 1], [2]]),
            ("extraProperties", {"idps": {"vesselset": {"type": "rbc velocity"}}})]


@pytest.mark.parametrize(("key", "value"), STRICTER)
def test_stricter_than_isx(tmp_path, samples, key, value):
    """Trailers isx reads without checking (or misreads) are errors in isxio."""
    data, header = split(samples["rbc"])
    header[key] = value
    path = build(tmp_path / "a.isxd", data, header)
    with pytest.raises(IsxFormatError) as info:
        VesselSetFile(path)
    assert info.value.path == str(path) and info.value.key.startswith(key)
