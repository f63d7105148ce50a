"""Running many sessions: one Dask task each, on a local ``distributed`` cluster by default.

A session that fails does not stop the others: each task returns a :class:`Result`
(a worker that dies is reported as that session's failure).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

from .session import Result, run_session
from .spec import SessionPlan

__all__ = ["format_summary", "run_plans"]


def run_plans(plans: Sequence[SessionPlan], *, overwrite: bool = False,
              scheduler: str | None = None, workers: int | None = None,
              parallel: bool | None = None,
              on_result: Callable[[Result], None] | None = None,
              progress: bool = False) -> list[Result]:
    """Convert every plan; return the results in the plans' order.

    Parameters
    ----------
    plans
        The sessions.
    overwrite
        Redo sessions whose output is already complete.
    scheduler
        Address of a running Dask scheduler (``tcp://host:port``); default: a local
        cluster of ``workers`` processes (default: one per core, at most one per session).
    parallel
        ``False``: one after the other in this process.  Default: in parallel when there
        is more than one session or a ``scheduler`` is given.
    on_result
        Called with each result as it arrives (progress).
    progress
        Progress bars while each session's movies are written (sessions run one after the
        other in this process only: Dask workers stay quiet).
    """
    if parallel is None:
        parallel = scheduler is not None or len(plans) > 1
    if not parallel:
        results = []
        for plan in plans:
            results.append(run_session(plan, overwrite, progress))
            if on_result:
                on_result(results[-1])
        return results
    return _run_on_dask(plans, overwrite, scheduler, workers, on_result)


def _client(scheduler: str | None, workers: int | None, count: int):
    from .._optional import require

    distributed = require("distributed", "parallel", "running sessions on Dask")
    if scheduler is not None:
        return distributed.Client(scheduler), None
    n = workers or max(1, min(count, os.cpu_count() or 1))
    cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.CRITICAL,
                                       host="127.0.0.1")
    return distributed.Client(cluster), cluster


def _run_on_dask(plans: Sequence[SessionPlan], overwrite: bool, scheduler: str | None,
                 workers: int | None, on_result: Callable[[Result], None] | None
                 ) -> list[Result]:
    from distributed import as_completed

    client, cluster = _client(scheduler, workers, len(plans))
    try:
        futures = [client.submit(run_session, plan, overwrite, pure=False,
                                 key=f"isxio-session-{plan.label}-{k}")
                   for k, plan in enumerate(plans)]
        index = {future.key: k for k, future in enumerate(futures)}
        results: list[Result | None] = [None] * len(plans)
        for future in as_completed(futures):
            plan = plans[index[future.key]]
            try:
                result = future.result()
            except Exception as exc:  # the task itself never raises: its worker died
                result = Result(plan.label, plan.nwbfile_path, "failed",
                                error=f"{plan.where()}: worker lost: {type(exc).__name__}: "
                                      f"{exc}")
            results[index[future.key]] = result
            if on_result:
                on_result(result)
        return [r for r in results if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def format_summary(results: Sequence[Result]) -> str:
    """A table: session, output, status, time, error (one line each)."""
    rows = [("session", "output", "status", "time", "error")]
    rows += [(r.session, r.output, r.status, f"{r.seconds:.1f} s", r.error) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=False))
             + ("  " + row[4] if row[4] else "") for row in rows]
    counts = {s: sum(r.status == s for r in results) for s in ("converted", "skipped", "failed")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(line.rstrip() for line in lines)
