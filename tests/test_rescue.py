"""isxio.rescue: truncated / trailer-less recordings, checked against isx reading the originals.

Damaged files are truncated (or edited) copies of the real Inscopix files; every rescued
frame must equal what isx reads from the original, and isx must read the rescued file.
"""

from __future__ import annotations

import ctypes
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from isxio.formats.common import Ratio, SpacingInfo, TimingInfo
from isxio.formats.frameheader import encode_header_fields
from isxio.formats.movie import FRAME_HEADER_ITEMS, MovieWriter
from isxio.rescue import RescueRefused, RescueReport, rescue

isx = pytest.importorskip("isx")
pytestmark = [pytest.mark.isx, pytest.mark.realdata]

MOVIES = {  # name -> (stored record bytes, stored frames, JSON bytes)
    "movie_longer_than_3_min.isxd": (1914, 1248, 19206),
    "multiplane_movie.isxd": (42240, 30, 27227),
    "movie_u8.isxd": (12, 5, 1102),
}
ISXB = ("Group-20240111-080531_2024-01-12-08-55-21_sched_0.isxb",
        "Group-20240111-080531_2024-01-12-08-55-21_sched_1.isxb")


def _cut(src: Path, dst: Path, size: int) -> Path:
    dst.write_bytes(src.read_bytes()[:size])
    return dst


def _isx_header(movie, index: int, which: str) -> np.ndarray:
    """Frame header or footer as isx reads it (its C API; the Python API has no call)."""
    func = getattr(isx._internal.c_api, f"isx_movie_get_frame_{which}")
    func.argtypes = [isx._internal.IsxMoviePtr, ctypes.c_size_t, isx._internal.UInt16Ptr]
    func.errcheck = isx._internal._standard_errcheck
    out = np.zeros(FRAME_HEADER_ITEMS, np.uint16)
    func(movie._ptr, index, out.ctypes.data_as(isx._internal.UInt16Ptr))
    return out


def _start(movie) -> Fraction:
    """The start time isx reads, exactly (seconds since the Unix epoch)."""
    ratio = movie.timing.start._impl.secs_since_epoch
    return Fraction(ratio.num, ratio.den)


def _frames(path: Path, n: int) -> np.ndarray:
    movie = isx.Movie.read(str(path))
    return np.stack([movie.get_frame_data(i) for i in range(n)])


# (name, where to cut as (records, extra bytes) or ("json", bytes into the trailer))
CUTS = [(name, cut) for name in MOVIES for cut in
        [(1, 0), (3, 5), ("mid", 7), ("mid", 0), ("json", 1), ("json", 100), ("json", -4)]]


@pytest.mark.parametrize(("name", "cut"), CUTS, ids=[f"{n[:12]}-{c}" for n, c in CUTS])
def test_truncated_real_movie(realdata, tmp_path, name, cut):
    record, total, json_size = MOVIES[name]
    where, extra = cut
    if where == "json":  # inside the trailer: every frame is there
        size, n, partial = record * total + (extra if extra > 0 else json_size + 9 + extra), \
            total, False
    else:
        n = total // 2 if where == "mid" else where
        size, partial = n * record + extra, extra > 0
    damaged = _cut(realdata / name, tmp_path / "damaged.isxd", size)
    out = tmp_path / "rescued.isxd"
    report = rescue(damaged, out, like=realdata / name)
    assert report.frames_recovered == n
    assert report.frames_lost == int(partial)
    assert report.bytes_ignored == size - n * record
    assert (report.trailer_bytes > 0) == (where == "json")
    assert damaged.stat().st_size == size  # the damaged file is left as it was
    rescued = isx.Movie.read(str(out))
    assert rescued.timing.num_samples == n
    np.testing.assert_array_equal(_frames(out, n), _frames(realdata / name, n))
    orig = isx.Movie.read(str(realdata / name))
    assert rescued.spacing.num_pixels == orig.spacing.num_pixels
    assert rescued.data_type == orig.data_type


