"""Matroska and WebM (EBML): the header's DocType, Segment/Info and Segment/Tags.

EBML (RFC 8794): each element is a variable-length id (1 to 4 bytes, marker
bits kept), a variable-length size (1 to 8 bytes; all value bits set means
"unknown size", allowed for a Segment and a Cluster) and the data. Matroska
(RFC 9559): ``Segment/Info`` names the muxing and writing applications and the
title; ``Segment/Tags/Tag/SimpleTag`` holds ``TagName``/``TagString`` pairs,
which may nest (a nested tag is named ``PARENT/CHILD`` here). ffmpeg writes
its metadata keys as upper-case TagNames (``PROMPT``, ``WORKFLOW``,
``COMMENT``, ``ENCODER``). Clusters hold the frames: they are skipped by
their size, never entered (a Cluster of unknown size is crossed by its
children's headers). WebM and Matroska cannot carry an embedded C2PA manifest
store.
"""

from __future__ import annotations

from typing import BinaryIO

from provenance.limits import Limits
from provenance.read.media import MediaLayout
from provenance.read.mediawalk import MAX_DEPTH, Collector, Window, decode_text

SOURCE = "matroska"

EBML_HEADER = 0x1A45DFA3
DOC_TYPE = 0x4282
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_ID = 0x53AB
SEEK_POSITION = 0x53AC
INFO = 0x1549A966
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
TRACK_TYPE = 0x83
CLUSTER = 0x1F43B675
CUES = 0x1C53BB6B
ATTACHMENTS = 0x1941A469
CHAPTERS = 0x1043A770
TAGS = 0x1254C367
TAG = 0x7373
TARGETS = 0x63C0
TAG_TRACK_UID = 0x63C5
SIMPLE_TAG = 0x67C8
TAG_NAME = 0x45A3
TAG_STRING = 0x4487
TAG_BINARY = 0x4485

#: Segment/Info children read as tags, by the field names of MEDIA_CONTRACT.
_INFO_FIELDS = {0x4D80: "MuxingApp", 0x5741: "WritingApp", 0x7BA9: "Title"}
#: Elements that may follow a Cluster of unknown size: they end it.
_TOP_LEVEL = frozenset({SEEK_HEAD, INFO, TRACKS, CLUSTER, CUES, ATTACHMENTS, CHAPTERS, TAGS, EBML_HEADER, SEGMENT})
#: The DocType each media type must declare.
_DOC_TYPES = {
    "video/webm": "webm",
    "audio/webm": "webm",
    "video/x-matroska": "matroska",
    "audio/x-matroska": "matroska",
}
#: Longest TagName, DocType or Info string read (longer ones are malformed for our purpose).
_MAX_NAME = 4096

_Header = tuple[int, int | None, int]  # id, data size (None: unknown), offset of the data


class _Walk:
    __slots__ = ("col", "seek_tags", "tags_read", "video", "win")

    def __init__(self, win: Window, col: Collector) -> None:
        self.win = win
        self.col = col
        self.seek_tags: list[int] = []  # Tags positions the SeekHead lists
        self.tags_read: set[int] = set()
        self.video: bool | None = None  # from Tracks: any video track (None: no Tracks read)


def walk(source: BinaryIO, size: int, media_type: str, limits: Limits) -> MediaLayout:
    """Walk a WebM or Matroska file: header, Info, Tracks, Tags; Clusters skipped. Never raises."""
    col = Collector(MediaLayout(media_type=media_type, kind="video", c2pa=False, can_carry_c2pa=False), limits)
    state = _Walk(Window(source, size), col)
    try:
        _walk(state, media_type)
    except Exception as exc:  # a walker never raises; this is a bug, reported as a read problem
        col.issue("malformed", f"the Matroska file could not be walked: {type(exc).__name__}")
    if state.video is False:
        col.layout.kind = "audio"
    return col.finish()


