"""RIFF containers of sound and video: WAV (``WAVE``, also RF64) and AVI (``AVI ``).

Chunks are a four-character id, a 32-bit little-endian size and the data,
padded to an even length. ``LIST`` chunks hold more chunks after a
four-character list type: ``LIST/INFO`` holds text chunks (``ISFT``
software, ``ICMT`` comment, ``INAM`` title...) that become "riff-info" tags;
``LIST/movi`` holds an AVI's frames and is never entered. ``_PMX`` holds
XMP; ``C2PA`` holds the manifest store the C2PA library embeds
(``riff_io.rs``; verified by signing a WAV and an AVI with c2pa-python 0.38:
a top-level ``C2PA`` chunk, inside the ``RIFF`` chunk, after the media data,
starting with a JUMBF ``jumb`` box). ``id3 ``/``ID3 `` chunks hold an ID3v2
tag, read with :mod:`provenance.read.id3`; ``bext`` (Broadcast WAV) names
its originator. ``data`` (WAV) is the sound: it is never read.
"""

from __future__ import annotations

from typing import BinaryIO

from provenance.limits import Limits
from provenance.read import id3
from provenance.read.media import MediaLayout
from provenance.read.mediawalk import MAX_DEPTH, Collector, Window, decode_legacy, name_of

SOURCE = "riff-info"

_UNKNOWN_SIZE = 0xFFFF_FFFF


class _Walk:
    __slots__ = ("col", "data_size", "form", "win")

    def __init__(self, win: Window, col: Collector, form: bytes) -> None:
        self.win = win
        self.col = col
        self.form = form
        self.data_size: int | None = None  # RF64: the real size of the data chunk (ds64)


def walk(source: BinaryIO, size: int, media_type: str, limits: Limits) -> MediaLayout:
    """Walk a WAV or AVI file chunk by chunk; never reads the sound or the frames. Never raises."""
    win = Window(source, size)
    head = win.read(0, 12)
    form = head[8:12]
    kind = "video" if form == b"AVI " else "audio"
    col = Collector(MediaLayout(media_type=media_type, kind=kind), limits)
    try:
        _walk(win, col, head)
    except Exception as exc:  # a walker never raises; this is a bug, reported as a read problem
        col.issue("malformed", f"the RIFF file could not be walked: {type(exc).__name__}")
    return col.finish()


def _walk(win: Window, col: Collector, head: bytes) -> None:
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64"):
        col.issue("truncated" if len(head) < 12 else "malformed", "no RIFF header")
        return
    state = _Walk(win, col, head[8:12])
    pos = 0
    while pos + 12 <= win.size:
        head = win.read(pos, 12)
        if head[:4] not in (b"RIFF", b"RF64") or not col.visit():
            break
        declared = int.from_bytes(head[4:8], "little")
        end = pos + 8 + declared
        if head[:4] == b"RF64" and declared == _UNKNOWN_SIZE:
            end = win.size  # the real size is in the ds64 chunk; the chunks say where they end
        elif end > win.size:
            col.issue("truncated", f"the RIFF chunk at byte {pos} declares {declared} bytes, past the end of the file")
            end = win.size
        _chunks(state, pos + 12, end, 0, f"RIFF {name_of(head[8:12]).strip()}")
        pos = end + (declared & 1)  # an AVI over 1 GB continues in 'RIFF AVIX' chunks
    if not col.layout.has_media_data:
        what = "data chunk" if state.form != b"AVI " else "LIST movi chunk"
        col.issue("truncated", f"the file has no {what}: no sound or video data")


def _chunks(state: _Walk, pos: int, end: int, depth: int, path: str) -> None:
    win, col = state.win, state.col
    while pos + 8 <= end:
        if not col.visit():
            return
        head = win.read(pos, 8)
        cid = head[:4]
        size = int.from_bytes(head[4:8], "little")
        if cid == b"data" and size == _UNKNOWN_SIZE and state.data_size is not None:
            size = state.data_size
        body = pos + 8
        chunk_end = body + size
        if chunk_end > end:
            col.issue("truncated", f"{path}: chunk '{name_of(cid)}' at byte {pos} declares {size} bytes, past its end")
            if cid == b"data" and end > body:  # a cut recording still has sound
                col.layout.has_media_data = True
            elif cid == b"LIST" and win.read(body, 4) == b"movi" and end > body + 4:
                col.layout.has_media_data = True
            return
        _chunk(state, cid, body, size, depth, path)
        pos = chunk_end + (size & 1)


def _chunk(state: _Walk, cid: bytes, body: int, size: int, depth: int, path: str) -> None:
    win, col = state.win, state.col
    if cid == b"LIST":
        list_type = win.read(body, 4)
        where = f"{path}/LIST {name_of(list_type)}"
        if list_type == b"movi":
            col.layout.has_media_data = col.layout.has_media_data or size > 4
        elif list_type == b"INFO":
            _info(state, body + 4, body + size, where)
        elif len(list_type) == 4:
            if depth + 1 >= MAX_DEPTH:
                col.issue("limit-exceeded", f"{where}: nested more than {MAX_DEPTH} deep; not read")
                return
            _chunks(state, body + 4, body + size, depth + 1, where)
    elif cid == b"data":
        col.layout.has_media_data = col.layout.has_media_data or size > 0
    elif cid == b"C2PA":
        col.layout.c2pa = True
        col.raw("container", "C2PA chunk", f"{size} bytes")
    elif cid == b"_PMX":
        if size > col.limits.max_xmp_bytes:
            col.issue("limit-exceeded", f"{path}: _PMX XMP chunk of {size} bytes skipped", "xmp")
        else:
            col.xmp(win.read(body, size), f"{path} _PMX chunk")
    elif cid in (b"id3 ", b"ID3 "):
        if win.read(body, 3) == b"ID3":
            id3.read_tag(win, body, body + size, col, f"{path} {name_of(cid).strip()} chunk, ")
        else:
            col.issue("malformed", f"{path}: the {name_of(cid).strip()} chunk holds no ID3v2 tag")
    elif cid == b"ds64" and size >= 24:
        raw = win.read(body, 24)
        state.data_size = int.from_bytes(raw[8:16], "little")
    elif cid == b"bext" and size >= 320:
        _bext(state, win.read(body, 320), path)


def _info(state: _Walk, pos: int, end: int, where: str) -> None:
    """The text chunks of a ``LIST/INFO``: id, size, NUL-terminated text."""
    win, col = state.win, state.col
    while pos + 8 <= end:
        if not col.visit():
            return
        head = win.read(pos, 8)
        cid = head[:4]
        size = int.from_bytes(head[4:8], "little")
        body = pos + 8
        if body + size > end:
            col.issue("truncated", f"{where}: chunk '{name_of(cid)}' declares {size} bytes, past the list's end")
            return
        if size > col.text_left:
            col.room(size)
        else:
            value = decode_legacy(win.read(body, size).rstrip(b"\x00"))
            col.tag(SOURCE, name_of(cid), value, where, size)
        pos = body + size + (size & 1)


def _bext(state: _Walk, raw: bytes, path: str) -> None:
    """Broadcast WAV: Description (256 bytes), Originator (32), OriginatorReference (32)."""
    for field, start, stop in (("Description", 0, 256), ("Originator", 256, 288), ("OriginatorReference", 288, 320)):
        value = decode_legacy(raw[start:stop].split(b"\x00", 1)[0]).strip()
        if value:
            state.col.tag(SOURCE, f"bext:{field}", value, f"{path}/bext")
