"""neuroconv's own interface test mixins, run on isxio's imaging and segmentation interfaces.

Which of them apply to a third-party interface, and which do not (and why), is noted on
each class.  The real files are the inputs.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import pytest

pytest.importorskip("neuroconv")

from neuroconv.tools.testing.data_interface_mixins import (
    DataInterfaceTestMixin,
    ImagingExtractorInterfaceTestMixin,
    SegmentationExtractorInterfaceTestMixin,
    TemporalAlignmentMixin,
)

from isxio.examples import make_example_session
from isxio.neuroconv import (
    InscopixBehaviorVideoInterface,
    InscopixEventsInterface,
    InscopixGpioInterface,
    InscopixImagingInterface,
    InscopixImuInterface,
    InscopixSegmentationInterface,
)
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


# ------------------------------------------------------------------ the other interfaces
# neuroconv's generic mixins (DataInterfaceTestMixin + TemporalAlignmentMixin) on files of
# the built-in example session.  neuroconv's VideoInterfaceMixin is not used: it checks
# neuroconv's own video interface (its segment starting times, its external-file layout).
_EXAMPLE = Path(tempfile.mkdtemp(prefix="isxio-mixins-"))
atexit.register(shutil.rmtree, _EXAMPLE, ignore_errors=True)
_FILES = make_example_session(_EXAMPLE, full=True)


class TestEventsInterfaceMixin(DataInterfaceTestMixin, TemporalAlignmentMixin):
    data_interface_cls = InscopixEventsInterface
    interface_kwargs: ClassVar[dict] = {"file_path": str(_FILES["events"])}


class TestGpioInterfaceMixin(DataInterfaceTestMixin, TemporalAlignmentMixin):
    data_interface_cls = InscopixGpioInterface
    interface_kwargs: ClassVar[dict] = {"file_path": str(_FILES["gpio"])}


class TestImuInterfaceMixin(DataInterfaceTestMixin, TemporalAlignmentMixin):
    data_interface_cls = InscopixImuInterface
    interface_kwargs: ClassVar[dict] = {"file_path": str(_FILES["imu"])}


class TestBehaviorVideoInterfaceMixin(DataInterfaceTestMixin, TemporalAlignmentMixin):
    data_interface_cls = InscopixBehaviorVideoInterface
    interface_kwargs: ClassVar[dict] = {"file_path": str(_FILES["behavior"]),
                                        "mode": "internal"}
