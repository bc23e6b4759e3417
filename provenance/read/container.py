"""Sniff the format from magic bytes and walk the container's structure once.

The walk never decodes pixels. It collects the raw metadata blocks that the
other readers parse (EXIF blobs, XMP packets, PNG text chunks, comments) and
notes whether a C2PA manifest store is embedded, so that the (comparatively
expensive) C2PA library is only called on files that carry one.
"""

from __future__ import annotations

import functools
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from provenance.evidence import Evidence, RawField, ReadIssue, ReadResult
from provenance.limits import Limits

CONTAINER = "container"

# Media types by the file extensions people give them, to report mismatches.
_EXTENSIONS: dict[str, tuple[str, ...]] = {
    ".jpg": ("image/jpeg",),
    ".jpeg": ("image/jpeg",),
    ".jpe": ("image/jpeg",),
    ".jfif": ("image/jpeg",),
    ".png": ("image/png", "image/apng"),
    ".apng": ("image/png", "image/apng"),
    ".gif": ("image/gif",),
    ".webp": ("image/webp",),
    ".tif": ("image/tiff",),
    ".tiff": ("image/tiff",),
    ".dng": ("image/tiff",),
    ".heic": ("image/heic", "image/heif"),
    ".heif": ("image/heif", "image/heic"),
    ".avif": ("image/avif",),
    ".jxl": ("image/jxl",),
    ".svg": ("image/svg+xml",),
    ".bmp": ("image/bmp",),
}

_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_JPEG_EXT = b"http://ns.adobe.com/xmp/extension/\x00"
_C2PA_BMFF_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_XMP_OPEN = re.compile(rb"<x:xmpmeta[\s>]")
_RDF_OPEN = re.compile(rb"<rdf:RDF[\s>]")


#: PNG text chunks, JPEG COM segments or GIF comments kept per file; real
#: files have a handful, and each one becomes evidence that every rule sees.
MAX_TEXT_ITEMS = 4096


def _four_cc(code: bytes) -> str:
    """A chunk type for a message: its name when it is one (letters, digits, spaces), else no bytes at all."""
    if len(code) == 4 and all(c == 0x20 or 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A for c in code):
        return repr(code.decode("ascii"))
    return "of no valid type"


class Truncated(Exception):
    """Raised inside a walker when the bytes end before a structure does."""


@dataclass(slots=True)
class TextChunk:
    """A PNG text chunk (or an equivalent keyword/value pair)."""

    chunk: str  # tEXt, zTXt, iTXt, comf
    key: str
    value: str


@dataclass(slots=True)
class Layout:
    """Everything the structure walk found, for the readers after it."""

    media_type: str
    exif: list[bytes] = field(default_factory=list)
    exif_is_file: bool = False  # the blob is a whole TIFF/HEIF file for exifread
    xmp: list[bytes] = field(default_factory=list)
    texts: list[TextChunk] = field(default_factory=list)
    comments: list[tuple[str, bytes]] = field(default_factory=list)  # (where, bytes)
    c2pa_embedded: bool | None = False  # None: unknown, ask the C2PA library
    has_image_data: bool = False
    has_alpha: bool | None = None
    width: int | None = None
    height: int | None = None
    issues: list[ReadIssue] = field(default_factory=list)
    raw: list[RawField] = field(default_factory=list)
    skipped_texts: int = 0  # text chunks or comments over the size or count limit


