"""nVision .isxb movies against isx: real files, synthetic fixtures, tracking, damage.

isx cannot write .isxb, so synthetic movies come from isxio's fixture writer
(FFmpeg MJPEG via PyAV); isx and isxio must then agree exactly on timing, spacing,
timestamps, acquisition info, tracking exports and every decoded pixel.  On the
real nVision files the decoded pixels may differ by 1 on a few pixels (isx bundles
an older FFmpeg): at most 0.1 % of pixels, |diff| <= 1.
"""

from __future__ import annotations

import csv
import pickle
import struct
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxFormatWarning
from isxio.formats.common import Ratio
from isxio.formats.isxb import IsxbFile, index_jpegs
from isxio.testing import encode_mjpeg, write_isxb

isx = pytest.importorskip("isx")
av = pytest.importorskip("av")
pytestmark = pytest.mark.isx

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
REAL = ("Group-20240111-080531_2024-01-12-08-55-21_sched_0.isxb",
        "Group-20240111-080531_2024-01-12-08-55-21_sched_1.isxb")


def unique(tmp_path: Path) -> Path:
    return tmp_path / f"b{uuid.uuid4().hex}.isxb"


def timing_tuple(t) -> tuple:
    return (t.num_samples, t.period.num, t.period.den, t.start.secs_since_epoch.num,
            t.start.secs_since_epoch.den, t.start.utc_offset, list(t.dropped),
            [list(c) for c in t.cropped], list(t.blank))


def isx_timing(m) -> tuple:
    t = m.timing
    i = t._impl
    return (i.num_samples, i.step.num, i.step.den, i.start.secs_since_epoch.num,
            i.start.secs_since_epoch.den, i.start.utc_offset, list(t.dropped),
            [list(c) for c in t.cropped], list(t.blank))


def isx_spacing(m) -> tuple:
    s = m.spacing._impl
    return (s.num_cols, s.num_rows, s.pixel_width.num, s.pixel_width.den, s.pixel_height.num,
            s.pixel_height.den, s.left.num, s.left.den, s.top.num, s.top.den)


def spacing_tuple(s) -> tuple:
    return (s.num_cols, s.num_rows, s.pixel_size[0].num, s.pixel_size[0].den,
            s.pixel_size[1].num, s.pixel_size[1].den, s.top_left[0].num, s.top_left[0].den,
            s.top_left[1].num, s.top_left[1].den)


def assert_same(path: Path, *, exact_pixels: bool = True) -> IsxbFile:
    """isx and isxio agree on everything isx reports for this movie."""
    ref = isx.Movie.read(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsxFormatWarning)
        m = IsxbFile(path)
    assert timing_tuple(m.timing) == isx_timing(ref)
    assert spacing_tuple(m.spacing) == isx_spacing(ref)
    assert m.shape == (ref.timing.num_samples, *ref.spacing.num_pixels)
    assert m.dtype == np.uint8 and ref.data_type == np.uint8
    assert m.tsc.tolist() == [ref.get_frame_timestamp(i) for i in range(m.num_frames)]
    assert m.acquisition_info == ref.get_acquisition_info()
    for i in range(m.num_frames):
        a, b = ref.get_frame_data(i), m.frame(i)
        assert b.dtype == np.uint8 and b.shape == a.shape
        if exact_pixels:
            np.testing.assert_array_equal(b, a, err_msg=f"frame {i}")
        else:
            diff = np.abs(a.astype(np.int16) - b)
            assert diff.max() <= 1 and np.count_nonzero(diff) <= 0.001 * diff.size
    return m


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def assert_tracking_matches_isx_csv(m: IsxbFile, tmp_path: Path) -> None:
    """Per-frame tracking values equal what isx exports ('start' mode prints %.6f)."""
    out = tmp_path / f"t{uuid.uuid4().hex}.csv"
    isx.export_nvision_movie_tracking_frame_data_to_csv([m.path], str(out), time_ref="start")
    rows = read_csv(out)[1:]
    tr = m.tracking
    assert len(rows) == m.num_frames
    for i, row in enumerate(rows):
        if not m.valid_mask[i] or not tr.valid[i]:
            assert row[4:11] == [""] * 7
            continue
        values = [*tr.box[i], *tr.center[i], tr.confidence[i]]
        assert row[4:11] == [f"{float(v):.6f}" for v in values], f"row {i}"
        events = [e for e in tr.zone_events[i] if e.event or e.zone_id != 0]
        cells = [",".join(str(getattr(e, k)) for e in events)
                 for k in ("zone_id", "name", "event", "trigger")]
        assert row[11:] == cells, f"zone events of row {i}"


