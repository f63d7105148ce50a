"""ROI subsets whose properties follow the ROIs (a fix for roiextractors 0.10)."""

from __future__ import annotations

from roiextractors import SegmentationExtractor

__all__ = ["PropertySubsetMixin"]


class PropertySubsetMixin:
    """``select_rois`` with properties re-indexed to the subset.

    roiextractors 0.10's ``_RoiSlicedSegmentationExtractor`` copies the parent's property
    arrays unchanged but indexes them by the subset's ROI positions, so ``get_property``
    on a subset returns other ROIs' values.
    """

    def select_rois(self, roi_ids: list[str | int]) -> SegmentationExtractor:
        sub = super().select_rois(roi_ids)  # type: ignore[misc]
        ids = sub.get_roi_ids()
        if ids:
            for key in self.get_property_keys():  # type: ignore[attr-defined]
                sub.set_property(key, self.get_property(key, ids), ids,  # type: ignore[attr-defined]
                                 description=self.get_property_info(key).description)  # type: ignore[attr-defined]
        return sub
