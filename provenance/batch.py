"""Scheduling checks over many files: the one place that knows about processes.

:class:`Scheduler` is the whole interface the CLI uses::

    run(tasks)          -> (task index, Report) pairs, as each check finishes
    run(tasks, finish)  -> (task index, finish(report)) pairs

``tasks`` is any iterable of :class:`Task` (it may be a lazy walk over
millions of paths: a scheduler pulls from it only as workers free up), and
``finish`` is an optional picklable function applied to each report *where
the check ran*, so that a batch can ship back a small rendered line rather
than the whole report (pickling a :class:`Report` costs far more than
turning it into JSON). Results come in completion order; :func:`ordered`
restores input order when wanted.

Implementations:

* :class:`LocalPool` runs checks in worker processes on this machine, a few
  files in flight per worker, so that a file that hangs or crashes the
  native C2PA library is killed at its time limit and reported as an error
  while the batch goes on.
* :class:`InProcess` runs them one by one here (tests, one file).

Another scheduler, a Dask cluster say, only needs to implement ``run``:
scatter the :class:`~provenance.api.Options` once (a frozen, picklable
value), map ``lambda task: finish(check_task(task, options))`` over batches
of tasks taken from the iterator, and yield ``(task.index, result)`` from
``as_completed``; per-file time limits become task timeouts, and lost
tasks become :func:`failed` reports (passed through ``finish`` too). It
needs no change to the readers, the rules or the report.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import queue
import select
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import IO, Any, Generic, Protocol, TypeVar, overload

from provenance.api import Options, check, check_bytes, check_found, prepare
from provenance.limits import Limits
from provenance.paths import Found
from provenance.report import Report, ReportError

R = TypeVar("R")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Remote:
    """An object in a store (``s3://``, ``gs://``, ``az://`` ...), as its listing saw it."""

    url: str
    size: int
    etag: str | None = None  # ETag (S3, Azure) or generation (GCS), as the store gave it
    version: str | None = None  # object version id, where the store keeps versions
    mtime: float | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """An object fetched by :func:`prefetch`: its bytes, a temporary file holding it, or why it was not fetched.

    ``file``: an unlinked temporary file (a large object), closed once checked.
    ``error``: ``(kind, message)`` of a fetch that failed (``not-found``,
    ``permission-denied``, ``changed-during-scan``, ``limit-exceeded`` ...).
    ``etag``, ``version``, ``mtime``: as the store answered the fetch, where it did.
    """

    data: bytes | None = None
    file: IO[bytes] | None = None
    error: tuple[str, str] | None = None
    etag: str | None = None
    version: str | None = None
    mtime: float | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """One input: a path to open, bytes already read (stdin), or an object in a store.

    ``found``: what the walk saw of the path (see :class:`provenance.paths.Found`);
    with it the check opens exactly that file, or reports it changed.
    ``remote``: the object a listing saw (``path`` is then its URL); it is
    fetched where the check runs, by :func:`prefetch`, into ``fetched``
    (never sent between processes: it may hold an open temporary file).
    """

    index: int
    path: str
    data: bytes | None = None
    found: Found | None = None
    remote: Remote | None = None
    fetched: Fetched | None = None


class Scheduler(Protocol):
    """Something that checks tasks somewhere and yields results as they finish."""

    @overload
    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[int, Report]]: ...

    @overload
    def run(self, tasks: Iterable[Task], finish: Callable[[Report], R]) -> Iterator[tuple[int, R]]: ...


def check_task(task: Task, options: Options) -> Report:
    """Check one task: what every scheduler runs for each file.

    A remote task not fetched yet (a scheduler that did not call
    :func:`prefetch`) is fetched here, alone.
    """
    if task.remote is not None:
        from provenance.api import check_object

        remote = task.remote
        fetched = task.fetched if task.fetched is not None else prefetch([task], options)[0].fetched
        return check_object(remote, fetched or Fetched(error=("internal-error", "the object was not fetched")), options)
    if task.data is not None:
        return check_bytes(task.data, task.path, options)
    if task.found is not None:
        return check_found(task.path, task.found, options)
    return check(task.path, options)


