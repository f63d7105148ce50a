"""Remote files (fsspec URLs) and open file objects, read lazily by byte ranges.

A test HTTP server on 127.0.0.1 (``http.server`` with Range support, in a thread,
stopped by the fixture) serves a temporary copy of the real files and logs every
request's byte range, so the tests can count what opening a file and reading one
frame cost.  Remote reads must equal local reads (which the rest of the suite checks
against isx); a server that drops connections, returns short bodies or ignores Range
must give an error naming the URL, never wrong data.
"""

from __future__ import annotations

import io
import pickle
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pytest

import isxio
from isxio._io import TAIL_PREFETCH, IsxRemoteError
from isxio.formats.movie import write_movie
from isxio.testing import fixtures as fx

from .conftest import REALDATA

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

ISXD = ["movie_longer_than_3_min.isxd", "multiplane_movie.isxd", "movie_part2_108x123x63.isxd",
        "movie_u8.isxd", "IM13_session1_2024-10-07_local_corr_img.isxd", "cellset.isxd",
        "cellset_accepted_undecided_and_rejected_cells.isxd", "empty_cellset.isxd",
        "sample_eventset_msr_1.isxd"]
ISXB = ["Group-20240111-080531_2024-01-12-08-55-21_sched_0.isxb",
        "Group-20240111-080531_2024-01-12-08-55-21_sched_1.isxb"]
MIB = 1 << 20


# ------------------------------------------------------------------ the test server
class _RangeHandler(BaseHTTPRequestHandler):
    """GET/HEAD with single byte ranges; ``server.mode`` injects failures."""

    protocol_version = "HTTP/1.1"
    timeout = 10  # a stuck client cannot hold a handler thread for long

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        srv: Any = self.server
        path = Path(srv.root) / unquote(self.path.split("?")[0].lstrip("/"))
        if not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = path.stat().st_size
        start, stop, status = 0, size, 200
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if m and srv.mode != "norange":
            start, status = int(m[1]), 206
            stop = min(int(m[2]) + 1 if m[2] else size, size)
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(stop - start) if body else b""
        srv.log.append((self.command, path.name, start, len(data)))
        failing = body and status == 206 and srv.mode in ("drop", "short") and len(data) > 1
        sent = data[:len(data) // 2] if failing else data
        self.send_response(status)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(sent) if srv.mode == "short" and failing
                                              else stop - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        self.end_headers()
        self.wfile.write(sent)
        if failing and srv.mode == "drop":  # promised more than sent: hang up
            self.close_connection = True
            self.wfile.flush()
            self.connection.close()


class Server:
    """A bounded HTTP server on 127.0.0.1 serving ``root`` (stopped by :meth:`stop`)."""

    def __init__(self, root: Path) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
        self.httpd.daemon_threads = True
        self.httpd.root, self.httpd.log, self.httpd.mode = str(root), [], "ok"  # type: ignore
        self.root = root
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    @property
    def log(self) -> list[tuple[str, str, int, int]]:
        return self.httpd.log  # type: ignore[attr-defined]

    def set_mode(self, mode: str) -> None:
        self.httpd.mode = mode  # type: ignore[attr-defined]

    def gets(self) -> list[tuple[str, str, int, int]]:
        return [r for r in self.log if r[0] == "GET"]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("served")
    for name in ISXD + ISXB:  # a copy: the served folder also gets synthetic files
        if (REALDATA / name).is_file():
            shutil.copy(REALDATA / name, root / name)
    server = Server(root)
    yield server
    server.stop()


@pytest.fixture
def server(served: Server) -> Iterator[Server]:
    served.set_mode("ok")
    served.log.clear()
    yield served
    served.set_mode("ok")


def _need(server: Server, name: str) -> Path:
    path = server.root / name
    if not path.is_file():
        pytest.skip(f"real file not available: {name}")
    return path


# ------------------------------------------------------------------ comparing readers
def _same(remote: Any, local: Any) -> None:
    """Every array and metadata value of ``remote`` equals ``local``'s."""
    assert type(remote) is type(local)
    assert remote.timing == local.timing
    assert remote.extra_properties == local.extra_properties
    for name in ("data", "footprints", "traces"):
        if hasattr(local, name):
            np.testing.assert_array_equal(np.asarray(getattr(remote, name)),
                                          np.asarray(getattr(local, name)))
    if getattr(local, "has_frame_timestamps", False):
        np.testing.assert_array_equal(remote.tsc, local.tsc)
    if hasattr(local, "channel_data"):
        for i in range(local.num_channels):
            for got, want in zip(remote.channel_data(i), local.channel_data(i), strict=True):
                np.testing.assert_array_equal(got, want)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ISXD + ISXB)
