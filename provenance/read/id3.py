"""ID3v2 (2.2, 2.3, 2.4) and ID3v1 tags, and the MPEG audio frames after them (MP3).

The tag is read frame by frame from the file: text frames (``T***``, ``TXXX``),
comments (``COMM``, ``USLT``), URL frames (``W***``, ``WXXX``) become "id3"
tags; a ``PRIV`` frame owned by ``XMP`` is XMP; a ``GEOB`` frame with MIME type
``application/c2pa`` is where the C2PA library stores a manifest store in MP3
(and, in an ID3v2 tag before ``fLaC``, in FLAC). Pictures and other binary
frames are skipped by their size, never read. Whole-tag unsynchronisation
(ID3v2.3 and earlier) needs the tag in memory: it is read only when it is
smaller than the text and XMP limits together.

Frame layout (id3.org, ID3v2.3.0 and ID3v2.4.0 "structure" and "frames"):
text frames start with an encoding byte (0 Latin-1, 1 UTF-16 with BOM,
2 UTF-16BE, 3 UTF-8), values end with a NUL of that encoding.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from provenance.limits import Limits
from provenance.read.media import MediaLayout
from provenance.read.mediawalk import Buffer, Collector, Readable, Window, decode_legacy, name_of

SOURCE = "id3"

#: How far past the tag (or the start of the file) to look for the first MPEG audio frame.
_SYNC_WINDOW = 64 * 1024
#: ID3v2 tags read one after the other at the start of a file.
_MAX_TAGS = 8
#: Bytes of a GEOB frame read to see its MIME type.
_GEOB_HEAD = 1024
C2PA_MIME = "application/c2pa"

#: ID3v2.2 frame ids under their ID3v2.3/2.4 names, so that rules see one name.
_V22_NAMES = {
    b"TT1": "TIT1",
    b"TT2": "TIT2",
    b"TT3": "TIT3",
    b"TP1": "TPE1",
    b"TP2": "TPE2",
    b"TP3": "TPE3",
    b"TP4": "TPE4",
    b"TAL": "TALB",
    b"TCO": "TCON",
    b"TCM": "TCOM",
    b"TEN": "TENC",
    b"TSS": "TSSE",
    b"TYE": "TYER",
    b"TCR": "TCOP",
    b"TPB": "TPUB",
    b"TXX": "TXXX",
    b"COM": "COMM",
    b"ULT": "USLT",
    b"WXX": "WXXX",
    b"WAF": "WOAF",
    b"WAR": "WOAR",
    b"WAS": "WOAS",
    b"WCM": "WCOM",
    b"WCP": "WCOP",
    b"WPB": "WPUB",
    b"GEO": "GEOB",
}

_ENCODINGS = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}


def walk(source: BinaryIO, size: int, media_type: str, limits: Limits) -> MediaLayout:
    """Walk an MP3: its ID3v2 tag(s), the first audio frame, an ID3v1 trailer. Never raises."""
    col = Collector(MediaLayout(media_type=media_type, kind="audio"), limits)
    win = Window(source, size)
    try:
        pos = 0
        for _ in range(_MAX_TAGS):
            if win.read(pos, 3) != b"ID3":
                break
            end = read_tag(win, pos, size, col)
            if end is None or end <= pos:
                break
            pos = end
        if find_frame_sync(win, pos) is not None:
            col.layout.has_media_data = True
        else:
            col.issue("truncated", "no MPEG audio frame follows the ID3 tag: the file has no audio data")
        _id3v1(win, col)
    except Exception as exc:  # a walker never raises; this is a bug, reported as a read problem
        col.issue("malformed", f"the MP3 could not be walked: {type(exc).__name__}")
    return col.finish()


def mpeg_frame_header(head: bytes) -> bool:
    """Whether four bytes are a plausible MPEG audio frame header (sync, version, layer, rates)."""
    if len(head) < 3 or head[0] != 0xFF:
        return False
    second, third = head[1], head[2]
    version = (second >> 3) & 0b11
    layer = (second >> 1) & 0b11
    bitrate = third >> 4
    rate = (third >> 2) & 0b11
    return second & 0xE0 == 0xE0 and version != 0b01 and layer != 0 and bitrate not in (0, 15) and rate != 3


def find_frame_sync(win: Readable, pos: int) -> int | None:
    """The offset of the first MPEG audio frame header within a short window after ``pos``."""
    window = win.read(pos, _SYNC_WINDOW)
    at = window.find(b"\xff")
    while 0 <= at:
        if mpeg_frame_header(window[at : at + 3]):
            return pos + at
        at = window.find(b"\xff", at + 1)
    return None


def _syncsafe(raw: bytes) -> int:
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
    return value


def resync(data: bytes) -> bytes:
    """Undo ID3 unsynchronisation: every ``FF 00`` becomes ``FF``."""
    return data.replace(b"\xff\x00", b"\xff")


def read_tag(win: Readable, pos: int, end: int, col: Collector, where: str = "") -> int | None:
    """Read the ID3v2 tag at ``pos`` (which must not run past ``end``); return the offset after it.

    ``where`` prefixes the locations ("RIFF id3 chunk, "). ``None`` when there
    is no usable tag header at ``pos``.
    """
    header = win.read(pos, 10)
    if len(header) < 10 or header[:3] != b"ID3":
        col.issue("truncated", f"{where}the file ends inside an ID3v2 tag header")
        return None
    major, flags = header[3], header[5]
    if any(b & 0x80 for b in header[6:10]) or major == 0xFF or header[4] == 0xFF:
        col.issue("malformed", f"{where}the ID3v2 tag header at byte {pos} is not valid")
        return None
    body_size = _syncsafe(header[6:10])
    footer = 10 if major >= 4 and flags & 0x10 else 0
    tag_end = pos + 10 + body_size + footer
    body_end = pos + 10 + body_size
    if major not in (2, 3, 4):
        col.issue("malformed", f"{where}ID3v2.{major} tag skipped: only versions 2.2 to 2.4 are read")
        return tag_end
    if tag_end > end:
        col.issue("truncated", f"{where}the ID3v2 tag declares {body_size} bytes, past the end of its file or chunk")
        body_end = min(body_end, end)
    col.raw(SOURCE, "ID3v2", f"version 2.{major}, {body_size} bytes")
    label = f"{where}ID3v2.{major}"
    start = pos + 10
    src: Readable = win
    whole_unsync = bool(flags & 0x80)
    if major <= 3 and whole_unsync:
        # ID3v2.3: the whole tag after the header is unsynchronised; frame sizes
        # count the bytes after resynchronisation, so the tag is needed in memory.
        cap = col.limits.max_text_bytes + col.limits.max_xmp_bytes
        if body_end - start > cap:
            col.issue("limit-exceeded", f"{label} unsynchronised tag of {body_end - start} bytes skipped")
            return tag_end
        src = Buffer(resync(win.read(start, body_end - start)))
        start, body_end = 0, src.size
    if major == 2 and flags & 0x40:
        col.issue("malformed", f"{label} tag uses the undefined ID3v2.2 compression: skipped")
        return tag_end
    if major >= 3 and flags & 0x40:
        ext = src.read(start, 4)
        if len(ext) < 4:
            col.issue("truncated", f"{label} tag ends inside its extended header")
            return tag_end
        skip = int.from_bytes(ext, "big") + 4 if major == 3 else _syncsafe(ext)
        if skip < 4 or start + skip > body_end:
            col.issue("malformed", f"{label} extended header of {skip} bytes does not fit the tag")
            return tag_end
        start += skip
    _frames(src, start, body_end, major, whole_unsync and major >= 4, col, label)
    return tag_end


def _frames(src: Readable, p: int, end: int, major: int, all_unsync: bool, col: Collector, label: str) -> None:
    id_len, head_len = (3, 6) if major == 2 else (4, 10)
    while p + head_len <= end:
        if not col.visit():
            return
        head = src.read(p, head_len)
        if len(head) < head_len:
            col.issue("truncated", f"{label} tag: the file ends inside a frame header")
            return
        fid = head[:id_len]
        if fid[0] == 0:
            return  # padding
        if not all(0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A for c in fid):
            col.issue("malformed", f"{label} tag: a frame of invalid id {name_of(fid)!r}; the rest is not read")
            return
        flags = 0
        if major == 2:
            size = int.from_bytes(head[3:6], "big")
        elif major == 3:
            size = int.from_bytes(head[4:8], "big")
            flags = int.from_bytes(head[8:10], "big")
        else:
            raw = head[4:8]
            # Some writers (old iTunes) put plain sizes in ID3v2.4: a byte with
            # its high bit set cannot be syncsafe.
            size = int.from_bytes(raw, "big") if any(b & 0x80 for b in raw) else _syncsafe(raw)
            flags = int.from_bytes(head[8:10], "big")
        body = p + head_len
        if body + size > end:
            col.issue("truncated", f"{label} frame {name_of(fid)} declares {size} bytes, past the end of the tag")
            size = end - body
        name = _V22_NAMES.get(fid, fid.decode("ascii")) if major == 2 else fid.decode("ascii")
        _frame(src, name, body, size, major, flags, all_unsync, col, label)
        p = body + size


def _frame(
    src: Readable, name: str, body: int, size: int, major: int, flags: int, all_unsync: bool, col: Collector, label: str
) -> None:
    wanted_text = name[0] in "TW" or name in ("COMM", "USLT")
    if not (wanted_text or name in ("PRIV", "GEOB")):
        return  # pictures, play counters, chapters...: skipped by their size
    compressed = unsync = False
    skip = 0  # bytes the flags add before the frame data
    if major == 3:
        compressed = bool(flags & 0x0080)
        if flags & 0x0040:
            col.raw(SOURCE, name, "(encrypted frame, not read)")
            return
        skip = (4 if compressed else 0) + (1 if flags & 0x0020 else 0)
    elif major == 4:
        if flags & 0x0004:
            col.raw(SOURCE, name, "(encrypted frame, not read)")
            return
        compressed = bool(flags & 0x0008)
        unsync = bool(flags & 0x0002) or all_unsync
        skip = (1 if flags & 0x0040 else 0) + (4 if flags & 0x0001 else 0)
    if skip > size:
        col.issue("malformed", f"{label} frame {name}: its flags need more bytes than it has")
        return
    body += skip
    size -= skip
    location = f"{label} {name} frame"
    if name == "GEOB":
        head = src.read(body, min(size, _GEOB_HEAD))
        if unsync:
            head = resync(head)
        if compressed:
            col.raw(SOURCE, name, "(compressed GEOB frame, not read)")
            return
        mime = head[1:].split(b"\x00", 1)[0].decode("latin-1") if head else ""
        if mime.strip().lower() == C2PA_MIME:
            col.layout.c2pa = True
        col.raw(SOURCE, name, f"{mime or 'no MIME type'}, {size} bytes")
        return
    cap = col.limits.max_xmp_bytes + 256 if name == "PRIV" else col.text_left
    if size > cap:
        if name == "PRIV":
            col.issue("limit-exceeded", f"{label} PRIV frame of {size} bytes skipped", "xmp")
        else:
            col.room(size)  # counts the tag as skipped
        return
    data = src.read(body, size)
    if unsync:
        data = resync(data)
    if compressed:
        inflated = _inflate(data, cap)
        if inflated is None:
            col.issue("malformed", f"{label} frame {name}: bad or oversized compressed data")
            return
        data = inflated
    if name == "PRIV":
        owner, sep, payload = data.partition(b"\x00")
        if sep and owner == b"XMP":
            col.xmp(payload, f"an {label} PRIV frame")
        else:
            col.raw(SOURCE, "PRIV", f"owner {decode_legacy(owner)[:200]}, {len(payload)} bytes")
        return
    for field, value in _text_frame(name, data):
        col.tag(SOURCE, field, value, location)


def _inflate(data: bytes, cap: int) -> bytes | None:
    decomp = zlib.decompressobj()
    try:
        out = decomp.decompress(data, max(cap, 0) + 1)
    except zlib.error:
        return None
    return None if len(out) > cap else out


def _split(data: bytes, encoding: int) -> list[bytes]:
    """Values separated (or ended) by the encoding's NUL."""
    if encoding in (1, 2):
        parts: list[bytes] = []
        start = at = 0
        while True:
            at = data.find(b"\x00\x00", at)
            if at < 0:
                break
            if (at - start) % 2:  # the second byte of one character and the first of the next
                at += 1
                continue
            parts.append(data[start:at])
            start = at = at + 2
        parts.append(data[start:])
        return parts
    return data.split(b"\x00")


