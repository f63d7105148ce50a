"""``InscopixVesselSetExtractor`` against isx (``isx.VesselSet``) on vessel sets written by
isxio's writer, and its masks against Pillow's rasteriser (an independent oracle)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from isxio.errors import IsxFormatWarning
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.vesselset import DIAMETER, RBC_VELOCITY, VesselSetWriter, write_vessel_set

pytest.importorskip("roiextractors")
isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx

from isxio.roiextractors import InscopixVesselSetExtractor  # noqa: E402
from isxio.roiextractors.vessels import rasterize_box, rasterize_line  # noqa: E402

from .test_vesselset import SETTINGS, our_timing, vessel_data, vessel_specs  # noqa: E402


def fresh(folder: Path) -> Path:
    return folder / f"v{uuid.uuid4().hex[:10]}.isxd"


def pil_mask(points: np.ndarray, shape: tuple[int, int], box: bool) -> np.ndarray:
    """Pillow's 1-pixel line / filled polygon through ``(x, y)`` points, as a bool mask."""
    im = Image.new("L", (shape[1], shape[0]), 0)
    xy = [(int(x), int(y)) for x, y in points]
    if box:
        ImageDraw.Draw(im).polygon(xy, fill=1)
    else:
        ImageDraw.Draw(im).line(xy, fill=1, width=1)
    return np.array(im).astype(bool)


def as_mask(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, bool)
    out[pixels[:, 0], pixels[:, 1]] = True
    return out


def write_spec(path: Path, spec: dict, lines: np.ndarray) -> dict:
    """Write ``spec`` (tests/test_vesselset.py) with isxio's writer and the given lines."""
    d = vessel_data(spec)
    with VesselSetWriter(path, our_timing(spec), SpacingInfo(*spec["shape"]),
                         spec["kind"]) as w:
        for i in range(spec["n"]):
            kw = dict(name=spec["names"][i], status=spec["statuses"][i])
            if spec["kind"] == DIAMETER:
                w.set_vessel_diameter_data(i, d["images"][i], lines[i], d["traces"][i],
                                           d["second"][i], **kw)
            else:
                w.set_rbc_velocity_data(i, d["images"][i], lines[i], d["traces"][i],
                                        d["second"][i],
                                        None if d["corr"] is None else d["corr"][i], **kw)
    return d