def test_remote_reads_equal_local_reads(server, name):
    local_path = _need(server, name)
    remote, local = isxio.open(server.url(name)), isxio.open(local_path)
    with remote, local:
        assert remote.path == server.url(name)
        _same(remote, local)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ISXD)
def test_file_objects_read_like_paths(server, name):
    local_path = _need(server, name)
    with open(local_path, "rb") as fh, isxio.open(local_path) as local:
        remote = isxio.open(fh)
        assert remote.path == str(local_path)
        _same(remote, local)
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(remote)
    with isxio.open(io.BytesIO(local_path.read_bytes())) as mem, isxio.open(local_path) as local:
        _same(mem, local)


# ------------------------------------------------------------------ what is fetched
@pytest.mark.realdata
@pytest.mark.parametrize("name", ISXD)
def test_open_reads_only_the_trailer(server, name):
    path = _need(server, name)
    with isxio.open(path) as local:
        json_size = local.trailer.json_size
    server.log.clear()
    isxio.open(server.url(name))
    gets = server.gets()
    assert 1 <= len(gets) <= 2, gets
    assert sum(n for *_, n in gets) <= min(TAIL_PREFETCH, path.stat().st_size) + json_size
    assert all(start >= path.stat().st_size - TAIL_PREFETCH - json_size
               for _, _, start, _ in gets)


def test_open_cost_does_not_grow_with_the_file(server, tmp_path):
    frames = np.arange(300 * 128 * 160, dtype=np.uint16).reshape(300, 128, 160)  # 12 MiB
    write_movie(server.root / "big.isxd", frames, overwrite=True)
    server.log.clear()
    movie = isxio.open(server.url("big.isxd"))
    assert sum(n for *_, n in server.gets()) <= TAIL_PREFETCH
    server.log.clear()
    np.testing.assert_array_equal(movie.data[123], frames[123])
    assert [(s, n) for *_, s, n in server.gets()] == [(123 * frames[0].nbytes,
                                                       frames[0].nbytes)]
    server.log.clear()  # a strided slice: one exact range per frame, nothing else
    np.testing.assert_array_equal(movie.data[10:40:10], frames[10:40:10])
    assert sorted(s for *_, s, _ in server.gets()) == [i * frames[0].nbytes
                                                       for i in (10, 20, 30)]
    assert sum(n for *_, n in server.gets()) == 3 * frames[0].nbytes
    server.log.clear()  # contiguous frames: coalesced into few requests of <= 8 MiB
    np.testing.assert_array_equal(movie.data[:], frames)
    gets = server.gets()
    assert sum(n for *_, n in gets) == frames.nbytes and len(gets) <= 3


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["movie_longer_than_3_min.isxd", "multiplane_movie.isxd",
                                  "movie_part2_108x123x63.isxd"])
def test_one_frame_fetches_only_that_frame(server, name):
    path = _need(server, name)
    movie = isxio.open(server.url(name))
    with isxio.open(path) as local:
        want = local.data[7]
    server.log.clear()
    np.testing.assert_array_equal(movie.data[7], want)
    gets = server.gets()
    assert len(gets) == 1 and gets[0][3] == want.nbytes  # exactly the frame's pixels
    assert gets[0][3] <= 2 * want.nbytes + MIB


@pytest.mark.realdata
def test_one_trace_fetches_only_that_trace(server):
    _need(server, "cellset.isxd")
    cells = isxio.open(server.url("cellset.isxd"))
    server.log.clear()
    trace = cells.traces[2]
    gets = server.gets()
    assert len(gets) == 1 and gets[0][3] == trace.nbytes
    server.log.clear()
    cells.traces[:]  # 4 traces separated by footprints: 4 exact ranges, no footprint bytes
    assert sum(n for *_, n in server.gets()) == cells.traces.nbytes


