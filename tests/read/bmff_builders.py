"""ISO BMFF boxes built byte by byte, for exact tests of the walker."""

from __future__ import annotations

import io
import os
import struct

from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import bmff
from provenance.read.media import MediaLayout

XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")


def box(code: bytes | str, *payload: bytes) -> bytes:
    kind = code.encode("latin-1") if isinstance(code, str) else code
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def large_box(code: bytes | str, *payload: bytes) -> bytes:
    """A box with a 64-bit ``largesize``."""
    kind = code.encode("latin-1") if isinstance(code, str) else code
    body = b"".join(payload)
    return struct.pack(">I", 1) + kind + struct.pack(">Q", 16 + len(body)) + body


def full(code: bytes | str, *payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return box(code, struct.pack(">I", (version << 24) | flags), *payload)


def ftyp(major: bytes = b"isom", *brands: bytes) -> bytes:
    return box("ftyp", major, struct.pack(">I", 512), *(brands or (b"isom", b"iso2", b"mp41")))


def data(value: bytes | str, kind: int = 1) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return box("data", struct.pack(">I", kind), b"\0\0\0\0", raw)


def item(code: bytes | str | int, *values: bytes | str, kind: int = 1) -> bytes:
    """An ``ilst`` item: a box type (``©too``) or, for mdta, a 1-based key index."""
    name = struct.pack(">I", code) if isinstance(code, int) else code
    return box(name, *(data(v, kind) for v in values))


def hdlr(handler: bytes) -> bytes:
    return full("hdlr", b"\0\0\0\0", handler, b"\0" * 12, b"\0")


def keys(*names: str) -> bytes:
    entries = b"".join(struct.pack(">I", 8 + len(n.encode())) + b"mdta" + n.encode() for n in names)
    return full("keys", struct.pack(">I", len(names)), entries)


def meta_mdir(*items: bytes) -> bytes:
    return full("meta", hdlr(b"mdir"), box("ilst", *items))


def meta_mdta(names: list[str], *items: bytes) -> bytes:
    return full("meta", hdlr(b"mdta"), keys(*names), box("ilst", *items))


def qt_text(code: str, *texts: str | bytes, language: int = 0x55C4) -> bytes:
    """A QuickTime user-data text atom: records of 16-bit length, 16-bit language, text."""
    records = b""
    for text in texts:
        raw = text.encode("utf-8") if isinstance(text, str) else text
        records += struct.pack(">HH", len(raw), language) + raw
    return box(code, records)


def xmp_uuid(packet: bytes) -> bytes:
    return box("uuid", XMP_UUID, packet)


def c2pa_uuid(purpose: bytes = b"manifest", store: bytes = b"jumb") -> bytes:
    extra = struct.pack(">Q", 0) if purpose == b"manifest" else b""
    return box("uuid", C2PA_UUID, b"\0\0\0\0", purpose, b"\0", extra, store)


def mvhd() -> bytes:
    return full("mvhd", b"\0" * 96)


def trak(*children: bytes) -> bytes:
    return box("trak", full("tkhd", b"\0" * 80), *children)


def mp4(*moov_children: bytes, mdat: bytes = b"\0" * 16, major: bytes = b"isom", extra: bytes = b"") -> bytes:
    """ftyp, moov (mvhd, a trak, then the given children), mdat, then ``extra``."""
    return ftyp(major) + box("moov", mvhd(), trak(), *moov_children) + box("mdat", mdat) + extra


PACKET = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def walk(data: bytes, media_type: str = "video/mp4", limits: Limits = DEFAULT_LIMITS) -> MediaLayout:
    return bmff.walk(io.BytesIO(data), len(data), media_type, limits)


def walk_file(path: str | os.PathLike[str], media_type: str = "video/mp4") -> MediaLayout:
    with open(path, "rb") as handle:
        return bmff.walk(handle, os.path.getsize(path), media_type, DEFAULT_LIMITS)


def tags(layout: MediaLayout) -> list[tuple[str, str]]:
    return [(t.field, t.value) for t in layout.tags]


def kinds(layout: MediaLayout) -> list[str]:
    return [i.kind for i in layout.issues]
