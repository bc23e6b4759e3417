"""EXIF, read with exifread from the TIFF structure the container walk found.

Field names are exifread's tag names without the IFD prefix (``Make``,
``UserComment``); the IFD goes into the location. ``UserComment`` is decoded
from its 8-byte charset prefix, including the UTF-16 variants that
generator UIs write.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

from provenance.evidence import Evidence, RawField, ReadIssue, ReadResult
from provenance.limits import Limits
from provenance.read.container import TIFF_TYPE_SIZES, tiff_number
from provenance.read.jsontext import parse_json, split_leading_json

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


class _WorkLimit(Exception):
    """Raised through exifread once it has used up :data:`MAX_READ_CALLS` or :data:`MAX_READ_BYTES`."""


class _BudgetedBytes(io.BytesIO):
    """A byte stream that stops exifread once it has done too much work.

    Counting every read costs as much as exifread's own work on a normal
    file, so it is used only where :func:`_plan` cannot bound that work.
    """

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


#: Tags whose value is the offset of another IFD (Exif, GPS, Interoperability).
_POINTERS = {0x8769: "EXIF", 0x8825: "GPS", 0xA005: "Interoperability"}  # with exifread's IFD names
_USER_COMMENT = 0x9286


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a walk of a TIFF structure's IFDs found before exifread runs."""

    reads: int  # an upper bound on exifread's read calls (details off)
    text_bytes: int  # an upper bound on the bytes of the ASCII values it reads
    user_comment: tuple[str, bytes] | None  # (IFD, raw value): the Exif IFD's, else the first elsewhere
    revisited: bool  # some IFD is reached twice: exifread would read it again each time


def _plan(blob: bytes, limits: Limits) -> _Plan | None:
    """Walk the IFDs of a TIFF structure once, as exifread will; ``None`` if ``blob`` is not one.

    Every IFD is visited once (a second way into one is noted, not
    followed). The bound counts a read per entry field and per value of
    fewer than 1000 (exifread reads longer non-text values not at all), and
    every ASCII value whole.
    """
    if blob[:4] not in (b"II*\x00", b"MM\x00*") or len(blob) < 8:
        return None
    endian = "<" if blob[0] == 0x49 else ">"
    entry_format = struct.Struct(endian + "HHII")
    short, long = struct.Struct(endian + "H"), struct.Struct(endian + "I")
    size = len(blob)
    reads = text = 0
    revisited = False
    comments: dict[str, bytes] = {}  # UserComment by IFD (writers put it in IFD0 too)
    seen: set[int] = set()
    queue: list[tuple[int, str]] = []  # (offset, IFD name as exifread gives it)
    chain = long.unpack_from(blob, 4)[0]
    while chain and chain + 2 <= size and chain not in seen:  # IFD0, IFD1, ...
        reads += 2  # exifread reads the count and the next pointer of each
        if reads > MAX_READ_CALLS:  # a chain of thousands of empty IFDs: leave it to the budget
            return _Plan(reads, text, None, revisited)
        seen.add(chain)
        queue.append((chain, ("Image", "Thumbnail")[len(queue)] if len(queue) < 2 else f"IFD {len(queue)}"))
        (count,) = short.unpack_from(blob, chain)
        after = chain + 2 + 12 * count
        chain = long.unpack_from(blob, after)[0] if after + 4 <= size else 0
    while queue:
        ifd, ifd_name = queue.pop()
        if ifd + 2 > size:
            continue
        (count,) = short.unpack_from(blob, ifd)
        reads += 2 + 3 * count  # the count; tag, type and count of each entry (read past the end too)
        if reads > MAX_READ_CALLS:  # the walk itself stays cheap: leave the rest to the budget
            return _Plan(reads, text, _preferred(comments), revisited)
        for entry in range(ifd + 2, min(ifd + 2 + 12 * count, size - 11), 12):
            tag, typ, values, value = entry_format.unpack_from(blob, entry)
            width = TIFF_TYPE_SIZES.get(typ)
            if width is None:
                continue
            inline = values * width <= 4
            if typ == 2:
                reads += 2
                text += min(values, size)
            elif values < 1000:
                reads += 1 + values * (2 if typ in (5, 10) else 1)
            if tag in _POINTERS and values:
                target = tiff_number(blob, endian, typ, entry + 8 if inline else value)
                if target is None or target in seen:
                    revisited = True
                else:
                    seen.add(target)
                    queue.append((target, _POINTERS[tag]))
            elif tag == _USER_COMMENT and ifd_name not in comments and values:
                start = entry + 8 if inline else value
                comments[ifd_name] = blob[start : start + min(values * width, limits.max_text_bytes)]
    return _Plan(reads, text, _preferred(comments), revisited)


