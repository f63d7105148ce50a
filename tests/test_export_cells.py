"""Cell-set and vessel-set exports.  isx 2.1.0 lacks these exporters (AttributeError /
missing C symbols), so outputs are checked against the spec's layout and against the
data isx reads from the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

import isxio.export as ours
from isxio.errors import IsxFormatError

pytestmark = pytest.mark.isx
isx = pytest.importorskip("isx")
tifffile = pytest.importorskip("tifffile")


def parse_traces(path):
    lines = path.read_text().splitlines()
    names = lines[0].split(", ")[1:]
    statuses = lines[1].split(", ")
    rows = [line.split(", ") for line in lines[2:]]
    times = np.array([float(r[0]) for r in rows])
    values = np.array([[float(v) for v in r[1:]] for r in rows], np.float64)
    return lines, names, statuses, times, values


def test_isx_lacks_the_cell_set_exporter(tmp_path, realdata):
    with pytest.raises(AttributeError):
        isx.export_cell_set_to_csv_tiff([str(realdata / "cellset.isxd")],
                                        str(tmp_path / "a.csv"), str(tmp_path / "a.tif"))


@pytest.mark.parametrize("time_ref", ["start", "unix"])
def test_cell_set_export_matches_isx_data(tmp_path, realdata, time_ref):
    src = realdata / "cellset_accepted_undecided_and_rejected_cells.isxd"
    csv, tif, props = tmp_path / "t.csv", tmp_path / "fp.tif", tmp_path / "p.csv"
    ours.export_cell_set_to_csv_tiff([str(src)], str(csv), str(tif), time_ref=time_ref,
                                     output_props_file=str(props))
    cs = isx.CellSet.read(str(src))
    lines, names, statuses, times, values = parse_traces(csv)
    assert lines[0] == " , " + ", ".join(names)
    assert lines[1].startswith("Time(s)/Cell Status, ")
    assert names == [cs.get_cell_name(i) for i in range(cs.num_cells)]
    assert statuses[1:] == [cs.get_cell_status(i) for i in range(cs.num_cells)]
    t = cs.timing
    period = t.period.secs_float
    start = t.start._to_secs_since_epoch().secs_float if time_ref == "unix" else 0.0
    np.testing.assert_allclose(times, start + np.arange(t.num_samples) * period, rtol=1e-12)
    for i in range(cs.num_cells):
        trace = cs.get_cell_trace_data(i)
        np.testing.assert_allclose(values[:, i], trace, rtol=1e-6, equal_nan=True)
        np.testing.assert_array_equal(tifffile.imread(tmp_path / f"fp_{names[i]}.tif"),
                                      cs.get_cell_image_data(i))
    accepted = [cs.get_cell_image_data(i) for i in range(cs.num_cells)
                if cs.get_cell_status(i) == "accepted"]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "fp_accepted-cells-map.tif"),
                                  np.max(accepted, axis=0))
    rows = props.read_text().splitlines()
    assert rows[0] == "Name,Status,ColorR,ColorG,ColorB,ActiveSegment0"
    assert [r.split(",")[:2] for r in rows[1:]] == [[n, s] for n, s in zip(
        names, statuses[1:], strict=True)]


def test_cell_set_series_and_empty(tmp_path, realdata):
    src = str(realdata / "cellset.isxd")
    ours.export_cell_set_to_csv_tiff([src, src], str(tmp_path / "two.csv"), "")
    one_n = isx.CellSet.read(src).timing.num_samples
    assert len((tmp_path / "two.csv").read_text().splitlines()) == 2 + 2 * one_n
    ours.export_cell_set_to_csv_tiff([str(realdata / "empty_cellset.isxd")],
                                     str(tmp_path / "e.csv"), str(tmp_path / "e.tif"))
    assert (tmp_path / "e.csv").read_text().splitlines()[:2] == [" ", "Time(s)/Cell Status"]
    with pytest.raises(FileExistsError):
        ours.export_cell_set_to_csv_tiff([src], str(tmp_path / "e.csv"), "")
    with pytest.raises(IsxFormatError):
        ours.export_cell_set_to_csv_tiff([str(realdata / "movie_u8.isxd")],
                                         str(tmp_path / "m.csv"), "")


def test_vessel_set_export(tmp_path):
    n, t, shape = 2, 6, (5, 7)
    rng = np.random.default_rng(2)
    timing = isx.Timing(num_samples=t, period=isx.Duration.from_msecs(100))
    path = tmp_path / "v.isxd"
    vs = isx.VesselSet.write(str(path), timing, isx.Spacing(num_pixels=shape), "rbc velocity")
    images = rng.normal(0, 1, (n, *shape)).astype(np.float32)
    lines = rng.integers(0, 7, (n, 4, 2)).astype(np.int64)
    traces = rng.normal(0, 5, (n, t)).astype(np.float32)
    corr = [rng.normal(0, 1, (t, 3, 3, 4)).astype(np.float32) for _ in range(n)]
    for i in range(n):
        vs.set_rbc_velocity_data(i, images[i], lines[i], traces[i], traces[i], corr[i],
                                 f"V{i}")
    vs.flush()
    del vs
    out = {k: tmp_path / v for k, v in dict(trace="t.csv", line="l.csv", map="m.tif",
                                             heat="heat").items()}
    ours.export_vessel_set_to_csv_tiff([str(path)], str(out["trace"]), str(out["line"]),
                                       str(out["map"]), str(out["heat"]))
    ref = isx.VesselSet.read(str(path))
    lines_csv, names, statuses, times, values = parse_traces(out["trace"])
    assert lines_csv[1].startswith("Time(s)/Vessel Status")
    assert names == ["V0", "V1"] and statuses[1:] == ["undecided"] * n
    for i in range(n):
        np.testing.assert_allclose(values[:, i], ref.get_vessel_trace_data(i), rtol=1e-6)
        heat = tifffile.imread(out["heat"] / f"V{i}.tif").reshape(t, 3, 3, 4)
        for frame in range(t):
            np.testing.assert_array_equal(heat[frame],
                                          ref.get_vessel_correlations_data(i, frame))
    np.testing.assert_allclose(times, np.arange(t) * 0.1)
    rows = out["line"].read_text().splitlines()
    assert rows[0] == "Name,Status,X0,Y0,X1,Y1,X2,Y2,X3,Y3"
    assert rows[1].split(",")[2:] == [str(v) for v in lines[0].ravel()]
    np.testing.assert_array_equal(tifffile.imread(out["map"]), ref.get_vessel_image_data(0))
    with pytest.raises(ValueError, match="at least one output"):
        ours.export_vessel_set_to_csv_tiff([str(path)])