def sniff(data: bytes) -> str | None:
    """Return the media type that the magic bytes show, or ``None``."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return "image/tiff"  # BigTIFF
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "image/jxl"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        brands = head[8:32]
        if brand in (b"avif", b"avis") or b"avif" in brands:
            return "image/avif"
        if brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"):
            return "image/heic"
        if brand in (b"mif1", b"msf1"):
            return "image/heif"
        return None
    if head.startswith(b"BM") and len(data) >= 26:
        return "image/bmp"
    text_head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text_head.startswith((b"<?xml", b"<svg", b"<!DOCTYPE svg", b"<!--")) and b"<svg" in data[:65536]:
        return "image/svg+xml"
    return None


#: The image formats :func:`sniff` recognises, as a sentence for messages.
SUPPORTED_FORMATS = "JPEG, PNG, GIF, WebP, TIFF, JPEG XL, AVIF, HEIC/HEIF, BMP and SVG"

_NOT_YET = "not supported yet"
#: For a video or audio format that is read (see provenance/read/media.py) when its header is sound.
_DAMAGED = "its header does not have the layout of a file of that kind that provenance reads (damaged, or a variant)"
_NOT_IMAGE = "not an image"

#: ISO base media (``ftyp``) brands that are not still images.
_FTYP_KINDS: tuple[tuple[tuple[bytes, ...], str, str], ...] = (
    ((b"qt  ",), "a QuickTime (MOV) video", _DAMAGED),
    ((b"M4A ", b"M4B ", b"M4P "), "an MPEG-4 audio file (M4A)", _DAMAGED),
    ((b"3gp", b"3g2"), "a 3GP video", _NOT_YET),
    ((b"crx ",), "a Canon CR3 raw image", _NOT_YET),
    ((b"jp2 ", b"jpx ", b"jpm "), "a JPEG 2000 image", _NOT_YET),
)

#: Leading magic bytes of formats people mistake for images, or keep beside them.
_MAGIC_KINDS: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "a PDF document", _NOT_IMAGE),
    (b"%!PS", "a PostScript document", _NOT_IMAGE),
    (b"fLaC", "a FLAC audio file", _DAMAGED),
    (b"OggS", "an Ogg audio or video file", _DAMAGED),
    (b"ID3", "an MP3 audio file", _DAMAGED),
    (b"FLV\x01", "a Flash (FLV) video", _NOT_YET),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "a Windows Media (ASF/WMV) file", _NOT_YET),
    (b"\x00\x00\x01\xba", "an MPEG video", _NOT_YET),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image", _NOT_YET),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 image", _NOT_YET),
    (b"8BPS", "a Photoshop (PSD) document", _NOT_YET),
    (b"\x00\x00\x01\x00", "an ICO icon", _NOT_YET),
    (b"FUJIFILMCCD-RAW", "a Fujifilm RAF raw image", _NOT_YET),
    (b"PK\x03\x04", "a ZIP archive", _NOT_IMAGE),
    (b"PK\x05\x06", "an empty ZIP archive", _NOT_IMAGE),
    (b"\x1f\x8b", "a gzip archive", _NOT_IMAGE),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", _NOT_IMAGE),
    (b"Rar!\x1a\x07", "a RAR archive", _NOT_IMAGE),
    (b"\xfd7zXZ\x00", "an XZ archive", _NOT_IMAGE),
    (b"BZh", "a bzip2 archive", _NOT_IMAGE),
    (b"\x7fELF", "an executable program (ELF)", _NOT_IMAGE),
    (b"SQLite format 3\x00", "an SQLite database", _NOT_IMAGE),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document", _NOT_IMAGE),
    (b"{\\rtf", "an RTF document", _NOT_IMAGE),
)


def identify(data: bytes) -> tuple[str, str] | None:
    """Name a known format that :func:`sniff` does not read: ``(name, why)``, or ``None``.

    ``name`` reads in a sentence ("a PDF document", "an MP4 video"); ``why``
    is "not supported yet" for media that may one day be read, "not an
    image" for documents, archives and programs. Only the format's name is
    ever put into a message, never bytes of the file.
    """
    head = data[:64]
    for magic, name, why in _MAGIC_KINDS:
        if head.startswith(magic):
            return name, why
    if b"%PDF-" in data[:1024]:  # readers accept a PDF header after a little junk
        return "a PDF document", _NOT_IMAGE
    if head[4:8] in (b"styp", b"moof", b"sidx"):  # a media segment: no moov of its own
        return (
            "a DASH/CMAF media segment, which is checked with its init segment",
            "check the init segment with --fragments (the .m4s files beside it are read with it)",
        )
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        for brands, name, why in _FTYP_KINDS:
            if brand.startswith(brands):
                return name, why
        if brand[:3] in (b"iso", b"mp4", b"avc", b"M4V", b"das", b"mmp", b"f4v", b"MSN"):
            return "an MP4 video", _DAMAGED
        return "an ISO base media file (the MP4 family), not a HEIF or AVIF image", _NOT_YET
    if head[:4] == b"RIFF":
        form = head[8:12]
        if form == b"WAVE":
            return "a WAV audio file", _DAMAGED
        if form == b"AVI ":
            return "an AVI video", _DAMAGED
        return "a RIFF file that is not WebP", _NOT_YET
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska and WebM
        if b"webm" in head:
            return "a WebM video", _DAMAGED
        return "a Matroska (MKV) video", _DAMAGED
    if len(head) >= 4 and head[0] == 0xFF and _mpeg_audio_frame(head[1], head[2]):
        return "an MP3 audio file", _DAMAGED
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "an AAC audio file", _NOT_YET
    if head[:2] == b"MZ":
        return "a Windows program", _NOT_IMAGE
    if head[:1] == b"\x47" and data[188:189] == b"\x47" and data[376:377] == b"\x47":
        return "an MPEG transport stream video", _NOT_YET
    return None


def _mpeg_audio_frame(second: int, third: int) -> bool:
    """Whether bytes 2 and 3 continue an MPEG audio frame header after 0xFF."""
    version = (second >> 3) & 0b11
    layer = (second >> 1) & 0b11
    bitrate = third >> 4
    rate = (third >> 2) & 0b11
    return second & 0xE0 == 0xE0 and version != 0b01 and layer != 0 and bitrate not in (0, 15) and rate != 3


def looks_like_text(data: bytes) -> bool:
    """Whether the start of ``data`` is plain UTF-8 text (notes, logs, code)."""
    sample = data[:4096]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # a character cut by the sample's end is fine
            return False
        text = sample[: exc.start].decode("utf-8")
    return bool(text) and all(ch.isprintable() or ch in "\t\n\r\f" for ch in text)


@functools.cache
def _media_extensions() -> dict[str, tuple[str, ...]]:
    """The video and audio extensions (:data:`provenance.read.media.EXTENSIONS`), imported once."""
    from provenance.read.media import EXTENSIONS

    return EXTENSIONS


def extension_mismatch(name: str, media_type: str) -> str | None:
    """Say how the file name's extension disagrees with the sniffed type."""
    dot = name.rfind(".")
    if dot < 0 or "/" in name[dot:]:
        return None
    ext = name[dot:].lower()
    expected = _EXTENSIONS.get(ext) or _media_extensions().get(ext)
    if expected is None or media_type in expected:
        return None
    return f"the name ends in {ext} but the content is {media_type}"