def assert_zones_match_isx_csv(m: IsxbFile, tmp_path: Path) -> None:
    out = tmp_path / f"z{uuid.uuid4().hex}.csv"
    isx.export_nvision_movie_tracking_zone_data_to_csv([m.path], str(out))
    rows = read_csv(out)[1:]
    assert len(rows) == len(m.zones)
    for z, row in zip(m.zones, rows, strict=True):
        assert row[:5] == [str(z.id), str(int(z.enabled)), z.name, z.description, z.type]
        coords = [f"{float(v):g}" for v in z.coordinates.ravel()]
        assert row[5:5 + len(coords)] == coords
        if z.type == "ellipse":
            assert row[-3:] == [f"{v:g}" for v in (z.major_axis, z.minor_axis, z.angle)]


# ------------------------------------------------------------------ real files
@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL)
def test_real_isxb_matches_isx(realdata, tmp_path, name):
    m = assert_same(realdata / name, exact_pixels=False)
    assert m.num_frames == 10 and m.spacing.shape == (1080, 1920)
    assert m.has_frame_timestamps and len(m.zones) == 4
    assert_tracking_matches_isx_csv(m, tmp_path)
    assert_zones_match_isx_csv(m, tmp_path)
    assert m.extra_properties["cameraName"] == "camera-1"
    assert "timingInfo" not in m.extra_properties and "timingInfo" in m.session


@pytest.mark.realdata
def test_real_isxb_lazy_data(realdata):
    m = IsxbFile(realdata / REAL[0])
    assert "_jpegs" not in m.__dict__  # opening does not touch the video
    block = m.data[3:5, 100:110, ::2]
    assert block.shape == (2, 10, 960)
    np.testing.assert_array_equal(block[1], m.frame(4)[100:110, ::2])
    np.testing.assert_array_equal(m.data[-1], m.frame(9))
    assert m.data[[7, 2]].shape == (2, 1080, 1920)
    assert len(m._jpegs.extents) == 10 and len(m.jpeg_extents) == 10


# ------------------------------------------------------------------ fixtures
@st.composite
def movies(draw) -> dict:
    n = draw(st.integers(2, 5))
    n_drop = draw(st.integers(0, 2))
    total = n + n_drop
    dropped = sorted(draw(st.sets(st.integers(0, total - 1), min_size=n_drop, max_size=n_drop)))
    rows = draw(st.integers(8, 40))
    cols = draw(st.sampled_from([64, 128]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["noise", "gradient", "flat"]))
    if kind == "noise":
        frames = rng.integers(0, 256, (n, rows, cols), dtype=np.uint8)
    elif kind == "gradient":
        yy, xx = np.mgrid[:rows, :cols]
        frames = np.stack([(xx * 3 + yy * 5 + 17 * k) % 256 for k in range(n)]).astype(np.uint8)
    else:
        frames = np.full((n, rows, cols), draw(st.integers(0, 255)), np.uint8)
    tsc = np.cumsum(rng.integers(1, 10**6, n)) + draw(st.integers(0, 2**40))
    fc = np.cumsum(rng.integers(1, 4, n)) + draw(st.integers(0, 1000))
    return dict(frames=frames, timestamps=tsc.tolist(), fc=fc.tolist(), dropped=dropped,
                epoch_ms=draw(st.integers(0, 2**41)),
                utc_offset_min=draw(st.integers(-720, 840)))


