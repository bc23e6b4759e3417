"""XMP packets: parsed with a hardened XML parser and flattened to fields.

Field names use the conventional prefix of each namespace
(``Iptc4xmpExt:DigitalSourceType``), whatever prefix the file declared, so
rules never depend on a writer's choice of prefix. Structures and arrays are
flattened with paths: ``xmpMM:History[2]/stEvt:softwareAgent``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from provenance.evidence import Evidence, RawField, ReadIssue, ReadResult
from provenance.limits import Limits
from provenance.read.jsontext import parse_json

if TYPE_CHECKING:  # the XML libraries load only when a file has XMP
    from xml.etree.ElementTree import Element

SOURCE = "xmp"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"

#: Conventional prefixes, by namespace URI (ExifTool and the XMP spec).
PREFIXES: dict[str, str] = {
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://ns.adobe.com/xap/1.0/rights/": "xmpRights",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
    "http://ns.useplus.org/ldf/xmp/1.0/": "plus",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
    "http://ns.adobe.com/xmp/note/": "xmpNote",
    "http://ns.google.com/photos/1.0/camera/": "GCamera",
    "http://c2pa.org/manifest/": "c2pa",
}

_XMLNS = re.compile(rb"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']([^"']*)["']""")
_MAX_DEPTH = 64
_MAX_FIELDS = 4096


def read(packets: list[bytes], limits: Limits) -> ReadResult:
    """Parse every XMP packet; each field becomes evidence and a raw field."""
    evidence: list[Evidence] = []
    raw: list[RawField] = []
    issues: list[ReadIssue] = []
    # All packets together get the field limit and twice the size limit of
    # one (a standard packet plus its extension): a file cannot multiply the
    # work by repeating packets.
    parsed = 0
    for index, packet in enumerate(packets):
        where = "XMP packet" if len(packets) == 1 else f"XMP packet {index + 1}"
        parsed += len(packet)
        if len(evidence) >= _MAX_FIELDS or parsed > 2 * limits.max_xmp_bytes:
            message = f"XMP packets {index + 1} to {len(packets)} skipped: over the limits for all packets together"
            issues.append(ReadIssue("limit-exceeded", message, SOURCE))
            break
        try:
            fields = parse(packet, limits)
        except XmpError as exc:
            issues.append(ReadIssue(exc.kind, f"{where}: {exc}", SOURCE))
            continue
        for name, value in fields:
            shown = value[: limits.max_value_chars]
            evidence.append(Evidence(SOURCE, name, shown, where, data=parse_json(value) or value))
            raw.append(RawField(SOURCE, name, shown))
    return ReadResult(tuple(evidence), tuple(issues), tuple(raw))


class XmpError(Exception):
    """An XMP packet that cannot be read; ``kind`` is the issue reference."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def parse(packet: bytes, limits: Limits) -> list[tuple[str, str]]:
    """Flatten one packet into ``(field, value)`` pairs, in document order."""
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    if len(packet) > limits.max_xmp_bytes:
        raise XmpError("limit-exceeded", f"{len(packet)} bytes is over the XMP size limit")
    start = packet.find(b"<")
    if start < 0:
        raise XmpError("malformed", "no XML markup")
    body = packet[start:].rstrip(b"\x00 \t\r\n")
    declared = {uri.decode("utf-8", "replace"): prefix.decode("ascii") for prefix, uri in _XMLNS.findall(body)}
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmpError("xml-unsafe", f"refused unsafe XML ({type(exc).__name__})") from None
    except Exception as exc:  # ParseError and expat errors
        raise XmpError("malformed", f"not well-formed XML: {exc}") from None
    names = _Namer(declared)
    out: list[tuple[str, str]] = []
    for desc in _descriptions(root):
        _flatten_description(desc, "", names, out, 0)
        if len(out) > _MAX_FIELDS:
            raise XmpError("limit-exceeded", f"more than {_MAX_FIELDS} XMP fields")
    return out


class _Namer:
    def __init__(self, declared: dict[str, str]) -> None:
        self.declared = declared

    def __call__(self, tag: str) -> str:
        if not tag.startswith("{"):
            return tag
        uri, _, local = tag[1:].partition("}")
        prefix = PREFIXES.get(uri) or self.declared.get(uri) or "ns"
        return f"{prefix}:{local}"


def _descriptions(root: Element) -> Iterator[Element]:
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if node.tag == f"{{{RDF}}}Description":
            yield node
            continue  # nested descriptions are handled as structures
        if depth > _MAX_DEPTH:
            raise XmpError("limit-exceeded", "XMP nested deeper than the limit")
        stack.extend((child, depth + 1) for child in reversed(list(node)))


def _flatten_description(desc: Element, path: str, names: _Namer, out: list[tuple[str, str]], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise XmpError("limit-exceeded", "XMP nested deeper than the limit")
    for attr, value in desc.attrib.items():
        if attr.startswith(f"{{{RDF}}}") or attr.startswith(f"{{{XML_NS}}}"):
            continue
        out.append((path + names(attr), value))
    for prop in desc:
        _flatten_property(prop, path + names(prop.tag), names, out, depth + 1)


def _flatten_property(prop: Element, name: str, names: _Namer, out: list[tuple[str, str]], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise XmpError("limit-exceeded", "XMP nested deeper than the limit")
    resource = prop.get(f"{{{RDF}}}resource")
    if resource is not None:
        out.append((name, resource))
        return
    children = list(prop)
    if not children:
        if prop.get(f"{{{RDF}}}parseType") == "Resource":
            return
        out.append((name, (prop.text or "").strip()))
        return
    for child in children:
        tag = child.tag
        if tag in (f"{{{RDF}}}Alt", f"{{{RDF}}}Seq", f"{{{RDF}}}Bag"):
            items = [li for li in child if li.tag == f"{{{RDF}}}li"]
            simple = [li for li in items if not list(li)]
            if tag == f"{{{RDF}}}Alt" or len(simple) == len(items):
                values = [(li.text or "").strip() for li in simple]
                if values:
                    out.append((name, values[0] if tag == f"{{{RDF}}}Alt" else "; ".join(values)))
            for index, li in enumerate(items, start=1):
                if list(li) or li.attrib:
                    _flatten_struct(li, f"{name}[{index}]/", names, out, depth + 1)
        elif tag == f"{{{RDF}}}Description":
            _flatten_description(child, name + "/", names, out, depth + 1)
        else:
            if prop.get(f"{{{RDF}}}parseType") == "Resource":
                _flatten_property(child, f"{name}/{names(tag)}", names, out, depth + 1)
    if prop.get(f"{{{RDF}}}parseType") == "Resource" and prop.attrib:
        _flatten_description(prop, name + "/", names, out, depth + 1)


def _flatten_struct(node: Element, path: str, names: _Namer, out: list[tuple[str, str]], depth: int) -> None:
    """An ``rdf:li`` holding a structure: as a Description, or parseType=Resource."""
    inner = [c for c in node if c.tag == f"{{{RDF}}}Description"]
    if inner:
        for desc in inner:
            _flatten_description(desc, path, names, out, depth + 1)
        return
    _flatten_description(node, path, names, out, depth + 1)
