"""A tiny RIFF INFO walker, for the media integration tests only (the shipped walkers live in
provenance/read/). It reads real WAV bytes: top-level chunks, LIST/INFO text, and the C2PA chunk."""

from __future__ import annotations

import struct
from typing import BinaryIO

from provenance.evidence import ReadIssue
from provenance.limits import Limits
from provenance.read.media import MediaLayout, Tag

#: What the next walk does instead of reading: "" (read), "raise", "no-data", "init".
MODE = {"mode": ""}


def walk(source: BinaryIO, size: int, media_type: str, limits: Limits) -> MediaLayout:
    mode = MODE["mode"]
    if mode == "raise":
        raise RuntimeError("walker bug")
    if media_type.startswith("video/"):  # BMFF: only what the init-segment tests need
        init = mode == "init"
        return MediaLayout(media_type, "video", c2pa=None, has_media_data=not init, init_segment=init, fragmented=init)
    layout = MediaLayout(media_type, "audio")
    source.seek(12)
    at = 12
    while at + 8 <= size:
        source.seek(at)
        kind, length = struct.unpack("<4sI", source.read(8))
        if at + 8 + length > size:
            layout.issues.append(ReadIssue("truncated", f"the file ends inside the {kind!r} chunk"))
            break
        if kind == b"data":
            layout.has_media_data = True
        elif kind == b"C2PA":
            layout.c2pa = True
        elif kind == b"LIST" and source.read(4) == b"INFO":
            inner = at + 12
            while inner + 8 <= at + 8 + length:
                source.seek(inner)
                field, n = struct.unpack("<4sI", source.read(8))
                value = source.read(n).rstrip(b"\0").decode("utf-8", "replace")
                layout.tags.append(Tag("riff-info", field.decode("ascii", "replace"), value, "RIFF/LIST/INFO"))
                inner += 8 + n + (n & 1)
        at += 8 + length + (length & 1)
    if mode == "no-data":
        layout.has_media_data = False
    if mode == "init":
        layout.has_media_data = False
        layout.init_segment = layout.fragmented = True
    return layout
