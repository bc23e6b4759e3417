"""A reader that could not finish is never reported as having run and found nothing.

For every reader (container, xmp, exif, text, c2pa, watermark, stealth) a real
crafted input makes it fail: the reader is left out of ``readers``, a
``reader-failed`` issue names it, and the summary says which check failed and
why instead of "found no mark".
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import pytest

from provenance.api import Options, check_bytes
from provenance.report import Report
from tests.conftest import REPO, SAMPLES, jpeg_bytes, png_bytes

WATERMARKS = Options(watermarks=True)
CHECK_WORDS = {
    "container": "file-structure check",
    "xmp": "XMP check",
    "exif": "EXIF check",
    "text": "PNG text and JPEG comment check",
    "c2pa": "Content Credentials check",
    "watermark": "invisible-watermark check",
    "stealth": "stealth-metadata check",
}


def chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)


def app1(body: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def failed_readers(report: Report) -> dict[str, str]:
    return {i.source: i.message for i in report.issues if i.kind == "reader-failed"}


def assert_failed(report: Report, reader: str, *, why: str) -> None:
    failed = failed_readers(report)
    assert reader in failed, report.issues
    assert reader not in report.readers
    assert CHECK_WORDS[reader] in failed[reader] and why in failed[reader]
    assert f"The {CHECK_WORDS[reader]}" in report.summary and why in report.summary
    assert "ran and found no mark" not in report.summary
    if report.verdict == "no-evidence":
        assert "found by the checks that finished" in report.summary


def test_a_clean_file_lists_every_metadata_reader() -> None:
    report = check_bytes(png_bytes((64, 64)), "clean.png")
    assert report.readers == ("container", "xmp", "exif", "text", "c2pa")
    assert not failed_readers(report)
    assert report.summary.startswith("No AI or capture markers were found;")


def test_container_walk_cut_short() -> None:
    data = png_bytes((64, 64))
    cut = data[: data.rindex(b"IEND") - 4]  # image data complete, the rest of the file gone
    report = check_bytes(cut, "cut.png")
    assert report.verdict == "no-evidence"
    assert_failed(report, "container", why="ends before its IEND chunk")


def test_xmp_packet_that_does_not_parse() -> None:
    packet = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF><broken></x:xmpmeta>"
    data = jpeg_bytes((64, 64))
    report = check_bytes(data[:2] + app1(packet) + data[2:], "bad-xmp.jpg")
    assert_failed(report, "xmp", why="not well-formed XML")


def test_exif_that_cannot_be_walked() -> None:
    blob = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + b"\x00" * 20  # an IFD claiming 65535 entries
    data = jpeg_bytes((64, 64))
    report = check_bytes(data[:2] + app1(blob) + data[2:], "bad-exif.jpg")
    assert_failed(report, "exif", why="EXIF")


def test_png_text_chunk_that_does_not_inflate() -> None:
    data = png_bytes((64, 64))
    at = data.index(b"IDAT") - 4
    report = check_bytes(data[:at] + chunk(b"zTXt", b"parameters\x00\x00not zlib at all") + data[at:], "ztxt.png")
    assert_failed(report, "text", why="zTXt chunk 'parameters'")


def test_content_credentials_library_that_fails_to_load() -> None:
    """The native C2PA library missing: the check failed, not 'no credentials'."""
    code = (
        "import sys, json\nsys.modules['c2pa'] = None\nfrom provenance.api import check\n"
        f"print(json.dumps(check({str(SAMPLES / 'c2pa_capture.jpg')!r}).to_dict()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "c2pa" not in report["readers"]
    failed = [i for i in report["issues"] if i["kind"] == "reader-failed"]
    assert [i["source"] for i in failed] == ["c2pa"]
    assert "The Content Credentials check failed on this file" in report["summary"]
    assert report["credentials"]["state"] == "none" and report["credentials"]["error"].startswith("not checked")
    assert report["verdict"] != "captured"


def test_content_credentials_text_panel_says_not_checked() -> None:
    code = (
        "import sys\nsys.modules['c2pa'] = None\n"
        f"sys.argv = ['provenance', 'check', '--format', 'text', {str(SAMPLES / 'c2pa_capture.jpg')!r}]\n"
        "from provenance.cli import main\nmain()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "not checked (the check failed)" in done.stdout, done.stdout


def huge_png() -> bytes:
    """A 30000x30000 PNG header over a few bytes of data: far past the pixel limit."""
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def broken_pixels_png() -> bytes:
    """A 300x300 PNG whose compressed pixel data is garbled (valid chunk CRC)."""
    data = png_bytes((300, 300))
    at = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[at - 4 : at])
    garbled = bytes(b ^ 0x55 for b in data[at + 4 : at + 4 + length])
    return data[: at - 4] + chunk(b"IDAT", garbled) + data[at + 8 + length :]


@pytest.mark.parametrize(
    ("name", "make", "why"),
    [("huge.png", huge_png, "pixels"), ("broken.png", broken_pixels_png, "broken data stream")],
)
def test_pixel_readers_that_cannot_decode(name: str, make, why: str) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("numpy")
    pytest.importorskip("pywt")
    report = check_bytes(make(), name, WATERMARKS)
    assert_failed(report, "watermark", why=why)
    assert_failed(report, "stealth", why=why)
    assert report.verdict == "no-evidence" and report.confidence == "low"


def test_too_small_for_the_watermark_says_it_could_not_run() -> None:
    pytest.importorskip("numpy")
    report = check_bytes(png_bytes((64, 64)), "small.png", WATERMARKS)
    failed = failed_readers(report)
    assert "could not run" in failed["watermark"] and "256x256" in report.summary
    assert "watermark" not in report.readers and "stealth" in report.readers
    assert "ran and found no mark" not in report.summary


def test_a_watermark_check_that_finished_still_says_so() -> None:
    pytest.importorskip("numpy")
    report = check_bytes(png_bytes((300, 300)), "plain.png", WATERMARKS)
    assert "watermark" in report.readers and not failed_readers(report)
    assert "watermark check ran and found no mark" in report.summary


def test_failed_reader_lowers_a_capture_confidence() -> None:
    """Camera EXIF plus unreadable XMP: the capture stays low, and the summary says XMP failed."""
    packet = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF><broken></x:xmpmeta>"
    data = jpeg_bytes((64, 64), exif={0x010F: "Canon", 0x0110: "Canon EOS R5"})
    report = check_bytes(data[:2] + app1(packet) + data[2:], "camera.jpg")
    assert report.verdict == "captured" and report.confidence == "low"
    assert "The XMP check failed on this file" in report.summary


def test_reports_with_failed_readers_match_the_schema(schema_validator) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("numpy")
    for data, name in ((huge_png(), "huge.png"), (broken_pixels_png(), "broken.png")):
        schema_validator.validate(check_bytes(data, name, WATERMARKS).to_dict())
