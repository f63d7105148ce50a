"""A built-in example session, generated on the fly (no data files needed).

:func:`make_example_session` writes a small but realistic nVista-style session with
isxio's own writers: a uint16 movie with nVista 3 acquisition metadata, hardware (TSC)
frame timestamps and a dropped and a cropped frame, a mean image, a cell set (mixed
statuses) and an event set derived from the movie's ground truth; with ``full=True``
also a 3-plane multiplane movie, a GPIO file, an IMU file and an nVision ``.isxb``
behaviour movie (which needs PyAV), all on one clock.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .formats.cellset import write_cell_set
from .formats.common import Ratio, SpacingInfo, Time, TimingInfo
from .formats.events import EventsWriter
from .formats.frameheader import encode_header_fields
from .formats.movie import MovieWriter, write_movie

__all__ = ["EXAMPLE_EXTRA_PROPERTIES", "make_example_session"]

EXAMPLE_EXTRA_PROPERTIES: dict[str, Any] = {
    "animal": {"description": "example", "dob": "2023-08-01", "id": "mouse-01", "sex": "f",
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


#: the example session's start: 2023-11-14 22:13:20 UTC, recorded at UTC-5
START_MS, UTC_OFFSET = 1_700_000_000_000, -18000


def make_example_session(folder: str | os.PathLike[str], *, n_frames: int = 200,
                         shape: tuple[int, int] = (48, 64), n_cells: int = 6,
                         seed: int = 0, overwrite: bool = False,
                         full: bool = False) -> dict[str, Path]:
    """Write the example session into ``folder``; return ``{kind: path}``.

    ``full=True`` adds a multiplane movie, GPIO, IMU and an ``.isxb`` behaviour movie.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    movie, footprints, traces = _example_movie(rng, n_frames, shape, n_cells)
    timing = TimingInfo(n_frames, Ratio(50, 1000), Time(Ratio(START_MS, 1000), UTC_OFFSET),
                        dropped=(17,), cropped=((120, 121),))
    movie[~timing.valid_mask()] = 0
    spacing = SpacingInfo(*shape)
    paths = {"movie": folder / "example_movie.isxd", "image": folder / "example_mean.isxd"}
    _write_tsc_movie(paths["movie"], movie, timing, spacing, overwrite)
    mean = movie[timing.valid_mask()].mean(axis=0, dtype=np.float64).astype(np.float32)
    write_movie(paths["image"], mean[np.newaxis], spacing=spacing, overwrite=overwrite)
    paths.update(_write_derived(folder, timing, spacing, footprints, traces, overwrite))
    if full:
        paths.update(_write_other_streams(folder, rng, overwrite))
    return paths


def _write_tsc_movie(path: Path, movie: np.ndarray, timing: TimingInfo, spacing: SpacingInfo,
                     overwrite: bool, efocus: Sequence[int] = (500,),
                     extra: dict[str, Any] | None = None) -> None:
    """A movie with nVista 3 frame headers: hardware timestamps with a little jitter."""
    period_us = timing.period.num * 1_000_000 // timing.period.den
    jitter = np.random.default_rng(1).integers(-40, 40, timing.num_samples)
    with MovieWriter(path, timing, spacing, np.uint16, frame_header_footer=True,
                     extra_properties=extra or EXAMPLE_EXTRA_PROPERTIES,
                     overwrite=overwrite) as writer:
        for i in np.flatnonzero(timing.valid_mask()):
            header = encode_header_fields(tsc=5_000_000 + i * period_us + int(jitter[i]),
                                          frame_counter=i + 1,
                                          efocus=efocus[i % len(efocus)])
            writer.set_frame_data(int(i), movie[i], header=header)


