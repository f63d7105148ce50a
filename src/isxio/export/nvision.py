"""nVision tracking data to CSV (``export_nvision_movie_tracking_frame_data_to_csv``,
``export_nvision_movie_tracking_zone_data_to_csv``).

Spec: ``other.md`` §5.3 (per-frame rows, timestamps as §5.1, float32 values printed
``%.6f`` for 'start'/'unix' but ``%g`` for 'tsc', zone event lists) and §5.4 (zones of
the first movie).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ._common import TextOutput, as_file_list, parse_time_ref
from .timestamps import open_movie_series, timestamp_column

__all__ = [
    "export_nvision_movie_tracking_frame_data_to_csv",
    "export_nvision_movie_tracking_zone_data_to_csv",
]

FRAME_HEADER = ("Global Frame Number,Movie Number,Local Frame Number,Frame Timestamp ({unit}),"
                "Bounding Box Left,Bounding Box Top,Bounding Box Right,Bounding Box Bottom,"
                "Bounding Box Center X,Bounding Box Center Y,Confidence,Zone ID,Zone Name,"
                "Zone Event,Zone Trigger")
ZONE_TAIL = "Major Axis, Minor Axis, Angle"


def _zone_fields(events: Sequence[Any]) -> list[str]:
    """Zone ID, name, event and trigger fields; several events are quoted lists."""
    kept = [e for e in events if e.event or e.zone_id != 0]
    if not kept:
        return ["", "", "", ""]
    columns = [[str(e.zone_id) for e in kept], [e.name for e in kept],
               [e.event for e in kept], [e.trigger for e in kept]]
    if len(kept) == 1:
        return [c[0] for c in columns]
    return ['"' + ",".join(c) + '"' for c in columns]


def _tracking_rows(movies: Sequence[Any], time_ref: str) -> Iterator[str]:
    fmt = "%g" if time_ref == "tsc" else "%.6f"
    columns = timestamp_column(movies, time_ref)
    g = 0
    for m, (movie, stamps) in enumerate(zip(movies, columns, strict=True)):
        tr = movie.tracking
        valid = np.asarray(movie.timing.valid_mask(), bool)
        values = np.column_stack([tr.box, tr.center, tr.confidence]).astype(np.float64)
        text = np.asarray(list(map(fmt.__mod__, values.ravel().tolist())),
                          dtype=object).reshape(values.shape)
        for local in range(len(stamps)):
            head = f"{g},{m},{local}"
            g += 1
            if not valid[local]:
                yield head + "," * 12
            elif not tr.valid[local]:
                yield f"{head},{stamps[local]}" + "," * 11
            else:
                fields = [head, stamps[local], *text[local],
                          *_zone_fields(tr.zone_events[local])]
                yield ",".join(fields)


def export_nvision_movie_tracking_frame_data_to_csv(input_movie_files: Any,
                                                    output_csv_file: str,
                                                    time_ref: str = "start") -> None:
    """Export the per-frame nVision tracking data of ``.isxb`` movies to CSV (as ``isx``).

    Columns: frame numbers, frame timestamp, bounding box (left, top, right, bottom),
    its centre, the model's confidence (%), and the zone events of the frame.

    Parameters
    ----------
    input_movie_files
        Path(s) of ``.isxb`` movies (sorted by start time; they must form a series).
    output_csv_file
        The CSV file to write (must not exist).
    time_ref : {'start', 'unix', 'tsc'}
        Timestamps in seconds since the first frame, seconds since the Unix epoch, or
        the hardware counter (µs).
    """
    time_ref = parse_time_ref(time_ref)
    movies = open_movie_series(as_file_list(input_movie_files, "input movie files"),
                               allow_isxd=False)
    with TextOutput(output_csv_file) as out:
        out.line(FRAME_HEADER.format(unit="us" if time_ref == "tsc" else "s"))
        out.lines(_tracking_rows(movies, time_ref))


def _g6(value: float) -> str:
    return "%g".__mod__(float(np.float32(value)))  # C printf semantics, not format()


def _zone_row(zone: Any, width: int) -> str:
    coords = np.asarray(zone.coordinates, np.float32).reshape(-1, 2)
    fields = [str(zone.id), "1" if zone.enabled else "0", zone.name, zone.description,
              zone.type]
    for x, y in coords.tolist():
        fields += [_g6(x), _g6(y)]
    fields += ["", ""] * (width - len(coords))
    if zone.type == "ellipse":
        fields += [_g6(zone.major_axis), _g6(zone.minor_axis), _g6(zone.angle)]
    else:
        fields += ["", "", ""]
    return ",".join(fields)


def export_nvision_movie_tracking_zone_data_to_csv(input_movie_files: Any,
                                                   output_csv_file: str) -> None:
    """Export the tracking zones of an nVision movie to CSV (as ``isx``).

    Zones come from the first movie (by start time).  One row per zone: id, enabled,
    name, description, type, the ``x, y`` coordinates (as many column pairs as the
    zone with most coordinates) and, for ellipses, the axes and angle.

    Parameters
    ----------
    input_movie_files
        Path(s) of ``.isxb`` movies.
    output_csv_file
        The CSV file to write (must not exist).
    """
    movies = open_movie_series(as_file_list(input_movie_files, "input movie files"),
                               allow_isxd=False)
    zones = movies[0].zones
    width = max((len(np.asarray(z.coordinates).reshape(-1, 2)) for z in zones), default=0)
    columns = [f"X {i},Y {i}" for i in range(width)]
    with TextOutput(output_csv_file) as out:
        out.line(",".join(["ID,Enabled,Name,Description,Type", *columns, ZONE_TAIL]))
        out.lines(_zone_row(z, width) for z in zones)
