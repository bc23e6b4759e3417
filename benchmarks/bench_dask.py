"""Time the Dask scheduler against the local pool on the same corpus, in one run.

For w = 1 and 2 workers (``--workers``), each ``--runs`` times in alternating
order, over the same warm files:

* ``LocalPool(jobs=w)``: the default ``scan`` scheduler;
* ``DaskScheduler`` on a ``LocalCluster(n_workers=w, threads_per_worker=1)``
  started beforehand (not timed) with the settings the README asks for
  (``provenance.cluster.WORKER_CONFIG``); the time includes connecting,
  registering the worker plugin (which starts the checking processes) and
  closing, as a scan pays them;
* with ``--nanny-default``, the same cluster with the nanny's default
  ``MALLOC_TRIM_THRESHOLD_=65536``, to show what that setting costs
  (started after the first one is closed: one cluster at a time).

CPU seconds are counted too (this process, which also hosts the
scheduler here, plus the workers and the processes they waited for):
on a machine shared with other work they vary less than wall time.
Both run the scan's own per-file work (``check_task`` then ``scan.Render``,
a JSON record made where the check ran) and drop the records. Reported:
median files/s, Dask efficiency (local time / Dask time, target >= 90%),
the 2-worker/1-worker speedup of each, and the Dask overhead per file
((Dask time - local time) x w / files: worker-seconds per file).

    python benchmarks/make_corpus.py     # once: ~1.4 GB in benchmarks/corpus/
    python benchmarks/bench_dask.py --runs 5 --json benchmarks/results-dask.json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))


def tasks_of(folder: Path, repeat: int = 1) -> list[Any]:
    """A task per file of ``folder``, the list ``repeat`` times over (each a task of its own)."""
    from provenance.batch import Task
    from provenance.paths import walk

    found = [(e.path, e.found) for e in walk([str(folder)]) if e.found is not None]
    return [Task(i, path, found=where) for i, (path, where) in enumerate(found * max(1, repeat))]


def warm(tasks: list[Any]) -> None:
    """Read every file once so that every run starts from the page cache."""
    for task in tasks:
        with open(task.path, "rb") as fh:
            while fh.read(1 << 22):
                pass


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(processes: list[Any]) -> tuple[float, float]:
    """CPU seconds of these processes, and of their children that were waited for."""
    own = children = 0.0
    for process in processes:
        t = process.cpu_times()
        own += t.user + t.system
        children += t.children_user + t.children_system
    return own, children


#: Per run, where the CPU went: ``(this process, the workers, the checking processes)``
#: (for the local pool: this process, nothing, its worker processes).
SPLITS: dict[str, dict[int, list[tuple[float, float, float]]]] = {}


def run_local(options: Any, tasks: list[Any], jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of a LocalPool run (this process and its workers, which it waits for)."""
    from provenance.batch import LocalPool
    from provenance.scan import Render

    mine, children = time.process_time(), _children_cpu()
    started = time.perf_counter()
    count = sum(1 for _ in LocalPool(options, jobs=jobs).run(iter(tasks), Render("jsonl")))
    elapsed = time.perf_counter() - started
    assert count == len(tasks), (count, len(tasks))
    split = (time.process_time() - mine, 0.0, _children_cpu() - children)
    SPLITS.setdefault("local", {}).setdefault(jobs, []).append(split)
    return elapsed, sum(split)


def run_dask(
    options: Any, tasks: list[Any], address: str, workers: list[Any] | None = None, kind: str = "dask", w: int = 0
) -> tuple[float, float]:
    """Wall and CPU seconds of a Dask run: this process (client and, here, the scheduler), the
    workers and their checking processes (waited for when the run's plugin is removed)."""
    from provenance.cluster import DaskScheduler
    from provenance.scan import Render

    mine, (own, children) = time.process_time(), _tree_cpu(workers or [])
    started = time.perf_counter()
    scheduler = DaskScheduler(options, address=address)
    try:
        count = sum(1 for _ in scheduler.run(iter(tasks), Render("jsonl")))
        for note in scheduler.notes:
            print(f"note: {note}", file=sys.stderr)
    finally:
        scheduler.close()
    elapsed = time.perf_counter() - started
    assert count == len(tasks), (count, len(tasks))
    own_after, children_after = _tree_cpu(workers or [])
    split = (time.process_time() - mine, own_after - own, children_after - children)
    if workers:
        SPLITS.setdefault(kind, {}).setdefault(w, []).append(split)
    return elapsed, sum(split)


def worker_processes() -> list[Any]:
    """The Dask worker processes of the clusters this process started (the nannies' children)."""
    import psutil

    return [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]


