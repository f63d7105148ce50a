"""Movie exports (TIFF, image TIFF, frame timestamps CSV) against isx 2.1.0 on the same
inputs: CSV bytes identical, TIFF pages equal."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import isxio.export as ours
from isxio.errors import IsxFormatError, IsxTypeError
from isxio.export.tiff import MAX_TIFF_PAGES, normalize_to_dtype, tiff_part_paths
from isxio.formats.common import TimingInfo
from isxio.formats.movie import write_movie

from .test_export_helpers import run_both, write_isx_movie, write_tsc_movie

pytestmark = pytest.mark.isx
isx = pytest.importorskip("isx")
tifffile = pytest.importorskip("tifffile")


def tiff_pages(path: Path) -> tuple[int, np.ndarray, bool]:
    with tifffile.TiffFile(path) as tif:
        pages = np.stack([p.asarray() for p in tif.pages])
        return len(tif.pages), pages, tif.is_bigtiff


def assert_same_pages(theirs: Path, mine: Path) -> None:
    n1, p1, _ = tiff_pages(theirs)
    n2, p2, big = tiff_pages(mine)
    assert big and n1 == n2
    assert p1.dtype == p2.dtype
    np.testing.assert_array_equal(p1, p2)


# ------------------------------------------------------------------ TIFF
@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.uint8])
@pytest.mark.parametrize("write_invalid", [False, True])
def test_movie_to_tiff_matches_isx(tmp_path, dtype, write_invalid):
    a, b = tmp_path / "a.isxd", tmp_path / "b.isxd"
    write_isx_movie(isx, a, 7, (5, 3), dtype, dropped=[1], cropped=[(3, 4)], seed=1)
    write_isx_movie(isx, b, 4, (5, 3), dtype, blank=[0], seed=2)
    theirs, mine = run_both(tmp_path, "t.tif", isx.export_movie_to_tiff,
                            ours.export_movie_to_tiff, [str(a), str(b)], write_invalid)
    assert_same_pages(theirs, mine)


def test_movie_to_tiff_real_files(tmp_path, realdata):
    for name in ("movie_longer_than_3_min.isxd", "movie_part2_108x123x63.isxd",
                 "movie_u8.isxd", "multiplane_movie.isxd"):
        theirs, mine = run_both(tmp_path, f"{name}.tif", isx.export_movie_to_tiff,
                                ours.export_movie_to_tiff, [str(realdata / name)])
        assert_same_pages(theirs, mine)


def test_movie_to_tiff_streams_in_small_chunks(tmp_path):
    src = tmp_path / "m.isxd"
    frames = write_isx_movie(isx, src, 9, (2, 3), np.uint16, dropped=[4], seed=3)
    ours.export_movie_to_tiff(str(src), str(tmp_path / "o.tif"), chunk_frames=2)
    _, pages, _ = tiff_pages(tmp_path / "o.tif")
    np.testing.assert_array_equal(pages, frames[[0, 1, 2, 3, 5, 6, 7, 8]])


def test_movie_to_tiff_splits_like_isx(tmp_path):
    n = MAX_TIFF_PAGES + 2
    src = tmp_path / "big.isxd"
    data = (np.arange(n * 2) % 65521).astype(np.uint16).reshape(n, 1, 2)
    write_movie(src, data, timing=TimingInfo(n))
    _, mine = run_both(tmp_path, "s.tif", isx.export_movie_to_tiff,
                            ours.export_movie_to_tiff, [str(src)])
    assert sorted(p.name for p in tmp_path.glob("our_s*")) == ["our_s.tif", "our_s_00001.tif"]
    assert sorted(p.name for p in tmp_path.glob("isx_s*")) == ["isx_s.tif", "isx_s_00001.tif"]
    assert_same_pages(tmp_path / "isx_s_00001.tif", tmp_path / "our_s_00001.tif")
    with tifffile.TiffFile(mine) as tif:
        assert len(tif.pages) == MAX_TIFF_PAGES
        for i in (0, 1, 40000, MAX_TIFF_PAGES - 1):
            np.testing.assert_array_equal(tif.pages[i].asarray(), data[i])


def test_tiff_part_names():
    assert tiff_part_paths("/d/x.tif", 5) == ["/d/x.tif"]
    assert tiff_part_paths("/d/x.tif", 3 * MAX_TIFF_PAGES + 1) == [
        "/d/x.tif", "/d/x_000001.tif", "/d/x_000002.tif", "/d/x_000003.tif"]


def test_movie_to_tiff_refusals(tmp_path):
    src = tmp_path / "m.isxd"
    write_isx_movie(isx, src, 3)
    img = tmp_path / "i.isxd"
    isx.Image.write(str(img), isx.Spacing(num_pixels=(2, 2)), np.uint16,
                    np.zeros((2, 2), np.uint16))
    out = tmp_path / "o.tif"
    out.write_bytes(b"x")
    with pytest.raises(FileExistsError, match="File already exists"):
        ours.export_movie_to_tiff([str(src)], str(out))
    with pytest.raises(Exception):  # noqa: B017 - isx raises a bare Exception
        isx.export_movie_to_tiff([str(img)], str(tmp_path / "isx_img.tif"))
    with pytest.raises(IsxTypeError):
        ours.export_movie_to_tiff([str(img)], str(tmp_path / "img.tif"))
    with pytest.raises(FileNotFoundError):
        ours.export_movie_to_tiff([str(tmp_path / "missing.isxd")], str(tmp_path / "m.tif"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.isxd", "m.isxd", "o.tif"]


def test_movie_to_tiff_corrupt_input(tmp_path):
    src = tmp_path / "m.isxd"
    write_isx_movie(isx, src, 3)
    raw = src.read_bytes()
    bad = tmp_path / "bad.isxd"
    bad.write_bytes(raw[:20] + raw[-400:])
    with pytest.raises(IsxFormatError, match=r"bad\.isxd"):
        ours.export_movie_to_tiff([str(bad)], str(tmp_path / "o.tif"))
    assert not (tmp_path / "o.tif").exists()


# ------------------------------------------------------------------ images
@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_isxd_image_to_tiff_matches_isx(tmp_path, dtype):
    src = tmp_path / "i.isxd"
    data = (np.random.default_rng(4).random((6, 9)) * 1000).astype(dtype)
    isx.Image.write(str(src), isx.Spacing(num_pixels=data.shape), dtype, data)
    theirs, mine = tmp_path / "isx.tif", tmp_path / "our.tif"
    isx.export_isxd_image_to_tiff(str(src), str(theirs))
    ours.export_isxd_image_to_tiff(str(src), str(mine))
    a, b = tifffile.imread(theirs), tifffile.imread(mine)
    assert a.dtype == b.dtype == np.uint16
    np.testing.assert_array_equal(a, b)


def test_isxd_image_to_tiff_real(tmp_path, realdata):
    src = realdata / "IM13_session1_2024-10-07_local_corr_img.isxd"
    isx.export_isxd_image_to_tiff(str(src), str(tmp_path / "isx.tif"))
    ours.export_isxd_image_to_tiff(str(src), str(tmp_path / "our.tif"))
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "isx.tif"),
                                  tifffile.imread(tmp_path / "our.tif"))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.int16, np.int32, bool])
def test_tiff_to_isxd_image_bytes_match_isx(tmp_path, dtype):
    data = np.random.default_rng(5).random((5, 7)) * 200 - 50
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, data > 0 if dtype is bool else data.astype(dtype))
    isx.export_tiff_to_isxd_image(str(src), str(tmp_path / "isx.isxd"))
    ours.export_tiff_to_isxd_image(str(src), str(tmp_path / "our.isxd"))
    assert (tmp_path / "isx.isxd").read_bytes() == (tmp_path / "our.isxd").read_bytes()


def test_normalize_constant_and_nan():
    const = np.full((2, 2), 7, np.uint16)
    np.testing.assert_array_equal(normalize_to_dtype(const), isx.convert_type_numpy_array(const))
    arr = np.array([[0.5, np.nan], [2.0, 1.0]], np.float32)
    np.testing.assert_array_equal(normalize_to_dtype(arr)[~np.isnan(arr)],
                                  isx.convert_type_numpy_array(arr)[~np.isnan(arr)])


# ------------------------------------------------------------------ timestamps CSV
def test_timestamps_csv_real_multiplane(tmp_path, realdata):
    src = str(realdata / "multiplane_movie.isxd")
    for ref in ("start", "unix", "tsc"):
        theirs, mine = run_both(tmp_path, f"{ref}.csv", isx.export_movie_timestamps_to_csv,
                                ours.export_movie_timestamps_to_csv, [src], time_ref=ref)
        assert mine.read_bytes() == theirs.read_bytes()


def _invalid_sets(n: int):
    idx = st.lists(st.integers(0, n - 1), unique=True, max_size=n - 1)
    return idx


@st.composite
def tsc_series(draw):
    count = draw(st.integers(1, 3))
    movies, start_ms, tsc0 = [], 1654732421836, 459472532939
    for _ in range(count):
        n = draw(st.integers(2, 9))
        period = draw(st.integers(20000, 70000))
        dropped = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n - 1))
        jitter = draw(st.lists(st.integers(-9, 9), min_size=n, max_size=n))
        movies.append(dict(n=n, start_ms=start_ms, tsc0=tsc0, period_us=period,
                           dropped=sorted(dropped), jitter=jitter))
        gap = draw(st.integers(0, 5000))
        start_ms += n * period // 1000 + 1 + gap
        tsc0 += (n * period // 1000 + 1 + gap) * 1000 + draw(st.integers(-500, 500))
    order = draw(st.permutations(range(count)))
    return movies, list(order), draw(st.sampled_from(["start", "unix", "tsc"]))


@settings(max_examples=25, deadline=None)
@given(tsc_series())
def test_timestamps_csv_matches_isx(case):
    movies, order, ref = case
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = []
        for i, spec in enumerate(movies):
            path = tmp / f"m{i}.isxd"
            write_tsc_movie(path, spec["n"], start_ms=spec["start_ms"], tsc0=spec["tsc0"],
                            period_us=spec["period_us"], dropped=spec["dropped"],
                            jitter=spec["jitter"])
            paths.append(str(path))
        if all(len(m["dropped"]) == m["n"] for m in movies[:1]):
            return
        inputs = [paths[i] for i in order]
        theirs, mine = tmp / "isx.csv", tmp / "our.csv"
        try:
            isx.export_movie_timestamps_to_csv(inputs, str(theirs), time_ref=ref)
        except Exception:
            with pytest.raises((ValueError, IsxFormatError)):
                ours.export_movie_timestamps_to_csv(inputs, str(mine), time_ref=ref)
            return
        ours.export_movie_timestamps_to_csv(inputs, str(mine), time_ref=ref)
        assert mine.read_bytes() == theirs.read_bytes()


def test_timestamps_csv_cropped_and_dropped_first(tmp_path):
    a, b = tmp_path / "a.isxd", tmp_path / "b.isxd"
    write_tsc_movie(a, 6, start_ms=1654732421836, tsc0=459472532939, dropped=[0, 3],
                    jitter=[0, 3, 1, 2, 7, 5])
    write_tsc_movie(b, 5, start_ms=1654732422836, tsc0=459473532939, cropped=[(1, 2)])
    for ref in ("start", "unix", "tsc"):
        theirs, mine = run_both(tmp_path, f"{ref}.csv", isx.export_movie_timestamps_to_csv,
                                ours.export_movie_timestamps_to_csv, [str(b), str(a)],
                                time_ref=ref)
        assert mine.read_bytes() == theirs.read_bytes()
    assert "NaN" in mine.read_text()


def test_timestamps_csv_refusals(tmp_path):
    plain = tmp_path / "plain.isxd"
    write_isx_movie(isx, plain, 3)
    with pytest.raises(IsxFormatError, match="does not have frame timestamps"):
        ours.export_movie_timestamps_to_csv([str(plain)], str(tmp_path / "a.csv"))
    a, b = tmp_path / "a.isxd", tmp_path / "b.isxd"
    write_tsc_movie(a, 6, start_ms=1654732421836, tsc0=459472532939)
    write_tsc_movie(b, 6, start_ms=1654732421936, tsc0=459472632939)  # overlaps a
    with pytest.raises(Exception):  # noqa: B017 - isx raises a bare Exception
        isx.export_movie_timestamps_to_csv([str(a), str(b)], str(tmp_path / "isx.csv"))
    with pytest.raises(IsxFormatError, match="overlaps"):
        ours.export_movie_timestamps_to_csv([str(a), str(b)], str(tmp_path / "b.csv"))
    with pytest.raises(ValueError, match="time_ref"):
        ours.export_movie_timestamps_to_csv([str(a)], str(tmp_path / "c.csv"), time_ref="utc")
    assert not any(p.suffix == ".csv" for p in tmp_path.iterdir())
