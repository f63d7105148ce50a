"""YAML conversion specifications: the examples in conversion_specs/, merging, names, errors.

Each NWB file is read back with pynwb and compared with what the spec and the source
files hold; nwbinspector must find no critical issue or best-practice violation.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("neuroconv")
pytest.importorskip("yaml")

from pynwb import NWBHDF5IO

from isxio import convert_from_yaml
from isxio.convert import names
from isxio.convert.spec import SpecError, deep_merge, plan_sessions
from isxio.examples import make_example_session
from tests.test_neuroconv_ophys import inspect

SPECS = Path(__file__).resolve().parents[1] / "conversion_specs"
SESSIONS = ("mouse-01/day1", "mouse-01/day2", "mouse-02/day1")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Three full example sessions of two subjects, laid out as the example specs expect."""
    root = tmp_path_factory.mktemp("data")
    for k, session in enumerate(SESSIONS):
        make_example_session(root / session, full=True, seed=k)
    return root


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io = NWBHDF5IO(str(path), "r")
        return io, io.read()


def _write(folder: Path, text: str, name: str = "spec.yml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_imaging_only_example(data, tmp_path):
    isx = pytest.importorskip("isx")
    [result] = convert_from_yaml(SPECS / "imaging_only.yml", data_folder_path=data,
                                 output_folder_path=tmp_path)
    assert result.status == "converted", result.error
    assert Path(result.output) == tmp_path / "mouse-01_day1_imaging.nwb"
    movie = isx.Movie.read(str(data / "mouse-01/day1/example_movie.isxd"))
    io, nwb = _read(result.output)
    with io:
        assert nwb.subject.species == "Mus musculus" and nwb.subject.age == "P90D"
        assert nwb.subject.subject_id == "mouse-01"  # from the file, untouched by the spec
        assert nwb.lab == "Example lab" and nwb.session_id == "day1"
        series = nwb.acquisition["OnePhotonSeries"]
        assert series.imaging_plane.location == "CA1"
        assert series.imaging_plane.indicator == "GCaMP6f"
        valid = np.flatnonzero(movie.timing.get_valid_samples_mask())
        assert series.data.shape[0] == len(valid)  # dropped / cropped frames left out
        for k in (0, 50, len(valid) - 1):  # NWB frames are (x, y)
            np.testing.assert_array_equal(series.data[k].T, movie.get_frame_data(int(valid[k])))
    inspect(result.output)


def test_full_session_example(data, tmp_path):
    [result] = convert_from_yaml(SPECS / "full_session.yml", data_folder_path=data,
                                 output_folder_path=tmp_path, parallel=False)
    assert result.status == "converted", result.error
    io, nwb = _read(result.output)
    with io:
        assert {p.location for p in nwb.imaging_planes.values()} == {"CA1"}
        assert len(nwb.imaging_planes) >= 4  # the movie's plane and the multiplane's three
        assert "BehaviorVideo" in nwb.acquisition
        video = nwb.acquisition["BehaviorVideo"].external_file[0]
        assert video.startswith("mouse-01_day1_videos")  # one video folder per session
        assert (tmp_path / video).is_file()
    inspect(result.output)


def test_many_sessions_on_dask_merge_levels_and_rerun(data, tmp_path):
    results = convert_from_yaml(SPECS / "many_sessions.yml", data_folder_path=data,
                                output_folder_path=tmp_path, workers=2)
    assert [r.status for r in results] == ["converted"] * 3, [r.error for r in results]
    expected = {  # file: (subject, sex, age, keywords, location)
        "mouse-01_day1.nwb": ("mouse-01", "F", "P90D", ["calcium imaging", "Inscopix"], "CA1"),
        "mouse-01_day2.nwb": ("mouse-01", "F", "P90D", ["calcium imaging", "day 2"], "CA1"),
        "mouse-02_day1.nwb": ("mouse-02", "M", "P120D", ["calcium imaging", "Inscopix"],
                              "CA3")}
    for name, (subject, sex, age, keywords, location) in expected.items():
        io, nwb = _read(tmp_path / name)
        with io:
            assert (nwb.subject.subject_id, nwb.subject.sex, nwb.subject.age) == \
                (subject, sex, age)
            assert list(nwb.keywords[:]) == keywords  # a session's list replaces the global
            assert nwb.acquisition["OnePhotonSeries"].imaging_plane.location == location
    again = convert_from_yaml(SPECS / "many_sessions.yml", data_folder_path=data,
                              output_folder_path=tmp_path, parallel=False)
    assert [r.status for r in again] == ["skipped"] * 3
    (tmp_path / "mouse-02_day1.nwb").write_bytes(b"half a file")  # not a valid NWB file
    again = convert_from_yaml(SPECS / "many_sessions.yml", data_folder_path=data,
                              output_folder_path=tmp_path, parallel=False)
    assert [r.status for r in again] == ["skipped", "skipped", "converted"]
    forced = convert_from_yaml(SPECS / "many_sessions.yml", data_folder_path=data,
                               output_folder_path=tmp_path, parallel=False, overwrite=True)
    assert [r.status for r in forced] == ["converted"] * 3
    assert not list(tmp_path.glob(".*incomplete*"))


def test_deep_merge_later_level_wins_and_lists_are_replaced():
    base = {"NWBFile": {"lab": "A", "keywords": ["x", "y"]}, "Subject": {"age": "P1D"}}
    merged = deep_merge(base, {"NWBFile": {"keywords": ["z"]}, "Subject": {"sex": "F"}})
    assert merged == {"NWBFile": {"lab": "A", "keywords": ["z"]},
                      "Subject": {"age": "P1D", "sex": "F"}}
    assert base["NWBFile"]["keywords"] == ["x", "y"]  # inputs untouched


SESSION = """
experiments:
  exp:
    sessions:
      - nwbfile_name: out
        source_data:
          {name}: {{file_path: mouse-01/day1/example_movie.isxd}}
        metadata: {metadata}
"""


def _spec(tmp_path, name="Imaging", metadata="{}", extra=""):
    return _write(tmp_path, extra + SESSION.format(name=name, metadata=metadata))


def test_names_resolve_isxio_first_then_neuroconv_then_entry_points(tmp_path, monkeypatch):
    assert names.resolve("InscopixImagingInterface") == "isxio:InscopixImagingInterface"
    assert names.resolve("InscopixSession") == "isxio:InscopixSessionConverter"
    assert names.resolve("MiniscopeImagingInterface") == "neuroconv:MiniscopeImagingInterface"
    point = EntryPoint("MyImaging", "isxio.neuroconv.imaging:InscopixImagingInterface",
                       names.ENTRY_POINT_GROUP)
    monkeypatch.setattr(names, "_entry_points", lambda: {"MyImaging": point})
    spec = _spec(tmp_path, "Imaging", extra="data_interfaces: {Imaging: MyImaging}\n")
    [plan] = plan_sessions(spec, data_folder_path=tmp_path)
    assert plan.interfaces == {"Imaging": "entry_point:MyImaging"}
    from isxio.neuroconv import InscopixImagingInterface

    assert names.load(plan.interfaces["Imaging"]) is InscopixImagingInterface
    with pytest.raises(SpecError, match=r"spec\.yml: session exp/1: source_data\.Bogus: "
                                        r"unknown interface 'Bogus'"):
        plan_sessions(_spec(tmp_path, "Bogus"))


def test_dotted_names_are_refused_before_anything_is_imported(data, tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "spec_plugin.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from isxio.neuroconv import InscopixImagingInterface as Plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = _spec(tmp_path, "Imaging", extra="data_interfaces: {Imaging: 'spec_plugin:Plugin'}\n")
    with pytest.raises(SpecError, match=r"spec\.yml: session exp/1: source_data\.Imaging: "
                                        r"'spec_plugin:Plugin' names code.*--allow-import"):
        convert_from_yaml(spec, data_folder_path=data)
    assert not marker.exists() and "spec_plugin" not in sys.modules
    [result] = convert_from_yaml(spec, data_folder_path=data, output_folder_path=tmp_path,
                                 allow_import=True, parallel=False)
    assert result.status == "converted", result.error
    assert marker.exists()
    sys.modules.pop("spec_plugin", None)


@pytest.mark.parametrize(("metadata", "message"), [
    ("{Subject: {sex: Q}}", r"metadata key Subject\.sex: 'Q' is not one of"),
    ("{Ophys: {ImagingPlanes: {inscopix_imagin: {location: CA1}}}}",
     r"metadata key Ophys\.ImagingPlanes\.inscopix_imagin: no such entry.*inscopix_imaging"),
])
def test_bad_metadata_names_spec_session_and_key(data, tmp_path, metadata, message):
    spec = _spec(tmp_path, "InscopixImagingInterface", metadata=metadata)
    [result] = convert_from_yaml(spec, data_folder_path=data, output_folder_path=tmp_path,
                                 parallel=False)
    assert result.status == "failed"
    assert result.error.startswith(f"{spec}: session exp/1 (out.nwb): ")
    import re

    assert re.search(message, result.error), result.error
    assert not (tmp_path / "out.nwb").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("experiments: {exp: {sessions: [{nwbfile_name: a}]}}",
     r"key experiments\.exp\.sessions\[0\]: 'source_data' is a required property"),
    ("metadata: {}\n", r"key \(top level\): 'experiments' is a required property"),
    ("experiments: [1, 2]", r"key experiments: \[1, 2\] is not of type 'object'"),
    ("experiments: {exp: {sessions: [}", r"not valid YAML"),
    ("upload_to_dandiset: '000001'\nexperiments: {}", r"upload_to_dandiset"),
])
def test_bad_specs_are_refused_before_any_conversion(tmp_path, text, message):
    spec = _write(tmp_path, text)
    with pytest.raises(SpecError, match=rf"^{tmp_path}/spec\.yml: .*{message}"):
        convert_from_yaml(spec)


def test_conversion_options_flat_to_takers_and_keyed_per_session(data, tmp_path):
    spec = _spec(tmp_path, "InscopixImagingInterface",
                 extra="conversion_options: {stub_test: true, stub_samples: 7}\n")
    [result] = convert_from_yaml(spec, data_folder_path=data, output_folder_path=tmp_path,
                                 parallel=False)
    assert result.status == "converted", result.error
    io, nwb = _read(result.output)
    with io:
        assert nwb.acquisition["OnePhotonSeries"].data.shape[0] == 7
    shutil.rmtree(tmp_path / "out.nwb", ignore_errors=True)
    spec = _spec(tmp_path, "InscopixImagingInterface",
                 extra="conversion_options: {no_such_option: 1}\n")
    [result] = convert_from_yaml(spec, data_folder_path=data, output_folder_path=tmp_path,
                                 parallel=False, overwrite=True)
    assert result.status == "failed"
    assert "key conversion_options.no_such_option: no interface of the session takes" \
        in result.error
