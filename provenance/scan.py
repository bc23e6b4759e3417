"""``provenance scan``: check very many files, streaming, resumable.

The pieces, each usable on its own:

* :func:`read_list` / :func:`iter_entries`: the inputs, walked lazily from
  paths and from a newline- or NUL-separated list (``find -print0``);
* :class:`Render`: turns a report into one output record where the check
  ran (a worker process), plus the few fields the summary needs;
* :func:`load_previous`: what an earlier run already wrote to ``--out``
  (for ``--resume``), with partial and stale records dropped;
* :class:`Sink`: writes records as they come, flushed one by one, and keeps
  a JSON array valid whenever the run stops short of SIGKILL;
* :class:`Summary`: counts per verdict and credentials state, and the exit
  code; :func:`run_scan` ties them together with a progress display.

Records come in completion order. Each JSON/JSONL record is exactly
``Report.to_dict()``; CSV rows use :data:`provenance.render.csv.COLUMNS`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
import signal
import stat
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, NamedTuple

from provenance import exitcodes
from provenance.paths import Entry, output_clash, walk
from provenance.report import Report

#: Output formats of ``scan``.
FORMATS = ("jsonl", "csv", "json")
#: What ``--fail-on`` accepts: verdicts, and ``invalid`` for invalid credentials.
FAIL_ON_CHOICES = ("ai-generated", "ai-edited", "captured", "no-evidence", "invalid")
#: The default, as for ``check``: what ``Report.flagged`` means.
DEFAULT_FAIL_ON = frozenset({"ai-generated", "ai-edited", "invalid"})
#: Exit code after Ctrl-C (128 + SIGINT, as shells report it; 143 after SIGTERM).
INTERRUPTED = 130

_VERDICTS = ("ai-generated", "ai-edited", "captured", "no-evidence", "error")
_STATES = ("none", "remote", "invalid", "valid", "trusted")


class ScanError(Exception):
    """A usage problem found before scanning (bad option value, unusable --out)."""


def parse_fail_on(text: str) -> frozenset[str]:
    """``"ai-generated,invalid"`` → a set; raises :class:`ScanError` for unknown names."""
    chosen = frozenset(part.strip() for part in text.split(",") if part.strip())
    if "error" in chosen:
        raise ScanError("--fail-on: errors always give exit code 2; leave 'error' out")
    unknown = chosen - set(FAIL_ON_CHOICES)
    if unknown:
        raise ScanError(f"--fail-on: unknown {', '.join(sorted(unknown))} (choose from {', '.join(FAIL_ON_CHOICES)})")
    return chosen


def is_flagged(verdict: str, state: str, fail_on: frozenset[str]) -> bool:
    """Whether a file with this verdict and credentials state makes exit code 1."""
    return verdict in fail_on or (state == "invalid" and "invalid" in fail_on)


# --- inputs ------------------------------------------------------------------


#: Longest path Linux accepts (PATH_MAX): a NUL-separated list holds a NUL by then.
_PATH_MAX = 4096

NOT_NUL_SEPARATED = (
    "-0: the --files-from list has line breaks but no NUL byte, so it is one path a line, not "
    "NUL-separated; drop -0, or make the list with find -print0"
)


def read_list(stream: IO[bytes], nul: bool = False, chunk: int = 1 << 16) -> Iterator[str]:
    """Paths from a list, one per line (or NUL-separated with ``nul``), read lazily.

    Empty entries are skipped; with newlines a trailing ``\\r`` is dropped.
    Bytes that are not UTF-8 survive as in ``os.fsdecode``. With ``nul``, a
    list with line breaks and no NUL at all (``find -print`` instead of
    ``-print0``) raises :class:`ScanError` before any path is given out.
    """
    sep = b"\0" if nul else b"\n"
    rest = b""
    split = False  # a separator seen
    # read1: take what a pipe has now rather than wait for a whole chunk.
    read = getattr(stream, "read1", stream.read)
    while True:
        block = read(chunk)
        if not block:
            break
        parts = (rest + block).split(sep)
        rest = parts.pop()
        split = split or bool(parts)
        if nul and not split and len(rest) > _PATH_MAX and b"\n" in rest:
            raise ScanError(NOT_NUL_SEPARATED)
        for part in parts:
            name = _list_name(part, nul)
            if name:
                yield name
    if nul and not split and b"\n" in rest:
        raise ScanError(NOT_NUL_SEPARATED)
    name = _list_name(rest, nul)
    if name:
        yield name


def _list_name(raw: bytes, nul: bool) -> str:
    if not nul and raw.endswith(b"\r"):
        raw = raw[:-1]
    name = os.fsdecode(raw)
    return "./-" if name == "-" else name  # a file named "-" in a list is a file, not stdin


def iter_entries(
    paths: Iterable[str],
    files_from: str | None,
    nul: bool,
    stdin: IO[bytes],
    follow_links: bool = False,
    look_up: bool = True,
) -> Iterator[Entry]:
    """Every entry to check: the given paths walked, then the list's (``-``: stdin).

    A symbolic link named in the list is not followed (error kind
    ``symlink-not-followed``) unless ``follow_links``; one named in ``paths``
    is, as the user typed it. A store URL (``s3://bucket/prefix/``, in
    ``paths`` or in the list) is listed as :func:`provenance.storage.entries`
    says; the list itself may be a URL too. ``look_up=False`` gives each URL
    as one entry, unlisted (for counting).
    """
    yield from walk_inputs(paths, True, look_up)
    if files_from is None:
        return
    if files_from == "-":
        yield from walk_inputs(read_list(stdin, nul), follow_links, look_up)
        return
    if _is_url(files_from):
        from provenance.storage import describe, open_list

        try:
            remote_list = open_list(files_from)
        except Exception as exc:
            raise ScanError(f"--files-from {files_from}: cannot read the list: {describe(exc)[1]}") from None
        with remote_list:
            yield from walk_inputs(read_list(remote_list, nul), follow_links, look_up)
        return
    with open(files_from, "rb") as stream:
        yield from walk_inputs(read_list(stream, nul), follow_links, look_up)


def _is_url(text: str) -> bool:
    return "://" in text and _url_check(text)


def _url_check(text: str) -> bool:
    from provenance.storage import is_url

    return is_url(text)


def walk_inputs(names: Iterable[str], follow: bool = True, look_up: bool = True) -> Iterator[Entry]:
    """Local paths walked (in runs, one walk each), URLs listed (in chunks, looked up together).

    ``follow``: as for :func:`provenance.paths.walk`; ``look_up=False``: each URL one entry, unlisted.
    """
    for remote, run in itertools.groupby(names, key=_is_url):
        if not remote:
            yield from walk(run, follow=follow)
        elif not look_up:
            yield from (Entry(url) for url in run)
        else:
            from provenance.storage import INFO_CHUNK, listed_entries

            while chunk := list(itertools.islice(run, INFO_CHUNK)):
                yield from listed_entries(chunk)


# --- records ------------------------------------------------------------------


class Outcome(NamedTuple):
    """One checked file as the scan needs it: a rendered record and summary fields."""

    path: str
    verdict: str
    state: str
    error: str | None  # "kind: message"
    record: bytes  # the output record: one JSON object, or a CSV row with its newline


#: An :class:`Outcome` as a plain tuple: what a worker sends back. Pickling a
#: named tuple looks its class up by name for every file.
Sent = tuple[str, str, str, str | None, bytes]


@dataclass(frozen=True, slots=True)
class Render:
    """Report → the fields of an :class:`Outcome`; picklable, run in the worker that made the report."""

    fmt: str

    def __call__(self, report: Report) -> Sent:
        if self.fmt == "csv":
            from provenance.render.csv import render_csv_row

            record = render_csv_row(report).encode("utf-8", "surrogateescape")
        else:
            record = json.dumps(report.to_dict()).encode("ascii")
        error = f"{report.error.kind}: {report.error.message}" if report.error else None
        # A failed Content Credentials check has no state to count (the summary's "not checked").
        failed = any(i.kind == "reader-failed" and i.source == "c2pa" for i in report.issues)
        return (report.path, report.verdict, "" if failed else report.credentials.state, error, record)


@dataclass(slots=True)
class Previous:
    """What ``--out`` held from an earlier run, once checked.

    Records of objects in a store cannot be judged unchanged before the
    store is listed (no ``stat`` of a URL): they wait in ``pending``, their
    text in ``spool``, keyed by URL with the listing key they were made
    for (:func:`remote_key`), and are written back when the listing shows
    the same object (:meth:`take`); the others are checked again, and
    those the listing no longer shows are dropped.
    """

    done: set[str] = field(default_factory=set)  # paths not to check again
    records: list[tuple[str, str, str]] = field(default_factory=list)  # (path, verdict, state) kept
    dropped: int = 0
    # URL -> (listing key, verdict, state, offset and length of the record in ``spool``)
    pending: dict[str, tuple[tuple[Any, ...], str, str, int, int]] = field(default_factory=dict)
    spool: IO[bytes] | None = None

    def hold(self, path: str, key: tuple[Any, ...], verdict: str, state: str, text: bytes) -> None:
        if self.spool is None:
            self.spool = tempfile.TemporaryFile()
        offset = self.spool.seek(0, os.SEEK_END)
        self.spool.write(text)
        self.pending[path] = (key, verdict, state, offset, len(text))

    def take(self, path: str, key: tuple[Any, ...]) -> tuple[str, str, str, int, int] | None:
        """The held record of ``path`` if it was made for the object the listing shows now (``key``)."""
        held = self.pending.pop(path, None)
        if held is None:
            return None
        if held[0] != key:
            self.dropped += 1
            return None
        return (path, held[1], held[2], held[3], held[4])

    def record(self, offset: int, length: int) -> bytes:
        assert self.spool is not None
        self.spool.seek(offset)
        return self.spool.read(length)


def remote_key(etag: Any, size: Any, mtime: Any) -> tuple[Any, ...]:
    """What must match for a record of an object in a store to stand: its ETag (or generation) and size.

    A store that gives no ETag: size and modification time, as for a local file.
    """
    return ("etag", etag, size) if etag else ("mtime", size, mtime)


def _unchanged(data: dict[str, Any]) -> bool:
    path, size, mtime = data.get("path"), data.get("size"), data.get("mtime")
    if not isinstance(path, str) or path == "-" or size is None or mtime is None or data.get("verdict") == "error":
        return False
    try:
        info = os.stat(path)
    except OSError:
        return False
    return bool(info.st_size == size and info.st_mtime == mtime)


def load_previous(out: Path, fmt: str) -> Previous:
    """Read ``out`` for ``--resume`` and leave it ready to be appended to.

    JSON/JSONL records are kept when their file is unchanged (same path,
    size and mtime) and was not an error; those of objects in a store are
    held until the listing shows whether the object is unchanged (same
    URL, ETag or generation, and size: see :class:`Previous`); CSV rows carry no size or mtime,
    so rows without an error are kept by path, in the escaped form the
    path column holds (:func:`provenance.render.csv.csv_path`). Everything else (a record
    cut short by a killed run, errors, files changed since) is dropped, so
    those files are checked again and each appears once.
    """
    raw = out.read_bytes()
    previous = Previous()
    kept: list[bytes] = []
    if fmt == "csv":
        kept = _previous_csv(raw, previous)
    else:
        items = _previous_json(raw, fmt, out, previous)
        for text, data in items:
            path = data["path"]
            if _is_url(path):
                if data.get("verdict") != "error" and data.get("size") is not None:
                    state = (data.get("credentials") or {}).get("state", "none")
                    key = remote_key(data.get("etag"), data.get("size"), data.get("mtime"))
                    previous.hold(path, key, str(data.get("verdict")), str(state), text)
                else:
                    previous.dropped += 1
                continue
            if _unchanged(data):
                kept.append(text)
                path = data["path"]
                previous.done.add(path)
                state = (data.get("credentials") or {}).get("state", "none")
                previous.records.append((path, str(data.get("verdict")), str(state)))
            else:
                previous.dropped += 1
    _rewrite(out, fmt, kept, raw)
    return previous


def _previous_json(raw: bytes, fmt: str, out: Path, previous: Previous) -> list[tuple[bytes, dict[str, Any]]]:
    """The records of a JSON or JSONL output, one per line as the sink writes them.

    Only the last line may be broken (cut short by a kill); anything else
    that is not a report means ``out`` is some other file, which is left
    alone rather than overwritten.
    """
    whole = _json_array(raw) if fmt == "json" else None
    if whole is not None:
        return [(json.dumps(d).encode("ascii"), d) for d in whole if isinstance(d, dict) and "path" in d]
    lines = raw.split(b"\n")
    items: list[tuple[bytes, dict[str, Any]]] = []
    started = fmt == "jsonl"
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if not started:
            if text != b"[":
                raise ScanError(f"--resume: {out} is not a JSON array written by provenance scan")
            started = True
            continue
        text = text.rstrip(b",")
        if text == b"]":
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nesting too deep for the parser
            data = None
        if isinstance(data, dict) and isinstance(data.get("path"), str):
            items.append((text, data))
        elif number == len(lines):
            previous.dropped += 1  # the record a killed run was writing
        else:
            raise ScanError(f"--resume: line {number} of {out} is not a provenance report; not touching it")
    return items


def _json_array(raw: bytes) -> list[Any] | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, list) else None


def _previous_csv(raw: bytes, previous: Previous) -> list[bytes]:
    from provenance.render.csv import COLUMNS, csv_path

    text = raw.decode("utf-8", "surrogateescape")
    complete = text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return []
    if tuple(rows[0]) != COLUMNS:
        raise ScanError("--resume: the existing --out file is not a provenance scan CSV (header differs)")
    body = rows[1:]
    if body and not complete:
        body.pop()  # cut short by a killed run
        previous.dropped += 1
    kept: list[bytes] = []
    for row in body:
        if len(row) != len(COLUMNS) or row[1] == "error" or row[7]:
            previous.dropped += 1
            continue
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(row)
        kept.append(out.getvalue().encode("utf-8", "surrogateescape"))
        previous.done.add(csv_path(row[0]))  # rows of older versions may hold the raw name
        previous.records.append((row[0], row[1], row[3]))
    return kept


def _rewrite(out: Path, fmt: str, kept: list[bytes], raw: bytes) -> None:
    """Leave exactly the kept records in ``out``, in the layout the sink appends to."""
    if fmt == "csv":
        from provenance.render.csv import render_csv_header

        body = render_csv_header().encode() + b"".join(kept)
    elif fmt == "json":
        body = b"[\n" + b",\n".join(kept)
    else:
        body = b"".join(k + b"\n" for k in kept)
    if body == raw:
        return
    if raw.startswith(body):
        os.truncate(out, len(body))  # only a tail to cut: no copy
        return
    # A fresh name (O_EXCL, O_NOFOLLOW) beside ``out``, never a fixed one a
    # link could be planted at; then one atomic rename over ``out``.
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".resume-tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), stat.S_IMODE(os.stat(out).st_mode))
            stream.write(body)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --- output ------------------------------------------------------------------


class Sink:
    """Writes records to a binary stream, flushed as soon as written (records written together: after the last).

    JSON output is one array: ``[`` first, records separated by ``,\\n``,
    and ``]`` from :meth:`close`, which the scan calls on success, Ctrl-C
    and SIGTERM alike.
    """

    def __init__(self, stream: IO[bytes], fmt: str, existing: int | None, owns: bool) -> None:
        self.stream = stream
        self.fmt = fmt
        self.count = existing or 0
        self.owns = owns
        if existing is None:  # a new output: write the head
            if fmt == "csv":
                from provenance.render.csv import render_csv_header

                stream.write(render_csv_header().encode())
            elif fmt == "json":
                stream.write(b"[\n")
            stream.flush()

    def write(self, record: bytes, flush: bool = True) -> None:
        """Write one record; ``flush=False`` when more records follow at once (the next flush takes them)."""
        if self.fmt == "json":
            self.stream.write(b",\n" + record if self.count else record)
        elif self.fmt == "csv":
            self.stream.write(record)
        else:
            self.stream.write(record + b"\n")
        if flush:
            self.stream.flush()
        self.count += 1

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        if self.fmt == "json":
            self.stream.write(b"\n]\n")
        self.stream.flush()
        if self.owns:
            self.stream.close()


# --- summary -----------------------------------------------------------------


@dataclass(slots=True)
class Summary:
    """Counts over every file in the output (this run's and resumed ones)."""

    fail_on: frozenset[str] = DEFAULT_FAIL_ON
    checked: int = 0
    resumed: int = 0
    written: int = 0
    flagged: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    error_kinds: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0
    interrupted: bool = False
    signal: int = signal.SIGINT

    def add(self, verdict: str, state: str, error: str | None, resumed: bool = False) -> bool:
        """Count one file; return whether it is flagged under ``fail_on``."""
        if resumed:
            self.resumed += 1
        else:
            self.checked += 1
        self.verdicts[verdict] += 1
        if verdict != "error" and state:  # a file not analysed, or not checked for credentials, has no state
            self.states[state] += 1
        if verdict == "error":
            self.error_kinds[(error or "unknown").partition(":")[0]] += 1
        flagged = is_flagged(verdict, state, self.fail_on)
        self.flagged += flagged
        return flagged

    @property
    def files(self) -> int:
        return self.checked + self.resumed

    @property
    def errors(self) -> int:
        return self.verdicts["error"]

    @property
    def rate(self) -> float:
        elapsed = self.elapsed or (time.monotonic() - self.started)
        return self.checked / elapsed if elapsed > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 128 + self.signal  # 130 after Ctrl-C, 143 after SIGTERM
        if self.errors:
            return exitcodes.ERROR
        if self.flagged:
            return exitcodes.FLAGGED
        return exitcodes.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "checked": self.checked,
            "resumed": self.resumed,
            "written": self.written,
            "flagged": self.flagged,
            "errors": self.errors,
            "verdicts": {v: self.verdicts[v] for v in _VERDICTS},
            "credentials": {s: self.states[s] for s in _STATES},
            "error_kinds": dict(sorted(self.error_kinds.items())),
            "fail_on": sorted(self.fail_on),
            "elapsed_seconds": round(self.elapsed, 3),
            "files_per_second": round(self.rate, 1),
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
        }


