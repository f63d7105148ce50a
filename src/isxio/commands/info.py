"""``isxio info``: what an Inscopix file holds, as a dict or one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["describe", "one_line"]

#: reader attribute -> key of the description
COUNTS = (("num_cells", "cells"), ("num_vessels", "vessels"), ("num_channels", "channels"))


def _timing(timing: Any) -> dict[str, Any]:
    start = timing.start.to_datetime(local=True)
    return {"start": start.isoformat(), "samples": int(timing.num_samples),
            "rate_hz": float(timing.sampling_rate),
            "dropped": len(timing.dropped),
            "cropped": int(sum(hi - lo + 1 for lo, hi in timing.cropped)),
            "invalid": int(timing.num_samples - int(timing.valid_mask().sum()))}


def describe(path: str | Path) -> dict[str, Any]:
    """Kind, shape, counts, start time (with its UTC offset), dropped/cropped, planes."""
    from ..api import open as open_file
    from ..planes import num_planes

    path = Path(path)
    reader = open_file(path)
    out: dict[str, Any] = {"file": str(path), "kind": type(reader).__name__}
    data = getattr(reader, "data", None)
    if data is not None and hasattr(data, "shape"):
        out["shape"] = [int(n) for n in data.shape]
        out["dtype"] = str(data.dtype)
    for attr, key in COUNTS:
        if hasattr(reader, attr):
            out[key] = int(getattr(reader, attr))
    timing = getattr(reader, "timing", None)
    if timing is not None and hasattr(timing, "start"):
        out.update(_timing(timing))
    extra = getattr(reader, "extra_properties", None)
    if out["kind"] == "MovieFile":
        out["planes"] = num_planes(extra if isinstance(extra, dict) else None)
    if hasattr(reader, "close"):
        reader.close()
    return out


def one_line(info: dict[str, Any]) -> str:
    """The description as one line (``name: Kind, data (...), ...``)."""
    parts = [f"{Path(info['file']).name}: {info['kind']}"]
    if "shape" in info:
        parts.append(f"data {tuple(info['shape'])} {info['dtype']}")
    parts += [f"{info[key]} {key}" for _, key in COUNTS if key in info]
    if "samples" in info:
        parts.append(f"{info['samples']} samples @ {info['rate_hz']:.4g} Hz from "
                     f"{info['start']}, {info['dropped']} dropped, {info['cropped']} cropped, "
                     f"{info['invalid']} invalid")
    if info.get("planes", 1) > 1:
        parts.append(f"{info['planes']} planes")
    return ", ".join(parts)