# ---------------------------------------------------------------------- against isx
@SETTINGS
@given(spec=vessel_specs(), data=st.data())
def test_extractor_matches_isx(tmp_path_factory, spec, data):
    rows, cols = spec["shape"]
    points = 2 if spec["kind"] == DIAMETER else 4
    xs, ys = st.integers(-3, cols + 2), st.integers(-3, rows + 2)
    if points == 2:  # any segment
        lines = [data.draw(st.lists(st.tuples(xs, ys), min_size=2, max_size=2))
                 for _ in range(spec["n"])]
    else:  # an axis-aligned rectangle, corners in any order
        lines = [data.draw(st.permutations([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
                 for x0, x1, y0, y1 in (data.draw(st.tuples(xs, xs, ys, ys))
                                        for _ in range(spec["n"]))]
    lines = np.array(lines, np.int64).reshape(spec["n"], points, 2)
    path = tmp_path_factory.mktemp("vx") / "v.isxd"
    write_spec(path, spec, lines)
    with pytest.warns(IsxFormatWarning) if _repeats(path) else _nothing():
        ours = InscopixVesselSetExtractor(path)
    ref = isx.VesselSet.read(str(path))
    try:
        check_against_isx(ours, ref, points)
    finally:
        del ref


def check_against_isx(ours: InscopixVesselSetExtractor, ref, points: int) -> None:
    rows, cols = ours.get_frame_shape()
    n, t = ref.num_vessels, ref.timing.num_samples
    names = [ref.get_vessel_name(i) for i in range(n)]
    assert ours.get_roi_ids() == [f"{m}#{i}" if names.count(m) > 1 else m
                                  for i, m in enumerate(names)]
    ids = ours.get_roi_ids()
    assert ours.get_num_rois() == n and ours.get_num_samples() == t
    assert ours.get_frame_shape() == tuple(ref.spacing.num_pixels)
    assert ours.vessel_set_kind == {0: DIAMETER, 1: RBC_VELOCITY}[ref.get_vessel_set_type().value]
    period = ref.timing.period.secs_float
    assert ours.get_sampling_frequency() == pytest.approx(1 / period, rel=1e-12)
    np.testing.assert_allclose(ours.get_native_timestamps(), np.arange(t) * period,
                               rtol=1e-12, atol=1e-12)
    raw = ours.get_traces()
    assert raw.shape == (t, n)
    second = ours.get_traces_dict().get("center" if ours.vessel_set_kind == DIAMETER
                                        else "direction")
    for i in range(n):
        np.testing.assert_array_equal(raw[:, i], ref.get_vessel_trace_data(i))
        np.testing.assert_array_equal(ours.get_traces(roi_ids=[ids[i]])[:, 0],
                                      ref.get_vessel_trace_data(i))
        isx_second = (ref.get_vessel_center_trace_data(i) if ours.vessel_set_kind == DIAMETER
                      else ref.get_vessel_direction_trace_data(i))
        np.testing.assert_array_equal(np.asarray(second)[:, i], isx_second)
        line = ref.get_vessel_line_data(i)
        np.testing.assert_array_equal(ours.get_vessel_lines()[i], line)
        mask = ours.get_roi_image_masks([ids[i]])[:, :, 0]
        assert mask.shape == (rows, cols) and set(np.unique(mask)) <= {0, 1}
        if points == 2:  # Pillow's 1-pixel line
            expected = pil_mask(line, (rows, cols), box=False)
        else:  # every pixel of the rectangle, borders included
            (x0, y0), (x1, y1) = line.min(axis=0), line.max(axis=0)
            r, c = np.mgrid[:rows, :cols]
            expected = (c >= x0) & (c <= x1) & (r >= y0) & (r <= y1)
        np.testing.assert_array_equal(mask.astype(bool), expected)
    statuses = [ref.get_vessel_status(i) for i in range(n)]
    if n:
        assert ours.get_property("vessel_status", ids).tolist() == statuses
        np.testing.assert_array_equal(ours.get_image("projection"), ref.get_vessel_image_data(0))
    else:
        assert ours.get_images_dict() == {} and ours.get_property_keys() == []
        assert ours.get_roi_image_masks().shape == (rows, cols, 0)


def _repeats(path: Path) -> bool:
    ref = isx.VesselSet.read(str(path))
    names = [ref.get_vessel_name(i) for i in range(ref.num_vessels)]
    del ref
    return len(set(names)) < len(names)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ---------------------------------------------------------------------- masks
SHAPE = (9, 12)


@pytest.mark.parametrize("p0, p1, pixels", [
    ((2, 3), (6, 3), [(3, c) for c in range(2, 7)]),  # horizontal
    ((4, 7), (4, 1), [(r, 4) for r in range(1, 8)]),  # vertical, drawn upwards
    ((0, 0), (3, 3), [(i, i) for i in range(4)]),  # diagonal
    ((5, 5), (5, 5), [(5, 5)]),  # a point
    ((-2**40, 2), (2**40, 2), [(2, c) for c in range(12)]),  # huge: only the frame part
    ((20, 20), (30, 40), []),  # outside
])
def test_line_masks(p0, p1, pixels):
    got = rasterize_line(p0, p1, SHAPE)
    assert sorted(map(tuple, got.tolist())) == sorted(pixels)
    assert np.array_equal(as_mask(got, SHAPE), pil_mask(np.array([p0, p1]), SHAPE, box=False)) \
        or abs(p0[0]) > 1000


@pytest.mark.parametrize("corners, expected", [
    ([(1, 2), (5, 2), (5, 4), (1, 4)], {(r, c) for r in range(2, 5) for c in range(1, 6)}),
    ([(5, 2), (1, 4), (1, 2), (5, 4)], {(r, c) for r in range(2, 5) for c in range(1, 6)}),
    ([(5, 0), (9, 4), (5, 8), (1, 4)],  # diamond |x - 5| + |y - 4| <= 4
     {(r, c) for r in range(9) for c in range(12) if abs(c - 5) + abs(r - 4) <= 4}),
    ([(-5, -5), (100, -5), (100, 100), (-5, 100)], {(r, c) for r in range(9) for c in range(12)}),
    ([(0, 0), (2, 2), (4, 4), (4, 4)], {(i, i) for i in range(5)}),  # collinear: a line
    ([(50, 50), (60, 50), (60, 60), (50, 60)], set()),  # outside
    ([(-2**40, 1), (2**40, 1), (2**40, 2), (-2**40, 2)],
     {(r, c) for r in (1, 2) for c in range(12)}),
])
def test_box_masks(corners, expected):
    assert set(map(tuple, rasterize_box(corners, SHAPE).tolist())) == expected


def test_any_four_points_fill_their_convex_hull():
    """Corners in any order: the mask is the hull, i.e. the union of Pillow's fills of the
    polygon through every ordering of the points (a bow-tie or a notched quad for the
    wrong orders), minus the rim Pillow adds; every in-frame corner is in the mask."""
    rng = np.random.default_rng(3)
    orders = ([0, 1, 2, 3], [0, 1, 3, 2], [0, 2, 1, 3])
    for _ in range(300):
        pts = np.stack([rng.integers(-3, 15, 4), rng.integers(-3, 12, 4)], axis=1)
        ours = as_mask(rasterize_box(pts, SHAPE), SHAPE)
        union = np.any([pil_mask(pts[o], SHAPE, box=True) for o in orders], axis=0)
        assert not np.any(ours & ~union)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < 12) & (pts[:, 1] >= 0) & (pts[:, 1] < 9)
        assert ours[pts[inside, 1], pts[inside, 0]].all()


def test_rotated_boxes_inside_pillows_fill():
    rng = np.random.default_rng(7)
    for _ in range(200):
        c, a, (w, h) = rng.uniform(0, 12, 2), rng.uniform(0, np.pi), rng.uniform(0.5, 6, 2)
        u = np.array([np.cos(a), np.sin(a)])
        v = np.array([-u[1], u[0]])
        box = np.rint([c + w * u + h * v, c - w * u + h * v, c - w * u - h * v,
                       c + w * u - h * v]).astype(np.int64)
        ours = as_mask(rasterize_box(box, SHAPE), SHAPE)
        ref = pil_mask(box, SHAPE, box=True)
        assert not np.any(ours & ~ref)
        assert ours.sum() >= 0.5 * ref.sum() - 12  # Pillow adds at most a 1-pixel rim


# ---------------------------------------------------------------------- roiextractors API
def small_set(path: Path, kind: str = DIAMETER, names=None) -> np.ndarray:
    rng = np.random.default_rng(0)
    traces = rng.normal(size=(3, 6)).astype(np.float32)
    lines = (np.array([[[0, 0], [5, 5]], [[1, 2], [7, 2]], [[3, 0], [3, 4]]]) if kind == DIAMETER
             else np.array([[[0, 0], [3, 0], [3, 3], [0, 3]]] * 3))
    timing = TimingInfo(6, Ratio(1, 4), Time(Ratio(1_700_000_000_500, 1000), -18000))
    extra = {"idps": {"vesselset": {"units": "microns"}}}
    write_vessel_set(path, kind, np.ones((6, 8), np.float32), lines, traces, timing=timing,
                     names=names or ["a", "b", "c"], statuses=["accepted", "rejected", "undecided"],
                     extra_properties=extra)
    return traces


def test_select_rois_and_slice_samples(tmp_path):
    path = fresh(tmp_path)
    traces = small_set(path)
    ours = InscopixVesselSetExtractor(path)
    sub = ours.select_rois(["c", "a"])
    assert sub.get_roi_ids() == ["a", "c"] or sub.get_roi_ids() == ["c", "a"]
    for rid in ("a", "c"):
        col = {"a": 0, "c": 2}[rid]
        np.testing.assert_array_equal(sub.get_traces(roi_ids=[rid])[:, 0], traces[col])
        np.testing.assert_array_equal(sub.get_roi_image_masks([rid]),
                                      ours.get_roi_image_masks([rid]))
    assert sub.get_property("vessel_status", ["a", "c"]).tolist() == ["accepted", "undecided"]
    part = ours.slice_samples(2, 5)
    assert part.get_num_samples() == 3
    np.testing.assert_array_equal(part.get_traces(), traces[:, 2:5].T)
    np.testing.assert_allclose(part.get_native_timestamps(), [0.5, 0.75, 1.0])
    both = ours.select_rois(["b"]).slice_samples(1, 3)
    np.testing.assert_array_equal(both.get_traces(), traces[1:2, 1:3].T)
    assert both.get_frame_shape() == (6, 8)


def test_metadata_units_and_pixel_masks(tmp_path):
    path = fresh(tmp_path)
    small_set(path, RBC_VELOCITY)
    ours = InscopixVesselSetExtractor(path)
    assert ours.get_trace_units() == "microns"
    start = ours._get_metadata()["session_start_time"]
    assert start.utcoffset() == dt.timedelta(hours=-5)
    assert start == dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.timezone.utc)
    pixel = ours.get_roi_pixel_masks(["b"])[0]
    assert pixel.shape == (16, 3) and np.all(pixel[:, 2] == 1)  # 4 x 4 box, weight 1
    assert set(map(tuple, pixel[:, :2].astype(int).tolist())) == {
        (r, c) for r in range(4) for c in range(4)}
    assert "rbc velocity, 3 vessels, 6 samples" in repr(ours)
    assert "direction" not in ours.get_traces_dict()  # write_vessel_set: no second trace


def test_repeated_names_get_the_index(tmp_path):
    path = fresh(tmp_path)
    small_set(path, names=["a", "b", "a"])
    with pytest.warns(IsxFormatWarning, match="repeat"):
        ours = InscopixVesselSetExtractor(path)
    assert ours.get_roi_ids() == ["a#0", "b", "a#2"]