@SETTINGS
@given(spec=movies())
def test_fixture_isxb_matches_isx(tmp_path, spec):
    path = write_isxb(unique(tmp_path), **spec)
    m = assert_same(path)
    assert m.timing.dropped == tuple(spec["dropped"])
    for i in spec["dropped"]:
        assert not m.frame(i).any() and m.frame_metadata(i) is None and m.tsc[i] == 0


def test_fixture_frames_are_exact(tmp_path):
    """What the writer encodes decodes the same in isx and isxio (and close to the input)."""
    xx = np.mgrid[:48, :192][1]
    frames = np.stack([((xx + k * 9) % 256) for k in range(3)]).astype(np.uint8)
    path = write_isxb(unique(tmp_path), frames)
    m = assert_same(path)
    assert np.abs(m.data[:].astype(int) - frames).max() <= 8


TRACKERS = [
    {"box": [10.5, 20.25, 30.75, 40.125], "conf": 88.8},
    None,
    {"box": [0, 0, 0, 0], "conf": 1.0, "zones": [{"id": 5, "name": "Z", "event": "e"}]},
    {"box": [1, 2, 3, 4], "conf": 2, "zones": {"id": 0, "name": "N"}},
    {"box": [11.1, 12.2, 13.3, 14.4], "conf": 99.5,
     "zones": [{"id": 1720032796530, "name": "ZONE#3", "event": "e", "trig": "softTrig-3"},
               {"id": 1720032411965, "name": "ZONE#2", "event": "x", "trig": "softTrig-2"},
               {"id": 0, "name": "skipped"}]},
    {"box": [5, 6, 7, 8], "conf": 50, "zones": {"id": 4270701760, "name": "ZONE#1", "event": "o"}},
]
ZONES = [
    {"id": 12, "enable": True, "name": "R", "description": "d",
     "geometry": {"type": "rectangle", "coordinates": [[1.5, 2], [3, 2], [3, 4], [1.5, 4]]},
     "inColor": {"borderColor": [1, 2, 3, 4]}, "outColor": {"borderColor": [5, 6, 7, 8]}},
    {"id": 13, "enable": False, "name": "E", "description": "",
     "geometry": {"type": "ellipse", "coordinates": [[5, 6]],
                  "properties": {"majorAxis": 10.1, "minorAxis": 4, "angle": 30}}},
    {"id": 14, "enable": True, "name": "P", "description": "",
     "geometry": {"type": "polygon", "coordinates": [[0, 0], [9, 0], [9, 9], [4, 12], [0, 9]]}},
]


def test_tracking_and_zones_match_isx(tmp_path):
    frames = np.random.default_rng(3).integers(0, 256, (6, 16, 64), dtype=np.uint8)
    path = write_isxb(unique(tmp_path), frames, dropped=[1], trackers=TRACKERS, zones=ZONES,
                      camera_alias="top")
    m = assert_same(path)
    assert_tracking_matches_isx_csv(m, tmp_path)
    assert_zones_match_isx_csv(m, tmp_path)
    tr = m.tracking
    assert tr.valid.tolist() == [True, False, False, False, True, True, True]
    assert tr.zone_events[5][0].event == "entry" and tr.zone_events[5][1].trigger == "softTrig-2"
    assert m.zones[0].in_color == (1, 2, 3, 4) and m.zones[1].out_color is None


def test_acquisition_info_matches_isx(tmp_path):
    frames = np.zeros((2, 8, 64), np.uint8)
    extra = {
        "userInterface": {"animal": {"sex": "m", "dob": "", "id": "A1", "species": "mouse",
                                     "weight": 21.5, "description": "x"},
                          "customMetadata": {"Animal ID": {"value": "B2"},
                                             "Virus": {"value": "GCaMP"}}},
    }
    paired = {"system": {"behavior": {"paired": True, "synced": True,
                                      "software": {"behaviorIdas": "1.4.0"},
                                      "system": {"sessionName": "S1"}},
                         "miniscope": {"software": {"miniscopeIdas": "2.0"},
                                       "system": {"sessionName": "M1", "systemSerial": "X9"}}},
              "recordingUUID": "AC-1"}
    session = {"cameraName": "cam", "processingInterface": {
        "cam": {"cameraAlias": "side", "cameraSerial": "KTM-1",
                "recordFov": {"width": 64, "height": 8, "originx": 7, "originy": 9},
                "sensorParams": {"brightness": 1, "contrast": 2, "saturation": 3, "gain": 4,
                                 "exposure": {"type": "manual", "value": 12}}},
        **paired}, **extra}
    path = write_isxb(unique(tmp_path), frames, session=session)
    m = assert_same(path)
    assert m.acquisition_info["Animal ID"] == "B2"
    assert m.acquisition_info["Camera Exposure Time (ms)"] == 12
    assert m.spacing.top_left == (Ratio(7, 1), Ratio(9, 1))