def walk(data: bytes, media_type: str, limits: Limits) -> Layout:
    """Walk the container of ``media_type``; never raises on bad bytes."""
    layout = Layout(media_type=media_type)
    walker = _WALKERS.get(media_type, _walk_generic)
    try:
        walker(data, layout, limits)
    except Truncated as exc:
        layout.issues.append(ReadIssue("truncated", f"the file ends inside {exc}"))
    except (struct.error, IndexError, ValueError) as exc:
        layout.issues.append(ReadIssue("malformed", f"malformed {media_type} structure: {exc}"))
    if layout.skipped_texts:
        message = f"{layout.skipped_texts} text chunks or comments skipped: over the size or count limit"
        layout.issues.append(ReadIssue("limit-exceeded", message))
    return layout


def to_result(layout: Layout, name: str) -> ReadResult:
    """Container-level evidence: the sniffed type and any extension mismatch."""
    evidence: list[Evidence] = [
        Evidence(CONTAINER, "media-type", layout.media_type, "magic bytes"),
    ]
    mismatch = extension_mismatch(name, layout.media_type)
    if mismatch:
        evidence.append(Evidence(CONTAINER, "extension-mismatch", mismatch, "file name"))
    for where, comment in layout.comments:
        if where == "GIF comment extension":
            text = _decode_text(comment)
            evidence.append(Evidence(CONTAINER, "gif-comment", text, where))
    raw = [RawField(CONTAINER, "media-type", layout.media_type), *layout.raw]
    if layout.width and layout.height:
        raw.append(RawField(CONTAINER, "dimensions", f"{layout.width}x{layout.height}"))
    return ReadResult(tuple(evidence), tuple(layout.issues), tuple(raw))


def _decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _need(data: bytes, end: int, what: str) -> None:
    if end > len(data):
        raise Truncated(what)


