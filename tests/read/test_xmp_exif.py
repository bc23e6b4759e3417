"""XMP flattening (hardened parser) and EXIF UserComment decoding."""

from __future__ import annotations

import struct

import pytest

from provenance.limits import DEFAULT_LIMITS
from provenance.read import exif as exif_reader
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


def _tiff(ifd0: list[tuple[int, int, int, int]], extra: bytes = b"") -> bytes:
    """A little-endian TIFF structure: IFD0 at 8 with these (tag, type, count, value) entries, then ``extra``."""
    body = struct.pack("<H", len(ifd0)) + b"".join(struct.pack("<HHII", *e) for e in ifd0) + bytes(4)
    return b"II*\x00" + struct.pack("<I", 8) + body + extra


def test_exif_walk_bounds_the_work_and_finds_the_user_comment() -> None:
    """The walk before exifread: a plain block is read without the per-read budget, UserComment at any length."""
    comment = b"UNICODE\x00" + ("Steps: 20, Sampler: Euler a " * 200).encode("utf-16-be")
    exif_at = 8 + 2 + 12 * 2 + 4
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x9286, 7, len(comment), exif_at + 2 + 12 + 4) + bytes(4)
    blob = _tiff([(0x010F, 2, 4, int.from_bytes(b"Cam\x00", "little")), (0x8769, 4, 1, exif_at)], exif_ifd + comment)
    plan = exif_reader._plan(blob, DEFAULT_LIMITS)
    assert plan is not None and not plan.revisited
    assert plan.user_comment == ("EXIF", comment)
    assert 0 < plan.reads < 100
    result = exif_reader.read([blob], DEFAULT_LIMITS)
    found = {e.field: e.value for e in result.evidence}
    assert found["Make"] == "Cam"
    assert found["UserComment"].startswith("Steps: 20, Sampler: Euler a")
    assert len(found["UserComment"]) > 1000


def test_exif_walk_sends_revisited_directories_to_the_budget() -> None:
    """Two pointers at one IFD: exifread would read it twice, so the reads are counted one by one."""
    gps_at = 8 + 2 + 12 * 2 + 4
    gps = struct.pack("<H", 1) + struct.pack("<HHII", 1, 2, 2, int.from_bytes(b"N\x00", "little")) + bytes(4)
    blob = _tiff([(0x8825, 4, 1, gps_at), (0x8825, 4, 1, gps_at)], gps)
    plan = exif_reader._plan(blob, DEFAULT_LIMITS)
    assert plan is not None and plan.revisited
    assert exif_reader._plan(b"\x00\x00\x00\x0cftypheic" + bytes(20), DEFAULT_LIMITS) is None


def test_user_comment_outside_the_exif_ifd_is_still_read() -> None:
    """Some writers (Pillow's Image.Exif with the tag set at top level) put UserComment in IFD0."""
    comment = b"ASCII\x00\x00\x00Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512"
    at = 8 + 2 + 12 + 4
    blob = _tiff([(0x9286, 7, len(comment), at)], comment)
    result = exif_reader.read([blob], DEFAULT_LIMITS)
    found = [(e.field, e.value, e.location) for e in result.evidence]
    assert ("UserComment", comment[8:].decode(), "EXIF Image IFD") in found


def test_user_comment_with_a_json_graph_then_text_gives_both_to_the_rules() -> None:
    """Civitai may follow its ComfyUI graph with A1111-style text in one UserComment."""
    import json

    from provenance.match import load_rules, match

    graph = {
        "resource-stack": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "urn:air:sd1:checkpoint:civitai:1@2"},
        },
        "3": {"class_type": "KSampler", "inputs": {"seed": 7, "model": ["resource-stack", 0]}},
    }
    text = (
        json.dumps(graph) + "\na red cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 7, Size: 512x512, Model: x"
    )
    comment = b"UNICODE\x00" + text.encode("utf-16-be")
    at = 8 + 2 + 12 + 4
    blob = _tiff([(0x9286, 7, len(comment), at)], comment)
    result = exif_reader.read([blob], DEFAULT_LIMITS)
    comments = [e for e in result.evidence if e.field == "UserComment"]
    assert [type(e.data) for e in comments] == [str, dict]
    assert comments[0].value == text and comments[1].data == graph
    assert comments[1].location.endswith("the JSON object at its start")
    fired = {f.rule for f in match(result.evidence, load_rules())}
    assert {"COMFYUI-004", "A1111-001"} <= fired
    # A comment that is JSON through and through stays one item.
    whole = b"UNICODE\x00" + json.dumps(graph).encode("utf-16-be")
    result = exif_reader.read([_tiff([(0x9286, 7, len(whole), at)], whole)], DEFAULT_LIMITS)
    assert [type(e.data) for e in result.evidence if e.field == "UserComment"] == [dict]