def test_session_overrides_without_frame_metadata(tmp_path):
    frames = np.random.default_rng(1).integers(0, 256, (3, 16, 64), dtype=np.uint8)
    timing = {"numTimes": 4, "period": {"num": 1, "den": 20}, "dropped": [1], "cropped": [],
              "blank": [], "start": {"secsSinceEpoch": {"num": 5, "den": 1}, "utcOffset": 60}}
    spacing = {"numPixels": {"x": 64, "y": 16}, "pixelSize": {"x": {"num": 5, "den": 2},
                                                             "y": {"num": 3, "den": 1}},
               "topLeft": {"x": {"num": 1, "den": 1}, "y": {"num": 2, "den": 1}}}
    path = write_isxb(unique(tmp_path), frames, frame_metadata=False,
                      session_extra={"timingInfo": timing, "spacingInfo": spacing})
    ref = isx.Movie.read(str(path))
    m = IsxbFile(path)
    assert timing_tuple(m.timing) == isx_timing(ref)
    assert spacing_tuple(m.spacing) == isx_spacing(ref)
    for i in range(4):
        np.testing.assert_array_equal(m.frame(i), ref.get_frame_data(i))
    assert not m.has_frame_timestamps
    with pytest.raises(Exception, match="No frame timestamps"):
        ref.get_frame_timestamp(0)
    with pytest.raises(IsxFormatError, match="No frame timestamps"):
        m.tsc  # noqa: B018
    assert "timingInfo" not in m.extra_properties
    bare = write_isxb(unique(tmp_path), frames[:2], session={
        "cameraName": "c", "spacingInfo": spacing,
        "timingInfo": {**timing, "numTimes": 2, "dropped": []}})
    assert IsxbFile(bare).acquisition_info is None
    assert isx.Movie.read(str(bare)).get_acquisition_info() is None


def test_single_frame_movie(tmp_path):
    path = write_isxb(unique(tmp_path), np.zeros((1, 8, 64), np.uint8))
    with pytest.warns(IsxFormatWarning, match="single stored frame"):
        m = IsxbFile(path)
    ref = isx.Movie.read(str(path))  # isx reports the period 0/0
    assert m.num_frames == 1 and m.tsc.tolist() == [ref.get_frame_timestamp(0)]
    np.testing.assert_array_equal(m.frame(0), ref.get_frame_data(0))


# ------------------------------------------------------------------ beyond isx
def test_width_not_multiple_of_64_reads(tmp_path):
    """isx 2.1.0 refuses these (stride check); isxio decodes them."""
    frames = np.random.default_rng(2).integers(0, 256, (3, 10, 96), dtype=np.uint8)
    jpegs = encode_mjpeg(frames)
    path = write_isxb(unique(tmp_path), jpegs=jpegs, shape=(10, 96))
    with pytest.raises(Exception, match="do not match"):
        isx.Movie.read(str(path)).get_frame_data(0)
    m = IsxbFile(path)
    dec = av.CodecContext.create("mjpeg", "r")
    for i, jpeg in enumerate(jpegs):
        fr = dec.decode(av.Packet(jpeg))[0]
        y = np.frombuffer(fr.planes[0], np.uint8).reshape(10, -1)[:, :96]
        np.testing.assert_array_equal(m.frame(i), y)


