"""Turn command-line paths into the list of files to check, and open them safely.

Directories are walked recursively in sorted order, passing over hidden
files and folders and documents (notes, scripts, sidecars: see
:data:`SKIPPED_EXTENSIONS`) that sit beside images. Symbolic links to
directories are not followed (so loops cannot happen); a link to a file is
followed only when its target lies inside the tree being walked. A path
named on the command line is followed if it is a link (the user typed it);
a path named in a list (``scan --files-from``) is not, unless the caller
asks (``follow=True``). Entries that cannot be checked (unreadable folders,
special files, links out of the tree, links in a list) still appear, each
with its reason.

Each file to check carries what the walk saw (:class:`Found`: where to open
it and its device and inode), so that the check opens that very file and
nothing swapped in since: :func:`open_found` opens a walked file beneath the
walked folder one component at a time, never following a link, and the
caller compares ``fstat`` with the walk's device and inode.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from provenance.batch import Remote


class Found(NamedTuple):
    """What the walk saw of a file: where to open it, and which file it was.

    ``root`` is the walked folder, resolved, and ``name`` the file's path
    beneath it with no link in it (for a link inside the tree: its target);
    for a path named explicitly ``root`` is ``None`` and ``name`` the path as
    given. ``follow`` says whether a final symbolic link may be followed when
    opening (a path named on the command line). ``dev`` and ``ino`` identify
    the file the walk saw; a check reads only that file. ``size`` is the size
    the walk saw (-1: not known), which a scheduler uses to choose a time
    limit without a ``stat`` of its own; the check reads the size it opens.
    """

    root: str | None
    name: str
    dev: int
    ino: int
    follow: bool
    size: int = -1


@dataclass(frozen=True, slots=True)
class Entry:
    """A file to check, or a path that will be reported with ``error``.

    ``remote``: an object in a store, as its listing saw it (``path`` is its URL).
    """

    path: str
    error_kind: str | None = None
    error: str | None = None
    found: Found | None = None
    remote: Remote | None = None


#: Error kind of a file replaced (by another file, a link, a folder) between the walk and its check.
CHANGED = "changed-during-scan"
CHANGED_MESSAGE = "the file was replaced or moved between the folder walk and its check: not read"
#: Error kind of a symbolic link named in a list, not followed.
NOT_FOLLOWED = "symlink-not-followed"
NOT_FOLLOWED_MESSAGE = "a symbolic link named in a list: not followed (scan --follow-links follows such links)"

#: Extensions of documents that sit beside images in folders (notes, sidecars,
#: scripts); a folder walk passes over them. Named explicitly, any file is checked.
SKIPPED_EXTENSIONS = frozenset(
    {
        ".md",
        ".txt",
        ".json",
        ".jsonl",
        ".csv",
        ".tsv",
        ".py",
        ".toml",
        ".yaml",
        ".yml",
        ".pem",
        ".html",
        ".xml",
        ".log",
        ".sh",
        ".ini",
        ".cfg",
        ".xmp",
        ".pdf",
        ".doc",
        ".docx",
        ".odt",
        ".rtf",
        ".m4s",  # DASH/CMAF fragments: read with their init segment (check --fragments), not alone
    }
)


def wanted_in_walk(name: str) -> bool:
    """Whether a folder walk checks ``name``: not hidden, not a known document type."""
    if name.startswith("."):
        return False
    return os.path.splitext(name)[1].lower() not in SKIPPED_EXTENSIONS


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _stat_error(path: str, exc: OSError) -> Entry:
    if isinstance(exc, FileNotFoundError):
        return Entry(path, "not-found", str(exc.strerror))
    kind = "permission-denied" if isinstance(exc, PermissionError) else "unreadable"
    return Entry(path, kind, str(exc.strerror))


def _classify(path: str, root: str | None, rel: str, follow: bool) -> Entry | None:
    """The entry for ``path``: walked (``root`` and ``rel``, its path beneath it) or named (``root`` None)."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return _stat_error(path, exc)
    where: tuple[str | None, str] = (root, rel) if root is not None else (None, path)
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return Entry(path, "link-loop", "a symbolic link that leads back to itself: not followed")
            return Entry(path, "broken-link", "a symbolic link whose target does not exist")
        if stat.S_ISDIR(target.st_mode):
            return None  # directory links are not followed
        if root is not None:
            real = os.path.realpath(path)
            if not _inside(real, root):
                return Entry(
                    path, "link-outside-tree", "a symbolic link pointing outside the folder being checked: skipped"
                )
            try:
                info = os.lstat(real)  # the file itself, as it will be opened: by its resolved path
            except OSError as exc:
                return _stat_error(path, exc)
            if stat.S_ISLNK(info.st_mode):
                return Entry(path, CHANGED, CHANGED_MESSAGE)
            where = (root, os.path.relpath(real, root))
        elif follow:
            info = target
        else:
            return Entry(path, NOT_FOLLOWED, NOT_FOLLOWED_MESSAGE)
    if stat.S_ISREG(info.st_mode):
        found = Found(where[0], where[1], info.st_dev, info.st_ino, root is None and follow, info.st_size)
        return Entry(path, found=found)
    if stat.S_ISDIR(info.st_mode):
        return None
    return Entry(path, "special-file", "not a regular file (FIFO, socket or device): skipped unread")