def test_tsc_timestamps_and_start_from_sibling(realdata, tmp_path):
    """Frame headers are copied verbatim, so isx reads the same TSCs; start = sibling's."""
    src = realdata / "multiplane_movie.isxd"
    damaged = _cut(src, tmp_path / "mp.isxd", 42240 * 11 + 300)
    report = rescue(damaged, tmp_path / "mp_out.isxd", like=src)
    orig, rescued = isx.Movie.read(str(src)), isx.Movie.read(str(tmp_path / "mp_out.isxd"))
    assert [rescued.get_frame_timestamp(i) for i in range(11)] == \
        [orig.get_frame_timestamp(i) for i in range(11)]
    for which in ("header", "footer"):
        np.testing.assert_array_equal(
            np.stack([_isx_header(rescued, i, which) for i in range(11)]),
            np.stack([_isx_header(orig, i, which) for i in range(11)]))
    assert rescued.timing.start == orig.timing.start
    assert "TSC offset" in report.start_source and report.frames_lost == 1


def _drop_records(src: Path, dst: Path, keep: list[int], record: int, cut: int = 0) -> Path:
    data = src.read_bytes()
    dst.write_bytes(b"".join(data[i * record:(i + 1) * record] for i in keep)
                    + data[keep[-1] * record + record:][:cut])
    return dst


def test_later_part_start_from_tsc_offset(realdata, tmp_path):
    """A file holding frames 7.. of the recording starts where frame 7 started."""
    src = realdata / "multiplane_movie.isxd"
    damaged = _drop_records(src, tmp_path / "part.isxd", list(range(7, 20)), 42240, cut=999)
    rescue(damaged, tmp_path / "part_out.isxd", like=src)
    orig, rescued = isx.Movie.read(str(src)), isx.Movie.read(str(tmp_path / "part_out.isxd"))
    shift = orig.get_frame_timestamp(7) - orig.get_frame_timestamp(0)  # µs
    assert _start(rescued) == _start(orig) + Fraction(shift, 10**6)
    np.testing.assert_array_equal(_frames(tmp_path / "part_out.isxd", 13),
                                  np.stack([orig.get_frame_data(i) for i in range(7, 20)]))


def test_dropped_frames_from_own_tscs(realdata, tmp_path):
    """Records 5 and 9 missing: the TSC gaps put them back in the timeline as dropped."""
    src = realdata / "multiplane_movie.isxd"
    keep = [i for i in range(16) if i not in (5, 9)]
    damaged = _drop_records(src, tmp_path / "gaps.isxd", keep, 42240, cut=1000)
    report = rescue(damaged, tmp_path / "gaps_out.isxd", like=src)
    assert (report.frames_recovered, report.dropped, report.num_samples) == (14, 2, 16)
    orig, rescued = isx.Movie.read(str(src)), isx.Movie.read(str(tmp_path / "gaps_out.isxd"))
    for i in range(16):
        want = np.zeros_like(orig.get_frame_data(i)) if i in (5, 9) else orig.get_frame_data(i)
        np.testing.assert_array_equal(rescued.get_frame_data(i), want)
        assert rescued.get_frame_timestamp(i) == (0 if i in (5, 9)
                                                  else orig.get_frame_timestamp(i))


def _synthetic(path: Path, tscs: list[int], dropped: tuple[int, ...] = (),
               trailer: bool = True) -> np.ndarray:
    """A 4x6 nVista 3 movie with the given TSCs (one per stored frame)."""
    n = len(tscs) + len(dropped)
    rng = np.random.default_rng(len(tscs))
    frames = rng.integers(0, 4096, (n, 4, 6), dtype=np.uint16)
    timing = TimingInfo(n, Ratio(50, 1000), dropped=dropped)
    extra = {"producer": {"version": "1.9.0"}}
    with MovieWriter(path, timing, SpacingInfo(4, 6), np.uint16, frame_header_footer=True,
                     extra_properties=extra) as w:
        stored = iter(tscs)
        for i in range(n):
            if i not in dropped:
                w.set_frame_data(i, frames[i], header=encode_header_fields(tsc=next(stored)))
    if not trailer:
        data = path.read_bytes()
        path.write_bytes(data[:len(tscs) * (48 + 10240)])
    return frames


