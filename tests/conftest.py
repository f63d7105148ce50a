"""Shared fixtures: the real-data folder, the isx oracle, and a check for leaked files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("ISXIO_REALDATA", REPO.parent / "shared" / "realdata"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_report_header(config):
    try:
        import isx  # noqa: F401

        oracle = "isx available"
    except ImportError:
        oracle = "isx NOT available: oracle tests will be skipped"
    return [f"realdata: {REALDATA} ({'present' if REALDATA.is_dir() else 'MISSING'})", oracle]


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        if IN_CI:
            pytest.fail(f"real-data folder missing in CI: {REALDATA}")
        pytest.skip(f"real-data folder not found: {REALDATA}")
    return REALDATA


def _open_fds() -> set[str]:
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return set()
    found = set()
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.endswith((".isxd", ".isxb", ".gpio", ".imu", ".raw", ".part")):
            found.add(target)
    return found


@pytest.fixture(autouse=True)
def no_leaked_file_handles():
    """Fail a test that leaves an Inscopix file open (a live memory map holds one too)."""
    before = _open_fds()
    yield
    leaked = _open_fds() - before
    if leaked:
        import gc

        gc.collect()
        leaked = _open_fds() - before
    assert not leaked, f"test left files open: {sorted(leaked)}"


def _isx_installable() -> bool:
    import platform
    import sys

    return (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")
            and (3, 9) <= sys.version_info[:2] <= (3, 13))


def pytest_configure(config):
    if IN_CI and _isx_installable():
        try:
            import isx  # noqa: F401
        except ImportError as exc:
            raise pytest.UsageError(
                "CI: the isx oracle is installable on this platform but not installed; "
                "cross-check tests would be skipped") from exc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, a skipped oracle or real-data test is a failure, not a pass."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and (item.get_closest_marker("isx")
                                     or item.get_closest_marker("realdata")):
        if not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"CI forbids skipping oracle/real-data tests: {report.longrepr}"