def walk(paths: Iterable[str], follow: bool = True) -> Iterator[Entry]:
    """Yield every file under ``paths``, in order, with errors as entries.

    ``follow``: whether a symbolic link named in ``paths`` is followed (to
    a file, or to a folder that is then walked). Pass ``False`` for names
    that come from a list rather than from the user.
    """
    for given in paths:
        if given == "-":
            yield Entry("-")
            continue
        bare = given.rstrip(os.sep) or given
        try:
            is_link = os.path.islink(bare)
            is_dir = os.path.isdir(given) and not is_link
        except OSError:
            is_link = is_dir = False
        if is_link and not follow and os.path.lexists(bare):
            yield Entry(given, NOT_FOLLOWED, NOT_FOLLOWED_MESSAGE)
            continue
        if not is_dir:
            if os.path.isdir(given):  # a link to a directory named explicitly: walk it
                is_dir = True
            else:
                entry = _classify(given, None, given, follow)
                if entry is not None:
                    yield entry
                continue
        yield from _walk_dir(given)


def _walk_dir(top: str) -> Iterator[Entry]:
    root = os.path.realpath(top)
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(top, onerror=errors.append, followlinks=False):
        while errors:
            exc = errors.pop(0)
            yield _dir_error(exc, dirpath)
        dirnames.sort()
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        below = dirpath[len(top) :].lstrip(os.sep)  # os.walk joins onto ``top`` as given
        for name in sorted(filenames):
            if not wanted_in_walk(name):
                continue
            entry = _classify(os.path.join(dirpath, name), root, os.path.join(below, name), False)
            if entry is not None:
                yield entry
    while errors:
        exc = errors.pop(0)
        yield _dir_error(exc, top)


def _dir_error(exc: OSError, fallback: str) -> Entry:
    kind = "permission-denied" if isinstance(exc, PermissionError) else "unreadable"
    return Entry(str(exc.filename or fallback), kind, f"cannot list the folder: {exc.strerror}")


# --- opening what was walked ------------------------------------------------------

#: How inputs are opened: read-only, without updating the access time where
#: the kernel allows, never as a controlling terminal, never blocking on a FIFO.
READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOATIME", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
#: errno values of an open refused because a component is now a link (or no longer a folder).
SWAPPED_ERRNOS = frozenset({errno.ELOOP, errno.ENOTDIR, errno.EMLINK})


def open_readonly(path: str, extra: int = 0, dir_fd: int | None = None) -> int:
    """Open ``path`` with :data:`READ_FLAGS` (and ``extra``), relative to ``dir_fd`` if given."""
    flags = READ_FLAGS | extra
    try:
        return os.open(path, flags, dir_fd=dir_fd)
    except PermissionError:
        if flags & getattr(os, "O_NOATIME", 0):  # O_NOATIME needs ownership
            return os.open(path, flags & ~getattr(os, "O_NOATIME", 0), dir_fd=dir_fd)
        raise


