"""The JSON dialect of isxcore: exact serialisation and tolerant parsing.

isxcore writes JSON pretty-printed with 4-space indentation, keys sorted by their
UTF-8 bytes, one array element per line, raw UTF-8, floats as C ``%.15g`` (zero as
``0.0``) and no trailing newline (spec ``isxd.md`` §1.4).  :func:`dumps` reproduces
that byte for byte; :func:`loads` parses any valid JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["dumps", "format_float", "loads"]


def format_float(value: float) -> str:
    """Format a float as isxcore does (``%.15g``; zero as ``0.0``/``-0.0``; NaN/inf as null)."""
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if not math.isfinite(value):
        return "null"
    return f"{value:.15g}"


def _scalar(value: Any) -> str | None:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):  # includes numpy-free Python ints of any size
        return str(int(value))
    if isinstance(value, float):
        return format_float(value)
    # numpy scalars (not arrays) without importing numpy here
    if getattr(value, "ndim", 0) != 0:
        return None
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind in ("i", "u"):
        return str(int(value))
    if kind == "f":
        return format_float(float(value))
    if kind == "b":
        return "true" if bool(value) else "false"
    return None


def _emit(value: Any, indent: int, out: list[str]) -> None:
    text = _scalar(value)
    if text is not None:
        out.append(text)
        return
    pad = " " * (indent + 4)
    if isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        items = sorted(value.items(), key=lambda kv: str(kv[0]).encode("utf-8"))
        out.append("{\n")
        for n, (key, item) in enumerate(items):
            out.append(pad + json.dumps(str(key), ensure_ascii=False) + ": ")
            _emit(item, indent + 4, out)
            out.append(",\n" if n < len(items) - 1 else "\n")
        out.append(" " * indent + "}")
        return
    if isinstance(value, Sequence) or hasattr(value, "tolist"):
        seq = value.tolist() if hasattr(value, "tolist") else list(value)
        if not seq:
            out.append("[]")
            return
        out.append("[\n")
        for n, item in enumerate(seq):
            out.append(pad)
            _emit(item, indent + 4, out)
            out.append(",\n" if n < len(seq) - 1 else "\n")
        out.append(" " * indent + "]")
        return
    raise TypeError(f"cannot serialise {type(value).__name__} to isxd JSON")


def dumps(obj: Any) -> str:
    """Serialise ``obj`` exactly as isxcore does (no trailing newline)."""
    out: list[str] = []
    _emit(obj, 0, out)
    return "".join(out)


def loads(text: str) -> Any:
    """Parse JSON text (any valid JSON; also NaN/Infinity tokens)."""
    return json.loads(text)
