"""roiextractors extractors on isxio's readers (optional extra ``isxio[nwb]``).

Drop-in replacements for roiextractors' isx-backed Inscopix classes that read the
files themselves (no ``isx``), lazily, with native timestamps, multiplane and
dual-colour selection, traces registered as responses, and event sets; plus
:func:`write_imaging` / :func:`write_segmentation`, which write any roiextractors
extractor back to ``.isxd``.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._optional import require

require("roiextractors", "nwb", "isxio.roiextractors")

# public name -> submodule defining it (imported on first use)
_MODULES = {
    "InscopixEventsExtractor": "events",
    "InscopixImagingExtractor": "imaging",
    "InscopixSegmentationExtractor": "segmentation",
    "InscopixVesselSetExtractor": "vessels",
    "write_imaging": "write",
    "write_segmentation": "write",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
