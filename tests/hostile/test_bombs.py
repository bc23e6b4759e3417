"""Bombs and lies: XML entities, nesting, huge declared lengths and sizes, decompression bombs.

Each test builds a small synthetic file whose metadata is hostile, checks
it in this process, and asserts that the report is sensible, that the work
stayed small (time, and Python memory measured with tracemalloc), and that
the reason is stated in an issue.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance.api import check_bytes
from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import xmp as xmp_reader
from provenance.read.container import MAX_TEXT_ITEMS, walk
from provenance.report import Report
from tests.conftest import REPO, SAMPLES
from tests.hostile import builders
from tests.hostile.builders import XMP_APP1, jpeg_segment, jpeg_with, png_chunk, png_with, xmp_packet

MiB = 1 << 20


def measure(data: bytes, name: str, memory: bool = True) -> tuple[Report, float, int]:
    """The report, the seconds it took, and the peak of Python allocations during the check.

    Time comes from a plain run; the memory peak from a second run under
    tracemalloc (which slows Python code several times), when asked for.
    """
    t0 = time.perf_counter()
    report = check_bytes(data, name)
    elapsed = time.perf_counter() - t0
    peak = 0
    if memory:
        tracemalloc.start()
        try:
            check_bytes(data, name)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert report.error is None or report.error.kind != "internal-error", report.error
    json.dumps(report.to_dict(verbose=True))
    return report, elapsed, peak


def kinds(report: Report) -> set[str]:
    return {i.kind for i in report.issues}


# --- XML ------------------------------------------------------------------------

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b"]>"
)
TITLE = b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>%s</dc:title></rdf:Description>'


def _carriers(packet: bytes) -> Iterator[tuple[str, bytes]]:
    yield "bomb.jpg", jpeg_with(jpeg_segment(0xE1, XMP_APP1 + packet))
    yield "bomb.png", png_with(png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet))
    yield "bomb.webp", _webp_with_xmp(packet)


def _webp_with_xmp(packet: bytes) -> bytes:
    """A WebP (VP8X container) with an ``XMP `` chunk."""
    data = builders.encode("WEBP", lossless=True)
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x04, 0, 0, 0]) + (23).to_bytes(3, "little") * 2
    xmp = b"XMP " + struct.pack("<I", len(packet)) + packet + b"\x00" * (len(packet) & 1)
    body = b"WEBP" + vp8x + data[12:] + xmp
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param(xmp_packet(TITLE % b"&lol9;", prolog=LAUGHS), id="billion-laughs"),
        pytest.param(
            xmp_packet(TITLE % b"&x;", prolog=b'<!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
            id="external-file",
        ),
        pytest.param(
            xmp_packet(TITLE % b"&x;", prolog=b'<!DOCTYPE x [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'),
            id="external-url",
        ),
        pytest.param(
            xmp_packet(TITLE % b"a", prolog=b'<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'),
            id="parameter-entity",
        ),
        pytest.param(
            xmp_packet(TITLE % b"a", prolog=b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">'), id="external-dtd"
        ),
    ],
)
def test_entities_are_refused(packet: bytes) -> None:
    for name, data in _carriers(packet):
        report, elapsed, peak = measure(data, name)
        assert report.verdict != "error", (name, report.error)
        assert "xml-unsafe" in kinds(report), (name, report.issues)
        assert elapsed < 2 and peak < 16 * MiB, (name, elapsed, peak)
        text = json.dumps(report.to_dict(verbose=True))
        assert "root:" not in text and "lollol" not in text


@pytest.mark.parametrize("c2pa", [b"", b"<c2pa:manifest>x</c2pa:manifest>"])
def test_svg_document_with_entity_bomb(c2pa: bytes) -> None:
    """The DTD of an SVG document: never expanded by our XMP search, nor by the C2PA library's parser."""
    inner = TITLE % b"&lol9;"
    svg = LAUGHS.replace(b"lolz", b"svg") + b'<svg xmlns="http://www.w3.org/2000/svg"><title>&lol9;</title>'
    svg += b"<metadata>" + xmp_packet(inner) + c2pa + b"</metadata></svg>"
    report, elapsed, peak = measure(svg, "bomb.svg")
    assert elapsed < 3 and peak < 16 * MiB, (elapsed, peak)
    assert "lollol" not in json.dumps(report.to_dict(verbose=True))
    assert report.credentials.state in ("none", "invalid")


def test_entity_parse_raises_typed_error() -> None:
    with pytest.raises(xmp_reader.XmpError) as caught:
        xmp_reader.parse(xmp_packet(TITLE % b"&lol9;", prolog=LAUGHS), DEFAULT_LIMITS)
    assert caught.value.kind == "xml-unsafe"


