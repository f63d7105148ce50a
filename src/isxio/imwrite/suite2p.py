"""Suite2p binary target (``.bin``): ``<out>/plane<k>/data.bin`` + the settings files.

Layout (``out`` is Suite2p's ``save_path0/save_folder``, a ``.bin`` suffix removed)::

    out/db.npy, out/settings.npy          Suite2p 1.x, whole recording
    out/bad_frames.npy                    invalid (dropped/cropped/blank) frames, if any
    out/plane<k>/data.bin                 raw little-endian int16 (nframes, Ly, Lx)
    out/plane<k>/data_chan2.bin           second colour channel, if any
    out/plane<k>/db.npy, settings.npy     Suite2p 1.x (run_s2p finds and runs them)
    out/plane<k>/ops.npy                  Suite2p 0.x (Ly, Lx, nframes, fs, reg_file, ...)
    out/plane<k>/isxio.json               source metadata, exact timing, int16 conversion

Planes are numbered from 0 (``plane0`` is the source's first plane).  Pixels are
converted to int16 as :mod:`isxio.imwrite._int16` describes; the conversion is stored in
``isxio.json`` and under ``"isxio"`` in the ``.npy`` dicts.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Any

import numpy as np

from ._int16 import Int16Conversion, choose_int16
from ._output import Progress, atomic_output, iter_blocks, metadata_block
from ._source import Source

__all__ = ["HOLDS_STREAMS", "output_name", "write"]

HOLDS_STREAMS = True


def output_name(out: str) -> str:
    """The folder written for ``out`` (``x.bin`` -> ``x``)."""
    return out[:-4] if out.lower().endswith(".bin") else out


def _fs(source: Source, k: int) -> float:
    timing = source.streams[k].timing
    return float(timing.sampling_rate) if timing is not None else 0.0


def _db(final: str, plane: int, folders: int, source: Source, n: int, fs: float) -> dict:
    """Suite2p 1.x ``db`` of one plane folder (paths are the final ones)."""
    save = os.path.join(final, f"plane{plane}")
    rows, cols = source.frame_shape
    db = {"data_path": [final], "input_format": "binary", "look_one_level_down": False,
          "keep_movie_raw": False, "nplanes": folders, "nrois": 1,
          "nchannels": 2 if source.axis == "c" else 1, "functional_chan": 1,
          "save_path0": os.path.dirname(final), "save_folder": os.path.basename(final),
          "fast_disk": save, "save_path": save, "iplane": plane, "nframes": n,
          "Ly": rows, "Lx": cols, "fs": fs, "reg_file": os.path.join(save, "data.bin"),
          "db_path": os.path.join(save, "db.npy"),
          "settings_path": os.path.join(save, "settings.npy")}
    if source.axis == "c":
        db["reg_file_chan2"] = os.path.join(save, "data_chan2.bin")
    return db


def _ops(db: dict) -> dict:
    """Suite2p 0.x ``ops`` of one plane folder."""
    keys = ("data_path", "input_format", "look_one_level_down", "keep_movie_raw", "nplanes",
            "nchannels", "functional_chan", "save_path0", "save_folder", "fast_disk",
            "save_path", "nframes", "Ly", "Lx", "fs", "reg_file", "reg_file_chan2")
    ops = {k: db[k] for k in keys if k in db}
    ops["ops_path"] = os.path.join(db["save_path"], "ops.npy")
    ops["do_registration"] = 1
    return ops


def _plane_groups(source: Source) -> list[Source]:
    """One source per plane folder: each plane, or all channels together."""
    if source.axis == "z":
        return [source.single(k) for k in range(len(source.streams))]
    if len(source.streams) > 2:
        raise ValueError(f"Suite2p holds at most 2 colour channels, got {len(source.streams)}")
    return [source]


def _write_plane(part: Source, folder: str, conv: Int16Conversion, chunk_mb: float,
                 bar: Progress) -> int:
    names = ["data.bin", "data_chan2.bin"][:len(part.streams)]
    n = part.num_frames
    files = [open(os.path.join(folder, name), "wb") for name in names]
    try:
        for _, blocks in iter_blocks(part, chunk_mb, n=n):
            for f, block in zip(files, blocks, strict=True):
                f.write(memoryview(np.ascontiguousarray(conv.convert(block))).cast("B"))
            bar.update(len(blocks[0]))
    finally:
        for f in files:
            f.close()
    return n


def write(source: Source, out: str, *, overwrite: bool, chunk_mb: float,
          progress: Any, metadata: dict | None, int16: str | None = None,
          int16_range: tuple[float, float] | None = None) -> list[str]:
    """Write ``source`` as Suite2p binaries under ``out``; return the plane folders."""
    final = os.path.abspath(output_name(out))
    conv = choose_int16(source, int16, chunk_mb, int16_range)
    groups = _plane_groups(source)
    bar = Progress(sum(g.num_frames for g in groups), "Suite2p", progress)
    folders = []
    try:
        with atomic_output(final, overwrite=overwrite, directory=True) as tmp:
            top = {}
            for k, part in enumerate(groups):
                folder = os.path.join(tmp, f"plane{k}")
                os.mkdir(folder)
                pconv = replace(conv)  # counts of this plane only
                n = _write_plane(part, folder, pconv, chunk_mb, bar)
                meta = metadata_block(part, metadata, plane=k,
                                      int16=pconv.report(f"{final} plane{k}"))
                db = _db(final, k, len(groups), part, n, _fs(part, 0))
                db["isxio"] = meta
                np.save(os.path.join(folder, "db.npy"), db)
                np.save(os.path.join(folder, "settings.npy"), {"fs": db["fs"]})
                np.save(os.path.join(folder, "ops.npy"), {**_ops(db), "isxio": meta})
                with open(os.path.join(folder, "isxio.json"), "w", encoding="utf-8") as f:
                    json.dump(meta, f, indent=1)
                top = top or {k2: v for k2, v in db.items() if k2 not in ("iplane",)}
                folders.append(os.path.join(final, f"plane{k}"))
            _write_top(tmp, top, source)
    finally:
        bar.close()
    return folders


def _write_top(tmp: str, db: dict, source: Source) -> None:
    """Recording-level ``db.npy``/``settings.npy`` and ``bad_frames.npy`` (invalid frames)."""
    np.save(os.path.join(tmp, "db.npy"), {**db, "save_path": db["save_path0"]})
    np.save(os.path.join(tmp, "settings.npy"), {"fs": db.get("fs", 0.0)})
    n = source.num_frames
    bad = np.zeros(n, bool)
    for s in source.streams:
        bad |= ~s.valid[:n]
    if bad.any():
        np.save(os.path.join(tmp, "bad_frames.npy"), np.flatnonzero(bad))
