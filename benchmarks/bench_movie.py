"""Speed and memory of isxio's movie reader/writer, against numpy and isx.

Run ``python benchmarks/bench_movie.py`` (see ``benchmarks/README.md``).  It writes a
uint16 movie of at least 400 MiB with isxio in a temporary folder and measures, in one
run:

* reading every frame: ``np.asarray(MovieFile(p).data)`` vs numpy copying the same
  page-cached bytes (``np.fromfile``, ``np.array(np.memmap(...))``) vs isx
  ``get_frame_data`` for every frame;
* random frame access (frames/s), isxio vs isx;
* writing (MB/s): isxio ``write_movie`` vs isx ``Movie.write`` + ``set_frame_data``
  (isx on a smaller movie, it converts pixels one by one in Python);
* opening a file, 4 MB vs 400 MB (it should not depend on the size);
* peak Python/numpy heap (tracemalloc) of a streaming write and a streaming read.

All reads are from the page cache (the file was just written and read once).  Prints a
markdown table; temporary files are deleted.  Needs only numpy and isxio; isx is
optional (its rows are skipped when it is missing).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from isxio.formats.movie import MovieFile, write_movie

MB = 1e6  # throughputs are in MB/s (10^6 bytes)
MIB = 2**20


class Repeating:
    """A (frames, rows, cols) source whose slices come from a pool of frames.

    ``fresh=True`` returns a new array for every slice (a stream: camera, decoder,
    another file), so that tracemalloc sees what a real source would allocate.
    """

    def __init__(self, pool: np.ndarray, frames: int, fresh: bool = False) -> None:
        self.pool, self.fresh = pool, fresh
        self.shape = (frames, *pool.shape[1:])
        self.dtype = pool.dtype

    def __getitem__(self, key: slice | int) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, _ = key.indices(self.shape[0])
            idx = np.arange(start, stop) % len(self.pool)
            if not self.fresh and len(idx) and idx[-1] - idx[0] == len(idx) - 1:
                return self.pool[idx[0]:idx[-1] + 1]
            return self.pool[idx]
        return self.pool[key % len(self.pool)].copy() if self.fresh else \
            self.pool[key % len(self.pool)]


def best(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` runs, seconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def traced_peak(fn: Callable[[], object]) -> int:
    """Peak bytes allocated through Python/numpy while ``fn`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def isx_module():
    try:
        import isx
    except ImportError:
        return None
    return isx


# ------------------------------------------------------------------------------ pieces
def bench_write(folder: Path, pool: np.ndarray, frames: int, rows: list) -> Path:
    path = folder / "big.isxd"
    source = Repeating(pool, frames)
    began = time.perf_counter()
    write_movie(path, source)
    seconds = time.perf_counter() - began
    size = path.stat().st_size
    rows.append(("write, isxio `write_movie` (incl. fsync)", f"{size / MB / seconds:,.0f} MB/s",
                 f"{size / MIB:,.0f} MiB in {seconds:.2f} s", ""))
    return path


def bench_read_all(path: Path, frames: int, shape: tuple, rows: list, repeat: int) -> None:
    count = frames * shape[0] * shape[1]
    np.fromfile(path, np.uint16, count)  # make sure the file is in the page cache
    t_fromfile = best(lambda: np.fromfile(path, np.uint16, count), repeat)
    t_memmap = best(lambda: np.array(np.memmap(path, np.uint16, "r", shape=(count,))), repeat)
    t_isxio = best(lambda: np.asarray(MovieFile(path).data), repeat)
    size = count * 2
    rows.append(("read all frames, numpy `np.fromfile`", f"{size / MB / t_fromfile:,.0f} MB/s",
                 f"{t_fromfile:.3f} s", "baseline"))
    rows.append(("read all frames, numpy copy of `np.memmap`",
                 f"{size / MB / t_memmap:,.0f} MB/s", f"{t_memmap:.3f} s", "baseline"))
    rows.append(("read all frames, isxio `np.asarray(MovieFile(p).data)`",
                 f"{size / MB / t_isxio:,.0f} MB/s", f"{t_isxio:.3f} s",
                 f"{t_fromfile / t_isxio:.2f}x fromfile, {t_memmap / t_isxio:.2f}x memmap copy"))
    isx = isx_module()
    if isx is not None:
        def isx_all():
            movie = isx.Movie.read(str(path))
            return np.stack([movie.get_frame_data(i) for i in range(frames)])

        t_isx = best(isx_all, 1)
        rows.append(("read all frames, isx `get_frame_data` x every frame",
                     f"{size / MB / t_isx:,.0f} MB/s", f"{t_isx:.3f} s",
                     f"isxio is {t_isx / t_isxio:.1f}x faster"))


def bench_random(path: Path, frames: int, rows: list, count: int = 500) -> None:
    order = np.random.default_rng(0).integers(0, frames, count)
    data = MovieFile(path).data

    def isxio_random():
        for i in order:
            np.array(data[int(i)])  # a copy: the pixels are really read

    t_isxio = best(isxio_random, 3)
    rows.append(("random frame access, isxio `np.array(data[i])`",
                 f"{count / t_isxio:,.0f} frames/s", f"{count} frames", ""))
    isx = isx_module()
    if isx is not None:
        movie = isx.Movie.read(str(path))

        def isx_random():
            for i in order:
                movie.get_frame_data(int(i))

        t_isx = best(isx_random, 3)
        rows.append(("random frame access, isx `get_frame_data(i)`",
                     f"{count / t_isx:,.0f} frames/s", f"{count} frames",
                     f"isxio is {t_isx / t_isxio:.1f}x faster"))


def bench_small_write(folder: Path, pool: np.ndarray, megabytes: float, rows: list) -> None:
    frames = max(2, int(megabytes * MB / pool[0].nbytes))
    ours = folder / "small_isxio.isxd"
    began = time.perf_counter()
    write_movie(ours, Repeating(pool, frames))
    t_isxio = time.perf_counter() - began
    size = ours.stat().st_size
    rows.append((f"write {size / MB:.0f} MB, isxio `write_movie` (incl. fsync)",
                 f"{size / MB / t_isxio:,.0f} MB/s", f"{t_isxio:.3f} s", ""))
    isx = isx_module()
    if isx is None:
        return
    theirs = folder / "small_isx.isxd"
    began = time.perf_counter()
    movie = isx.Movie.write(str(theirs), isx.Timing(num_samples=frames),
                            isx.Spacing(num_pixels=pool.shape[1:]), np.uint16)
    for i in range(frames):
        movie.set_frame_data(i, pool[i % len(pool)])
    movie.flush()
    del movie
    t_isx = time.perf_counter() - began
    same = "identical bytes" if theirs.read_bytes() == ours.read_bytes() else "DIFFERENT bytes"
    rows.append((f"write {size / MB:.0f} MB, isx `Movie.write` + `set_frame_data`",
                 f"{size / MB / t_isx:,.1f} MB/s", f"{t_isx:.2f} s",
                 f"isxio is {t_isx / t_isxio:.0f}x faster; {same}"))


def bytes_read() -> int | None:
    """Bytes this process has read through read() so far (Linux ``/proc/self/io``)."""
    try:
        with open("/proc/self/io") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("rchar:"))
    except (OSError, StopIteration):
        return None


def bench_open(folder: Path, big: Path, pool: np.ndarray, rows: list, count: int = 400) -> None:
    small = folder / "open_small.isxd"
    write_movie(small, Repeating(pool, max(2, int(4 * MB / pool[0].nbytes))))
    openers = {"`MovieFile(p)`": MovieFile}
    isx = isx_module()
    if isx is not None:
        openers["`isx.Movie.read(p)`"] = lambda p: isx.Movie.read(str(p))
    for name, opener in openers.items():
        times: dict[Path, list[float]] = {small: [], big: []}
        for _ in range(count):  # interleaved, so that machine noise hits both alike
            for path in (small, big):
                began = time.perf_counter()
                opener(path)
                times[path].append(time.perf_counter() - began)
        for path in (small, big):
            before = bytes_read()
            opener(path)
            after = bytes_read()
            extra = bytes_read()
            read = "" if before is None else \
                f"; reads {after - before - (extra - after):,} bytes of the file"
            rows.append((f"open {name}, {path.stat().st_size / MB:,.0f} MB file",
                         f"{statistics.median(times[path]) * 1e6:,.0f} µs",
                         f"median of {count}{read}", ""))


def bench_memory(folder: Path, big: Path, pool: np.ndarray, frames: int, rows: list) -> None:
    frame_mb = pool[0].nbytes / MB
    for chunk in (16, 256):
        out = folder / f"traced_{chunk}.isxd"
        peak = traced_peak(lambda o=out, c=chunk: write_movie(
            o, Repeating(pool, frames, fresh=True), chunk_frames=c))
        size = out.stat().st_size
        out.unlink()
        rows.append((f"peak heap, streaming write of {size / MIB:,.0f} MiB, chunk_frames={chunk}",
                     f"{peak / MB:,.1f} MB", f"chunk = {chunk * frame_mb:,.1f} MB", "tracemalloc"))

    def mean_frame():
        data = MovieFile(big).data
        total = np.zeros(data.shape[1:], np.float64)
        for lo in range(0, len(data), 64):
            total += data[lo:lo + 64].sum(axis=0, dtype=np.float64)
        return total / len(data)

    began = time.perf_counter()
    peak = traced_peak(mean_frame)
    seconds = time.perf_counter() - began
    rows.append(("peak heap, streaming read (mean frame, 64-frame slices)",
                 f"{peak / MB:,.1f} MB", f"{big.stat().st_size / MB / seconds:,.0f} MB/s",
                 "tracemalloc"))


# ------------------------------------------------------------------------------ main
def machine() -> str:
    import isxio

    isx = isx_module()
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"isxio {isxio.__version__}, isx {getattr(isx, '__version__', 'missing')}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1024)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--cols", type=int, default=400)
    parser.add_argument("--isx-write-mb", type=float, default=50.0,
                        help="size of the movie isx writes (it is slow)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="folder for the temporary files")
    args = parser.parse_args(argv)

    shape = (args.rows, args.cols)
    pool = np.random.default_rng(1).integers(0, 4096, (256, *shape), dtype=np.uint16)
    rows: list[tuple[str, str, str, str]] = []
    began = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="isxio-bench-", dir=args.dir))
    try:
        big = bench_write(folder, pool, args.frames, rows)
        bench_read_all(big, args.frames, shape, rows, args.repeat)
        bench_random(big, args.frames, rows)
        bench_small_write(folder, pool, args.isx_write_mb, rows)
        bench_open(folder, big, pool, rows)
        bench_memory(folder, big, pool, args.frames, rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    print(f"Machine: {machine()}\n")
    print(f"Movie: {args.frames} frames of {args.rows} x {args.cols} uint16 "
          f"({args.frames * args.rows * args.cols * 2 / MIB:,.0f} MiB), page-cached reads.\n")
    print("| measurement | result | detail | comparison |")
    print("|---|---:|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nWhole run: {time.perf_counter() - began:.0f} s; process max RSS "
          f"{maxrss:,.0f} MiB (includes the 100 MiB frame pool and mapped file pages).")


if __name__ == "__main__":
    sys.exit(main())
