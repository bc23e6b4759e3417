"""Hostile ISO BMFF input: the walker returns quickly and never raises, whatever the bytes."""

from __future__ import annotations

import functools
import random
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from provenance.limits import Limits
from provenance.read.container import MAX_TEXT_ITEMS
from provenance.read.media import MediaLayout
from tests.read.bmff_builders import (
    PACKET,
    box,
    c2pa_uuid,
    data,
    full,
    item,
    large_box,
    meta_mdir,
    meta_mdta,
    mp4,
    qt_text,
    trak,
    walk,
    xmp_uuid,
)

KINDS = {"truncated", "malformed", "limit-exceeded"}


def sample() -> bytes:
    """A small file with every structure the walker reads."""
    freeform = box("----", full("mean", b"com.apple.iTunes"), full("name", b"prompt"), data("y"))
    return mp4(
        box(
            "udta",
            meta_mdir(item("©too", "Lavf60"), item("©cmt", '{"prompt": {}}'), freeform),
            qt_text("©swr", "writer"),
            box("XMP_", PACKET),
        ),
        meta_mdta(["prompt", "workflow"], item(1, '{"1": {}}'), item(2, '{"nodes": []}')),
        trak(box("udta", xmp_uuid(PACKET))),
        box("mvex", full("trex", b"\0" * 20)),
        mdat=b"\0" * 32,
        extra=c2pa_uuid() + large_box("free", b"\0" * 8),
    )


def check(layout: MediaLayout) -> None:
    assert isinstance(layout, MediaLayout)
    assert len(layout.tags) <= MAX_TEXT_ITEMS
    assert all(isinstance(t.value, str) and isinstance(t.field, str) for t in layout.tags)
    assert {i.kind for i in layout.issues} <= KINDS
    assert layout.c2pa in (True, False, None)


def test_the_sample_reads_cleanly() -> None:
    layout = walk(sample())
    assert not layout.issues
    assert layout.c2pa is True and len(layout.xmp) == 2 and layout.fragmented
    assert {t.field for t in layout.tags} == {"©too", "©cmt", "prompt", "workflow", "©swr"}


@functools.cache
def _files() -> list[tuple[str, bytes]]:
    files = [("built", sample())]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is not None:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "v.mp4"
            subprocess.run(
                [
                    *(
                        ffmpeg,
                        "-v",
                        "error",
                        "-y",
                        "-nostdin",
                        "-f",
                        "lavfi",
                        "-i",
                        "testsrc=size=32x32:rate=2:duration=1",
                    ),
                    *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "use_metadata_tags"),
                    *("-metadata", 'prompt={"1": {}}', str(out)),
                ],
                check=True,
                timeout=60,
            )
            files.append(("ffmpeg", out.read_bytes()))
    return files


@pytest.mark.parametrize(("name", "data"), _files(), ids=lambda v: v if isinstance(v, str) else "")
def test_truncation_at_every_byte(name: str, data: bytes) -> None:
    started = time.monotonic()
    for cut in range(len(data)):
        check(walk(data[:cut]))
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(("name", "data"), _files(), ids=lambda v: v if isinstance(v, str) else "")
def test_random_byte_flips(name: str, data: bytes) -> None:
    rng = random.Random(12)
    slowest = 0.0
    for _ in range(1500):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        started = time.monotonic()
        check(walk(bytes(mutated)))
        slowest = max(slowest, time.monotonic() - started)
    assert slowest < 0.5


def test_every_size_field_set_to_hostile_values() -> None:
    data = sample()
    # Every offset where a box header's size could be: write each hostile size there.
    sizes = [0, 1, 7, 8, 9, 2**31, 2**32 - 1]
    started = time.monotonic()
    for at in range(0, len(data) - 4):
        for size in sizes:
            mutated = data[:at] + struct.pack(">I", size) + data[at + 4 :]
            check(walk(mutated))
    assert time.monotonic() - started < 30


def test_boxes_of_header_size_only_cannot_stall() -> None:
    data = box("ftyp", b"isom\0\0\0\0") + box("moov", box("udta") * 20_000, box("trak") * 20_000)
    started = time.monotonic()
    check(walk(data))
    assert time.monotonic() - started < 5


def test_tiny_limits_never_raise() -> None:
    tiny = Limits(max_text_bytes=3, max_xmp_bytes=3)
    for cut in range(0, len(sample()), 7):
        check(walk(sample()[:cut], limits=tiny))
