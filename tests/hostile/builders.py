"""Hostile-input builders: structure-aware cuts, bit flips and shuffles, and bombs.

Every image starts as a synthetic gradient drawn here with Pillow (or is a
benign sample/fixture file read by the caller); the metadata blocks are
written byte by byte so that lengths, counts and nesting can lie.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterator

from PIL import Image

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"


# --- Synthetic images ------------------------------------------------------


def gradient(size: tuple[int, int] = (24, 16), mode: str = "RGB") -> Image.Image:
    return Image.linear_gradient("L").resize(size).convert(mode)


def encode(fmt: str, size: tuple[int, int] = (24, 16), mode: str = "RGB", **params: object) -> bytes:
    out = io.BytesIO()
    gradient(size, mode).save(out, fmt, **params)
    return out.getvalue()


def png_chunk(ctype: bytes, body: bytes, length: int | None = None) -> bytes:
    """One PNG chunk; ``length`` overrides the declared length (the body stays)."""
    declared = len(body) if length is None else length
    return struct.pack(">I", declared) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)


def png_with(chunks: bytes, before: bytes = b"IDAT") -> bytes:
    """A small PNG with ``chunks`` inserted before its first ``before`` chunk."""
    data = encode("PNG")
    at = data.index(before) - 4
    return data[:at] + chunks + data[at:]


def ihdr(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` but whose IDAT is tiny."""
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + ihdr(width, height) + idat + png_chunk(b"IEND", b"")


def jpeg_segment(marker: int, body: bytes, length: int | None = None) -> bytes:
    declared = len(body) + 2 if length is None else length
    return bytes([0xFF, marker]) + struct.pack(">H", declared & 0xFFFF) + body