def _preferred(comments: dict[str, bytes]) -> tuple[str, bytes] | None:
    if "EXIF" in comments:
        return "EXIF", comments["EXIF"]
    return next(iter(comments.items()), None)


def _exifread_tags(blob: bytes, budget: list[int], plan: _Plan | None) -> dict[str, Any]:
    """exifread's tags of one block; only blocks whose work is unbounded pay for the budget."""
    import exifread

    if plan is None:
        # Not a bare TIFF structure (a whole HEIF file): exifread finds the
        # EXIF itself, UserComment included (details=True), within the budget.
        stream: io.BytesIO = _BudgetedBytes(blob, budget)
        return dict(exifread.process_file(stream, details=True, extract_thumbnail=False, truncate_tags=False))
    # details=False: no maker notes (never shown) and no UserComment (taken
    # from the plan instead, at any length).
    if plan.revisited or plan.reads > budget[0] or plan.text_bytes > budget[1]:
        stream = _BudgetedBytes(blob, budget)
    else:
        budget[0] -= plan.reads
        budget[1] -= plan.text_bytes
        stream = io.BytesIO(blob)
    return dict(exifread.process_file(stream, details=False, extract_thumbnail=False, truncate_tags=False))


def read(blobs: list[bytes], limits: Limits) -> ReadResult:
    """Read each EXIF blob (a TIFF structure, or a whole TIFF/HEIF file)."""
    evidence: list[Evidence] = []
    raw: list[RawField] = []
    issues: list[ReadIssue] = []
    import logging  # exifread loads it anyway; a file without EXIF need not

    logging.getLogger("exifread").setLevel(logging.CRITICAL)
    budget = [MAX_READ_CALLS, MAX_READ_BYTES]
    for index, blob in enumerate(blobs):
        where = "EXIF" if len(blobs) == 1 else f"EXIF block {index + 1}"
        plan = _plan(blob, limits)
        stop = False
        try:
            tags = _exifread_tags(blob, budget, plan)
        except _WorkLimit as exc:
            issues.append(ReadIssue("limit-exceeded", f"{where}: {exc}; the rest of the EXIF skipped", SOURCE))
            tags, stop = {}, True
        except Exception as exc:  # exifread raises many kinds on bad input
            issues.append(ReadIssue("malformed", f"{where} could not be read: {type(exc).__name__}: {exc}", SOURCE))
            tags = {}
        fields: list[tuple[str, str, str]] = []  # (IFD, name, text)
        for key, tag in tags.items():
            if key.startswith(_SKIP_PREFIXES):
                continue
            ifd, _, name = key.partition(" ")
            if not name:
                continue
            try:
                fields.append((ifd, name, _tag_text(name, tag)))
            except Exception:  # a tag exifread built but cannot print
                continue
        if plan is not None and plan.user_comment is not None:
            ifd, raw_comment = plan.user_comment
            fields.append((ifd, "UserComment", decode_user_comment(raw_comment)))
        for ifd, name, text in fields:
            shown = text[: limits.max_value_chars]
            raw.append(RawField(SOURCE, name, shown[:512]))
            if name in EVIDENCE_TAGS and shown:
                location = f"{where} {ifd} IFD"
                parsed = parse_json(text)
                evidence.append(Evidence(SOURCE, name, shown, location, data=parsed or text))
                split = split_leading_json(text) if parsed is None and name == "UserComment" else None
                if split is not None:
                    # A JSON object followed by more text (Civitai: a ComfyUI graph, then
                    # A1111-style text): the object is evidence of its own, for structure rules.
                    obj, obj_text, _ = split
                    part = obj_text[: limits.max_value_chars]
                    evidence.append(Evidence(SOURCE, name, part, f"{location}, the JSON object at its start", data=obj))
        if stop:
            break
    return ReadResult(tuple(evidence), tuple(issues), tuple(raw))
