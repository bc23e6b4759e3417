"""Pixel decoding is bounded: the watermark and stealth checks decode at most ``max_decode_pixels``.

A PNG of zeros is tiny on disk and huge in memory (a 344 KB file of
9400x9400 pixels cost 1.3 GB and 11 s). Over the limit the pixel checks do
not run, say so in an issue, and are not listed among the readers that ran,
so no output can say they looked and found nothing.
"""

from __future__ import annotations

import struct
import time
import zlib

import pytest

from provenance.api import check_bytes, make_options
from provenance.limits import DEFAULT_LIMITS, Limits
from tests.hostile import builders


def zeros_png(width: int, height: int, colour: int = 6) -> bytes:
    """A valid PNG of ``width`` x ``height`` black pixels (RGBA by default), compressed row by row."""
    channels = {0: 1, 2: 3, 6: 4}[colour]
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + width * channels)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    head = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + builders.png_chunk(b"IHDR", head)
        + builders.png_chunk(b"IDAT", idat)
        + builders.png_chunk(b"IEND", b"")
    )


def _not_run(report_dict: dict[str, object], reader: str) -> None:
    readers = report_dict["readers"]
    assert isinstance(readers, list) and reader not in readers


def test_a_small_file_of_many_pixels_is_not_decoded() -> None:
    side = 5000  # 25 million pixels, over the default 4096 x 4096
    data = zeros_png(side, side)
    assert len(data) < 200_000
    options = make_options(watermarks=True)
    started = time.monotonic()
    report = check_bytes(data, "zeros.png", options)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"decoded anyway? {elapsed:.1f} s"
    out = report.to_dict()
    _not_run(out, "watermark")
    _not_run(out, "stealth")
    limit = DEFAULT_LIMITS.max_decode_pixels
    issues = [i for i in report.issues if i.source == "watermark" and i.kind == "limit-exceeded"]
    messages = " | ".join(i.message for i in issues)
    assert f"image too large to decode: {side}x{side} over {limit} pixels; watermark check not run" in messages
    assert "stealth check not run" in messages
    assert "ran and found no mark" not in report.summary


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_the_pixel_limit_is_configurable(fmt: str) -> None:
    data = builders.encode(fmt, (600, 600), "RGBA", **({"lossless": True} if fmt == "WEBP" else {}))
    small = Limits(max_decode_pixels=600 * 600 - 1)
    over = check_bytes(data, "x", make_options(watermarks=True, limits=small))
    assert "watermark" not in over.readers and "stealth" not in over.readers
    assert {i.kind for i in over.issues if i.source == "watermark"} == {"limit-exceeded", "reader-failed"}
    assert "The invisible-watermark check failed on this file: image too large to decode" in over.summary
    under = check_bytes(data, "x", make_options(watermarks=True, limits=Limits(max_decode_pixels=600 * 600)))
    assert "watermark" in under.readers and "stealth" in under.readers
    assert not [i for i in under.issues if i.source == "watermark"]
    assert "ran and found no mark" in under.summary


def test_an_undecodable_picture_is_not_reported_as_checked() -> None:
    data = zeros_png(600, 600)
    at = data.index(b"IDAT") + 4
    broken = data[:at] + b"\x00" * 64 + data[at + 64 :]  # garbage in the compressed stream, CRC wrong too
    report = check_bytes(broken, "broken.png", make_options(watermarks=True))
    assert "watermark" not in report.readers
    assert any(i.source == "watermark" and i.kind == "watermark-error" for i in report.issues)
    assert "ran and found no mark" not in report.summary
