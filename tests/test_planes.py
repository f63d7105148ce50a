"""Per-plane and per-channel views of interleaved movies built byte by byte, checked with isx."""

from __future__ import annotations

import numpy as np
import pytest

import isxio
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.frameheader import HEADER_FIELDS, decode_header_fields
from isxio.formats.movie import FRAME_HEADER_ITEMS, MovieWriter, encode_tsc
from isxio.planes import num_planes, split_channels, split_planes

isx = pytest.importorskip("isx")
pytestmark = pytest.mark.isx


def _header(tsc: int, efocus: int, counter: int, color: int) -> np.ndarray:
    header = np.zeros(FRAME_HEADER_ITEMS, np.uint16)
    header[0] = 0x0A0
    header[1272:1280] = encode_tsc(tsc)
    for name, value in (("efocus", efocus), ("frame_counter", counter), ("color_id", color)):
        first, size = HEADER_FIELDS[name]
        for n in range(size):
            header[first + n] = ((value >> (8 * n)) & 0xFF) << 4
    return header


def _write_interleaved(path, n, planes, dropped=(), extra=None, focus=(100, 400, 700)):
    timing = TimingInfo(n, Ratio(50, 1000), Time(Ratio(1_700_000_000, 1)), dropped=dropped)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 4096, (n, 4, 6), dtype=np.uint16)
    with MovieWriter(path, timing, SpacingInfo(4, 6), np.uint16, frame_header_footer=True,
                     extra_properties=extra) as writer:
        for i in range(n):
            if i in dropped:
                continue
            header = _header(5_000_000 + i * 50_000 + (i % 3), focus[i % planes], 100 + i,
                             71 if i % 2 == 0 else 72)
            writer.set_frame_data(i, frames[i], header=header)
    return frames


def _multiplane_extra(planes, focus):
    return {"producer": {"version": "1.9.0", "versionBE": "1.9.0-x"},
            "microscope": {"multiplane": {
                "enabled": True, "activePlanes": planes,
                "planes": {f"plane-{p + 1}": {"enabled": True, "focus": str(focus[p])}
                           for p in range(planes)}}}}


def test_split_planes_with_dropped_frames(tmp_path):
    path = tmp_path / "mp.isxd"
    focus = (100, 400, 700)
    frames = _write_interleaved(path, 14, 3, dropped=(4,), extra=_multiplane_extra(3, focus))
    movie = isxio.open(path)
    theirs = isx.Movie.read(str(path))
    assert num_planes(movie.extra_properties) == 3
    tsc = np.array([theirs.get_frame_timestamp(i) for i in range(14)], np.uint64)
    np.testing.assert_array_equal(movie.tsc, tsc)
    planes = split_planes(movie)
    assert [p.efocus for p in planes] == list(focus)
    for p, plane in enumerate(planes):
        expected = np.stack([theirs.get_frame_data(i) for i in range(p, 14, 3)])
        np.testing.assert_array_equal(np.asarray(plane.data), expected)
        np.testing.assert_array_equal(plane.tsc, tsc[p::3])
    # frame 4 (plane 2, its 2nd frame) was dropped: zeros, marked invalid in that plane
    assert planes[1].timing.dropped == (1,)
    assert not planes[1].data[1].any()
    assert np.isnan(planes[1].timestamps()[1])
    valid = frames[0::3]
    np.testing.assert_array_equal(np.asarray(planes[0].data), valid)
    fields = decode_header_fields(movie.frame_headers[:])
    assert fields["frame_counter"][5] == 105 and fields["color_id"][1] == 72


def test_metadata_focus_disagreeing_with_headers_warns(tmp_path):
    path = tmp_path / "mp.isxd"
    _write_interleaved(path, 6, 3, extra=_multiplane_extra(3, (1, 2, 3)))
    with pytest.warns(isxio.IsxFormatWarning, match="efocus"):
        planes = split_planes(isxio.open(path))
    assert [p.efocus for p in planes] == [100, 400, 700]  # the headers win


def test_split_plane_already_split_by_idps_is_one_plane(tmp_path):
    extra = _multiplane_extra(3, (100, 400, 700))
    extra["idps"] = {"efocus": 400}
    assert num_planes(extra) == 1


def test_split_channels_of_a_multiplexed_movie(tmp_path):
    path = tmp_path / "dual.isxd"
    extra = {"producer": {"version": "1.9.0"},
             "microscope": {"dualColor": {"enabled": True, "mode": "multiplexing",
                                          "startChannel": "red",
                                          "muxRatio": {"led1": 1, "led2": 1}}}}
    frames = _write_interleaved(path, 8, 1, extra=extra)
    movie = isxio.open(path)
    channels = split_channels(movie)
    assert list(channels) == ["red", "green"]
    np.testing.assert_array_equal(np.asarray(channels["red"].data), frames[0::2])
    np.testing.assert_array_equal(np.asarray(channels["green"].data), frames[1::2])
    period = movie.timing.period.fraction  # from the TSCs: 350001/7000000 s
    assert period == Ratio(350_001, 7_000_000).fraction
    assert channels["green"].timing.start.secs_since_epoch.fraction == 1_700_000_000 + period
    # own TSCs of frames 1, 3, 5, 7: 5_050_001 .. 5_350_001 µs over 3 periods
    assert channels["green"].timing.period.fraction == Ratio(300_000, 3_000_000).fraction
    assert channels["green"].timing.num_samples == 4
    single = dict(extra)
    single["microscope"] = {"dualColor": {"enabled": True, "mode": "single",
                                          "single": {"channel": "green"}}}
    path2 = tmp_path / "single.isxd"
    _write_interleaved(path2, 4, 1, extra=single)
    assert list(split_channels(isxio.open(path2))) == ["green"]
