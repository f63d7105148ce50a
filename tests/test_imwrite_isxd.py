"""imwrite's ``.isxd`` target: verbatim source trailers (byte identity) and block writes.

Old isxcore versions wrote trailers isxio's writer does not reproduce (no ``"blank"``,
other key orders and indentation).  Such files are built here from real and synthetic
movies, checked to be read by isx, then converted ``.isxd -> .isxd`` and through
``.zarr``/``.h5`` and compared byte for byte with the source.  Frame headers written a
block at a time are compared with the same movie written frame by frame and with what
isx reads (pixels and the TSCs the test put in).
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from isxio.errors import IsxWriteError
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.container import read_trailer
from isxio.formats.movie import FRAME_HEADER_ITEMS, MovieFile, MovieWriter, encode_tsc
from isxio.imwrite import imwrite

h5py = pytest.importorskip("h5py")
zarr = pytest.importorskip("zarr")

TSC_PIXEL = 1272
TSC_EXTRA = {"producer": {"name": "IDAS", "version": "1.9.2"},  # isx reports TSCs then
             "session": {"note": "µm, naïve"}}                   # non-ASCII text survives
OLD_PRODUCER = {"name": "isxcore", "version": [1, 2, 1]}


# ------------------------------------------------------------------ helpers
def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def trailer_text(path: Path) -> bytes:
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[-8:])
    return data[-9 - n:-9]


def _reordered(value):
    """Every object's keys in reverse order (isxcore sorts them)."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def old_style(src: Path, dst: Path, *, producer: dict | None = None) -> bytes:
    """``src`` with its trailer rewritten as an old isxcore might have: no ``blank``,
    keys in another order, 2-space indentation, a trailing newline.  Returns the text."""
    data = Path(src).read_bytes()
    (n,) = struct.unpack("<Q", data[-8:])
    obj = json.loads(data[-9 - n:-9].decode("utf-8"))
    del obj["timingInfo"]["blank"]
    if producer is not None:
        obj["producer"] = producer
    text = (json.dumps(_reordered(obj), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    dst.write_bytes(data[:-9 - n] + text + b"\x00" + struct.pack("<Q", len(text)))
    return text


def tsc_movie(path: Path, n: int = 24, *, dropped=(3, 4, 11), cropped=((15, 16),),
              seed: int = 0) -> tuple[np.ndarray, ...]:
    """A framed uint16 movie with random headers/footers and known TSCs written frame by
    frame; returns ``(frames, tscs, headers, footers)`` (frames zero where invalid)."""
    timing = TimingInfo(n, Ratio(50, 1000), Time(Ratio(1_700_000_000_250, 1000), -3600),
                        dropped=tuple(dropped), cropped=tuple(cropped))
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 4096, (n, 6, 5)).astype(np.uint16)
    tscs = 9_000_000 + np.arange(n, dtype=np.uint64) * 50_000 + np.arange(n, dtype=np.uint64) % 3
    heads, feet = (rng.integers(0, 4096, (n, FRAME_HEADER_ITEMS)).astype(np.uint16)
                   for _ in range(2))
    heads[:, TSC_PIXEL:TSC_PIXEL + 8] = encode_tsc(tscs)
    valid = np.flatnonzero(timing.valid_mask())
    with MovieWriter(path, timing, SpacingInfo(6, 5), np.uint16, frame_header_footer=True,
                     extra_properties=TSC_EXTRA) as w:
        for i in valid:
            w.set_frame_data(int(i), frames[i], header=heads[i], footer=feet[i])
    frames[~timing.valid_mask()] = 0
    return frames, tscs, heads, feet


def isx_read(isx, path: Path) -> tuple[np.ndarray, object]:
    movie = isx.Movie.read(str(path))
    n = movie.timing.num_samples
    return np.stack([movie.get_frame_data(i) for i in range(n)]), movie


def assert_round_trips(src: Path, tmp: Path) -> None:
    """``.isxd -> .isxd`` and through ``.zarr``/``.h5`` are byte-identical to ``src``."""
    (direct,) = imwrite(src, tmp / "direct.isxd", progress=False, chunk_mb=0.01)
    assert sha(direct) == sha(src)
    for via in ("zarr", "h5"):
        store = tmp / f"mid.{via}"
        imwrite(src, store, progress=False, chunk_mb=0.01)
        (back,) = imwrite(store, tmp / f"back_{via}.isxd", progress=False, chunk_mb=0.01)
        assert back.read_bytes() == src.read_bytes(), via


# ------------------------------------------------------------------ byte identity
@pytest.mark.realdata
@pytest.mark.isx
@pytest.mark.parametrize("name", ["movie_longer_than_3_min.isxd",
                                  "movie_part2_108x123x63.isxd"])
def test_old_isxcore_trailer_of_real_movie_round_trips_byte_identical(realdata, tmp_path,
                                                                       name):
    isx = pytest.importorskip("isx")
    src = tmp_path / "old.isxd"
    text = old_style(realdata / name, src, producer=OLD_PRODUCER)
    assert b'"blank"' not in text
    want, theirs = isx_read(isx, realdata / name)
    got, movie = isx_read(isx, src)  # isx reads the old-style trailer
    np.testing.assert_array_equal(got, want)
    assert movie.timing.num_samples == theirs.timing.num_samples
    assert movie.timing.period.secs_float == theirs.timing.period.secs_float
    assert_round_trips(src, tmp_path)
    # the store keeps the text verbatim
    meta = dict(zarr.open_group(str(tmp_path / "mid.zarr"), mode="r").attrs)["isxio"]
    assert meta["source_trailer"].encode("utf-8") == text
    with h5py.File(tmp_path / "mid.h5", "r") as f:
        assert json.loads(f.attrs["isxio"])["source_trailer"].encode("utf-8") == text


@pytest.mark.isx
def test_old_isxcore_trailer_with_frame_headers_round_trips(tmp_path):
    isx = pytest.importorskip("isx")
    frames, tscs, _, _ = tsc_movie(tmp_path / "new.isxd")
    src = tmp_path / "old.isxd"
    old_style(tmp_path / "new.isxd", src, producer=OLD_PRODUCER)
    got, movie = isx_read(isx, src)
    np.testing.assert_array_equal(got, frames)
    valid = np.flatnonzero(np.any(frames, axis=(1, 2)))
    assert len(valid) == 24 - 5
    np.testing.assert_array_equal([movie.get_frame_timestamp(int(i)) for i in valid],
                                  tscs[valid])
    assert_round_trips(src, tmp_path)


@pytest.mark.realdata
def test_real_isxcore_1_2_movie_rewritten_verbatim_in_blocks(realdata, tmp_path):
    """The real isxcore 1.2.1 file (no "blank", frame headers) rewritten whole by
    MovieWriter from its reader's arrays, in blocks: identical bytes."""
    src = realdata / "multiplane_movie.isxd"
    movie = MovieFile(src)
    assert b'"blank"' not in movie.trailer.text
    h = movie.header
    out = tmp_path / "copy.isxd"
    with MovieWriter(out, h.timing, h.spacing, h.dtype, frame_header_footer=True,
                     extra_properties=h.extra_properties, producer=h.producer,
                     raw_trailer=movie.trailer.text) as w:
        for lo in range(0, movie.num_frames, 7):
            w.write_frames(movie.data[lo:lo + 7], movie.frame_headers[lo:lo + 7],
                           movie.frame_footers[lo:lo + 7])
    movie.close()
    assert sha(out) == sha(src)


def test_any_change_drops_the_verbatim_trailer(tmp_path):
    frames = tsc_movie(tmp_path / "new.isxd")[0]
    src = tmp_path / "old.isxd"
    text = old_style(tmp_path / "new.isxd", src, producer=OLD_PRODUCER)
    changes = {"frames": dict(frames=slice(0, 24)), "fs": dict(fs=20.0),
               "metadata": dict(metadata={"lab": "x"}), "producer": dict(keep_producer=False),
               "dtype": dict(dtype="float32"), "headers": dict(frame_timestamps=False)}
    for name, kw in changes.items():
        (out,) = imwrite(src, tmp_path / f"{name}.isxd", progress=False, **kw)
        got = trailer_text(out)
        assert got != text and b'"blank"' in got, name  # re-serialised by isxio's writer
        np.testing.assert_array_equal(np.asarray(MovieFile(out).data[:]), frames)
    imwrite(src, tmp_path / "sel.zarr", frames=[0, 1, 2], progress=False)
    meta = dict(zarr.open_group(str(tmp_path / "sel.zarr"), mode="r").attrs)["isxio"]
    assert "source_trailer" not in meta


# ------------------------------------------------------------------ refusals
def _plain_trailer(tmp_path: Path) -> tuple[bytes, dict]:
    path = tmp_path / "plain.isxd"
    with MovieWriter(path, TimingInfo(4, dropped=(1,)), SpacingInfo(2, 3), np.uint16,
                     extra_properties={"a": 1}) as w:
        w.write_frames(np.ones((3, 2, 3), np.uint16))
    text = read_trailer(path).text
    return text, json.loads(text)


def _edit(obj: dict, key: str, value) -> dict:
    obj = json.loads(json.dumps(obj))
    *parents, last = key.split(".")
    node = obj
    for p in parents:
        node = node[p]
    node[last] = value
    return obj


@pytest.mark.parametrize(("key", "value", "field"), [
    ("dataType", 1, "dataType"), ("hasFrameHeaderFooter", True, "hasFrameHeaderFooter"),
    ("spacingInfo.numPixels.x", 4, "spacingInfo.numPixels"),
    ("spacingInfo.pixelSize.x.num", 4, "spacingInfo.pixelSize"),
    ("spacingInfo.topLeft.y.num", 4, "spacingInfo.topLeft"),
    ("timingInfo.numTimes", 5, "timingInfo.numTimes"),
    ("timingInfo.period.num", 51, "timingInfo.period"),
    ("timingInfo.dropped", [], "timingInfo.dropped"),
    ("timingInfo.blank", [2], "timingInfo.blank"),
    ("timingInfo.cropped", ["2"], "timingInfo.cropped"),
    ("timingInfo.start.utcOffset", 60, "timingInfo.start"),
    ("extraProperties", None, "extraProperties"),
    ("type", 4, "type"),
    ("producer", {"name": "isxcore", "version": [1, 0, 0]}, "producer"),
])
def test_mismatching_trailer_is_refused(tmp_path, key, value, field):
    _, obj = _plain_trailer(tmp_path)
    bad = json.dumps(_edit(obj, key, value)).encode()
    out = tmp_path / "out.isxd"
    with pytest.raises(ValueError, match=rf"out\.isxd: raw_trailer does not describe the "
                                         rf"movie being written: {field} is "):
        MovieWriter(out, TimingInfo(4, dropped=(1,)), SpacingInfo(2, 3), np.uint16,
                    extra_properties={"a": 1}, producer=obj["producer"], raw_trailer=bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.isxd"]  # nothing written


def test_mismatch_names_the_field_and_garbage_is_refused(tmp_path):
    text, obj = _plain_trailer(tmp_path)
    args = (tmp_path / "o.isxd", TimingInfo(4, dropped=(1,)), SpacingInfo(2, 3), np.uint16)
    with pytest.raises(IsxWriteError, match=r"timingInfo\.numTimes is 5 in the trailer, 4"):
        MovieWriter(*args, extra_properties={"a": 1},
                    raw_trailer=json.dumps(_edit(obj, "timingInfo.numTimes", 5)))
    for garbage in (b"not json", b"[1, 2]", b'{"type": 1}', b"\xff{}"):
        with pytest.raises(IsxWriteError, match=r"o\.isxd: raw_trailer is not a movie trailer"):
            MovieWriter(*args, extra_properties={"a": 1}, raw_trailer=garbage)
    # the same text as str and bytes is accepted; the file holds it verbatim
    with MovieWriter(*args, extra_properties={"a": 1}, raw_trailer=text.decode()) as w:
        w.write_frames(np.ones((3, 2, 3), np.uint16))
    assert trailer_text(tmp_path / "o.isxd") == text


def test_tampered_store_trailer_is_refused(tmp_path):
    tsc_movie(tmp_path / "src.isxd")
    store = tmp_path / "mid.zarr"
    imwrite(tmp_path / "src.isxd", store, progress=False)
    group = zarr.open_group(str(store), mode="r+")
    meta = dict(group.attrs)["isxio"]
    obj = json.loads(meta["source_trailer"])
    obj["timingInfo"]["dropped"] = [3, 4]
    meta["source_trailer"] = json.dumps(obj)
    group.attrs["isxio"] = meta
    with pytest.raises(ValueError, match=r"back\.isxd: .*timingInfo\.dropped"):
        imwrite(store, tmp_path / "back.isxd", progress=False)
    assert not (tmp_path / "back.isxd").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".back")]


