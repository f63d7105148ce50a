"""``isxio preview``: a PNG overview of a file (needs matplotlib, extra ``isxio[preview]``).

Movies: mean and max projections and a few frames; cell sets: contours over the
footprints' projection and the traces; event sets: a raster; GPIO / IMU: the channels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["preview"]

#: frames shown for a movie, and frames averaged for its projections (evenly spaced)
N_FRAMES, N_PROJECTION = 3, 200
#: at most this many traces / channels drawn
MAX_LINES = 16


def _movie(fig: Any, reader: Any) -> None:
    n = reader.shape[0]
    pick = np.unique(np.linspace(0, n - 1, min(n, N_PROJECTION)).astype(int))
    valid = np.asarray(reader.valid_mask)[pick] if hasattr(reader, "valid_mask") else True
    frames = np.asarray(reader.data[pick], dtype=np.float64)[valid]
    if frames.ndim == 4:  # colour (nVision): grey for the overview
        frames = frames.mean(axis=-1)
    shown = [("mean", frames.mean(axis=0)), ("max", frames.max(axis=0))]
    shown += [(f"frame {pick[k]}", frames[k])
              for k in np.linspace(0, len(frames) - 1, N_FRAMES).astype(int)]
    for k, (title, image) in enumerate(shown):
        ax = fig.add_subplot(1, len(shown), k + 1)
        ax.imshow(image, cmap="gray")
        ax.set_title(title)
        ax.axis("off")


def _cells(fig: Any, reader: Any) -> None:
    footprints = np.asarray(reader.footprints)
    ax = fig.add_subplot(1, 2, 1)
    ax.imshow(footprints.max(axis=0), cmap="gray")
    names = getattr(reader, "names", [str(i) for i in range(len(footprints))])
    for k, image in enumerate(footprints[:MAX_LINES]):
        if image.max() > 0:
            ax.contour(image, levels=[0.5 * image.max()], colors=[f"C{k % 10}"], linewidths=1)
    ax.set_title(f"{len(footprints)} cells")
    ax.axis("off")
    traces = np.asarray(reader.traces[:MAX_LINES])
    times = reader.timing.offsets() if hasattr(reader.timing, "offsets") else None
    ax = fig.add_subplot(1, 2, 2)
    for k, trace in enumerate(traces):
        ax.plot(times if times is not None else np.arange(len(trace)), trace + 2 * k,
                color=f"C{k % 10}", lw=0.8)
    ax.set_yticks(2 * np.arange(len(traces)), names[:len(traces)])
    ax.set_xlabel("time (s)")


def _events(fig: Any, reader: Any) -> None:
    ax = fig.add_subplot(1, 1, 1)
    data = reader.all_channel_data()
    ax.eventplot([offsets / 1e6 for offsets, _ in data], linelengths=0.8)
    ax.set_yticks(range(len(data)), list(reader.channel_names))
    ax.set_xlabel("time (s)")
    ax.set_title(f"{len(data)} channels")


def _channels(fig: Any, reader: Any) -> None:
    names = list(reader.channel_names)[:MAX_LINES]
    ax = fig.add_subplot(1, 1, 1)
    for k, name in enumerate(names):
        data = reader.channel_data(k)
        times, values = np.asarray(data[0], dtype=float), np.asarray(data[-1], dtype=float)
        span = np.ptp(values) if values.size else 0.0
        scaled = (values - values.min()) / span if span else values * 0
        ax.step(times / 1e6 if times.max(initial=0) > 1e4 else times, scaled + 1.2 * k,
                where="post", lw=0.8, label=name)
    ax.set_yticks(1.2 * np.arange(len(names)), names)
    ax.set_xlabel("time")


def preview(path: str | Path, out: str | Path) -> Path:
    """Draw the overview of ``path`` into ``out`` (PNG); return ``out``."""
    from .._optional import require
    from ..api import open as open_file

    require("matplotlib", "preview", "isxio preview")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reader = open_file(path)
    kind = type(reader).__name__
    draw = {"MovieFile": _movie, "IsxbFile": _movie, "CellSetFile": _cells,
            "EventsFile": _events, "GpioFile": _channels, "ImuFile": _channels}.get(kind)
    if kind == "EventsFile" and reader.kind != "events":
        draw = _channels
    if draw is None:
        raise ValueError(f"{path}: no preview for a {kind}")
    fig = plt.figure(figsize=(12, 4 if draw is _movie else 6))
    try:
        draw(fig, reader)
        fig.suptitle(Path(path).name)
        fig.tight_layout()
        fig.savefig(out, dpi=80)
    finally:
        plt.close(fig)
        if hasattr(reader, "close"):
            reader.close()
    return Path(out)
