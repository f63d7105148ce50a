"""Speed and peak memory of ``isxio.imwrite`` to every target, next to each library's ceiling.

Run ``python benchmarks/bench_imwrite.py --dir FOLDER`` (see ``benchmarks/README.md``).
It writes (or reuses, cached in ``FOLDER``) a synthetic nVista 3-like uint16 movie of at
least 1 GB (800 x 1280 frames at 20 Hz with frame headers carrying hardware timestamps;
vignetted background, ~300 flickering cells and pixel noise, which compresses ~2x like
real data), then, each write in a fresh child process:

* ``imwrite(movie.isxd, out)`` to every target: Suite2p ``.bin``, ``.zarr`` with the default
  compressor (blosc-zstd 5) and with ``compressor=None``, ``.h5`` (uncompressed and
  gzip 4), ``.tif``
  (ImageJ) and ``.isxd``;
* the ceiling: the same pixels, already in memory as one numpy array (read before the
  clock starts), written with the format's own library with the same layout (chunks,
  shards, codec): ``ndarray.tofile``, zarr array assignment, h5py dataset assignment,
  ``tifffile.imwrite``, isxio's ``MovieWriter`` with the same frame headers;
* references for ``.isxd``: isxio's ``write_movie`` from the array (no frame headers) and,
  when isx is installed, ``isx.Movie.write`` + ``set_frame_data`` on the first
  ``--isx-mb`` MB (isx converts pixels in Python: slow).

MB/s = the movie's pixel bytes (10^6 bytes) / seconds of the write call; "incl. fsync"
adds ``fsync`` of every output file (``.isxd`` writers fsync inside the call).  Peak RSS is
the child's ``ru_maxrss`` (for the ceilings it includes the in-memory movie).  imwrite and
its ceiling run in turn (A B A B ...) ``--repeat`` times; the table gives the median and
the min-max, and the ratio is the median of the pairwise ratios.  The input movie is read
once before the first run, so every run reads it from the page cache.  Prints a markdown
table; outputs are deleted after each run.  ``--quick`` writes a tiny movie (seconds; the
test-suite runs it).  ``--zarr-python`` also runs the zarr targets with another
interpreter (e.g. a venv with zarr 3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _frames
import numpy as np

MB = 1e6
MIB = 2**20
HEADER_ITEMS = 2560  # uint16 values in an nVista 3 frame header and in a footer
TSC_PIXEL = 1272

#: target -> (output suffix, imwrite options, what it is, ceiling)
TARGETS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "bin": (".bin", {}, "Suite2p `.bin` (int16)", "`ndarray.tofile`"),
    "zarr": (".zarr", {}, "OME-Zarr, blosc-zstd 5 (default)",
             "zarr array `z[:] = a`, same chunks/shards/codec"),
    "zarr-raw": (".zarr", {"compressor": None}, "OME-Zarr, `compressor=None`",
                 "zarr array `z[:] = a`, same chunks/shards"),
    "h5": (".h5", {}, "HDF5 `mov`, uncompressed", "h5py `ds[...] = a`, same chunks"),
    "h5-gzip": (".h5", {"compression": "gzip"}, "HDF5 `mov`, gzip 4 (chunks deflated in "
                "parallel)", "h5py `ds[...] = a`, same chunks, gzip 4"),
    "tif": (".tif", {}, "ImageJ TIFF", "`tifffile.imwrite(imagej=True)`"),
    "isxd": (".isxd", {}, "`.isxd` (frame headers kept)",
             "isxio `MovieWriter`, same headers"),
}
REFERENCES = {"write_movie": "isxio `write_movie(out, array)` (no frame headers)",
              "isx": "isx `Movie.write` + `set_frame_data` loop"}


# ============================================================================ the movie
def frame_pool(n: int, rows: int, cols: int, seed: int = 1) -> np.ndarray:
    """``n`` frames of a 12-bit sensor (fewer, smaller cells in a tiny ``--quick`` movie)."""
    k = max(1, min(15, rows // 4, cols // 4))
    return _frames.frame_pool(n, rows, cols, seed, max_value=4095,
                              cells=300 if rows * cols >= 10**5 else 10, sigma=k / 4 + 0.5)


def nvista_extra(rows: int, cols: int) -> dict[str, Any]:
    """A small nVista 3 ``extraProperties`` (acquisition software >= 1.1.1: TSCs are used)."""
    return {"producer": {"name": "AcquisitionSW", "version": "1.9.0"},
            "microscope": {"type": "nVista3", "serial": "synthetic", "gain": 2, "exp": 50,
                           "fps": {"fps": 20}, "fov": {"height": rows, "width": cols,
                                                       "originx": 0, "originy": 0}},
            "name": "bench_imwrite synthetic movie"}


def make_movie(path: Path, rows: int, cols: int, frames: int) -> None:
    """Write the movie with isxio's ``MovieWriter``: headers with TSCs every 50 ms (±jitter)."""
    from isxio.formats.common import Ratio, SpacingInfo, Time, TimingInfo
    from isxio.formats.movie import MovieWriter, encode_tsc

    pool = frame_pool(min(48, frames), rows, cols)
    tsc = 560_273_515_867 + np.cumsum(np.full(frames, 50_000)
                                      + np.random.default_rng(2).integers(-3, 4, frames))
    timing = TimingInfo(frames, Ratio(50, 1000), Time(Ratio(1_700_000_000, 1)))
    header = np.zeros(HEADER_ITEMS, "<u2")
    footer = np.zeros(HEADER_ITEMS, "<u2")
    with MovieWriter(path, timing, SpacingInfo(rows, cols), np.uint16, overwrite=True,
                     extra_properties=nvista_extra(rows, cols),
                     frame_header_footer=True) as writer:
        for i in range(frames):  # a synthetic source: one frame at a time is fine here
            header[TSC_PIXEL:TSC_PIXEL + 8] = encode_tsc(int(tsc[i]))
            writer.set_frame_data(i, pool[i % len(pool)], header=header, footer=footer)


