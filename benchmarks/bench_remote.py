"""Bytes transferred and time to first frame when a large movie is read over HTTP.

Run ``python benchmarks/bench_remote.py [--mb 1024]``.  It writes a uint16 movie with
isxio in a temporary folder, serves it from a ``http.server`` with Range support on
127.0.0.1 (nothing leaves the machine), then times ``isxio.open(url)``, the first frame,
a random frame and a 100-frame slice, counting the bytes the server sent for each.
Prints a markdown table; the temporary files are deleted.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

import isxio
from isxio.formats.common import Ratio, TimingInfo

SENT: list[int] = []


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves files with ``Range: bytes=a-b`` support and counts the body bytes sent."""

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        path = Path(self.translate_path(self.path))
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        size = path.stat().st_size
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        first, last = (int(match.group(1)), int(match.group(2) or size - 1)) if match \
            else (0, size - 1)
        last = min(last, size - 1)
        with path.open("rb") as f:
            f.seek(first)
            body = f.read(last - first + 1)
        self.send_response(206 if match else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        self.wfile.write(body)
        SENT.append(len(body))


def _measure(label: str, action) -> tuple[str, float, int]:
    SENT.clear()
    start = time.perf_counter()
    action()
    return label, time.perf_counter() - start, sum(SENT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="movie size in MB")
    args = parser.parse_args()
    rows, cols = 800, 1280
    frames = max(2, args.mb * 10**6 // (rows * cols * 2))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.isxd"
        with isxio.MovieWriter(path, TimingInfo(frames, Ratio(50, 1000)),
                               isxio.SpacingInfo(rows, cols), np.uint16) as writer:
            block = np.random.default_rng(0).integers(0, 4096, (64, rows, cols), np.uint16)
            for start in range(0, frames, 64):
                writer.write_frames(block[:min(64, frames - start)])
        server = ThreadingHTTPServer(("127.0.0.1", 0),
                                     partial(RangeHandler, directory=tmp))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/big.isxd"
        try:
            holder: dict = {}
            results = [
                _measure("open (trailer only)", lambda: holder.update(m=isxio.open(url))),
                _measure("first frame", lambda: holder["m"].data[0]),
                _measure("a random frame", lambda: holder["m"].data[frames // 2]),
                _measure("100 consecutive frames", lambda: holder["m"].data[100:200]),
            ]
        finally:
            server.shutdown()
            server.server_close()
        frame_mb = rows * cols * 2 / 1e6
        print(f"Movie: {os.path.getsize(path) / 1e6:,.0f} MB, {frames} frames of "
              f"{rows} x {cols} uint16 ({frame_mb:.2f} MB each), served on 127.0.0.1\n")
        print("| step | time | bytes transferred |\n|---|---:|---:|")
        for label, seconds, sent in results:
            print(f"| {label} | {seconds * 1000:.1f} ms | {sent:,} |")


if __name__ == "__main__":
    main()
