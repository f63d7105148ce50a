"""Session metadata of ``.gpio`` files: the JSON after the events (spec ``other.md`` §2.1.5).

It becomes the converted file's ``extraProperties`` (with ``firstTsc`` added) and
sets the A/D clock (the channels' sample period) and channel renames: dual-colour
scopes rename the LED channels, closed-loop files the upper digital inputs.
Failures are handled step by step as isxcore handles them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import IsxFormatWarning
from .gpiodata import parse_json_stream

__all__ = ["CLOSED_LOOP_FORMAT", "apply_session", "read_session"]

#: ``fileFormat`` of closed-loop acquisitions.
CLOSED_LOOP_FORMAT = 240


def read_session(buf: np.ndarray, offset: int, path: str) -> Any:
    """The session JSON at ``offset`` (to EOF), or ``_BAD`` (with a warning) if unparsable."""
    try:
        if offset >= len(buf):
            raise ValueError(f"offset {offset} is past the end of the file ({len(buf)} bytes)")
        return parse_json_stream(bytes(buf[offset:]))
    except (ValueError, UnicodeError) as exc:
        warnings.warn(f"{path}: session metadata at byte offset {offset} does not parse "
                      f"({exc}); using the defaults (1 kHz clock, no channel renames) as "
                      "isx does", IsxFormatWarning, stacklevel=4)
        return _BAD


_BAD = object()


def _ad_clock(extra: dict[str, Any]) -> int:
    """The A/D clock (Hz) of the session metadata (spec §2.1.5); raises on bad values."""
    if "adMode" in extra:
        mode = extra["adMode"]
        if not isinstance(mode, str):
            raise ValueError("adMode is not a string")
        clock = extra[mode]["clock"]
    elif "ad" in extra:
        clock = extra["ad"]["clock"]
    elif "autoAd" in extra:
        clock = extra["autoAd"]["clock"]
    else:
        return 1000
    if isinstance(clock, bool) or not isinstance(clock, int | float) or int(clock) <= 0:
        raise ValueError(f"A/D clock must be a positive number, found {clock!r}")
    return int(clock)


def apply_session(session: Any, first: int, names: list[str], file_format: int | None,
                   path: str) -> tuple[dict[str, Any] | None, int]:
    """Extra properties (session + ``firstTsc``), clock, and channel renames in place.

    Follows isxcore's order: a failure at any step keeps what earlier steps did.
    """
    if session is _BAD:
        return None, 1000
    if session is None:  # isxcore's JSON turns null into an object on assignment
        session = {}
    if not isinstance(session, dict):
        warnings.warn(f"{path}: session metadata is not a JSON object; ignored as isx does",
                      IsxFormatWarning, stacklevel=4)
        return None, 1000
    extra = dict(session)
    extra["firstTsc"] = first
    try:
        clock = _ad_clock(extra)
    except (KeyError, TypeError, ValueError) as exc:
        warnings.warn(f"{path}: bad A/D clock in the session metadata ({exc!r}); using "
                      "1 kHz and no channel renames, as isx does", IsxFormatWarning,
                      stacklevel=4)
        return extra, 1000
    if not _dual_color_renames(extra, names):
        return extra, clock
    if file_format == CLOSED_LOOP_FORMAT:
        soft = {f"Digital GPI {4 + i}": f"SoftTrig-{1 + i}" for i in range(4)}
        names[:] = [soft.get(n, n) for n in names]
    return extra, clock


def _dual_color_renames(extra: dict[str, Any], names: list[str]) -> bool:
    """EX-LED/OG-LED -> EX-LED1/EX-LED2 on dual-colour scopes; False where isxcore throws."""
    scope = extra.get("microscope")
    if scope is None:
        return True
    if not isinstance(scope, dict):
        return False
    dual = scope.get("dualColor")
    if dual is None:
        return True
    if not isinstance(dual, dict) or not isinstance(dual.get("enabled"), bool):
        return False
    if dual["enabled"]:
        renames = {"EX-LED": "EX-LED1", "OG-LED": "EX-LED2"}
        names[:] = [renames.get(n, n) for n in names]
    return True
