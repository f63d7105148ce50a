"""Conformance on real Inscopix files: isxio reads every file in ../shared/realdata as isx.

Files are discovered by glob, so a file added to the folder is tested without a code
change; a file of a kind no comparer handles fails.  At the end of a run that covered
every file, the results table is written to ``docs/real-files.md``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import isxio
from isxio.formats.container import read_trailer

from . import realdata_compare as rc
from .conftest import REALDATA, REPO

isx = pytest.importorskip("isx")
pytestmark = [pytest.mark.isx, pytest.mark.realdata]

FILES = sorted(p for p in REALDATA.glob("*") if p.is_file() and p.suffix.lower() != ".md") \
    if REALDATA.is_dir() else []
RESULTS: dict[str, dict] = {}


def _kind(path: Path) -> str:
    if path.suffix.lower() == ".isxd":
        kind = read_trailer(path).header.get("type")
        return {0: "movie", 4: "image", 1: "cellset", 3: "gpio", 5: "events", 7: "imu",
                8: "vesselset"}.get(kind, f"isxd type {kind}")
    return path.suffix.lower().lstrip(".")


COMPARERS = {
    "movie": rc.compare_movie,
    "image": rc.compare_movie,
    "isxb": rc.compare_isxb,
    "cellset": rc.compare_cellset,
    "events": rc.compare_events,
    "gpio": rc.compare_gpio,
    "imu": rc.compare_gpio,
}


def test_realdata_folder_is_present(realdata):
    assert FILES, f"no real files found in {realdata}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_file_matches_isx(path, realdata):
    kind = _kind(path)
    RESULTS[path.name] = {"kind": kind, "result": "FAILED", "notes": []}
    assert kind in COMPARERS, f"no comparer for {path.name} (kind {kind})"
    with warnings.catch_warnings():
        warnings.simplefilter("error", isxio.IsxFormatWarning)
        notes = COMPARERS[kind](str(path), isx)
    RESULTS[path.name].update(result="passed", notes=notes)


@pytest.mark.parametrize("path", [p for p in FILES if p.suffix == ".isxd"],
                         ids=[p.name for p in FILES if p.suffix == ".isxd"])
def test_open_reads_only_the_trailer(path, monkeypatch, realdata):
    import builtins

    import isxio.formats.container as container

    counts = {"bytes": 0}
    real_open = builtins.open

    class Counting:
        def __init__(self, fh):
            self.fh = fh

        def read(self, n=-1):
            data = self.fh.read(n)
            counts["bytes"] += len(data)
            return data

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(container, "open", lambda p, mode="r": Counting(real_open(p, mode)),
                        raising=False)
    monkeypatch.setattr(np, "memmap", None)  # any data access at open would fail loudly
    reader = isxio.open(path)
    trailer = reader.trailer
    assert counts["bytes"] == trailer.json_size + 9
    RESULTS.setdefault(path.name, {}).setdefault("open_bytes", counts["bytes"])


def _isxd_files():
    return [p for p in FILES if p.suffix == ".isxd"]


@pytest.mark.parametrize("path", _isxd_files(), ids=[p.name for p in _isxd_files()])
def test_stray_newline_after_trailer_is_recovered(path, tmp_path, realdata):
    damaged = tmp_path / path.name
    damaged.write_bytes(path.read_bytes() + b"\n")
    with pytest.warns(isxio.IsxFormatWarning, match="ignored 1 stray byte"):
        reader = isxio.open(damaged)
    original = isxio.open(path)
    assert reader.trailer.header == original.trailer.header
    if hasattr(original, "data"):
        np.testing.assert_array_equal(np.asarray(reader.data), np.asarray(original.data))
    with pytest.raises(isxio.IsxFormatError) as err:
        isxio.open(damaged, recover=False)
    assert err.value.path == str(damaged)


@pytest.mark.parametrize("path", _isxd_files(), ids=[p.name for p in _isxd_files()])
def test_truncated_copies_raise_format_error(path, tmp_path, realdata):
    raw = path.read_bytes()
    size = len(raw)
    json_size = int.from_bytes(raw[-8:], "little")
    cuts = {0, 5, size // 2, size - json_size - 9 - 1, size - json_size // 2, size - 9,
            size - 4, size - 1}
    for cut in sorted(c for c in cuts if 0 <= c < size):
        damaged = tmp_path / f"cut{cut}_{path.name}"
        damaged.write_bytes(raw[:cut])
        with pytest.raises(isxio.IsxFormatError) as err:
            reader = isxio.open(damaged)
            if hasattr(reader, "data"):
                np.asarray(reader.data)
        assert err.value.path == str(damaged), cut


@pytest.mark.parametrize("path", _isxd_files(), ids=[p.name for p in _isxd_files()])
def test_hand_edited_trailer_is_caught(path, tmp_path, realdata):
    raw = path.read_bytes()
    n = int.from_bytes(raw[-8:], "little")
    data, text = raw[:-9 - n], raw[-9 - n:-9].decode()
    # 1) an edit that breaks the JSON syntax, length field kept consistent
    broken = text.replace('"type":', '"type"', 1).encode()
    damaged = tmp_path / f"syntax_{path.name}"
    damaged.write_bytes(data + broken + b"\0" + len(broken).to_bytes(8, "little"))
    with pytest.raises(isxio.IsxFormatError, match="does not parse") as err:
        isxio.open(damaged)
    assert err.value.offset is not None and err.value.path == str(damaged)
    # 2) an edit that changes the JSON length without fixing the length field
    longer = text.replace("{", "{ ", 1).encode()
    damaged = tmp_path / f"length_{path.name}"
    damaged.write_bytes(data + longer + b"\0" + n.to_bytes(8, "little"))
    with pytest.raises(isxio.IsxFormatError):
        reader = isxio.open(damaged)
        if hasattr(reader, "data"):
            np.asarray(reader.data)


def test_multiplane_movie_splits_into_planes(realdata):
    from isxio.planes import split_planes

    path = realdata / "multiplane_movie.isxd"
    movie = isxio.open(path)
    theirs = isx.Movie.read(str(path))
    planes = split_planes(movie)
    meta = movie.extra_properties["microscope"]["multiplane"]
    assert len(planes) == meta["activePlanes"] == 3
    n = theirs.timing.num_samples
    stack = np.stack([theirs.get_frame_data(i) for i in range(n)])
    tsc = np.array([theirs.get_frame_timestamp(i) for i in range(n)], np.uint64)
    for p, plane in enumerate(planes):
        assert plane.efocus == int(meta["planes"][f"plane-{p + 1}"]["focus"])
        np.testing.assert_array_equal(np.asarray(plane.data), stack[p::3])
        np.testing.assert_array_equal(plane.tsc, tsc[p::3])
        assert plane.timing.num_samples == len(range(p, n, 3))
        expected = Fraction(int(tsc[p::3][-1]) - int(tsc[p::3][0]),
                            (len(tsc[p::3]) - 1) * 10**6)
        assert plane.timing.period.fraction == expected
        ts = plane.timestamps()
        assert np.all(np.diff(ts) > 0)
    RESULTS.setdefault(path.name, {})["planes"] = (
        f"3 planes (efocus {[pl.efocus for pl in planes]}) from frame headers, "
        "per-plane TSC timing")


def test_isxb_parts_open_as_one_series(realdata):
    from isxio.series import open_series

    parts = sorted(realdata.glob("*_sched_*.isxb"))
    assert len(parts) == 2
    series = open_series(parts[::-1])  # given in the wrong order on purpose
    assert series.paths == [str(p) for p in parts]
    assert len(series) == series.timing.num_samples == 20
    times = series.timestamps()
    assert len(times) == 20 and np.all(np.diff(times) > 0)
    first, second = (isx.Movie.read(str(p)) for p in parts)
    assert series.timing.period.fraction == rc._ratio(first.timing._impl.step)
    (gap,) = series.gaps
    end0 = (rc._ratio(first.timing._impl.start.secs_since_epoch)
            + first.timing.num_samples * rc._ratio(first.timing._impl.step))
    assert Fraction(gap).limit_denominator(10**9) == \
        (rc._ratio(second.timing._impl.start.secs_since_epoch) - end0).limit_denominator(10**9)
    for member, path in zip(series.members, parts, strict=True):
        assert member.extra_properties == isxio.open(path).extra_properties
    frame = series.data[10]
    np.testing.assert_array_equal(frame, isxio.open(parts[1]).data[0])
    RESULTS.setdefault(parts[0].name, {})["planes"] = (
        f"opens with {parts[1].name} as one 20-frame series, gap {gap * 1000:.1f} ms")


def test_zz_write_results_page(realdata):
    """Write docs/real-files.md from this run's results (last test of the module)."""
    tested = {name for name, r in RESULTS.items() if "result" in r}
    if tested != {p.name for p in FILES}:
        pytest.skip("not every real file was compared in this run; page not rewritten")
    lines = ["# Tested on real files", "",
             "Generated by `tests/test_realdata.py` from its last full run against isx "
             f"{getattr(isx, '__version__', '?')} (do not edit by hand). Every file in "
             "`../shared/realdata` is discovered by glob and compared with what isx reads.",
             "", "| file | kind | result | what was compared |", "|---|---|---|---|"]
    for name in sorted(RESULTS):
        r = RESULTS[name]
        notes = list(r.get("notes", []))
        if "open_bytes" in r:
            notes.append(f"open reads only the trailer ({r['open_bytes']} bytes)")
        if "planes" in r:
            notes.append(r["planes"])
        lines.append(f"| `{name}` | {r.get('kind', '')} | {r.get('result', '')} | "
                     f"{'; '.join(notes)} |")
    lines += ["", "Damaged copies of every `.isxd` file are also tested: one `\\n` appended "
              "after the trailer (recovered with a warning, identical data), truncated copies "
              "and hand-edited trailers (each raises `IsxFormatError` naming the file).", ""]
    (REPO / "docs" / "real-files.md").write_text("\n".join(lines))


from fractions import Fraction  # noqa: E402
