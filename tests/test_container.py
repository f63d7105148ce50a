"""The container layer: exact isxcore JSON, the trailer, atomic writing.

``_json.dumps`` is checked against an independent reference built from the rules of
spec ``isxd.md`` §1.4 (Python's ``json`` for the structure, the C library's
``printf("%.15g")`` for floats) and against JSON text that isx itself wrote.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import math
import os
import stat
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isxio.errors import IsxFormatError, IsxFormatWarning
from isxio.formats import _json
from isxio.formats.container import (
    MAX_STRAY_BYTES,
    AtomicFile,
    encode_trailer,
    read_trailer,
)

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def scratch():
    """A fresh folder per hypothesis example (function fixtures are shared by examples)."""
    with tempfile.TemporaryDirectory(prefix="isxio-test-") as folder:
        yield Path(folder)


def container(data: bytes, header: dict) -> bytes:
    """A container built by hand from the layout of spec §1.1 (not with encode_trailer)."""
    text = _json.dumps(header).encode("utf-8")
    return data + text + b"\x00" + struct.pack("<Q", len(text))


# ---------------------------------------------------------------------------------------
# A reference serialiser for spec §1.4, independent of isxio's
# ---------------------------------------------------------------------------------------
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)


def c_format(value: float) -> str:
    """``printf("%.15g")`` from the C library; zero as ``0.0``/``-0.0``; NaN/inf as null."""
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if not math.isfinite(value):
        return "null"
    buf = ctypes.create_string_buffer(64)
    _LIBC.snprintf(buf, 64, b"%.15g", ctypes.c_double(value))
    return buf.value.decode()


MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"  # private-use characters the strategies avoid


def reference_dumps(obj) -> str:
    """Pretty JSON (indent 4, sorted keys, raw UTF-8) with floats printed by the C library."""
    floats: list[float] = []

    def mark(value):
        if isinstance(value, float):
            floats.append(value)
            return f"{MARK_OPEN}{len(floats) - 1}{MARK_CLOSE}"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(obj), indent=4, sort_keys=True, ensure_ascii=False)
    for i, value in enumerate(floats):
        text = text.replace(f'"{MARK_OPEN}{i}{MARK_CLOSE}"', c_format(value), 1)
    return text


def expected_after_reload(obj):
    """What parsing isxcore's text gives back: floats pass through ``%.15g``."""
    if isinstance(obj, float):
        text = c_format(obj)
        return None if text == "null" else json.loads(text)
    if isinstance(obj, dict):
        return {k: expected_after_reload(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [expected_after_reload(v) for v in obj]
    return obj


_chars = st.characters(exclude_categories=("Cs", "Co"))
_text = st.text(_chars, max_size=12)
_scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
            | st.floats(allow_nan=True, allow_infinity=True, width=64) | _text)
json_like = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=30,
)


@pytest.mark.parametrize(("value", "text"), [
    # the examples given in spec isxd.md §1.4
    (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1"), (100.0, "100"), (0.30000000000000004, "0.3"),
    (1e-7, "1e-07"), (1e16, "1e+16"), (3e10, "30000000000"),
    (123456789.123456789, "123456789.123457"),
    (1.7976931348623157e308, "1.79769313486232e+308"),
])
def test_format_float_spec_examples(value, text):
    assert _json.format_float(value) == text
    assert _json.dumps(value) == text


def test_dumps_spec_layout():
    obj = {"b": [], "a": {}, "_": [1, "x"], "Z": {"k": None, "t": True, "f": False}}
    assert _json.dumps(obj) == (
        '{\n    "Z": {\n        "f": false,\n        "k": null,\n        "t": true\n    },\n'
        '    "_": [\n        1,\n        "x"\n    ],\n    "a": {},\n    "b": []\n}')
    assert _json.dumps({"s": "é\u0001\u007f/\"\\\b\f\n\r\t"}) == \
        '{\n    "s": "é\\u0001\u007f/\\"\\\\\\b\\f\\n\\r\\t"\n}'
    assert _json.dumps(2**64 - 1) == "18446744073709551615"
    assert _json.dumps(-(2**63)) == "-9223372036854775808"


@SETTINGS
@given(json_like)
def test_dumps_matches_reference(obj):
    text = _json.dumps(obj)
    assert text == reference_dumps(obj)
    assert _json.loads(text) == expected_after_reload(obj)


@SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_float_is_c_printf(value):
    assert _json.format_float(value) == c_format(value)


def test_dumps_numpy_values():
    obj = {"a": np.arange(3, dtype=np.uint64), "b": np.float32(0.5), "c": np.int16(-3),
           "d": np.bool_(True), "e": (1, 2)}
    assert _json.dumps(obj) == reference_dumps(
        {"a": [0, 1, 2], "b": 0.5, "c": -3, "d": True, "e": [1, 2]})
    with pytest.raises(TypeError):
        _json.dumps({"x": object()})


def test_loads_accepts_any_valid_json():
    assert _json.loads('{"a":[1,2.5,null],"b":NaN}')["a"] == [1, 2.5, None]
    assert math.isnan(_json.loads('{"b": NaN}')["b"])


# ---------------------------------------------------------------------------------------
# JSON text written by isx re-serialises byte for byte
# ---------------------------------------------------------------------------------------
def json_text_of(path: Path) -> str:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[-8:])
    assert raw[-9] == 0
    return raw[len(raw) - 9 - n:len(raw) - 9].decode("utf-8")