def jpeg_with(segments: bytes) -> bytes:
    """A small JPEG with ``segments`` right after its SOI marker."""
    data = encode("JPEG", quality=80)
    return data[:2] + segments + data[2:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """A JPEG whose SOF0 claims ``width`` x ``height`` (the scan stays tiny)."""
    data = bytearray(encode("JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def xmp_packet(inner: str | bytes, prolog: bytes = b"") -> bytes:
    body = inner.encode() if isinstance(inner, str) else inner
    return (
        prolog + b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="' + RDF.encode() + b'">' + body + b"</rdf:RDF>"
        b'</x:xmpmeta><?xpacket end="w"?>'
    )


def xmp_fields(fields: dict[str, str]) -> bytes:
    """An XMP packet with IPTC Extension, xmp: and dc: properties as attributes."""
    attrs = " ".join(f'{k}="{v}"' for k, v in fields.items())
    return xmp_packet(
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" {attrs}/>'
    )


def tiff_ifd(entries: list[tuple[int, int, int, bytes]], endian: str = "<") -> bytes:
    """A TIFF header and one IFD at offset 8; each entry is (tag, type, count, 4-byte value)."""
    body = struct.pack(endian + "H", len(entries))
    for tag, typ, count, value in entries:
        body += struct.pack(endian + "HHI", tag, typ, count) + value.ljust(4, b"\x00")[:4]
    head = b"II*\x00" if endian == "<" else b"MM\x00*"
    return head + struct.pack(endian + "I", 8) + body + b"\x00\x00\x00\x00"


# --- Structure: where the boundaries are -----------------------------------


def _jpeg_blocks(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each marker segment before the scan, then the scan to EOF."""
    blocks = [(0, 2)]
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA or marker == 0xD9:
            blocks.append((pos, len(data)))
            return blocks
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xFF):
            blocks.append((pos, pos + 2))
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = min(pos + 2 + length, len(data))
        blocks.append((pos, end))
        pos = end
    if pos < len(data):
        blocks.append((pos, len(data)))
    return blocks


def _png_blocks(data: bytes) -> list[tuple[int, int]]:
    blocks = [(0, 8)]
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = min(pos + 12 + length, len(data))
        blocks.append((pos, end))
        pos = end
    if pos < len(data):
        blocks.append((pos, len(data)))
    return blocks


def _riff_blocks(data: bytes) -> list[tuple[int, int]]:
    blocks = [(0, 12)]
    pos = 12
    while pos + 8 <= len(data):
        (size,) = struct.unpack_from("<I", data, pos + 4)
        end = min(pos + 8 + size + (size & 1), len(data))
        blocks.append((pos, end))
        pos = end
    if pos < len(data):
        blocks.append((pos, len(data)))
    return blocks


def _gif_blocks(data: bytes) -> list[tuple[int, int]]:
    """Header (with the global colour table), then each extension or image."""
    if len(data) < 13:
        return [(0, len(data))]
    pos = 13 + (3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    blocks = [(0, min(pos, len(data)))]
    while pos < len(data):
        start = pos
        kind = data[pos]
        if kind == 0x21 and pos + 2 <= len(data):
            pos += 2
        elif kind == 0x2C and pos + 10 <= len(data):
            flags = data[pos + 9]
            pos += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        else:
            blocks.append((start, len(data)))
            return blocks
        while pos < len(data) and data[pos] != 0:
            pos += data[pos] + 1
        pos = min(pos + 1, len(data))
        blocks.append((start, pos))
    return blocks


def _tiff_blocks(data: bytes) -> list[tuple[int, int]]:
    """The header, the first IFD's entries one by one, and the rest."""
    if len(data) < 8:
        return [(0, len(data))]
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(endian + "I", data, 4)
    blocks = [(0, 8)]
    if ifd + 2 > len(data):
        return blocks
    (count,) = struct.unpack_from(endian + "H", data, ifd)
    blocks.append((ifd, ifd + 2))
    for i in range(min(count, 512)):
        start = ifd + 2 + 12 * i
        if start + 12 > len(data):
            break
        blocks.append((start, start + 12))
        _tag, typ, cnt, value = struct.unpack_from(endian + "HHII", data, start)
        size = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}.get(typ, 1) * cnt
        if size > 4 and value + size <= len(data):
            blocks.append((value, value + size))
    return blocks


# --- Video and audio: the blocks partition the file, nested ones included ----
#
# Each walker below lists a container's header as one block and then its
# children, so the blocks still tile the file (a shuffle moves children
# between parents) and every nested size field starts a block. Each also
# records where the size fields are, for :func:`length_lies`.

#: Blocks listed per media file at most (the rest of the file is one block).
_MAX_MEDIA_BLOCKS = 400
#: How deep the media walkers below descend.
_MAX_MEDIA_DEPTH = 12

_BMFF_CONTAINERS = frozenset(
    {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf", b"mvex", b"moof", b"traf", b"mfra"}
    | {b"sinf", b"schi", b"tref", b"jumb"}
)
_C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")


class _Media:
    """Blocks and size fields of one media file, as its walker finds them."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.blocks: list[tuple[int, int]] = []
        #: (kind, offset) of each box, element, chunk, tag, frame or block: its size field is at a fixed
        #: place from there (EBML: ``ebml`` records the offset of the size itself, and its width)
        self.sizes: list[tuple[str, int]] = []
        self.ebml_sizes: list[tuple[int, int]] = []

    def full(self) -> bool:
        return len(self.blocks) >= _MAX_MEDIA_BLOCKS

    def finish(self, pos: int, end: int) -> None:
        if pos < end:
            self.blocks.append((pos, end))


def _bmff(m: _Media, start: int, end: int, depth: int, items: bool = False) -> None:
    """ISO BMFF boxes in ``[start, end)``; ``items`` for the children of ``ilst`` (each holds ``data`` boxes)."""
    data, pos = m.data, start
    while pos + 8 <= end and not m.full():
        (size,) = struct.unpack_from(">I", data, pos)
        code, header = data[pos + 4 : pos + 8], 8
        if size == 1:
            if pos + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            break
        box_end = min(pos + size, end)
        m.sizes.append(("bmff-top" if depth == 0 else "bmff", pos))
        inner: int | None = None
        if depth < _MAX_MEDIA_DEPTH:
            if code in _BMFF_CONTAINERS or items:
                inner = pos + header
            elif code == b"meta":  # QuickTime's meta has no version and flags; ISO's has
                inner = pos + header + (0 if data[pos + header + 4 : pos + header + 8] == b"hdlr" else 4)
            elif code == b"keys":  # version, flags and a count, then size + namespace + name entries
                inner = pos + header + 8
            elif code == b"uuid" and data[pos + 8 : pos + 24] == _C2PA_UUID:
                purpose_end = data.find(b"\x00", pos + 28, box_end)
                inner = purpose_end + 9 if purpose_end > 0 else None  # purpose, NUL, 64-bit offset, JUMBF
        if inner is None or inner >= box_end:
            m.blocks.append((pos, box_end))
        else:
            m.blocks.append((pos, inner))
            before = len(m.blocks)
            _bmff(m, inner, box_end, depth + 1, items=code == b"ilst")
            last = m.blocks[-1][1] if len(m.blocks) > before else inner
            m.finish(last, box_end)
        pos = box_end
    m.finish(pos, end)


#: Matroska master elements (their children are elements too).
_EBML_MASTERS = frozenset(
    {0x1A45DFA3, 0x18538067, 0x114D9B74, 0x4DBB, 0x1549A966, 0x1654AE6B, 0xAE, 0xE0, 0xE1}
    | {0x1254C367, 0x7373, 0x63C0, 0x67C8, 0x1F43B675, 0x1C53BB6B, 0xBB, 0x1941A469, 0x61A7}
)


def _vint(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """(width, value with the marker, value without it) of the EBML variable-size integer at ``pos``."""
    if pos >= len(data) or data[pos] == 0:
        return None
    width = 9 - data[pos].bit_length()
    if pos + width > len(data):
        return None
    raw = int.from_bytes(data[pos : pos + width], "big")
    return width, raw, raw & ((1 << (7 * width)) - 1)


def _ebml(m: _Media, start: int, end: int, depth: int) -> None:
    pos = start
    while pos < end and not m.full():
        ident = _vint(m.data, pos)
        if ident is None or ident[0] > 4:
            break
        size = _vint(m.data, pos + ident[0])
        if size is None:
            break
        width, _, value = size
        inner = pos + ident[0] + width
        unknown = value == (1 << (7 * width)) - 1
        elem_end = end if unknown else min(inner + value, end)
        m.ebml_sizes.append((pos + ident[0], width))
        if ident[1] in _EBML_MASTERS and depth < _MAX_MEDIA_DEPTH and inner < elem_end:
            m.blocks.append((pos, inner))
            before = len(m.blocks)
            _ebml(m, inner, elem_end, depth + 1)
            m.finish(m.blocks[-1][1] if len(m.blocks) > before else inner, elem_end)
        else:
            m.blocks.append((pos, max(elem_end, min(inner, end))))
        pos = max(elem_end, pos + 1)
    m.finish(pos, end)


def _riff(m: _Media, start: int, end: int, depth: int) -> None:
    """RIFF chunks, descending into ``LIST``s (AVI ``hdrl``/``movi``, ``INFO``)."""
    data, pos = m.data, start
    while pos + 8 <= end and not m.full():
        (size,) = struct.unpack_from("<I", data, pos + 4)
        chunk_end = min(pos + 8 + size + (size & 1), end)
        m.sizes.append(("riff", pos))
        if data[pos : pos + 4] == b"LIST" and depth < _MAX_MEDIA_DEPTH and pos + 12 < chunk_end:
            m.blocks.append((pos, pos + 12))
            before = len(m.blocks)
            _riff(m, pos + 12, chunk_end, depth + 1)
            m.finish(m.blocks[-1][1] if len(m.blocks) > before else pos + 12, chunk_end)
        else:
            m.blocks.append((pos, chunk_end))
        pos = chunk_end
    m.finish(pos, end)


def _id3_size(raw: bytes, syncsafe: bool) -> int:
    if syncsafe:
        return (raw[0] & 0x7F) << 21 | (raw[1] & 0x7F) << 14 | (raw[2] & 0x7F) << 7 | (raw[3] & 0x7F)
    return int.from_bytes(raw, "big")


_MP3_BITRATES = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1 Layer III
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2
    0: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2.5
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frames(m: _Media, pos: int) -> None:
    """MPEG audio Layer III frames by their headers; anything else is one block."""
    data = m.data
    while pos + 4 <= len(data) and not m.full():
        b1, b2 = data[pos + 1], data[pos + 2]
        version, layer, rate, index = (b1 >> 3) & 3, (b1 >> 1) & 3, (b2 >> 2) & 3, b2 >> 4
        if data[pos] != 0xFF or b1 & 0xE0 != 0xE0 or version == 1 or layer != 1 or rate == 3 or index in (0, 15):
            break
        length = (144 if version == 3 else 72) * 1000 * _MP3_BITRATES[version][index] // _MP3_RATES[version][rate]
        length += (b2 >> 1) & 1
        m.blocks.append((pos, min(pos + length, len(data))))
        pos += length
    m.finish(min(pos, len(data)), len(data))


def _flac(m: _Media, pos: int) -> None:
    data = m.data
    m.blocks.append((pos, pos + 4))
    pos += 4
    while pos + 4 <= len(data) and not m.full():
        last, kind = data[pos] & 0x80, data[pos] & 0x7F
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        m.sizes.append(("vorbis" if kind == 4 else "flac", pos))
        m.blocks.append((pos, min(pos + 4 + length, len(data))))
        pos += 4 + length
        if last:
            break
    m.finish(min(pos, len(data)), len(data))


def _audio(m: _Media) -> None:
    """ID3v2 tags (header, then each frame) before FLAC or MPEG audio."""
    data, pos = m.data, 0
    while data[pos : pos + 3] == b"ID3" and pos + 10 <= len(data) and not m.full():
        major = data[pos + 3]
        end = min(pos + 10 + _id3_size(data[pos + 6 : pos + 10], True) + (10 if data[pos + 5] & 0x10 else 0), len(data))
        m.sizes.append(("id3", pos))
        m.blocks.append((pos, pos + 10))
        frame, head = pos + 10, (6 if major == 2 else 10)
        while frame + head <= end and data[frame] != 0 and not m.full():
            if major == 2:
                length = int.from_bytes(data[frame + 3 : frame + 6], "big")
            else:
                length = _id3_size(data[frame + 4 : frame + 8], major >= 4)
            m.sizes.append(("id3-frame" if major >= 3 else "id3v2.2-frame", frame))
            m.blocks.append((frame, min(frame + head + length, end)))
            frame += head + length
        m.finish(min(frame, end), end)
        pos = end
    if data[pos : pos + 4] == b"fLaC":
        _flac(m, pos)
    else:
        _mpeg_frames(m, pos)


def media_structure(data: bytes) -> _Media | None:
    """Blocks and size fields of an MP4/MOV, WebM/MKV, WAV/AVI, MP3 or FLAC file; ``None`` for anything else."""
    m = _Media(data)
    if data[4:8] in (b"ftyp", b"styp"):
        _bmff(m, 0, len(data), 0)
    elif data[:4] == b"\x1a\x45\xdf\xa3":
        _ebml(m, 0, len(data), 0)
    elif data[:4] == b"RIFF" and data[8:12] in (b"WAVE", b"AVI "):
        m.blocks.append((0, 12))
        _riff(m, 12, len(data), 0)
    elif data[:3] == b"ID3" or data[:4] == b"fLaC" or (data[:1] == b"\xff" and data[1:2] >= b"\xe0"):
        _audio(m)
    else:
        return None
    return m


def blocks(data: bytes) -> list[tuple[int, int]]:
    """The structural blocks (segments, chunks, boxes) of ``data``, by magic bytes."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg_blocks(data)
    if data.startswith(b"\x89PNG"):
        return _png_blocks(data)
    media = media_structure(data)
    if media is not None:
        return media.blocks
    if data[:4] == b"RIFF":
        return _riff_blocks(data)
    if data[:4] in (b"GIF8",):
        return _gif_blocks(data)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_blocks(data)
    return [(0, len(data))]


def boundaries(data: bytes) -> set[int]:
    """Every offset where a block starts or ends, plus the bytes either side."""
    out: set[int] = set()
    for start, end in blocks(data):
        for at in (start, start + 1, start + 2, start + 4, start + 8, (start + end) // 2, end - 1, end):
            if 0 < at < len(data):
                out.add(at)
    return out


# --- Mutations --------------------------------------------------------------


def truncations(data: bytes, spread: int = 48) -> Iterator[tuple[str, bytes]]:
    """Cuts at every block boundary, at the first bytes, and at ``spread`` even offsets."""
    cuts = boundaries(data) | set(range(min(len(data), 16)))
    if len(data) > 1:
        cuts |= {len(data) * i // spread for i in range(1, spread)}
    for at in sorted(cuts):
        yield f"cut@{at}", data[:at]


def bit_flips(data: bytes, rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """Single-bit flips, half in structure headers (where they change lengths) and half anywhere."""
    heads = [start + k for start, _ in blocks(data) for k in range(8) if start + k < len(data)]
    for i in range(count):
        pool = heads if i % 2 == 0 and heads else range(len(data))
        at = rng.choice(pool)
        bit = 1 << rng.randrange(8)
        changed = bytearray(data)
        changed[at] ^= bit
        yield f"flip@{at}^{bit:#04x}", bytes(changed)


def shuffles(data: bytes, rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """Blocks swapped, dropped or doubled (the first block, the signature, stays first)."""
    parts = blocks(data)
    if len(parts) < 3:
        return
    pieces = [data[s:e] for s, e in parts]
    for _ in range(count):
        order = list(range(len(pieces)))
        action = rng.choice(("swap", "drop", "double", "reverse"))
        i, j = sorted(rng.sample(range(1, len(pieces)), 2))
        if action == "swap":
            order[i], order[j] = order[j], order[i]
        elif action == "drop":
            del order[i]
        elif action == "double":
            order.insert(j, i)
        else:
            order[i : j + 1] = reversed(order[i : j + 1])
        yield f"{action}({i},{j})", b"".join(pieces[k] for k in order)


def length_lies(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Each block's declared length set to 0, 1, huge (1 GiB) and all-ones."""
    media = None if data.startswith((b"\x89PNG", b"\xff\xd8")) else media_structure(data)
    if media is not None:
        yield from _media_lies(media)
        return
    if data.startswith(b"\x89PNG"):
        field, fmt, offset, values = "png", ">I", 0, (0, 1, 0x40000000, 0x7FFFFFFF, 0xFFFFFFFF)
    elif data.startswith(b"\xff\xd8"):
        field, fmt, offset, values = "jpeg", ">H", 2, (0, 1, 2, 0x7FFF, 0xFFFF)
    elif data[:4] == b"RIFF":
        field, fmt, offset, values = "riff", "<I", 4, (0, 1, 0x40000000, 0xFFFFFFFF)
    else:
        return
    for start, end in blocks(data)[1:]:
        if start + offset + struct.calcsize(fmt) > end:
            continue
        for value in values:
            changed = bytearray(data)
            struct.pack_into(fmt, changed, start + offset, value)
            yield f"{field}-len@{start}={value:#x}", bytes(changed)


#: Raw 4-byte sizes for ID3: zero, one, the syncsafe maximum, all ones (not syncsafe), a byte with bit 7 set.
_ID3_LIES = (b"\x00\x00\x00\x00", b"\x00\x00\x00\x01", b"\x7f\x7f\x7f\x7f", b"\xff\xff\xff\xff", b"\x00\x00\x80\x00")


def _put(data: bytes, at: int, raw: bytes, width: int | None = None) -> bytes:
    """``data`` with the ``width`` bytes at ``at`` replaced by ``raw`` (the file grows or shrinks if they differ)."""
    return data[:at] + raw + data[at + (len(raw) if width is None else width) :]


def _media_lies(m: _Media) -> Iterator[tuple[str, bytes]]:
    """Lies in every size field of a media file, as its format writes sizes.

    BMFF: 32-bit size 0 (to the end), 1 (a 64-bit size follows), 7 (less than
    a header), 1 GiB, all ones; top-level boxes also rewritten with a 64-bit
    size (true, 2^62, all ones). EBML: each size as 0, 1, the largest value
    and "unknown" in its own width, and re-encoded in 8 bytes (true, huge,
    unknown). RIFF: 0, 1, 1 GiB, all ones. ID3: tag and frame sizes (syncsafe
    or not) and the unsynchronisation flags. FLAC: 24-bit block lengths and
    the Vorbis comment's inner lengths.
    """
    data = m.data
    if data[:4] == b"RIFF":
        for value in (0, 1, 0x40000000, 0xFFFFFFFF):
            yield f"riff-len@0={value:#x}", _put(data, 4, struct.pack("<I", value))
    for at, width in m.ebml_sizes:
        top = (1 << (7 * width)) - 1
        marker = 1 << (7 * width)
        for name, value in (("0", 0), ("1", 1), ("max", top - 1), ("unknown", top)):
            yield f"ebml-len@{at}={name}", _put(data, at, (marker | value).to_bytes(width, "big"))
        true = int.from_bytes(data[at : at + width], "big") & (marker - 1)
        for name, value in (("8-byte", true), ("8-byte-huge", (1 << 56) - 2), ("8-byte-unknown", (1 << 56) - 1)):
            yield f"ebml-len@{at}={name}", _put(data, at, ((1 << 56) | value).to_bytes(8, "big"), width)
    for kind, at in m.sizes:
        if kind.startswith("bmff"):
            for value in (0, 1, 7, 0x40000000, 0xFFFFFFFF):
                yield f"bmff-len@{at}={value:#x}", _put(data, at, struct.pack(">I", value))
            (size,) = struct.unpack_from(">I", data, at)
            if kind == "bmff-top" and size >= 8:
                for large in (size + 8, 1 << 62, (1 << 64) - 1):
                    raw = struct.pack(">I", 1) + data[at + 4 : at + 8] + struct.pack(">Q", large)
                    yield f"bmff-large@{at}={large:#x}", _put(data, at, raw, 8)
        elif kind == "riff":
            for value in (0, 1, 0x40000000, 0xFFFFFFFF):
                yield f"riff-len@{at}={value:#x}", _put(data, at + 4, struct.pack("<I", value))
        elif kind == "id3":
            for raw in _ID3_LIES:
                yield f"id3-size@{at}={raw.hex()}", _put(data, at + 6, raw)
            yield f"id3-unsync@{at}", _put(data, at + 5, bytes([data[at + 5] | 0x80]))
            yield f"id3-unsync-frames@{at}", _id3_unsync_frames(m, at)
        elif kind == "id3-frame":
            for raw in _ID3_LIES:
                yield f"id3-frame-size@{at}={raw.hex()}", _put(data, at + 4, raw)
        elif kind in ("flac", "vorbis"):
            for raw in (b"\x00\x00\x00", b"\x00\x00\x01", b"\x80\x00\x00", b"\xff\xff\xff"):
                yield f"flac-len@{at}={raw.hex()}", _put(data, at + 1, raw)
            if kind == "vorbis":  # vendor length, count, then each comment's length
                for field in _vorbis_lengths(data, at + 4):
                    for value in (0, 1, 0x7FFFFFFF, 0xFFFFFFFF):
                        yield f"vorbis-len@{field}={value:#x}", _put(data, field, struct.pack("<I", value))


def _vorbis_lengths(data: bytes, pos: int) -> list[int]:
    """Offsets of the 32-bit little-endian lengths in a Vorbis comment block at ``pos`` (a few at most)."""
    if pos + 4 > len(data):
        return []
    fields = [pos]
    (vendor,) = struct.unpack_from("<I", data, pos)
    at = pos + 4 + vendor
    if at + 4 > len(data):
        return fields
    fields.append(at)  # the comment count
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    for _ in range(min(count, 8)):
        if at + 4 > len(data):
            break
        fields.append(at)
        (length,) = struct.unpack_from("<I", data, at)
        at += 4 + length
    return fields


def _id3_unsync_frames(m: _Media, tag: int) -> bytes:
    """The tag at ``tag`` with every frame flagged unsynchronised (ID3v2.4) and the tag too."""
    changed = bytearray(m.data)
    changed[tag + 5] |= 0x80
    if changed[tag + 3] >= 4:
        for kind, at in m.sizes:
            if kind == "id3-frame" and at > tag and at + 10 <= len(changed):
                changed[at + 9] |= 0x02
    return bytes(changed)