def _with_thumbnail(jpeg: bytes, thumb: bytes) -> bytes:
    body = b"Exif\x00\x00" + thumb
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def test_embedded_thumbnails_and_stray_bytes(tmp_path):
    frames = np.random.default_rng(4).integers(0, 256, (3, 16, 64), dtype=np.uint8)
    jpegs = encode_mjpeg(frames)
    plain = IsxbFile(write_isxb(unique(tmp_path), jpegs=jpegs, shape=(16, 64)))
    thumb = encode_mjpeg(frames[:1, :8, :64])[0]
    odd = [_with_thumbnail(jpegs[0], thumb), jpegs[1], _with_thumbnail(jpegs[2], thumb)]
    m = IsxbFile(write_isxb(unique(tmp_path), jpegs=odd, shape=(16, 64)))
    for i in range(3):
        np.testing.assert_array_equal(m.frame(i), plain.frame(i))
    stray = [jpegs[0], b"\x00\x00" + jpegs[1], jpegs[2]]
    s = IsxbFile(write_isxb(unique(tmp_path), jpegs=stray, shape=(16, 64)))
    with pytest.warns(IsxFormatWarning, match="stray byte"):
        np.testing.assert_array_equal(s.frame(1), plain.frame(1))
    ext = index_jpegs(b"".join(odd), 3)
    assert ext[0, 1] == len(odd[0]) and ext[2, 0] == len(odd[0]) + len(odd[1])


def test_random_access_and_api(tmp_path):
    frames = np.random.default_rng(5).integers(0, 256, (5, 8, 64), dtype=np.uint8)
    path = write_isxb(unique(tmp_path), frames, dropped=[2])
    m = IsxbFile(path)
    seq = [m.frame(i) for i in range(6)]
    for i in (5, 0, 3, 3, 1, 4, -1, -6):
        np.testing.assert_array_equal(m.frame(i), seq[i])
    np.testing.assert_array_equal(np.asarray(m.data), np.stack(seq))
    np.testing.assert_array_equal(np.stack(list(m.data)), np.stack(seq))
    assert m.data[::2].shape == (3, 8, 64) and m.data[np.array([1, 1])].shape == (2, 8, 64)
    assert m.data[..., 0].shape == (6, 8) and len(m.data) == 6 and m.data.ndim == 3
    with pytest.raises(IndexError):
        m.frame(6)
    with pytest.raises(IndexError):
        m.jpeg(2)  # dropped: not stored
    assert m.jpeg(3)[:2] == b"\xff\xd8"
    clone = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(clone.frame(4), seq[4])
    with IsxbFile(path) as again:
        assert repr(again).startswith("<IsxbFile")
    assert m.frame_metadata(3)["fc"] == 3


# ------------------------------------------------------------------ damage
def _copy(src: Path, tmp_path: Path) -> Path:
    dst = unique(tmp_path)
    dst.write_bytes(src.read_bytes())
    return dst


def _patch(path: Path, offset: int, data: bytes) -> Path:
    raw = bytearray(path.read_bytes())
    raw[offset:offset + len(data)] = data
    path.write_bytes(bytes(raw))
    return path


def test_damaged_headers(tmp_path):
    frames = np.zeros((3, 8, 64), np.uint8)
    good = write_isxb(unique(tmp_path), frames)
    size = good.stat().st_size
    tiny = unique(tmp_path)
    tiny.write_bytes(good.read_bytes()[:50])
    with pytest.raises(IsxFormatError, match="too small") as err:
        IsxbFile(tiny)
    assert str(tiny) in str(err.value)
    for field, value in ((56, size), (64, size), (72, size), (88, 0)):
        bad = _patch(_copy(good, tmp_path), field, struct.pack("<Q", value))
        with pytest.raises(IsxFormatError) as err:
            IsxbFile(bad)
        assert err.value.offset in (48, 64, 80, 88)
    truncated = unique(tmp_path)
    truncated.write_bytes(good.read_bytes()[:size - 10])
    with pytest.raises(IsxFormatError, match="past the end"):
        IsxbFile(truncated)
    huge = _patch(_copy(good, tmp_path), 32, struct.pack("<Q", 2**40))
    with pytest.raises(IsxFormatError, match="implausible"):
        IsxbFile(huge)