def assert_reserialises(path: Path) -> None:
    text = json_text_of(path)
    assert _json.dumps(_json.loads(text)) == text
    tail = encode_trailer(_json.loads(text))
    assert path.read_bytes().endswith(tail)
    trailer = read_trailer(path)
    assert trailer.data_size == path.stat().st_size - len(tail)
    assert trailer.json_size == len(text.encode("utf-8"))


_names = st.text(st.characters(exclude_categories=("Cs", "Co"), exclude_characters="\x00"),
                 min_size=1, max_size=8)
_ratios = st.tuples(st.integers(1, 10**9), st.integers(1, 10**9))


def isx_timing(isx, n: int, period, start, utc: int, dropped=(), cropped=(), blank=()):
    return isx.Timing(num_samples=n, period=isx.Duration._from_num_den(*period),
                      start=isx.Time._from_secs_since_epoch(
                          isx.Duration._from_num_den(*start), utc),
                      dropped=list(dropped), cropped=list(cropped), blank=list(blank))


@pytest.mark.isx
@SETTINGS
@given(kind=st.sampled_from(["movie", "cellset", "events"]), n=st.integers(0, 6),
       period=_ratios, start=_ratios, utc=st.integers(-50400, 50400),
       names=st.lists(_names, min_size=1, max_size=3, unique=True),
       seed=st.integers(0, 2**32 - 1))
def test_isx_written_json_reserialises(kind, n, period, start, utc, names, seed):
    isx = pytest.importorskip("isx")
    rng = np.random.default_rng(seed)
    with scratch() as folder:
        path = folder / f"{kind}.isxd"
        if kind == "movie":
            dropped = sorted(set(rng.integers(0, n, 2).tolist())) if n > 2 else []
            timing = isx_timing(isx, n, period, start, utc, dropped=dropped)
            movie = isx.Movie.write(str(path), timing, isx.Spacing(num_pixels=(2, 3)),
                                    np.float32)
            for i in range(n):
                movie.set_frame_data(i, rng.normal(size=(2, 3)).astype(np.float32))
            movie.flush()
            del movie
        elif kind == "cellset":
            n = max(n, 1)
            timing = isx_timing(isx, n, period, start, utc)
            cells = isx.CellSet.write(str(path), timing, isx.Spacing(num_pixels=(3, 2)))
            for i, name in enumerate(names):
                cells.set_cell_data(i, rng.random((3, 2)).astype(np.float32),
                                    rng.random(n).astype(np.float32), name)
            cells.flush()
            del cells
        else:
            n = max(n, 1)
            timing = isx_timing(isx, n, period, start, utc)
            events = isx.EventSet.write(str(path), timing, names)
            for i in range(len(names)):
                events.set_cell_data(i, np.sort(rng.integers(0, 10**6, 3)).astype(np.uint64),
                                     rng.random(3).astype(np.float32))
            events.flush()
            del events
        assert_reserialises(path)


