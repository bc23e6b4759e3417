"""EXIF, read with exifread from the TIFF structure the container walk found.

Field names are exifread's tag names without the IFD prefix (``Make``,
``UserComment``); the IFD goes into the location. ``UserComment`` is decoded
from its 8-byte charset prefix, including the UTF-16 variants that
generator UIs write.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from provenance.evidence import Evidence, RawField, ReadIssue, ReadResult
from provenance.limits import Limits
from provenance.read.jsontext import parse_json

SOURCE = "exif"

#: Tags turned into evidence (the rest are raw fields for ``--verbose``).
EVIDENCE_TAGS = frozenset(
    {
        "Make",
        "Model",
        "LensModel",
        "LensMake",
        "DateTimeOriginal",
        "ExposureTime",
        "FNumber",
        "ISOSpeedRatings",
        "FocalLength",
        "Software",
        "ImageDescription",
        "UserComment",
        "Artist",
        "DocumentName",
        "Copyright",
        "HostComputer",
        "BodySerialNumber",
    }
)

_SKIP_PREFIXES = ("Thumbnail ", "JPEGThumbnail", "MakerNote ", "Interoperability ")


def decode_user_comment(raw: bytes) -> str:
    """Decode an EXIF UserComment by its charset prefix.

    ``UNICODE\\0`` is UTF-16, big-endian by the spec (piexif, A1111) but
    little-endian from some writers (ImageSharp); the order that yields
    fewer NUL-led code units wins. No prefix: UTF-8, then Latin-1.
    """
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\x00":
        if body.startswith(b"\xfe\xff"):
            return body[2:].decode("utf-16-be", "replace").rstrip("\x00")
        if body.startswith(b"\xff\xfe"):
            return body[2:].decode("utf-16-le", "replace").rstrip("\x00")
        even = body[0::2].count(0)
        odd = body[1::2].count(0)
        codec = "utf-16-le" if odd > even else "utf-16-be"
        return body[: len(body) // 2 * 2].decode(codec, "replace").rstrip("\x00")
    if prefix == b"ASCII\x00\x00\x00":
        return body.decode("ascii", "replace").rstrip("\x00 ")
    if prefix == b"JIS\x00\x00\x00\x00\x00":
        return body.decode("shift_jis", "replace").rstrip("\x00 ")
    if prefix == b"\x00" * 8:
        return body.decode("utf-8", "replace").rstrip("\x00 ")
    try:
        return raw.decode("utf-8").rstrip("\x00 ")
    except UnicodeDecodeError:
        return raw.decode("latin-1").rstrip("\x00 ")


def _tag_text(name: str, tag: Any) -> str:
    values = getattr(tag, "values", None)
    if name == "UserComment" and isinstance(values, (list, bytes)):
        try:
            return decode_user_comment(bytes(values))
        except (TypeError, ValueError):
            pass
    if isinstance(values, str):
        return values.rstrip("\x00 ")
    if isinstance(values, bytes):
        return values.decode("utf-8", "replace").rstrip("\x00 ")
    return str(getattr(tag, "printable", tag))


def read(blobs: list[bytes], limits: Limits) -> ReadResult:
    """Read each EXIF blob (a TIFF structure, or a whole TIFF/HEIF file)."""
    import exifread

    evidence: list[Evidence] = []
    raw: list[RawField] = []
    issues: list[ReadIssue] = []
    logging.getLogger("exifread").setLevel(logging.CRITICAL)
    for index, blob in enumerate(blobs):
        where = "EXIF" if len(blobs) == 1 else f"EXIF block {index + 1}"
        try:
            # details=True: with details=False exifread drops UserComment, where
            # generator UIs store their parameters.
            tags = exifread.process_file(io.BytesIO(blob), details=True, extract_thumbnail=False, truncate_tags=False)
        except Exception as exc:  # exifread raises many kinds on bad input
            issues.append(ReadIssue("malformed", f"{where} could not be read: {type(exc).__name__}: {exc}", SOURCE))
            continue
        for key, tag in tags.items():
            if key.startswith(_SKIP_PREFIXES):
                continue
            ifd, _, name = key.partition(" ")
            if not name:
                continue
            try:
                text = _tag_text(name, tag)
            except Exception:  # a tag exifread built but cannot print
                continue
            shown = text[: limits.max_value_chars]
            raw.append(RawField(SOURCE, name, shown[:512]))
            if name in EVIDENCE_TAGS and shown:
                evidence.append(Evidence(SOURCE, name, shown, f"{where} {ifd} IFD", data=parse_json(text) or text))
    return ReadResult(tuple(evidence), tuple(issues), tuple(raw))
