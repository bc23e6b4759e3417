"""FLAC metadata blocks and Ogg comment headers (Vorbis, Opus, Theora, FLAC in Ogg).

FLAC (xiph.org "FLAC format"): ``fLaC``, then metadata blocks, each a one-byte
header (bit 7: last block; bits 0-6: type) and a 24-bit big-endian length;
type 4 is a VORBIS_COMMENT, whose comments become "vorbis" tags. Then audio
frames, which start with the 14-bit sync code ``0b11111111111110``. The C2PA
library stores a FLAC file's manifest store in an ID3v2 tag before ``fLaC``
(a ``GEOB`` frame of MIME type ``application/c2pa``): that tag is read with
:mod:`provenance.read.id3`.

Ogg (RFC 3533): pages ``OggS`` with a segment table; a logical stream's
second packet is its comment header (``\\x03vorbis``, ``OpusTags``,
``\\x81theora``, or a FLAC-in-Ogg metadata block). Ogg cannot carry an
embedded C2PA manifest store.
"""

from __future__ import annotations

from typing import BinaryIO

from provenance.limits import Limits
from provenance.read import id3
from provenance.read.media import MediaLayout
from provenance.read.mediawalk import Collector, Readable, Window, decode_text

SOURCE = "vorbis"

_BLOCK_NAMES = {
    0: "STREAMINFO",
    1: "PADDING",
    2: "APPLICATION",
    3: "SEEKTABLE",
    4: "VORBIS_COMMENT",
    5: "CUESHEET",
    6: "PICTURE",
}


def walk(source: BinaryIO, size: int, media_type: str, limits: Limits) -> MediaLayout:
    """Walk a FLAC or an Ogg file (by its magic bytes). Never raises."""
    win = Window(source, size)
    head = win.read(0, 4)
    if head == b"OggS":
        layout = MediaLayout(media_type=media_type, kind="audio", can_carry_c2pa=False)
        col = Collector(layout, limits)
        try:
            _walk_ogg(win, col)
        except Exception as exc:  # a walker never raises; this is a bug, reported as a read problem
            col.issue("malformed", f"the Ogg file could not be walked: {type(exc).__name__}")
        return col.finish()
    col = Collector(MediaLayout(media_type=media_type, kind="audio"), limits)
    try:
        _walk_flac(win, col)
    except Exception as exc:  # a walker never raises; this is a bug, reported as a read problem
        col.issue("malformed", f"the FLAC file could not be walked: {type(exc).__name__}")
    return col.finish()


# --- FLAC -------------------------------------------------------------------


def _walk_flac(win: Window, col: Collector) -> None:
    pos = 0
    if win.read(0, 3) == b"ID3":
        end = id3.read_tag(win, 0, win.size, col)
        if end is None:
            return
        pos = end
    if win.read(pos, 4) != b"fLaC":
        if pos >= win.size:
            col.issue("truncated", "the file ends before the FLAC stream")
        else:
            col.issue("malformed", f"no FLAC stream marker at byte {pos}")
        return
    pos += 4
    while True:
        if not col.visit():
            return
        head = win.read(pos, 4)
        if len(head) < 4:
            col.issue("truncated", "the FLAC file ends inside its metadata blocks")
            return
        last = bool(head[0] & 0x80)
        kind = head[0] & 0x7F
        length = int.from_bytes(head[1:4], "big")
        body = pos + 4
        if body + length > win.size:
            col.issue("truncated", f"FLAC metadata block of type {kind} declares {length} bytes, past the end")
            return
        if kind == 4:
            if length > col.text_left:
                col.room(length)
            else:
                vorbis_comment(win.read(body, length), col, "FLAC VORBIS_COMMENT block")
        elif kind == 127:
            col.issue("malformed", f"invalid FLAC metadata block type 127 at byte {pos}")
            return
        else:
            col.raw("container", f"FLAC {_BLOCK_NAMES.get(kind, f'block {kind}')}", f"{length} bytes")
        pos = body + length
        if last:
            break
    sync = win.read(pos, 2)
    if len(sync) == 2 and sync[0] == 0xFF and sync[1] & 0xFE == 0xF8:
        col.layout.has_media_data = True
    elif pos >= win.size:
        col.issue("truncated", "the FLAC file ends after its metadata: it has no audio frames")
    else:
        col.issue("malformed", f"no FLAC audio frame after the metadata blocks (byte {pos})")


