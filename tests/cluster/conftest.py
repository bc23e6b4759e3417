"""A real Dask cluster on loopback for the tests in this folder, started once for them all.

Its worker processes are children of the test process: stopped after this folder, so that the
later tests that look for processes left behind (serve's previews, say) see none of them.

Two worker processes with one thread each, started by nannies (``spawn``),
with the worker settings provenance needs (``provenance.cluster.WORKER_CONFIG``).
The scheduler gives up on a task after its worker died once
(``allowed-failures`` 0, the default is 3), so that isolating a file that
kills its worker takes a few worker restarts, not a dozen.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="package")
def cluster() -> Iterator[Any]:
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    from provenance.cluster import WORKER_CONFIG

    settings = {
        **WORKER_CONFIG,
        "distributed.scheduler.allowed-failures": 0,
        "distributed.logging.distributed": "error",
    }
    # Kept for the whole session: the nannies read it again when they restart a worker that died.
    with dask.config.set(settings):
        local = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
        try:
            yield local
        finally:
            close_cluster(local)


@pytest.fixture()
def client(cluster: Any) -> Iterator[Any]:
    import distributed

    with distributed.Client(cluster.scheduler_address, set_as_default=False) as connected:
        connected.wait_for_workers(2, timeout=30)
        yield connected


@contextlib.contextmanager
def another_cluster(settings: dict[str, Any], n_workers: int = 1) -> Iterator[Any]:
    """A cluster of its own with ``settings``, closed after; this process's environment left as it was.

    The settings stay set while the cluster is in use: a nanny reads them
    again when it restarts a worker that died. A nanny writes its pre-spawn
    variables (``MALLOC_TRIM_THRESHOLD_``) into its own process's
    environment: left there, every worker started from this process later
    (the session cluster's restarted ones) would inherit them.
    """
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    had = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    try:
        with dask.config.set(settings):
            local = distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
            )
            try:
                yield local
            finally:
                close_cluster(local)
    finally:
        if had is None:
            os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)


def close_cluster(local: Any, limit: float = 20.0) -> None:
    """Close a test cluster without letting the test run hang on it.

    After a test has killed workers (which their nannies start again),
    ``LocalCluster.close`` sometimes never returns, every process idle and
    a nanny's handler of its worker's exit still pending (about one run in
    five of the two tests that kill Dask workers; distributed 2026.8). So the
    close is bounded by ``limit`` seconds: past it, this cluster's worker
    processes and their children are killed and the close is tried once more,
    for a few seconds.
    """
    import psutil

    pids = []  # this cluster's worker processes (each nanny's), not another cluster's
    for nanny in list(getattr(local, "workers", {}).values()):
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if pid:
            pids.append(pid)
    try:
        local.close(timeout=limit)
        return
    except Exception:
        pass
    for pid in pids:
        try:
            worker = psutil.Process(pid)
            for process in [*worker.children(recursive=True), worker]:
                process.kill()
        except psutil.Error:
            continue
    with contextlib.suppress(Exception):
        local.close(timeout=5)


def checker_processes() -> list[Any]:
    """The processes checking files: children of the Dask workers, themselves children of this process."""
    import psutil

    me = psutil.Process(os.getpid())
    found = []
    for worker in me.children():
        try:
            # Dask workers are spawned; other children of this process (a browser kept by another
            # test module, a store server) have children of their own that are not ours.
            if "multiprocessing.spawn" not in " ".join(worker.cmdline()):
                continue
            found.extend(worker.children())
        except psutil.NoSuchProcess:
            continue
    return found
