"""Turn command-line paths into the list of files to check.

Directories are walked recursively in sorted order, passing over hidden
files and folders and documents (notes, scripts, sidecars: see
:data:`SKIPPED_EXTENSIONS`) that sit beside images. Symbolic links to
directories are not followed (so loops cannot happen); a link to a file is
followed only when its target lies inside the tree being walked. Entries
that cannot be checked (unreadable folders, special files, links out of the
tree) still appear, each with its reason.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    """A file to check, or a path that will be reported with ``error``."""

    path: str
    error_kind: str | None = None
    error: str | None = None


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
    }
)


def wanted_in_walk(name: str) -> bool:
    """Whether a folder walk checks ``name``: not hidden, not a known document type."""
    if name.startswith("."):
        return False
    return os.path.splitext(name)[1].lower() not in SKIPPED_EXTENSIONS


def _inside(path: str, root: str) -> bool:
    try:
        target = os.path.realpath(path)
    except OSError:
        return False
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _classify(path: str, root: str | None) -> Entry | None:
    try:
        info = os.lstat(path)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            return Entry(path, "not-found", str(exc.strerror))
        kind = "permission-denied" if isinstance(exc, PermissionError) else "unreadable"
        return Entry(path, kind, str(exc.strerror))
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return Entry(path, "link-loop", "a symbolic link that leads back to itself: not followed")
            return Entry(path, "broken-link", "a symbolic link whose target does not exist")
        if stat.S_ISDIR(target.st_mode):
            return None  # directory links are not followed
        if root is not None and not _inside(path, root):
            return Entry(
                path, "link-outside-tree", "a symbolic link pointing outside the folder being checked: skipped"
            )
        info = target
    if stat.S_ISREG(info.st_mode):
        return Entry(path)
    if stat.S_ISDIR(info.st_mode):
        return None
    return Entry(path, "special-file", "not a regular file (FIFO, socket or device): skipped unread")


def walk(paths: Iterable[str]) -> Iterator[Entry]:
    """Yield every file under ``paths``, in order, with errors as entries."""
    for given in paths:
        if given == "-":
            yield Entry("-")
            continue
        try:
            is_dir = os.path.isdir(given) and not os.path.islink(given.rstrip(os.sep) or given)
        except OSError:
            is_dir = False
        if not is_dir:
            if os.path.isdir(given):  # a link to a directory named explicitly: walk it
                is_dir = True
            else:
                entry = _classify(given, None)
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
        for name in sorted(filenames):
            if not wanted_in_walk(name):
                continue
            entry = _classify(os.path.join(dirpath, name), root)
            if entry is not None:
                yield entry
    while errors:
        exc = errors.pop(0)
        yield _dir_error(exc, top)


def _dir_error(exc: OSError, fallback: str) -> Entry:
    kind = "permission-denied" if isinstance(exc, PermissionError) else "unreadable"
    return Entry(str(exc.filename or fallback), kind, f"cannot list the folder: {exc.strerror}")