def cached_movie(folder: Path, rows: int, cols: int, frames: int) -> tuple[Path, bool]:
    """The movie in ``folder`` (written unless a complete one is there); ``(path, reused)``."""
    from isxio.formats.movie import MovieFile

    path = folder / f"bench_imwrite_{frames}x{rows}x{cols}.isxd"
    if path.exists():
        try:
            if MovieFile(path).shape == (frames, rows, cols):
                return path, True
        except (OSError, ValueError):
            pass
    make_movie(path, rows, cols, frames)
    return path, False


def read_through(path: Path) -> float:
    """Read the file once (it is then in the page cache); MB/s."""
    began = time.perf_counter()
    with open(path, "rb", buffering=0) as fh:
        while fh.read(64 * MIB):
            pass
    return path.stat().st_size / MB / (time.perf_counter() - began)


# ============================================================================ the child
def load_movie(path: str, frames: int | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """Pixels ``(T, Y, X)`` and headers+footers ``(T, 2, 2560)`` read into memory."""
    from isxio.formats.movie import MovieFile

    movie = MovieFile(path)
    head = movie.header
    n, (rows, cols) = frames or movie.num_frames, head.spacing.shape
    record = np.dtype([("h", "<u2", HEADER_ITEMS), ("p", "<u2", (rows, cols)),
                       ("f", "<u2", HEADER_ITEMS)])
    pixels = np.empty((n, rows, cols), np.uint16)
    edges = np.empty((n, 2, HEADER_ITEMS), np.uint16)
    with open(path, "rb") as fh:  # plain reads: no mapped pages counted in RSS
        for lo in range(0, n, 16):
            recs = np.fromfile(fh, record, min(16, n - lo))
            pixels[lo:lo + len(recs)] = recs["p"]
            edges[lo:lo + len(recs), 0], edges[lo:lo + len(recs), 1] = recs["h"], recs["f"]
    return pixels, edges, head


def zarr_layout(frame_bytes: int, n: int) -> tuple[int, int]:
    """Frames per chunk and per shard, as imwrite chooses them (1 MiB, ``chunk_mb=100``)."""
    chunk = max(1, min(MIB // frame_bytes, n))
    shard = max(chunk, int(100 * MIB // frame_bytes) // chunk * chunk)
    return chunk, min(shard, max(n, 1)) // chunk * chunk or chunk


def ceiling_zarr(arr: np.ndarray, out: str, compress: bool) -> None:
    import zarr

    n, rows, cols = arr.shape
    chunk, shard = zarr_layout(arr[0].nbytes, n)
    if int(zarr.__version__.split(".")[0]) >= 3:
        from zarr.codecs import BloscCodec

        codecs = [BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")] if compress else None
        z = zarr.create_array(out, shape=arr.shape, chunks=(chunk, rows, cols),
                              shards=(shard, rows, cols), dtype=arr.dtype,
                              compressors=codecs, fill_value=0, zarr_format=3)
    else:
        import numcodecs

        codec = numcodecs.Blosc("zstd", 5, numcodecs.Blosc.SHUFFLE) if compress else None
        z = zarr.open_array(out, mode="w", shape=arr.shape, chunks=(chunk, rows, cols),
                            dtype=arr.dtype, compressor=codec, fill_value=0,
                            dimension_separator="/")
    z[:] = arr


def ceiling_h5(arr: np.ndarray, out: str, gzip: bool = False) -> None:
    import h5py

    chunk = max(1, MIB // arr[0].nbytes)
    with h5py.File(out, "w") as f:
        ds = f.create_dataset("mov", shape=arr.shape, dtype=arr.dtype,
                              chunks=(min(chunk, len(arr)), *arr.shape[1:]),
                              compression="gzip" if gzip else None)
        ds[...] = arr


def ceiling_isxd(arr: np.ndarray, edges: np.ndarray, head: Any, out: str) -> None:
    from isxio.formats.movie import MovieWriter

    with MovieWriter(out, head.timing, head.spacing, np.uint16, overwrite=True,
                     extra_properties=head.extra_properties,
                     frame_header_footer=True) as writer:
        for i in range(len(arr)):
            writer.set_frame_data(i, arr[i], header=edges[i, 0], footer=edges[i, 1])


def write_isx(arr: np.ndarray, out: str) -> None:
    import isx

    movie = isx.Movie.write(out, isx.Timing(num_samples=len(arr)),
                            isx.Spacing(num_pixels=arr.shape[1:]), np.uint16)
    for i in range(len(arr)):
        movie.set_frame_data(i, arr[i])
    movie.flush()


def ceiling(target: str, arr: np.ndarray, edges: np.ndarray, head: Any, out: str) -> None:
    """The same pixels written from memory with the format's library directly."""
    if target == "bin":  # 12-bit values: the bytes of uint16 and of imwrite's int16 agree
        arr.tofile(out)
    elif target in ("zarr", "zarr-raw"):
        ceiling_zarr(arr, out, compress=target == "zarr")
    elif target in ("h5", "h5-gzip"):
        ceiling_h5(arr, out, gzip=target == "h5-gzip")
    elif target == "tif":
        import tifffile

        tifffile.imwrite(out, arr, imagej=True, photometric="minisblack",
                         metadata={"axes": "TYX"})
    elif target == "isxd":
        ceiling_isxd(arr, edges, head, out)
    elif target == "write_movie":
        from isxio.formats.movie import write_movie

        write_movie(out, arr, overwrite=True)
    elif target == "isx":
        write_isx(arr, out)
    else:
        raise ValueError(f"unknown target {target!r}")


def codec_name(codec: Any) -> str:
    """``Blosc(zstd, 5, shuffle)``: a short name of a zarr 2 or zarr 3 codec."""
    keys = ("cname", "clevel", "level", "shuffle")
    values = [getattr(codec, k) for k in keys if hasattr(codec, k)]
    text = ", ".join(str(getattr(v, "value", v)) for v in values)
    return f"{type(codec).__name__.removesuffix('Codec')}({text})"


def fsync_tree(path: str) -> int:
    """fsync every file under ``path`` (or ``path``); total bytes."""
    files = [path] if os.path.isfile(path) else \
        [os.path.join(d, f) for d, _, names in os.walk(path) for f in names]
    total = 0
    for name in files:
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        total += os.path.getsize(name)
    return total


def layout(target: str, out: str) -> str:
    """Chunks/codec of the array written (to check imwrite and its ceiling agree)."""
    if target.startswith("zarr"):
        import zarr

        z = zarr.open(out, mode="r")
        z = z if hasattr(z, "shape") else z["0"]  # imwrite: an image group, array "0"
        codecs = z.compressors if hasattr(z, "compressors") else [z.compressor]
        return (f"chunks {z.chunks}, shards {getattr(z, 'shards', None)}, "
                f"codec {', '.join(codec_name(c) for c in codecs if c is not None) or None}")
    if target.startswith("h5"):
        import h5py

        with h5py.File(out, "r") as f:
            ds = f["mov"]
            return f"chunks {ds.chunks}, compression {ds.compression}"
    return ""


def versions() -> dict[str, str]:
    import importlib.metadata as md

    found = {}
    for name in ("numpy", "zarr", "numcodecs", "h5py", "tifffile", "isxio"):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = "missing"
    return found


def vm_kib(key: str) -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key))


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One write in this (fresh) process; its timings, sizes and peak RSS."""
    import warnings

    warnings.simplefilter("ignore")
    from isxio.imwrite import imwrite

    target, kind, out = spec["target"], spec["kind"], spec["out"]
    pixels = None
    base = vm_kib("VmRSS")
    if kind == "imwrite":
        began = time.perf_counter()
        imwrite(spec["movie"], out, progress=False, **spec["options"])
        done = time.perf_counter()
        if target == "bin":
            out = os.path.join(out[:-4], "plane0", "data.bin")
    else:
        arr, edges, head = load_movie(spec["movie"], spec.get("frames"))
        pixels = arr.nbytes
        began = time.perf_counter()
        ceiling(target, arr, edges, head, out)
        done = time.perf_counter()
    size = fsync_tree(out)
    synced = time.perf_counter()
    return {"seconds": done - began, "fsync_seconds": synced - began, "out_bytes": size,
            "pixel_bytes": pixels,
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "base_rss_kib": base, "layout": layout(target, out), "versions": versions()}


# ============================================================================ the parent
def run_child(python: str, spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Run one write in a fresh process; remove its output."""
    out = folder / f"out{TARGETS.get(spec['target'], ('.isxd',))[0]}"
    spec = {**spec, "out": str(out)}
    done = subprocess.run([python, __file__, "--child", json.dumps(spec)],
                          capture_output=True, text=True)
    for path in (out, out.with_suffix("")):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    if done.returncode:
        raise RuntimeError(f"{spec['target']}/{spec['kind']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def plan(targets: list[str], zarr_pythons: list[str]) -> list[tuple[str, str]]:
    """``(target, interpreter)`` pairs: every target with this Python, zarr ones again."""
    jobs = [(t, sys.executable) for t in targets]
    jobs += [(t, py) for py in zarr_pythons for t in targets if t.startswith("zarr")]
    return jobs


def measure(movie: Path, folder: Path, jobs: list[tuple[str, str]], repeat: int,
            isx_frames: int) -> dict[tuple[str, str, str], list[dict]]:
    """Every job ``repeat`` times, imwrite and ceiling in turn; references once per round."""
    results: dict[tuple[str, str, str], list[dict]] = {}
    for rnd in range(repeat):
        for target, python in jobs:
            for kind in ("imwrite", "ceiling"):
                spec = {"target": target, "kind": kind, "movie": str(movie),
                        "options": TARGETS[target][1]}
                res = run_child(python, spec, folder)
                results.setdefault((target, python, kind), []).append(res)
                print(f"round {rnd + 1}/{repeat} {target} {kind} [{python}]: "
                      f"{res['seconds']:.2f} s", file=sys.stderr, flush=True)
        refs = ["write_movie"] + (["isx"] if isx_frames and rnd == 0 and has_isx() else [])
        for ref in refs:
            spec = {"target": ref, "kind": "ceiling", "movie": str(movie),
                    "frames": isx_frames if ref == "isx" else None}
            results.setdefault((ref, sys.executable, "ceiling"), []).append(
                run_child(sys.executable, spec, folder))
    return results


def has_isx() -> bool:
    try:
        import isx  # noqa: F401
    except ImportError:
        return False
    return True


# ============================================================================ the report
def number(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def rate(nbytes: int, runs: list[dict], key: str = "seconds") -> str:
    speeds = [nbytes / MB / r[key] for r in runs]
    text = number(statistics.median(speeds))
    if len(speeds) > 1:
        text += f" ({number(min(speeds))}–{number(max(speeds))})"
    return text


def rss(runs: list[dict]) -> str:
    return f"{max(r['maxrss_kib'] for r in runs) / 1024:,.0f} MiB"


def label(target: str, python: str, runs: list[dict]) -> str:
    name = target
    if target.startswith("zarr"):
        name += f" (zarr {runs[0]['versions']['zarr']})"
    return name if python == sys.executable or target.startswith("zarr") else \
        f"{name} [{python}]"


def table(results: dict, jobs: list[tuple[str, str]], nbytes: int) -> list[str]:
    lines = ["| target | imwrite MB/s | incl. fsync | peak RSS | ceiling (in-memory array) "
             "| ceiling MB/s | incl. fsync | ceiling peak RSS | imwrite / ceiling |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    for target, python in jobs:
        ours, top = results[target, python, "imwrite"], results[target, python, "ceiling"]
        ratios = [c["seconds"] / o["seconds"] for o, c in zip(ours, top, strict=True)]
        lines.append(f"| {label(target, python, ours)}: {TARGETS[target][2]} "
                     f"| {rate(nbytes, ours)} | {rate(nbytes, ours, 'fsync_seconds')} "
                     f"| {rss(ours)} | {TARGETS[target][3]} | {rate(nbytes, top)} "
                     f"| {rate(nbytes, top, 'fsync_seconds')} | {rss(top)} "
                     f"| {statistics.median(ratios):.2f} |")
    return lines


def references(results: dict, nbytes: int) -> list[str]:
    lines = ["| reference (from the in-memory array) | MB/s | incl. fsync | peak RSS |",
             "|---|---:|---:|---:|"]
    for ref, what in REFERENCES.items():
        runs = results.get((ref, sys.executable, "ceiling"))
        if not runs:
            continue
        size = runs[0]["pixel_bytes"]
        note = "" if size == nbytes else f", first {number(size / MB)} MB, {len(runs)} run(s)"
        lines.append(f"| {what}{note} | {rate(size, runs)} | "
                     f"{rate(size, runs, 'fsync_seconds')} | {rss(runs)} |")
    return lines


def machine() -> str:
    v = versions()
    return (f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
            + ", ".join(f"{k} {val}" for k, val in v.items()))


def report(results: dict, jobs: list, movie: Path, shape: tuple, info: dict) -> None:
    n, rows, cols = shape
    nbytes = n * rows * cols * 2
    print(f"Machine: {machine()}\n")
    print(f"Movie: {n} frames of {rows} x {cols} uint16 with nVista 3 frame headers "
          f"({nbytes / MB:,.0f} MB of pixels, file {info['file_mb']:,.0f} MB, "
          f"{'reused from' if info['reused'] else 'written to'} {movie.parent}); read once "
          f"before the runs ({info['cache_mbs']:,.0f} MB/s), so every run reads it from the "
          f"page cache. {info['repeat']} run(s) of each, imwrite and ceiling in turn; "
          f"load average {info['load'][0]:.1f} at the start, {info['load'][1]:.1f} at the "
          "end.\n")
    print("MB/s: median (min–max) of the movie's pixel bytes / seconds of the write; "
          "ratio: median of the pairwise time ratios.\n")
    print("\n".join(table(results, jobs, nbytes)))
    print()
    print("\n".join(references(results, nbytes)))
    base = [r["base_rss_kib"] for runs in results.values() for r in runs]
    spread = sorted({number(min(base) / 1024), number(max(base) / 1024)})
    print(f"\nPeak RSS is the whole child process (Python + isxio: {'–'.join(spread)} MiB "
          f"before the write); the ceilings hold the {number(nbytes / MIB)} MiB movie.")
    for target, python in jobs:
        ours, top = results[target, python, "imwrite"][0], results[target, python, "ceiling"][0]
        a, b = ours["layout"], top["layout"]
        same = "" if not (a or b) else f"{a} (same in both); " if a == b else \
            f"{a} (DIFFERENT, ceiling: {b}); "
        print(f"* {label(target, python, [ours])}: {same}output {ours['out_bytes'] / MB:,.1f} "
              f"MB (ceiling {top['out_bytes'] / MB:,.1f} MB)")
    print(f"\nWhole run: {info['seconds']:.0f} s.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="movie pixel bytes (10^9)")
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--cols", type=int, default=1280)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--targets", nargs="*", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--isx-mb", type=float, default=100.0,
                        help="isx reference on the first MB of the movie (0: skip)")
    parser.add_argument("--zarr-python", nargs="*", default=[],
                        help="more interpreters for the zarr targets (e.g. a zarr 3 venv)")
    parser.add_argument("--dir", default=None, help="folder caching the movie (default: temp)")
    parser.add_argument("--json", default=None, help="also save the raw results here")
    parser.add_argument("--quick", action="store_true", help="a tiny movie, 1 run (a test)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.quick:
        args.rows, args.cols, args.gb, args.repeat = 64, 80, 40 * 64 * 80 * 2 / 1e9, 1
        args.isx_mb = min(args.isx_mb, 0.05)
    frame = args.rows * args.cols * 2
    frames = max(2, int(np.ceil(args.gb * 1e9 / frame)))
    began, load = time.perf_counter(), [os.getloadavg()[0]]
    cache = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="isxio-bench-"))
    cache.mkdir(parents=True, exist_ok=True)
    movie, reused = cached_movie(cache, args.rows, args.cols, frames)
    file_mb = movie.stat().st_size / MB
    work = Path(tempfile.mkdtemp(prefix="isxio-bench-imwrite-", dir=cache))
    try:
        mbs = read_through(movie)
        jobs = plan(args.targets, args.zarr_python)
        isx_frames = max(1, int(args.isx_mb * MB // frame)) if args.isx_mb > 0 else 0
        results = measure(movie, work, jobs, args.repeat, min(isx_frames, frames))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.dir:
            shutil.rmtree(cache, ignore_errors=True)
    load.append(os.getloadavg()[0])
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{"target": t, "python": p, "kind": k, "runs": r}
             for (t, p, k), r in results.items()], indent=1))
    info = {"reused": reused, "file_mb": file_mb, "cache_mbs": mbs, "repeat": args.repeat,
            "load": load, "seconds": time.perf_counter() - began}
    report(results, jobs, movie, (frames, args.rows, args.cols), info)


if __name__ == "__main__":
    sys.exit(main())