@pytest.mark.realdata
def test_real_files_json_reserialises(realdata):
    files = sorted(realdata.glob("*.isxd"))
    assert files
    for path in files:
        assert_reserialises(path)


# ---------------------------------------------------------------------------------------
# read_trailer
# ---------------------------------------------------------------------------------------
HEADER = {"type": 0, "a": [1, 2], "s": "é"}


def test_read_trailer_layout(tmp_path):
    data = bytes(range(37))
    path = tmp_path / "x.isxd"
    path.write_bytes(container(data, HEADER))
    t = read_trailer(path)
    assert t.header == HEADER
    assert t.data_size == 37
    assert t.json_size == len(_json.dumps(HEADER).encode())
    assert t.file_size == path.stat().st_size == 37 + t.json_size + 9
    assert t.stray_bytes == 0
    assert t.path == str(path)
    with open(path, "rb") as fh:
        assert read_trailer(path, fh).header == HEADER
        assert not fh.closed
    # D may be 0; the JSON may be minified or surrounded by whitespace
    for text in (b'{"type":0}', b' \n{"type": 0}\n '):
        path.write_bytes(text + b"\x00" + struct.pack("<Q", len(text)))
        assert read_trailer(path).header == {"type": 0}
        assert read_trailer(path).data_size == 0


def assert_format_error(path: Path, words: str, **call) -> IsxFormatError:
    with pytest.raises(IsxFormatError) as info:
        read_trailer(path, **call)
    err = info.value
    assert err.path == str(path)
    assert str(path) in str(err)
    assert words in str(err)
    return err


def trail(text: bytes) -> bytes:
    return text + b"\x00" + struct.pack("<Q", len(text))


def test_read_trailer_errors(tmp_path):
    path = tmp_path / "bad.isxd"
    good = container(b"\x01\x02", HEADER)
    cases = [
        (b"", "too small"),
        (b"\x00" * 8, "too small"),
        (good[:-9] + b"\x01" + good[-8:], "NUL"),
        (good[:-8] + struct.pack("<Q", len(good)), "before the start"),
        (good[:-8] + struct.pack("<Q", 2**64 - 1), "before the start"),
        (b"xx" + trail(b'{"type": 0, "a": \xff}'), "UTF-8"),
        (trail(b'{"type": 0,, }'), "does not parse"),
        (trail(b"[1, 2]"), "start with '{'"),
        (trail(b"{" * 5000 + b"}" * 5000), "does not parse"),
        (trail(b'"x"'), "start with '{'"),
        (trail(b"{}"), None),
    ]
    for raw, words in cases:
        path.write_bytes(raw)
        if words is None:
            assert read_trailer(path).header == {}
            continue
        err = assert_format_error(path, words, recover=False)
        assert err.offset is not None
        assert_format_error(path, "", recover=True)


def test_deeply_nested_json_is_a_format_error(tmp_path):
    path = tmp_path / "deep.isxd"
    text = b'{"a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    path.write_bytes(text + b"\x00" + struct.pack("<Q", len(text)))
    assert_format_error(path, "nested too deeply")


def test_trailer_parse_error_offset(tmp_path):
    path = tmp_path / "bad.isxd"
    text = b'{\n    "type": 0,\n    "x": ]\n}'
    path.write_bytes(b"12345" + text + b"\x00" + struct.pack("<Q", len(text)))
    err = assert_format_error(path, "does not parse", recover=False)
    assert err.offset == 5 + text.index(b"]")


@SETTINGS
@given(stray=st.binary(min_size=1, max_size=MAX_STRAY_BYTES),
       data=st.binary(max_size=64))
def test_stray_bytes_recovered_with_warning(stray, data):
    with scratch() as folder:
        path = folder / "stray.isxd"
        good = container(data, HEADER)
        path.write_bytes(good + stray)
        with pytest.warns(IsxFormatWarning, match=rf"ignored {len(stray)} stray byte"):
            t = read_trailer(path)
        assert t.header == HEADER
        assert t.data_size == len(data)
        assert t.stray_bytes == len(stray)
        assert t.file_size == len(good)
        with pytest.raises(IsxFormatError) as info:
            read_trailer(path, recover=False)
        assert info.value.path == str(path)


