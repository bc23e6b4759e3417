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


def blocks(data: bytes) -> list[tuple[int, int]]:
    """The structural blocks (segments, chunks, boxes) of ``data``, by magic bytes."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg_blocks(data)
    if data.startswith(b"\x89PNG"):
        return _png_blocks(data)
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