# --- JPEG -----------------------------------------------------------------

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _walk_jpeg(data: bytes, layout: Layout, limits: Limits) -> None:
    pos = 2
    n = len(data)
    extended: dict[bytes, dict[int, bytes]] = {}
    seen_frame = False
    stray = False
    while pos < n:
        if data[pos] != 0xFF:
            # Some writers leave padding between segments: resynchronise on
            # the next marker, as decoders do, and note it.
            resync = data.find(b"\xff", pos)
            if resync < 0:
                raise Truncated(f"the JPEG (no marker after byte {pos})")
            if not stray:  # one issue, however many gaps: the report stays small
                layout.issues.append(ReadIssue("malformed", f"JPEG: {resync - pos} stray bytes at byte {pos}"))
            stray = True
            pos = resync
            continue
        _need(data, pos + 2, "a JPEG marker")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            return
        _need(data, pos + 4, "a JPEG segment header")
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2:
            layout.issues.append(ReadIssue("malformed", f"JPEG: bad segment length at byte {pos}"))
            return
        end = pos + 2 + length
        seg = data[pos + 4 : min(end, n)]
        if end > n:
            _jpeg_segment(marker, seg, layout, extended, limits, partial=True)
            raise Truncated(f"JPEG segment 0x{marker:02X} at byte {pos}")
        if marker in _SOF_MARKERS and len(seg) >= 5:
            seen_frame = True
            layout.height, layout.width = struct.unpack_from(">HH", seg, 1)
        if marker == 0xDA:
            layout.has_image_data = seen_frame
            break
        _jpeg_segment(marker, seg, layout, extended, limits, partial=False)
        pos = end
    else:
        raise Truncated("the JPEG header (no image data)")
    for parts in extended.values():
        blob = b"".join(parts[k] for k in sorted(parts))
        if len(blob) <= limits.max_xmp_bytes:
            layout.xmp.append(blob)
        else:
            layout.issues.append(ReadIssue("limit-exceeded", f"extended XMP of {len(blob)} bytes skipped", "xmp"))


def _jpeg_segment(
    marker: int,
    seg: bytes,
    layout: Layout,
    extended: dict[bytes, dict[int, bytes]],
    limits: Limits,
    partial: bool,
) -> None:
    if marker == 0xE1:
        if seg.startswith(b"Exif\x00") and not partial:
            layout.exif.append(seg[6:])
        elif seg.startswith(_XMP_JPEG) and not partial:
            layout.xmp.append(seg[len(_XMP_JPEG) :])
        elif seg.startswith(_XMP_JPEG_EXT) and len(seg) > len(_XMP_JPEG_EXT) + 40 and not partial:
            body = seg[len(_XMP_JPEG_EXT) :]
            guid = body[:32]
            (offset,) = struct.unpack_from(">I", body, 36)
            parts = extended.setdefault(guid, {})
            if sum(len(p) for p in parts.values()) < limits.max_xmp_bytes:
                parts[offset] = body[40:]
    elif marker == 0xEB:
        # APP11: JPEG-XT boxes carrying JUMBF; C2PA stores its manifest here.
        if b"jumb" in seg[:64] or b"c2pa" in seg[:96]:
            layout.c2pa_embedded = True
    elif marker == 0xFE:
        if len(layout.comments) < MAX_TEXT_ITEMS:
            layout.comments.append(("JPEG COM segment", seg))
        else:
            layout.skipped_texts += 1
    elif marker == 0xED:
        layout.raw.append(RawField(CONTAINER, "APP13", f"Photoshop/IPTC-IIM block, {len(seg)} bytes"))


# --- PNG ------------------------------------------------------------------


