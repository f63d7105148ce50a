"""InscopixBehaviorVideoInterface: .isxb behaviour movies (external / internal) and tracking to NWB.

Expected values come from what the tests put into the files (JPEG bytes, TSCs, tracker
JSON), from the bytes of the real files split independently of isxio, or from isx.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("neuroconv")
av = pytest.importorskip("av")

import nwbinspector  # noqa: E402
from pynwb import NWBHDF5IO  # noqa: E402

from isxio.formats.isxb import IsxbFile  # noqa: E402
from isxio.neuroconv import InscopixBehaviorVideoInterface  # noqa: E402
from isxio.testing import encode_mjpeg, write_isxb  # noqa: E402

ROWS, COLS, STORED = 16, 64, 72  # more frames than pixels per row: a well-oriented series
DROPPED = (3, 40)
SUBJECT = {"subject_id": "m1", "species": "Mus musculus", "sex": "M", "age": "P90D"}
ZONES = [
    {"id": 12, "enable": True, "name": "R", "description": "d",
     "geometry": {"type": "rectangle", "coordinates": [[1.5, 2], [3, 2], [3, 4], [1.5, 4]]}},
    {"id": 13, "enable": False, "name": "E", "description": "",
     "geometry": {"type": "ellipse", "coordinates": [[5, 6]],
                  "properties": {"majorAxis": 10.1, "minorAxis": 4, "angle": 30}}},
]
REAL = "Group-20240111-080531_2024-01-12-08-55-21_sched_{}.isxb"


def _trackers(n: int) -> list:
    """Per stored frame: a box and confidence, no tracker, an empty box, zone events."""
    out = []
    for k in range(n):
        if k % 9 == 4:
            out.append(None)
        elif k % 9 == 5:
            out.append({"box": [0, 0, 0, 0], "conf": 1.5})
        else:
            t = {"box": [10.1 + k, 2.7, 30.3 + k, 12.9 + k / 7], "conf": 50 + k / 3}
            if 10 <= k < 20 or k == 30:
                t["zones"] = [{"id": 12, "name": "R", "event": "e" if k == 10 else "o"}]
            if 15 <= k < 17:
                t["zones"].append({"id": 13, "name": "E", "trig": "softTrig-2"})
            out.append(t)
    return out


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """A synthetic .isxb: irregular TSCs, two dropped frames, tracking and zones."""
    folder = tmp_path_factory.mktemp("isxb")
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, (STORED, ROWS, COLS), dtype=np.uint8)
    jpegs = encode_mjpeg(frames)
    tsc = 5_000_000_000 + np.cumsum(rng.integers(31_000, 36_000, STORED)).astype(np.int64)
    tsc[DROPPED[1] - 1:] += 33_000  # the second drop leaves a gap in time too
    path = write_isxb(folder / "behav.isxb", jpegs=jpegs, shape=(ROWS, COLS),
                      timestamps=tsc.tolist(), dropped=DROPPED,
                      trackers=_trackers(STORED), zones=ZONES, camera_alias="top")
    return {"path": path, "jpegs": jpegs, "tsc": tsc, "trackers": _trackers(STORED)}


def _metadata(interface):
    metadata = interface.get_metadata()
    metadata["Subject"] = dict(SUBJECT)
    metadata["NWBFile"]["session_description"] = "nVision behaviour video conversion test"
    return metadata


def _convert(interface, nwbfile_path: Path, backend: str = "hdf5", **options) -> Path:
    interface.run_conversion(nwbfile_path=nwbfile_path, metadata=_metadata(interface),
                             backend=backend, **options)
    return nwbfile_path


def _assert_inspector_clean(nwbfile_path: Path, allowed: tuple[str, ...] = ()) -> None:
    bad = (nwbinspector.Importance.CRITICAL, nwbinspector.Importance.BEST_PRACTICE_VIOLATION)
    for config in (None, nwbinspector.load_config("dandi")):
        messages = [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(nwbfile_path),
                                                            config=config)
                    if m.importance in bad and m.check_function_name not in allowed]
        assert not messages, [(m.check_function_name, m.message) for m in messages]


def _packets(video: Path) -> list[tuple[bytes, int | None]]:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "mjpeg"
        return [(bytes(p), p.pts) for p in container.demux(stream) if p.size]


def _luma(video: Path) -> np.ndarray:
    """Decoded luma planes of a video file (PyAV), independent of isxio."""
    out = []
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            plane = frame.planes[0]
            y = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
            out.append(y[:, :frame.width])
    return np.stack(out)


def _expected_times(tsc: np.ndarray, period_us: float = 0.0, first_valid: int = 0) -> np.ndarray:
    first = tsc[0] - period_us * first_valid
    return (tsc - first) / 1e6


def _split_jpegs(path: Path) -> list[bytes]:
    """JPEGs of a real .isxb, split naively at SOI/EOI from the header's video section."""
    raw = path.read_bytes()
    offset, size = (int.from_bytes(raw[o:o + 8], "little") for o in (48, 56))
    video = raw[offset:offset + size]
    out, pos = [], 0
    while (start := video.find(b"\xff\xd8", pos)) >= 0:
        end = video.index(b"\xff\xd9", start) + 2
        out.append(video[start:end])
        pos = end
    return out


