"""Property-based tests (hypothesis) of the XMP parser, the structure walk and rule matching.

Properties: on any input the readers return values or raise only their
typed error; what was written in a well-formed block is read back intact;
rule matching is total (always a bool), bounded in time and deterministic.
"""

from __future__ import annotations

import html
import struct
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.api import _builtin_rules
from provenance.evidence import SOURCES, Evidence
from provenance.limits import DEFAULT_LIMITS
from provenance.match import match, matches
from provenance.read import xmp as xmp_reader
from provenance.read.container import MAX_TEXT_ITEMS, sniff, walk
from tests.hostile import builders

PROFILE = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
ISSUE_KINDS = {"truncated", "malformed", "limit-exceeded"}

# Text that XML 1.0 can carry, without leading/trailing blanks (element text is stripped).
xml_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x00"),
    max_size=40,
).map(str.strip)
names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9]{0,11}\Z")


# --- XMP --------------------------------------------------------------------


@PROFILE
@given(st.binary(max_size=2048))
def test_xmp_parse_any_bytes(packet: bytes) -> None:
    try:
        fields = xmp_reader.parse(packet, DEFAULT_LIMITS)
    except xmp_reader.XmpError as exc:
        assert exc.kind in {"malformed", "xml-unsafe", "limit-exceeded"}
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields)


@st.composite
def xml_trees(draw: st.DrawFn, depth: int = 0) -> str:
    """Random markup built from RDF and namespaced elements, attributes, Bags and text."""
    tag = draw(st.sampled_from(["rdf:Description", "rdf:Bag", "rdf:Seq", "rdf:Alt", "rdf:li", "a:p", "dc:title"]))
    attrs = draw(
        st.lists(st.tuples(st.sampled_from(["a:x", "dc:y", "rdf:parseType", "rdf:resource"]), xml_text), max_size=3)
    )
    attr_text = "".join(f' {k}="{html.escape(v)}"' for k, v in dict(attrs).items())
    if depth > 3:
        children = []
    else:
        children = draw(st.lists(xml_trees(depth + 1) | xml_text.map(html.escape), max_size=3))
    return f"<{tag}{attr_text}>{''.join(children)}</{tag}>"


@PROFILE
@given(st.lists(xml_trees(), min_size=1, max_size=3))
def test_xmp_parse_random_rdf_trees(trees: list[str]) -> None:
    packet = builders.xmp_packet(
        '<rdf:Description xmlns:a="http://a/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        + "".join(trees)
        + "</rdf:Description>"
    )
    try:
        fields = xmp_reader.parse(packet, DEFAULT_LIMITS)
    except xmp_reader.XmpError as exc:
        assert exc.kind in {"malformed", "limit-exceeded"}
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields)


@PROFILE
@given(
    st.dictionaries(names, xml_text, min_size=1, max_size=8),
    st.dictionaries(names, xml_text, min_size=1, max_size=8),
    st.sampled_from(["dc", "xyz", "p1"]),
)
def test_xmp_round_trip(attributes: dict[str, str], elements: dict[str, str], prefix: str) -> None:
    """Simple properties as attributes and as elements come back under the conventional prefix."""
    ns = "http://ns.adobe.com/xap/1.0/"  # conventional prefix "xmp", whatever the file calls it
    attrs = " ".join(f'{prefix}:{k}="{html.escape(v)}"' for k, v in attributes.items())
    body = "".join(f"<{prefix}:{k}>{html.escape(v)}</{prefix}:{k}>" for k, v in elements.items())
    packet = builders.xmp_packet(f'<rdf:Description xmlns:{prefix}="{ns}" {attrs}>{body}</rdf:Description>')
    fields = xmp_reader.parse(packet, DEFAULT_LIMITS)
    expected = [(f"xmp:{k}", v) for k, v in attributes.items()] + [(f"xmp:{k}", v) for k, v in elements.items()]
    assert fields == expected


# --- Structure walks ----------------------------------------------------------


MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/gif": b"GIF89a",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBP",
    "image/tiff": b"II*\x00",
    "image/avif": b"\x00\x00\x00\x1cftypavif",
    "image/svg+xml": b"<svg ",
}


@PROFILE
@given(st.sampled_from(sorted(MAGIC)), st.binary(max_size=4096))
def test_walk_any_bytes_after_magic(media_type: str, tail: bytes) -> None:
    data = MAGIC[media_type] + tail
    assert sniff(data) == media_type or media_type == "image/svg+xml"
    layout = walk(data, media_type, DEFAULT_LIMITS)
    assert {i.kind for i in layout.issues} <= ISSUE_KINDS
    assert len(layout.texts) <= MAX_TEXT_ITEMS and len(layout.comments) <= MAX_TEXT_ITEMS
    assert all(len(x) <= max(len(data), DEFAULT_LIMITS.max_text_bytes) for x in layout.xmp)


latin1 = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255), max_size=60)
keys = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20).filter(
    lambda k: k != "XML:com.adobe.xmp"
)


