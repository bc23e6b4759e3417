"""ISO base media files (MP4, MOV, M4A, M4V): tags, XMP and Content Credentials, box by box.

The walk follows each box's declared size (32-bit, 64-bit ``largesize``, or
0 for "to the end") and reads headers and metadata payloads only: ``mdat``
and movie fragments are stepped over, never read. It collects

- ``moov/udta`` items: QuickTime text atoms (``©too``, ``©cmt``, ``©nam``...:
  16-bit length and language, then the text), iTunes-style items holding
  ``data`` atoms, and 3GPP text boxes (``titl``, ``dscp``...);
- ``meta`` boxes (in ``moov``, ``udta`` or ``trak``) with an ``ilst`` of items:
  under an ``mdir`` handler each item is named by its box type; under an
  ``mdta`` handler (what ffmpeg writes with ``-movflags use_metadata_tags``)
  each item's box type is a 1-based index into the ``keys`` box, and the
  item is named by that key (``prompt``, ``workflow``, ``comment``);
- XMP: the ``uuid`` box BE7ACFCB-97A9-42E8-9C71-999491E3AFAC (top level or
  inside ``moov``/``trak``/``udta``) and QuickTime's ``udta/XMP_``;
- whether a C2PA manifest store is embedded: the ``uuid`` box
  D8FEC3D6-1B0E-483C-9297-5828877EC481 with purpose ``manifest`` (c2pa-rs,
  ``sdk/src/asset_handlers/bmff_io.rs``);
- the layout: media data (``mdat``/``moof``), fragments (``moof``, ``sidx``,
  ``styp``, ``mvex`` in ``moov``) and DASH/CMAF init segments (``moov`` with
  ``mvex`` and no media data).

Everything is bounded: nesting depth, boxes visited, tags kept and tag text
read. Sizes only ever move the walk forward, so it cannot loop. Bad bytes
never raise: the walk returns what it read and says why it stopped.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from provenance.evidence import RawField, ReadIssue
from provenance.limits import Limits
from provenance.read.container import MAX_TEXT_ITEMS
from provenance.read.media import MediaLayout, Tag
from provenance.read.mediawalk import Window

SOURCE = "bmff"

XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")

#: Boxes nested deeper than this are not read.
MAX_DEPTH = 32
#: Boxes visited per file, at every level together.
MAX_BOXES = 100_000
#: Problems of one kind reported per file; the rest are counted in the last.
_MAX_ISSUES = 8

#: Bytes read at once for box headers: a few small boxes in one read, but
#: little of the media beside a fragment's header (files alternate moof, mdat).
_WINDOW = 4096
_FRAGMENT_BOXES = frozenset({b"moof", b"sidx", b"ssix", b"styp"})
#: 3GPP asset boxes in ``udta`` (3GPP TS 26.244): full box, language, text.
_3GPP_TEXT = frozenset({b"titl", b"dscp", b"cprt", b"perf", b"auth", b"gnre", b"albm"})
#: Children that show a ``meta`` box is QuickTime's (no version and flags) rather than ISO's.
_META_CHILDREN = frozenset({b"hdlr", b"keys", b"ilst", b"xml ", b"iinf", b"pitm", b"iloc"})
#: ``data`` atom type codes (Apple's well-known types) read as text.
_UTF8_TYPES = frozenset({1, 4})
_UTF16_TYPES = frozenset({2, 5})
_INT_TYPES = frozenset({21, 22})


def box_name(code: bytes) -> str:
    """A box type as people read it: ``moov``, ``©too``; else its number (an ``mdta`` item, a broken type)."""
    if len(code) == 4 and all(c == 0xA9 or 0x20 <= c <= 0x7E for c in code):
        return code.decode("latin-1")
    return "0x" + code.hex().upper()


def _text(raw: bytes, encoding: str = "utf-8") -> str:
    return raw.decode(encoding, errors="replace").rstrip("\x00")


def _qt_text(raw: bytes, language: int) -> str:
    """A QuickTime text record: UTF-16 with a byte order mark, UTF-8, or, under a
    Macintosh language code (below 0x400), Mac Roman when it is not valid UTF-8."""
    if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return _text(raw, "utf-16")
    if language < 0x400:
        try:
            return raw.decode("utf-8").rstrip("\x00")
        except UnicodeDecodeError:
            return _text(raw, "mac_roman")
    return _text(raw)


class _Stop(Exception):
    """The box budget ran out: the walk ends here."""


class _Walk:
    def __init__(self, reader: Window, layout: MediaLayout, limits: Limits) -> None:
        self.reader = reader
        self.layout = layout
        self.limits = limits
        self.size = reader.size
        self.boxes = 0
        self.text_left = limits.max_text_bytes
        self.xmp_left = limits.max_xmp_bytes
        self.skipped_tags = 0
        self.skipped_xmp = 0
        self.reported: dict[str, int] = {}
        self.moov = False
        self.mvex = False
        self.mdat = False

    # --- problems ---------------------------------------------------------

    def issue(self, kind: str, message: str, source: str = "container") -> None:
        seen = self.reported.get(kind, 0)
        self.reported[kind] = seen + 1
        if kind == "truncated" and seen:
            return  # the file ends once: the first box it cuts says where
        if seen < _MAX_ISSUES:
            self.layout.issues.append(ReadIssue(kind, message, source))

    # --- boxes ------------------------------------------------------------

    def children(self, start: int, end: int, path: str) -> Iterator[tuple[bytes, int, int, int]]:
        """Each box in ``[start, end)``: (type, box start, payload start, box end).

        A box that runs past ``end`` is cut there (an issue says so) and is
        the last one read at this level; a header too short or too small to
        follow ends the level too.
        """
        pos = start
        inside = f"in {path}" if path else "at the top level"
        while pos < end:
            if self.boxes >= MAX_BOXES:
                self.issue(
                    "limit-exceeded",
                    f"more than {MAX_BOXES} boxes: the rest of the file was not read (from byte {pos})",
                )
                raise _Stop
            self.boxes += 1
            room = end - pos
            head = self.reader.read(pos, min(16, room))
            if len(head) < min(8, room):  # the source is shorter than its size said
                self.issue("truncated", f"the file could not be read past byte {pos + len(head)}")
                return
            if room < 8:
                if end < self.size:
                    self.issue("malformed", f"{room} stray bytes {inside} at byte {pos}: too few for a box")
                elif head.strip(b"\x00"):  # zeros after the last box are padding
                    self.issue("truncated", f"the file ends inside a box header {inside} (byte {pos})")
                return
            (declared,) = struct.unpack_from(">I", head)
            code = head[4:8]
            header = 8
            if declared == 1:
                if len(head) < 16:
                    where = "the file ends" if end >= self.size else "its parent ends"
                    self.issue(
                        "truncated" if end >= self.size else "malformed",
                        f"{where} inside the header of box {box_name(code)!r} {inside} (byte {pos})",
                    )
                    return
                (declared,) = struct.unpack_from(">Q", head, 8)
                header = 16
            elif declared == 0:
                declared = end - pos  # to the end of the file (or of its parent)
            if declared < header:
                self.issue(
                    "malformed",
                    f"box {box_name(code)!r} {inside} at byte {pos} declares {declared} bytes, "
                    f"less than its {header}-byte header; the rest of this level was not read",
                )
                return
            box_end = pos + declared
            if box_end > end:
                if end >= self.size:
                    self.issue(
                        "truncated",
                        f"box {box_name(code)!r} {inside} at byte {pos} declares {declared} bytes "
                        f"but the file ends {self.size - pos} bytes after its start",
                    )
                else:
                    self.issue(
                        "malformed",
                        f"box {box_name(code)!r} {inside} at byte {pos} declares {declared} bytes, "
                        f"past the end of its parent",
                    )
                box_end = end
            yield code, pos, min(pos + header, box_end), box_end
            pos = box_end

    def within(self, pos: int, end: int, count: int) -> bytes:
        """Up to ``count`` bytes at ``pos``, never past ``end`` (the end of the box they belong to)."""
        return self.reader.read(pos, min(count, end - pos))

    def deep(self, depth: int, path: str) -> bool:
        if depth > MAX_DEPTH:
            self.issue("limit-exceeded", f"boxes nested more than {MAX_DEPTH} deep at {path}: not read")
            return True
        return False

    # --- payloads ---------------------------------------------------------

    def text_payload(self, start: int, end: int, what: str) -> bytes | None:
        """The bytes of one tag value, within the per-file text budget; ``None`` if over it."""
        count = end - start
        if len(self.layout.tags) >= MAX_TEXT_ITEMS or count > self.text_left:
            self.skipped_tags += 1
            return None
        data = self.reader.read(start, count)
        self.text_left -= len(data)
        return data

    def add(self, field: str, value: str, location: str) -> None:
        if len(self.layout.tags) >= MAX_TEXT_ITEMS:
            self.skipped_tags += 1
            return
        self.layout.tags.append(Tag(SOURCE, field, value, location))
        self.layout.raw.append(RawField(SOURCE, field, value[:512]))

    def xmp(self, start: int, end: int, where: str) -> None:
        count = end - start
        if count > self.xmp_left:
            self.skipped_xmp += 1
            self.issue(
                "limit-exceeded",
                f"XMP packet of {count} bytes in {where} not read: over the limit of "
                f"{self.limits.max_xmp_bytes} bytes of XMP per file",
                "xmp",
            )
            return
        packet = self.reader.read(start, count)
        self.xmp_left -= len(packet)
        if packet.strip(b"\x00 \t\r\n"):
            self.layout.xmp.append(packet)

    # --- the walk ---------------------------------------------------------

    def top(self) -> None:
        for code, _, body, end in self.children(0, self.size, ""):
            if code == b"ftyp":
                self.ftyp(body, end)
            elif code == b"moov":
                self.moov = True
                self.container(body, end, "moov", 1)
            elif code == b"mdat":
                self.mdat = True
                self.layout.has_media_data = True
            elif code == b"moof":
                self.layout.has_media_data = True
                self.layout.fragmented = True
            elif code in _FRAGMENT_BOXES:
                self.layout.fragmented = True
            elif code == b"uuid":
                self.uuid(body, end, "at the top level")
            elif code == b"meta":
                self.meta(body, end, "meta", 1)
            # free, skip, wide, mfra and anything else: stepped over

    def ftyp(self, start: int, end: int) -> None:
        head = self.within(start, end, 4 + 4 + 4 * 64)
        if len(head) < 8:
            self.issue("malformed", "the ftyp box is too short for its brands")
            return
        brands = [box_name(head[i : i + 4]) for i in range(8, len(head) - 3, 4)]
        (minor,) = struct.unpack_from(">I", head, 4)
        value = f"major {box_name(head[:4])}, minor {minor}"
        if brands:
            value += ", compatible " + " ".join(brands)
        self.layout.raw.append(RawField(SOURCE, "ftyp", value))

    def container(self, start: int, end: int, path: str, depth: int) -> None:
        """``moov`` or ``trak``: only the boxes that hold metadata are opened."""
        if self.deep(depth, path):
            return
        for code, _, body, box_end in self.children(start, end, path):
            child = f"{path}/{box_name(code)}"
            if code == b"mvex" and path == "moov":
                self.mvex = True
            elif code == b"udta":
                self.udta(body, box_end, child, depth + 1)
            elif code == b"meta":
                self.meta(body, box_end, child, depth + 1)
            elif code == b"uuid":
                self.uuid(body, box_end, f"in {path}")
            elif code in (b"trak", b"moov"):
                self.container(body, box_end, child, depth + 1)

    def udta(self, start: int, end: int, path: str, depth: int) -> None:
        if self.deep(depth, path):
            return
        for code, _, body, box_end in self.children(start, end, path):
            child = f"{path}/{box_name(code)}"
            if code == b"meta":
                self.meta(body, box_end, child, depth + 1)
            elif code == b"uuid":
                self.uuid(body, box_end, f"in {path}")
            elif code == b"XMP_":
                self.xmp(body, box_end, child)
            elif code == b"udta":
                self.udta(body, box_end, child, depth + 1)
            elif code[0] == 0xA9:
                self.udta_text(code, body, box_end, child, depth + 1)
            elif code in _3GPP_TEXT:
                self.text_3gpp(code, body, box_end, child)

    def udta_text(self, code: bytes, start: int, end: int, path: str, depth: int) -> None:
        """A ``©xxx`` item: QuickTime text records, or iTunes-style ``data`` atoms."""
        field = box_name(code)
        if self.within(start + 4, end, 4) == b"data":
            for value in self.data_atoms(start, end, path, depth):
                self.add(field, value, path)
            return
        payload = self.text_payload(start, end, path)
        if payload is None:
            return
        pos = 0
        while pos + 4 <= len(payload):
            length, language = struct.unpack_from(">HH", payload, pos)
            if pos + 4 + length > len(payload):
                self.issue("malformed", f"text record of {length} bytes in {path} runs past its box", SOURCE)
                length = len(payload) - pos - 4
            raw = payload[pos + 4 : pos + 4 + length]
            self.add(field, _qt_text(raw, language), path)
            pos += 4 + length

    def text_3gpp(self, code: bytes, start: int, end: int, path: str) -> None:
        """A 3GPP asset box: version and flags, a packed language, then a NUL-ended string."""
        payload = self.text_payload(start, end, path)
        if payload is None or len(payload) < 6:
            return
        raw = payload[6:]
        if raw[:2] in (b"\xfe\xff", b"\xff\xfe"):
            value = _text(raw, "utf-16")
        else:
            value = _text(raw.split(b"\x00", 1)[0])
        self.add(box_name(code), value, path)

    def data_atoms(self, start: int, end: int, path: str, depth: int) -> list[str]:
        """The values of the ``data`` atoms of one item (text and integers; binary types are skipped)."""
        values: list[str] = []
        if self.deep(depth, path):
            return values
        for code, _, body, box_end in self.children(start, end, path):
            if code != b"data":
                continue
            head = self.within(body, box_end, 8)
            if len(head) < 8:
                self.issue("malformed", f"data atom in {path} too short for its type and locale", SOURCE)
                continue
            kind = int.from_bytes(head[1:4], "big")
            if kind in _UTF8_TYPES or kind in _UTF16_TYPES:
                payload = self.text_payload(body + 8, box_end, path)
                if payload is not None:
                    values.append(_text(payload, "utf-8" if kind in _UTF8_TYPES else "utf-16-be"))
            elif kind in _INT_TYPES and box_end - body - 8 in (1, 2, 3, 4, 8):
                number = self.within(body + 8, box_end, 8)
                values.append(str(int.from_bytes(number, "big", signed=kind == 21)))
        return values

    def freeform(self, start: int, end: int, path: str, depth: int) -> tuple[str, list[str]]:
        """An iTunes ``----`` item: (its name, its values); the ``mean`` (a reverse domain) is not kept."""
        name = ""
        if self.deep(depth, path):
            return name, []
        for code, _, body, box_end in self.children(start, end, path):
            if code == b"name":
                payload = self.text_payload(body + 4, box_end, path)
                name = _text(payload) if payload is not None else ""
        return name, self.data_atoms(start, end, path, depth)

    def meta(self, start: int, end: int, path: str, depth: int) -> None:
        """A ``meta`` box: its handler, its ``keys`` if any, and the items of its ``ilst``."""
        if self.deep(depth, path):
            return
        # ISO's meta is a full box (version and flags first); QuickTime's is not.
        if self.within(start + 4, end, 4) not in _META_CHILDREN:
            start += 4
        handler = b""
        keys: list[str] = []
        items: list[tuple[bytes, str, list[str]]] = []  # (item type, freeform name and mean, values)
        for code, _, body, box_end in self.children(start, end, path):
            child = f"{path}/{box_name(code)}"
            if code == b"hdlr":
                handler = self.within(body + 8, box_end, 4)
            elif code == b"keys":
                keys = self.keys(body, box_end, child)
            elif code == b"ilst":
                items.extend(self.ilst(body, box_end, child, depth + 1))
            elif code == b"uuid":
                self.uuid(body, box_end, f"in {path}")
        for item, name, values in items:
            # Under an mdta handler an item's type is a 1-based index into keys.
            by_key = handler == b"mdta" or (bool(keys) and handler != b"mdir" and item[:1] == b"\x00")
            if by_key:
                index = int.from_bytes(item, "big")
                if 1 <= index <= len(keys):
                    field, location = keys[index - 1], f"{path}/ilst (mdta key {index})"
                else:
                    self.issue(
                        "malformed",
                        f"an item of {path}/ilst refers to key {index} but keys lists {len(keys)}",
                        SOURCE,
                    )
                    field, location = box_name(item), f"{path}/ilst"
            elif item == b"----":
                field, location = name or "----", f"{path}/ilst/----"
            else:
                field, location = box_name(item), f"{path}/ilst/{box_name(item)}"
            for value in values:
                self.add(field, value, location)

    def keys(self, start: int, end: int, path: str) -> list[str]:
        """The key names of a ``keys`` box, in order (index 1 first)."""
        head = self.within(start, end, 8)
        if len(head) < 8:
            self.issue("malformed", f"{path} too short for its entry count", SOURCE)
            return []
        (count,) = struct.unpack_from(">I", head, 4)
        names: list[str] = []
        pos = start + 8
        while len(names) < min(count, MAX_TEXT_ITEMS) and pos + 8 <= end:
            entry = self.within(pos, end, 8)
            if len(entry) < 8:
                break
            (length,) = struct.unpack_from(">I", entry)
            if length < 8 or pos + length > end:
                self.issue("malformed", f"key {len(names) + 1} in {path} declares {length} bytes", SOURCE)
                break
            raw = self.text_payload(pos + 8, pos + length, path)
            if raw is None:
                break
            names.append(_text(raw))
            pos += length
        return names

    def ilst(self, start: int, end: int, path: str, depth: int) -> Iterator[tuple[bytes, str, list[str]]]:
        if self.deep(depth, path):
            return
        for code, _, body, box_end in self.children(start, end, path):
            child = f"{path}/{box_name(code)}"
            if code == b"----":
                name, values = self.freeform(body, box_end, child, depth + 1)
                yield code, name, values
            else:
                yield code, "", self.data_atoms(body, box_end, child, depth + 1)

    def uuid(self, start: int, end: int, where: str) -> None:
        head = self.within(start, end, 16 + 4 + 16)
        if len(head) < 16:
            self.issue("malformed", f"uuid box {where} too short for its identifier")
            return
        kind = head[:16]
        if kind == XMP_UUID:
            self.xmp(start + 16, end, f"the XMP uuid box {where}")
        elif kind == C2PA_UUID:
            purpose = head[20:].split(b"\x00", 1)[0]
            if purpose == b"manifest":
                self.layout.c2pa = True
            elif purpose != b"merkle" and self.layout.c2pa is False:
                self.layout.c2pa = None  # a C2PA box of a kind we do not know: the library decides
            shown = _text(purpose, "latin-1")[:32]
            self.layout.raw.append(RawField(SOURCE, "c2pa-uuid", f"C2PA uuid box, purpose {shown!r}, {where}"))


def walk(source: BinaryIO, size: int, media_type: str, limits: Limits) -> MediaLayout:
    """Walk the boxes of an ISO base media file; never raises on bad bytes."""
    kind = "audio" if media_type.startswith("audio/") else "video"
    layout = MediaLayout(media_type=media_type, kind=kind)
    state = _Walk(Window(source, size, _WINDOW), layout, limits)
    try:
        state.top()
    except _Stop:
        pass
    except OSError as exc:
        layout.issues.append(ReadIssue("truncated", f"the file could not be read to its end: {exc}"))
    if state.mvex:
        layout.fragmented = True
        if state.moov and not layout.has_media_data:
            layout.init_segment = True
    if state.skipped_tags:
        layout.issues.append(
            ReadIssue(
                "limit-exceeded",
                f"{state.skipped_tags} tag value(s) not read: over {MAX_TEXT_ITEMS} tags "
                f"or {limits.max_text_bytes} bytes of tag text",
                SOURCE,
            )
        )
    for kind_, count in state.reported.items():
        if count > _MAX_ISSUES:
            layout.issues.append(ReadIssue(kind_, f"{count - _MAX_ISSUES} more problems of this kind not listed"))
    return layout
