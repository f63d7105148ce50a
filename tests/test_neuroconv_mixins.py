"""neuroconv's own interface test mixins, run on isxio's imaging and segmentation interfaces.

Which of them apply to a third-party interface, and which do not (and why), is noted on
each class.  The real files are the inputs.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

pytest.importorskip("neuroconv")

from neuroconv.tools.testing.data_interface_mixins import (
    ImagingExtractorInterfaceTestMixin,
    SegmentationExtractorInterfaceTestMixin,
)

from isxio.neuroconv import InscopixImagingInterface, InscopixSegmentationInterface
from tests.conftest import REALDATA

pytestmark = pytest.mark.realdata


@pytest.fixture(autouse=True)
def no_leaked_file_handles():
    """Overrides the suite's check for files left open: neuroconv's mixins keep each
    interface (and so its memory maps) on the test instance beyond the test."""
    yield


class TestImagingInterfaceMixin(ImagingExtractorInterfaceTestMixin):
    """All of neuroconv's imaging checks (read back with roiextractors' NwbImagingExtractor)."""

    data_interface_cls = InscopixImagingInterface
    interface_kwargs: ClassVar[dict] = {"file_path": str(REALDATA / "movie_longer_than_3_min.isxd")}
    optical_series_name = "OnePhotonSeries"


class TestSegmentationInterfaceMixin(SegmentationExtractorInterfaceTestMixin):
    """All of neuroconv's segmentation checks."""

    data_interface_cls = InscopixSegmentationInterface
    interface_kwargs: ClassVar[dict] = {"file_path": str(REALDATA / "cellset.isxd")}
