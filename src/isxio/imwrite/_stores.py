"""Stores written by imwrite (``.zarr``, ``.h5``) read back as a :class:`Source`.

The ``isxio`` metadata block gives back the exact timing, spacing and acquisition
metadata, the side arrays the hardware timestamps and raw frame headers; so a movie
converted ``.isxd -> .zarr -> .isxd`` keeps its frames and timing exactly.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .._optional import require
from ..formats.common import Ratio, SpacingInfo
from ._source import Source, Stream, timing_from_json

__all__ = ["is_store", "read_store"]


def is_store(path: str) -> bool:
    """True for a ``.zarr`` directory, or an HDF5 file imwrite wrote."""
    low = path.lower().rstrip("/\\")
    if low.endswith(".zarr") and os.path.isdir(path):
        return True
    if low.endswith((".h5", ".hdf5")) and os.path.isfile(path):
        h5py = require("h5py", "hdf5", "reading HDF5 stores")
        with h5py.File(path, "r") as f:
            return "isxio" in f.attrs
    return False


class _Frames:
    """Frames ``(T, Y, X)`` of a zarr/h5 array, optionally one index of axis 1."""

    def __init__(self, arr: Any, k: int | None) -> None:
        self.arr, self.k = arr, k
        self.shape = (arr.shape[0], *arr.shape[-2:])
        self.dtype = np.dtype(arr.dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice | int | np.integer):
            out = np.asarray(self.arr[key])
        else:
            idx = np.asarray(key)
            out = np.asarray(self.arr.oindex[idx] if hasattr(self.arr, "oindex")
                             else self.arr[idx])
        if self.k is None:
            return out
        return out[self.k] if out.ndim == 3 else out[:, self.k]


def _spacing(d: dict[str, Any] | None, shape: tuple[int, int]) -> SpacingInfo:
    if not d:
        return SpacingInfo(*shape)

    def r(v: dict[str, Any]) -> Ratio:
        return Ratio(int(v["num"]), int(v["den"]))

    return SpacingInfo(int(d["numPixels"]["y"]), int(d["numPixels"]["x"]),
                       (r(d["pixelSize"]["x"]), r(d["pixelSize"]["y"])),
                       (r(d["topLeft"]["x"]), r(d["topLeft"]["y"])))


def _column(side: dict[str, Any], name: str, k: int, many: bool) -> np.ndarray | None:
    if name not in side:
        return None
    values = np.asarray(side[name][...])
    return values[:, k] if many else values


def _source(meta: dict[str, Any], frames: Any, side: dict[str, Any], name: str) -> Source:
    many = frames.ndim == 4
    streams = []
    for k, sm in enumerate(meta["streams"]):
        timing = timing_from_json(sm["timing"]) if "timing" in sm else None
        file_timing = timing_from_json(sm["file_timing"]) if "file_timing" in sm else None
        streams.append(Stream(_Frames(frames, k if many else None), sm.get("label", ""),
                              timing, file_timing, _column(side, "offsets", k, many),
                              _column(side, "tsc", k, many),
                              side.get("frame_headers"), side.get("frame_footers"),
                              sm.get("efocus")))
    axis = meta["dim_order"][1].lower() if many else ""
    text = meta.get("source_trailer")  # a whole .isxd movie's trailer, verbatim
    return Source(streams, axis, _spacing(meta.get("spacing"), tuple(frames.shape[-2:])),
                  np.dtype(frames.dtype), meta.get("extra_properties"), name, "store",
                  meta.get("isxd_producer"),
                  text.encode("utf-8") if isinstance(text, str) and not many else None)


def read_store(path: str) -> Source:
    """The movie of a ``.zarr`` or ``.h5`` store imwrite (or ``export_movie_to_*``) wrote."""
    name = os.path.basename(path.rstrip("/\\"))
    if path.lower().endswith((".h5", ".hdf5")):
        h5py = require("h5py", "hdf5", "reading HDF5 stores")
        f = h5py.File(path, "r")  # kept open by the lazy arrays; closed with them
        meta = json.loads(f.attrs["isxio"])
        side = dict(f["isxio"].items()) if "isxio" in f else {}
        if "streams" not in meta:  # written by the first export_movie_to_hdf5
            frames = [k for k, v in f.items() if isinstance(v, h5py.Dataset) and v.ndim == 3]
            if len(frames) != 1:
                f.close()
                raise ValueError(f"{path}: expected one 3-D frame dataset, found {frames}")
            meta, side = _first_layout(meta, f, frames[0])
        return _source(meta, f[meta.get("dataset", "mov")], side, name)
    zarr = require("zarr", "zarr", "reading Zarr stores")
    group = zarr.open_group(path, mode="r")
    meta = dict(group.attrs).get("isxio")
    if meta is None:
        raise ValueError(f"{path}: not written by isxio.imwrite (no 'isxio' attribute)")
    side = dict(group["isxio"].arrays()) if "isxio" in group else {}
    if "streams" not in meta:  # written by the first export_movie_to_zarr
        meta, side = _first_layout(meta, group, "0")
    return _source(meta, group["0"], side, name)


def _first_layout(meta: dict[str, Any], root: Any, frames: str
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metadata and side arrays of a store of the first ``export_movie_to_zarr/_hdf5``.

    Those wrote the frames ``(T, Y, X)``, root-level ``valid`` and ``tsc`` and an
    ``isxio`` attribute with one ``timing`` (and no ``streams``).
    """
    meta = {**meta, "streams": [{"timing": meta["timing"]}], "dim_order": "TYX",
            "dataset": frames}
    return meta, ({"tsc": root["tsc"]} if "tsc" in root else {})