def _write_derived(folder: Path, timing: TimingInfo, spacing: SpacingInfo,
                   footprints: np.ndarray, traces: np.ndarray, overwrite: bool
                   ) -> dict[str, Path]:
    """Cell set and event set derived from the movie's ground truth."""
    out: dict[str, Path] = {}
    out["cellset"] = folder / "example_cellset.isxd"
    traces = traces.copy()
    traces[:, ~timing.valid_mask()] = np.nan
    write_cell_set(out["cellset"], footprints, traces, timing=timing, spacing=spacing,
                   names=[f"C{i}" for i in range(len(traces))],
                   statuses=[("accepted", "accepted", "undecided", "rejected")[i % 4]
                             for i in range(len(traces))],
                   extra_properties={**EXAMPLE_EXTRA_PROPERTIES,
                                     "idps": {"cellset": {"method": "example",
                                                          "units": "dF over F"}}},
                   overwrite=overwrite)
    out["events"] = folder / "example_events.isxd"
    offsets_us = np.round(timing.offsets() * 1e6).astype(np.uint64)
    with EventsWriter(out["events"], timing, [f"C{i}" for i in range(len(traces))],
                      overwrite=overwrite) as writer:
        for c, trace in enumerate(traces):
            peaks = np.flatnonzero(np.nan_to_num(trace) > 0.8)
            writer.set_cell_data(c, offsets_us[peaks], trace[peaks])
    return out


MULTIPLANE_FOCUS = (100, 400, 700)


def _write_other_streams(folder: Path, rng: np.random.Generator, overwrite: bool
                         ) -> dict[str, Path]:
    """Multiplane movie, GPIO, IMU and behaviour movie of the same session."""
    from . import testing

    out = {"multiplane": folder / "example_multiplane.isxd"}
    planes, per_plane, shape = len(MULTIPLANE_FOCUS), 40, (24, 32)
    n = planes * per_plane
    extra = {**EXAMPLE_EXTRA_PROPERTIES, "microscope": {
        **EXAMPLE_EXTRA_PROPERTIES["microscope"],
        "multiplane": {"enabled": True, "activePlanes": planes,
                       "planes": {f"plane-{p + 1}": {"enabled": True, "focus": str(f)}
                                  for p, f in enumerate(MULTIPLANE_FOCUS)}}}}
    timing = TimingInfo(n, Ratio(25, 1000), Time(Ratio(START_MS + 60_000, 1000), UTC_OFFSET))
    frames = (300 + rng.normal(0, 10, (n, *shape))).clip(0, 4095).astype(np.uint16)
    _write_tsc_movie(out["multiplane"], frames, timing, SpacingInfo(*shape), overwrite,
                     efocus=MULTIPLANE_FOCUS, extra=extra)
    start = (START_MS - 2_000, 1000)
    events = [testing.capture_all(1_000 * k, gpi=(k // 25) % 2, bnc=(16 * (k % 50), 0, 0, 0),
                                  ex_led=6, sync=(k // 5) % 2) for k in range(400)]
    out["gpio"] = _fresh(folder / "example.gpio", overwrite)
    testing.write_gpio(out["gpio"], events, start=start, utc_offset=UTC_OFFSET)
    m = 300
    out["imu"] = _fresh(folder / "example.imu", overwrite)
    testing.write_imu(out["imu"], rng.integers(-16384, 16384, (m, 3)),
                      rng.integers(-6434, 6434, (m, 3)), rng.integers(-500, 500, (m // 20, 3)),
                      start=start, utc_offset=UTC_OFFSET)
    out["behavior"] = _fresh(folder / "example_behavior.isxb", overwrite)
    video = (rng.random((72, 48, 64)) * 60 + np.linspace(0, 180, 64)).astype(np.uint8)
    testing.write_isxb(out["behavior"], video,
                       timestamps=[9_000_000 + 33_333 * k for k in range(len(video))],
                       epoch_ms=START_MS - 1_000, utc_offset_min=UTC_OFFSET // 60)
    return out


def _fresh(path: Path, overwrite: bool) -> Path:
    """``path``, refusing an existing file unless ``overwrite`` (as isxio's writers do)."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists (pass overwrite=True to replace it)")
    return path
