"""Checks on a Dask cluster: :class:`DaskScheduler`, what ``scan --scheduler dask://HOST:PORT`` uses.

It implements :class:`provenance.batch.Scheduler` with the Dask futures API
(the ``dask`` extra: ``pip install 'provenance[dask]'``):

* a :class:`~distributed.WorkerPlugin` (registered with
  ``client.register_plugin`` for the run, removed after) carries the
  :class:`~provenance.api.Options` and ``finish`` to each worker once; it
  loads the rules and readers there and keeps one checking process per
  worker thread from batch to batch (:class:`_Runner`). That child, forked
  from the Dask worker, checks the files one by one with their time limit:
  a file that hangs or crashes the native C2PA library kills only the child
  (reported ``timeout`` / ``crash``, as on one machine) while the batch goes
  on. Dask itself has no task time limit; this is it. The limit is watched
  without a message per file (the child says which file it is on in
  shared memory and sends results in groups), so the watching costs the
  worker almost nothing. Each child makes its own C2PA context (a native
  context cannot cross processes).
* tasks are batches of files, sized by count and by bytes, ramping up from
  a few files so that a small scan still spreads over the workers; a
  bounded window of batches per worker thread is in flight, taken lazily
  from the task iterator (a listing of millions of keys is never held),
  and results are yielded as batches complete (completion order).
* a batch whose Dask worker died (``KilledWorker``: the scheduler retried it
  ``distributed.scheduler.allowed-failures`` times) is split in halves and
  resubmitted, down to one file. The scheduler charges a worker's death to
  every task it had sent there, those waiting behind the one running too, so
  a single file that "died" is tried once more with nothing else of the scan
  in flight: only a file whose worker dies then is reported ``error`` with
  kind ``crash``. Every other file comes back exactly once (results are
  deduplicated by task index against the files in flight).

Workers must not be daemonic processes (``distributed.worker.daemon:
False``): a daemonic process may not start the checking child. Workers
started by a nanny get ``MALLOC_TRIM_THRESHOLD_=65536``, with which the checks
took about half again as much CPU (benchmarks/README.md): set
``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_`` to ``None``. See :data:`WORKER_CONFIG` and the README.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any, overload

from distributed import Client, WorkerPlugin, as_completed, get_worker
from distributed.scheduler import KilledWorker

from provenance.api import Options, prepare
from provenance.batch import (
    Fetched,
    Handover,
    R,
    Raised,
    Remote,
    Task,
    _identity,
    check_task,
    failed,
    prefetch,
    task_size,
    task_time_limit,
)
from provenance.paths import Found
from provenance.report import Report

#: The Dask settings workers need, as ``dask.config`` keys: give them to the
#: processes that start the workers (the ``DASK_...`` environment variables
#: in the README say the same).
WORKER_CONFIG: dict[str, Any] = {
    # A daemonic worker may not start the per-file checking process.
    "distributed.worker.daemon": False,
    # The nanny's default of 65536 turns off glibc's adaptive mmap threshold: the checks took ~55% more CPU.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # Optional: the statistical profiler samples each worker's threads 100 times a second; off, the
    # workers' own CPU time fell by about a third on the benchmark corpus (benchmarks/README.md).
    "distributed.worker.profile.enabled": False,
}

DAEMONIC = (
    "the Dask workers run as daemonic processes, which may not start the process that checks each file "
    "with its time limit: start them with distributed.worker.daemon set to False "
    "(daemon: false under distributed: worker: in a Dask config file, as in provenance's README, "
    "or DASK_DISTRIBUTED__WORKER__DAEMON=False in the environment of dask worker)"
)


#: Names of the scan's worker plugins start with this (then a random part, ``@`` and the client's id).
PLUGIN_PREFIX = "provenance-scan-"


class ClusterError(OSError):
    """The cluster cannot run the scan (unreachable, unusable workers, lost)."""


class _WorkerSetupError(RuntimeError):
    """Raised on a worker whose set-up failed (see :data:`DAEMONIC`)."""


def _worker_settings() -> dict[str, Any]:
    """What a worker runs with (run on each worker by :meth:`DaskScheduler.connect`)."""
    return {
        "daemon": bool(multiprocessing.current_process().daemon),
        "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
    }


#: A :class:`Task` as it travels to a worker, and on to its checking process: its fields in order
#: (pickling a slotted dataclass looks its fields up again for every instance).
Shipped = tuple[int, str, "bytes | None", "Found | None", "Remote | None", "Fetched | None"]


def _ship(batch: list[Task]) -> list[Shipped]:
    """``batch`` as it travels; an object already fetched goes with its bytes (or the reason it was not
    fetched). One held in a temporary file cannot cross to another process: its file is closed and the
    checking process fetches it again (:meth:`_Checker.check` does not prefetch those)."""
    shipped: list[Shipped] = []
    for t in batch:
        fetched = t.fetched
        if fetched is not None and fetched.file is not None:
            fetched.file.close()
            fetched = None
        shipped.append((t.index, t.path, t.data, t.found, t.remote, fetched))
    return shipped


def _unship(shipped: list[Shipped]) -> list[Task]:
    return [Task(*fields) for fields in shipped]


def _child(conn: Connection, theirs: Connection, state: Any, options: Options, finish: Callable[[Report], Any]) -> None:
    """The checking process: batch after batch, results sent back a group at a time.

    Before each file it writes where it is into ``state`` (shared memory):
    ``[position in the batch, monotonic_ns when it started]``, so that the
    parent can time each file without a message per file. It leaves when its
    parent does, even one killed outright: it closes the parent's end of the
    pipe it inherited, and as other processes forked from the worker may
    hold that end too, it also watches its parent's process id while idle.
    """
    import gc
    import signal

    theirs.close()
    parent = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    gc.freeze()  # what it inherits from the Dask worker stays alive and unwalked
    try:
        while True:
            try:
                while not conn.poll(1.0):
                    if os.getppid() != parent:  # the Dask worker died: nobody will ask again
                        return
                shipped: list[Shipped] | None = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return
            if shipped is None:
                return
            tasks = _unship(shipped)
            group: list[tuple[int, Any]] = []
            sent = time.monotonic()
            last = len(tasks) - 1
            for position, task in enumerate(tasks):
                state[1] = time.monotonic_ns()  # written before the position: the parent reads them the other way
                state[0] = position
                try:
                    report = check_task(task, options)
                except Exception as exc:  # api.check should not raise; be sure
                    report = failed(task.path, "internal-error", f"{type(exc).__name__}: {exc}")
                try:
                    result = finish(report)
                except Exception as exc:
                    result = finish(failed(task.path, "internal-error", f"{type(exc).__name__}: {exc}"))
                group.append((task.index, result))
                if position == last or len(group) >= _Runner.GROUP or time.monotonic() - sent >= _Runner.EVERY:
                    try:
                        conn.send_bytes(pickle.dumps(group, pickle.HIGHEST_PROTOCOL))
                    except OSError:
                        return
                    group, sent = [], time.monotonic()
    finally:
        os._exit(0)  # a forked child: no flush of inherited streams, no exit handlers of the Dask worker


class _Runner:
    """One checking process in a Dask worker, kept from batch to batch, with the per-file time limit.

    The process (forked from the worker, so it shares the loaded rules and
    libraries) checks a whole batch and sends results back in groups
    (``GROUP`` files or ``EVERY`` seconds); the worker thread sleeps until
    the current file's time limit runs out, reading which file that is from
    shared memory, so it costs nothing per file. A file over its limit gets
    the process killed (reported ``timeout``), a process that dies gets its
    file reported ``crash``, in the same words as :class:`~provenance.batch.LocalPool`;
    results not yet sent of the files before it are lost with the process
    and those files are checked again, like the files after it, by a new one.
    """

    GROUP = 32
    EVERY = 0.1
    RECYCLE = 2000  # files per process, to keep memory flat over very long scans

    def __init__(self, options: Options, finish: Callable[[Report], Any]) -> None:
        self.options = options
        self.finish = finish
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._ctx: Any = multiprocessing.get_context(method)
        self._state: Any = self._ctx.RawArray("q", 2)
        self._process: Any = None
        self._conn: Connection | None = None
        self._done = 0

    def start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._state[0] = -1
        process = self._ctx.Process(
            target=_child,
            args=(child, parent, self._state, self.options, self.finish),
            daemon=True,
            name="provenance-check",
        )
        process.start()
        child.close()
        self._process, self._conn, self._done = process, parent, 0

    def stop(self, kill: bool = False) -> None:
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if process is None or conn is None:
            return
        try:
            if kill:
                process.kill()
            else:
                conn.send_bytes(pickle.dumps(None))
        except OSError:
            pass
        process.join(timeout=None if kill else 2)
        if process.is_alive():
            process.kill()
            process.join()
        conn.close()

    def check(self, tasks: list[Task], stopping: threading.Event) -> list[tuple[int, Any]]:
        """``(index, result)`` for every task, whatever happens to the checking process."""
        results: list[tuple[int, Any]] = []
        todo = tasks
        stalled = 0  # rounds in a row in which a new process checked nothing at all
        while todo and not stopping.is_set():
            before = len(results)
            todo = self._round(todo, results, stopping)
            stalled = stalled + 1 if len(results) == before else 0
            if stalled >= 3:  # it dies before its first file: report rather than loop
                message = "the checker process could not be started"
                results.extend((t.index, self.finish(failed(t.path, "crash", message))) for t in todo)
                break
        return results

    def _round(self, todo: list[Task], results: list[tuple[int, Any]], stopping: threading.Event) -> list[Task]:
        """Send ``todo`` to the process and collect; what is left to check if it had to be stopped."""
        if self._process is not None and self._done >= self.RECYCLE:
            self.stop()
        if self._process is None:
            self.start()
        conn = self._conn
        assert conn is not None
        limits = self.options.limits
        known: dict[int, float] = {}

        def allowed(position: int) -> float:
            """The time limit of the file at ``position``: a stat only for files seen running at a wake-up."""
            if position not in known:
                task = todo[position]
                known[position] = task_time_limit(task, limits.timeout, task_size(task), limits)
            return known[position]

        self._state[0] = -1
        try:
            conn.send_bytes(pickle.dumps(_ship(todo), pickle.HIGHEST_PROTOCOL))
        except OSError:  # it died idle: a new one gets the batch
            self.stop(kill=True)
            return todo
        sent = time.monotonic()
        answered: set[int] = set()
        while len(answered) < len(todo):
            position = int(self._state[0])  # read before the start time (see _child)
            started = self._state[1] / 1e9 if position >= 0 else sent
            current = max(position, 0)
            wait = started + allowed(current) - time.monotonic()
            if position < 0:
                wait = min(wait, 0.05)  # not started yet: look again soon
            # At most half a second asleep: the end of the run (``stopping``) is seen that soon.
            if conn.poll(min(max(0.0, wait), 0.5)):
                try:
                    group = pickle.loads(conn.recv_bytes())
                except (EOFError, OSError):
                    process = self._process
                    self.stop(kill=True)
                    code = process.exitcode if process is not None else None
                    failing = int(self._state[0])
                    message = f"the checker process died on this file (exit code {code})"
                    return self._lost(todo, answered, failing, "crash", message, results)
                for index, result in group:
                    answered.add(index)
                    results.append((index, result))
                self._done += len(group)
                if stopping.is_set():
                    self.stop(kill=True)
                    return []
                continue
            if stopping.is_set():
                self.stop(kill=True)
                return []
            if position >= 0 and int(self._state[0]) == position and time.monotonic() >= started + allowed(position):
                self.stop(kill=True)
                message = f"checking took longer than the {allowed(position):g} s limit"
                return self._lost(todo, answered, position, "timeout", message, results)
        return []

    def _lost(
        self,
        todo: list[Task],
        answered: set[int],
        position: int,
        kind: str,
        message: str,
        results: list[tuple[int, Any]],
    ) -> list[Task]:
        """Report the file at ``position`` (``kind``); the others not answered go to a new process."""
        rest = [t for t in todo if t.index not in answered]
        if 0 <= position < len(todo) and todo[position].index not in answered:
            culprit = todo[position]
            results.append((culprit.index, self.finish(failed(culprit.path, kind, message))))
            rest = [t for t in rest if t.index != culprit.index]
        return rest


class _Checker(WorkerPlugin):
    """The per-worker half of a run: options, rules, and the killable checking processes."""

    def __init__(self, options: Options, finish: Callable[[Report], Any]) -> None:
        self.options = options
        self.finish = finish
        self._idle: list[_Runner] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.ready = False

    def __getstate__(self) -> dict[str, Any]:
        return {"options": self.options, "finish": self.finish}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["options"], state["finish"])  # type: ignore[misc]

    def setup(self, worker: Any) -> None:
        if multiprocessing.current_process().daemon:
            raise _WorkerSetupError(DAEMONIC)
        # Rules and the native libraries loaded once here, shared by the children forked after.
        prepare(self.options, readers=True)
        runner = _Runner(self.options, self.finish)
        runner.start()  # the first child, ready before the first batch
        self._idle.append(runner)
        self.ready = True

    def teardown(self, worker: Any) -> None:
        self._stopping.set()  # a batch still running stops at once (its busy child killed)
        with self._lock:
            idle, self._idle = self._idle, []
        for runner in idle:
            runner.stop()

    def check(self, tasks: list[Task]) -> list[tuple[int, Any]]:
        """Fetch and check one batch, each file in the child with its time limit."""
        with self._lock:
            runner = self._idle.pop() if self._idle else None
        if runner is None:  # one more thread of this worker running a batch
            runner = _Runner(self.options, self.finish)
        try:
            try:
                # Objects of a batch fetched together here, outside the files' time limits; a large one
                # (a long video, alone in its batch) is fetched by the checking process into a temporary
                # file, within its time limit, which allows for the transfer (batch.task_time_limit).
                large = self.options.limits.large_file_bytes
                small = [t for t in tasks if t.remote is None or t.remote.size < large]
                fetched = {t.index: t for t in prefetch(small, self.options)} if small else {}
                ready = [fetched.get(t.index, t) for t in tasks]
            except Exception as exc:  # prefetch should not raise; be sure
                message = f"{type(exc).__name__}: {exc}"
                return [(t.index, self.finish(failed(t.path, "internal-error", message))) for t in tasks]
            return runner.check(ready, self._stopping)
        finally:
            with self._lock:
                if self._stopping.is_set():
                    runner.stop(kill=True)
                else:
                    self._idle.append(runner)


def _check_batch(name: str, shipped: list[Shipped]) -> bytes:
    """The Dask task: one batch, checked by this worker's plugin ``name``; its ``(index, result)`` pairs pickled.

    One pickled blob goes back as a single frame: Dask would otherwise walk
    the list of results object by object to serialise it (a tenth of the
    worker's time on the benchmark corpus).
    """
    plugin = get_worker().plugins.get(name)
    if not isinstance(plugin, _Checker) or not plugin.ready:
        raise _WorkerSetupError(f"the provenance plugin is not set up on this worker: {DAEMONIC}")
    tasks = _unship(shipped)
    return pickle.dumps(plugin.check(tasks), pickle.HIGHEST_PROTOCOL)


class _Intake:
    """Tasks pulled from the caller's iterable in a thread, a bounded number ahead (a :class:`Handover`).

    The iterable may block (a list from a pipe, a paginated listing); the
    scheduler never does. Once the iterable is exhausted, :attr:`remaining`
    says how many tasks are left, so that the last batches can be cut to
    share them out.
    """

    def __init__(self, tasks: Iterable[Task], chunks: int, large: int = 64 << 20) -> None:
        # Tasks cross with their weights, found by the thread (a stat per local file the walk did not size,
        # off the scheduling loop): what a batch holds in memory on the worker (an object fetched there, a
        # buffer), or a local file of ``large`` bytes or more (a long video, to go alone); other local
        # files are read one at a time by the checking process and weigh nothing.
        self._large = large
        self._stopped = threading.Event()
        self._handover: Handover[tuple[Task, int]] = Handover(chunks, self._stopped)
        self._ready: deque[tuple[Task, int]] = deque()
        self._pushed = 0  # by the thread
        self._taken = 0
        self._ended = False  # the thread's last item was received
        self._error: BaseException | None = None  # what the iterable raised, once received
        self._thread = threading.Thread(
            target=self._handover.fill,
            args=(self._weighed(tasks),),
            name="provenance-intake",
            daemon=True,
        )
        self._thread.start()

    def _weighed(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, int]]:
        """(In the thread.) Each task with its weight, counted."""
        for task in tasks:
            size = task_size(task)
            held = task.remote is not None or task.data is not None or size >= self._large
            self._pushed += 1
            yield task, size if held else 0

    def _receive(self, timeout: float | None) -> None:
        item = self._handover.get(timeout or 0.0)
        if item is None:
            return
        if item is Handover.END:
            self._ended = True
        elif isinstance(item, Raised):
            self._ended = True
            self._error = item.exc  # raised by the next take() that has nothing else to give
        else:
            self._ready.extend(item)

    @property
    def finished(self) -> bool:
        """Every task was taken (and the iterable's exception, if any, raised)."""
        return self._ended and not self._ready and self._error is None

    @property
    def remaining(self) -> int | None:
        """Tasks not yet taken, once the iterable is exhausted (``None`` before)."""
        return self._pushed - self._taken if self._ended else None

    def take(self, limit: int, max_bytes: int, wait: float = 0.0) -> list[Task]:
        """Tasks ready now (waiting up to ``wait`` s for a first one), up to ``limit`` files and
        ``max_bytes`` (a larger file goes in a batch of its own: a long video does not hold up others)."""
        if not self._ready and not self._ended:
            self._receive(wait)
        if not self._ready and self._error is not None:
            error, self._error = self._error, None
            raise error
        batch: list[Task] = []
        total = 0
        while len(batch) < limit and total < max_bytes:
            if not self._ready:
                if self._ended:
                    break
                self._receive(None)
                if not self._ready:
                    break
            task, size = self._ready.popleft()
            if batch and total + size > max_bytes:
                self._ready.appendleft((task, size))  # the first of the next batch
                break
            batch.append(task)
            total += size
        self._taken += len(batch)
        return batch

    def stop(self) -> None:
        self._stopped.set()


def _pause(seconds: float) -> list[Any]:
    time.sleep(seconds)
    return []


class DaskScheduler:
    """Run checks on an existing Dask cluster (see the module docstring).

    ``address``: the scheduler's (``tcp://HOST:PORT``), or ``scheduler_file``:
    the JSON file ``dask scheduler --scheduler-file`` writes; or ``client``,
    an open :class:`~distributed.Client` (not closed by :meth:`close`).
    Batches hold ``min_files`` files at first, doubling up to ``max_files``,
    and are cut at ``max_bytes`` of what the worker holds in memory for them
    (objects fetched there, buffers; a local file only if it is large, so
    that it goes alone); ``per_thread`` batches are in flight per
    worker thread.
    """

    def __init__(
        self,
        options: Options,
        address: str | None = None,
        scheduler_file: str | None = None,
        client: Any = None,
        min_files: int = 16,
        max_files: int = 256,
        max_bytes: int = 64 << 20,
        per_thread: int = 2,
        connect_timeout: float = 10.0,
    ) -> None:
        self.options = options
        self.address = address
        self.scheduler_file = scheduler_file
        self.client: Any = client  # a distributed.Client (its methods are untyped)
        self._owns = client is None
        self.min_files = max(1, min_files)
        self.max_files = max(self.min_files, max_files)
        self.max_bytes = max_bytes
        self.per_thread = max(1, per_thread)
        self.connect_timeout = connect_timeout
        self.notes: list[str] = []

    @property
    def where(self) -> str:
        return self.address or f"the scheduler file {self.scheduler_file}"

    def connect(self) -> Any:
        """Connect (once) and check the workers' settings; raises :class:`ClusterError`."""
        if self.client is not None:
            return self.client
        try:
            client: Any = Client(  # type: ignore[no-untyped-call]
                address=self.address,
                scheduler_file=self.scheduler_file,
                timeout=self.connect_timeout,
                set_as_default=False,
            )
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {self.where}: {exc}") from None
        self.client = client
        try:
            settings = client.run(_worker_settings)
        except Exception as exc:
            self.close()
            raise ClusterError(f"cannot query the Dask workers at {self.where}: {exc}") from None
        if any(s["daemon"] for s in settings.values()):
            self.close()
            raise ClusterError(DAEMONIC)
        trimmed = sorted({str(s["malloc_trim"]) for s in settings.values() if s["malloc_trim"] is not None})
        if trimmed:
            self.notes.append(
                f"the Dask workers run with MALLOC_TRIM_THRESHOLD_={','.join(trimmed)} (a nanny default), "
                "with which checks take up to half again as much CPU; start them with "
                "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_ set to None (see the README)"
            )
        if not settings:
            self.notes.append(f"the Dask cluster at {self.where} has no workers yet; waiting for some")
        return client

    def close(self) -> None:
        """Close our connection (never the cluster itself)."""
        client, self.client = self.client, None
        if client is not None and self._owns:
            try:
                client.close(timeout=5)
            except Exception:  # already gone
                pass

    def _slots(self, client: Any) -> int:
        """Batches to keep in flight: ``per_thread`` for each worker thread (at least one batch)."""
        try:
            threads = sum(client.nthreads().values())
        except Exception:
            threads = 0
        return self.per_thread * max(1, int(threads))

    @overload
    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[int, Report]]: ...

    @overload
    def run(self, tasks: Iterable[Task], finish: Callable[[Report], R]) -> Iterator[tuple[int, R]]: ...

    def run(self, tasks: Iterable[Task], finish: Callable[[Report], Any] = _identity) -> Iterator[tuple[int, Any]]:
        client = self.connect()
        self._remove_stale(client)
        # The plugin's name says whose it is: a scan killed outright cannot remove its own, the next one does.
        name = f"{PLUGIN_PREFIX}{uuid.uuid4().hex}@{client.id}"
        try:
            try:
                client.register_plugin(_Checker(self.options, finish), name=name)
            except _WorkerSetupError as exc:
                raise ClusterError(str(exc)) from None
            yield from self._run(client, name, tasks, finish)
        finally:
            try:
                client.unregister_worker_plugin(name)
            except Exception:  # never registered, a worker gone, or the cluster: nothing left to stop
                pass

    @staticmethod
    def _remove_stale(client: Any) -> None:
        """Remove the plugins of earlier scans whose client is gone (killed before it could)."""

        def stale(dask_scheduler: Any) -> list[str]:  # run on the scheduler, which may not have provenance
            return [
                name
                for name in dask_scheduler.worker_plugins
                if name.startswith("provenance-scan-") and name.rpartition("@")[2] not in dask_scheduler.clients
            ]

        try:
            names = client.run_on_scheduler(stale)
        except Exception:  # an old scheduler: leave them
            return
        for name in names:
            try:
                client.unregister_worker_plugin(name)
            except Exception:
                pass

    def _run(
        self, client: Any, name: str, tasks: Iterable[Task], finish: Callable[[Report], Any]
    ) -> Iterator[tuple[int, Any]]:
        slots = self._slots(client)
        # Enough ahead to fill the window with the largest batches, no more: the input may be endless.
        chunks = math.ceil(slots * self.max_files / Handover.CHUNK) + 1
        intake = _Intake(tasks, chunks, self.options.limits.large_file_bytes)
        done: Any = as_completed(with_results=False, loop=client.loop)  # type: ignore[no-untyped-call]
        flying: dict[Any, list[Task]] = {}  # future key -> its batch
        futures: dict[Any, Any] = {}  # future key -> the future
        outstanding: set[int] = set()  # task indices in flight, not yet yielded
        retry: deque[list[Task]] = deque()  # halves of batches whose worker died
        # Single files whose worker died while other batches were in flight (perhaps queued behind
        # the one that killed it): each is tried again alone before it is called a crash.
        suspects: deque[Task] = deque()
        alone: Any = None  # the key of the suspect in flight with nothing else of this scan
        size = self.min_files
        counted = time.monotonic()
        number = 0

        def submit(batch: list[Task]) -> Any:
            nonlocal number
            number += 1
            future: Any = client.submit(_check_batch, name, _ship(batch), key=f"{name}-{number}", pure=False)
            flying[future.key] = batch
            futures[future.key] = future
            outstanding.update(t.index for t in batch)
            done.add(future)
            return future.key

        def limit() -> int:
            """Files in the next batch: ramping up to ``max_files``; at the end, the rest shared out."""
            left = intake.remaining
            if left is None:
                return size
            return max(self.min_files, min(size, math.ceil(left / slots)))

        try:
            while True:
                if time.monotonic() - counted > 2.0:  # workers come and go
                    slots, counted = self._slots(client), time.monotonic()
                if suspects or alone is not None:
                    # Nothing else goes out until the suspect has been tried alone.
                    if not flying:
                        alone = submit([suspects.popleft()])
                else:
                    while retry and len(flying) < slots:
                        submit(retry.popleft())
                    while len(flying) < slots:
                        # Nothing in flight: wait a little for the next input rather than spin.
                        batch = intake.take(limit(), self.max_bytes, wait=0.0 if flying else 0.1)
                        if not batch:
                            break
                        submit(batch)
                        size = min(size * 2, self.max_files)
                if not flying:
                    if intake.finished and not retry and not suspects:
                        return
                    continue
                if done.has_ready() or intake.finished or len(flying) >= slots or suspects or alone is not None:
                    finished = done.next_batch(block=True)
                else:  # room for more, inputs still coming: look again soon
                    finished = done.next_batch(block=False) or _pause(0.02)
                for future in finished:
                    batch = flying.pop(future.key)
                    del futures[future.key]
                    tried_alone = future.key == alone
                    if tried_alone:
                        alone = None
                    try:
                        results = pickle.loads(future.result())
                    except KilledWorker:
                        if len(batch) > 1:  # a file in it kills its worker: find it by halves
                            half = len(batch) // 2
                            retry.extend((batch[:half], batch[half:]))
                            continue
                        task = batch[0]
                        if not tried_alone:
                            suspects.append(task)
                            continue
                        outstanding.discard(task.index)
                        message = "the Dask worker checking this file died each time it was tried (KilledWorker)"
                        yield task.index, finish(failed(task.path, "crash", message))
                        continue
                    except _WorkerSetupError as exc:
                        raise ClusterError(str(exc)) from None
                    except Exception as exc:
                        if future.status != "error":  # cancelled, or its result unreachable: not the batch's doing
                            raise ClusterError(f"lost the Dask scheduler at {self.where}: {exc}") from None
                        # The batch task itself raised on the worker: its files were not checked.
                        message = f"the Dask task checking this file failed: {type(exc).__name__}: {exc}"
                        results = [(t.index, finish(failed(t.path, "internal-error", message))) for t in batch]
                    for index, result in results:
                        if index in outstanding:  # each file once, whatever Dask re-ran
                            outstanding.discard(index)
                            yield index, result
                    for task in batch:  # a file the batch did not answer (it should not happen)
                        if task.index in outstanding:
                            outstanding.discard(task.index)
                            yield task.index, finish(failed(task.path, "internal-error", "no result came back"))
        finally:
            intake.stop()
            if futures:
                try:
                    client.cancel(list(futures.values()), force=True)
                except Exception:
                    pass