# ------------------------------------------------------------------ block writes
def test_encode_tsc_arrays_match_the_bytes():
    tscs = np.array([0, 1, 9_000_000, 2**40 + 3, 2**64 - 1], np.uint64)
    want = np.frombuffer(tscs.astype("<u8").tobytes(), np.uint8).reshape(-1, 8)
    got = encode_tsc(tscs)
    assert got.dtype == np.uint16 and got.shape == (5, 8)
    np.testing.assert_array_equal(got, want.astype(np.uint16) << 4)
    np.testing.assert_array_equal(encode_tsc(int(tscs[3])), got[3])
    np.testing.assert_array_equal(encode_tsc(tscs.reshape(5, 1)), got[:, np.newaxis])


@pytest.mark.isx
def test_write_frames_with_headers_equals_frame_by_frame_and_isx(tmp_path):
    isx = pytest.importorskip("isx")
    frames, tscs, heads, feet = tsc_movie(tmp_path / "one_by_one.isxd", n=40,
                                          dropped=(0, 9, 21), cropped=((30, 33),), seed=4)
    timing = TimingInfo(40, Ratio(50, 1000), Time(Ratio(1_700_000_000_250, 1000), -3600),
                        dropped=(0, 9, 21), cropped=((30, 33),))
    valid = np.flatnonzero(timing.valid_mask())
    out = tmp_path / "blocks.isxd"
    with MovieWriter(out, timing, SpacingInfo(6, 5), np.uint16, frame_header_footer=True,
                     extra_properties=TSC_EXTRA) as w:
        for part in np.array_split(valid, 4):
            w.write_frames(frames[part], heads[part], feet[part].tolist())
    assert sha(out) == sha(tmp_path / "one_by_one.isxd")
    got, movie = isx_read(isx, out)
    np.testing.assert_array_equal(got, frames)
    np.testing.assert_array_equal([movie.get_frame_timestamp(int(i)) for i in valid],
                                  tscs[valid])
    reader = MovieFile(out)
    np.testing.assert_array_equal(reader.frame_footers[valid], feet[valid])
    reader.close()


def test_write_frames_header_checks(tmp_path):
    framed = MovieWriter(tmp_path / "f.isxd", TimingInfo(3), SpacingInfo(2, 3), np.uint16,
                         frame_header_footer=True)
    with pytest.raises(IsxWriteError, match="2560 values per frame"):
        framed.write_frames(np.zeros((2, 2, 3), np.uint16), np.zeros((2, 10)))
    with pytest.raises(IsxWriteError, match="too many"):
        framed.write_frames(np.zeros((4, 2, 3), np.uint16))
    framed.write_frames(np.zeros((3, 2, 3), np.uint16))  # headers/footers default to zeros
    framed.flush()
    assert not np.asarray(MovieFile(tmp_path / "f.isxd").frame_headers[:]).any()
    plain = MovieWriter(tmp_path / "p.isxd", TimingInfo(2), SpacingInfo(2, 3), np.uint16)
    with pytest.raises(IsxWriteError, match="no frame headers"):
        plain.write_frames(np.zeros((2, 2, 3), np.uint16),
                           footers=np.zeros((2, FRAME_HEADER_ITEMS)))
    plain.close()