def prefetch(tasks: list[Task], options: Options) -> list[Task]:
    """``tasks`` made ready to check where they run, in the same order.

    Local paths and buffers are ready as they are; objects in a store are
    fetched here, all of a batch at once (see :func:`provenance.storage.fetch_all`):
    each comes back with ``fetched`` set, a failed fetch included, which
    :func:`check_task` turns into an ``error`` report. Never raises.
    """
    if not any(t.remote is not None and t.fetched is None for t in tasks):
        return tasks
    from provenance.storage import fetch_all

    return fetch_all(tasks, options)


def _dumps(message: Any) -> bytes:
    # Plain pickle: Connection.send builds a ForkingPickler (with its reducer
    # table) for every message, several times the cost of these small ones.
    return pickle.dumps(message, pickle.HIGHEST_PROTOCOL)


def _plain(found: Found | None) -> tuple[Any, ...] | None:
    """``found`` as the plain tuple a worker message carries: a named tuple pickles through
    ``__reduce_ex__`` and a Python ``__getnewargs__`` call per file (1.2-1.8 against 0.4-0.6 µs)."""
    return None if found is None else tuple(found)


def _found(fields: tuple[Any, ...] | None) -> Found | None:
    """The :class:`~provenance.paths.Found` that :func:`_plain` flattened."""
    return None if fields is None else Found._make(fields)


_SIZE, _LONG_SIZE = struct.Struct("!i"), struct.Struct("!Q")

#: How long the parent lets results gather while every worker has files queued. Woken for each
#: file, it took ~4,000 context switches and ~0.1 s of CPU from the workers on 2,000 files; waking
#: every 2 ms, ~900 and ~0.075 s (``benchmarks/README.md``). A file's time limit is unaffected.
_GATHER = 0.002


def _drain(slot: _Slot) -> tuple[list[bytes], bool]:
    """The whole messages waiting in ``slot``'s pipe, and whether the pipe has ended (its worker is gone).

    Framed as ``Connection.send_bytes`` frames them, read with one ``os.read``
    of whatever is there: the Connection methods cost the parent two reads
    and several µs of Python a file. Bytes of a message not yet whole wait in
    the slot's inbox.
    """
    if sys.platform == "win32":  # pragma: no cover - a handle there, not a descriptor
        try:
            return [bytes(slot.conn.recv_bytes())], False
        except (EOFError, OSError):
            return [], True
    inbox = slot.inbox
    try:
        chunk = os.read(slot.conn.fileno(), 1 << 16)
    except OSError:
        chunk = b""
    inbox += chunk
    messages: list[bytes] = []
    start = 0
    end = len(inbox)
    while end - start >= 4:
        (size,) = _SIZE.unpack_from(inbox, start)
        head = 4
        if size == -1:
            if end - start < 12:
                break
            (size,) = _LONG_SIZE.unpack_from(inbox, start + 4)
            head = 12
        if end - start - head < size:
            break
        messages.append(bytes(inbox[start + head : start + head + size]))
        start += head + size
    del inbox[:start]
    return messages, not chunk


def _identity(report: Report) -> Report:
    return report


#: glibc ``mallopt`` parameters (malloc.h) and the values a worker sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20  # glibc's largest: buffers below it come from the heap
_TRIM_THRESHOLD = 64 << 20