@pytest.mark.parametrize("depth", [80, 5_000, 60_000])
def test_deep_nesting_is_cut_off(depth: int) -> None:
    inner = (
        b'<rdf:Description xmlns:a="http://a/"><a:p rdf:parseType="Resource">'
        + b'<a:p rdf:parseType="Resource">' * depth
        + b"<a:leaf>x</a:leaf>"
        + b"</a:p>" * depth
        + b"</a:p></rdf:Description>"
    )
    packet = xmp_packet(inner)
    assert len(packet) < DEFAULT_LIMITS.max_xmp_bytes
    data = png_with(png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet))
    report, elapsed, _ = measure(data, "deep.png", memory=False)
    assert report.verdict == "no-evidence"
    assert "limit-exceeded" in kinds(report)
    assert elapsed < 5


def test_deep_nesting_without_descriptions() -> None:
    packet = xmp_packet(b'<a:p xmlns:a="http://a/">' * 100_000 + b"</a:p>" * 100_000)
    with pytest.raises(xmp_reader.XmpError) as caught:
        xmp_reader.parse(packet, DEFAULT_LIMITS)
    assert caught.value.kind == "limit-exceeded"


def test_oversized_packet_is_skipped_unparsed() -> None:
    packet = xmp_packet(b"<!-- " + b"x" * (DEFAULT_LIMITS.max_xmp_bytes + 10) + b" -->")
    with pytest.raises(xmp_reader.XmpError) as caught:
        xmp_reader.parse(packet, DEFAULT_LIMITS)
    assert caught.value.kind == "limit-exceeded"


def test_repeated_packets_do_not_multiply_work() -> None:
    """150 APP1 XMP packets of 4000 fields each: parsing stops at the limit for all packets."""
    desc = b'<rdf:Description xmlns:a="http://a/" ' + b" ".join(b'a:f%d="v"' % i for i in range(4000)) + b"/>"
    segment = jpeg_segment(0xE1, XMP_APP1 + xmp_packet(desc))
    report, elapsed, _ = measure(jpeg_with(segment * 150), "many.jpg", memory=False)
    assert "limit-exceeded" in kinds(report)
    assert elapsed < 5


# --- Declared lengths and sizes ----------------------------------------------


@pytest.mark.parametrize("length", [0x40000000, 0x7FFFFFFF, 0xFFFFFFFF])
def test_png_chunk_declaring_a_gigabyte(length: int) -> None:
    for ctype in (b"tEXt", b"zTXt", b"iTXt", b"IDAT", b"caBX", b"eXIf"):
        data = png_with(png_chunk(ctype, b"k\x00v" * 4, length=length))
        report, elapsed, peak = measure(data, "huge-chunk.png")
        assert report.verdict == "error" and report.error is not None
        assert report.error.kind == "truncated" and f"declares {length} bytes" in report.error.message
        assert elapsed < 1 and peak < 8 * MiB


@pytest.mark.parametrize("length", [0, 1, 0xFFFF])
def test_jpeg_segment_lengths_past_eof_or_too_short(length: int) -> None:
    for marker in (0xE1, 0xEB, 0xFE, 0xC0):
        data = jpeg_with(jpeg_segment(marker, b"Exif\x00\x00", length=length))
        if length == 0xFFFF:
            data = data[:2] + jpeg_segment(marker, b"Exif\x00\x00II*\x00", length=length)
        report, elapsed, peak = measure(data, "seg.jpg")
        assert report.verdict == "error" and report.error is not None and report.error.kind == "truncated"
        assert elapsed < 1 and peak < 8 * MiB


def test_webp_chunk_sizes_past_eof() -> None:
    data = builders.encode("WEBP", lossless=True)
    for size in (0x40000000, 0xFFFFFFFF):
        lied = data[:16] + struct.pack("<I", size) + data[20:]
        report, elapsed, _ = measure(lied, "lie.webp")
        assert report.verdict == "error" and report.error is not None and report.error.kind == "truncated"
        assert elapsed < 1