def test_too_many_stray_bytes_is_an_error(tmp_path):
    path = tmp_path / "stray.isxd"
    path.write_bytes(container(b"abc", HEADER) + b"\n" * (MAX_STRAY_BYTES + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_format_error(path, "")


def test_recovery_requires_a_type_key(tmp_path):
    path = tmp_path / "stray.isxd"
    path.write_bytes(container(b"", {"a": 1}) + b"\n")
    assert_format_error(path, "")


@SETTINGS
@given(data=st.binary(max_size=40), cut=st.integers(0, 10**6))
def test_truncated_container_is_a_format_error(data, cut):
    raw = container(data, HEADER)
    cut %= len(raw)
    with scratch() as folder:
        path = folder / "cut.isxd"
        path.write_bytes(raw[:cut])
        assert_format_error(path, "")


@SETTINGS
@given(data=st.binary(max_size=40), length=st.integers(0, 2**64 - 1))
def test_any_length_field_is_handled(data, length):
    raw = container(data, HEADER)
    with scratch() as folder:
        path = folder / "len.isxd"
        path.write_bytes(raw[:-8] + struct.pack("<Q", length))
        if raw[-8:] == struct.pack("<Q", length):
            assert read_trailer(path).header == HEADER
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IsxFormatWarning)
            try:
                t = read_trailer(path)
            except IsxFormatError as err:
                assert err.path == str(path)
            else:
                assert isinstance(t.header, dict)


@SETTINGS
@given(garbage=st.binary(max_size=200) | st.text(max_size=100).map(str.encode))
def test_garbage_json_is_a_format_error(garbage):
    with scratch() as folder:
        path = folder / "garbage.isxd"
        path.write_bytes(garbage + b"\x00" + struct.pack("<Q", len(garbage)))
        try:
            t = read_trailer(path, recover=False)
        except IsxFormatError as err:
            assert err.path == str(path)
        else:  # the garbage happens to be a JSON object
            assert isinstance(t.header, dict)


def test_encode_trailer_layout():
    tail = encode_trailer(HEADER)
    text = _json.dumps(HEADER).encode("utf-8")
    assert tail == text + b"\x00" + len(text).to_bytes(8, "little")


# ---------------------------------------------------------------------------------------
# AtomicFile
# ---------------------------------------------------------------------------------------
def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_file_appears_only_on_commit(tmp_path):
    path = tmp_path / "a.isxd"
    f = AtomicFile(path)
    f.write(b"abc")
    f.write(memoryview(b"def"))
    assert f.tell() == 6
    assert not path.exists()
    assert len(folder_listing(tmp_path)) == 1  # the temporary file
    f.commit()
    assert f.closed
    assert path.read_bytes() == b"abcdef"
    assert folder_listing(tmp_path) == ["a.isxd"]
    f.commit()  # idempotent


def test_atomic_file_abort_and_gc(tmp_path):
    f = AtomicFile(tmp_path / "a.isxd")
    f.write(b"abc")
    f.abort()
    assert folder_listing(tmp_path) == []
    f.abort()
    g = AtomicFile(tmp_path / "b.isxd")
    g.write(b"x")
    del g
    import gc

    gc.collect()
    assert folder_listing(tmp_path) == []


def test_atomic_file_overwrite(tmp_path):
    path = tmp_path / "a.isxd"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        AtomicFile(path)
    assert path.read_bytes() == b"old"
    f = AtomicFile(path, overwrite=True)
    f.write(b"new")
    assert path.read_bytes() == b"old"
    f.commit()
    assert path.read_bytes() == b"new"
    # a file created by someone else while writing is not replaced
    g = AtomicFile(tmp_path / "b.isxd")
    (tmp_path / "b.isxd").write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        g.commit()
    assert (tmp_path / "b.isxd").read_bytes() == b"theirs"
    assert folder_listing(tmp_path) == ["a.isxd", "b.isxd"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077, 0o002])
def test_atomic_file_mode_follows_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        f = AtomicFile(tmp_path / "a.isxd")
        f.write(b"x")
        f.commit()
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "a.isxd").stat().st_mode)
    assert mode == 0o666 & ~umask
    assert mode == stat.S_IMODE((tmp_path / "plain").stat().st_mode)
