"""roiextractors extractors on isxio's readers (optional extra ``isxio[nwb]``).

Drop-in replacements for roiextractors' isx-backed Inscopix classes that read the
files themselves (no ``isx``), lazily, with native timestamps, multiplane and
dual-colour selection, traces registered as responses, and event sets; plus
:func:`write_imaging` / :func:`write_segmentation`, which write any roiextractors
extractor back to ``.isxd``.
"""

from __future__ import annotations

from .._optional import lazy_exports, require

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


__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
