"""``isxio export``: one file to Zarr, HDF5, Suite2p, ``.isxd``, TIFF, MP4 or CSV.

Movies (and ``.zarr``/``.h5`` stores imwrite wrote) go to ``zarr``, ``h5``, ``bin``
(Suite2p) and ``isxd`` through :func:`isxio.imwrite` (planes and frames selectable,
0-based); to ``tiff``, ``mp4`` and ``csv`` (timestamps) through the isx-compatible
``export_*`` functions (TIFF: isx's layout, valid frames only).  Cell sets, event sets,
GPIO and IMU go to CSV (cell sets also to TIFF images).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["IMWRITE", "default_output", "export", "parse_frames", "parse_planes"]

#: --to values written by isxio.imwrite -> imwrite's ``ext``
IMWRITE = {"zarr": "zarr", "h5": "h5", "bin": "bin", "isxd": "isxd"}


def parse_frames(text: str) -> slice | list[int]:
    """``"0:100"``, ``":100:2"`` (0-based, stop excluded) or ``"0,5,9"``: frames to keep."""
    try:
        if ":" in text:
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3 or any(p is not None and p < 0 for p in parts) or parts[2:] == [0]:
                raise ValueError
            return slice(*parts)
        return [int(p) for p in text.split(",")]
    except ValueError:
        raise ValueError(f"{text!r}: give START:STOP[:STEP] (0-based, STOP excluded) or "
                         "increasing indices such as 0,5,9") from None


def parse_planes(text: str) -> list[int]:
    """``"0"`` or ``"0,2"``: 0-based planes to keep."""
    try:
        return [int(p) for p in text.split(",")]
    except ValueError:
        raise ValueError(f"{text!r}: give 0-based plane indices such as 0 or 0,2") from None


def default_output(path: str, suffix: str) -> str:
    """``path`` with ``suffix`` (``<name>_export<suffix>`` if that is ``path`` itself)."""
    p = Path(path)
    out = p.with_suffix(suffix) if suffix.startswith(".") else p.with_name(p.stem + suffix)
    return str(out if out != p else p.with_name(f"{p.stem}_export{suffix}"))


@contextlib.contextmanager
def _naming(path: str) -> Iterator[None]:
    """Errors of an export as one message that names the file (and says ``--overwrite``)."""
    try:
        yield
    except FileExistsError as exc:
        text = str(exc).split(" (pass overwrite=True")[0]
        raise FileExistsError(f"{text} (use --overwrite to replace it)") from None
    except (ValueError, IndexError, TypeError) as exc:
        if os.path.basename(path) in str(exc):
            raise
        raise ValueError(f"{path}: {exc}") from exc


def _replacing(run: Callable[[str], list[Any]], out: str, overwrite: bool) -> list[Any]:
    """Run an export that refuses existing outputs; with ``overwrite``, replace them.

    The export writes into a temporary folder beside ``out``; its files are moved over
    the old ones only when it succeeded.
    """
    if not overwrite:
        return run(out)
    folder = os.path.dirname(os.path.abspath(out))
    with tempfile.TemporaryDirectory(prefix=".isxio-export.", dir=folder) as tmp:
        written = run(os.path.join(tmp, os.path.basename(out)))
        for name in os.listdir(tmp):
            os.replace(os.path.join(tmp, name), os.path.join(folder, name))
    return [os.path.join(folder, os.path.basename(p)) for p in written]


def _imwrite(path: str, fmt: str, out: str, progress: bool, planes: Any, frames: Any,
             overwrite: bool) -> list[Any]:
    from ..imwrite import imwrite

    return [str(p) for p in imwrite(path, out, ext=IMWRITE[fmt], planes=planes, frames=frames,
                                    overwrite=overwrite, progress=progress)]


def _movie(path: str, fmt: str, out: str, progress: bool, image: bool) -> list[str]:
    from .. import export as ex

    if fmt == "tiff" and image:
        ex.export_isxd_image_to_tiff(path, out)
    elif fmt == "tiff":
        ex.export_movie_to_tiff([path], out, progress=progress)
    elif fmt == "mp4":
        ex.export_movie_to_mp4([path], out, progress=progress)
    else:
        ex.export_movie_timestamps_to_csv([path], out)
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


def _kind(path: str) -> tuple[str, int]:
    """Reader class name and frame count of ``path`` (``"store"`` for imwrite's stores)."""
    from ..api import open as open_file
    from ..imwrite._stores import is_store

    if is_store(path):
        return "store", 0
    reader = open_file(path)
    frames = getattr(reader, "num_frames", 0)
    if hasattr(reader, "close"):
        reader.close()
    return type(reader).__name__, frames


def export(path: str, fmt: str, out: str, *, progress: bool = False, planes: Any = None,
           frames: Any = None, overwrite: bool = False) -> list[Any]:
    """Export ``path`` to format ``fmt`` into ``out``; return the outputs written.

    ``planes`` and ``frames`` (0-based) select what a movie writes to ``zarr``, ``h5``,
    ``bin`` or ``isxd``; ``overwrite`` replaces existing outputs once the new ones are
    complete.
    """
    with _naming(path):
        kind, num_frames = _kind(path)
        movie = kind in ("MovieFile", "IsxbFile", "store")
        if fmt in IMWRITE and movie:
            return _imwrite(path, fmt, out, progress, planes, frames, overwrite)
        if planes is not None or frames is not None:
            raise ValueError(f"--planes and --frames select what a movie writes to "
                             f"{', '.join(IMWRITE)}, not to {fmt}")
        if kind == "MovieFile" or (kind == "IsxbFile" and fmt in ("mp4", "csv")):
            image = kind == "MovieFile" and num_frames == 1
            return _replacing(lambda o: _movie(path, fmt, o, progress, image), out, overwrite)
        if movie:
            can = ("mp4, csv, " if kind == "IsxbFile" else "") + ", ".join(IMWRITE)
            raise ValueError(f"{path}: a {kind} exports to {can}, not {fmt}")
        return _replacing(lambda o: _csv_only(kind, path, fmt, o), out, overwrite)