def test_sibling_lists_never_used(tmp_path):
    """The sibling drops frame 2; the damaged file's own TSCs have a gap at frame 4 only."""
    sib = tmp_path / "sib.isxd"
    _synthetic(sib, [10**9 + 50_000 * i for i in (0, 1, 3, 4)], dropped=(2,))
    damaged = tmp_path / "dmg.isxd"
    frames = _synthetic(damaged, [7 * 10**9 + 50_000 * i for i in (0, 1, 2, 3, 5, 6)],
                        trailer=False)
    out = tmp_path / "dmg_out.isxd"
    report = rescue(damaged, out, like=sib)
    assert report.dropped == 1 and report.num_samples == 7
    rescued = isx.Movie.read(str(out))
    got = np.stack([rescued.get_frame_data(i) for i in range(7)])
    want = np.insert(frames, 4, 0, axis=0)
    np.testing.assert_array_equal(got, want)
    assert rescued.get_frame_timestamp(4) == 0
    assert rescued.timing.period.secs_float == pytest.approx(0.05)


def test_intact_file_refused_unless_forced(realdata, tmp_path):
    src = realdata / "movie_u8.isxd"
    with pytest.raises(RescueRefused, match=r"intact.*nothing to rescue"):
        rescue(src, tmp_path / "x.isxd")
    report = rescue(src, tmp_path / "x.isxd", force=True)
    assert (report.frames_recovered, report.frames_lost) == (5, 0)
    np.testing.assert_array_equal(_frames(tmp_path / "x.isxd", 5), _frames(src, 5))
    with pytest.raises(RescueRefused, match="nothing to rescue"):
        rescue(realdata / ISXB[0], tmp_path / "x.isxb")


def test_garbage_trailer_without_sibling(realdata, tmp_path):
    """Hand-edited JSON that no longer parses: data intact, the keys that decode are used."""
    src = realdata / "movie_longer_than_3_min.isxd"
    data = bytearray(src.read_bytes())
    d = 1914 * 1248
    at = data.index(b'"fileVersion": 1,', d)
    data[at + 16:at + 17] = b";"  # a syntax error, same length: the 9-byte tail stays valid
    damaged = tmp_path / "garbage.isxd"
    damaged.write_bytes(bytes(data))
    report = rescue(damaged, tmp_path / "garbage_out.isxd")
    assert (report.frames_recovered, report.frames_lost, report.frames_expected) == \
        (1248, 0, 1248)
    orig, rescued = isx.Movie.read(str(src)), isx.Movie.read(str(tmp_path /
                                                                  "garbage_out.isxd"))
    assert rescued.timing.start == orig.timing.start
    assert rescued.timing.period == orig.timing.period
    assert rescued.get_acquisition_info() == orig.get_acquisition_info()
    np.testing.assert_array_equal(rescued.get_frame_data(1247), orig.get_frame_data(1247))


def test_half_written_trailer_keeps_own_timing(realdata, tmp_path):
    """Cut after the trailer's timingInfo: the file's own timing (start, period) survives."""
    src = realdata / "movie_u8.isxd"
    data = src.read_bytes()
    cut = data.index(b'\n    "type"', 60)
    damaged = tmp_path / "half.isxd"
    damaged.write_bytes(data[:cut])
    report = rescue(damaged, tmp_path / "half_out.isxd")
    assert report.start_source == "the file's own trailer"
    assert (report.frames_recovered, report.trailer_bytes) == (5, cut - 60)
    np.testing.assert_array_equal(_frames(tmp_path / "half_out.isxd", 5), _frames(src, 5))


