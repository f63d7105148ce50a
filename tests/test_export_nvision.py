"""nVision (.isxb) exports and start-time alignment against isx 2.1.0: frame timestamps,
tracking and zone CSVs, aligned timestamps (bytes identical), align_start_times (files
rewritten to the same bytes), MP4 of .isxb movies."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

import isxio.export as ours
from isxio.errors import IsxFormatError
from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
from isxio.formats.movie import FRAME_HEADER_ITEMS, TSC_PIXEL, MovieWriter, encode_tsc
from isxio.testing import fixtures as fx

pytestmark = pytest.mark.isx
isx = pytest.importorskip("isx")

T0 = 459472532939
UUID = "GA-00000000-0000000000-1600000000000"  # the fixtures' isxb recording UUID
TRACKERS = [
    {"box": [10.5, 20.25, 30.75, 40.125], "conf": 88.8},
    None,
    {"box": [0, 0, 0, 0], "conf": 1.0, "zones": [{"id": 5, "name": "Z", "event": "e"}]},
    {"box": [1, 2, 3, 4], "conf": 2, "zones": {"id": 0, "name": "N"}},
    {"box": [11.1, 12.2, 13.3, 14.4], "conf": 99.5,
     "zones": [{"id": 1720032796530, "name": "ZONE#3", "event": "e", "trig": "softTrig-3"},
               {"id": 1720032411965, "name": "ZONE#2", "event": "x", "trig": "softTrig-2"},
               {"id": 0, "name": "skipped"}]},
    {"box": [5, 6, 7, 8], "conf": 50, "zones": {"id": 4270701760, "name": "ZONE#1",
                                                "event": "o"}},
]
ZONES = [
    {"id": 12, "enable": True, "name": "R", "description": "d",
     "geometry": {"type": "rectangle", "coordinates": [[1.5, 2], [3, 2], [3, 4], [1.5, 4]]}},
    {"id": 13, "enable": False, "name": "E", "description": "",
     "geometry": {"type": "ellipse", "coordinates": [[5, 6]],
                  "properties": {"majorAxis": 10.1, "minorAxis": 4, "angle": 30}}},
    {"id": 14, "enable": True, "name": "P", "description": "",
     "geometry": {"type": "polygon",
                  "coordinates": [[0, 0], [9, 0], [9, 9], [4, 12], [0, 9.25]]}},
]


def isxb(tmp: Path, *, epoch_ms: int = 1654732422000, t0: int = T0 + 282199,
         dropped=(1,), n: int = 7, trackers=TRACKERS, zones=ZONES) -> Path:
    """A synthetic nVision movie (isx keys some state on the file name: keep it unique)."""
    stored = n - len(dropped)
    frames = np.random.default_rng(3).integers(0, 256, (stored, 16, 64), dtype=np.uint8)
    ts = [t0 + 33333 * i for i in range(n) if i not in dropped]
    path = tmp / f"b{uuid.uuid4().hex[:12]}.isxb"
    fx.write_isxb(path, frames, timestamps=ts, dropped=list(dropped),
                  trackers=trackers[:stored] if trackers else None, zones=zones,
                  epoch_ms=epoch_ms, utc_offset_min=-420)
    return path


def _run(tmp: Path, name: str, isx_fn, our_fn, inputs, **kw) -> tuple[bytes, bytes]:
    theirs, mine = tmp / f"isx_{name}", tmp / f"our_{name}"
    isx_fn(inputs, str(theirs), **kw)
    our_fn(inputs, str(mine), **kw)
    return theirs.read_bytes(), mine.read_bytes()


@pytest.mark.parametrize("time_ref", ["start", "unix", "tsc"])
def test_isxb_timestamps_and_tracking_match_isx(tmp_path, time_ref):
    a = isxb(tmp_path)
    b = isxb(tmp_path, epoch_ms=1654732423000, t0=T0 + 1282199, dropped=(0, 3))
    for inputs in ([str(a)], [str(b), str(a)]):
        tag = f"{len(inputs)}{time_ref}"
        theirs, mine = _run(tmp_path, f"ts{tag}.csv", isx.export_movie_timestamps_to_csv,
                            ours.export_movie_timestamps_to_csv, inputs, time_ref=time_ref)
        assert mine == theirs
        theirs, mine = _run(tmp_path, f"tr{tag}.csv",
                            isx.export_nvision_movie_tracking_frame_data_to_csv,
                            ours.export_nvision_movie_tracking_frame_data_to_csv, inputs,
                            time_ref=time_ref)
        assert mine == theirs
    assert b'"1720032796530,1720032411965","ZONE#3,ZONE#2"' in mine


def test_isxb_real_files_match_isx(tmp_path, realdata):
    files = [str(p) for p in sorted(realdata.glob("*.isxb"))][::-1]
    for ref in ("start", "unix", "tsc"):
        for isx_fn, our_fn in (
                (isx.export_movie_timestamps_to_csv, ours.export_movie_timestamps_to_csv),
                (isx.export_nvision_movie_tracking_frame_data_to_csv,
                 ours.export_nvision_movie_tracking_frame_data_to_csv)):
            theirs, mine = _run(tmp_path, f"{our_fn.__name__}{ref}.csv", isx_fn, our_fn,
                                files, time_ref=ref)
            assert mine == theirs
    theirs, mine = _run(tmp_path, "zones.csv",
                        isx.export_nvision_movie_tracking_zone_data_to_csv,
                        ours.export_nvision_movie_tracking_zone_data_to_csv, files)
    assert mine == theirs


def test_zone_csv_matches_isx(tmp_path):
    a = isxb(tmp_path)
    theirs, mine = _run(tmp_path, "z.csv", isx.export_nvision_movie_tracking_zone_data_to_csv,
                        ours.export_nvision_movie_tracking_zone_data_to_csv, [str(a)])
    assert mine == theirs
    none = isxb(tmp_path, zones=None, trackers=None)
    theirs, mine = _run(tmp_path, "z0.csv",
                        isx.export_nvision_movie_tracking_zone_data_to_csv,
                        ours.export_nvision_movie_tracking_zone_data_to_csv, [str(none)])
    assert mine == theirs


def test_tracking_refuses_isxd(tmp_path, realdata):
    with pytest.raises(IsxFormatError, match="isxb"):
        ours.export_nvision_movie_tracking_frame_data_to_csv(
            [str(realdata / "multiplane_movie.isxd")], str(tmp_path / "t.csv"))


def test_isxb_mp4_close_to_isx(tmp_path):
    av = pytest.importorskip("av")
    a = isxb(tmp_path, trackers=None, zones=None)
    for invalid in (False, True):
        theirs, mine = tmp_path / f"isx{invalid}.mp4", tmp_path / f"our{invalid}.mp4"
        isx.export_movie_to_mp4([str(a)], str(theirs), write_invalid_frames=invalid)
        ours.export_movie_to_mp4([str(a)], str(mine), write_invalid_frames=invalid)
        decoded = []
        for path in (theirs, mine):
            with av.open(str(path)) as c:
                s = c.streams.video[0]
                decoded.append((s.time_base, np.stack([f.to_ndarray()[:s.height]
                                                       for f in c.decode(video=0)])))
        assert decoded[0][0] == decoded[1][0]
        assert decoded[0][1].shape == decoded[1][1].shape == (6 + invalid, 16, 64)
        assert np.abs(decoded[0][1].astype(int) - decoded[1][1]).mean() < 3


# ------------------------------------------------------------------ alignment
def gpio_ref(tmp: Path) -> Path:
    path = tmp / f"g{uuid.uuid4().hex[:12]}.gpio"
    events = [fx.capture_all(T0, fc=1, gpi=1, sync=1), fx.capture_all(T0 + 251, fc=2),
              fx.bnc_trig(T0 + 76000, 1)]
    fx.write_gpio(path, events, utc_offset=-25200, session={
        "ad": {"clock": 1000}, "processingInterface": {"recordingUUID": UUID}})
    return path


def tsc_movie(tmp: Path, *, dropped=(0,), start_ms=1654732421000) -> Path:
    path = tmp / f"m{uuid.uuid4().hex[:12]}.isxd"
    extra = {"producer": {"name": "IDAS", "version": "1.9.2"},
             "processingInterface": {"recordingUUID": UUID}}
    timing = TimingInfo(5, Ratio(50, 1000), Time(Ratio(start_ms, 1000), -25200), dropped)
    with MovieWriter(path, timing, SpacingInfo(3, 4), np.uint16, frame_header_footer=True,
                     extra_properties=extra) as w:
        for i in np.flatnonzero(timing.valid_mask()):
            header = np.zeros(FRAME_HEADER_ITEMS, np.uint16)
            header[TSC_PIXEL:TSC_PIXEL + 8] = encode_tsc(T0 + 52248 + 50001 * int(i))
            w.set_frame_data(int(i), np.zeros((3, 4), np.uint16), header=header)
    return path


@pytest.mark.parametrize("time_ref", ["start", "unix", "tsc"])
def test_aligned_timestamps_match_isx(tmp_path, time_ref):
    g, b, m = gpio_ref(tmp_path), isxb(tmp_path), tsc_movie(tmp_path)
    cases = [(g, [b, m], "Gpio Ref", ["Isxb Align", "Isxd Align"]),
             (m, [g, b], "Isxd Ref", ["Gpio", "Isxb"]),
             (b, [m], "Isxb Ref", ["Isxd"])]
    for k, (ref, aligns, ref_name, names) in enumerate(cases):
        theirs, mine = tmp_path / f"isx{k}.csv", tmp_path / f"our{k}.csv"
        args = (str(ref), [str(p) for p in aligns], ref_name, names)
        isx.export_aligned_timestamps(*args, str(theirs), time_ref=time_ref)
        ours.export_aligned_timestamps(*args, str(mine), time_ref=time_ref)
        assert mine.read_bytes() == theirs.read_bytes()


def test_align_start_times_rewrites_like_isx(tmp_path):
    for ref in (gpio_ref(tmp_path), tsc_movie(tmp_path, dropped=(), start_ms=1654732420000)):
        b, m = isxb(tmp_path), tsc_movie(tmp_path)
        pairs = []
        for src in (b, m):
            copies = tmp_path / f"isx_{src.name}", tmp_path / f"our_{src.name}"
            for c in copies:
                shutil.copy(src, c)
            pairs.append(copies)
        isx.align_start_times(str(ref), [str(p[0]) for p in pairs])
        ours.align_start_times(str(ref), [str(p[1]) for p in pairs])
        for theirs, mine in pairs:
            assert mine.read_bytes() == theirs.read_bytes()
            assert mine.read_bytes() != (tmp_path / mine.name[4:]).read_bytes()


def test_alignment_refusals(tmp_path):
    g, m = gpio_ref(tmp_path), tsc_movie(tmp_path)
    other = tmp_path / "other.isxd"
    timing = TimingInfo(3, Ratio(50, 1000), Time(Ratio(1654732421000, 1000)))
    with MovieWriter(other, timing, SpacingInfo(2, 2), np.uint16,
                     extra_properties={"processingInterface": {"recordingUUID": "X"}}) as w:
        w.write_frames(np.zeros((3, 2, 2), np.uint16))
    before = m.read_bytes()
    with pytest.raises(IsxFormatError, match="not paired and synchronized"):
        ours.align_start_times(str(g), [str(m), str(other)])
    with pytest.raises(IsxFormatError, match="recording UUID"):
        ours.export_aligned_timestamps(str(other), [str(m)], "a", ["b"],
                                       str(tmp_path / "x.csv"))
    with pytest.raises(ValueError, match="align names"):
        ours.export_aligned_timestamps(str(g), [str(m)], "a", ["b", "c"],
                                       str(tmp_path / "x.csv"))
    assert m.read_bytes() == before and not (tmp_path / "x.csv").exists()


def test_isxb_mp4_with_tracking_overlays(tmp_path):
    """Overlays are drawn with numpy primitives, not OpenCV: close to isx, not equal."""
    av = pytest.importorskip("av")
    a = isxb(tmp_path)
    isx.export_movie_to_mp4([str(a)], str(tmp_path / "isx.mp4"))
    ours.export_movie_to_mp4([str(a)], str(tmp_path / "our.mp4"))
    ours.export_movie_to_mp4([str(a)], str(tmp_path / "plain.mp4"), draw_bounding_box=False,
                             draw_bounding_box_center=False, draw_zones=False)
    decoded = {}
    for name in ("isx", "our", "plain"):
        with av.open(str(tmp_path / f"{name}.mp4")) as c:
            decoded[name] = np.stack([f.to_ndarray()[:16] for f in c.decode(video=0)])
    assert np.abs(decoded["isx"].astype(int) - decoded["our"]).mean() < 12
    assert (decoded["our"] > 240).sum() > (decoded["plain"] > 240).sum() + 100
