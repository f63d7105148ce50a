"""Cell sets and vessel sets to CSV + TIFF (``export_cell_set_to_csv_tiff``,
``export_vessel_set_to_csv_tiff``).  These exporters are missing from the public isx
2.1.0 wheel (its C library lacks them), so they follow the spec alone.

Spec: ``other.md`` §5.8 (trace CSV: a name line, a status line, then one row per sample
with the time in ``%.16g`` and values in ``%.7g`` separated by ``", "``; footprint TIFFs;
properties CSV) and §5.9 (vessel sets share the trace layout; the line-coordinate CSV
layout is not documented anywhere we know of: ours is described in ``docs/exports.md``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import IsxFormatError
from ._common import TextOutput, as_file_list, atomic_file, check_new_output, optional_import
from .sets import _g7, _g16, _time_ref, ratio_seconds

__all__ = ["export_cell_set_to_csv_tiff", "export_vessel_set_to_csv_tiff"]


def _trace_rows(sets: Sequence[Any], time_ref: str) -> Iterator[str]:
    """One row per sample of each set in order: time, then one value per cell."""
    base = sets[0].timing.start.secs_since_epoch if time_ref == "start" else None
    for s in sets:
        t = s.timing
        times = _g16(ratio_seconds(np.arange(t.num_samples), t.period,
                                   t.start.secs_since_epoch, base))
        traces = np.asarray(s.traces[:], np.float32)  # (items, samples)
        text = np.asarray(_g7(traces.T.ravel()), dtype=object).reshape(traces.T.shape)
        for time, row in zip(times, text.tolist(), strict=True):
            yield time + "".join(f", {v}" for v in row)


def _write_traces(path: str, sets: Sequence[Any], time_ref: str, label: str) -> None:
    first = sets[0]
    with TextOutput(path) as out:
        out.line(" " + "".join(f", {n}" for n in first.names))
        out.line(label + "".join(f", {s}" for s in first.status_names))
        out.lines(_trace_rows(sets, time_ref))


def _write_tiff(path: str, image: np.ndarray) -> None:
    tifffile = optional_import("tifffile", "tiff")
    with atomic_file(path) as tmp:
        tifffile.imwrite(tmp, np.asarray(image, np.float32), photometric="minisblack",
                         metadata=None, software=False)


def _check_series(sets: Sequence[Any], what: str) -> None:
    first = sets[0]
    for s in sets[1:]:
        if s.names != first.names or s.spacing.shape != first.spacing.shape:
            raise IsxFormatError(s.path, f"{what} sets exported together must have the same "
                                 "names and frame size", expected=first.names, found=s.names)


def _cell_tiff_paths(base: str, names: Sequence[str]) -> list[str]:
    stem, ext = os.path.splitext(base)
    return [f"{stem}_{n}{ext or '.tif'}" for n in names] + [
        f"{stem}_accepted-cells-map{ext or '.tif'}"]


def _cell_props(path: str, sets: Sequence[Any]) -> None:
    from ..formats.cellset import unpack_colors

    first = sets[0]
    colors = unpack_colors(first.colors) if first.num_cells else np.zeros((0, 4), np.uint8)
    segments = [f"ActiveSegment{k}" for k in range(len(sets))]
    with TextOutput(path) as out:
        out.line(",".join(["Name", "Status", "ColorR", "ColorG", "ColorB", *segments]))
        for i, name in enumerate(first.names):
            active = [str(int(bool(s.activity[i]))) for s in sets]
            r, g, b = (str(int(c)) for c in colors[i, :3])
            out.line(",".join([name, first.status_names[i], r, g, b, *active]))


def export_cell_set_to_csv_tiff(input_cell_set_files: Any, output_csv_file: str,
                                output_tiff_file: str, time_ref: str = "start",
                                output_props_file: str = "") -> None:
    """Export cell sets: traces to CSV, footprints to TIFF (isx's layout; not in isx 2.1.0).

    Writes ``output_csv_file`` (names line, statuses line, one row per sample),
    ``<base>_<cell name><ext>`` per cell and ``<base>_accepted-cells-map<ext>`` (the
    maximum of the accepted cells' footprints), all float32 TIFFs, and optionally a
    properties CSV (name, status, colour, activity per input set).

    Parameters
    ----------
    input_cell_set_files
        Path(s) of cell sets with the same cells (a series), exported in order.
    output_csv_file
        The trace CSV to write (must not exist).
    output_tiff_file
        Base name of the TIFF files ('' writes none).
    time_ref : {'start', 'unix'}
        Seconds since the start of the first set, or since the Unix epoch.
    output_props_file
        Optional properties CSV.
    """
    from ..formats.cellset import CellSetFile

    time_ref = _time_ref(time_ref)
    sets = [CellSetFile(p) for p in as_file_list(input_cell_set_files, "input cell sets")]
    _check_series(sets, "cell")
    first = sets[0]
    tiffs = _cell_tiff_paths(output_tiff_file, first.names) if output_tiff_file else []
    for out in [output_csv_file, output_props_file, *tiffs]:
        if out:
            check_new_output(out)
    _write_traces(output_csv_file, sets, time_ref, "Time(s)/Cell Status")
    if tiffs:
        accepted: np.ndarray | None = None
        for i, path in enumerate(tiffs[:-1]):
            footprint = np.asarray(first.footprints[i], np.float32)
            _write_tiff(path, footprint)
            if first.statuses[i] == 0:
                accepted = footprint if accepted is None else np.fmax(accepted, footprint)
        _write_tiff(tiffs[-1], np.zeros(first.spacing.shape, np.float32)
                    if accepted is None else accepted)
    if output_props_file:
        _cell_props(output_props_file, sets)
    for s in sets:
        s.close()


def _write_lines(path: str, vessels: Any) -> None:
    lines = np.asarray(vessels.lines, np.int64)
    points = lines.shape[1] if lines.ndim == 3 else 2
    coords = [f"{a}{k}" for k in range(points) for a in ("X", "Y")]
    with TextOutput(path) as out:
        out.line(",".join(["Name", "Status", *coords]))
        for name, status, pts in zip(vessels.names, vessels.status_names, lines.tolist(),
                                     strict=True):
            out.line(",".join([name, status, *(str(v) for p in pts for v in p)]))


def _write_heatmaps(folder: str, vessels: Any) -> None:
    tifffile = optional_import("tifffile", "tiff")
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise FileExistsError(f"File already exists: {folder}")
    os.makedirs(folder, exist_ok=True)
    for i, name in enumerate(vessels.names):
        path = os.path.join(folder, f"{name}.tif")
        heat = vessels.correlations(i)  # (samples, 3, rows, cols)
        with atomic_file(path) as tmp, tifffile.TiffWriter(tmp) as tw:
            for block in heat:
                tw.write(np.asarray(block, np.float32), photometric="minisblack",
                         metadata=None, software=False, contiguous=False)


def export_vessel_set_to_csv_tiff(input_vessel_set_files: Any, output_trace_csv_file: str = "",
                                  output_line_csv_file: str = "", output_map_tiff_file: str = "",
                                  output_heatmaps_tiff_dir: str = "",
                                  time_ref: str = "start") -> None:
    """Export vessel sets: traces, line coordinates, vessel map and correlation heatmaps.

    Not in isx 2.1.0 (its C library lacks the exporter).  The trace CSV has isx's cell
    set layout with ``Time(s)/Vessel Status``; the line CSV has one row per vessel
    ``Name,Status,X0,Y0,X1,Y1[,X2,Y2,X3,Y3]``; the map is the projection image (float32
    TIFF); heatmaps (when stored) go to ``<dir>/<vessel name>.tif``, one page per sample
    and heatmap.

    Parameters
    ----------
    input_vessel_set_files
        Path(s) of vessel sets with the same vessels (a series).
    output_trace_csv_file, output_line_csv_file, output_map_tiff_file,
    output_heatmaps_tiff_dir
        What to write; at least one is required.  Lines, map and heatmaps come from the
        first vessel set.
    time_ref : {'start', 'unix'}
        Seconds since the start of the first set, or since the Unix epoch.
    """
    from ..formats.vesselset import VesselSetFile

    outputs = [output_trace_csv_file, output_line_csv_file, output_map_tiff_file,
               output_heatmaps_tiff_dir]
    if not any(outputs):
        raise ValueError("Must provide at least one output file path.")
    time_ref = _time_ref(time_ref)
    sets = [VesselSetFile(p) for p in as_file_list(input_vessel_set_files, "vessel sets")]
    _check_series(sets, "vessel")
    for out in outputs[:3]:
        if out:
            check_new_output(out)
    first = sets[0]
    if output_trace_csv_file:
        _write_traces(output_trace_csv_file, sets, time_ref, "Time(s)/Vessel Status")
    if output_line_csv_file:
        _write_lines(output_line_csv_file, first)
    if output_map_tiff_file and first.projection is not None:
        _write_tiff(output_map_tiff_file, first.projection)
    if output_heatmaps_tiff_dir and first.has_correlations:
        _write_heatmaps(output_heatmaps_tiff_dir, first)
    for s in sets:
        s.close()