def _no_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image, ImageFile

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixels decoded on the metadata path")

    monkeypatch.setattr(Image, "open", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize(
    "name,data",
    [
        ("huge.png", builders.png_declaring(100_000, 100_000)),
        ("huge-max.png", builders.png_declaring(0x7FFFFFFF, 0x7FFFFFFF)),
        ("huge.jpg", builders.jpeg_declaring(65_535, 65_535)),
        (
            "huge-c2pa.png",
            builders.png_declaring(100_000, 100_000)[:33]
            + png_chunk(b"caBX", b"jumb" * 16)
            + builders.png_declaring(100_000, 100_000)[33:],
        ),
    ],
)
def test_huge_dimensions_are_not_decoded(name: str, data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_pixels(monkeypatch)
    report, elapsed, peak = measure(data, name)
    assert report.verdict != "error", report.error
    assert elapsed < 2 and peak < 8 * MiB
    dims = [r.value for r in report.raw if r.field == "dimensions"]
    assert dims and "x" in dims[0]


def test_huge_dimensions_under_an_address_space_limit() -> None:
    """In a process that may map at most 1 GiB, a 100000x100000 header (30 GB of pixels) is checked fine."""
    resource = pytest.importorskip("resource")
    assert resource
    script = (
        "import resource, sys, json\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from tests.hostile import builders\n"
        "from provenance.api import check_bytes\n"
        "out = []\n"
        "for w, h in ((100000, 100000), (0x7FFFFFFF, 0x7FFFFFFF)):\n"
        "    data = builders.png_declaring(w, h)\n"
        "    data = data[:33] + builders.png_chunk(b'caBX', b'jumb' * 16) + data[33:]\n"
        "    out.append(check_bytes(data, 'huge.png').to_dict())\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    for report in json.loads(done.stdout):
        assert report["verdict"] != "error" and report["error"] is None


def test_samples_are_checked_without_decoding_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    expected_file = SAMPLES / "expected.json"
    if not expected_file.is_file():
        pytest.skip("samples_benign/ is not present")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    _no_pixels(monkeypatch)
    for name, want in expected.items():
        report = check_bytes((SAMPLES / name).read_bytes(), name)
        assert (report.verdict, report.credentials.state) == (want["verdict"], want["state"]), name


# --- Decompression ------------------------------------------------------------


def _deflate_zeros(total: int) -> bytes:
    packer = zlib.compressobj(9)
    block = bytes(MiB)
    return b"".join(packer.compress(block) for _ in range(total // MiB)) + packer.flush()


@pytest.fixture(scope="module")
def zeros_256m() -> bytes:
    return _deflate_zeros(256 * MiB)


def test_ztxt_bomb(zeros_256m: bytes) -> None:
    assert len(zeros_256m) < MiB  # 256 MiB of text in a quarter-megabyte file
    for chunk in (
        png_chunk(b"zTXt", b"Comment\x00\x00" + zeros_256m),
        png_chunk(b"iTXt", b"Comment\x00\x01\x00\x00\x00" + zeros_256m),
        png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zeros_256m),
    ):
        report, elapsed, peak = measure(png_with(chunk), "bomb.png")
        assert report.verdict == "no-evidence"
        assert "limit-exceeded" in kinds(report)
        assert elapsed < 3
        assert peak < 4 * DEFAULT_LIMITS.max_text_bytes


def test_many_small_ztxt_chunks_share_one_budget() -> None:
    """200 chunks that each inflate to just under the limit: the total is capped, not each one."""
    one = zlib.compress(bytes(DEFAULT_LIMITS.max_text_bytes - 1024), 9)
    chunks = b"".join(png_chunk(b"zTXt", b"k%d\x00\x00" % i + one) for i in range(200))
    report, elapsed, peak = measure(png_with(chunks), "many-bombs.png")
    assert report.verdict == "no-evidence"
    assert "limit-exceeded" in kinds(report)
    assert elapsed < 3
    assert peak < 4 * DEFAULT_LIMITS.max_text_bytes


def test_text_budget_is_configurable() -> None:
    small = Limits(max_text_bytes=1000)
    data = png_with(png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"a" * 5000)))
    layout = walk(data, "image/png", small)
    assert not layout.texts and any(i.kind == "limit-exceeded" for i in layout.issues)
    assert walk(data, "image/png", DEFAULT_LIMITS).texts[0].value == "a" * 5000


def test_broken_ztxt_does_not_hide_the_rest() -> None:
    a1111 = b"parameters\x00a cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512"
    data = png_with(png_chunk(b"zTXt", b"Comment\x00\x00not zlib at all") + png_chunk(b"tEXt", a1111))
    report, _, _ = measure(data, "broken-ztxt.png", memory=False)
    assert report.verdict == "ai-generated"
    assert "malformed" in kinds(report)


# --- Counts -----------------------------------------------------------------


def test_many_text_chunks_are_capped() -> None:
    chunks = b"".join(png_chunk(b"tEXt", b"k\x00v%d" % i) for i in range(MAX_TEXT_ITEMS * 20))
    report, elapsed, _ = measure(png_with(chunks), "many-text.png", memory=False)
    assert "limit-exceeded" in kinds(report)
    assert elapsed < 5


def test_many_jpeg_comments_are_capped_and_reported() -> None:
    comments = jpeg_segment(0xFE, b"hello") * (MAX_TEXT_ITEMS + 10)
    report, elapsed, _ = measure(jpeg_with(comments), "many-com.jpg", memory=False)
    assert any(i.kind == "limit-exceeded" and "10 text chunks" in i.message for i in report.issues)
    assert elapsed < 5


def test_stray_bytes_make_one_issue() -> None:
    data = jpeg_with(b"x\xff\x01" * 200_000)
    report, elapsed, _ = measure(data, "stray.jpg", memory=False)
    assert len(report.issues) <= 5
    assert elapsed < 5


def test_gif_xmp_extensions_cost_linear_time() -> None:
    gif = builders.encode("GIF", mode="P")
    ext = b"\x21\xff\x0bXMP DataXMP" + b"\x01a\x00"
    report, elapsed, _ = measure(gif[:-1] + ext * 80_000 + gif[-1:], "xmp.gif", memory=False)
    assert report.verdict == "no-evidence"
    assert elapsed < 3


@pytest.mark.parametrize("opening", [b"<x:xmpmeta>", b"<rdf:RDF>", b"<x:xmpmeta "])
def test_unclosed_xmp_in_svg_costs_linear_time(opening: bytes) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg">' + opening * 60_000 + b"</svg>"
    report, elapsed, _ = measure(svg, "open.svg", memory=False)
    assert report.verdict == "no-evidence"
    assert elapsed < 2


def _exif_fanout(pointers: int, entries: int) -> bytes:
    """IFD0 with ``pointers`` GPSInfo entries, all pointing at one GPS IFD of ``entries`` entries.

    IFD0 also has a StripOffsets entry, so that a TIFF made of it has image data.
    """
    count = pointers + 1
    gps = 8 + 2 + 12 * count + 4
    ifd0 = struct.pack("<HHII", 273, 4, 1, 8)
    ifd0 += b"".join(struct.pack("<HHII", 0x8825, 4, 1, gps) for _ in range(pointers))
    sub = b"".join(struct.pack("<HHII", 1 + i % 30, 3, 1, 0) for i in range(entries))
    return b"II*\x00" + struct.pack("<IH", 8, count) + ifd0 + bytes(4) + struct.pack("<H", entries) + sub + bytes(4)


def test_exif_pointer_fanout_in_jpeg() -> None:
    """2600 x 2600 tag reads from a 63 kB JPEG took exifread over a minute before the work limit."""
    data = jpeg_with(jpeg_segment(0xE1, b"Exif\x00\x00" + _exif_fanout(2600, 2600)))
    report, elapsed, _ = measure(data, "fanout.jpg", memory=False)
    assert "limit-exceeded" in kinds(report)
    assert elapsed < 5


def test_exif_pointer_fanout_in_tiff() -> None:
    report, elapsed, _ = measure(_exif_fanout(4000, 4000), "fanout.tiff", memory=False)
    assert report.verdict == "no-evidence"
    assert "limit-exceeded" in kinds(report)
    assert elapsed < 5


def test_exif_pointers_to_many_distinct_directories() -> None:
    """4000 GPSInfo pointers, each to a different offset of a run of 0xFF: 4000 "IFDs" of 65535 entries.

    No directory is reached twice, so only the bound on the walk before
    exifread (and then the read budget) keeps this from 260 million entries.
    """
    pointers = 4000
    junk_at = 8 + 2 + 12 * (pointers + 1) + 4
    ifd0 = struct.pack("<HHII", 273, 4, 1, 8)
    ifd0 += b"".join(struct.pack("<HHII", 0x8825, 4, 1, junk_at + 2 * i) for i in range(pointers))
    tiff = b"II*\x00" + struct.pack("<IH", 8, pointers + 1) + ifd0 + bytes(4) + b"\xff" * (2 * pointers + 12 * 65535)
    for data, name in (
        (tiff, "distinct.tiff"),
        (jpeg_with(jpeg_segment(0xE1, b"Exif\x00\x00" + tiff[:65000])), "d.jpg"),
    ):
        report, elapsed, _ = measure(data, name, memory=False)
        assert report.error is None or report.error.kind != "internal-error"
        assert elapsed < 5


def test_tiff_with_a_chain_of_300000_empty_directories() -> None:
    """IFD0 then 300 000 empty IFDs, each pointing at the next: 1.8 MB, and every one a separate walk step."""
    n = 300_000
    first = 8 + 2 + 12 + 4
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 273, 4, 1, 8) + struct.pack("<I", first)
    chain = b"".join(struct.pack("<HI", 0, first + 6 * (i + 1) if i + 1 < n else 0) for i in range(n))
    report, elapsed, _ = measure(b"II*\x00" + struct.pack("<I", 8) + ifd0 + chain, "chain.tiff", memory=False)
    assert report.verdict == "no-evidence"
    assert "limit-exceeded" in kinds(report)
    assert elapsed < 0.5


def test_exif_strings_cannot_multiply_memory() -> None:
    """4000 ASCII tags each pointing at the same 400 kB of text (no NUL) in a TIFF."""
    count = 4000
    text_at = 8 + 2 + 12 * count + 4
    entries = struct.pack("<HHII", 273, 4, 1, 8)
    entries += b"".join(struct.pack("<HHII", 0x9000 + i, 2, 400_000, text_at) for i in range(count - 1))
    tiff = b"II*\x00" + struct.pack("<IH", 8, count) + entries + bytes(4) + b"A" * 400_000
    report, elapsed, peak = measure(tiff, "strings.tiff")
    assert report.verdict == "no-evidence"
    assert "limit-exceeded" in kinds(report)
    assert peak < 64 * MiB, peak
    assert elapsed < 5


def test_tiff_ifd_loops() -> None:
    # IFD0 whose next-IFD pointer is itself, and an ExifOffset that points back at IFD0.
    looped = builders.tiff_ifd([(0x010F, 2, 4, b"Cam\x00"), (0x8769, 4, 1, struct.pack("<I", 8))])
    looped = looped[:-4] + struct.pack("<I", 8)
    for data in (looped, jpeg_with(jpeg_segment(0xE1, b"Exif\x00\x00" + looped))):
        report, elapsed, _ = measure(data, "loop.tiff" if data.startswith(b"II") else "loop.jpg", memory=False)
        assert report.error is None or report.error.kind != "internal-error"
        assert elapsed < 2


def test_extended_xmp_lies() -> None:
    """Extended XMP parts that claim huge offsets and totals, across many GUIDs."""
    parts = b""
    for guid in range(50):
        body = b"%032d" % guid + struct.pack(">II", 0xFFFFFFFF, 0xFFFFFF00) + b"<x:xmpmeta>" * 100
        parts += jpeg_segment(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + body)
    report, elapsed, peak = measure(jpeg_with(parts), "ext.jpg")
    assert report.verdict == "no-evidence"
    assert elapsed < 2 and peak < 16 * MiB


def test_bmff_box_lies_reach_the_c2pa_library_safely() -> None:
    """An AVIF-branded file of lying boxes and a C2PA UUID: the native library must answer."""
    uuid = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
    ftyp = struct.pack(">I", 24) + b"ftypavif" + b"\x00\x00\x00\x00avifmif1"
    for size in (0, 1, 8, 0xFFFFFFFF):
        box = struct.pack(">I", size) + b"uuid" + uuid + b"\x00" * 32
        report, elapsed, _ = measure(ftyp + box + b"\x00" * 64, "lie.avif", memory=False)
        assert report.credentials.state not in ("valid", "trusted")
        assert elapsed < 5


def test_report_paths_of_huge_files_are_hashed_not_parsed(tmp_path: Path) -> None:
    """Over ``max_file_bytes`` a file is hashed and reported ``limit-exceeded``, not read into memory whole."""
    from provenance.api import Options, check

    big = tmp_path / "big.png"
    big.write_bytes(builders.png_declaring(8, 8) + bytes(3 * MiB))
    report = check(big, Options(limits=Limits(max_file_bytes=MiB)))
    assert report.verdict == "error" and report.error is not None and report.error.kind == "limit-exceeded"
    assert report.sha256 and report.size == big.stat().st_size


def test_pillow_is_not_needed_to_read_metadata() -> None:
    """Guard for the tests above: the metadata path imports no pixel decoder lazily either."""
    script = (
        "import sys\n"
        "from provenance.api import check_bytes\n"
        f"data = open({str(SAMPLES / 'a1111_parameters.png')!r}, 'rb').read()\n"
        "before = set(sys.modules)\n"
        "r = check_bytes(data, 'a.png')\n"
        "print(r.verdict, sorted(m for m in set(sys.modules) - before if m.startswith('PIL')))\n"
    )
    if not (SAMPLES / "a1111_parameters.png").is_file():
        pytest.skip("samples_benign/ is not present")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "ai-generated []"