@PROFILE
@given(
    st.lists(st.tuples(st.sampled_from(["tEXt", "zTXt", "iTXt"]), keys, latin1), max_size=8),
    st.integers(1, 0xFFFF),
    st.integers(1, 0xFFFF),
)
def test_png_chunks_read_back(texts: list[tuple[str, str, str]], width: int, height: int) -> None:
    import zlib

    chunks = b""
    for kind, key, value in texts:
        k = key.encode("latin-1")
        if kind == "tEXt":
            chunks += builders.png_chunk(b"tEXt", k + b"\x00" + value.encode("latin-1"))
        elif kind == "zTXt":
            chunks += builders.png_chunk(b"zTXt", k + b"\x00\x00" + zlib.compress(value.encode("latin-1")))
        else:
            chunks += builders.png_chunk(b"iTXt", k + b"\x00\x01\x00en\x00\x00" + zlib.compress(value.encode()))
    data = builders.png_declaring(width, height)
    data = data[:33] + chunks + data[33:]
    layout = walk(data, "image/png", DEFAULT_LIMITS)
    assert not layout.issues
    assert (layout.width, layout.height) == (width, height)
    assert [(t.chunk, t.key, t.value) for t in layout.texts] == texts


@PROFILE
@given(st.lists(st.binary(min_size=1, max_size=3000), max_size=6), st.lists(st.binary(max_size=300), max_size=3))
def test_jpeg_segments_read_back(comments: list[bytes], junk_app: list[bytes]) -> None:
    segments = b"".join(builders.jpeg_segment(0xFE, c) for c in comments)
    segments += b"".join(builders.jpeg_segment(0xE5, j) for j in junk_app)
    layout = walk(builders.jpeg_with(segments), "image/jpeg", DEFAULT_LIMITS)
    assert layout.has_image_data and not layout.issues
    assert [c for where, c in layout.comments if where == "JPEG COM segment"] == comments


@PROFILE
@given(st.lists(st.tuples(st.integers(0xC0, 0xFE), st.binary(max_size=64), st.integers(0, 0xFFFF)), max_size=8))
def test_jpeg_walk_with_lying_lengths(segments: list[tuple[int, bytes, int]]) -> None:
    body = b"".join(builders.jpeg_segment(m, b, length) for m, b, length in segments)
    data = builders.jpeg_with(body)
    layout = walk(data, "image/jpeg", DEFAULT_LIMITS)
    assert {i.kind for i in layout.issues} <= ISSUE_KINDS


@PROFILE
@given(st.lists(st.tuples(st.binary(min_size=4, max_size=4), st.binary(max_size=64), st.integers(0, 2**32 - 1))))
def test_riff_walk_with_lying_sizes(chunks: list[tuple[bytes, bytes, int]]) -> None:
    body = b"WEBP" + b"".join(fourcc + struct.pack("<I", size) + data for fourcc, data, size in chunks)
    layout = walk(b"RIFF" + struct.pack("<I", len(body)) + body, "image/webp", DEFAULT_LIMITS)
    assert {i.kind for i in layout.issues} <= ISSUE_KINDS


# --- Rule matching -------------------------------------------------------------


RULES = _builtin_rules()
WHERE = sorted({(w.source, w.field or "Comment") for r in RULES.rules for w in r.where})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
# Characters that the rules' own patterns are made of, so that near-misses are common.
RULE_ALPHABET = sorted({ch for r in RULES.rules for ch in str(r.match) if ch.isprintable()} | {"\n", " "})


@st.composite
def evidence(draw: st.DrawFn) -> Evidence:
    source, field = draw(st.sampled_from(WHERE) | st.tuples(st.sampled_from(SOURCES), st.text(max_size=12)))
    value = draw(st.text(alphabet=st.sampled_from(RULE_ALPHABET), max_size=400) | st.text(max_size=100))
    data: Any = draw(st.none() | json_values | st.just(value))
    scope = draw(st.sampled_from(["file", "active", "parent", "component"]))
    return Evidence(source, field, value, "somewhere", scope, data)


@PROFILE
@given(st.lists(evidence(), max_size=6))
def test_matching_is_total_bounded_and_deterministic(items: list[Evidence]) -> None:
    for ev in items:
        for rule in RULES.rules:
            t0 = time.perf_counter()
            result = matches(rule, ev)
            assert isinstance(result, bool)
            assert time.perf_counter() - t0 < 0.5, rule.id
    first = match(items, RULES)
    assert first == match(items, RULES)
    ids = {r.id for r in RULES.rules} | {"CONFLICT-001"}
    for finding in first:
        assert finding.rule in ids
        assert finding.rule == "CONFLICT-001" or any(
            finding.value == ev.value and finding.field == ev.field for ev in items
        )


@settings(max_examples=40, deadline=None, database=None)
@given(st.sampled_from(WHERE), st.sampled_from(RULE_ALPHABET), st.integers(1, 6))
def test_matching_long_repetitive_values(where: tuple[str, str], char: str, width: int) -> None:
    """Pumped strings (the kind that make backtracking regexes explode) stay fast: 200 kB per value."""
    unit = "".join(RULE_ALPHABET[(RULE_ALPHABET.index(char) + i) % len(RULE_ALPHABET)] for i in range(width))
    value = unit * (200_000 // width) + "!"
    ev = Evidence(where[0], where[1], value[:4096], "somewhere", "file", value)
    t0 = time.perf_counter()
    match([ev], RULES)
    assert time.perf_counter() - t0 < 2
