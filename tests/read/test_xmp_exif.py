"""XMP flattening (hardened parser) and EXIF UserComment decoding."""

from __future__ import annotations

import pytest

from provenance.limits import DEFAULT_LIMITS
from provenance.read.exif import decode_user_comment
from provenance.read.xmp import XmpError, parse
from tests.conftest import xmp_packet


def test_prefixes_are_canonical_whatever_the_file_declares() -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:foo="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        b"<foo:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
        b"</foo:DigitalSourceType></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    assert parse(packet, DEFAULT_LIMITS) == [
        ("Iptc4xmpExt:DigitalSourceType", "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
    ]


def test_arrays_and_structures_are_flattened() -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"'
        b' xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#">'
        b'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">a cube</rdf:li></rdf:Alt></dc:description>'
        b"<dc:subject><rdf:Bag><rdf:li>one</rdf:li><rdf:li>two</rdf:li></rdf:Bag></dc:subject>"
        b'<xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource"><stEvt:action>created</stEvt:action>'
        b"<stEvt:softwareAgent>Tool 1</stEvt:softwareAgent></rdf:li></rdf:Seq></xmpMM:History>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    fields = dict(parse(packet, DEFAULT_LIMITS))
    assert fields["dc:description"] == "a cube"
    assert fields["dc:subject"] == "one; two"
    assert fields["xmpMM:History[1]/stEvt:softwareAgent"] == "Tool 1"


def test_entity_expansion_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>'
    )
    with pytest.raises(XmpError) as caught:
        parse(bomb, DEFAULT_LIMITS)
    assert caught.value.kind == "xml-unsafe"


def test_malformed_xml_is_an_issue_not_a_crash() -> None:
    with pytest.raises(XmpError) as caught:
        parse(xmp_packet({"xmp:CreatorTool": "x"})[:-40], DEFAULT_LIMITS)
    assert caught.value.kind == "malformed"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"UNICODE\x00" + "Steps: 20 ✓".encode("utf-16-be"), "Steps: 20 ✓"),
        (b"UNICODE\x00" + "Steps: 20".encode("utf-16-le"), "Steps: 20"),
        (b"ASCII\x00\x00\x00hello\x00", "hello"),
        (b"\x00" * 8 + "ütf".encode(), "ütf"),
        (b'{"a": 1}', '{"a": 1}'),
    ],
)
def test_user_comment_charsets(raw: bytes, text: str) -> None:
    assert decode_user_comment(raw) == text
