"""A built-in example session, generated on the fly (no data files needed).

:func:`make_example_session` writes a small but realistic nVista-style session with
isxio's own writers: a uint16 movie with a dropped and a cropped frame and nVista 3
acquisition metadata, a mean image, a cell set and an event set derived from the
movie's ground truth.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .formats.cellset import write_cell_set
from .formats.common import Ratio, SpacingInfo, Time, TimingInfo
from .formats.events import EventsWriter
from .formats.movie import write_movie

__all__ = ["EXAMPLE_EXTRA_PROPERTIES", "make_example_session"]

EXAMPLE_EXTRA_PROPERTIES: dict[str, Any] = {
    "animal": {"description": "example", "dob": "", "id": "mouse-01", "sex": "f",
               "species": "Mus musculus", "weight": 25},
    "microscope": {"exp": 50, "focus": 500, "gain": 4, "led": {"exPower": 0.6, "ogPower": 0.0},
                   "serial": "EXAMPLE-0001", "type": "NVista3"},
    "name": "isxio example session",
    "personnel": {"name": "isxio"},
    "producer": {"name": "isxio", "version": "1.9.0", "versionBE": "1.9.0-example"},
}


def _example_movie(rng: np.random.Generator, n_frames: int, shape: tuple[int, int],
                   n_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    centres = rng.uniform([4, 4], [shape[0] - 4, shape[1] - 4], size=(n_cells, 2))
    footprints = np.exp(-((rows[None] - centres[:, 0, None, None]) ** 2
                          + (cols[None] - centres[:, 1, None, None]) ** 2) / 6.0)
    spikes = rng.random((n_cells, n_frames)) < 0.03
    kernel = np.exp(-np.arange(30) / 6.0)
    traces = np.stack([np.convolve(s.astype(float), kernel)[:n_frames] for s in spikes])
    movie = 400 + 800 * np.einsum("ct,cyx->tyx", traces, footprints)
    movie += rng.normal(0, 12, movie.shape)
    return (np.clip(movie, 0, 4095).astype(np.uint16), footprints.astype(np.float32),
            traces.astype(np.float32))


def make_example_session(folder: str | os.PathLike[str], *, n_frames: int = 200,
                         shape: tuple[int, int] = (48, 64), n_cells: int = 6,
                         seed: int = 0, overwrite: bool = False) -> dict[str, Path]:
    """Write the example session into ``folder``; return ``{kind: path}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    movie, footprints, traces = _example_movie(rng, n_frames, shape, n_cells)
    timing = TimingInfo(n_frames, Ratio(50, 1000), Time(Ratio(1_700_000_000_000, 1000), -18000),
                        dropped=(17,), cropped=((120, 121),))
    movie[~timing.valid_mask()] = 0
    spacing = SpacingInfo(*shape)
    paths = {"movie": folder / "example_movie.isxd", "image": folder / "example_mean.isxd"}
    write_movie(paths["movie"], movie, timing=timing, spacing=spacing,
                extra_properties=EXAMPLE_EXTRA_PROPERTIES, overwrite=overwrite)
    mean = movie[timing.valid_mask()].mean(axis=0, dtype=np.float64).astype(np.float32)
    write_movie(paths["image"], mean[np.newaxis], spacing=spacing, overwrite=overwrite)
    paths.update(_write_derived(folder, timing, spacing, footprints, traces, overwrite))
    return paths


def _write_derived(folder: Path, timing: TimingInfo, spacing: SpacingInfo,
                   footprints: np.ndarray, traces: np.ndarray, overwrite: bool
                   ) -> dict[str, Path]:
    """Cell set and event set derived from the movie's ground truth."""
    out: dict[str, Path] = {}
    out["cellset"] = folder / "example_cellset.isxd"
    traces = traces.copy()
    traces[:, ~timing.valid_mask()] = np.nan
    write_cell_set(out["cellset"], footprints, traces, timing=timing, spacing=spacing,
                   names=[f"C{i}" for i in range(len(traces))], statuses=[0] * len(traces),
                   overwrite=overwrite)
    out["events"] = folder / "example_events.isxd"
    offsets_us = np.round(timing.offsets() * 1e6).astype(np.uint64)
    with EventsWriter(out["events"], timing, [f"C{i}" for i in range(len(traces))],
                      overwrite=overwrite) as writer:
        for c, trace in enumerate(traces):
            peaks = np.flatnonzero(np.nan_to_num(trace) > 0.8)
            writer.set_cell_data(c, offsets_us[peaks], trace[peaks])
    return out