def start_cluster(workers: int, settings: dict[str, Any]) -> Any:
    import os

    import dask
    from distributed import Client, LocalCluster

    had = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
    # A nanny writes its pre-spawn variables into its own process's environment, which every worker
    # started from this process afterwards would inherit, whatever its own settings: undo that.
    if had is None:
        os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=60)
    return cluster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=HERE / "corpus" / "images")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="comma list of worker counts (default 1,2)")
    parser.add_argument("--nanny-default", action="store_true", help="also time workers with MALLOC_TRIM_THRESHOLD_")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="check the corpus this many times over in each run (a longer scan: a run's fixed costs weigh less)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    from provenance.api import Options, prepare
    from provenance.cluster import WORKER_CONFIG

    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}: run benchmarks/make_corpus.py first", file=sys.stderr)
        return 2
    tasks = tasks_of(args.corpus, args.repeat)
    warm(tasks[: len(tasks) // max(1, args.repeat)])
    options = Options()
    prepare(options, readers=True)
    counts = [int(w) for w in args.workers.split(",")]
    nanny_default = {"distributed.worker.daemon": False}
    kinds = ["local", "dask"] + (["dask-nanny-default"] if args.nanny_default else [])
    times: dict[str, dict[int, list[float]]] = {k: {w: [] for w in counts} for k in kinds}
    cpus: dict[str, dict[int, list[float]]] = {k: {w: [] for w in counts} for k in kinds}
    for w in counts:
        # One cluster alive at a time (two would share the cores), each timed in turn with the local pool.
        for kind, settings in (("dask", WORKER_CONFIG), ("dask-nanny-default", nanny_default)):
            if kind not in kinds:
                continue
            cluster = start_cluster(w, settings)
            try:
                run_dask(options, tasks[:64], cluster.scheduler_address)  # load the workers' libraries first
                for run in range(args.runs):
                    for which in ("local", kind) if run % 2 == 0 else (kind, "local"):
                        if which == "local":
                            elapsed, cpu = run_local(options, tasks, w)
                        else:
                            address = cluster.scheduler_address
                            elapsed, cpu = run_dask(options, tasks, address, worker_processes(), kind, w)
                        times[which][w].append(elapsed)
                        cpus[which][w].append(cpu)
                        rate = len(tasks) / elapsed
                        print(
                            f"w={w} {which:<20} {elapsed:6.2f} s {rate:6.0f} files/s  cpu {cpu:5.2f} s", file=sys.stderr
                        )
            finally:
                cluster.close()

    n = len(tasks)
    median = {k: {w: statistics.median(v) for w, v in per.items()} for k, per in times.items()}
    cpu_median = {k: {w: statistics.median(v) for w, v in per.items()} for k, per in cpus.items()}
    result: dict[str, Any] = {
        "files": n,
        "repeat": args.repeat,
        "runs": args.runs,
        "seconds": times,
        "cpu_seconds": cpus,
        "median_seconds": median,
        "median_cpu_seconds": cpu_median,
    }
    print(f"\n{n} files, median of {args.runs} runs")
    header = f"{'workers':>7} {'local files/s':>14} {'dask files/s':>13} {'efficiency':>11} {'overhead/file':>14}"
    print(header + f" {'CPU ms/file local':>18} {'dask':>6} {'CPU efficiency':>15}")
    for w in counts:
        local, dask = median["local"][w], median["dask"][w]
        efficiency = local / dask
        overhead_ms = (dask - local) * w / n * 1000
        cpu_local, cpu_dask = cpu_median["local"][w] / n * 1000, cpu_median["dask"][w] / n * 1000
        result.setdefault("efficiency", {})[w] = efficiency
        result.setdefault("overhead_ms_per_file", {})[w] = overhead_ms
        result.setdefault("cpu_efficiency", {})[w] = cpu_local / cpu_dask
        print(
            f"{w:>7} {n / local:>14.0f} {n / dask:>13.0f} {efficiency:>10.0%} {overhead_ms:>11.3f} ms"
            f" {cpu_local:>18.3f} {cpu_dask:>6.3f} {cpu_local / cpu_dask:>14.0%}"
        )
        if args.nanny_default:
            slow = median["dask-nanny-default"][w]
            result.setdefault("nanny_default_slowdown", {})[w] = slow / dask
            print(
                f"{'':>7} with the nanny's MALLOC_TRIM_THRESHOLD_: {n / slow:.0f} files/s ({slow / dask - 1:+.0%} time)"
            )
    if 1 in counts and 2 in counts:
        for kind in ("local", "dask"):
            speedup = median[kind][1] / median[kind][2]
            result.setdefault("speedup_2_over_1", {})[kind] = speedup
            print(f"2-worker/1-worker speedup, {kind}: {speedup:.2f}x")
    print("\nCPU seconds a run (medians): this process (the client; here the scheduler too) / workers / checkers")
    for kind, per in SPLITS.items():
        for w, splits in per.items():
            parts = [statistics.median(part) for part in zip(*splits, strict=True)]
            print(f"  w={w} {kind:<20} " + " / ".join(f"{p:.2f}" for p in parts))
            result.setdefault("cpu_split_medians", {}).setdefault(kind, {})[w] = parts
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
