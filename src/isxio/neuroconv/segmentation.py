"""``InscopixSegmentationInterface``: an Inscopix cell set to a ``PlaneSegmentation`` and traces.

Image masks, ``cell_status`` / ``is_accepted`` and cell-metric columns, and the traces
as a ``RoiResponseSeries`` with their timestamps, in ``DfOverF`` when the file's trace
units are dF/F and in ``Fluorescence`` otherwise (its description names the units:
dF over noise, raw fluorescence).  neuroconv writes the ROIs; the traces are written
here because neuroconv 0.10 puts every trace into ``Fluorescence``.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, Literal

from neuroconv.datainterfaces.ophys.basesegmentationextractorinterface import (
    BaseSegmentationExtractorInterface,
)
from neuroconv.tools.hdmf import SliceableDataChunkIterator
from neuroconv.tools.nwb_helpers import get_module
from neuroconv.tools.roiextractors import add_segmentation_to_nwbfile
from neuroconv.utils import DeepDict, dict_deep_update
from neuroconv.utils.checks import calculate_regular_series_rate
from pydantic import FilePath, validate_call
from pynwb import NWBFile
from pynwb.ophys import DfOverF, Fluorescence, RoiResponseSeries

from ..roiextractors.segmentation import InscopixSegmentationExtractor
from ._metadata import (
    device_entries,
    imaging_plane_description,
    nwbfile_entries,
    spacing_entries,
    subject_entries,
    warn_missing_dandi_fields,
)

__all__ = ["TRACE_UNITS", "InscopixSegmentationInterface"]

#: the file's "Trace Units" -> (NWB container of the traces, words for their description)
TRACE_UNITS = {
    "dF over F": ("DfOverF", "dF/F (change in fluorescence over baseline fluorescence)"),
    "dF over noise": ("Fluorescence", "dF over noise (change in fluorescence over the "
                                      "noise level)"),
    "raw": ("Fluorescence", "raw fluorescence"),
}
CONTAINERS = {"DfOverF": DfOverF, "Fluorescence": Fluorescence}


class InscopixSegmentationInterface(BaseSegmentationExtractorInterface):
    """An Inscopix cell set (``.isxd``) to NWB: ROIs, statuses, metrics and traces.

    Parameters
    ----------
    file_path
        The cell set (a local path or a URL).  A cell set with zero cells converts:
        nothing is written for it, and a warning says so.
    verbose
        Print progress.
    metadata_key
        Key of this interface's entries in ``metadata["Ophys"]`` (default
        ``"inscopix_segmentation"``).  To link the ROIs to the imaging plane of a movie
        converted alongside, set ``metadata["Ophys"]["PlaneSegmentations"][key]
        ["imaging_plane_metadata_key"]`` to the imaging interface's key (the session
        converter does this).
    """

    display_name = "Inscopix Segmentation"
    associated_suffixes = (".isxd",)
    info = "Interface for Inscopix cell sets, read by isxio (no isx needed)."

    @classmethod
    def get_extractor_class(cls) -> type[InscopixSegmentationExtractor]:
        return InscopixSegmentationExtractor

    @validate_call
    def __init__(self, file_path: FilePath | str, *, verbose: bool = False,
                 metadata_key: str | None = None) -> None:
        super().__init__(file_path=file_path, verbose=verbose,
                         metadata_key=metadata_key or "inscopix_segmentation")

    def _initialize_extractor(self, interface_kwargs: dict) -> InscopixSegmentationExtractor:
        self.extractor_kwargs = {"file_path": interface_kwargs["file_path"]}
        return InscopixSegmentationExtractor(**self.extractor_kwargs)

    def _trace_kind(self) -> tuple[str, str]:
        units = self.segmentation_extractor._get_analysis_info().get("trace_units")
        return TRACE_UNITS.get(units, ("Fluorescence", units or "unknown units"))

    def get_metadata(self, *, use_new_metadata_format: bool = True) -> DeepDict:
        """NWBFile, Subject, Devices and Ophys metadata taken from the cell set."""
        metadata = super().get_metadata(use_new_metadata_format=True)
        ext = self.segmentation_extractor
        meta = ext._get_metadata()
        metadata["NWBFile"].update(nwbfile_entries(meta, "cell segmentation"))
        subject = subject_entries(meta)
        if subject:
            metadata["Subject"] = dict_deep_update(metadata.get("Subject", {}), subject)
        device_key, devices, models = device_entries(meta)
        metadata["Devices"], metadata["DeviceModels"] = devices, models
        analysis = meta.get("analysis", {})
        method = analysis.get("cell_identification_method")
        container, words = self._trace_kind()
        key = self.metadata_key
        channel = meta["device"].get("channel")
        metadata["Ophys"] = {
            "ImagingPlanes": {key: {
                "name": "ImagingPlane",
                "description": imaging_plane_description(
                    meta["device"], "Field of view imaged by the Inscopix microscope"),
                "imaging_rate": ext.get_sampling_frequency(),
                "device_metadata_key": device_key,
                "optical_channel": [{"name": channel or "OpticalChannel",
                                     "description": f"{channel or 'the'} emission channel"}],
                **spacing_entries(ext.cell_set.spacing, meta["device"].get("efocus")),
            }},
            "PlaneSegmentations": {key: {
                "name": "PlaneSegmentation",
                "description": "Cells identified by Inscopix software"
                               + (f" ({method})" if method else ""),
                "imaging_plane_metadata_key": key,
            }},
            "RoiResponses": {key: {"raw": {
                "name": "RoiResponseSeries",
                "description": f"Cell traces in {words}, as computed by Inscopix software "
                               f"(written to {container})",
                "unit": "n.a.",
            }}},
        }
        return metadata

    def add_to_nwbfile(self, nwbfile: NWBFile, metadata: dict | None = None, *,
                       stub_test: bool = False, stub_samples: int = 100,
                       mask_type: Literal["image", "pixel", "voxel"] = "image",
                       include_roi_centroids: bool = True,
                       iterator_options: dict | None = None,
                       roi_ids_to_add: list[str] | None = None, **_: Any) -> None:
        """Add the ROIs, their properties and traces (nothing, with a warning, if 0 cells)."""
        ext = self.segmentation_extractor
        if ext.get_num_rois() == 0:
            warnings.warn(f"{ext.file_path}: the cell set has no cells; no PlaneSegmentation "
                          "or traces are written for it", UserWarning, stacklevel=2)
            return
        metadata = dict_deep_update(self.get_metadata(), metadata or {})
        warn_missing_dandi_fields(metadata, type(self).__name__)
        if roi_ids_to_add is not None:
            ext = ext.select_rois(roi_ids=roi_ids_to_add)
        if stub_test:
            ext = ext.slice_samples(0, min(stub_samples, ext.get_num_samples()))
        # neuroconv writes the ROIs; the traces are written below, into the container
        # their units call for (neuroconv 0.10 puts every trace into Fluorescence)
        masks_only = copy.copy(ext)
        masks_only._roi_responses = []
        responses = metadata["Ophys"].pop("RoiResponses", {})
        add_segmentation_to_nwbfile(segmentation_extractor=masks_only, nwbfile=nwbfile,
                                    metadata=metadata, mask_type=mask_type,
                                    include_roi_centroids=include_roi_centroids,
                                    iterator_options=iterator_options,
                                    metadata_key=self.metadata_key)
        name = metadata["Ophys"]["PlaneSegmentations"][self.metadata_key]["name"]
        table = nwbfile.processing["ophys"]["ImageSegmentation"][name]
        _describe_columns(table, ext)
        trace_metadata = responses.get(self.metadata_key, {}).get("raw")
        if trace_metadata:
            _add_traces(nwbfile, ext, table, self._trace_kind()[0], trace_metadata,
                        iterator_options)


def _add_traces(nwbfile: NWBFile, ext: Any, table: Any, container_name: str,
                trace_metadata: dict[str, Any], iterator_options: dict | None) -> None:
    """The "raw" response as a RoiResponseSeries in ``container_name``, chunk by chunk."""
    ophys = get_module(nwbfile, "ophys", description="contains optical physiology processed data")
    if container_name not in ophys.data_interfaces:
        ophys.add(CONTAINERS[container_name](name=container_name))
    names = list(table["roi_name"][:])
    region = table.create_roi_table_region(
        region=[names.index(str(roi)) for roi in ext.get_roi_ids()],
        description=f"The ROIs of {table.name}.")
    stamps = ext.get_timestamps()
    rate = calculate_regular_series_rate(series=stamps) if len(stamps) > 1 else None
    timing = ({"rate": rate, "starting_time": float(stamps[0])} if rate is not None
              else {"timestamps": stamps})
    data = SliceableDataChunkIterator(ext.get_traces_dict()["raw"], **(iterator_options or {}))
    ophys[container_name].add_roi_response_series(
        RoiResponseSeries(data=data, rois=region, **trace_metadata, **timing))


def _describe_columns(table: Any, ext: Any) -> None:
    """Give the property columns the extractor's descriptions (neuroconv leaves them empty)."""
    for key in ext.get_property_keys():
        column = table[key]
        if not column.description:
            column.fields["description"] = ext.get_property_info(key).description
