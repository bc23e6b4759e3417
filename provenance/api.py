"""The library entry points: :func:`check` a file, :func:`check_bytes` a buffer.

Runs read → match → judge and assembles the :class:`~provenance.report.Report`.
A failure on one file becomes an ``error`` report; nothing here raises for
bad input.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from provenance import __version__
from provenance.evidence import Evidence, RawField, ReadIssue
from provenance.judge import judge
from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.match import RuleSet, load_rules, match
from provenance.paths import CHANGED, CHANGED_MESSAGE, SWAPPED_ERRNOS, Found, open_found
from provenance.read import Extracted, ReadOptions, container, media, read, read_media
from provenance.read import _failed as failed_reader
from provenance.read.c2pa import TrustList, TrustSettings, default_trust_lists, user_trust_list
from provenance.report import Report, ReportError
from provenance.unicode import valid_text

if TYPE_CHECKING:
    from provenance.batch import Fetched, Remote


@lru_cache(maxsize=1)
def _builtin_rules() -> RuleSet:
    return load_rules()


class MissingExtraError(ImportError):
    """A switch needs an optional extra that is not installed.

    Raised before any file is read: a check that cannot run is never
    reported as having run and found nothing.
    """

    def __init__(self, feature: str, extra: str, missing: list[str]) -> None:
        self.extra = extra
        self.missing = tuple(missing)
        super().__init__(
            f"{feature} needs the optional extra: pip install 'provenance[{extra}]' (missing: {', '.join(missing)})"
        )


#: What ``watermarks=True`` imports, by distribution name: the ``watermarks`` extra.
_WATERMARK_MODULES = (("numpy", "numpy"), ("pywt", "PyWavelets"), ("cryptography", "cryptography"))


def require_watermarks() -> None:
    """Raise :class:`MissingExtraError` unless the watermark readers can run."""
    import importlib

    missing = []
    for module, distribution in _WATERMARK_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        raise MissingExtraError("--watermarks", "watermarks", missing)


@dataclass(frozen=True, slots=True)
class Options:
    """How to check: trust anchors, rules, limits, and the watermark switch."""

    trust: TrustSettings = field(default_factory=lambda: TrustSettings(default_trust_lists()))
    rules: RuleSet | None = None
    limits: Limits = DEFAULT_LIMITS
    watermarks: bool = False
    verbose: bool = False
    #: Validate a DASH/CMAF init segment with the ``.m4s`` fragments in its folder (``--fragments``).
    fragments: bool = False


def prepare(options: Options, readers: bool = False) -> None:
    """Do now what the first check would do (load the rules and, with
    ``readers``, the readers' libraries), so that worker processes forked
    afterwards share it instead of each doing it again."""
    if options.rules is None:
        _builtin_rules()
    if readers:
        from provenance.read import preload

        preload()


def make_options(
    trust_anchors: list[Path] | None = None,
    default_trust: bool = True,
    rules_dirs: list[Path] | None = None,
    allow_network: bool = False,
    watermarks: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Options:
    """Build :class:`Options` from user-facing settings (used by the CLI).

    Raises :class:`MissingExtraError` when ``watermarks`` is asked for and
    the ``watermarks`` extra is not installed.
    """
    if watermarks:
        require_watermarks()
    lists: list[TrustList] = list(default_trust_lists()) if default_trust else []
    for pem in trust_anchors or []:
        lists.append(user_trust_list(Path(pem).read_text(encoding="utf-8"), Path(pem).name))
    rules = load_rules(rules_dirs) if rules_dirs else None
    return Options(
        trust=TrustSettings(tuple(lists), allow_network=allow_network),
        rules=rules,
        limits=limits,
        watermarks=watermarks,
    )


def check_bytes(data: bytes, name: str = "-", options: Options | None = None) -> Report:
    """Check one image held in memory; ``name`` is used for the report and extension checks.

    Raises :class:`MissingExtraError` for ``Options(watermarks=True)`` without the extra.
    """
    options = options or Options()
    if options.watermarks:
        require_watermarks()
    return _check_bytes(data, name, options, None)


def _check_bytes(data: bytes, name: str, options: Options, mtime: float | None) -> Report:
    digest = hashlib.sha256(data).hexdigest()
    return _checked(lambda read_options: read(data, name, read_options), name, len(data), digest, options, mtime)


def _checked(
    reading: Callable[[ReadOptions], Extracted],
    name: str,
    size: int,
    digest: str,
    options: Options,
    mtime: float | None,
) -> Report:
    """Read (with ``reading``), match and judge one file of ``size`` bytes whose SHA-256 is ``digest``."""
    rules = options.rules or _builtin_rules()
    try:
        extracted = _bounded(reading(ReadOptions(options.trust, options.limits, options.watermarks)))
        findings = match(extracted.evidence, rules)
        failed = [i for i in extracted.issues if i.kind == "reader-failed"]
        verdict = judge(
            findings,
            extracted.credentials,
            extracted.fatal,
            "watermark" in extracted.readers,
            failed,
            extracted.media,
            options.watermarks,
        )
    except Exception as exc:  # a reader or rule bug must not stop a batch
        return _error(name, "internal-error", f"{type(exc).__name__}: {exc}", size, digest, rules)
    return Report(
        path=name,
        verdict=verdict.verdict,
        confidence=verdict.confidence,
        summary=verdict.summary,
        media_type=extracted.media_type,
        size=size,
        sha256=digest,
        credentials=extracted.credentials,
        findings=findings,
        decisive=verdict.decisive,
        error=ReportError(extracted.fatal.kind, extracted.fatal.message) if extracted.fatal else None,
        issues=extracted.issues,
        readers=extracted.readers,
        raw=extracted.raw,
        tool_version=__version__,
        rules_digest=rules.digest,
        mtime=mtime,
    )


#: Evidence items (and raw fields) kept per source, and issues kept per file.
#: Matching costs items × rules; real files have tens of items, hostile ones
#: (a PNG made of 500 000 tiny text chunks) would otherwise take minutes.
MAX_ITEMS_PER_SOURCE = 4096
MAX_ISSUES = 100

_T = TypeVar("_T", Evidence, RawField)


def _cap_by_source(items: Iterable[_T]) -> tuple[list[_T], dict[str, int]]:
    """Keep at most MAX_ITEMS_PER_SOURCE items of each source; count the rest by source."""
    kept: dict[str, int] = {}
    dropped: dict[str, int] = {}
    out: list[_T] = []
    for item in items:
        source = item.source
        if kept.get(source, 0) < MAX_ITEMS_PER_SOURCE:
            kept[source] = kept.get(source, 0) + 1
            out.append(item)
        else:
            dropped[source] = dropped.get(source, 0) + 1
    return out, dropped


def _bounded(extracted: Extracted) -> Extracted:
    """Cap the evidence, raw fields and issues of one file; say what was dropped."""
    if (
        len(extracted.evidence) <= MAX_ITEMS_PER_SOURCE
        and len(extracted.raw) <= MAX_ITEMS_PER_SOURCE
        and len(extracted.issues) <= MAX_ISSUES
    ):
        return extracted  # no source can be over the cap: the usual case, at no cost
    evidence, dropped = _cap_by_source(extracted.evidence)
    raw, _ = _cap_by_source(extracted.raw)
    if not dropped and len(raw) == len(extracted.raw) and len(extracted.issues) <= MAX_ISSUES:
        return extracted
    issues = list(extracted.issues[:MAX_ISSUES])
    if len(extracted.issues) > MAX_ISSUES:
        issues.append(ReadIssue("limit-exceeded", f"{len(extracted.issues) - MAX_ISSUES} more issues not listed"))
    readers = list(extracted.readers)
    for source, count in dropped.items():
        message = f"{count} more {source} fields not checked: over {MAX_ITEMS_PER_SOURCE} per source"
        issues.append(ReadIssue("limit-exceeded", message, source))
        # Fields the rules never saw may hold anything: that check did not finish, and the
        # summary must not say that nothing in the file points to AI.
        reader = _READER_OF.get(source)
        if reader in readers:
            readers.remove(reader)
            issues.append(failed_reader(reader, message))
    return replace(extracted, evidence=tuple(evidence), raw=tuple(raw), issues=tuple(issues), readers=tuple(readers))


#: The reader whose check an evidence source comes from.
_READER_OF = {"xmp": "xmp", "exif": "exif", "png-text": "text", "jpeg-comment": "text", "c2pa": "c2pa"}


def _error(name: str, kind: str, message: str, size: int | None, digest: str | None, rules: RuleSet) -> Report:
    message = valid_text(message)  # an exception's text may quote what it choked on
    return Report(
        path=name,
        verdict="error",
        confidence="low",
        summary=f"Could not be analysed: {message}.",
        size=size,
        sha256=digest,
        error=ReportError(kind, message),
        tool_version=__version__,
        rules_digest=rules.digest,
    )


def check(path: str | os.PathLike[str], options: Options | None = None) -> Report:
    """Check one file. The file is opened read-only and never modified.

    A symbolic link named here is followed (the caller chose the path); the
    file read is the one ``stat`` saw, or the result is an error.
    Raises :class:`MissingExtraError` for ``Options(watermarks=True)`` without the extra.
    """
    options = options or Options()
    if options.watermarks:
        require_watermarks()
    rules = options.rules or _builtin_rules()
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except OSError as exc:
        return _error(name, _os_kind(exc), f"cannot access the file: {exc.strerror or exc}", None, None, rules)
    if stat.S_ISDIR(info.st_mode):
        return _error(name, "is-a-directory", "this is a directory, not a file", None, None, rules)
    if not stat.S_ISREG(info.st_mode):
        return _error(
            name, "special-file", "not a regular file (FIFO, socket or device): skipped unread", None, None, rules
        )
    return check_found(name, Found(None, name, info.st_dev, info.st_ino, True), options)


def check_found(name: str, found: Found, options: Options | None = None) -> Report:
    """Check the file a walk found (:func:`provenance.paths.walk`), reported as ``name``.

    The file is opened as :func:`provenance.paths.open_found` says (no link
    followed that the walk did not allow) and read only if ``fstat`` shows
    the device and inode the walk saw; anything else is an ``error`` of kind
    ``changed-during-scan``, unread.
    """
    options = options or Options()
    if options.watermarks:
        require_watermarks()
    rules = options.rules or _builtin_rules()
    try:
        fd = open_found(found)
    except OSError as exc:
        if exc.errno in SWAPPED_ERRNOS:
            return _error(name, CHANGED, CHANGED_MESSAGE, None, None, rules)
        return _error(name, _os_kind(exc), f"cannot open the file: {exc.strerror or exc}", None, None, rules)
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (found.dev, found.ino):
            return _error(name, CHANGED, CHANGED_MESSAGE, None, None, rules)
        if not stat.S_ISREG(opened.st_mode):
            return _error(name, "special-file", "not a regular file: skipped unread", None, None, rules)
        limit = options.limits.max_file_bytes
        if opened.st_size <= limit:
            media_type = _media_type(fd, opened.st_size)
            if media_type is not None:
                folder = os.path.dirname(name if found.root is None else os.path.join(found.root, found.name))
                return _check_media(fd, name, media_type, opened.st_mtime, options, folder)
        data = b"" if opened.st_size > limit else read_bounded(fd, opened.st_size, limit)
        if opened.st_size > limit or len(data) > limit:
            size, digest = _hash_rest(fd, data)
            grew = "" if opened.st_size > limit else " (it grew while being read)"
            return _error(
                name,
                "limit-exceeded",
                f"{size} bytes is over the {limit}-byte file size limit{grew}",
                size,
                digest,
                rules,
            )
    except OSError as exc:
        return _error(name, _os_kind(exc), f"cannot read the file: {exc.strerror or exc}", None, None, rules)
    finally:
        os.close(fd)
    return _check_bytes(data, name, options, opened.st_mtime)


def check_object(remote: Remote, fetched: Fetched, options: Options | None = None) -> Report:
    """Check an object from a store, as :func:`provenance.batch.prefetch` fetched it.

    The report is the one the same bytes give as a local file (a video or
    audio object is read by the media readers through a file object, an
    image as :func:`check_bytes` reads it), with ``path`` the object's URL,
    ``mtime`` and ``etag``/``version`` as the store gave them. A failed
    fetch is an ``error`` report of the fetch's kind. A temporary file
    holding a large object is closed here.
    """
    options = options or Options()
    if options.watermarks:
        require_watermarks()
    if options.fragments:
        options = replace(options, fragments=False)  # an object has no folder of fragments beside it here
    rules = options.rules or _builtin_rules()
    url = remote.url
    etag = fetched.etag or remote.etag
    version = fetched.version or remote.version
    mtime = fetched.mtime if fetched.mtime is not None else remote.mtime
    try:
        if fetched.error is not None:
            kind, message = fetched.error
            report = _error(url, kind, message, None, None, rules)
        elif fetched.file is not None:
            report = _check_fd(fetched.file.fileno(), url, options, mtime)
        else:
            report = _check_bytes(fetched.data or b"", url, options, mtime)
    finally:
        if fetched.file is not None:
            fetched.file.close()
    return replace(report, etag=etag, version=version)


def _check_fd(fd: int, name: str, options: Options, mtime: float | None) -> Report:
    """Check the file open at ``fd`` (a fetched object's temporary file) as :func:`check_found` checks one."""
    rules = options.rules or _builtin_rules()
    limit = options.limits.max_file_bytes
    try:
        size = os.fstat(fd).st_size
        os.lseek(fd, 0, os.SEEK_SET)
        media_type = _media_type(fd, size)
        if media_type is not None:
            return _check_media(fd, name, media_type, mtime, options, None)
        data = read_bounded(fd, size, limit)
        if len(data) > limit:
            total, digest = _hash_rest(fd, data)
            message = f"{total} bytes is over the {limit}-byte file size limit"
            return _error(name, "limit-exceeded", message, total, digest, rules)
    except OSError as exc:
        return _error(name, _os_kind(exc), f"cannot read the fetched object: {exc.strerror or exc}", None, None, rules)
    return _check_bytes(data, name, options, mtime)


def _media_type(fd: int, size: int) -> str | None:
    """The video or audio media type of the open file ``fd``, from its first bytes; ``None`` for the rest."""
    # An image is known by its first 64 bytes (container.sniff looks further only for SVG text, and what
    # it knows from 64 bytes it knows from more): read 64 KiB only for what those do not settle.
    head = os.pread(fd, 64, 0)
    if not head or container.sniff(head) is not None:
        return None
    head = os.pread(fd, 1 << 16, 0)
    if container.sniff(head) is not None:
        return None
    try:
        return media.sniff_stream(io.FileIO(fd, closefd=False), size)
    finally:
        os.lseek(fd, 0, os.SEEK_SET)  # the image path reads from the start


def _check_media(
    fd: int, name: str, media_type: str, mtime: float | None, options: Options, folder: str | None = None
) -> Report:
    """Check a video or audio file from its open descriptor, never holding it whole in memory.

    The SHA-256 is computed first, in 1 MiB blocks, up to the size limit;
    the container walker and the C2PA library then read the same open file
    (a file rewritten in place between the two is a gap SECURITY.md names).
    """
    rules = options.rules or _builtin_rules()
    limit = options.limits.max_file_bytes
    digest = hashlib.sha256()
    size = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while block := os.read(fd, 1 << 20):
        digest.update(block)
        size += len(block)
        if size > limit:
            total, hexdigest = _hash_rest_into(fd, digest, size)
            message = f"{total} bytes is over the {limit}-byte file size limit (it grew while being read)"
            return _error(name, "limit-exceeded", message, total, hexdigest, rules)
    stream = io.FileIO(fd, closefd=False)
    with contextlib.ExitStack() as opened:

        def fragments() -> list[BinaryIO]:
            return [opened.enter_context(f) for f in open_fragments(folder or ".", options.limits)]

        wanted = fragments if options.fragments and media_type in _FRAGMENTED_TYPES else None
        return _checked(
            lambda read_options: read_media(stream, size, name, read_options, media_type, wanted),
            name,
            size,
            digest.hexdigest(),
            options,
            mtime,
        )


#: Media types that may be a DASH/CMAF init segment.
_FRAGMENTED_TYPES = frozenset({"video/mp4", "audio/mp4", "video/x-m4v", "video/quicktime"})

#: Fragments opened for one init segment, at most.
MAX_FRAGMENTS = 10_000


def open_fragments(folder: str, limits: Limits) -> list[io.FileIO]:
    """The ``.m4s`` files of ``folder``, in name order, opened read-only without following a link.

    A link, anything but a regular file, or a file over the size limit is
    passed over; at most :data:`MAX_FRAGMENTS` are opened.
    """
    try:
        names = sorted(n for n in os.listdir(folder) if n.lower().endswith(".m4s") and not n.startswith("."))
    except OSError:
        return []
    out: list[io.FileIO] = []
    for entry in names[:MAX_FRAGMENTS]:
        try:
            fd = os.open(os.path.join(folder, entry), os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limits.max_file_bytes:
            os.close(fd)
            continue
        out.append(io.FileIO(fd, "rb", closefd=True))
    return out


def _hash_rest_into(fd: int, digest: Any, size: int) -> tuple[int, str]:
    """``digest`` and ``size`` (of what was read so far) carried on to the end of ``fd``: the total size and hex."""
    while block := os.read(fd, 1 << 20):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


def read_bounded(fd: int, size: int, limit: int) -> bytes:
    """What ``fd`` holds, but never more than ``limit + 1`` bytes.

    One read of the size ``fstat`` gave (``size``), then on to the end in
    case the file grew, stopping as soon as the result is over ``limit``: a
    file that grows while it is read cannot make this hold more than the
    limit allows. A result longer than ``limit`` means the file is over it.
    """
    first = os.read(fd, min(size, limit) + 1)
    if not first or len(first) > limit:
        return first
    parts = [first]
    total = len(first)
    while total <= limit:
        block = os.read(fd, min(1 << 20, limit + 1 - total))
        if not block:
            break
        parts.append(block)
        total += len(block)
    return first if len(parts) == 1 else b"".join(parts)


def _hash_rest(fd: int, head: bytes) -> tuple[int, str]:
    """Size and SHA-256 of ``head`` and everything after it in ``fd``, read in 1 MiB blocks."""
    return _hash_rest_into(fd, hashlib.sha256(head), len(head))


def _os_kind(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission-denied"
    if exc.errno == errno.ENOENT:
        return "not-found"
    return "unreadable"
