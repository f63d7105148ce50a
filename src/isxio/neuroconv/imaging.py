"""``InscopixImagingInterface``: Inscopix movies to ``OnePhotonSeries``, one per plane/colour.

A neuroconv imaging interface over :class:`~isxio.roiextractors.InscopixImagingExtractor`.
Frames are written in neuroconv's orientation (time, columns, rows) by
:class:`~isxio.neuroconv._chunked.DirectWriteIterator`: neuroconv's own iterator, which
fills an HDF5 dataset configured with gzip or no compression chunk by chunk, compressing
in parallel in bounded memory (anything else - Zarr, other filters - takes neuroconv's
normal path).  By default only valid frames are written, with their own timestamps,
and each run of dropped / cropped / blank frames becomes a row of
``nwbfile.invalid_times``.  A multiplane acquisition gives one series per plane (each
with its own imaging plane, efocus and timestamps), a multiplexed dual-colour movie one
per colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from neuroconv.datainterfaces.ophys.baseimagingextractorinterface import (
    BaseImagingExtractorInterface,
)
from neuroconv.tools.roiextractors import add_imaging_to_nwbfile
from neuroconv.tools.roiextractors.imagingextractordatachunkiterator import (
    ImagingExtractorDataChunkIterator,
)
from neuroconv.utils import DeepDict, dict_deep_update
from pydantic import FilePath, validate_call
from pynwb import NWBFile

from ..planes import channel_pattern, num_planes
from ..roiextractors.imaging import InscopixImagingExtractor
from ._chunked import DirectWriteIterator
from ._metadata import (
    device_entries,
    imaging_plane_description,
    nwbfile_entries,
    spacing_entries,
    subject_entries,
    warn_missing_dandi_fields,
)

__all__ = ["InscopixImagingInterface"]

#: colour -> summary key of its excitation LED power (mW/mm², NWB's ``intensity``)
CHANNEL_LED = {None: "led_power_ex_mw_per_mm2", "green": "led_power_1_mw_per_mm2",
               "red": "led_power_2_mw_per_mm2"}

#: default ``iterator_options``: ~10 MB chunks, a 100 MB read buffer (bounded memory)
DEFAULT_ITERATOR_OPTIONS = {"buffer_gb": 0.1}


@dataclass
class _Stream:
    """One series to write: a plane or a colour (or the whole movie)."""

    extractor: InscopixImagingExtractor
    suffix: str  #: appended to names and metadata keys ("" for a single stream)
    label: str  #: for descriptions ("plane 0 (efocus 500 µm)", "green channel")
    channel: str | None


class InscopixImagingInterface(BaseImagingExtractorInterface):
    """Inscopix ``.isxd`` movies (nVista / nVoke, one-photon) to NWB ``OnePhotonSeries``.

    Parameters
    ----------
    file_path
        One movie, or the movies of one recording (one series, gaps kept): local paths
        or URLs (``https://``, ``s3://``, any fsspec URL; read by byte ranges).
    plane
        Multiplane acquisitions: ``None`` (default) writes one series per plane; ``k``
        (0-based) writes plane ``k`` only.
    channel
        Multiplexed dual-colour movies: ``None`` writes one series per colour;
        ``"green"`` / ``"red"`` one colour only.
    invalid_frames
        ``"skip"`` (default): write valid frames only, with their timestamps, and list
        every dropped / cropped / blank run in ``invalid_times``.  ``"keep"``: write every
        stored sample (invalid ones as zeros); the runs are still listed.
    verbose
        Print progress.
    metadata_key
        Key of this interface's entries in ``metadata["Ophys"]`` (default
        ``"inscopix_imaging"``); per-plane / per-colour series append ``_plane<k>`` /
        ``_<colour>``.
    """

    display_name = "Inscopix Imaging"
    associated_suffixes = (".isxd",)
    info = "Interface for Inscopix .isxd movies, read by isxio (no isx needed)."

    @classmethod
    def get_extractor_class(cls) -> type[InscopixImagingExtractor]:
        return InscopixImagingExtractor

    @validate_call
    def __init__(self, file_path: FilePath | str | list[FilePath | str], *,
                 plane: int | None = None,
                 channel: Literal["green", "red"] | None = None,
                 invalid_frames: Literal["skip", "keep"] = "skip", verbose: bool = False,
                 metadata_key: str | None = None) -> None:
        super().__init__(file_path=file_path, plane=plane, channel=channel,
                         invalid_frames=invalid_frames, verbose=verbose,
                         photon_series_type="OnePhotonSeries",
                         metadata_key=metadata_key or "inscopix_imaging")
        self._streams = self._make_streams()
        self._shift = 0.0

    def _initialize_extractor(self, interface_kwargs: dict) -> InscopixImagingExtractor:
        kwargs = dict(interface_kwargs)
        for name in ("verbose", "photon_series_type", "metadata_key"):
            kwargs.pop(name, None)
        kwargs["exclude_invalid_samples"] = kwargs.pop("invalid_frames", "skip") == "skip"
        self.extractor_kwargs = kwargs
        return InscopixImagingExtractor(**kwargs)

    def _make_streams(self) -> list[_Stream]:
        kwargs = self.extractor_kwargs
        main = self.imaging_extractor
        if main.is_volumetric:
            return [_Stream(main.select_plane(k), f"_plane{k}",
                            f"plane {k} (efocus {main.efocus[k]} µm)", None)
                    for k in range(main.get_num_planes())]
        extra = main.extra_properties
        pattern = channel_pattern(extra)
        if kwargs.get("channel") is None and sorted(pattern) == ["green", "red"] \
                and num_planes(extra) == 1:
            return [_Stream(InscopixImagingExtractor(**{**kwargs, "channel": c}), f"_{c}",
                            f"{c} channel", c) for c in dict.fromkeys(pattern)]
        label = f"plane {kwargs['plane']}" if kwargs.get("plane") is not None else ""
        channel = kwargs.get("channel") or (pattern[0] if len(pattern) == 1 else None)
        return [_Stream(main, "", label, channel)]

    # ------------------------------------------------------------------ metadata
    def get_metadata(self, *, use_new_metadata_format: bool = True) -> DeepDict:
        """NWBFile, Subject, Devices and Ophys metadata taken from the files."""
        metadata = super().get_metadata(use_new_metadata_format=True)
        meta = self.imaging_extractor._get_metadata()
        metadata["NWBFile"].update(nwbfile_entries(meta, "calcium imaging"))
        subject = subject_entries(meta)
        if subject:
            metadata["Subject"] = dict_deep_update(metadata.get("Subject", {}), subject)
        key, devices, models = device_entries(meta)
        metadata["Devices"] = devices
        metadata["DeviceModels"] = models
        ophys: dict[str, Any] = {"ImagingPlanes": {}, "MicroscopySeries": {}}
        for stream in self._streams:
            plane_key = self.metadata_key + stream.suffix
            ophys["ImagingPlanes"][plane_key] = self._plane_entry(stream, key)
            ophys["MicroscopySeries"][plane_key] = self._series_entry(stream, plane_key)
        metadata["Ophys"] = ophys
        return metadata

    def _plane_entry(self, stream: _Stream, device_key: str) -> dict[str, Any]:
        ext = stream.extractor
        device = ext._get_device_info()
        what = "Field of view imaged by the Inscopix microscope" + (
            f", {stream.label}" if stream.label else "")
        channel = stream.channel or "OpticalChannel"
        return {
            "name": f"ImagingPlane{_camel(stream.suffix)}",
            "description": imaging_plane_description(device, what),
            "imaging_rate": ext.get_sampling_frequency(),
            "device_metadata_key": device_key,
            "optical_channel": [{"name": channel if stream.channel else "OpticalChannel",
                                 "description": f"{channel} emission channel"}],
            **spacing_entries(ext._movies[0].spacing, device.get("efocus")),
        }

    def _series_entry(self, stream: _Stream, plane_key: str) -> dict[str, Any]:
        device = stream.extractor._get_device_info()
        entry: dict[str, Any] = {
            "name": f"OnePhotonSeries{_camel(stream.suffix)}",
            "description": "Calcium imaging movie recorded by an Inscopix microscope"
                           + (f", {stream.label}" if stream.label else ""),
            "unit": "n.a.",
            "imaging_plane_metadata_key": plane_key,
        }
        if device.get("exposure_time_ms"):
            entry["exposure_time"] = float(device["exposure_time_ms"]) / 1000.0
        led = device.get(CHANNEL_LED.get(stream.channel, "")) or device.get(CHANNEL_LED[None])
        if led:
            entry["intensity"] = float(led)
        return entry

    # ------------------------------------------------------------------ timing
    def get_timestamps(self) -> np.ndarray:
        return self._streams[0].extractor.get_timestamps()

    def set_aligned_starting_time(self, aligned_starting_time: float) -> None:
        """Shift every series (and the invalid runs) by ``aligned_starting_time`` seconds."""
        self._shift += float(aligned_starting_time)
        for stream in self._streams:
            ext = stream.extractor
            ext.set_times(ext.get_timestamps() + float(aligned_starting_time))

    def set_aligned_timestamps(self, aligned_timestamps: np.ndarray) -> None:
        if len(self._streams) > 1:
            raise NotImplementedError("this movie is written as several series (planes or "
                                      "colours): use set_aligned_starting_time")
        ext = self._streams[0].extractor
        self._shift = float(aligned_timestamps[0] - ext.get_native_timestamps()[0])
        ext.set_times(aligned_timestamps)

    # ------------------------------------------------------------------ writing
    def add_to_nwbfile(self, nwbfile: NWBFile, metadata: dict | None = None, *,
                       parent_container: Literal["acquisition", "processing/ophys"]
                       = "acquisition", stub_test: bool = False, stub_samples: int = 100,
                       always_write_timestamps: bool = False,
                       iterator_options: dict | None = None, fast_write: bool = True,
                       **_: Any) -> None:
        """Add one ``OnePhotonSeries`` per plane / colour and the invalid-frame runs.

        ``fast_write=False`` writes the frames through neuroconv's normal iterator; by
        default an HDF5 dataset with gzip or no compression is filled chunk by chunk in
        parallel (same bytes on disk, see :mod:`isxio.neuroconv._chunked`).
        """
        metadata = dict_deep_update(self.get_metadata(), metadata or {})
        warn_missing_dandi_fields(metadata, type(self).__name__)
        options = _iterator_options(iterator_options)
        for stream in self._streams:
            ext = stream.extractor
            if stub_test:
                ext = ext.slice_samples(0, min(stub_samples, ext.get_num_samples()))
            add_imaging_to_nwbfile(imaging=ext, nwbfile=nwbfile, metadata=metadata,
                                   photon_series_type="OnePhotonSeries",
                                   parent_container=parent_container,
                                   always_write_timestamps=always_write_timestamps,
                                   iterator_options={**options, "display_progress": False},
                                   metadata_key=self.metadata_key + stream.suffix)
            name = metadata["Ophys"]["MicroscopySeries"][self.metadata_key + stream.suffix]
            series = _added_series(nwbfile, name["name"], parent_container)
            if isinstance(series.fields.get("data"), ImagingExtractorDataChunkIterator):
                bar = {"desc": name["name"], **(options.get("progress_bar_options") or {})}
                series.fields["data"] = DirectWriteIterator(
                    ext, direct_write=fast_write, **{**options, "progress_bar_options": bar})
            self._add_invalid_times(nwbfile, stream.extractor, name["name"])

    def _add_invalid_times(self, nwbfile: NWBFile, ext: InscopixImagingExtractor,
                           series_name: str) -> None:
        for start, stop, reason in ext.get_invalid_intervals():
            nwbfile.add_invalid_time_interval(start_time=start + self._shift,
                                              stop_time=stop + self._shift,
                                              tags=[reason, series_name])


def _iterator_options(given: dict | None) -> dict[str, Any]:
    """The defaults under ``given``; a given ``buffer_shape`` replaces the default
    ``buffer_gb`` (neuroconv's iterator refuses both)."""
    given = dict(given or {})
    defaults = {key: value for key, value in DEFAULT_ITERATOR_OPTIONS.items()
                if not (key == "buffer_gb" and "buffer_shape" in given)}
    return {**defaults, **given}


def _added_series(nwbfile: NWBFile, name: str, parent_container: str) -> Any:
    """The series neuroconv just added (its data is replaced as hdmf's ``set_data_io`` does)."""
    if parent_container == "acquisition":
        return nwbfile.acquisition[name]
    return nwbfile.processing["ophys"][name]


def _camel(suffix: str) -> str:
    """``"_plane0"`` -> ``"Plane0"``, ``"_green"`` -> ``"Green"``."""
    return "".join(part[:1].upper() + part[1:] for part in suffix.split("_") if part)
