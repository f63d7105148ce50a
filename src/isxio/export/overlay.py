"""Drawing of nVision tracking overlays (box, centre, zones) into uint8 frames.

Spec: ``other.md`` §5.11 (colour 255, thickness 2; box from rounded corners; centre a
filled circle of radius 3; zones as closed polylines of rounded vertices; ellipses
with half axes ``round(major/2)``, ``round(minor/2)`` rotated by ``angle`` degrees).
isx draws with OpenCV; these numpy primitives follow the same geometry but are not
guaranteed to set exactly the same pixels at the edges of lines.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["draw_circle", "draw_ellipse", "draw_polyline", "draw_tracking"]

COLOR = 255
THICKNESS = 2
CENTER_RADIUS = 3


def _paint(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, value: int, thickness: int) -> None:
    """Set a ``thickness``-wide square around each point (clipped to the image)."""
    lo = -(thickness // 2)
    h, w = img.shape
    for dy in range(lo, lo + thickness):
        for dx in range(lo, lo + thickness):
            x, y = xs + dx, ys + dy
            ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            img[y[ok], x[ok]] = value


def draw_polyline(img: np.ndarray, points: Sequence[tuple[float, float]], *, closed: bool = True,
                  value: int = COLOR, thickness: int = THICKNESS) -> None:
    """Draw straight segments between rounded ``(x, y)`` points, in place."""
    pts = np.rint(np.asarray(points, np.float64)).astype(np.int64).reshape(-1, 2)
    if len(pts) == 0:
        return
    if closed:
        pts = np.vstack([pts, pts[:1]])
    xs, ys = [pts[:1, 0]], [pts[:1, 1]]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        t = np.linspace(0.0, 1.0, n)
        xs.append(np.rint(x0 + t * (x1 - x0)).astype(np.int64))
        ys.append(np.rint(y0 + t * (y1 - y0)).astype(np.int64))
    _paint(img, np.concatenate(xs), np.concatenate(ys), value, thickness)


def draw_circle(img: np.ndarray, center: tuple[int, int], radius: int, *,
                value: int = COLOR) -> None:
    """Fill a circle, in place."""
    cx, cy = center
    h, w = img.shape
    y0, y1 = max(cy - radius, 0), min(cy + radius + 1, h)
    x0, x1 = max(cx - radius, 0), min(cx + radius + 1, w)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius * radius
    img[y0:y1, x0:x1][inside] = value


def draw_ellipse(img: np.ndarray, center: tuple[float, float], axes: tuple[int, int],
                 angle_deg: float, *, value: int = COLOR, thickness: int = THICKNESS) -> None:
    """Outline an ellipse with half axes ``axes`` rotated by ``angle_deg``, in place."""
    a, b = axes
    n = max(16, int(2 * math.pi * max(a, b, 1)))
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    x = center[0] + a * np.cos(t) * c - b * np.sin(t) * s
    y = center[1] + a * np.cos(t) * s + b * np.sin(t) * c
    draw_polyline(img, np.column_stack([x, y]), closed=True, value=value, thickness=thickness)


def _draw_zone(img: np.ndarray, zone: Any) -> None:
    coords = [(float(x), float(y)) for x, y in zone.coordinates]
    if zone.type == "ellipse" and coords:
        axes = (round(float(zone.major_axis) / 2), round(float(zone.minor_axis) / 2))
        draw_ellipse(img, coords[0], axes, float(zone.angle))
    elif coords:
        draw_polyline(img, coords, closed=True)


def draw_tracking(frames: np.ndarray, movie: Any, indices: np.ndarray, *, box: bool,
                  center: bool, zones: bool) -> np.ndarray:
    """Draw the tracking overlays of samples ``indices`` of ``movie`` into ``frames``.

    Invalid (black) frames are left untouched; zones are drawn on every valid frame,
    the box and its centre where the frame has a valid box.
    """
    tracking = getattr(movie, "tracking", None)
    if tracking is None:
        return frames
    zone_list = list(getattr(movie, "zones", None) or []) if zones else []
    valid = np.asarray(movie.timing.valid_mask(), bool)
    for frame, i in zip(frames, indices.tolist(), strict=True):
        if not valid[i]:
            continue
        for zone in zone_list:
            _draw_zone(frame, zone)
        if not tracking.valid[i]:
            continue
        left, top, right, bottom = (float(v) for v in tracking.box[i])
        if box:
            draw_polyline(frame, [(left, top), (right, top), (right, bottom), (left, bottom)])
        if center:
            cx, cy = (int(v) for v in tracking.center[i])
            draw_circle(frame, (cx, cy), CENTER_RADIUS)
    return frames
