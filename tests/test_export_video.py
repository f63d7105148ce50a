"""MP4 export against isx 2.1.0: same codec, frame size, frame count and time base;
decoded frames close to isx's and to the source."""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isxio.export as ours
from isxio.export.video import reduce_rational

from .test_export_helpers import run_both, valid_frames, write_isx_movie

pytestmark = pytest.mark.isx
isx = pytest.importorskip("isx")
av = pytest.importorskip("av")


def decode(path: Path) -> tuple[dict, np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {"codec": stream.codec_context.name, "size": (stream.height, stream.width),
                "time_base": stream.time_base, "rate": stream.average_rate,
                "format": container.format.name}
        luma = [f.to_ndarray()[:stream.height] for f in container.decode(video=0)]
    return info, np.stack(luma) if luma else np.zeros((0, *info["size"]), np.uint8)


def expected_u8(frames: np.ndarray) -> np.ndarray:
    if frames.dtype == np.uint8:
        return frames
    lo, hi = float(frames.min()), float(frames.max())
    return ((frames.astype(np.float64) - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def write_smooth_movie(path: Path, n: int, shape: tuple[int, int], dtype) -> None:
    """Smooth moving gradients (what a video codec keeps well), written with isxio's
    writer (byte-identical to isx's; isx cannot write uint8 movies)."""
    from isxio.formats.common import Ratio, TimingInfo
    from isxio.formats.movie import write_movie

    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    t = np.arange(n)[:, None, None]
    wave = np.sin((x + 2 * t) / 5.0) + np.cos((y - t) / 4.0)  # -2..2
    scale = {np.uint8: 60, np.uint16: 10000, np.float32: 3.5}[dtype]
    frames = (wave * scale + (2 * scale if dtype != np.float32 else 0)).astype(dtype)
    timing = TimingInfo(n, Ratio(33, 1000), dropped=(2,), cropped=((5, 6),))
    write_movie(path, frames, timing=timing)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.uint8])
@pytest.mark.parametrize("write_invalid", [False, True])
def test_mp4_matches_isx(tmp_path, dtype, write_invalid):
    src = tmp_path / "m.isxd"
    write_smooth_movie(src, 12, (33, 47), dtype)
    theirs, mine = run_both(tmp_path, "v.mp4", isx.export_movie_to_mp4,
                            ours.export_movie_to_mp4, [str(src)],
                            write_invalid_frames=write_invalid)
    info_a, a = decode(theirs)
    info_b, b = decode(mine)
    assert info_a == info_b
    assert info_b["codec"] == "mpeg4" and info_b["size"] == (32, 46)
    assert a.shape == b.shape
    assert np.abs(a.astype(int) - b).mean() < 2
    if not write_invalid:
        src_u8 = expected_u8(valid_frames(isx, src))[:, :32, :46]
        assert np.abs(src_u8.astype(int) - b).mean() < 4


def test_mp4_real_files_match_isx(tmp_path, realdata):
    for name in ("movie_longer_than_3_min.isxd", "movie_part2_108x123x63.isxd"):
        for fmt in ("float", "int"):
            theirs, mine = run_both(tmp_path, f"{name}{fmt}.mp4", isx.export_movie_to_mp4,
                                    ours.export_movie_to_mp4, [str(realdata / name)],
                                    frame_rate_format=fmt)
            info_a, a = decode(theirs)
            info_b, b = decode(mine)
            assert info_a == info_b
            assert np.abs(a.astype(int) - b).mean() < 1
            assert abs(mine.stat().st_size / theirs.stat().st_size - 1) < 0.15


@settings(max_examples=25, deadline=None)
@given(st.integers(1000, 2_000_000), st.sampled_from(["float", "int"]))
def test_mp4_time_base_matches_isx(period_us, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "m.isxd"
        timing = isx.Timing(num_samples=2, period=isx.Duration.from_usecs(period_us))
        movie = isx.Movie.write(str(src), timing, isx.Spacing(num_pixels=(2, 2)), np.uint16)
        for i in range(2):
            movie.set_frame_data(i, np.full((2, 2), i * 100, np.uint16))
        movie.flush()
        theirs, mine = run_both(tmp, "v.mp4", isx.export_movie_to_mp4,
                                ours.export_movie_to_mp4, [str(src)], frame_rate_format=fmt)
        assert decode(theirs)[0] == decode(mine)[0]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**9), st.integers(1, 10**9))
def test_reduce_rational_is_best_bounded_approximation(num, den):
    n, d = reduce_rational(num, den, 65535)
    assert 0 < d <= 65535 and n <= 65535
    value = Fraction(num, den)
    if value.numerator <= 65535 and value.denominator <= 65535:
        assert Fraction(n, d) == value
    else:  # nothing with a smaller denominator is closer
        best = value.limit_denominator(d)
        if best.numerator <= 65535:
            assert abs(Fraction(n, d) - value) <= abs(best - value)


def test_reduce_rational_known_value():
    assert reduce_rational(166665, 5000000, 65535) == (2184, 65521)


def test_mp4_refusals(tmp_path):
    src = tmp_path / "m.isxd"
    write_isx_movie(isx, src, 3)
    with pytest.raises(ValueError, match="frame rate format"):
        ours.export_movie_to_mp4([str(src)], str(tmp_path / "a.mp4"), frame_rate_format="x")
    with pytest.raises(ValueError, match="compression_quality"):
        ours.export_movie_to_mp4([str(src)], str(tmp_path / "a.mp4"), compression_quality=2)
    (tmp_path / "b.mp4").write_bytes(b"")
    with pytest.raises(FileExistsError):
        ours.export_movie_to_mp4([str(src)], str(tmp_path / "b.mp4"))
    assert not (tmp_path / "a.mp4").exists()


def test_mp4_warns_when_periods_differ(tmp_path):
    a, b = tmp_path / "a.isxd", tmp_path / "b.isxd"
    write_isx_movie(isx, a, 3, period_ms=50)
    write_isx_movie(isx, b, 3, period_ms=100)
    with pytest.warns(UserWarning, match="Steps don't match"):
        ours.export_movie_to_mp4([str(a), str(b)], str(tmp_path / "o.mp4"))
    assert decode(tmp_path / "o.mp4")[1].shape[0] == 6