def open_found(found: Found) -> int:
    """Open the file the walk found, following no symbolic link it did not allow.

    A walked file is opened beneath its folder one component at a time, each
    with ``O_NOFOLLOW``: a folder or file swapped for a link since the walk
    makes this fail with ``ELOOP`` or ``ENOTDIR`` (see :data:`SWAPPED_ERRNOS`)
    rather than lead outside. A named file is opened by its path, with
    ``O_NOFOLLOW`` unless ``found.follow``. Either way the caller must still
    compare ``fstat`` of the result with ``found.dev`` and ``found.ino``.
    """
    if found.root is None:
        return open_readonly(found.name, 0 if found.follow else _NOFOLLOW)
    parts = found.name.split(os.sep)
    if os.open not in os.supports_dir_fd or any(p in ("", ".", "..") for p in parts):
        return open_readonly(os.path.join(found.root, found.name), _NOFOLLOW)
    fd = os.open(found.root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            below = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = below
        return open_readonly(parts[-1], _NOFOLLOW, dir_fd=fd)
    finally:
        os.close(fd)


# --- an output file must not be an input ---------------------------------------------

#: Extensions of video and audio files, which are inputs too.
_MEDIA_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".m4a", ".webm", ".mkv", ".wav", ".avi", ".mp3", ".flac", ".ogg", ".m4s"}
)

#: Extensions of image files: an existing file with one of these is never overwritten by a report.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".webp", ".tif", ".tiff", ".dng"}
    | {".heic", ".heif", ".avif", ".jxl", ".svg", ".bmp"}
    | _MEDIA_EXTENSIONS
)


def output_clash(out: str, inputs: Iterable[str], what: str = "--out") -> str | None:
    """Why writing ``out`` would destroy an input, or ``None`` if it would not.

    Writing is refused when ``out`` already exists and is one of the named
    input files (same device and inode; ``-``: the file standard input was
    redirected from), lies inside a named folder where the
    walk would check it, or looks like an image (an image extension, or
    content that sniffs as one) wherever it is. A file that does not exist
    yet, and anything that is not a regular file (``/dev/stdout``), is fine.
    """
    try:
        info = os.stat(out)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    real = os.path.realpath(out)
    for given in inputs:
        try:
            # ``-`` is standard input: the file it was redirected from (``< in.dat``), if any.
            other = os.fstat(0) if given == "-" else os.stat(given)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
            source = "the file standard input reads" if given == "-" else f"the input {given}"
            return f"{what} {out} is {source}; writing it would destroy it"
        if stat.S_ISDIR(other.st_mode) and _walked_in(real, os.path.realpath(given)):
            return (
                f"{what} {out} is a file inside {given}, which is being checked; writing it would destroy it "
                "(choose a name ending in .jsonl, .json or .csv, or a place outside that folder)"
            )
    looks = _image_kind(out)
    if looks is not None:
        media = looks.endswith(tuple(_MEDIA_EXTENSIONS)) or "is video/" in looks or "is audio/" in looks
        held = "a video or audio file" if media else "an image"
        return f"{what} {out} already holds {held} ({looks}); refusing to overwrite it"
    return None


def _walked_in(real: str, root: str) -> bool:
    """Whether a walk of ``root`` reaches the file at (resolved) ``real``."""
    if not _inside(real, root) or real == root:
        return False
    parts = os.path.relpath(real, root).split(os.sep)
    return not any(p.startswith(".") for p in parts[:-1]) and wanted_in_walk(parts[-1])


def _image_kind(path: str) -> str | None:
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return f"its name ends in {ext}"
    from provenance.read.container import sniff

    try:
        fd = open_readonly(path)
    except OSError:
        return None
    try:
        head = os.read(fd, 1 << 16)
    except OSError:
        return None
    finally:
        os.close(fd)
    from provenance.read.media import sniff as sniff_media

    media_type = sniff(head) or sniff_media(head)
    return None if media_type is None else f"its content is {media_type}"