def _walk_png(data: bytes, layout: Layout, limits: Limits) -> None:
    pos = 8
    n = len(data)
    seen_ihdr = False
    budget = limits.max_text_bytes
    while pos < n:
        _need(data, pos + 8, "a PNG chunk header")
        length, ctype = struct.unpack_from(">I4s", data, pos)
        start = pos + 8
        end = start + length
        if end + 4 > n:
            raise Truncated(f"PNG chunk {_four_cc(ctype)} at byte {pos} (declares {length} bytes)")
        if ctype == b"IDAT":  # most chunks: note them without copying the pixels
            layout.has_image_data = seen_ihdr
            pos = end + 4
            continue
        body = data[start:end]
        if ctype == b"IHDR" and length >= 13:
            seen_ihdr = True
            layout.width, layout.height = struct.unpack_from(">II", body)
            colour_type = body[9]
            layout.has_alpha = colour_type in (4, 6)
        elif ctype == b"tRNS":
            layout.has_alpha = True
        elif ctype in (b"tEXt", b"zTXt", b"iTXt", b"comf"):
            # The budget counts compressed and inflated bytes alike, so that
            # many small zTXt chunks cannot inflate to gigabytes between them.
            if budget >= length and len(layout.texts) < MAX_TEXT_ITEMS:
                budget -= length
                budget -= _png_text(ctype.decode("latin-1"), body, layout, limits, budget)
            else:
                budget = -1  # once over, every later text chunk is skipped
                layout.skipped_texts += 1
        elif ctype == b"eXIf":
            layout.exif.append(body[6:] if body.startswith(b"Exif\x00") else body)
        elif ctype == b"caBX":
            layout.c2pa_embedded = True
        elif ctype == b"IEND":
            return
        pos = end + 4
    if not layout.has_image_data:
        raise Truncated("the PNG (no image data)")
    layout.issues.append(ReadIssue("truncated", "the PNG ends before its IEND chunk"))


def _inflate(blob: bytes, cap: int) -> bytes | None:
    """Decompress zlib data to at most ``cap`` bytes; ``None`` when over."""
    decomp = zlib.decompressobj()
    try:
        out = decomp.decompress(blob, max(cap, 0) + 1)  # max_length 0 would mean "no limit"
    except zlib.error:
        raise ValueError("bad compressed data") from None
    return None if len(out) > cap else out


def _png_text(ctype: str, body: bytes, layout: Layout, limits: Limits, room: int) -> int:
    """Record one text chunk; return the inflated bytes to charge to the text budget.

    A damaged chunk is an issue, not the end of the walk: the image data and
    the other chunks after it are still read.
    """
    key_raw, sep, rest = body.partition(b"\x00")
    if not sep:
        layout.issues.append(ReadIssue("malformed", f"PNG {ctype} chunk without a keyword separator", "png-text"))
        return 0
    key = key_raw.decode("latin-1")
    cap = min(limits.max_text_bytes, room)
    inflated: bytes | None = None
    try:
        if ctype == "tEXt":
            value = rest.decode("latin-1")
        elif ctype == "comf":  # ComfyUI animated PNG private chunk: keyword \0 JSON
            value = _decode_text(rest)
        elif ctype == "zTXt":
            inflated = _inflate(rest[1:], cap)
            if inflated is None:
                layout.issues.append(ReadIssue("limit-exceeded", f"zTXt {key!r} inflates past the limit", "png-text"))
                return cap
            value = inflated.decode("latin-1")
        else:  # iTXt
            if len(rest) < 2:
                raise ValueError("short iTXt chunk")
            compressed = rest[0] == 1
            rest = rest[2:]
            _lang, _, rest = rest.partition(b"\x00")
            _translated, _, text = rest.partition(b"\x00")
            if compressed:
                inflated = _inflate(text, cap)
                if inflated is None:
                    layout.issues.append(
                        ReadIssue("limit-exceeded", f"iTXt {key!r} inflates past the limit", "png-text")
                    )
                    return cap
                text = inflated
            value = _decode_text(text)
    except ValueError as exc:
        layout.issues.append(ReadIssue("malformed", f"PNG {ctype} chunk {key!r}: {exc}", "png-text"))
        return 0
    if key == "XML:com.adobe.xmp":
        layout.xmp.append(value.encode("utf-8"))
    else:
        layout.texts.append(TextChunk(ctype, key, value))
    return len(inflated) if inflated is not None else 0


# --- WebP -----------------------------------------------------------------