def _keep_heap() -> None:
    """Let this worker's heap keep what it freed, up to 64 MiB, rather than hand it back after every file.

    Each file's bytes are read into one buffer of the file's size. With
    glibc's adaptive defaults the heap was trimmed and grown again every few
    files (84 ``brk`` calls and ~11 page faults a file on the benchmark
    corpus), and every page regrown is faulted in and zeroed again by the
    kernel: 22,000 faults over 2,000 files, none with these settings. A
    worker's memory now stays near its high-water mark between files rather
    than shrinking after each (as glibc's adapted thresholds also do once
    they have seen a large buffer): the process tree's peak RSS on that
    corpus was ~7 MB higher (133 -> 140 MB). A buffer over 32 MiB is still
    mapped on its own and unmapped when done. Anything but glibc on Linux
    keeps its allocator as it is.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    except (OSError, ValueError, AttributeError, ImportError):  # no glibc: nothing to tune
        return


def _worker(conn: Connection, options: Options, finish: Callable[[Report], Any]) -> None:
    # Workers ignore Ctrl-C: the parent decides when to stop them.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _keep_heap()
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())  # a list of (index, path, data, found, remote), or None to stop
        except (EOFError, OSError):
            return
        if message is None:
            return
        tasks = [Task(index, path, data, _found(found), remote) for index, path, data, found, remote in message]
        stop = False
        if tasks and tasks[-1].remote is not None:
            # Objects in a store: the messages already waiting are fetched with this one (one round trip for all).
            while conn.poll(0):
                try:
                    more = pickle.loads(conn.recv_bytes())
                except (EOFError, OSError):
                    stop = True
                    break
                if more is None:
                    stop = True
                    break
                tasks.extend(Task(index, path, data, _found(f), remote) for index, path, data, f, remote in more)
        # All of the batch's objects fetched at once, not one by one.
        try:
            tasks = prefetch(tasks, options)
        except Exception:  # prefetch should not raise; if it does, check_task fetches each alone
            pass
        for task in tasks:
            index, path = task.index, task.path
            try:
                report = check_task(task, options)
            except Exception as exc:  # api.check should not raise; be sure
                report = failed(path, "internal-error", f"{type(exc).__name__}: {exc}")
            try:
                result = finish(report)
            except Exception as exc:
                result = finish(failed(path, "internal-error", f"{type(exc).__name__}: {exc}"))
            try:
                conn.send_bytes(_dumps((index, result)))  # one message a file: the parent times each file
            except (BrokenPipeError, OSError):
                return
        if stop:
            return


def _forked_worker(
    conn: Connection, options: Options, finish: Callable[[Report], Any], parent_end: Connection | None = None
) -> None:
    # A forked child may inherit locks held by the parent's other threads (a
    # progress display writing to stderr, say); it writes nothing to the
    # standard streams, so it leaves without the usual flush that could wait
    # on such a lock forever. What it inherits stays alive as long as it
    # does: frozen, the collector never walks it (nor copies its pages).
    # It also inherits the parent's end of its own pipe: kept open here, a
    # parent killed outright (SIGKILL) would never reach this worker as the
    # end of its pipe, and it would wait for tasks forever. (Ends of pipes
    # made before it belong to older workers; each closes its own, the
    # youngest exits first and the rest follow.)
    import gc

    if parent_end is not None:
        parent_end.close()
    gc.freeze()
    try:
        _worker(conn, options, finish)
    finally:
        os._exit(0)


def failed(path: str, kind: str, message: str) -> Report:
    """An ``error`` report for a file the scheduler could not get checked."""
    from provenance import __version__
    from provenance.unicode import valid_text

    message = valid_text(message)  # an exception's text may quote what it choked on
    return Report(
        path=path,
        verdict="error",
        confidence="low",
        summary=f"Could not be analysed: {message}.",
        error=ReportError(kind, message),
        tool_version=__version__,
    )


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class InProcess:
    """Run checks one by one in this process (no time limit): for tests and one file."""

    def __init__(self, options: Options) -> None:
        self.options = options

    @overload
    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[int, Report]]: ...

    @overload
    def run(self, tasks: Iterable[Task], finish: Callable[[Report], R]) -> Iterator[tuple[int, R]]: ...

    def run(self, tasks: Iterable[Task], finish: Callable[[Report], Any] = _identity) -> Iterator[tuple[int, Any]]:
        for task in tasks:
            yield task.index, finish(check_task(task, self.options))


def time_limit(timeout: float, size: int, limits: Limits) -> float:
    """Seconds allowed for a file of ``size`` bytes: ``timeout``, plus ``limits.timeout_per_gib``
    seconds per GiB (rounded up to whole seconds) for a file of at least ``limits.large_file_bytes``.

    Hashing a 2 GB video and letting the C2PA library hash it again takes
    seconds that do not depend on anything an attacker can make slow.
    """
    if size < limits.large_file_bytes:
        return timeout
    return timeout + math.ceil(limits.timeout_per_gib * size / 1024**3)


def task_size(task: Task) -> int:
    """Bytes of ``task``: as listed (an object), the buffer's, as the walk saw it, or from ``stat`` (0 if none)."""
    if task.remote is not None:
        return task.remote.size  # as listed: no stat of a URL
    if task.data is not None:
        return len(task.data)
    found = task.found
    if found is not None and found.size >= 0:
        return found.size  # what the walk saw: no second stat per file in the parent
    where = task.path if found is None else os.path.join(found.root or "", found.name)
    try:
        return os.stat(where).st_size
    except (OSError, ValueError):
        return 0


