"""Scheduling checks over many files: the one place that knows about processes.

:class:`Scheduler` is the small interface the CLI uses; :class:`LocalPool`
runs checks in worker processes on this machine, one file at a time per
worker, so a file that hangs or crashes the native C2PA library is killed
at its time limit and reported as an error while the batch goes on. Another
scheduler (a cluster, say) only needs to implement ``run``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from provenance.api import Options, check, check_bytes
from provenance.report import Report, ReportError


@dataclass(frozen=True, slots=True)
class Task:
    """One input: a path to open, or bytes already read (stdin)."""

    index: int
    path: str
    data: bytes | None = None


class Scheduler(Protocol):
    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[int, Report]]:
        """Yield ``(task index, report)`` as each check finishes."""
        ...


def _check_task(task: Task, options: Options) -> Report:
    if task.data is not None:
        return check_bytes(task.data, task.path, options)
    return check(task.path, options)


def _worker(conn: Connection, options: Options) -> None:
    # Workers ignore Ctrl-C: the parent decides when to stop them.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            report = _check_task(task, options)
        except Exception as exc:  # api.check should not raise; be sure
            report = failed(task.path, "internal-error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send((task.index, report))
        except (BrokenPipeError, OSError):
            return


def failed(path: str, kind: str, message: str) -> Report:
    """An ``error`` report for a file the scheduler could not get checked."""
    from provenance import __version__

    return Report(
        path=path,
        verdict="error",
        confidence="low",
        summary=f"Could not be analysed: {message}.",
        error=ReportError(kind, message),
        tool_version=__version__,
    )


class InProcess:
    """Run checks one by one in this process (no time limit): for tests and one file."""

    def __init__(self, options: Options) -> None:
        self.options = options

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[int, Report]]:
        for task in tasks:
            yield task.index, _check_task(task, self.options)


@dataclass(slots=True)
class _Slot:
    process: Any
    conn: Connection
    task: Task | None = None
    started: float = 0.0
    done: int = 0


class LocalPool:
    """Worker processes on this machine, with a per-file time limit.

    ``jobs`` workers each take one file at a time. A worker busy longer than
    ``timeout`` seconds is killed and replaced, and that file is reported
    with error kind ``timeout``; a worker that dies is replaced, and its
    file reported with kind ``crash``. Workers are recycled after
    ``recycle`` files to keep memory flat over very long batches.
    """

    def __init__(self, options: Options, jobs: int | None = None, timeout: float | None = None, recycle: int = 2000):
        self.options = options
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout = timeout if timeout is not None else options.limits.timeout
        self.recycle = recycle
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._ctx: Any = multiprocessing.get_context(method)

    def _spawn(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker, args=(child, self.options), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    @staticmethod
    def _stop(slot: _Slot, kill: bool = False) -> None:
        try:
            if kill:
                slot.process.kill()
            else:
                slot.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        slot.process.join(timeout=None if kill else 2)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()
        slot.conn.close()

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[int, Report]]:
        pending = iter(tasks)
        slots = [self._spawn() for _ in range(self.jobs)]
        exhausted = False
        try:
            while True:
                for i, slot in enumerate(slots):
                    if slot.task is None and not exhausted:
                        task = next(pending, None)
                        if task is None:
                            exhausted = True
                            break
                        if slot.done >= self.recycle:
                            self._stop(slot)
                            slot = slots[i] = self._spawn()
                        try:
                            slot.conn.send(task)
                        except (BrokenPipeError, OSError):
                            self._stop(slot, kill=True)
                            slot = slots[i] = self._spawn()
                            slot.conn.send(task)
                        slot.task, slot.started = task, time.monotonic()
                busy = [s for s in slots if s.task is not None]
                if not busy:
                    return
                now = time.monotonic()
                wait_for = max(0.0, min(s.started + self.timeout - now for s in busy))
                ready = wait([s.conn for s in busy], timeout=wait_for)
                for i, slot in enumerate(slots):
                    task = slot.task
                    if task is None:
                        continue
                    if slot.conn in ready:
                        try:
                            index, report = slot.conn.recv()
                        except (EOFError, OSError):
                            code = slot.process.exitcode
                            self._stop(slot, kill=True)
                            slots[i] = self._spawn()
                            yield (
                                task.index,
                                failed(task.path, "crash", f"the checker process died on this file (exit code {code})"),
                            )
                            continue
                        slot.task = None
                        slot.done += 1
                        yield index, report
                    elif time.monotonic() - slot.started >= self.timeout:
                        self._stop(slot, kill=True)
                        slots[i] = self._spawn()
                        yield (
                            task.index,
                            failed(task.path, "timeout", f"checking took longer than the {self.timeout:g} s limit"),
                        )
        finally:
            for slot in slots:
                self._stop(slot, kill=slot.task is not None)


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
