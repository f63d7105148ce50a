"""``isxio export``: one file to TIFF, MP4, CSV, Zarr or HDF5 with isxio's export functions."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

__all__ = ["export"]


def _movie(path: str, fmt: str, out: str, progress: bool) -> list[str]:
    from .. import export as ex

    if fmt == "tiff":
        ex.export_movie_to_tiff([path], out, progress=progress)
    elif fmt == "mp4":
        ex.export_movie_to_mp4([path], out, progress=progress)
    elif fmt == "csv":
        ex.export_movie_timestamps_to_csv([path], out)
    elif fmt == "zarr":
        ex.export_movie_to_zarr(path, out, progress=progress)
    else:
        ex.export_movie_to_hdf5(path, out, progress=progress)
    return [out]


def _csv_only(kind: str, path: str, fmt: str, out: str) -> list[str]:
    from .. import export as ex

    if fmt == "tiff" and kind == "CellSetFile":
        csv = str(Path(out).with_suffix(".csv"))
        ex.export_cell_set_to_csv_tiff([path], csv, out)
        return [csv, out]
    if fmt != "csv":
        raise ValueError(f"{path}: a {kind} exports to csv" +
                         (" or tiff" if kind == "CellSetFile" else "") + f", not {fmt}")
    if kind == "CellSetFile":
        ex.export_cell_set_to_csv_tiff([path], out, "")
    elif kind == "EventsFile" and not path.endswith((".gpio", ".imu")) \
            and _events_kind(path) == "events":
        ex.export_event_set_to_csv([path], out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            ex.export_gpio_set_to_csv([path], out, inter_isxd_file_dir=tmp)
    return [out]


def _events_kind(path: str) -> str:
    from ..api import open as open_file

    return open_file(path).kind


def export(path: str, fmt: str, out: str, *, progress: bool = False) -> list[Any]:
    """Export ``path`` to format ``fmt`` into ``out``; return the files written."""
    from ..api import open as open_file

    reader = open_file(path)
    kind = type(reader).__name__
    frames = getattr(reader, "num_frames", 0)
    if hasattr(reader, "close"):
        reader.close()
    if kind == "MovieFile" and frames == 1 and fmt == "tiff":
        from .. import export as ex

        ex.export_isxd_image_to_tiff(path, out)
        return [out]
    if kind == "MovieFile" or (kind == "IsxbFile" and fmt in ("mp4", "csv")):
        return _movie(path, fmt, out, progress)
    return _csv_only(kind, path, fmt, out)