def task_time_limit(task: Task, timeout: float, size: int, limits: Limits) -> float:
    """Seconds ``task`` (of ``size`` bytes) may take where it is checked: :func:`time_limit`, and for an
    object in a store that may be fetched in the same time, the per-GiB allowance again for the transfer."""
    limit = time_limit(timeout, size, limits)
    if task.remote is not None:
        limit += time_limit(0.0, size, limits)
    return limit


@dataclass(slots=True)
class _Slot:
    process: Any
    conn: Connection
    queue: deque[Task] = field(default_factory=deque)  # sent, not yet answered; head is running
    started: float = 0.0  # when the head task started (as far as the parent knows)
    done: int = 0
    inbox: bytearray = field(default_factory=bytearray)  # bytes read from the pipe, not yet a whole message


def put_until_stopped(into: queue.Queue[Any], item: Any, stopped: threading.Event) -> bool:
    """Put ``item`` into the bounded queue ``into``, waiting for room, unless ``stopped`` is set first
    (an input thread whose consumer has gone must not wait forever); whether it was put."""
    while not stopped.is_set():
        try:
            into.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class Handover(Generic[_T]):
    """Items from one producer thread to one consumer, in chunks, a bounded number ahead.

    The producer adds items one at a time; they cross in chunks of up to
    :attr:`CHUNK` (one queue round trip a chunk, not an item), and at once
    while the consumer is waiting for them. An item never waits in the
    producer's hands while the producer blocks on its own input (a list
    trickling in through a pipe, a paginated listing): a consumer that has
    run dry takes the producer's part-chunk itself. Items keep their order.
    """

    CHUNK = 64
    #: What :meth:`get` returns once every item has been handed over.
    END = object()

    def __init__(self, chunks: int, stopped: threading.Event) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(2, chunks))
        self._stopped = stopped
        self._lock = threading.Lock()
        self._partial: list[_T] = []
        self._hungry = True  # the consumer found nothing: hand over what comes at once

    def add(self, item: _T) -> bool:
        """(Producer.) Add ``item``, waiting for room; False if the consumer has stopped."""
        with self._lock:
            self._partial.append(item)
            if len(self._partial) < self.CHUNK and not self._hungry:
                return True
            chunk, self._partial = self._partial, []
            self._hungry = False
        # Put outside the lock: while a cut chunk is on its way, nothing newer is added.
        return put_until_stopped(self._queue, chunk, self._stopped)

    def fill(self, items: Iterable[_T]) -> None:
        """(Producer thread.) Add every item of ``items``, which may block between items, then :attr:`END`;
        what ``items`` raises goes over instead, as a :class:`Raised`, for the consumer to raise."""
        try:
            for item in items:  # may block: what was added meanwhile is the consumer's to take
                if not self.add(item):
                    return
        except BaseException as exc:
            self.close(Raised(exc))
            return
        self.close(self.END)

    def close(self, last: object) -> None:
        """(Producer.) Hand over what is left, then ``last`` (:attr:`END`, or what the input raised)."""
        with self._lock:
            chunk, self._partial = self._partial, []
        if not chunk or put_until_stopped(self._queue, chunk, self._stopped):
            put_until_stopped(self._queue, last, self._stopped)

    def get(self, timeout: float = 0.0) -> Any:
        """(Consumer.) A list of items, :attr:`END`, or a :class:`Raised`; None if nothing came within ``timeout``."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._partial and self._queue.empty():
                chunk, self._partial = self._partial, []
                return chunk
            self._hungry = True
        if timeout <= 0:
            return None
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class _Feed:
    """Pulls tasks from the caller's iterable in a thread, a bounded number ahead (a :class:`Handover`).

    The iterable may block (a list read from a pipe, a slow walk); the pool
    never does: it polls, so results keep flowing while inputs trickle in.
    Workers forked while this thread runs inherit any lock it holds, so the
    iterable must not read ``sys.stdin`` itself (a forked child closes it,
    taking its lock): read a duplicate of the descriptor instead.
    """

    def __init__(self, tasks: Iterable[Task], chunks: int = 4) -> None:
        self._stopped = threading.Event()
        self._handover: Handover[Task] = Handover(chunks, self._stopped)
        self._ready: deque[Task] = deque()
        self.finished = False
        self._thread = threading.Thread(target=self._handover.fill, args=(tasks,), name="provenance-feed", daemon=True)
        self._thread.start()

    def _take(self, item: Any) -> None:
        if item is None:
            return
        if item is Handover.END:
            self.finished = True
        elif isinstance(item, Raised):
            self.finished = True
            raise item.exc
        else:
            self._ready.extend(item)

    def poll(self) -> Task | None:
        """The next task if one is ready, else ``None`` (see :attr:`finished`)."""
        if not self._ready and not self.finished:
            self._take(self._handover.get())
        return self._ready.popleft() if self._ready else None

    def wait(self, timeout: float) -> None:
        """Block until a task is ready (or the input ends) or ``timeout`` passes."""
        if self.finished or self._ready:
            return
        self._take(self._handover.get(timeout))

    def stop(self) -> None:
        self._stopped.set()


@dataclass(frozen=True, slots=True)
class Raised:
    """What the producer's input raised, handed over by :meth:`Handover.fill`."""

    exc: BaseException