def test_explicit_layout_and_start(realdata, tmp_path):
    damaged = _cut(realdata / "movie_u8.isxd", tmp_path / "u8.isxd", 12 * 4 + 3)
    report = rescue(damaged, tmp_path / "u8_out.isxd", shape=(3, 4), dtype=np.uint8,
                    period=Fraction(1, 20), start=1_700_000_000.25)
    rescued = isx.Movie.read(str(tmp_path / "u8_out.isxd"))
    assert rescued.timing.num_samples == 4 and report.frames_lost == 1
    assert _start(rescued) == Fraction(1_700_000_000_25, 100)
    assert rescued.timing.period.secs_float == 0.05
    assert report.start_source == "given (start=)"


def test_errors(realdata, tmp_path):
    damaged = _cut(realdata / "movie_u8.isxd", tmp_path / "e.isxd", 40)
    with pytest.raises(RescueRefused, match="no layout"):
        rescue(damaged, tmp_path / "e_out.isxd")
    with pytest.raises(RescueRefused, match="must not replace"):
        rescue(damaged, damaged, like=realdata / "movie_u8.isxd")
    with pytest.raises(RescueRefused, match="no complete frame"):
        rescue(_cut(realdata / "movie_u8.isxd", tmp_path / "tiny.isxd", 7),
               tmp_path / "t_out.isxd", like=realdata / "movie_u8.isxd")
    with pytest.raises(RescueRefused, match="not a whole number"):  # a wrong sibling
        rescue(_cut(realdata / "movie_u8.isxd", tmp_path / "w.isxd", 1160),
               tmp_path / "w_out.isxd", like=realdata / "multiplane_movie.isxd")
    assert not (tmp_path / "w_out.isxd").exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []


def test_report_str(realdata, tmp_path):
    damaged = _cut(realdata / "movie_u8.isxd", tmp_path / "s.isxd", 41)
    report = rescue(damaged, tmp_path / "s_out.isxd", like=realdata / "movie_u8.isxd",
                    start=0)
    assert isinstance(report, RescueReport)
    text = str(report)
    assert "frames recovered: 3" in text and "frames lost:      1" in text
    assert "bytes ignored:    5" in text


# ---------------------------------------------------------------- .isxb
def _isxb_cuts(path: Path) -> dict[str, int]:
    h = struct.unpack("<QQQqQQQQQQQQ", path.read_bytes()[:96])
    return {"video": 96 + h[7] // 2, "frame-meta": h[8] + 900,
            "session": h[8] + h[9] + 100, "end": path.stat().st_size - 5}


@pytest.mark.parametrize("where", ["video", "frame-meta", "session", "end"])
def test_truncated_real_isxb(realdata, tmp_path, where):
    pytest.importorskip("av")
    src = realdata / ISXB[1]
    damaged = _cut(src, tmp_path / "cut.isxb", _isxb_cuts(src)[where])
    out = tmp_path / "cut_out.isxb"
    report = rescue(damaged, out, like=realdata / ISXB[0])
    orig, rescued = isx.Movie.read(str(src)), isx.Movie.read(str(out))
    n = rescued.timing.num_samples
    assert report.frames_recovered == n and report.frames_lost == 10 - n
    assert n == (5 if where == "video" else 10)
    for i in range(n):  # same JPEG bytes, same decoder: bit-exact
        np.testing.assert_array_equal(rescued.get_frame_data(i), orig.get_frame_data(i))
    assert rescued.timing.period.secs_float == pytest.approx(orig.timing.period.secs_float,
                                                             rel=1e-3)
    assert abs(_start(rescued) - _start(orig)) < Fraction(1, 1000)  # the header holds ms
    if where in ("session", "end"):  # the per-frame TSCs survive
        assert [rescued.get_frame_timestamp(i) for i in range(n)] == \
            [orig.get_frame_timestamp(i) for i in range(n)]
