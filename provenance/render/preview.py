"""Previews for the HTML report: small JPEGs made only from the bytes that were checked.

A report can be rendered long after the scan (``provenance report results.jsonl
--thumbnails``), when the path it names may hold something else: another
image, or a symbolic link to a private one. So a preview of a file on disk is
made only from bytes whose SHA-256 is the one in the report, read through a
descriptor opened without following a symbolic link; otherwise there is no
preview, and the card says why.

Decoding pixels amplifies: a few hundred kilobytes of PNG can declare 9400 x
9400 pixels. Decoded pixels are capped (``Limits.max_preview_pixels``, checked
from the header before any pixel is decoded; JPEGs are decoded at a reduced
scale first), and previews of files are made in worker processes that are
killed at the per-file time limit (``Limits.timeout``).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import stat
import sys
import time
import warnings
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read.media import MEDIA_TYPES
from provenance.storage import is_url

THUMBNAIL_PIXELS = 160
THUMBNAIL_MAX_FILE_BYTES = 512 * 1024**2

CHANGED = "the file changed since it was checked"
LINK = "the path is a symbolic link"
GONE = "the file is no longer there"
SPECIAL = "the path is not a regular file"
UNREADABLE = "the file could not be read"
NO_DIGEST = "the report records no SHA-256 to check the file against"
STDIN = "the image was read from standard input"
UNDECODABLE = "the image could not be decoded"
TOO_BIG = f"the file is larger than the {THUMBNAIL_MAX_FILE_BYTES // 1024**2} MiB limit for previews"
BOMB = "the image declares more pixels than the image library decodes safely"
CRASHED = "the decoder stopped unexpectedly"


@dataclass(frozen=True, slots=True)
class Preview:
    """A ``data:image/jpeg;base64,...`` URI, or ``None`` and why there is none (a clause the card shows)."""

    uri: str | None
    why_not: str = ""


def _too_many_pixels(width: int, height: int, limit: int) -> str:
    return (
        f"the image is {width:,} \u00d7 {height:,} pixels, more than the {limit / 1e6:g}-megapixel limit for previews"
    )


def decode(data: bytes, size: int = THUMBNAIL_PIXELS, max_pixels: int = DEFAULT_LIMITS.max_preview_pixels) -> Preview:
    """A preview of the image in ``data``.

    The size is read from the header and checked against ``max_pixels``
    before any pixel is decoded (after ``draft``, which makes a JPEG decoder
    work at 1/2, 1/4 or 1/8 scale). Pillow's decompression-bomb guard stays
    on, its warning raised as an error too.
    """
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (size, size))  # JPEG only: a reduced-scale decode
                width, height = image.size
                if width * height > max_pixels:
                    return Preview(None, _too_many_pixels(width, height, max_pixels))
                image.thumbnail((size, size))  # decodes once, then reduces by whole factors and resamples
                shown = ImageOps.exif_transpose(image) or image
                if shown.mode in ("RGBA", "LA", "PA") or (shown.mode == "P" and "transparency" in shown.info):
                    rgba = shown.convert("RGBA")
                    flat = Image.new("RGB", rgba.size, (255, 255, 255))
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                    shown = flat
                elif shown.mode not in ("RGB", "L"):
                    shown = shown.convert("RGB")
                out = io.BytesIO()
                shown.save(out, "JPEG", quality=70)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Preview(None, BOMB)
    except Exception:  # any decoder failure: no preview for this file, the rest go on
        return Preview(None, UNDECODABLE)
    return Preview("data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii"))


def read_checked(path: str, sha256: str | None, size: int | None) -> bytes | Preview:
    """The bytes of ``path`` if they are the ones a report describes, else a :class:`Preview` saying why not.

    The final component is opened with ``O_NOFOLLOW`` (a link is refused, not
    followed), only a regular file is read, and at most one byte more than
    the report's size; the SHA-256 of what was read must be ``sha256``.
    With ``sha256`` ``None`` (a direct call, not a report) the bytes are
    returned unchecked.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            return Preview(None, LINK)
        return Preview(None, GONE if exc.errno == errno.ENOENT else UNREADABLE)
    except ValueError:  # a NUL, or a lone surrogate no file name can hold (UnicodeEncodeError)
        return Preview(None, UNREADABLE)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Preview(None, SPECIAL)
        if sha256 is not None and size is not None and info.st_size != size:
            return Preview(None, CHANGED)
        if info.st_size > THUMBNAIL_MAX_FILE_BYTES:
            return Preview(None, TOO_BIG)
        limit = (size if size is not None else THUMBNAIL_MAX_FILE_BYTES) + 1
        chunks, got = [], 0
        while got < limit:
            chunk = os.read(fd, min(1024**2, limit - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    except OSError:
        return Preview(None, UNREADABLE)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
        return Preview(None, CHANGED)
    return data


def preview_file(path: str, sha256: str | None, size: int | None, limits: Limits = DEFAULT_LIMITS) -> Preview:
    """A preview of the file a report describes, made from its checked bytes, or why there is none."""
    data = read_checked(path, sha256, size)
    if isinstance(data, Preview):
        return data
    return decode(data, max_pixels=limits.max_preview_pixels)


def make_thumbnail(
    source: str | os.PathLike[str] | bytes,
    size: int = THUMBNAIL_PIXELS,
    max_pixels: int = DEFAULT_LIMITS.max_preview_pixels,
) -> str | None:
    """A small JPEG preview of ``source`` (bytes, or a path not followed if a link) as a ``data:`` URI, or ``None``.

    Runs here, without a time limit: for files named in reports use
    :func:`thumbnails_for`, which checks the bytes and runs in killable workers.
    """
    data = source if isinstance(source, bytes) else read_checked(os.fspath(source), None, None)
    if isinstance(data, Preview):
        return None
    return decode(data, size, max_pixels).uri


# --- previews of many files, in worker processes with a time limit ----------------------------


def _worker(conn: Any, limits: Limits) -> None:
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            path, digest_or_data, size = task
            if isinstance(digest_or_data, bytes):  # bytes already in hand (an upload): nothing to re-read
                conn.send(decode(digest_or_data, max_pixels=limits.max_preview_pixels))
            else:
                conn.send(preview_file(path, digest_or_data, size, limits))
        except (BrokenPipeError, OSError):
            return


def _forked_worker(conn: Any, limits: Limits) -> None:
    try:
        _worker(conn, limits)
    finally:
        os._exit(0)  # no flush of streams whose locks another thread of the parent may have held


@dataclass
class _Slot:
    process: Any
    conn: Any
    path: str = ""
    deadline: float = 0.0


#: Why a video or audio file has no preview: previews are of images only.
MEDIA = "no preview is made of video or audio"
#: An object read from a store (``s3://...``): ``report`` makes no request to fetch it again.
STORED = "the file is an object in a store, which is not fetched again for a preview"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def thumbnails_for(
    reports: Iterable[Mapping[str, Any]], jobs: int | None = None, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Preview]:
    """A preview, or the reason there is none, for each path the reports name.

    Each file is read and decoded in one of ``jobs`` worker processes (default:
    one a core), killed if it takes longer than ``limits.timeout``.
    """
    out: dict[str, Preview] = {}
    wanted: dict[str, tuple[str | None, int | None]] = {}
    for report in reports:
        path = _text(report.get("path"))
        if path is None:
            continue
        if path == "-":
            out[path] = Preview(None, STDIN)
            continue
        if _text(report.get("media_type")) in MEDIA_TYPES:  # never read or decoded for a preview
            out[path] = Preview(None, MEDIA)
            continue
        if is_url(path):
            out[path] = Preview(None, STORED)
            continue
        size = report.get("size")
        key = (_text(report.get("sha256")), size if isinstance(size, int) and not isinstance(size, bool) else None)
        if path in wanted and wanted[path] != key:
            out[path] = Preview(None, CHANGED)  # two records of one path disagree: neither is shown
        wanted.setdefault(path, key)
    tasks: deque[tuple[str, str | bytes, int | None]] = deque()
    for path, (digest, size) in sorted(wanted.items()):
        if path in out:
            continue
        if digest is None:
            out[path] = Preview(None, NO_DIGEST)
        else:
            tasks.append((path, digest, size))
    if tasks:
        out.update(_run(tasks, max(1, min(jobs or os.cpu_count() or 1, len(tasks))), limits))
    return out


def previews_of(
    named: Iterable[tuple[str, bytes]], jobs: int | None = None, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Preview]:
    """A preview, or why there is none, for each ``(name, data)`` held in memory (``serve``'s uploads).

    Decoded in worker processes killed at ``limits.timeout``, as :func:`thumbnails_for` does for files.
    """
    from provenance.read import container, media

    out: dict[str, Preview] = {}
    tasks: deque[tuple[str, str | bytes, int | None]] = deque()
    for name, data in named:
        if container.sniff(data) is None and media.sniff_stream(io.BytesIO(data), len(data)) is not None:
            # video or audio: never decoded
            out[name] = Preview(None, MEDIA)
        else:
            tasks.append((name, data, None))
    if tasks:
        out.update(_run(tasks, max(1, min(jobs or os.cpu_count() or 1, len(tasks))), limits))
    return out


def _run(tasks: deque[tuple[str, str | bytes, int | None]], jobs: int, limits: Limits) -> dict[str, Preview]:
    import multiprocessing
    from multiprocessing.connection import wait

    ctx: Any = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    target = _forked_worker if ctx.get_start_method() == "fork" else _worker
    out: dict[str, Preview] = {}
    slots: list[_Slot] = []

    def spawn() -> _Slot:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=target, args=(child, limits), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    def kill(slot: _Slot) -> None:
        slot.process.kill()
        slot.process.join()
        slot.conn.close()

    try:
        slots = [spawn() for _ in range(jobs)]
        while tasks or any(s.path for s in slots):
            for index, slot in enumerate(slots):
                if not slot.path and tasks:
                    task = tasks.popleft()
                    try:
                        slot.conn.send(task)
                    except (BrokenPipeError, OSError):  # the worker died while idle: a new one takes the task
                        kill(slot)
                        slot = slots[index] = spawn()
                        slot.conn.send(task)
                    slot.path, slot.deadline = task[0], time.monotonic() + limits.timeout
            busy = [s for s in slots if s.path]
            now = time.monotonic()
            ready = wait([s.conn for s in busy], timeout=max(0.0, min(s.deadline for s in busy) - now))
            for index, slot in enumerate(slots):
                if not slot.path:
                    continue
                if slot.conn in ready:
                    try:
                        result = slot.conn.recv()
                    except (EOFError, OSError):
                        result = None
                    if isinstance(result, Preview):
                        out[slot.path] = result
                        slot.path = ""
                        continue
                    out[slot.path] = Preview(None, CRASHED)
                elif time.monotonic() >= slot.deadline:
                    out[slot.path] = Preview(None, f"making it took longer than the {limits.timeout:g} s limit")
                else:
                    continue
                kill(slot)
                slots[index] = spawn()
    finally:
        for slot in slots:
            try:
                slot.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            slot.process.join(timeout=2)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
    return out