# ---------------------------------------------------------------- external mode
def test_external_video_is_the_isxb_jpeg_stream(synth, tmp_path):
    interface = InscopixBehaviorVideoInterface(file_path=synth["path"])
    nwb = _convert(interface, tmp_path / "session.nwb")
    video = tmp_path / "behav.mkv"
    packets = _packets(video)
    assert [p for p, _ in packets] == synth["jpegs"]  # byte for byte, no re-encoding
    pts_ms = np.array([t for _, t in packets])
    np.testing.assert_array_equal(pts_ms, np.round((synth["tsc"] - synth["tsc"][0]) / 1e3))
    with IsxbFile(synth["path"]) as movie:
        stored = np.flatnonzero(movie.valid_mask)
        decoded = np.stack([movie.frame(int(i)) for i in stored])
    np.testing.assert_array_equal(_luma(video), decoded)
    with NWBHDF5IO(str(nwb), "r") as io:
        series = io.read().acquisition["BehaviorVideo"]
        assert series.format == "external"
        assert list(series.external_file[:]) == ["behav.mkv"]
        assert list(series.starting_frame[:]) == [0]
        np.testing.assert_allclose(series.timestamps[:], _expected_times(synth["tsc"]),
                                   rtol=0, atol=1e-6)
        assert series.device.serial_number == "KTM-TEST1"
        assert "2 frame(s) dropped" in series.description
    _assert_inspector_clean(nwb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["behav.mkv", "session.nwb"]


@pytest.mark.parametrize("container", [".mov", ".avi"])
def test_other_containers_hold_the_same_packets(synth, tmp_path, container):
    interface = InscopixBehaviorVideoInterface(file_path=synth["path"])
    nwb = _convert(interface, tmp_path / "s.nwb", video_folder="videos", container=container)
    packets = _packets(tmp_path / "videos" / f"behav{container}")
    assert [p for p, _ in packets] == synth["jpegs"]
    if container == ".mov":  # µs packet times are the TSC differences
        assert [t for _, t in packets] == (synth["tsc"] - synth["tsc"][0]).tolist()
    with NWBHDF5IO(str(nwb), "r") as io:
        assert list(io.read().acquisition["BehaviorVideo"].external_file[:]) == \
            [f"videos/behav{container}"]
    _assert_inspector_clean(nwb)


def test_existing_video_is_never_overwritten_unless_asked(synth, tmp_path):
    target = tmp_path / "behav.mkv"
    target.write_bytes(b"precious")
    interface = InscopixBehaviorVideoInterface(file_path=synth["path"])
    with pytest.raises(FileExistsError, match="overwrite_video"):
        _convert(interface, tmp_path / "a.nwb")
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["behav.mkv"]  # no temp file left
    _convert(interface, tmp_path / "b.nwb", overwrite_video=True)
    assert [p for p, _ in _packets(target)] == synth["jpegs"]


def test_external_mode_needs_the_nwb_folder(synth):
    from pynwb.testing.mock.file import mock_NWBFile

    interface = InscopixBehaviorVideoInterface(file_path=synth["path"])
    with pytest.raises(ValueError, match="nwbfile_folder"):
        interface.add_to_nwbfile(mock_NWBFile(), _metadata(interface))


def test_regular_timestamps_are_written_as_rate(tmp_path):
    frames = np.random.default_rng(1).integers(0, 256, (5, ROWS, COLS), dtype=np.uint8)
    path = write_isxb(tmp_path / "reg.isxb", frames,
                      timestamps=[7_000_000 + 40_000 * k for k in range(5)])
    interface = InscopixBehaviorVideoInterface(file_path=path)
    nwb = _convert(interface, tmp_path / "reg.nwb", add_tracking=False)
    with NWBHDF5IO(str(nwb), "r") as io:
        series = io.read().acquisition["BehaviorVideo"]
        assert series.timestamps is None
        assert series.rate == pytest.approx(25.0, abs=1e-9) and series.starting_time == 0.0
        assert series.num_samples == 5


# ---------------------------------------------------------------- tracking
def test_tracking_values_equal_the_source(synth, tmp_path):
    interface = InscopixBehaviorVideoInterface(file_path=synth["path"])
    nwb = _convert(interface, tmp_path / "t.nwb")
    expected_box = np.full((STORED, 4), np.nan)
    expected_conf = np.full(STORED, np.nan)
    for k, tracker in enumerate(synth["trackers"]):
        if tracker is not None:
            expected_conf[k] = np.float32(tracker["conf"])
            if any(tracker["box"]):
                expected_box[k] = np.float32(tracker["box"])
    times = _expected_times(synth["tsc"])
    with NWBHDF5IO(str(nwb), "r") as io:
        behavior = io.read().processing["behavior"]
        box = behavior["BehavioralTimeSeries"]["BehaviorVideoBoundingBox"]
        np.testing.assert_array_equal(box.data[:], expected_box)
        np.testing.assert_allclose(box.timestamps[:], times, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(
            behavior["BehavioralTimeSeries"]["BehaviorVideoConfidence"].data[:], expected_conf)
        center = behavior["Position"]["BehaviorVideoBoxCenter"].data[:]
        left, top, right, bottom = expected_box.astype(np.float32).T
        np.testing.assert_array_equal(center, np.stack([(left + right) / np.float32(2),
                                                        (top + bottom) / np.float32(2)], 1))
        zones = behavior["BehaviorVideoZones"].to_dataframe()
        assert zones["zone_id"].tolist() == [12, 13] and zones["zone_name"].tolist() == ["R", "E"]
        assert zones["geometry"].tolist() == ["rectangle", "ellipse"]
        assert np.asarray(zones["coordinates"].iloc[0]).tolist() == [[1.5, 2], [3, 2], [3, 4],
                                                                    [1.5, 4]]
        assert zones["major_axis"].iloc[1] == pytest.approx(10.1, rel=1e-6)
        occupancy = behavior["BehaviorVideoZoneOccupancy"].to_dataframe()
    # zone R: stored frames 10..19 but 13 (no tracker) and 14 (no zones), and 30; E: 15, 16.
    # A run ends at the next stored frame's time.
    runs = {(12, 10, 13), (12, 15, 20), (12, 30, 31), (13, 15, 17)}
    expected = sorted((times[a], times[b], zone) for zone, a, b in runs)
    got = sorted(zip(occupancy["start_time"], occupancy["stop_time"], occupancy["zone_id"],
                     strict=True))
    assert got == expected


# ---------------------------------------------------------------- internal mode
def test_internal_frames_equal_isxio_frames(synth, tmp_path):
    interface = InscopixBehaviorVideoInterface(file_path=synth["path"], mode="internal")
    nwb = _convert(interface, tmp_path / "internal.nwb", frames_per_buffer=5)
    assert [p.name for p in tmp_path.iterdir()] == ["internal.nwb"]
    with IsxbFile(synth["path"]) as movie:
        expected = movie.data[np.flatnonzero(movie.valid_mask)]
    with NWBHDF5IO(str(nwb), "r") as io:
        series = io.read().acquisition["BehaviorVideo"]
        np.testing.assert_array_equal(series.data[:], expected)
        assert series.data.chunks == (1, ROWS, COLS) and series.data.compression == "gzip"
        np.testing.assert_allclose(series.timestamps[:], _expected_times(synth["tsc"]),
                                   rtol=0, atol=1e-6)
    _assert_inspector_clean(nwb)


def test_aligned_timestamps_move_video_and_tracking(synth, tmp_path):
    interface = InscopixBehaviorVideoInterface(file_path=synth["path"], mode="internal")
    interface.set_aligned_starting_time(12.5)
    nwb = _convert(interface, tmp_path / "aligned.nwb")
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        expected = _expected_times(synth["tsc"]) + 12.5
        np.testing.assert_allclose(f.acquisition["BehaviorVideo"].timestamps[:], expected,
                                   rtol=0, atol=1e-6)
        center = f.processing["behavior"]["Position"]["BehaviorVideoBoxCenter"]
        np.testing.assert_allclose(center.timestamps[:], expected, rtol=0, atol=1e-6)


# ---------------------------------------------------------------- neuroconv & backends
def test_inside_converter_pipe_next_to_another_interface(synth, tmp_path):
    from neuroconv import ConverterPipe
    from neuroconv.tools.testing.mock_interfaces import MockTimeSeriesInterface

    video = InscopixBehaviorVideoInterface(file_path=synth["path"])
    converter = ConverterPipe(data_interfaces={"video": video,
                                               "other": MockTimeSeriesInterface()})
    metadata = converter.get_metadata()
    metadata["NWBFile"]["session_start_time"] = video.get_start_time()
    metadata["NWBFile"]["session_description"] = "pipe"
    metadata["Subject"] = dict(SUBJECT)
    nwb = tmp_path / "pipe.nwb"
    converter.run_conversion(nwbfile_path=nwb, metadata=metadata, conversion_options={
        "video": {"nwbfile_folder": str(tmp_path)}})
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        assert set(f.acquisition) >= {"BehaviorVideo", "TimeSeries"}
        np.testing.assert_allclose(f.acquisition["BehaviorVideo"].timestamps[:],
                                   _expected_times(synth["tsc"]), rtol=0, atol=1e-6)
    assert [p for p, _ in _packets(tmp_path / "behav.mkv")] == synth["jpegs"]
    _assert_inspector_clean(nwb)


@pytest.mark.parametrize("mode", ["external", "internal"])
def test_zarr_backend(synth, tmp_path, mode):
    from hdmf_zarr import NWBZarrIO

    interface = InscopixBehaviorVideoInterface(file_path=synth["path"], mode=mode)
    nwb = _convert(interface, tmp_path / "z.nwb.zarr", backend="zarr")
    with NWBZarrIO(str(nwb), "r") as io:
        series = io.read().acquisition["BehaviorVideo"]
        np.testing.assert_allclose(series.timestamps[:], _expected_times(synth["tsc"]),
                                   rtol=0, atol=1e-6)
        if mode == "external":
            assert list(series.external_file[:]) == ["behav.mkv"]
        else:
            assert series.data.shape == (STORED, ROWS, COLS)
    if mode == "external":
        assert [p for p, _ in _packets(tmp_path / "behav.mkv")] == synth["jpegs"]
    _assert_inspector_clean(nwb)


def test_bad_arguments(synth):
    with pytest.raises(ValueError, match="file_path"):
        InscopixBehaviorVideoInterface(file_path=synth["path"], file_paths=[synth["path"]])
    with pytest.raises(ValueError, match="mode"):
        InscopixBehaviorVideoInterface(file_path=synth["path"], mode="inline")


# ---------------------------------------------------------------- real files
@pytest.mark.realdata
@pytest.mark.parametrize("mode", ["external", "internal"])
def test_real_series_of_two_parts(realdata, tmp_path, mode):
    paths = [realdata / REAL.format(k) for k in (1, 0)]  # any order: sorted by start
    interface = InscopixBehaviorVideoInterface(file_paths=paths, mode=mode)
    nwb = _convert(interface, tmp_path / "real.nwb")
    jpegs = [_split_jpegs(realdata / REAL.format(k)) for k in (0, 1)]
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        series = f.acquisition["BehaviorVideo"]
        times = series.timestamps[:]
        assert len(times) == 20 and times[0] == 0.0
        assert times[-1] == pytest.approx(0.631984, abs=1e-6)  # isx's 'start' CSV (spec §5.3)
        assert series.device.serial_number == "KTM-ELJM9"
        if mode == "external":
            assert list(series.external_file[:]) == [f"{Path(REAL.format(k)).stem}.mkv"
                                                     for k in (0, 1)]
            assert list(series.starting_frame[:]) == [0, 10]
        else:
            data = series.data[:]
        occupancy = f.processing["behavior"]["BehaviorVideoZoneOccupancy"].to_dataframe()
    assert occupancy["zone_name"].tolist() == ["ZONE#1 rectangle"]
    assert occupancy["start_time"].iloc[0] == pytest.approx(0.099984, abs=1e-9)
    for k in (0, 1):
        with IsxbFile(paths[1 - k]) as movie:
            decoded = movie.data[:]
        if mode == "external":
            video = tmp_path / f"{Path(REAL.format(k)).stem}.mkv"
            assert [p for p, _ in _packets(video)] == jpegs[k]
            np.testing.assert_array_equal(_luma(video), decoded)
        else:
            np.testing.assert_array_equal(data[10 * k:10 * k + 10], decoded)
    # 20 frames of 1920 pixels per row: a correctly oriented series nwbinspector misreads
    _assert_inspector_clean(nwb, allowed=("check_data_orientation",) if mode == "internal"
                            else ())


@pytest.mark.realdata
@pytest.mark.isx
def test_real_timestamps_and_frames_match_isx(realdata, tmp_path):
    isx = pytest.importorskip("isx")
    paths = [realdata / REAL.format(k) for k in (0, 1)]
    interface = InscopixBehaviorVideoInterface(file_paths=paths, mode="internal")
    nwb = _convert(interface, tmp_path / "isx.nwb")
    movies = [isx.Movie.read(str(p)) for p in paths]
    tsc = np.array([m.get_frame_timestamp(i) for m in movies
                    for i in range(m.timing.num_samples)], np.int64)
    frames = np.stack([m.get_frame_data(i) for m in movies
                       for i in range(m.timing.num_samples)])
    with NWBHDF5IO(str(nwb), "r") as io:
        series = io.read().acquisition["BehaviorVideo"]
        np.testing.assert_allclose(series.timestamps[:], (tsc - tsc[0]) / 1e6, rtol=0,
                                   atol=1e-6)
        diff = np.abs(series.data[:].astype(int) - frames.astype(int))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 1e-3 * diff.size  # README tolerance
