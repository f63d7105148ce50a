"""Streaming plumbing of imwrite: blocks, progress, atomic outputs, metadata.

Outputs are written under a temporary name in the destination folder and renamed
into place only when complete; with ``overwrite=True`` an existing output is replaced
only then (it is moved aside, the new one renamed in, the old one removed).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..formats.container import current_umask
from ._source import Source, Stream, release

__all__ = ["Progress", "atomic_output", "check_output", "iter_blocks", "metadata_block"]


def check_output(path: str, overwrite: bool) -> None:
    """Refuse an existing output unless ``overwrite``; the folder must exist."""
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"output already exists: {path} (pass overwrite=True to "
                              "replace it)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"output folder does not exist: {folder}")


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


@contextlib.contextmanager
def atomic_output(path: str, *, overwrite: bool, directory: bool = False) -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it to ``path`` if the block succeeds."""
    check_output(path, overwrite)
    folder, name = os.path.split(os.path.abspath(path))
    ext = os.path.splitext(name)[1]
    if directory:
        tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=f".part{ext}", dir=folder)
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700
    else:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".part{ext}", dir=folder)
        os.close(fd)
        os.unlink(tmp)  # writers create it (h5py, tifffile, zarr want a fresh path)
    try:
        yield tmp
        old = None
        if os.path.lexists(path):
            check_output(path, overwrite)
            old = tempfile.mktemp(prefix=f".{name}.", suffix=".old", dir=folder)
            os.rename(path, old)
        os.rename(tmp, path)
        if old:
            _remove(old)
    finally:
        _remove(tmp)


class Progress:
    """A tqdm bar (``True``), a callback ``f(done, total)`` or nothing (``False``)."""

    def __init__(self, total: int, desc: str, progress: bool | Callable[[int, int], Any]):
        self.total, self.done, self._bar, self._call = total, 0, None, None
        if callable(progress):
            self._call = progress
        elif progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # the bar is a convenience: no tqdm, no bar
                return
            self._bar = tqdm(total=total, desc=desc, unit="frame")

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        if self._call is not None:
            self._call(self.done, self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def block_frames(source: Source, chunk_mb: float, multiple: int = 1) -> int:
    """Frames per block so that one block of every stream is about ``chunk_mb`` MiB."""
    rows, cols = source.frame_shape
    frame = max(1, rows * cols * np.dtype(source.dtype).itemsize * len(source.streams))
    n = max(1, int(chunk_mb * 2**20 // frame))
    return max(multiple, n // multiple * multiple)


def iter_blocks(source: Source, chunk_mb: float, *, multiple: int = 1, n: int | None = None
                ) -> Iterator[tuple[int, list[np.ndarray]]]:
    """Yield ``(first_frame, [block of each stream])``, each block ``(k, rows, cols)``.

    The memory maps behind the input are dropped after each block (those of the frame
    headers/footers too, which the caller may read while it holds the block), so RSS
    stays bounded by the block size whatever the movie's length.
    """
    n = source.num_frames if n is None else n
    step = block_frames(source, chunk_mb, multiple)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        blocks = [np.asarray(s.data[lo:hi]) for s in source.streams]
        for s in source.streams:
            release(s.data)
        yield lo, blocks
        for s in source.streams:
            release(s.headers)
            release(s.footers)


def frame_header_parts(source: Source) -> list[tuple[str, Any]]:
    """``(name, lazy (T, 2560) array)`` of the raw nVista 3 frame headers and footers a
    store keeps beside the frames of a whole movie (so that it converts back to
    ``.isxd`` with them); none for other sources."""
    stream = source.streams[0]
    if len(source.streams) != 1 or stream.headers is None:
        return []
    return [("frame_headers", stream.headers), ("frame_footers", stream.footers)]


#: frames per chunk of the stores' frame header/footer arrays
HEADER_CHUNK_FRAMES = 256


# ---------------------------------------------------------------- metadata
def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _stream_meta(s: Stream) -> dict[str, Any]:
    out: dict[str, Any] = {"label": s.label, "num_frames": len(s),
                           "num_valid_frames": int(np.count_nonzero(s.valid))}
    if s.timing is not None:
        out["timing"] = s.timing.to_json()
        out["sampling_rate_hz"] = s.timing.sampling_rate
    if s.file_timing is not None and s.file_timing != s.timing:
        out["file_timing"] = s.file_timing.to_json()
    if s.efocus is not None:
        out["efocus"] = s.efocus
    idx = s.index
    if idx is not None and len(idx) and not np.array_equal(idx, np.arange(len(idx))):
        steps = np.unique(np.diff(idx))
        out["source_frames"] = ({"start": int(idx[0]), "stop": int(idx[-1]) + 1,
                                 "step": int(steps[0]) if len(steps) else 1}
                                if len(steps) <= 1 else "see the source_index array")
    return out


def metadata_block(source: Source, user: dict[str, Any] | None = None, *,
                   keep_trailer: bool = False, **more: Any) -> dict[str, Any]:
    """The ``isxio`` metadata every target stores (JSON-able).

    Exact timing (rational period and start, invalid frames) of every stream, the
    spacing, the source's acquisition metadata verbatim, selections and conversions.
    Frame indices are 0-based.  With ``keep_trailer`` (the stores that convert back to
    ``.isxd``), the JSON text of the source ``.isxd`` trailer of a whole movie is kept
    verbatim as ``source_trailer``.
    """
    import isxio

    out = {
        "producer": f"isxio {isxio.__version__}",
        "source": source.name,
        "source_kind": source.kind,
        "dim_order": "T" + ("Z" if source.axis == "z" else "C" if source.axis == "c"
                            else "") + "YX" if len(source.streams) > 1 else "TYX",
        "dtype": np.dtype(source.dtype).name,
        "indices": "0-based",
        "streams": [_stream_meta(s) for s in source.streams],
        "spacing": source.spacing.to_json() if source.spacing is not None else None,
        "extra_properties": source.extra_properties,
    }
    if source.producer:
        out["isxd_producer"] = source.producer
    if user:
        out["user"] = user
    if keep_trailer and source.trailer is not None and len(source.streams) == 1:
        out["source_trailer"] = source.trailer.decode("utf-8")
    out.update(more)
    return _jsonable(out)


def dumps(meta: dict[str, Any]) -> str:
    return json.dumps(meta, separators=(",", ":"))


def side_arrays(source: Source) -> dict[str, np.ndarray]:
    """Per-frame arrays stored beside the frames: ``(T,)`` or ``(T, streams)``.

    ``valid`` (bool), ``offsets`` (s from each stream's start, NaN where invalid),
    ``timestamps`` (s since the Unix epoch), ``tsc`` (µs; only if every stream has
    them), ``source_index`` (0-based frame numbers in the source).
    """
    n, streams = source.num_frames, source.streams
    cols: dict[str, list[np.ndarray]] = {"valid": [], "source_index": []}
    times: list[np.ndarray] = []
    for s in streams:
        cols["valid"].append(s.valid[:n])
        cols["source_index"].append(np.asarray(s.index[:n], np.int64))
        if s.offsets is not None:
            times.append(np.asarray(s.offsets[:n], np.float64))
    if len(times) == len(streams):
        cols["offsets"] = times
        if all(s.timing is not None for s in streams):
            cols["timestamps"] = [t + s.timing.start.seconds for t, s in zip(times, streams,
                                                                          strict=True)]
    if all(s.tsc is not None for s in streams):
        cols["tsc"] = [np.asarray(s.tsc[:n], np.uint64) for s in streams]
    return {k: v[0] if len(v) == 1 else np.stack(v, axis=1) for k, v in cols.items()}
