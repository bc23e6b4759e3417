"""Video and audio: sniff the media type, dispatch to a container walker, turn tags into evidence.

The walkers (``bmff``, ``ebml``, ``riffav``, ``id3``, ``flac``) read headers
and tag payloads from a seekable stream, never a whole file: a 2 GB video is
never held in memory. Each returns a :class:`MediaLayout`; nothing here
decodes a frame or a sample.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import BinaryIO

from provenance.evidence import Evidence, RawField, ReadIssue, ReadResult
from provenance.limits import Limits
from provenance.read import jsontext


@dataclass
class Tag:
    source: str  # one of the sources above
    field: str
    value: str  # decoded text; at most limits.max_text_bytes total per file; the api caps values for display
    location: str  # e.g. "moov/udta/meta/ilst (mdta key 1)", "Segment/Tags/Tag/SimpleTag"


@dataclass
class MediaLayout:
    media_type: str
    kind: str  # "video" | "audio"
    tags: list[Tag] = field(default_factory=list)
    xmp: list[bytes] = field(default_factory=list)
    c2pa: bool | None = False  # a manifest store is present (True), absent (False), unknown (None)
    can_carry_c2pa: bool = True  # False for WebM, MKV, Ogg
    has_media_data: bool = False  # mdat/moof, Cluster, data chunk, audio frames: else 'truncated'
    fragmented: bool = False  # BMFF: moof boxes, or an init segment (moov with mvex, no mdat)
    init_segment: bool = False  # BMFF: moov+mvex and no media data: a DASH/CMAF init segment
    issues: list[ReadIssue] = field(default_factory=list)
    raw: list[RawField] = field(default_factory=list)  # for --verbose: every tag read (source, field, value)


#: Every media type read here: (kind, walker module, whether the format can carry an embedded manifest).
MEDIA_TYPES: dict[str, tuple[str, str, bool]] = {
    "video/mp4": ("video", "bmff", True),
    "video/x-m4v": ("video", "bmff", True),
    "video/quicktime": ("video", "bmff", True),
    "audio/mp4": ("audio", "bmff", True),
    "video/webm": ("video", "ebml", False),
    "video/x-matroska": ("video", "ebml", False),
    "audio/wav": ("audio", "riffav", True),
    "video/x-msvideo": ("video", "riffav", True),
    "audio/mpeg": ("audio", "id3", True),
    "audio/flac": ("audio", "flac", True),
    "audio/ogg": ("audio", "flac", False),
}

#: File extensions of the media types above, to report a name that disagrees with the content.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    ".mp4": ("video/mp4", "video/x-m4v", "audio/mp4"),
    ".m4v": ("video/x-m4v", "video/mp4"),
    ".mov": ("video/quicktime",),
    ".qt": ("video/quicktime",),
    ".m4a": ("audio/mp4", "video/mp4"),
    ".m4b": ("audio/mp4",),
    ".webm": ("video/webm",),
    ".mkv": ("video/x-matroska",),
    ".mka": ("video/x-matroska",),
    ".wav": ("audio/wav",),
    ".avi": ("video/x-msvideo",),
    ".mp3": ("audio/mpeg",),
    ".flac": ("audio/flac",),
    ".ogg": ("audio/ogg",),
    ".oga": ("audio/ogg",),
    ".ogv": ("audio/ogg",),
    ".opus": ("audio/ogg",),
    ".m4s": ("video/mp4",),
}

#: The note shown for a format that has no place for an embedded manifest.
CANNOT_CARRY = "this format cannot carry embedded Content Credentials"

#: The note shown for a DASH/CMAF init segment whose hash failed because its fragments were not given.
FRAGMENTS_NEEDED = (
    "a DASH/CMAF init segment read without its .m4s fragments: its hash covers them, so its Content "
    "Credentials could not be validated (check it with --fragments)"
)

#: The meaning given to a BMFF hash mismatch in that case: not a change of content.
FRAGMENTS_MEANING = "the hash covers the media fragments (.m4s), which were not given: not validated"

#: ``ftyp`` major brands, by media type (the first four bytes after ``ftyp``).
_QUICKTIME = (b"qt  ",)
_AUDIO = (b"M4A ", b"M4B ")
_M4V = (b"M4V ", b"M4VH", b"M4VP")
_MP4_PREFIXES = (b"iso", b"mp4", b"avc", b"das", b"cmf", b"mmp", b"msn", b"nda", b"f4v", b"hvc", b"av01", b"MSNV")
#: Major brands of other members of the family (3GP, Canon CR3, JPEG 2000): not read here.
_OTHER_FAMILY = (b"3gp", b"3g2", b"crx ", b"jp2 ", b"jpx ", b"jpm ")
_SNIFF_BYTES = 1 << 16
#: Characters of a tag shown by ``--verbose`` (as for PNG text).
_RAW_CHARS = 512


def is_media(media_type: str | None) -> bool:
    return media_type in MEDIA_TYPES


def kind(media_type: str) -> str:
    return MEDIA_TYPES[media_type][0]


def _ftyp(head: bytes) -> str | None:
    brand = head[8:12]
    if brand in _QUICKTIME:
        return "video/quicktime"
    if brand in _AUDIO:
        return "audio/mp4"
    if brand in _M4V:
        return "video/x-m4v"
    if brand.startswith(_MP4_PREFIXES):
        return "video/mp4"
    if brand.startswith(_OTHER_FAMILY):
        return None
    # An unknown major brand with an MP4 compatible brand (the box's size bounds the list).
    size = int.from_bytes(head[:4], "big")
    compatible = head[16 : min(max(size, 16), 64)]
    for at in range(0, len(compatible) - 3, 4):
        if compatible[at : at + 4].startswith((b"iso", b"mp4")):
            return "video/mp4"
    return None


def _ebml_doctype(head: bytes) -> str | None:
    """The DocType of an EBML header (``webm``, ``matroska``), from the first bytes."""
    at = head.find(b"\x42\x82", 4, 64)
    if at < 0 or at + 3 > len(head):
        return None
    length_byte = head[at + 2]
    if not length_byte & 0x80:  # only one-byte lengths in a sniff: DocType is a short string
        return None
    length = length_byte & 0x7F
    return head[at + 3 : at + 3 + length].decode("ascii", "replace")


def _id3_end(head: bytes) -> int | None:
    """Where the media after a leading ID3v2 tag starts, or None if ``head`` has no valid tag."""
    if not head.startswith(b"ID3") or len(head) < 10:
        return None
    size_bytes = head[6:10]
    if any(b & 0x80 for b in size_bytes):
        return None
    size = (size_bytes[0] << 21) | (size_bytes[1] << 14) | (size_bytes[2] << 7) | size_bytes[3]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def sniff(head: bytes, after_id3: bytes = b"") -> str | None:
    """The video or audio media type the magic bytes show, or ``None``.

    ``after_id3`` is what follows a leading ID3v2 tag (FLAC may sit behind
    one), when that lies beyond ``head``.
    """
    from provenance.read.container import _mpeg_audio_frame

    if head[4:8] == b"ftyp":
        return _ftyp(head)
    if head[:4] == b"RIFF":
        if head[8:12] == b"WAVE":
            return "audio/wav"
        if head[8:12] == b"AVI ":
            return "video/x-msvideo"
        return None
    if head[:4] == b"\x1a\x45\xdf\xa3":
        doctype = _ebml_doctype(head)
        if doctype == "webm":
            return "video/webm"
        if doctype == "matroska":
            return "video/x-matroska"
        return None
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:4] == b"OggS":
        return "audio/ogg"
    end = _id3_end(head)
    if end is not None:
        following = head[end : end + 4] if end + 4 <= len(head) else after_id3[:4]
        return "audio/flac" if following == b"fLaC" else "audio/mpeg"
    if len(head) >= 4 and head[0] == 0xFF and _mpeg_audio_frame(head[1], head[2]):
        return "audio/mpeg"
    return None


def sniff_stream(source: BinaryIO, size: int) -> str | None:
    """:func:`sniff` on a seekable stream: reads at most 64 KiB and 4 bytes after an ID3 tag."""
    source.seek(0)
    head = source.read(_SNIFF_BYTES)
    after = b""
    end = _id3_end(head)
    if end is not None and end + 4 > len(head) and end + 4 <= size:
        source.seek(end)
        after = source.read(4)
    return sniff(head, after)


def walk(source: BinaryIO, size: int, media_type: str, limits: Limits) -> MediaLayout:
    """Walk the container of ``media_type`` with its walker; never raises.

    A walker that is not installed, or that fails, leaves a layout whose
    C2PA presence is unknown (the C2PA library is asked) and an issue that
    says the container metadata was not read.
    """
    kind_, module_name, can_carry = MEDIA_TYPES[media_type]
    try:
        module = importlib.import_module(module_name if "." in module_name else f"provenance.read.{module_name}")
        walker = module.walk
    except (ImportError, AttributeError):
        return _unwalked(media_type, f"no reader for {media_type} container metadata is installed")
    try:
        source.seek(0)
        layout = walker(source, size, media_type, limits)
    except Exception as exc:  # a walker bug: this walk only
        return _unwalked(media_type, f"the {media_type} container walk failed: {type(exc).__name__}: {exc}")
    if not isinstance(layout, MediaLayout):
        return _unwalked(media_type, f"the {media_type} container walk returned no layout")
    layout.media_type = media_type
    if layout.kind not in ("video", "audio"):  # a walker may know better (a WebM with only a sound track)
        layout.kind = kind_
    if not can_carry:
        layout.can_carry_c2pa = False
        layout.c2pa = False
    return layout


def _unwalked(media_type: str, why: str) -> MediaLayout:
    kind_, _, can_carry = MEDIA_TYPES[media_type]
    return MediaLayout(
        media_type,
        kind_,
        c2pa=None if can_carry else False,
        can_carry_c2pa=can_carry,
        has_media_data=True,  # unknown: the C2PA library and the other checks still run
        issues=[ReadIssue("not-read", f"{why}; its tags were not read")],
    )


def to_result(layout: MediaLayout, name: str, limits: Limits) -> ReadResult:
    """Evidence for the rules from the walk: the media type, any extension mismatch, every tag."""
    from provenance.read.container import CONTAINER, extension_mismatch

    evidence: list[Evidence] = [Evidence(CONTAINER, "media-type", layout.media_type, "magic bytes")]
    mismatch = extension_mismatch(name, layout.media_type)
    if mismatch:
        evidence.append(Evidence(CONTAINER, "extension-mismatch", mismatch, "file name"))
    raw = [RawField(CONTAINER, "media-type", layout.media_type), RawField(CONTAINER, "media-kind", layout.kind)]
    if layout.init_segment:
        raw.append(RawField(CONTAINER, "layout", "DASH/CMAF init segment (no media data)"))
    elif layout.fragmented:
        raw.append(RawField(CONTAINER, "layout", "fragmented"))
    cap = limits.max_value_chars
    for tag in layout.tags:
        # As for PNG text: the value shown is cut, the rules see the whole text (or its parsed JSON).
        data = jsontext.parse_json(tag.value) or tag.value
        evidence.append(Evidence(tag.source, tag.field, tag.value[:cap], tag.location, data=data))
    seen = {(r.source, r.field) for r in layout.raw}
    raw.extend(RawField(r.source, r.field, r.value[:_RAW_CHARS]) for r in layout.raw)
    unlisted = [t for t in layout.tags if (t.source, t.field) not in seen]
    raw.extend(RawField(t.source, t.field, t.value[:_RAW_CHARS]) for t in unlisted)
    return ReadResult(tuple(evidence), tuple(layout.issues), tuple(raw))