def header(state: _Walk, pos: int, end: int) -> _Header | None:
    """The element header at ``pos``; ``None`` (and an issue) when it is cut or invalid."""
    raw = state.win.read(pos, 12)
    if not raw:
        state.col.issue("truncated", f"the file ends where an EBML element should start (byte {pos})")
        return None
    first = raw[0]
    id_len = 9 - first.bit_length()
    if first == 0 or id_len > 4:
        state.col.issue("malformed", f"an EBML element id of more than 4 bytes at byte {pos}")
        return None
    if len(raw) < id_len + 1:
        state.col.issue("truncated", f"the file ends inside an EBML element header (byte {pos})")
        return None
    element = int.from_bytes(raw[:id_len], "big")
    lead = raw[id_len]
    size_len = 9 - lead.bit_length()
    if lead == 0:
        state.col.issue("malformed", f"an EBML element size of more than 8 bytes at byte {pos}")
        return None
    if len(raw) < id_len + size_len:
        state.col.issue("truncated", f"the file ends inside an EBML element header (byte {pos})")
        return None
    value = lead & (0xFF >> size_len)
    for byte in raw[id_len + 1 : id_len + size_len]:
        value = (value << 8) | byte
    data = pos + id_len + size_len
    if data > end:
        state.col.issue("truncated", f"an EBML element header at byte {pos} runs past its parent")
        return None
    size: int | None = None if value == (1 << (7 * size_len)) - 1 else value
    return element, size, data


def _children(state: _Walk, start: int, end: int, what: str) -> list[tuple[int, int, int]]:
    """The ``(id, data start, data end)`` of each child in ``[start, end)``, bounded; issues for damage."""
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end:
        if not state.col.visit():
            break
        found = header(state, pos, end)
        if found is None:
            break
        element, size, data = found
        if size is None:
            state.col.issue("malformed", f"{what}: an element of unknown size at byte {pos}")
            size = end - data
        if data + size > end:
            state.col.issue("truncated", f"{what}: an element at byte {pos} declares {size} bytes, past its end")
            out.append((element, data, end))
            break
        out.append((element, data, data + size))
        pos = data + size
    return out


def _string(state: _Walk, start: int, end: int) -> str:
    return decode_text(state.win.read(start, end - start).rstrip(b"\x00"))


def _uint(state: _Walk, start: int, end: int) -> int | None:
    if not 0 < end - start <= 8:
        return None
    return int.from_bytes(state.win.read(start, end - start), "big")


def _walk(state: _Walk, media_type: str) -> None:
    win, col = state.win, state.col
    first = header(state, 0, win.size)
    if first is None or first[0] != EBML_HEADER:
        if first is not None:
            col.issue("malformed", "the file does not start with an EBML header")
        return
    _, size, data = first
    head_end = win.size if size is None else data + size
    if head_end > win.size:
        col.issue("truncated", "the file ends inside its EBML header")
        return
    doc_type = None
    for element, start, stop in _children(state, data, head_end, "EBML header"):
        if element == DOC_TYPE and stop - start <= _MAX_NAME:
            doc_type = _string(state, start, stop)
    col.raw(SOURCE, "DocType", doc_type if doc_type is not None else "(none)")
    expected = _DOC_TYPES.get(media_type)
    if doc_type not in ("webm", "matroska"):
        col.issue("malformed", "the EBML DocType is neither 'webm' nor 'matroska'")
    elif expected and doc_type != expected:
        col.issue("malformed", f"the EBML DocType is {doc_type!r}, not the {expected!r} of {media_type}")
    pos = head_end
    segments = 0
    while pos < win.size and not col.over_budget:
        found = header(state, pos, win.size)
        if found is None:
            break
        element, size, data = found
        end = win.size if size is None else data + size
        if end > win.size:
            col.issue("truncated", f"an element at byte {pos} declares {size} bytes, past the end of the file")
            end = win.size
        if element == SEGMENT:
            segments += 1
            if segments > 16:
                col.issue("limit-exceeded", "more than 16 Matroska segments: the rest is not read")
                break
            _segment(state, data, end)
        if not col.visit():
            break
        pos = end
    if not segments:
        col.issue("truncated", "the file has no Matroska Segment")
    elif not col.layout.has_media_data:
        col.issue("truncated", "the file has no Cluster: no video or audio data")


def _segment(state: _Walk, start: int, end: int) -> None:
    col = state.col
    pos = start
    while pos < end:
        if not col.visit():
            break
        found = header(state, pos, end)
        if found is None:
            break
        element, size, data = found
        if size is None:
            if element == CLUSTER:
                col.layout.has_media_data = True
                pos = _cross_cluster(state, data, end)
                continue
            col.issue("malformed", f"Segment: an element of unknown size at byte {pos}; the rest is not read")
            break
        stop = data + size
        if stop > end:
            col.issue("truncated", f"Segment: an element at byte {pos} declares {size} bytes, past the end")
            stop = end
        if element == CLUSTER:
            col.layout.has_media_data = col.layout.has_media_data or stop > data
        elif element == INFO:
            _info(state, data, stop)
        elif element == TAGS:
            state.tags_read.add(pos)
            _tags(state, data, stop)
        elif element == TRACKS:
            _tracks(state, data, stop)
        elif element == SEEK_HEAD:
            _seek_head(state, start, data, stop)
        pos = stop
    # Tags the SeekHead points to that the walk did not reach (a Cluster of
    # unknown size it could not cross, say): read them where they are.
    for target in state.seek_tags:
        if target not in state.tags_read and target < end and not col.over_budget:
            found = header(state, target, end)
            if found is not None and found[0] == TAGS and found[1] is not None:
                state.tags_read.add(target)
                _tags(state, found[2], min(found[2] + found[1], end))