class LocalPool:
    """Worker processes on this machine, with a per-file time limit.

    ``jobs`` workers each check one file at a time, with up to ``depth``
    files queued per worker (sent several to a message, topped up when half
    done) so that none waits for the parent between two files. Each file's
    result comes back on its own, so the parent knows which file a worker
    is on: one busy on a file longer than ``timeout`` seconds is killed and
    replaced, and that file is reported with error kind ``timeout``; a
    worker that dies is replaced, and its file reported with kind
    ``crash``; files queued behind either go to another worker. Workers
    are recycled after ``recycle`` files to keep memory flat over very long
    batches. Tasks are pulled from the iterable (in a thread, a few chunks
    ahead) only as room frees up, so it may be a lazy walk over any number
    of paths or a list that trickles in through a pipe.
    """

    def __init__(
        self,
        options: Options,
        jobs: int | None = None,
        timeout: float | None = None,
        recycle: int = 2000,
        depth: int = 8,
    ):
        self.options = options
        self.jobs = max(1, jobs or default_jobs())
        self.timeout = timeout if timeout is not None else options.limits.timeout
        # Per task index: the time limit (with the allowance for a large file), and whether the file is large.
        self._limits: dict[int, tuple[float, bool]] = {}
        #: Results already received with the one just yielded, not yet yielded: a caller that writes
        #: records may flush once, when this is 0, rather than after each.
        self.backlog = 0
        self.recycle = recycle
        self.depth = max(1, depth)
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._ctx: Any = multiprocessing.get_context(method)

    def _sized(self, task: Task) -> tuple[float, bool]:
        known = self._limits.get(task.index)
        if known is None:
            size = task_size(task)
            limits = self.options.limits
            known = self._limits[task.index] = (
                task_time_limit(task, self.timeout, size, limits),
                size >= limits.large_file_bytes,
            )
        return known

    def _limit(self, task: Task) -> float:
        """The seconds ``task`` may take: the time limit, plus the large-file allowance (see :func:`time_limit`)."""
        return self._sized(task)[0]

    def _large(self, task: Task) -> bool:
        """Whether ``task`` is a file of at least ``limits.large_file_bytes`` (a long video, say)."""
        return self._sized(task)[1]

    def _spawn(self, finish: Callable[[Report], Any]) -> _Slot:
        parent, child = self._ctx.Pipe()
        if self._ctx.get_start_method() == "fork":
            process = self._ctx.Process(target=_forked_worker, args=(child, self.options, finish, parent), daemon=True)
        else:  # a spawned worker inherits no descriptor it is not given
            process = self._ctx.Process(target=_worker, args=(child, self.options, finish), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    @staticmethod
    def _stop(slot: _Slot, kill: bool = False) -> None:
        LocalPool._ask_to_stop(slot, kill)
        LocalPool._reap(slot, kill)

    @staticmethod
    def _ask_to_stop(slot: _Slot, kill: bool) -> None:
        try:
            if kill:
                slot.process.kill()
            else:
                slot.conn.send_bytes(_dumps(None))
        except (BrokenPipeError, OSError):
            pass

    @staticmethod
    def _reap(slot: _Slot, kill: bool) -> None:
        slot.process.join(timeout=None if kill else 2)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()
        slot.conn.close()

    @overload
    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[int, Report]]: ...

    @overload
    def run(self, tasks: Iterable[Task], finish: Callable[[Report], R]) -> Iterator[tuple[int, R]]: ...

    def run(self, tasks: Iterable[Task], finish: Callable[[Report], Any] = _identity) -> Iterator[tuple[int, Any]]:
        # With one worker (one file to check, say) the libraries may not even
        # be needed; with more, loading them once here beats once per worker.
        prepare(self.options, readers=self.jobs > 1)
        slots: list[_Slot] = []
        # One poll object for the whole run: cheaper than a selector per wait.
        poller = select.poll() if hasattr(select, "poll") else None
        where: dict[int, int] = {}  # connection fd -> slot number

        def respawn(i: int, kill: bool) -> _Slot:
            """Start worker ``i`` (again); the old one, if any, is stopped."""
            if i < len(slots):
                old = slots[i]
                if poller is not None:
                    poller.unregister(old.conn.fileno())
                del where[old.conn.fileno()]
                self._stop(old, kill=kill)
            slot = self._spawn(finish)
            if i < len(slots):
                slots[i] = slot
            else:
                slots.append(slot)
            if poller is not None:
                poller.register(slot.conn.fileno(), select.POLLIN)
            where[slot.conn.fileno()] = i
            return slot

        for i in range(self.jobs):
            respawn(i, kill=False)
        # Started after the first workers, so that usually no thread runs when we fork.
        feed = _Feed(tasks)
        retry: deque[Task] = deque()  # tasks queued behind a file that was killed

        def take() -> Task | None:
            return retry.popleft() if retry else feed.poll()

        def lose(i: int) -> Task:
            """Kill worker ``i``; its head task is lost with it, the rest go to another worker."""
            queued = list(slots[i].queue)
            retry.extendleft(reversed(queued[1:]))
            respawn(i, kill=True)
            return queued[0]

        try:
            while True:
                for i in range(len(slots)):
                    self._fill(i, slots, take, retry.appendleft, respawn)
                busy = [s for s in slots if s.queue]
                if not busy:
                    if feed.finished and not retry:
                        return
                    feed.wait(0.1)  # nothing in flight: wait for the next input
                    continue
                now = time.monotonic()
                wait_for = max(0.0, min(s.started + self._limit(s.queue[0]) - now for s in busy))
                if not feed.finished and any(len(s.queue) <= self.depth // 2 for s in slots):
                    wait_for = min(wait_for, 0.02)  # inputs arrive slowly: look again soon
                if wait_for > 2 * _GATHER and all(len(s.queue) > 2 for s in slots):
                    # Every worker has files in hand: let results gather, then take them in one go.
                    time.sleep(_GATHER)
                if poller is not None:
                    ready = {where[fd] for fd, _ in poller.poll(math.ceil(wait_for * 1000))}
                else:  # pragma: no cover - no poll() on this platform
                    conns = wait([s.conn for s in slots], timeout=wait_for)
                    ready = {i for i, s in enumerate(slots) if s.conn in conns}
                for i, slot in enumerate(slots):
                    if not slot.queue:
                        if i in ready:  # an idle worker died: replace it
                            respawn(i, kill=True)
                        continue
                    head = slot.queue[0]
                    if i in ready:
                        received, ended = _drain(slot)
                        for n, raw in enumerate(received, 1):
                            index, result = pickle.loads(raw)
                            self._limits.pop(slot.queue.popleft().index, None)
                            slot.started = time.monotonic()
                            slot.done += 1
                            self.backlog = len(received) - n
                            yield index, result
                        self.backlog = 0
                        if ended:
                            if not slot.queue:  # it answered every file, then died: replace it
                                respawn(i, kill=True)
                                continue
                            head = slot.queue[0]
                            code = slot.process.exitcode
                            lose(i)
                            message = f"the checker process died on this file (exit code {code})"
                            yield head.index, finish(failed(head.path, "crash", message))
                    elif time.monotonic() - slot.started >= self._limit(head):
                        limit = self._limit(head)
                        lose(i)
                        self._limits.pop(head.index, None)
                        message = f"checking took longer than the {limit:g} s limit"
                        yield head.index, finish(failed(head.path, "timeout", message))
        finally:
            feed.stop()
            # Every worker is told first, then each is waited for: a worker takes a few ms to exit (its
            # memory is handed back), and they do it side by side.
            kills = [bool(slot.queue) for slot in slots]
            for slot, kill in zip(slots, kills, strict=True):
                self._ask_to_stop(slot, kill)
            for slot, kill in zip(slots, kills, strict=True):
                self._reap(slot, kill)

    def _fill(
        self,
        i: int,
        slots: list[_Slot],
        take: Callable[[], Task | None],
        putback: Callable[[Task], None],
        respawn: Callable[[int, bool], _Slot],
    ) -> None:
        """Top up worker ``i``'s queue, sending the new tasks in one message."""
        slot = slots[i]
        if len(slot.queue) > self.depth // 2:
            return  # still busy enough: top up later, in a bigger chunk
        if slot.queue and (slot.queue[-1].data is not None or self._large(slot.queue[-1])):
            return  # never queue behind a stdin buffer or a large file: an idle worker takes what follows
        if slot.done + len(slot.queue) >= self.recycle:
            if slot.queue:
                return  # let it finish, then recycle it
            slot = respawn(i, False)
        room = min(self.depth - len(slot.queue), self.recycle - slot.done - len(slot.queue))
        batch: list[Task] = []
        while len(batch) < room:
            task = take()
            if task is None:
                break
            if task.data is not None or self._large(task):
                if slot.queue or batch:
                    # A buffer goes alone to an idle worker: no pipe fills both ways. So does a large
                    # file: queued with others, two long videos would wait on one worker while the
                    # other idles.
                    putback(task)
                    break
                batch.append(task)
                break
            batch.append(task)
        if not batch:
            return
        try:
            slot.conn.send_bytes(_dumps([(t.index, t.path, t.data, _plain(t.found), t.remote) for t in batch]))
        except (BrokenPipeError, OSError):
            for task in reversed(batch):
                putback(task)
            if not slot.queue:  # an idle worker died: replace it; the tasks wait for the next round
                respawn(i, True)
            return  # a busy one: the main loop sees it died and reports its file
        if not slot.queue:
            slot.started = time.monotonic()
        slot.queue.extend(batch)


def ordered(results: Iterator[tuple[int, Report]]) -> Iterator[Report]:
    """Re-order ``(index, report)`` pairs into input order, yielding early when possible."""
    buffer: dict[int, Report] = {}
    expected = 0
    for index, report in results:
        buffer[index] = report
        while expected in buffer:
            yield buffer.pop(expected)
            expected += 1
    for index in sorted(buffer):
        yield buffer[index]