def test_damaged_json(tmp_path):
    frames = np.zeros((3, 8, 64), np.uint8)
    for kw, match in ((dict(frame_metadata=b'{"samples": [1, 2'), "per-frame metadata JSON"),
                      (dict(frame_metadata={"samples": [{"fc": 1, "tsc": 5}]}),
                       "Unexpected number of samples"),
                      (dict(session=b"[1, 2]"), "not a JSON object"),
                      (dict(session=b"\xff\xfe"), "not valid UTF-8"),
                      (dict(frame_metadata={"samples": [{"fc": 1}, {"fc": 2}, {"fc": 3}]}),
                       "samples\\[0\\].tsc"),
                      (dict(session={"cameraName": "x"}), "processingInterface"),
                      (dict(frame_metadata={"samples": [{"fc": k, "tsc": 9 * k} for k in (1, 2, 3)],
                                            "droppedFrames": [7]}), "past the last frame")):
        path = write_isxb(unique(tmp_path), frames, **kw)
        with pytest.raises(IsxFormatError, match=match) as err:
            IsxbFile(path)
        assert str(path) in str(err.value) and err.value.offset is not None


def test_bad_jpeg_and_missing_frames(tmp_path):
    frames = np.random.default_rng(6).integers(0, 256, (3, 8, 64), dtype=np.uint8)
    jpegs = encode_mjpeg(frames)
    broken = jpegs[1][:2] + b"\xff\xc0\x00\x02" + b"\x00" * 40 + jpegs[1][-2:]
    path = write_isxb(unique(tmp_path), jpegs=[jpegs[0], broken, jpegs[2]], shape=(8, 64))
    m = IsxbFile(path)  # opening does not decode
    m.frame(0)
    with pytest.raises(IsxFormatError, match="frame 1") as err:
        m.frame(1)
    assert err.value.offset == 96 + len(jpegs[0])
    np.testing.assert_array_equal(m.frame(2), IsxbFile(write_isxb(
        unique(tmp_path), jpegs=jpegs, shape=(8, 64))).frame(2))
    # the header announces 3 frames but the video holds 2
    samples = [{"fc": k, "tsc": 1000 * k} for k in (1, 2, 3)]
    short = write_isxb(unique(tmp_path), jpegs=jpegs[:2], shape=(8, 64), num_frames=3,
                       frame_metadata={"samples": samples})
    s = IsxbFile(short)
    s.frame(1)
    with pytest.raises(IsxFormatError, match="missing from the video") as err:
        s.frame(2)
    assert err.value.offset == 96 + len(jpegs[0]) + len(jpegs[1])  # end of the video
    with pytest.warns(IsxFormatWarning, match="holds 2 complete JPEG"):
        assert len(s.jpeg_extents) == 2
    wrong = write_isxb(unique(tmp_path), jpegs=jpegs, shape=(16, 64))
    with pytest.raises(IsxFormatError, match="does not match the dimensions"):
        IsxbFile(wrong).frame(0)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.none() | st.integers(0, 10**5),
       flips=st.lists(st.tuples(st.integers(0, 10**5), st.integers(0, 255)), max_size=6))
def test_damaged_isxb_raises_only_format_errors(tmp_path, cut, flips):
    frames = np.random.default_rng(0).integers(0, 256, (3, 16, 64), dtype=np.uint8)
    good = write_isxb(unique(tmp_path), frames, trackers=TRACKERS[:3], zones=ZONES).read_bytes()
    data = bytearray(good if cut is None else good[:cut % len(good)])
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    path = unique(tmp_path)
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsxFormatWarning)
        try:
            m = IsxbFile(path)
            m.acquisition_info  # noqa: B018
            for i in range(m.num_frames):
                assert m.frame(i).shape == m.spacing.shape
            m.tracking  # noqa: B018
            m.zones  # noqa: B018
        except IsxFormatError as exc:
            assert str(path) in str(exc)