def _walk_webp(data: bytes, layout: Layout, limits: Limits) -> None:
    pos = 12
    n = len(data)
    while pos + 8 <= n:
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        start = pos + 8
        end = start + size
        if end > n:
            raise Truncated(f"WebP chunk {_four_cc(fourcc)} at byte {pos}")
        if fourcc in (b"VP8 ", b"VP8L", b"ANMF", b"ANIM"):  # image data: not copied
            layout.has_image_data = True
            if fourcc == b"VP8L" and size >= 5 and layout.has_alpha is None:
                layout.has_alpha = bool(data[start + 4] & 0x10)
            pos = end + (size & 1)
            continue
        body = data[start:end]
        if fourcc == b"VP8X" and size >= 10:
            flags = body[0]
            layout.has_alpha = bool(flags & 0x10)
            layout.width = 1 + int.from_bytes(body[4:7], "little")
            layout.height = 1 + int.from_bytes(body[7:10], "little")
        elif fourcc == b"EXIF":
            layout.exif.append(body[6:] if body.startswith(b"Exif\x00") else body)
        elif fourcc == b"XMP ":
            layout.xmp.append(body)
        elif fourcc == b"C2PA":
            layout.c2pa_embedded = True
        pos = end + (size & 1)
    if not layout.has_image_data:
        raise Truncated("the WebP (no image chunk)")


# --- GIF ------------------------------------------------------------------


def _gif_subblocks(data: bytes, pos: int) -> tuple[bytes, int]:
    """Concatenate GIF data sub-blocks starting at ``pos``; return (bytes, next)."""
    parts: list[bytes] = []
    n = len(data)
    while True:
        _need(data, pos + 1, "a GIF data block")
        size = data[pos]
        pos += 1
        if size == 0:
            return b"".join(parts), pos
        if pos + size > n:
            raise Truncated("a GIF data sub-block")
        parts.append(data[pos : pos + size])
        pos += size


def _walk_gif(data: bytes, layout: Layout, limits: Limits) -> None:
    _need(data, 13, "the GIF header")
    layout.width, layout.height = struct.unpack_from("<HH", data, 6)
    flags = data[10]
    pos = 13
    if flags & 0x80:
        pos += 3 * (2 ** ((flags & 0x07) + 1))
    n = len(data)
    while pos < n:
        block = data[pos]
        if block == 0x3B:
            return
        if block == 0x21:
            _need(data, pos + 2, "a GIF extension")
            label = data[pos + 1]
            if label == 0xFF:
                _need(data, pos + 14, "a GIF application extension")
                app_id = data[pos + 3 : pos + 14]
                body_start = pos + 14
                _, after = _gif_subblocks(data, body_start)
                if app_id == b"XMP DataXMP":
                    # XMP is stored raw: its bytes double as sub-block lengths.
                    # Search only this extension, so many of them cost linear time.
                    end = data.find(b"<?xpacket end", body_start, after)
                    close = data.find(b"?>", end, after) if end >= 0 else -1
                    if close >= 0:
                        layout.xmp.append(data[body_start : close + 2])
                elif app_id.startswith(b"C2PA"):
                    layout.c2pa_embedded = True
                pos = after
            elif label == 0xFE:
                text, pos = _gif_subblocks(data, pos + 2)
                if len(layout.comments) < MAX_TEXT_ITEMS:
                    layout.comments.append(("GIF comment extension", text[: limits.max_text_bytes]))
                else:
                    layout.skipped_texts += 1
            else:
                _, pos = _gif_subblocks(data, pos + 2)
        elif block == 0x2C:
            _need(data, pos + 10, "a GIF image descriptor")
            local = data[pos + 9]
            pos += 10
            if local & 0x80:
                pos += 3 * (2 ** ((local & 0x07) + 1))
            pos += 1  # LZW minimum code size
            _, pos = _gif_subblocks(data, pos)
            layout.has_image_data = True
        else:
            layout.issues.append(ReadIssue("malformed", f"GIF: unknown block 0x{block:02X} at byte {pos}"))
            return
    if not layout.has_image_data:
        raise Truncated("the GIF (no image)")


# --- TIFF -----------------------------------------------------------------

_TIFF_XMP = 700
_TIFF_C2PA = 0xCD41

#: Bytes per value of each TIFF field type (13, IFD, is an offset: TIFF Technical Note 1).
TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def tiff_number(data: bytes, endian: str, typ: int, at: int) -> int | None:
    """The SHORT, LONG or IFD value stored at ``at``; ``None`` for other types or past the end."""
    if typ == 3 and at + 2 <= len(data):
        return int(struct.unpack_from(endian + "H", data, at)[0])
    if typ in (4, 13) and at + 4 <= len(data):
        return int(struct.unpack_from(endian + "I", data, at)[0])
    return None


