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


#: Work allowed to exifread for one file, over all its EXIF blocks: read calls
#: (exifread seeks and reads once per value; real files need a few thousand)
#: and bytes returned (only ASCII strings are read whole; exifread then walks
#: them character by character). Hostile IFDs (thousands of entries all
#: pointing at one large sub-IFD or string) otherwise cost minutes of CPU or
#: gigabytes of memory.
MAX_READ_CALLS = 50_000
MAX_READ_BYTES = 4 * 1024**2


def _long_user_comment(blob: bytes, tag: Any, limits: Limits) -> str:
    """A UserComment of 1000 bytes or more, read from the block itself.

    exifread keeps no values for such a field, so a generator's parameters
    (a long prompt in UTF-16) would be lost. Offsets count from the TIFF
    header, which starts the block in every format but a whole HEIF file.
    """
    start, length = getattr(tag, "field_offset", None), getattr(tag, "field_length", None)
    if not blob.startswith((b"II*\x00", b"MM\x00*")) or not isinstance(start, int) or not isinstance(length, int):
        return ""
    return decode_user_comment(blob[start : start + min(max(length, 0), limits.max_text_bytes)])


class _WorkLimit(Exception):
    """Raised through exifread once it has used up :data:`MAX_READ_CALLS` or :data:`MAX_READ_BYTES`."""


class _BudgetedBytes(io.BytesIO):
    """A byte stream that stops exifread once it has done too much work."""

    def __init__(self, blob: bytes, budget: list[int]) -> None:
        super().__init__(blob)
        self.budget = budget  # [read calls left, bytes left], shared by a file's blocks

    def read(self, size: int | None = -1, /) -> bytes:
        out = super().read(size)
        self.budget[0] -= 1
        self.budget[1] -= len(out)
        if self.budget[0] < 0 or self.budget[1] < 0:
            raise _WorkLimit("exifread did more work than the limit allows")
        return out


def read(blobs: list[bytes], limits: Limits) -> ReadResult:
    """Read each EXIF blob (a TIFF structure, or a whole TIFF/HEIF file)."""
    import exifread

    evidence: list[Evidence] = []
    raw: list[RawField] = []
    issues: list[ReadIssue] = []
    logging.getLogger("exifread").setLevel(logging.CRITICAL)
    budget = [MAX_READ_CALLS, MAX_READ_BYTES]
    for index, blob in enumerate(blobs):
        where = "EXIF" if len(blobs) == 1 else f"EXIF block {index + 1}"
        try:
            # details=True: with details=False exifread drops UserComment, where
            # generator UIs store their parameters.
            stream = _BudgetedBytes(blob, budget)
            tags = exifread.process_file(stream, details=True, extract_thumbnail=False, truncate_tags=False)
        except _WorkLimit as exc:
            issues.append(ReadIssue("limit-exceeded", f"{where}: {exc}; the rest of the EXIF skipped", SOURCE))
            break
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
                if name == "UserComment" and not text:
                    text = _long_user_comment(blob, tag, limits)
            except Exception:  # a tag exifread built but cannot print
                continue
            shown = text[: limits.max_value_chars]
            raw.append(RawField(SOURCE, name, shown[:512]))
            if name in EVIDENCE_TAGS and shown:
                evidence.append(Evidence(SOURCE, name, shown, f"{where} {ifd} IFD", data=parse_json(text) or text))
    return ReadResult(tuple(evidence), tuple(issues), tuple(raw))
