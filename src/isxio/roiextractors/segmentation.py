"""``InscopixSegmentationExtractor``: an Inscopix cell set as a roiextractors extractor.

Footprints and traces stay memory-mapped (the image masks are a zero-copy
``(rows, columns, cells)`` view of the file, the traces a ``(time, cells)`` view); the
traces are registered as the "raw" response so that neuroconv writes them; statuses and
cell metrics are ROI properties.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
from roiextractors import SegmentationExtractor
from roiextractors.segmentationextractor import _ROIMasks, _RoiResponse

from ..api import open as open_file
from ..errors import IsxFormatWarning, IsxTypeError
from ..formats.cellset import STATUS_NAMES, CellSetFile
from ..formats.common import Time
from ._metadata import InscopixMetadataMixin
from ._subset import PropertySubsetMixin

__all__ = ["CELL_METRIC_PROPERTIES", "InscopixSegmentationExtractor"]

#: ROI property -> (position in a ``cellMetrics`` entry, sub-key or None, description)
CELL_METRIC_PROPERTIES: dict[str, tuple[int, str | None, str]] = {
    "num_components": (0, None, "Number of connected components of the footprint"),
    "overall_center_x": (1, "x", "Centre of the whole footprint, column (pixels)"),
    "overall_center_y": (1, "y", "Centre of the whole footprint, row (pixels)"),
    "largest_component_center_x": (2, "x", "Centre of the largest component, column (pixels)"),
    "largest_component_center_y": (2, "y", "Centre of the largest component, row (pixels)"),
    "overall_area": (3, None, "Area of the whole footprint (pixels)"),
    "largest_component_area": (4, None, "Area of the largest component (pixels)"),
    "overall_max_contour_width": (5, None, "Largest contour width of the footprint (pixels)"),
    "largest_component_max_contour_width": (
        6, None, "Largest contour width of the largest component (pixels)"),
}

STATUS_DESCRIPTION = "Cell status set in Inscopix software: accepted, undecided or rejected"
ACCEPTED_DESCRIPTION = "True where the cell status is 'accepted'"


def _unique_ids(names: list[str], path: str) -> list[str]:
    """Cell names as ROI ids; a repeated name gets its index appended (with a warning)."""
    if len(set(names)) == len(names):
        return names
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    repeated = sorted(n for n, k in seen.items() if k > 1)
    warnings.warn(f"{path}: cell names {repeated} repeat; their ROI ids get the cell index "
                  "appended ('name#index')", IsxFormatWarning, stacklevel=3)
    return [f"{n}#{i}" if seen[n] > 1 else n for i, n in enumerate(names)]


def _metric_values(metrics: list[Any], position: int, sub: str | None) -> np.ndarray:
    """One metric of every cell (NaN where a cell has no metrics)."""
    out = np.full(len(metrics), np.nan)
    for i, entry in enumerate(metrics):
        if isinstance(entry, list):
            value = entry[position]
            out[i] = value[sub] if sub is not None else value
    return out


class InscopixSegmentationExtractor(PropertySubsetMixin, InscopixMetadataMixin,
                                    SegmentationExtractor):
    """An Inscopix cell set (``.isxd``) as a roiextractors SegmentationExtractor.

    Parameters
    ----------
    file_path
        The cell set.  A cell set with zero cells is a valid, empty extractor.

    Notes
    -----
    ROI ids are the cell names (``"C0"``, ``"C000"``, ...) in file order; image masks are
    the footprints ``(rows, columns, cells)``; ``get_traces(name="raw")`` returns
    ``(time, cells)`` float32 with NaN at invalid samples, in the file's trace units
    (``_get_analysis_info()["trace_units"]``).  ROI properties: ``cell_status``,
    ``is_accepted`` and, when the file has them, the cell metrics
    (:data:`CELL_METRIC_PROPERTIES`).
    """

    extractor_name = "InscopixSegmentation"

    def __init__(self, file_path: str | os.PathLike[str]) -> None:
        super().__init__()
        self._file_path = os.fspath(file_path)
        reader = open_file(file_path)
        if not isinstance(reader, CellSetFile):
            raise IsxTypeError(file_path, "not a cell set (InscopixSegmentationExtractor "
                               "reads cell-set .isxd files)", expected="a cell set",
                               found=type(reader).__name__)
        self.cell_set = reader
        self._roi_ids = _unique_ids(reader.names, self._file_path)
        self._sampling_frequency = reader.timing.sampling_rate
        self._roi_masks = _ROIMasks(
            data=np.moveaxis(reader.footprints[:], 0, -1),
            mask_tpe="nwb-image_mask",
            field_of_view_shape=reader.spacing.shape,
            roi_id_map={roi: i for i, roi in enumerate(self._roi_ids)},
        )
        traces = reader.traces[:].T  # (time, cells) view of the memory map
        self._roi_responses.append(_RoiResponse("raw", traces, list(self._roi_ids)))
        self._set_properties()

    def _set_properties(self) -> None:
        reader, ids = self.cell_set, self._roi_ids
        statuses = np.array([STATUS_NAMES[s] for s in reader.statuses], dtype="U9")
        self.set_property("cell_status", statuses, ids, description=STATUS_DESCRIPTION)
        self.set_property("is_accepted", statuses == "accepted", ids,
                          description=ACCEPTED_DESCRIPTION)
        metrics = reader.cell_metrics
        if metrics is None:
            return
        for key, (position, sub, description) in CELL_METRIC_PROPERTIES.items():
            self.set_property(key, _metric_values(metrics, position, sub), ids,
                              description=description)

    # ------------------------------------------------------------ roiextractors API
    def get_frame_shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the footprints."""
        return tuple(self.cell_set.spacing.shape)  # type: ignore[return-value]

    def get_image_shape(self) -> tuple[int, int]:
        return self.get_frame_shape()

    def get_num_samples(self) -> int:
        return self.cell_set.timing.num_samples

    def get_num_rois(self) -> int:
        return len(self._roi_ids)

    def get_native_timestamps(self, start_sample: int | None = None,
                              end_sample: int | None = None) -> np.ndarray:
        """Seconds from the cell set's start time, one per sample (``k × period``)."""
        return self.cell_set.timing.offsets()[start_sample:end_sample]

    def get_invalid_sample_mask(self) -> np.ndarray:
        """True for samples that are dropped, cropped or blank (NaN in the traces)."""
        return ~self.cell_set.valid_mask

    # ------------------------------------------------------------ isxio extras
    @property
    def file_path(self) -> str:
        return self._file_path

    def _extra_properties(self) -> dict[str, Any] | None:
        return self.cell_set.extra_properties

    def _start(self) -> Time:
        return self.cell_set.timing.start

    def _get_device_info(self) -> dict[str, Any]:
        info = super()._get_device_info()
        focus = set(self.cell_set.efocus_values) - {0}
        if "efocus" not in info and len(focus) == 1:
            info["efocus"] = focus.pop()
        return info
