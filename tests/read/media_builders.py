"""Exact bytes of small audio and video containers, written by hand for the walker tests.

Only structure, never real sound or pictures: the walkers read headers and
tags, so a frame header followed by zeros is all the "media data" they need.
"""

from __future__ import annotations

import struct

# --- ID3v2 / MP3 ---------------------------------------------------------------

#: One MPEG-1 Layer III frame header (128 kbit/s, 44.1 kHz) and its 417 bytes.
MPEG_FRAME = b"\xff\xfb\x90\x64" + bytes(413)


def syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def unsynchronise(data: bytes) -> bytes:
    """ID3 unsynchronisation: a zero after every FF that is followed by 111xxxxx or 00."""
    out = bytearray()
    for i, byte in enumerate(data):
        out.append(byte)
        if byte == 0xFF and (i + 1 == len(data) or data[i + 1] & 0xE0 == 0xE0 or data[i + 1] == 0):
            out.append(0)
    return bytes(out)


def id3_frame(fid: bytes, body: bytes, version: int = 4, flags: int = 0) -> bytes:
    if version == 2:
        return fid + len(body).to_bytes(3, "big") + body
    size = syncsafe(len(body)) if version == 4 else len(body).to_bytes(4, "big")
    return fid + size + flags.to_bytes(2, "big") + body


def id3_text(text: str, encoding: int = 3) -> bytes:
    """A text frame body (encoding byte + value) in one of the four ID3 encodings."""
    codec = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}[encoding]
    return bytes([encoding]) + text.encode(codec)


def id3_tag(frames: bytes, version: int = 4, flags: int = 0, padding: int = 16, size: int | None = None) -> bytes:
    body = frames + bytes(padding)
    return b"ID3" + bytes([version, 0, flags]) + syncsafe(len(body) if size is None else size) + body


def mp3(tag: bytes = b"", frames: int = 3) -> bytes:
    return tag + MPEG_FRAME * frames


def geob_c2pa(payload: bytes = b"\x00\x00\x00\x10jumb" + bytes(8)) -> bytes:
    """The GEOB frame body the C2PA library writes (UTF-8, MIME, file name, description, data)."""
    return b"\x03application/c2pa\x00c2pa\x00c2pa manifest store\x00" + payload


# --- RIFF ---------------------------------------------------------------------------


def chunk(cid: bytes, body: bytes, size: int | None = None) -> bytes:
    declared = len(body) if size is None else size
    return cid + struct.pack("<I", declared) + body + (b"\x00" if len(body) % 2 else b"")


def riff_list(list_type: bytes, *chunks: bytes) -> bytes:
    return chunk(b"LIST", list_type + b"".join(chunks))


def riff(form: bytes, *chunks: bytes) -> bytes:
    body = form + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav(*extra: bytes, samples: int = 32) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return riff(b"WAVE", chunk(b"fmt ", fmt), *extra, chunk(b"data", bytes(2 * samples)))


def avi(*extra: bytes) -> bytes:
    hdrl = riff_list(b"hdrl", chunk(b"avih", bytes(56)), riff_list(b"strl", chunk(b"strh", bytes(56))))
    movi = riff_list(b"movi", chunk(b"00dc", bytes(20)))
    return riff(b"AVI ", hdrl, *extra, movi, chunk(b"idx1", bytes(16)))


# --- EBML -----------------------------------------------------------------------------


def ebml_size(n: int, length: int | None = None) -> bytes:
    """An EBML size of ``length`` bytes (the shortest by default)."""
    if length is None:
        length = 1
        while n >= (1 << (7 * length)) - 1:
            length += 1
    return ((1 << (7 * length)) | n).to_bytes(length, "big")


UNKNOWN_SIZE_8 = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def element(eid: int, payload: bytes, size_len: int | None = None, unknown: bool = False) -> bytes:
    head = eid.to_bytes((eid.bit_length() + 7) // 8, "big")
    return head + (UNKNOWN_SIZE_8 if unknown else ebml_size(len(payload), size_len)) + payload


def ebml_header(doc_type: str = "webm") -> bytes:
    return element(0x1A45DFA3, element(0x4286, b"\x01") + element(0x4282, doc_type.encode()))


def simple_tag(name: str, value: str | None = None, *nested: bytes, size_len: int | None = None) -> bytes:
    payload = element(0x45A3, name.encode(), size_len)
    if value is not None:
        payload += element(0x4487, value.encode(), size_len)
    return element(0x67C8, payload + b"".join(nested), size_len)


def tags(*simple: bytes, track_uid: int | None = None) -> bytes:
    targets = element(0x63C0, element(0x63C5, track_uid.to_bytes(8, "big")) if track_uid else b"")
    return element(0x1254C367, element(0x7373, targets + b"".join(simple)))


def info(**fields: str) -> bytes:
    ids = {"MuxingApp": 0x4D80, "WritingApp": 0x5741, "Title": 0x7BA9}
    return element(0x1549A966, b"".join(element(ids[k], v.encode()) for k, v in fields.items()))


def cluster(unknown: bool = False) -> bytes:
    return element(0x1F43B675, element(0xE7, b"\x00") + element(0xA3, b"\x81\x00\x00\x80" + bytes(12)), unknown=unknown)


def matroska(*children: bytes, doc_type: str = "webm", unknown_segment: bool = False) -> bytes:
    return ebml_header(doc_type) + element(0x18538067, b"".join(children), unknown=unknown_segment)


# --- FLAC and Ogg --------------------------------------------------------------------


def vorbis_comments(*pairs: str, vendor: str = "test vendor") -> bytes:
    out = struct.pack("<I", len(vendor.encode())) + vendor.encode() + struct.pack("<I", len(pairs))
    for pair in pairs:
        out += struct.pack("<I", len(pair.encode())) + pair.encode()
    return out


def flac_block(kind: int, body: bytes, last: bool = False) -> bytes:
    return bytes([kind | (0x80 if last else 0)]) + len(body).to_bytes(3, "big") + body


def flac(*comments: str, prefix: bytes = b"", blocks: bytes = b"") -> bytes:
    streaminfo = flac_block(0, bytes(34))
    comment = flac_block(4, vorbis_comments(*comments), last=True)
    return prefix + b"fLaC" + streaminfo + blocks + comment + b"\xff\xf8\x69\x08" + bytes(32)


def ogg_page(serial: int, seq: int, granule: int, packet: bytes, first: bool = False) -> bytes:
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = struct.pack("<4sBBqIII", b"OggS", 0, 2 if first else 0, granule, serial, seq, 0)
    return header + bytes([len(lacing)]) + bytes(lacing) + packet


def ogg_vorbis(*comments: str) -> bytes:
    ident = b"\x01vorbis" + bytes(23)
    comment = b"\x03vorbis" + vorbis_comments(*comments) + b"\x01"
    setup = b"\x05vorbis" + bytes(8)
    audio = bytes(40)
    return (
        ogg_page(7, 0, 0, ident, first=True)
        + ogg_page(7, 1, 0, comment)
        + ogg_page(7, 2, 0, setup)
        + ogg_page(7, 3, 4096, audio)
    )


def ogg_opus(*comments: str) -> bytes:
    head = b"OpusHead" + bytes([1, 1]) + bytes(9)
    tags_packet = b"OpusTags" + vorbis_comments(*comments)
    return ogg_page(9, 0, 0, head, first=True) + ogg_page(9, 1, 0, tags_packet) + ogg_page(9, 2, 960, bytes(30))