def render_summary(summary: Summary, console: Any) -> None:
    """The end-of-run table on a rich console."""
    from rich.table import Table

    table = Table(title="provenance scan", show_header=True, title_justify="left")
    table.add_column("verdict")
    table.add_column("files", justify="right")
    table.add_column("credentials")
    table.add_column("files", justify="right")
    verdicts = [(v, summary.verdicts[v]) for v in _VERDICTS]
    states = [(s, summary.states[s]) for s in _STATES]
    for (verdict, vn), (state, sn) in zip(verdicts, states, strict=True):
        table.add_row(verdict, str(vn), state, str(sn))
    unchecked = summary.files - sum(summary.states[s] for s in _STATES)
    if unchecked:
        table.add_row("", "", "not checked", str(unchecked))
    console.print(table)
    parts = [
        f"{summary.files} files",
        f"{summary.flagged} flagged ({','.join(sorted(summary.fail_on)) or 'nothing'})",
        f"{summary.errors} errors",
        f"{summary.checked} checked in {summary.elapsed:.1f} s ({summary.rate:.0f} files/s)",
    ]
    if summary.resumed:
        parts.append(f"{summary.resumed} already done")
    if summary.error_kinds:
        parts.append("errors by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(summary.error_kinds.items())))
    if summary.interrupted:
        parts.append("interrupted: the output holds every file finished so far")
    console.print("; ".join(parts), highlight=False)


# --- progress ------------------------------------------------------------------


class _Display:
    """Progress and per-file errors on stderr: rich on a terminal, plain lines otherwise."""

    def __init__(self, stderr: IO[str], rich: bool) -> None:
        self.stderr = stderr
        self.progress: Any = None
        self.console: Any = None
        self._task: Any = None
        self._last = 0.0
        if rich:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.console = Console(file=stderr, stderr=True)
            self.progress = Progress(
                TextColumn("[bold]scan"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.0f} files/s"),
                TextColumn("[red]{task.fields[flagged]} flagged"),
                TextColumn("[yellow]{task.fields[errors]} errors"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._task = self.progress.add_task("scan", total=None, rate=0.0, flagged=0, errors=0)
            self.progress.start()

    def error(self, path: str, message: str) -> None:
        from provenance.render.safe import visible_line

        line = visible_line(f"provenance: error: {path}: {message}")
        if self.console is not None:  # plain text: no markup, no :emoji: codes
            self.console.print(line, style="yellow", highlight=False, markup=False, emoji=False)
        else:
            self.stderr.write(line + "\n")
            self.stderr.flush()

    def total(self, count: int) -> None:
        if self.progress is not None:
            self.progress.update(self._task, total=count)

    def update(self, summary: Summary, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self.progress.update(
            self._task,
            completed=summary.files,
            rate=summary.rate,
            flagged=summary.flagged,
            errors=summary.errors,
        )

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


# --- signals -----------------------------------------------------------------


class _Interrupts:
    """Turn SIGINT/SIGTERM into KeyboardInterrupt, but never in the middle of a write."""

    def __init__(self) -> None:
        self.critical = False
        self.pending = False
        self.fired = False
        self.signum = int(signal.SIGINT)
        self._saved: list[tuple[int, Any]] = []

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.fired:  # a second Ctrl-C during cleanup is ignored
            return
        self.signum = signum
        if self.critical:  # raised once the record is whole
            self.pending = True
            return
        self.fired = True
        raise KeyboardInterrupt

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved.append((sig, signal.signal(sig, self._handler)))
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved:
            signal.signal(sig, handler)

    def guarded(self, action: Callable[[], None]) -> None:
        self.critical = True
        try:
            action()
        finally:
            self.critical = False
        if self.pending:
            self.pending = False
            self.fired = True
            raise KeyboardInterrupt


# --- the scan -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """Everything ``provenance scan`` was asked to do, apart from check options."""

    paths: tuple[str, ...] = ()
    out: Path | None = None
    fmt: str = "jsonl"
    jobs: int | None = None
    fail_on: frozenset[str] = DEFAULT_FAIL_ON
    only_flagged: bool = False
    resume: bool = False
    files_from: str | None = None
    nul: bool = False
    follow_links: bool = False  # follow a symbolic link named in the --files-from list
    summary_json: Path | None = None
    progress: bool | None = None  # None: when stderr is a terminal
    scheduler: str = "local"  # or dask://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT (see parse_scheduler)
    scheduler_file: Path | None = None  # a Dask scheduler file (--dask-scheduler-file)


#: What ``--scheduler`` accepts besides ``local``: a Dask scheduler's address, and the
#: Dask address each means (``tls://`` uses the TLS settings of the Dask configuration).
SCHEDULER_SCHEMES = {"dask://": "tcp://", "tcp://": "tcp://", "tls://": "tls://"}


def parse_scheduler(text: str) -> str | None:
    """``--scheduler`` → ``None`` for the local pool, else a Dask address (``tcp://HOST:PORT``)."""
    if text == "local":
        return None
    for scheme, dask in SCHEDULER_SCHEMES.items():
        if text.startswith(scheme):
            rest = text[len(scheme) :].rstrip("/")
            host, colon, port = rest.rpartition(":")
            if host and colon and port.isdigit():
                return dask + rest
    raise ScanError(f"--scheduler: expected local, dask://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (got {text!r})")


def _dask_scheduler(config: ScanConfig, options: Any, address: str | None) -> Any:
    """A connected :class:`provenance.cluster.DaskScheduler`, or :class:`ScanError` before any file is read."""
    from provenance.api import MissingExtraError

    try:
        from provenance.cluster import ClusterError, DaskScheduler
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in ("dask", "distributed"):
            raise
        what = "--dask-scheduler-file" if address is None else "--scheduler dask://"
        raise ScanError(str(MissingExtraError(what, "dask", [exc.name or "distributed"]))) from None
    file = str(config.scheduler_file) if config.scheduler_file is not None else None
    scheduler = DaskScheduler(options, address=address, scheduler_file=file)
    try:
        scheduler.connect()
    except ClusterError as exc:
        raise ScanError(str(exc)) from None
    return scheduler


def _same_file(path: str, targets: list[tuple[str, os.stat_result]]) -> bool:
    name = os.path.basename(path)
    for base, info in targets:
        if name == base:
            try:
                other = os.stat(path)
            except OSError:
                return False
            if (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
                return True
    return False


def require_stores(urls: list[str]) -> None:
    """Raise :class:`ScanError` (exit 2) before anything is read if a URL needs an extra that is not installed."""
    if not urls:
        return
    from provenance.api import MissingExtraError
    from provenance.storage import UnsupportedURL, require

    for url in urls:
        try:
            require(url)
        except (MissingExtraError, UnsupportedURL) as exc:
            raise ScanError(str(exc)) from None


def _count(config: ScanConfig, display: _Display) -> None:
    if any(_is_url(p) for p in (*config.paths, config.files_from or "")):
        return  # listing a store twice for an ETA costs requests; no total shown
    try:
        entries = iter_entries(
            config.paths, config.files_from, config.nul, io.BytesIO(), config.follow_links, look_up=False
        )
        total = sum(1 for _ in entries)
    except Exception:  # counting is only for the ETA
        return
    display.total(total)


def run_scan(
    config: ScanConfig,
    options: Any,
    stdout: IO[bytes] | None = None,
    stderr: IO[str] | None = None,
    stdin: IO[bytes] | None = None,
) -> Summary:
    """Scan, write the records, and return the summary (its ``exit_code`` included)."""
    stdout = stdout if stdout is not None else sys.stdout.buffer
    stderr = stderr if stderr is not None else sys.stderr
    if stdin is not None or (config.files_from != "-" and "-" not in config.paths):
        return _run(config, options, stdout, stderr, stdin or io.BytesIO())
    # A private duplicate: the batch reads it from a thread, and a worker
    # forked meanwhile closes sys.stdin (and would wait on its lock).
    private: IO[bytes]
    try:
        private = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    except (OSError, ValueError, AttributeError):
        private = io.BytesIO()
    summary = _run(config, options, stdout, stderr, private)
    if not summary.interrupted:  # else a thread may still be blocked reading it
        private.close()
    return summary


def _run(config: ScanConfig, options: Any, stdout: IO[bytes], stderr: IO[str], stdin: IO[bytes]) -> Summary:
    if config.fmt not in FORMATS:
        raise ScanError(f"unknown format {config.fmt!r} (choose from {', '.join(FORMATS)})")
    if config.resume and config.out is None:
        raise ScanError("--resume needs --out FILE")
    if config.files_from == "-" and "-" in config.paths:
        raise ScanError("standard input cannot be both an image (-) and the --files-from list")
    if not config.paths and config.files_from is None:
        raise ScanError("no files to check: give paths or --files-from")
    if config.nul and config.files_from is None:
        raise ScanError("-0 applies to the --files-from list; give --files-from too")
    urls = [p for p in (*config.paths, config.files_from or "") if _is_url(p)]
    if config.files_from not in (None, "-") and not urls[-1:] == [config.files_from]:
        if not os.path.isfile(config.files_from):
            raise ScanError(f"--files-from: no such file: {config.files_from}")
    require_stores(urls)

    address = parse_scheduler(config.scheduler)
    if address is not None and config.scheduler_file is not None:
        raise ScanError("give either --scheduler dask://HOST:PORT or --dask-scheduler-file, not both")

    _refuse_overwriting_inputs(config, stdin)

    # Connected before the output is opened: an unreachable cluster leaves it untouched.
    cluster = None if address is None and config.scheduler_file is None else _dask_scheduler(config, options, address)
    try:
        return _scan(config, options, stdout, stderr, stdin, cluster)
    finally:
        if cluster is not None:
            cluster.close()  # our connection only: the cluster goes on


def _scan(
    config: ScanConfig, options: Any, stdout: IO[bytes], stderr: IO[str], stdin: IO[bytes], cluster: Any
) -> Summary:
    from provenance.batch import LocalPool, Task, failed

    for note in getattr(cluster, "notes", ()):
        stderr.write(f"provenance: note: {note}\n")
    summary = Summary(fail_on=config.fail_on)
    previous = Previous()
    existing: int | None = None
    if config.out is not None and config.resume and config.out.is_file():
        previous = load_previous(config.out, config.fmt)
        existing = len(previous.records)
        for _path, verdict, state in previous.records:
            summary.add(verdict, state, None, resumed=True)
    if config.out is not None:
        try:
            stream: IO[bytes] = open(config.out, "ab" if existing is not None else "wb")
        except OSError as exc:
            raise ScanError(f"cannot write --out {config.out}: {exc.strerror or exc}") from None
        sink = Sink(stream, config.fmt, existing, owns=True)
    else:
        sink = Sink(stdout, config.fmt, None, owns=False)

    ours: list[tuple[str, os.stat_result]] = []
    for own in (config.out, config.summary_json):
        if own is not None and own.exists():
            ours.append((own.name, own.stat()))

    # A bar on the terminal, unless records are printed to that terminal too.
    show = config.progress
    if show is None:
        show = stderr.isatty() and (config.out is not None or not _isatty(stdout))
    display = _Display(stderr, rich=show)
    if show and config.files_from != "-":
        threading.Thread(target=_count, args=(config, display), daemon=True).start()

    render = Render(config.fmt)
    early: deque[Sent] = deque()
    again: deque[tuple[str, str, str, int, int]] = deque()  # records of unchanged objects, to write back
    done_key: Callable[[str], str] = _identity
    if config.fmt == "csv":
        from provenance.render.csv import csv_path

        done_key = csv_path  # CSV rows hold names in escaped form
    max_bytes = options.limits.max_file_bytes

    def tasks() -> Iterator[Task]:
        entries = iter_entries(config.paths, config.files_from, config.nul, stdin, config.follow_links)
        for index, entry in enumerate(entries):
            if entry.remote is not None:
                remote = entry.remote
                if previous.pending:
                    held = previous.take(entry.path, remote_key(remote.etag, remote.size, remote.mtime))
                    if held is not None:
                        again.append(held)
                        continue
                elif previous.done and done_key(entry.path) in previous.done:
                    continue  # a CSV row: kept by its URL
                yield Task(index, entry.path, remote=remote)
                continue
            if previous.done and done_key(entry.path) in previous.done:
                continue
            if ours and _same_file(entry.path, ours):
                continue
            if entry.error_kind:
                early.append(render(failed(entry.path, entry.error_kind, entry.error or entry.error_kind)))
            elif entry.path == "-":
                data = stdin.read(max_bytes + 1)
                if len(data) > max_bytes:
                    early.append(render(failed("-", "limit-exceeded", "standard input is over the file size limit")))
                else:
                    yield Task(index, "-", data)
            else:
                yield Task(index, entry.path, found=entry.found)

    interrupts = _Interrupts()

    def emit(sent: Sent) -> None:
        outcome = Outcome._make(sent)
        flagged = summary.add(outcome.verdict, outcome.state, outcome.error)
        if outcome.error is not None:
            display.error(outcome.path, outcome.error)
        # Records whose results arrived together go out with one flush, after the last of them.
        last = not getattr(pool, "backlog", 0)
        if flagged or not config.only_flagged:
            interrupts.guarded(lambda: sink.write(outcome.record, flush=last))
            summary.written += 1
        elif last:
            interrupts.guarded(sink.flush)
        display.update(summary)

    def emit_again(held: tuple[str, str, str, int, int]) -> None:
        """Write back the record an earlier run made of an object the listing shows unchanged."""
        _path, verdict, state, offset, length = held
        record = previous.record(offset, length)
        summary.add(verdict, state, None, resumed=True)
        interrupts.guarded(lambda: sink.write(record))
        display.update(summary)

    failure: str | None = None
    jobs = config.jobs or None
    pool = cluster if cluster is not None else LocalPool(options, jobs=jobs)
    results = pool.run(tasks(), render)
    try:
        with interrupts:
            try:
                for _index, outcome in results:
                    while early:
                        emit(early.popleft())
                    while again:
                        emit_again(again.popleft())
                    emit(outcome)
                while early:
                    emit(early.popleft())
                while again:
                    emit_again(again.popleft())
            except KeyboardInterrupt:
                summary.interrupted = True
                summary.signal = interrupts.signum
            except BrokenPipeError:  # the reader of stdout went away (| head)
                summary.interrupted = True
                summary.signal = signal.SIGPIPE
                _silence_stdout()
            except OSError as exc:  # the list could not be read, the output not written
                failure = f"{getattr(exc, 'filename', None) or 'scan'}: {exc.strerror or exc}"
            finally:
                if isinstance(results, Generator):
                    results.close()  # stops the workers (killing busy ones)
                summary.elapsed = time.monotonic() - summary.started
                try:
                    interrupts.critical = True
                    sink.close()
                except BrokenPipeError:
                    _silence_stdout()
                finally:
                    interrupts.critical = False
    finally:
        display.update(summary, force=True)
        display.stop()
    if failure is not None:
        raise ScanError(f"stopped: {failure} (the output is valid up to the files done)")
    if summary.files == 0 and not summary.interrupted:
        raise ScanError("no files to check")
    if config.summary_json is not None:
        config.summary_json.write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    if show:
        render_summary(summary, display.console)
    elif summary.interrupted:
        stderr.write(f"provenance: interrupted after {summary.checked} files; the output is complete up to them\n")
    return summary


def _refuse_overwriting_inputs(config: ScanConfig, stdin: IO[bytes]) -> None:
    """Stop before writing anything if ``--out`` or ``--summary-json`` would overwrite an input.

    The inputs are the paths given, the ``--files-from`` list itself, and the
    files and folders it names: the list is read ahead for this when it is a
    file (or standard input redirected from one), and only if an output
    already exists. A list piped in is read as it comes, after the output is
    opened (SECURITY.md, Known gaps).
    """
    inputs = [*config.paths, *([config.files_from] if config.files_from not in (None, "-") else [])]
    for own, what in ((config.out, "--out"), (config.summary_json, "--summary-json")):
        if own is not None:
            with contextlib.closing(_listed_ahead(config, stdin)) as listed:
                clash = output_clash(str(own), itertools.chain(inputs, listed), what)
            if clash is not None:
                raise ScanError(clash)


def _listed_ahead(config: ScanConfig, stdin: IO[bytes]) -> Generator[str, None, None]:
    """The names in the ``--files-from`` list, read now without using it up; none from a pipe."""
    if config.files_from is None or _is_url(config.files_from):
        return
    if config.files_from != "-":
        with open(config.files_from, "rb") as stream:
            yield from read_list(stream, config.nul)
        return
    try:
        fd = stdin.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        start = os.lseek(fd, 0, os.SEEK_CUR)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return
    try:
        with io.FileIO(os.dup(fd), "rb") as stream:
            yield from read_list(stream, config.nul)
    finally:
        os.lseek(fd, start, os.SEEK_SET)


def _identity(text: str) -> str:
    return text


def _isatty(stream: IO[bytes]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _silence_stdout() -> None:
    # The reader went away (``| head``): stop quietly, without a traceback at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