@pytest.mark.realdata
def test_to_dask_and_pickle_work_on_urls(server):
    dask = pytest.importorskip("dask")
    path = _need(server, "movie_longer_than_3_min.isxd")
    movie = isxio.open(server.url(path.name))
    again = pickle.loads(pickle.dumps(movie))
    with isxio.open(path) as local:
        want = np.asarray(local.data[100:140])
        arr = again.data.to_dask()[100:140]
        server.log.clear()
        got = dask.compute(arr.mean(axis=(1, 2)), scheduler="threads")[0]
    np.testing.assert_allclose(got, want.mean(axis=(1, 2)))
    assert sum(n for *_, n in server.gets()) == want.nbytes  # only the 40 frames


@pytest.mark.realdata
def test_planes_of_a_remote_multiplane_movie(server):
    from isxio.planes import split_planes

    path = _need(server, "multiplane_movie.isxd")
    with isxio.open(path) as local:
        want = [(np.asarray(p.data), p.efocus, p.timing) for p in split_planes(local)]
    got = [(np.asarray(p.data), p.efocus, p.timing)
           for p in split_planes(isxio.open(server.url(path.name)))]
    assert len(got) == len(want) == 3
    for (g, ge, gt), (w, we, wt) in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
        assert (ge, gt) == (we, wt)


def test_gpio_and_imu_over_http(server):
    t0 = 1_000_000
    ev = [fx.capture_all(t0, gpi=3, bnc=(1, 2, 3, 4)), fx.digital_gpio(t0 + 2000, 0, seq=10),
          fx.frame_count(t0 + 3000, 42)]
    gpio = fx.write_gpio(server.root / "s.gpio", ev, session={"ad": {"clock": 1000}})
    acc = np.arange(12).reshape(4, 3)
    imu = fx.write_imu(server.root / "s.imu", acc, acc, acc[:1])
    for local_path in (gpio, imu):
        remote = isxio.open(server.url(local_path.name) + "?v=1")  # a query is not the extension
        local = isxio.open(local_path)
        assert remote.channel_names == local.channel_names
        _same(remote, local)
        _same(pickle.loads(pickle.dumps(remote)), local)


def test_vessel_set_over_http(server):
    from isxio.formats.vesselset import write_vessel_set

    rng = np.random.default_rng(3)
    image = rng.random((4, 5), dtype=np.float32)
    lines = np.array([[[0, 0], [3, 4]], [[1, 1], [2, 3]]])
    traces, centers = rng.random((2, 6), dtype=np.float32), rng.random((2, 6), dtype=np.float32)
    write_vessel_set(server.root / "v.isxd", "vessel diameter", image, lines, traces, centers,
                     overwrite=True)
    vessels = isxio.open(server.url("v.isxd"))
    np.testing.assert_array_equal(vessels.projection, image)
    np.testing.assert_array_equal(vessels.lines, lines)
    np.testing.assert_array_equal(vessels.traces, traces)
    np.testing.assert_array_equal(vessels.center_traces, centers)


def test_any_fsspec_url(tmp_path):
    """Not only HTTP: fsspec's in-memory file system stands for S3, GCS, ..."""
    import fsspec

    frames = np.arange(5 * 3 * 4, dtype=np.float32).reshape(5, 3, 4)
    write_movie(tmp_path / "m.isxd", frames)
    fs = fsspec.filesystem("memory")
    fs.pipe("/isxio-test/m.isxd", (tmp_path / "m.isxd").read_bytes())
    try:
        movie = isxio.open("memory://isxio-test/m.isxd")
        np.testing.assert_array_equal(movie.data[1:4], frames[1:4])
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(movie)).data[4], frames[4])
    finally:
        fs.rm("/isxio-test", recursive=True)


@pytest.mark.parametrize("key", [5, -1, 3, slice(None), slice(2, 17, 3), slice(None, None, -2),
                                 [9, 2, 2, 15], np.array([0, 1, 4, 5, 6]), (slice(1, 8), 2),
                                 (Ellipsis, 1), np.arange(20) % 3 == 0, (None, 4, 1, 0)])
def test_any_index_of_a_file_object_equals_the_source(tmp_path, key):
    """Dropped, cropped and blank frames read as zeros; fancy keys as numpy does."""
    from isxio.formats.common import TimingInfo

    rng = np.random.default_rng(7)
    frames = rng.integers(0, 60000, (20, 6, 5), dtype=np.uint16)
    timing = TimingInfo(num_samples=20, dropped=(3, 11), cropped=((6, 7),), blank=(15,))
    path = tmp_path / "gaps.isxd"
    write_movie(path, frames, timing=timing)
    want = frames.copy()
    want[[3, 11, 6, 7, 15]] = 0
    with open(path, "rb") as fh:
        got = isxio.open(fh).data[key]
    np.testing.assert_array_equal(got, want[key])


