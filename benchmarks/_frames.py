"""Synthetic calcium-imaging frames shared by the benchmarks (they compress ~2x like real data)."""

from __future__ import annotations

import numpy as np


def frame_pool(n: int, rows: int, cols: int, seed: int = 1, *, max_value: int = 65535,
               cells: int = 300, radius: int = 15, sigma: float | None = None) -> np.ndarray:
    """``n`` uint16 frames: vignetted background, gaussian cells with random activity, noise.

    ``radius``: half-size of a cell's patch (made to fit small frames); ``sigma``: the
    cells' width (default 4.0); values are clipped to ``max_value`` (4095: a 12-bit sensor).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:rows, :cols].astype(np.float32)
    r2 = ((yy - rows / 2) ** 2 + (xx - cols / 2) ** 2) / (0.5 * max(rows, cols)) ** 2
    base = 400 + 1200 * np.exp(-r2)
    k = max(1, min(radius, rows // 4, cols // 4))
    width = 4.0 if sigma is None else sigma
    g = np.exp(-((np.arange(2 * k + 1) - k) ** 2) / (2 * width**2)).astype(np.float32)
    patch = np.outer(g, g)
    cy = rng.integers(k, rows - k - 1, cells)
    cx = rng.integers(k, cols - k - 1, cells)
    activity = np.maximum(0, rng.normal(0, 1, (n, cells))) * 150
    out = np.empty((n, rows, cols), np.uint16)
    for t in range(n):  # a small pool, built once
        frame = base + rng.normal(0, 4.0, (rows, cols)).astype(np.float32)
        for c in range(cells):
            frame[cy[c] - k:cy[c] + k + 1, cx[c] - k:cx[c] + k + 1] += activity[t, c] * patch
        out[t] = np.clip(frame, 0, max_value)
    return out
