"""Speed and peak memory of converting a large Inscopix movie to NWB, isxio vs isx-backed.

Run ``python benchmarks/bench_nwb.py`` (see ``benchmarks/README.md``).  It writes a
synthetic uint16 movie (default 2 GB: smooth background, ~300 flickering cells and
pixel noise, which gzip compresses ~2x like real data) with isxio in a temporary
folder, then converts it to NWB, each conversion in its own subprocess under
``/usr/bin/time -v`` (peak RSS), with:

* isxio's ``InscopixImagingInterface``: neuroconv's default configuration (gzip level 4)
  and uncompressed (the default backend configuration with every compressor set to
  None, passed as ``run_conversion(backend_configuration=...)``);
* neuroconv's own, isx-backed ``InscopixImagingInterface``, the same two ways (when
  isx is installed);

and measures the disk's sequential write speed with ``dd`` (``conv=fdatasync``) in the
same run.  Throughput is movie pixel bytes / seconds of ``run_conversion``; "+ fsync"
adds flushing the output file to disk.  ``--rss-gb 1 4`` also converts 1 GB and 4 GB
movies with isxio, to show that its peak RSS does not depend on the movie's size.
Prints a markdown table; temporary files are deleted.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _frames import frame_pool

MB = 1e6
ROWS, COLS = 800, 1280  # nVista 3 full frame

# -------------------------------------------------------------------------- the child
CHILD_CODE = """
import json, os, sys, time, warnings
warnings.simplefilter("ignore")
which, compress, movie, out = sys.argv[1:5]
if which == "isxio":
    from isxio.neuroconv import InscopixImagingInterface
else:
    from neuroconv.datainterfaces import InscopixImagingInterface
interface = InscopixImagingInterface(file_path=movie)
metadata = interface.get_metadata()
metadata["Subject"] = {"subject_id": "m1", "species": "Mus musculus", "sex": "M", "age": "P90D"}
options = {}
if compress == "none":
    nwbfile = interface.create_nwbfile(metadata=metadata)
    config = interface.get_default_backend_configuration(nwbfile, backend="hdf5")
    for dataset in config.dataset_configurations.values():
        dataset.compressors = None
    options["backend_configuration"] = config