def _cross_cluster(state: _Walk, pos: int, end: int) -> int:
    """Skip a Cluster of unknown size by its children; return where the next top-level element starts."""
    while pos < end:
        if not state.col.visit():
            return end
        found = header(state, pos, end)
        if found is None:
            return end
        element, size, data = found
        if element in _TOP_LEVEL:
            return pos
        if size is None:
            state.col.issue("malformed", f"Cluster: a child of unknown size at byte {pos}; the rest is not read")
            return end
        pos = data + size
    return end


def _info(state: _Walk, start: int, end: int) -> None:
    for element, data, stop in _children(state, start, end, "Segment/Info"):
        field = _INFO_FIELDS.get(element)
        if field is None:
            continue
        size = stop - data
        if size > state.col.text_left:
            state.col.room(size)
            continue
        state.col.tag(SOURCE, field, _string(state, data, stop), "Segment/Info", size)


def _tracks(state: _Walk, start: int, end: int) -> None:
    for element, data, stop in _children(state, start, end, "Segment/Tracks"):
        if element != TRACK_ENTRY:
            continue
        for child, cstart, cstop in _children(state, data, stop, "Segment/Tracks/TrackEntry"):
            if child == TRACK_TYPE:
                kind = _uint(state, cstart, cstop)
                if kind == 1:
                    state.video = True
                elif kind == 2 and state.video is None:
                    state.video = False


def _seek_head(state: _Walk, segment_data: int, start: int, end: int) -> None:
    for element, data, stop in _children(state, start, end, "Segment/SeekHead"):
        if element != SEEK:
            continue
        seek_id = position = None
        for child, cstart, cstop in _children(state, data, stop, "Segment/SeekHead/Seek"):
            if child == SEEK_ID:
                seek_id = _uint(state, cstart, cstop)
            elif child == SEEK_POSITION:
                position = _uint(state, cstart, cstop)
        if seek_id == TAGS and position is not None and len(state.seek_tags) < 64:
            state.seek_tags.append(segment_data + position)


def _tags(state: _Walk, start: int, end: int) -> None:
    for element, data, stop in _children(state, start, end, "Segment/Tags"):
        if element != TAG:
            continue
        location = "Segment/Tags/Tag/SimpleTag"
        for child, cstart, cstop in _children(state, data, stop, "Segment/Tags/Tag"):
            if child == TARGETS:
                for target, tstart, tstop in _children(state, cstart, cstop, "Segment/Tags/Tag/Targets"):
                    uid = _uint(state, tstart, tstop) if target == TAG_TRACK_UID else None
                    if uid:
                        location = f"Segment/Tags/Tag/SimpleTag (track UID {uid})"
            elif child == SIMPLE_TAG:
                _simple_tag(state, cstart, cstop, "", location, 4)


def _simple_tag(state: _Walk, start: int, end: int, parent: str, location: str, depth: int) -> None:
    col = state.col
    name = "(unnamed)"
    value: str | None = None
    nested: list[tuple[int, int]] = []
    for element, data, stop in _children(state, start, end, location):
        size = stop - data
        if element == TAG_NAME:
            if size > _MAX_NAME:
                col.issue("malformed", f"{location}: a TagName of {size} bytes")
                return
            name = _string(state, data, stop)
        elif element == TAG_STRING:
            if size > col.text_left:
                col.room(size)
            else:
                value = _string(state, data, stop)
        elif element == TAG_BINARY:
            col.raw(SOURCE, "TagBinary", f"{size} bytes")
        elif element == SIMPLE_TAG:
            nested.append((data, stop))
    full = f"{parent}/{name}" if parent else name
    if value is not None:
        col.tag(SOURCE, full, value, location)
    for data, stop in nested:
        if depth + 1 > MAX_DEPTH:
            col.issue("limit-exceeded", f"{location}: SimpleTags nested more than {MAX_DEPTH} deep; not read")
            return
        _simple_tag(state, data, stop, full, location, depth + 1)
