"""The structure walk: format sniffing and what each container yields."""

from __future__ import annotations

import io
import zlib

from PIL import Image

from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import ReadOptions, read
from provenance.read.container import extension_mismatch, sniff, walk
from tests.conftest import jpeg_bytes, png_bytes, xmp_packet


def test_sniff_by_magic_not_name() -> None:
    assert sniff(png_bytes()) == "image/png"
    assert sniff(jpeg_bytes()) == "image/jpeg"
    assert sniff(b"GIF89a" + b"\0" * 20) == "image/gif"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff(b"II*\x00" + b"\0" * 8) == "image/tiff"
    assert sniff(b"\x00\x00\x00\x1cftypavif" + b"\0" * 8) == "image/avif"
    assert sniff(b"hello world") is None
    assert extension_mismatch("a/b/photo.jpg", "image/png") == "the name ends in .jpg but the content is image/png"
    assert extension_mismatch("photo.PNG", "image/png") is None
    assert extension_mismatch("noext", "image/png") is None


def test_png_text_chunks_all_three_kinds() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "plain latin-1")
    info.add_text("Comment", "compressed " * 50, zip=True)
    info.add_itxt("Description", "unicode ✓", lang="en", tkey="Beschreibung")
    image = Image.new("RGBA", (8, 8))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    layout = walk(out.getvalue(), "image/png", DEFAULT_LIMITS)
    got = {(t.chunk, t.key): t.value for t in layout.texts}
    assert got[("tEXt", "parameters")] == "plain latin-1"
    assert got[("zTXt", "Comment")] == "compressed " * 50
    assert got[("iTXt", "Description")] == "unicode ✓"
    assert layout.has_alpha is True and layout.has_image_data and (layout.width, layout.height) == (8, 8)


def test_ztxt_bomb_is_capped() -> None:
    bomb = zlib.compress(b"A" * 2_000_000)
    chunk = b"Comment\x00\x00" + bomb
    data = bytearray(png_bytes())
    iend = data.rfind(b"IEND") - 4
    crc = zlib.crc32(b"zTXt" + chunk).to_bytes(4, "big")
    data[iend:iend] = len(chunk).to_bytes(4, "big") + b"zTXt" + chunk + crc
    layout = walk(bytes(data), "image/png", Limits(max_text_bytes=100_000))
    assert not layout.texts
    assert any(i.kind == "limit-exceeded" for i in layout.issues)


def test_jpeg_segments_xmp_exif_comment() -> None:
    base = jpeg_bytes(exif={0x010F: "Canon"}, comment=b"hello comment")
    packet = xmp_packet({"xmp:CreatorTool": "GIMP"})
    app1 = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    data = base[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + base[2:]
    layout = walk(data, "image/jpeg", DEFAULT_LIMITS)
    assert layout.has_image_data
    assert layout.exif and layout.xmp == [packet]
    assert [c for _, c in layout.comments] == [b"hello comment"]
    assert layout.c2pa_embedded is False


def test_truncated_before_image_data_is_an_error() -> None:
    data = jpeg_bytes(exif={0x010F: "Canon"})
    cut = data[:40]
    extracted = read(cut, "cut.jpg", ReadOptions())
    assert extracted.fatal is not None and extracted.fatal.kind == "truncated"


def test_empty_and_unknown() -> None:
    assert read(b"", "e", ReadOptions()).fatal.kind == "empty"  # type: ignore[union-attr]
    fatal = read(b"\x00", "one", ReadOptions()).fatal
    assert fatal is not None and fatal.kind == "not-an-image" and "(1 byte; unknown format)" in fatal.message


def test_webp_and_gif_metadata() -> None:
    image = Image.linear_gradient("L").resize((16, 16)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "WEBP", xmp=xmp_packet({"Iptc4xmpExt:DigitalSourceType": "x"}), lossless=True)
    layout = walk(out.getvalue(), "image/webp", DEFAULT_LIMITS)
    assert layout.has_image_data and len(layout.xmp) == 1
    out = io.BytesIO()
    image.convert("P").save(out, "GIF", comment=b"Steps: 20, Seed: 1")
    layout = walk(out.getvalue(), "image/gif", DEFAULT_LIMITS)
    assert layout.has_image_data
    assert layout.comments == [("GIF comment extension", b"Steps: 20, Seed: 1")]