began = time.perf_counter()
interface.run_conversion(nwbfile_path=out, metadata=metadata, overwrite=True, **options)
converted = time.perf_counter()
fd = os.open(out, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
synced = time.perf_counter()
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
print(json.dumps({"seconds": converted - began, "fsync_seconds": synced - began,
                  "vmhwm_kib": hwm, "out_bytes": os.path.getsize(out)}))
"""


def run_child(which: str, compress: str, movie: Path, out: Path) -> dict:
    """One conversion in a fresh process; its timings and peak RSS."""
    cmd = [sys.executable, "-c", CHILD_CODE, which, compress, str(movie), str(out)]
    timer = Path("/usr/bin/time").exists()
    if timer:
        cmd = ["/usr/bin/time", "-v", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{which}/{compress} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    result["maxrss_kib"] = int(found.group(1)) if found else result["vmhwm_kib"]
    cpu = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
    result["cpu_seconds"] = sum(map(float, cpu)) if cpu else float("nan")
    out.unlink(missing_ok=True)
    return result


# -------------------------------------------------------------------------- the movie


class Cycle:
    """A (frames, rows, cols) source cycling through ``pool`` (no movie-sized array)."""

    def __init__(self, pool: np.ndarray, frames: int) -> None:
        self.pool, self.shape, self.dtype = pool, (frames, *pool.shape[1:]), pool.dtype

    def __getitem__(self, key: slice) -> np.ndarray:
        return self.pool[np.arange(*key.indices(self.shape[0])) % len(self.pool)]


def make_movie(path: Path, pool: np.ndarray, gigabytes: float) -> int:
    from isxio.formats.common import Ratio, TimingInfo
    from isxio.formats.movie import write_movie

    frames = int(gigabytes * 1e9 / pool[0].nbytes)
    write_movie(path, Cycle(pool, frames), chunk_frames=32,
                timing=TimingInfo(frames, Ratio(50, 1000)))
    return frames * pool[0].nbytes


# -------------------------------------------------------------------------- the disk
def dd_speed(folder: Path, size: int, sync: bool) -> float:
    """MB/s of ``dd`` writing ``size`` bytes of zeros (``conv=fdatasync``: to the disk)."""
    target = folder / "dd.bin"
    count = max(1, size // 2**23)
    cmd = ["dd", "if=/dev/zero", f"of={target}", "bs=8M", f"count={count}"]
    if sync:
        cmd.append("conv=fdatasync")
    began = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    seconds = time.perf_counter() - began
    target.unlink()
    return count * 2**23 / MB / seconds


# -------------------------------------------------------------------------- main
def machine() -> str:
    import h5py

    import isxio

    try:
        import isx
        isx_version = getattr(isx, "__version__", "installed")
    except ImportError:
        isx_version = "missing"
    try:
        nc = importlib.metadata.version("neuroconv")
    except importlib.metadata.PackageNotFoundError:
        nc = "missing"
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}), neuroconv {nc}, "
            f"isxio {isxio.__version__}, isx {isx_version}")


def has_isx() -> bool:
    try:
        import isx  # noqa: F401
    except ImportError:
        return False
    return True


def row(label: str, size: int, res: dict) -> tuple[str, ...]:
    return (label, f"{size / MB / res['seconds']:,.0f} MB/s",
            f"{size / MB / res['fsync_seconds']:,.0f} MB/s",
            f"{res['maxrss_kib'] / 2**20:,.2f} GiB", f"{res['out_bytes'] / MB:,.0f} MB",
            f"{res['seconds']:,.1f} s", f"{res['cpu_seconds']:,.1f} s")


def convert_all(folder: Path, movie: Path, size: int, which: list[str], rows: list) -> dict:
    results = {}
    for name in which:
        for compress in ("gzip", "none"):
            res = run_child(name, compress, movie, folder / "out.nwb")
            results[name, compress] = res
            label = {"isxio": "isxio", "isx": "neuroconv isx-backed"}[name]
            what = "gzip 4 (neuroconv default)" if compress == "gzip" else "uncompressed"
            rows.append(row(f"{label}, {what}, {size / 1e9:.1f} GB", size, res))
            print(" ".join(rows[-1]), flush=True, file=sys.stderr)
    return results


def check_disk(folder: Path, needed: float) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise SystemExit(f"needs {needed / 1e9:.1f} GB free in {folder}, has {free / 1e9:.1f} GB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gb", type=float, default=2.0, help="movie size for the comparison")
    parser.add_argument("--rss-gb", type=float, nargs="*", default=[],
                        help="more movie sizes converted by isxio only (peak RSS vs size)")
    parser.add_argument("--no-isx", action="store_true", help="skip the isx-backed interface")
    parser.add_argument("--dir", default=None, help="folder for the temporary files")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="isxio-bench-nwb-", dir=args.dir))
    biggest = max([args.gb, *args.rss_gb]) * 1e9
    rows: list[tuple[str, ...]] = []
    load = [os.getloadavg()[0]]
    began = time.perf_counter()
    try:
        check_disk(folder, 2.3 * biggest)
        pool = frame_pool(48, ROWS, COLS)
        disk = {sync: dd_speed(folder, int(min(args.gb * 1e9, 2e9)), sync)
                for sync in (True, False)}
        which = ["isxio"] + (["isx"] if has_isx() and not args.no_isx else [])
        movie = folder / "movie.isxd"
        size = make_movie(movie, pool, args.gb)
        results = convert_all(folder, movie, size, which, rows)
        for extra in args.rss_gb:
            movie.unlink()
            extra_size = make_movie(movie, pool, extra)
            convert_all(folder, movie, extra_size, ["isxio"], rows)
        load.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(rows, results, disk, size, load, time.perf_counter() - began)


def report(rows, results, disk, size, load, seconds) -> None:
    print(f"Machine: {machine()}\n")
    print(f"Movie: {size / 1e9:.2f} GB, {ROWS} x {COLS} uint16 frames, page-cached; "
          f"load average {load[0]:.1f} at the start, {load[-1]:.1f} at the end.\n")
    print(f"Disk, `dd bs=8M conv=fdatasync`: {disk[True]:,.0f} MB/s; without fdatasync "
          f"(page cache): {disk[False]:,.0f} MB/s.\n")
    print("| conversion | MB/s | MB/s incl. fsync | peak RSS | output | time | CPU time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for line in rows:
        print("| " + " | ".join(line) + " |")
    if ("isx", "gzip") in results:
        ours, theirs = results["isxio", "gzip"], results["isx", "gzip"]
        print(f"\ngzip: isxio is {theirs['seconds'] / ours['seconds']:.2f}x the isx-backed "
              "path.")
    none = results["isxio", "none"]
    print(f"uncompressed incl. fsync: {size / MB / none['fsync_seconds'] / disk[True]:.0%} of "
          f"`dd conv=fdatasync`.\nWhole run: {seconds:.0f} s.")


if __name__ == "__main__":
    sys.exit(main())
