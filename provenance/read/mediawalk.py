"""Shared plumbing for the audio and video walkers (EBML, RIFF, ID3, FLAC/Ogg).

Every walker reads a seekable file through a :class:`Window`, which reads
small pieces and caches one block, so that a walk over a 2 GB file touches
only its headers and tag payloads. A :class:`Collector` holds the layout
being filled and enforces the bounds of MEDIA_CONTRACT: at most
:data:`~provenance.read.container.MAX_TEXT_ITEMS` tags, at most
``limits.max_text_bytes`` of tag text, at most :data:`MAX_ELEMENTS`
structures visited, nesting at most :data:`MAX_DEPTH` deep.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

from provenance.evidence import RawField, ReadIssue
from provenance.limits import Limits
from provenance.read.container import MAX_TEXT_ITEMS
from provenance.read.media import MediaLayout, Tag

#: Boxes, elements, chunks, frames or pages visited per file.
MAX_ELEMENTS = 100_000
#: Nesting depth of containers inside containers.
MAX_DEPTH = 32
#: Issues kept per file: one hostile file must not make a report of megabytes.
MAX_ISSUES = 64

_BLOCK = 8 * 1024  # one cached block: a jump over a Cluster or chunk costs one small read


class Readable(Protocol):
    """Anything the walkers read from: a file :class:`Window` or an in-memory :class:`Buffer`."""

    size: int

    def read(self, pos: int, n: int) -> bytes: ...


class Buffer:
    """Bytes already in memory (a de-unsynchronised ID3 tag, say) read like a :class:`Window`."""

    __slots__ = ("data", "size")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def read(self, pos: int, n: int) -> bytes:
        if pos < 0 or n <= 0:
            return b""
        return self.data[pos : pos + n]


class Window:
    """Reads ``n`` bytes at ``pos`` of a seekable file, never past ``size``."""

    __slots__ = ("_block", "_block_size", "_start", "size", "source")

    def __init__(self, source: BinaryIO, size: int, block: int = _BLOCK) -> None:
        self.source = source
        self.size = size
        self._block_size = block
        self._start = 0
        self._block = b""

    def read(self, pos: int, n: int) -> bytes:
        """At most ``n`` bytes from ``pos`` (fewer at the end of the file)."""
        if pos < 0 or n <= 0 or pos >= self.size:
            return b""
        n = min(n, self.size - pos)
        end = pos + n
        if self._start <= pos and end <= self._start + len(self._block):
            return self._block[pos - self._start : end - self._start]
        if n <= self._block_size // 4:  # small reads share one cached block
            self.source.seek(pos)
            self._block = self.source.read(min(self._block_size, self.size - pos))
            self._start = pos
            return self._block[:n]
        self.source.seek(pos)
        return self.source.read(n)


class Collector:
    """The layout being filled, with the per-file budgets of the contract."""

    def __init__(self, layout: MediaLayout, limits: Limits) -> None:
        self.layout = layout
        self.limits = limits
        self.text_left = limits.max_text_bytes
        self.visits = 0
        self.skipped_tags = 0
        self.dropped_issues = 0
        self.over_budget = False

    def visit(self) -> bool:
        """Count one structure; ``False`` (and one issue) once over :data:`MAX_ELEMENTS`."""
        self.visits += 1
        if self.visits == MAX_ELEMENTS + 1:
            self.issue("limit-exceeded", f"more than {MAX_ELEMENTS} structures: the rest of the file was not read")
            self.over_budget = True
        return self.visits <= MAX_ELEMENTS

    def room(self, nbytes: int) -> bool:
        """Whether ``nbytes`` more of tag text fit; if not, the tag is counted as skipped."""
        if len(self.layout.tags) >= MAX_TEXT_ITEMS or nbytes > self.text_left:
            self.skipped_tags += 1
            return False
        return True

    def tag(self, source: str, field: str, value: str, location: str, nbytes: int | None = None) -> None:
        """Record one tag, charged ``nbytes`` (its stored length) against the text budget."""
        cost = len(value.encode("utf-8", "replace")) if nbytes is None else nbytes
        cost += len(field)
        if not self.room(cost):
            return
        self.text_left -= cost
        self.layout.tags.append(Tag(source, field, value, location))
        self.layout.raw.append(RawField(source, field, value))

    def raw(self, source: str, field: str, value: str) -> None:
        """A field shown by ``--verbose`` only (not evidence for the rules)."""
        if len(self.layout.raw) < MAX_TEXT_ITEMS:
            self.layout.raw.append(RawField(source, field, value))

    def xmp(self, packet: bytes, where: str) -> None:
        if len(packet) > self.limits.max_xmp_bytes:
            self.issue("limit-exceeded", f"XMP of {len(packet)} bytes in {where} skipped", "xmp")
        elif len(self.layout.xmp) < MAX_TEXT_ITEMS:
            self.layout.xmp.append(packet)

    def issue(self, kind: str, message: str, source: str = "container") -> None:
        if len(self.layout.issues) < MAX_ISSUES:
            self.layout.issues.append(ReadIssue(kind, message, source))
        else:
            self.dropped_issues += 1

    def finish(self) -> MediaLayout:
        """Add the summary issues and hand the layout back."""
        if self.skipped_tags:
            message = f"{self.skipped_tags} tags skipped: over the size or count limit"
            self.layout.issues.append(ReadIssue("limit-exceeded", message))
        if self.dropped_issues:
            message = f"{self.dropped_issues} more problems with this file's structure not listed"
            self.layout.issues.append(ReadIssue("malformed", message))
        return self.layout


def decode_text(raw: bytes) -> str:
    """Tag text: UTF-8, with replacement characters where it is not."""
    return raw.decode("utf-8", "replace")


def decode_legacy(raw: bytes) -> str:
    """Text of formats older than UTF-8 (RIFF INFO, ID3v1): UTF-8 if it is, else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def name_of(code: bytes) -> str:
    """A four-character code for a message: printable ASCII kept, anything else escaped."""
    return "".join(chr(c) if 0x20 <= c < 0x7F else f"\\x{c:02x}" for c in code)