# ------------------------------------------------------------------ failures
@pytest.mark.realdata
@pytest.mark.parametrize("mode", ["drop", "short", "norange"])
def test_broken_server_raises_naming_the_url(server, mode):
    name = "movie_longer_than_3_min.isxd"
    _need(server, name)
    url = server.url(name)
    movie = isxio.open(url)
    server.set_mode(mode)
    with pytest.raises(OSError, match=re.escape(url)) as err:
        movie.data[5]
    assert isinstance(err.value, IsxRemoteError)
    other = server.url("cellset.isxd")
    with pytest.raises(OSError, match=re.escape(other)):
        isxio.open(other)
    server.set_mode("ok")
    with isxio.open(server.root / name) as local:
        np.testing.assert_array_equal(movie.data[5], local.data[5])  # recovers afterwards


def test_missing_url_and_bad_targets(server):
    with pytest.raises(FileNotFoundError, match=r"nothing\.isxd"):
        isxio.open(server.url("nothing.isxd"))
    with socket.socket() as sock:  # a port on 127.0.0.1 that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/movie.isxd"
    with pytest.raises(IsxRemoteError, match=re.escape(url)):
        isxio.open(url)

    class Unseekable(io.RawIOBase):
        def readable(self) -> bool:
            return True

    with pytest.raises(TypeError, match="seekable"):
        isxio.open(Unseekable())


def test_extractors_and_the_isx_api_over_http(server):
    pytest.importorskip("roiextractors")
    from isxio.roiextractors import InscopixImagingExtractor, InscopixSegmentationExtractor

    movie, cells = _need(server, "multiplane_movie.isxd"), _need(server, "cellset.isxd")
    local = InscopixImagingExtractor(movie, plane=1)
    remote = InscopixImagingExtractor(server.url(movie.name), plane=1)
    np.testing.assert_array_equal(remote.get_series(2, 5), local.get_series(2, 5))
    np.testing.assert_array_equal(remote.get_native_timestamps(), local.get_native_timestamps())
    assert remote.efocus == local.efocus == [500]
    np.testing.assert_array_equal(
        InscopixSegmentationExtractor(server.url(cells.name)).get_traces(),
        InscopixSegmentationExtractor(cells).get_traces())
    np.testing.assert_array_equal(isxio.Movie.read(server.url(movie.name)).get_frame_data(4),
                                  isxio.Movie.read(str(movie)).get_frame_data(4))


def test_nwb_interfaces_over_http(server):
    pytest.importorskip("neuroconv")
    from isxio.neuroconv import InscopixImagingInterface, InscopixSegmentationInterface

    movie, cells = _need(server, "movie_u8.isxd"), _need(server, "cellset.isxd")
    remote = InscopixImagingInterface(server.url(movie.name))
    nwb = remote.create_nwbfile(metadata=remote.get_metadata())
    local = InscopixImagingInterface(str(movie)).imaging_extractor.get_series()
    np.testing.assert_array_equal(
        np.asarray(nwb.acquisition["OnePhotonSeries"].data[:]).transpose(0, 2, 1), local)
    interface = InscopixSegmentationInterface(server.url(cells.name))
    nwb = interface.create_nwbfile(metadata=interface.get_metadata())
    table = nwb.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
    assert list(table["roi_name"][:]) == ["C0", "C1", "C2", "C3"]
    with pytest.raises(FileNotFoundError):
        InscopixImagingInterface(server.url("missing.isxd"))


def test_behaviour_video_interface_over_http(server):
    pytest.importorskip("neuroconv")
    from isxio.neuroconv import InscopixBehaviorVideoInterface

    part = _need(server, ISXB[0])
    remote = InscopixBehaviorVideoInterface(file_path=server.url(part.name), mode="internal")
    local = InscopixBehaviorVideoInterface(file_path=str(part), mode="internal")
    np.testing.assert_array_equal(remote.get_original_timestamps(),
                                  local.get_original_timestamps())
    out = server.root / "video.nwb"
    remote.run_conversion(nwbfile_path=str(out), metadata=remote.get_metadata(),
                          overwrite=True)
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(out), "r") as io, isxio.open(part) as reader:
        np.testing.assert_array_equal(io.read().acquisition["BehaviorVideo"].data[:2],
                                      np.asarray(reader.data[:2]))