def _decode(raw: bytes, encoding: int) -> str:
    if encoding == 1:  # UTF-16 with a byte order mark (little endian when it lacks one)
        if raw[:2] == b"\xfe\xff":
            return raw[2:].decode("utf-16-be", "replace")
        if raw[:2] == b"\xff\xfe":
            return raw[2:].decode("utf-16-le", "replace")
        return raw.decode("utf-16-le", "replace")
    return raw.decode(_ENCODINGS.get(encoding, "utf-8"), "replace")


def _first(data: bytes, encoding: int) -> tuple[bytes, bytes]:
    """The first NUL-terminated string of ``data`` in ``encoding``, and the bytes after it."""
    parts = _split(data, encoding)
    head = parts[0]
    rest = data[len(head) + (2 if encoding in (1, 2) else 1) :]
    return head, rest


def _values(data: bytes, encoding: int) -> list[str]:
    values = [_decode(part, encoding) for part in _split(data, encoding)]
    while values and not values[-1]:
        values.pop()  # the terminator of the last value
    return values or [""]


def _text_frame(name: str, data: bytes) -> list[tuple[str, str]]:
    """``(field, value)`` pairs of a text, comment or URL frame."""
    if name[0] == "W" and name != "WXXX":  # a URL, always Latin-1
        return [(name, data.split(b"\x00", 1)[0].decode("latin-1"))]
    if not data:
        return []
    encoding = data[0]
    if encoding not in _ENCODINGS:
        return [(name, f"(text of unknown encoding {encoding})")]
    data = data[1:]
    if name in ("COMM", "USLT"):
        data = data[3:]  # language
    if name in ("TXXX", "WXXX", "COMM", "USLT"):
        desc_raw, data = _first(data, encoding)
        description = _decode(desc_raw, encoding)
        field = f"{name}:{description}" if description or name == "TXXX" else name
        if name == "WXXX":
            return [(field, data.split(b"\x00", 1)[0].decode("latin-1"))]
        return [(field, value) for value in _values(data, encoding)]
    return [(name, value) for value in _values(data, encoding)]


def _id3v1(win: Window, col: Collector) -> None:
    """The 128-byte ID3v1 trailer: title, artist, album, year and comment, when present."""
    if win.size < 128 + 3:
        return
    trailer = win.read(win.size - 128, 128)
    if trailer[:3] != b"TAG" or not col.visit():
        return
    fields = (("title", 3, 33), ("artist", 33, 63), ("album", 63, 93), ("year", 93, 97), ("comment", 97, 127))
    for field, start, stop in fields:
        raw = trailer[start:stop]
        if field == "comment" and raw[28] == 0 and raw[29] != 0:  # ID3v1.1: the last byte is a track number
            raw = raw[:28]
        value = decode_legacy(raw.split(b"\x00", 1)[0]).strip()
        if value:
            col.tag(SOURCE, f"ID3v1:{field}", value, "ID3v1 tag")
