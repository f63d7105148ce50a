"""Errors say what is wrong first: the diagnosis, then the technical detail.

Each damaged or foreign input must raise :class:`~isxio.errors.IsxFormatError` whose
message, after the file name, starts with words a person can act on.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

import isxio
from isxio.errors import IsxFormatError, IsxTypeError
from isxio.formats.cellset import CellSetFile
from isxio.formats.movie import MovieFile, write_movie

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
NOT_ISXD = "not an Inscopix .isxd file"
TRUNCATED_JSON = "truncated or damaged .isxd file: its JSON header starts at byte"
CUT_DATA = "not an Inscopix .isxd file, or a truncated one: it does not end with an isxd trailer"


def _lead(err: IsxFormatError, path: Path) -> str:
    """The message after ``path: `` (the file is named first)."""
    text = str(err)
    assert text.startswith(f"{path}: "), text
    return text[len(str(path)) + 2:]


def _open_error(path: Path) -> str:
    with pytest.raises(IsxFormatError) as err:
        isxio.open(path)
    return _lead(err.value, path)


def test_text_file_renamed_isxd(tmp_path):
    path = tmp_path / "notes.isxd"
    path.write_text("hello world\n" * 83_333)
    lead = _open_error(path)
    assert lead.startswith(f"{NOT_ISXD}: it is a text file;"), lead
    assert "JSON length field" in lead  # the technical detail follows


@pytest.mark.parametrize("suffix", [".isxd", ".tif"])
def test_tiff(tmp_path, suffix):
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / f"image{suffix}"
    tifffile.imwrite(path, np.arange(100, dtype=np.uint16).reshape(10, 10))
    assert _open_error(path).startswith(f"{NOT_ISXD}: it is a TIFF image;")


def test_png(tmp_path):
    path = tmp_path / "picture.isxd"
    path.write_bytes(PNG_HEAD + bytes(200))
    assert _open_error(path).startswith(f"{NOT_ISXD}: it is a PNG image;")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.isxd"
    path.write_bytes(b"")
    assert _open_error(path).startswith(f"{NOT_ISXD}: it is empty (0 bytes)")


def test_detail_kept_as_attributes(tmp_path):
    path = tmp_path / "notes.isxd"
    path.write_text("x" * 1000)
    with pytest.raises(IsxFormatError) as err:
        isxio.open(path)
    e = err.value
    assert e.offset == 1000 - 8  # the length field
    assert e.found == struct.unpack("<Q", b"x" * 8)[0]
    again = pickle.loads(pickle.dumps(e))
    assert str(again) == str(e)


REAL_ISXD = ["movie_longer_than_3_min.isxd", "multiplane_movie.isxd", "movie_u8.isxd",
             "movie_part2_108x123x63.isxd", "cellset.isxd", "empty_cellset.isxd",
             "cellset_accepted_undecided_and_rejected_cells.isxd",
             "sample_eventset_msr_1.isxd", "IM13_session1_2024-10-07_local_corr_img.isxd"]


def _json_start(data: bytes) -> int:
    (n,) = struct.unpack("<Q", data[-8:])
    return len(data) - 9 - n


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_ISXD)
def test_real_isxd_cut_inside_its_json(realdata, tmp_path, name):
    data = (realdata / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[:-100])
    lead = _open_error(path)
    assert lead.startswith(f"{TRUNCATED_JSON} {_json_start(data)} "), lead
    assert f"the file ({len(data) - 100} bytes)" in lead


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["movie_longer_than_3_min.isxd", "multiplane_movie.isxd",
                                  "sample_eventset_msr_1.isxd"])
def test_real_isxd_cut_inside_its_data(realdata, tmp_path, name):
    data = (realdata / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[:_json_start(data) // 2])
    lead = _open_error(path)
    assert lead.startswith(CUT_DATA), lead
    assert f"the file is {_json_start(data) // 2} bytes" in lead


@pytest.mark.realdata
def test_real_movie_with_frames_cut_out(realdata, tmp_path):
    """Trailer intact, data section short: says truncated and by how much."""
    data = (realdata / "movie_longer_than_3_min.isxd").read_bytes()
    at = _json_start(data)
    frame = 33 * 29 * 2
    path = tmp_path / "short.isxd"
    path.write_bytes(data[:at - 10 * frame] + data[at:])
    with pytest.raises(IsxFormatError) as err:
        MovieFile(path)
    lead = _lead(err.value, path)
    assert lead.startswith(f"truncated or damaged data section: it is {at - 10 * frame} "
                           f"bytes ({1248 - 10} complete frame(s)), the trailer describes "
                           f"{at} bytes;"), lead


@pytest.mark.realdata
@pytest.mark.parametrize("cut", ["tail", "half"])
def test_real_isxb_truncated(realdata, tmp_path, cut):
    av = pytest.importorskip("av")
    del av
    name = "Group-20240111-080531_2024-01-12-08-55-21_sched_0.isxb"
    data = (realdata / name).read_bytes()
    size = len(data) - 100 if cut == "tail" else len(data) // 2
    path = tmp_path / name
    path.write_bytes(data[:size])
    lead = _open_error(path)
    assert lead.startswith(f"truncated .isxb file: it is {size} bytes, its header says its "
                           f"sections end at byte {len(data)};"), lead
    assert "isxio.rescue(" in lead
    assert ("(its video is intact)" if cut == "tail" else "(its video is cut too)") in lead
    # ... and what the message promises works: the complete frames come back
    out = tmp_path / "rescued.isxb"
    report = isxio.rescue(path, out, like=realdata / name.replace("_0.", "_1."))
    assert report.frames_recovered == (10 if cut == "tail" else 5)


def test_other_kind_names_the_kind(tmp_path):
    path = tmp_path / "movie.isxd"
    write_movie(path, np.zeros((2, 3, 4), np.uint16))
    with pytest.raises(IsxFormatError) as err:
        CellSetFile(path)
    assert _lead(err.value, path).startswith("not a cell set: it is a movie at key 'type'")


def test_sentence_reasons_read_as_sentences():
    err = IsxTypeError("a.isxd", "Expected data set to be of type: Movie. Instead it is of "
                       "type: Image.", key="type", expected=0, found=4)
    assert str(err) == ("a.isxd: Expected data set to be of type: Movie. Instead it is of "
                        "type: Image. At key 'type'; expected 0, found 4.")
    plain = IsxFormatError("a.isxd", "wrong JSON type", key="k", offset=3, expected="x",
                           found="y")
    assert str(plain) == "a.isxd: wrong JSON type at key 'k', byte offset 3; expected x, found y"