def _walk_tiff(data: bytes, layout: Layout, limits: Limits) -> None:
    layout.exif.append(data)
    layout.exif_is_file = True
    endian = "<" if data[:2] == b"II" else ">"
    magic = struct.unpack_from(endian + "H", data, 2)[0]
    if magic == 43:  # BigTIFF: leave the details to exifread and the C2PA library
        layout.c2pa_embedded = None
        layout.has_image_data = True
        return
    (ifd,) = struct.unpack_from(endian + "I", data, 4)
    _need(data, ifd + 2, "the first TIFF directory")
    (count,) = struct.unpack_from(endian + "H", data, ifd)
    if count > 4096:
        raise ValueError(f"TIFF directory with {count} entries")
    _need(data, ifd + 2 + 12 * count, "the first TIFF directory")
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, typ, cnt = struct.unpack_from(endian + "HHI", data, entry)
        nbytes = TIFF_TYPE_SIZES.get(typ, 1) * cnt
        if tag == 256:
            layout.width = tiff_number(data, endian, typ, entry + 8)
        elif tag == 257:
            layout.height = tiff_number(data, endian, typ, entry + 8)
        elif tag in (273, 324):  # StripOffsets / TileOffsets
            layout.has_image_data = True
        elif tag == _TIFF_C2PA:
            layout.c2pa_embedded = True
        elif tag == _TIFF_XMP:
            if nbytes > limits.max_xmp_bytes:
                layout.issues.append(ReadIssue("limit-exceeded", f"TIFF XMP of {nbytes} bytes skipped", "xmp"))
                continue
            if nbytes <= 4:
                continue
            (offset,) = struct.unpack_from(endian + "I", data, entry + 8)
            _need(data, offset + nbytes, "the TIFF XMP packet")
            layout.xmp.append(data[offset : offset + nbytes])


# --- ISO BMFF (HEIF, AVIF), JPEG XL, SVG, BMP ----------------------------


def _blocks(window: bytes, opening: re.Pattern[bytes], closing: bytes) -> Iterator[bytes]:
    """Each ``opening`` … ``closing`` span, nearest close first, in linear time.

    A lazy ``.*?`` regex does the same but rescans to the end for every
    opening that is never closed: quadratic on hostile input.
    """
    pos = 0
    while True:
        found = opening.search(window, pos)
        if found is None:
            return
        close = window.find(closing, found.end())
        if close < 0:
            return
        pos = close + len(closing)
        yield window[found.start() : pos]


def _walk_generic(data: bytes, layout: Layout, limits: Limits) -> None:
    """Formats whose metadata boxes we do not walk ourselves.

    XMP packets are found by their markup, EXIF is left to exifread (which
    understands HEIF), and the C2PA library is asked whenever its box or
    manifest element may be present.
    """
    layout.has_image_data = True
    window = data[: limits.max_scan_bytes]
    for block in _blocks(window, _XMP_OPEN, b"</x:xmpmeta>"):
        if len(block) <= limits.max_xmp_bytes:
            layout.xmp.append(block)
    mt = layout.media_type
    if mt in ("image/heic", "image/heif", "image/avif"):
        layout.exif.append(data)
        layout.exif_is_file = True
        layout.c2pa_embedded = _C2PA_BMFF_UUID in window or None
    elif mt == "image/jxl":
        layout.c2pa_embedded = True if b"jumb" in window else False
    elif mt == "image/svg+xml":
        if not layout.xmp:
            for block in _blocks(window, _RDF_OPEN, b"</rdf:RDF>"):
                if len(block) <= limits.max_xmp_bytes:
                    layout.xmp.append(block)
        layout.c2pa_embedded = True if b"c2pa" in window else False
    elif mt == "image/bmp":
        layout.c2pa_embedded = False


_WALKERS = {
    "image/jpeg": _walk_jpeg,
    "image/png": _walk_png,
    "image/webp": _walk_webp,
    "image/gif": _walk_gif,
    "image/tiff": _walk_tiff,
}