def vorbis_comment(data: bytes, col: Collector, location: str) -> None:
    """A Vorbis comment list: vendor string, count, then ``NAME=value`` comments (little endian lengths)."""
    if len(data) < 8:
        col.issue("truncated", f"{location}: too short for a comment header")
        return
    vendor_len = int.from_bytes(data[0:4], "little")
    pos = 4 + vendor_len
    if pos + 4 > len(data):
        col.issue("truncated", f"{location}: the vendor string runs past the block")
        return
    vendor = decode_text(data[4:pos])
    col.tag(SOURCE, "vendor", vendor, f"{location} (vendor string)")
    count = int.from_bytes(data[pos : pos + 4], "little")
    pos += 4
    for index in range(count):
        if not col.visit():
            return
        if pos + 4 > len(data):
            col.issue("truncated", f"{location}: {count - index} of its {count} comments are missing")
            return
        length = int.from_bytes(data[pos : pos + 4], "little")
        pos += 4
        if pos + length > len(data):
            col.issue("truncated", f"{location}: comment {index + 1} runs past the block")
            return
        entry = data[pos : pos + length]
        pos += length
        name, sep, value = entry.partition(b"=")
        if not sep:
            col.issue("malformed", f"{location}: comment {index + 1} has no '='")
            continue
        col.tag(SOURCE, decode_text(name), decode_text(value), location, length)


# --- Ogg ----------------------------------------------------------------------

#: The granule position of a page on which no packet ends.
_NO_GRANULE = 0xFFFF_FFFF_FFFF_FFFF


class _Stream:
    __slots__ = ("codec", "done", "packet", "packets", "skipping")

    def __init__(self) -> None:
        self.packets = 0  # complete packets seen
        self.packet = bytearray()
        self.codec = ""
        self.done = False  # comment header read (or not expected)
        self.skipping = False  # the packet being assembled is over the limit


def _walk_ogg(win: Readable, col: Collector) -> None:
    streams: dict[int, _Stream] = {}
    pos = 0
    while pos < win.size:
        if not col.visit():
            return
        head = win.read(pos, 27)
        if len(head) < 27:
            col.issue("truncated", f"the Ogg file ends inside a page header (byte {pos})")
            return
        if head[:4] != b"OggS":
            col.issue("malformed", f"no Ogg page at byte {pos}; the rest is not read")
            return
        granule = int.from_bytes(head[6:14], "little")
        serial = int.from_bytes(head[14:18], "little")
        nsegs = head[26]
        table = win.read(pos + 27, nsegs)
        if len(table) < nsegs:
            col.issue("truncated", f"the Ogg file ends inside a page's segment table (byte {pos})")
            return
        body = pos + 27 + nsegs
        body_len = sum(table)
        if body + body_len > win.size:
            col.issue("truncated", f"the Ogg page at byte {pos} runs past the end of the file")
            body_len = win.size - body
        stream = streams.get(serial)
        if stream is None:
            if len(streams) >= 64:
                col.issue("limit-exceeded", "more than 64 Ogg logical streams: the rest is not read")
                return
            stream = streams[serial] = _Stream()
        if granule not in (0, _NO_GRANULE) and stream.packets >= 1:
            col.layout.has_media_data = True
        if not stream.done:
            _ogg_packets(win, body, table, stream, col)
        if col.layout.has_media_data and all(s.done for s in streams.values()):
            return
        pos = body + body_len
    if not col.layout.has_media_data:
        col.issue("truncated", "the Ogg file has no audio or video data after its headers")


def _ogg_packets(win: Readable, body: int, table: bytes, stream: _Stream, col: Collector) -> None:
    """Assemble the packets of one page until the stream's comment header is read."""
    offset = body
    for lacing in table:
        if stream.done:
            return
        if not stream.skipping:
            if len(stream.packet) + lacing > col.text_left:
                col.room(len(stream.packet) + lacing)  # counts the comment header as skipped
                stream.skipping = True
                stream.packet.clear()
            else:
                stream.packet += win.read(offset, lacing)
        offset += lacing
        if lacing < 255:  # the packet ends here
            _ogg_packet(bytes(stream.packet), stream, col)
            stream.packet.clear()
            stream.skipping = False


def _ogg_packet(packet: bytes, stream: _Stream, col: Collector) -> None:
    stream.packets += 1
    if stream.packets == 1:
        if packet.startswith(b"\x01vorbis"):
            stream.codec = "Vorbis"
        elif packet.startswith(b"OpusHead"):
            stream.codec = "Opus"
        elif packet.startswith(b"\x80theora"):
            stream.codec = "Theora"
            col.layout.kind = "video"
        elif packet.startswith(b"\x7fFLAC"):
            stream.codec = "FLAC"
        else:
            stream.done = True  # a codec whose comments we do not read
        if stream.codec:
            col.raw("container", "Ogg stream", stream.codec)
        return
    location = f"Ogg {stream.codec} comment header"
    if stream.codec == "Vorbis" and packet.startswith(b"\x03vorbis"):
        vorbis_comment(packet[7:], col, location)
    elif stream.codec == "Opus" and packet.startswith(b"OpusTags"):
        vorbis_comment(packet[8:], col, location)
    elif stream.codec == "Theora" and packet.startswith(b"\x81theora"):
        vorbis_comment(packet[7:], col, location)
    elif stream.codec == "FLAC" and packet[:1] and packet[0] & 0x7F == 4:
        vorbis_comment(packet[4:], col, location)
    elif stream.codec == "FLAC" and stream.packets < 16:
        return  # other FLAC metadata blocks may come first
    stream.done = True
