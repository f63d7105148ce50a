"""``InscopixVesselSetExtractor``: an Inscopix vessel set as a roiextractors SegmentationExtractor.

A vessel set (``.isxd`` type 8, spec ``isxd.md`` §8) holds, per vessel, a name, a
status, a line (diameter sets: the 2 end points of the line across which the
diameter is measured; rbc velocity sets: the 4 corners of the box in which red blood
cells are tracked), a trace (diameter or velocity) and optionally a second trace
(center / direction); plus one projection image.  They map onto roiextractors as:

* roi ids = vessel names (a repeated name gets ``#<index>`` appended);
* ROI masks = the vessel geometry rasterised on the projection's pixel grid as image
  masks (weight 1, built lazily per vessel, like the cell-set extractor's image
  masks): a diameter line 1 pixel wide (8-connected, one pixel per
  step along its longer axis, as Bresenham draws it); an rbc box filled (every pixel
  whose centre lies inside or on the quadrilateral).  Pixels outside the frame are
  dropped.  The exact points stay available from :meth:`get_vessel_lines`;
* traces (samples, vessels) as the ``"raw"`` response; center traces as
  ``"center"``, direction traces as ``"direction"`` when the file has them;
* the projection image as the summary image ``"projection"``;
* ``vessel_status`` ('accepted' / 'undecided' / 'rejected') as a property;
* native timestamps = seconds from the start, ``i × period`` (vessel samples are
  sliding windows of the input movie; each timestamp is its window's start).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from typing import Any

import numpy as np
from roiextractors.segmentationextractor import SegmentationExtractor, _ROIMasks, _RoiResponse

from ..errors import IsxFormatWarning
from ..formats.common import Time
from ..formats.vesselset import DIAMETER, VesselSetFile
from ._metadata import InscopixMetadataMixin
from ._subset import PropertySubsetMixin

__all__ = ["InscopixVesselSetExtractor", "rasterize_box", "rasterize_line"]

#: response name of the second trace, per kind of vessel set
_SECOND = {DIAMETER: ("center", "center_traces"), "rbc velocity": ("direction",
                                                                    "direction_traces")}


# ---------------------------------------------------------------------- geometry
def _steps(a0: int, da: int, size: int) -> np.ndarray:
    """Steps ``k`` (0..|da|) at which ``a0 + k·sign(da)`` lies in ``[0, size)``."""
    s = 1 if da >= 0 else -1
    lo, hi = (-a0, size - 1 - a0) if s > 0 else (a0 - (size - 1), a0)
    lo, hi = max(lo, 0), min(hi, abs(da))
    return np.arange(lo, hi + 1, dtype=np.int64) if lo <= hi else np.zeros(0, np.int64)


def rasterize_line(p0: Any, p1: Any, shape: tuple[int, int]) -> np.ndarray:
    """Pixels ``(row, col)`` of the segment ``p0``-``p1`` (``(x, y)`` points), 1 pixel wide.

    One pixel per step along the longer axis, the other coordinate rounded to the
    nearest pixel (ties away from ``p0``); pixels outside ``shape`` are dropped.
    Exact for any int64 coordinates (only the in-frame part is enumerated).
    """
    (x0, y0), (x1, y1) = ((int(v) for v in p) for p in (p0, p1))
    rows, cols = shape
    dx, dy = x1 - x0, y1 - y0
    swap = abs(dy) > abs(dx)  # major axis: y
    a0, da, b0, db, size = (y0, dy, x0, dx, rows) if swap else (x0, dx, y0, dy, cols)
    k = _steps(a0, da, size)
    n = abs(da)
    a = a0 + (k if da >= 0 else -k)
    if n == 0 or not len(k):
        b = np.full(len(k), b0, dtype=np.int64)
    else:
        # b0 ± round(k·|db|/n) (ties away from p0), exactly: floor((2·k·|db| + n) / (2n))
        s = 1 if db >= 0 else -1
        kk = k if 2 * n * abs(db) + n + abs(b0) < 2**62 else k.astype(object)  # huge: ints
        b = (b0 + s * ((2 * kk * abs(db) + n) // (2 * n))).astype(np.int64)
    r, c = (a, b) if swap else (b, a)
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    return np.column_stack([r[inside], c[inside]]).astype(np.int64).reshape(-1, 2)


def _hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Convex hull, counter-clockwise in (x, y) (monotone chain, exact integers)."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def half(seq: list[tuple[int, int]]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return lower[:-1] + upper[:-1]


def rasterize_box(points: Any, shape: tuple[int, int]) -> np.ndarray:
    """Pixels ``(row, col)`` inside or on the convex hull of ``points`` (``(x, y)``).

    The corners may come in any order.  A degenerate box (all points on one line)
    is drawn as the segment between its two farthest points.
    """
    raw = np.asarray(points, dtype=np.int64).reshape(-1, 2)
    rows, cols = shape
    ring = _hull([(int(x), int(y)) for x, y in raw])
    if len(ring) < 3:  # all points on one line: draw the segment
        return rasterize_line(ring[0], ring[-1], shape)
    ring = np.asarray(ring, dtype=np.float64)
    pts = raw.astype(np.float64)
    edges = np.roll(ring, -1, axis=0) - ring
    lo = np.maximum(np.floor(pts.min(axis=0)), 0)
    hi = np.minimum(np.ceil(pts.max(axis=0)), (cols - 1, rows - 1))
    if np.any(lo > hi):
        return np.zeros((0, 2), np.int64)
    yy, xx = np.mgrid[int(lo[1]):int(hi[1]) + 1, int(lo[0]):int(hi[0]) + 1]
    inside = np.ones(yy.shape, dtype=bool)
    for (px, py), (ex, ey) in zip(ring, edges, strict=True):
        cross = ex * (yy - py) - ey * (xx - px)
        inside &= cross >= 0
    return np.column_stack([yy[inside], xx[inside]]).astype(np.int64)


class _MaskStack:
    """Lazy ``(rows, cols, vessels)`` float32 image masks from per-vessel pixel lists.

    Indexing builds only the vessels asked for, so a mask stack costs memory only
    when read (roiextractors indexes it as ``data[:, :, i]``).
    """

    dtype = np.dtype(np.float32)
    ndim = 3

    def __init__(self, pixels: list[np.ndarray], shape: tuple[int, int]) -> None:
        self._pixels = pixels
        self.shape = (*shape, len(pixels))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        picked = np.arange(self.shape[2])[key[2]]
        out = np.zeros((*self.shape[:2], np.size(picked)), self.dtype)
        for j, v in enumerate(np.atleast_1d(picked)):
            px = self._pixels[int(v)]
            out[px[:, 0], px[:, 1], j] = 1
        if np.ndim(picked) == 0:
            out = out[:, :, 0]
        return out[key[:2]]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:, :, :]
        return out if dtype is None else out.astype(dtype)


def _unique_ids(names: list[str], path: str) -> list[str]:
    """Vessel names as roi ids; a repeated name gets its index appended ('name#index'),
    the rule of :class:`InscopixSegmentationExtractor` (with a warning)."""
    counts = Counter(names)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if not repeated:
        return list(names)
    warnings.warn(f"{path}: vessel names {repeated} repeat; their roi ids get the vessel "
                  "index appended ('name#index')", IsxFormatWarning, stacklevel=3)
    return [f"{n}#{i}" if counts[n] > 1 else n for i, n in enumerate(names)]


# ---------------------------------------------------------------------- extractor
class InscopixVesselSetExtractor(PropertySubsetMixin, InscopixMetadataMixin, SegmentationExtractor):
    """An Inscopix vessel set (diameter or rbc velocity) as a SegmentationExtractor.

    See the module docstring for how vessels map onto ROIs.  Traces are lazy views of
    the file's memory map.

    Parameters
    ----------
    file_path
        The vessel set ``.isxd`` file.
    """

    extractor_name = "InscopixVesselSetExtractor"

    def __init__(self, file_path: str | os.PathLike[str]) -> None:
        SegmentationExtractor.__init__(self)
        self.file_path = os.fspath(file_path)
        self._file = vs = VesselSetFile(self.file_path)
        self._roi_ids = ids = _unique_ids(list(vs.names), self.file_path)
        self._sampling_frequency = float(vs.timing.sampling_rate)
        self._roi_responses.append(_RoiResponse("raw", vs.traces.T, list(ids)))
        name, attr = _SECOND[vs.kind]
        second = getattr(vs, attr)
        if second is not None:
            self._roi_responses.append(_RoiResponse(name, second.T, list(ids)))
        self._roi_masks = _ROIMasks(_MaskStack(self._rasterize(), self.get_frame_shape()),
                                    "nwb-image_mask", self.get_frame_shape(),
                                    {rid: i for i, rid in enumerate(ids)})
        if vs.projection is not None:
            self._summary_images["projection"] = vs.projection
        if ids:
            self.set_property("vessel_status", np.asarray(vs.status_names), ids,
                              description="Vessel status from Inscopix (accepted, undecided "
                                          "or rejected)")

    def _rasterize(self) -> list[np.ndarray]:
        shape = self.get_frame_shape()
        lines = np.asarray(self._file.lines)
        if self._file.kind == DIAMETER:
            return [rasterize_line(line[0], line[1], shape) for line in lines]
        return [rasterize_box(line, shape) for line in lines]

    # ------------------------------------------------------------------ contract
    def get_frame_shape(self) -> tuple[int, int]:
        """(rows, cols) of the projection image / pixel grid."""
        rows, cols = self._file.spacing.shape
        return int(rows), int(cols)

    def get_num_samples(self) -> int:
        return int(self._file.timing.num_samples)

    def get_native_timestamps(self, start_sample: int | None = None,
                              end_sample: int | None = None) -> np.ndarray:
        """Seconds from the start of the vessel set (``i × period``)."""
        return self._file.timing.offsets()[start_sample:end_sample]

    # ------------------------------------------------------------------ extras
    @property
    def vessel_set_kind(self) -> str:
        """'vessel diameter' or 'rbc velocity'."""
        return self._file.kind

    def get_vessel_lines(self) -> np.ndarray:
        """Line points ``(vessels, points, 2)`` int64 ``(x, y)``: 2 end points or 4 corners."""
        return np.array(self._file.lines)

    def get_trace_units(self) -> str | None:
        """``extraProperties.idps.vesselset.units`` (e.g. 'microns per second'), if stored."""
        vs = ((self.extra_properties or {}).get("idps") or {}).get("vesselset") or {}
        units = vs.get("units") if isinstance(vs, dict) else None
        return units if isinstance(units, str) else None

    def _extra_properties(self) -> dict[str, Any] | None:
        return self._file.extra_properties

    def _start(self) -> Time:
        return self._file.timing.start

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.file_path!r} {self.vessel_set_kind}, "
                f"{self.get_num_rois()} vessels, {self.get_num_samples()} samples>")
