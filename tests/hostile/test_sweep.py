"""Truncation and mutation sweep: every damaged file still gets a report, in time.

Each benign sample (``samples_benign/`` images, videos and audio files, a
few shared C2PA fixtures, and small images made here) is cut at every
segment/chunk/box boundary and at even offsets, has single bits flipped
(half of them in structure headers, where they change lengths), has its
blocks swapped, dropped, doubled or reversed, and has each declared length
set to 0, 1 and huge values (for video and audio: nested boxes and
elements too, 64-bit box sizes, 8-byte EBML sizes, ID3 syncsafe sizes and
unsynchronisation flags; a random sample of those variants per file, to keep
the sweep's time). Every variant goes through
:func:`provenance.api.check_bytes` in this process; each must return a
report (a verdict, or ``error`` with a kind and a message, never
``internal-error``) within the per-file time limit.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from provenance.api import Options, check_bytes
from provenance.judge import VERDICTS
from provenance.limits import DEFAULT_LIMITS
from tests.conftest import FIXTURES, SAMPLES
from tests.hostile import builders
from tests.hostile.conftest import SWEEP_STATS, image_sources, media_sources

#: Shared fixtures that add a C2PA manifest in JPEG/PNG, a remote manifest,
#: XMP in WebP, a big GIF and a TIFF to the sweep (kept few: the C2PA
#: library takes ~10 ms per call on these).
SHARED_SEEDS = ("C.jpg", "cloud.jpg", "libpng-test_with_url.png", "test_xmp.webp", "sample1.gif", "TUSCANY.TIF")


def _made_here() -> dict[str, bytes]:
    x = builders.xmp_fields({"Iptc4xmpExt:DigitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/x"})
    return {
        "made-xmp.jpg": builders.jpeg_with(builders.jpeg_segment(0xE1, builders.XMP_APP1 + x)),
        "made-text.png": builders.png_with(
            builders.png_chunk(b"tEXt", b"parameters\x00Steps: 20, Sampler: Euler, Seed: 1, Size: 8x8")
            + builders.png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"hello " * 40))
            + builders.png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + x)
        ),
        "made.webp": builders.encode("WEBP", lossless=True),
        "made.gif": builders.encode("GIF", mode="P", comment=b"a synthetic gradient"),
        "made.tiff": builders.encode("TIFF", description="synthetic"),
    }


def _seeds() -> Iterator[tuple[str, bytes]]:
    for path in [*image_sources(), *media_sources()]:
        yield path.name, path.read_bytes()
    for name in SHARED_SEEDS:
        path = FIXTURES / "c2pa-rs" / name
        if path.is_file():
            yield name, path.read_bytes()
    yield from _made_here().items()


#: Variants of each kind tried per video/audio seed: a random sample of the
#: cuts and length lies (a video has hundreds of nested boxes or elements,
#: and most variants of a signed one go through the C2PA library).
MEDIA_SAMPLE = {"cuts": 160, "flips": 120, "shuffles": 40, "lies": 160}


#: What the video/audio walkers' catch-alls say when a walker raised (a bug
#: turned into an issue so that one file's report survives it): here a failure.
WALKER_BUG = ("could not be walked", "container walk failed", "container walk returned no layout")


def _sample(variants: Iterator[tuple[str, bytes]], count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    every = list(variants)
    return every if len(every) <= count else sorted(rng.sample(every, count))


def _variants(data: bytes, rng: random.Random, heavy: bool) -> Iterator[tuple[str, bytes]]:
    if builders.media_structure(data) is not None:
        yield from _sample(builders.truncations(data, spread=64), MEDIA_SAMPLE["cuts"], rng)
        yield from builders.bit_flips(data, rng, MEDIA_SAMPLE["flips"])
        yield from builders.shuffles(data, rng, MEDIA_SAMPLE["shuffles"])
        yield from _sample(builders.length_lies(data), MEDIA_SAMPLE["lies"], rng)
        return
    yield from builders.truncations(data, spread=24 if heavy else 64)
    yield from builders.bit_flips(data, rng, 60 if heavy else 300)
    yield from builders.shuffles(data, rng, 20 if heavy else 80)
    yield from builders.length_lies(data)


class _Overtime(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Overtime()


def test_every_damaged_file_gets_a_report_in_time(schema_validator) -> None:  # type: ignore[no-untyped-def]
    options = Options()
    limit = DEFAULT_LIMITS.timeout
    rng = random.Random(20261125)
    seeds = list(_seeds())
    assert len(seeds) >= 5
    tried = 0
    slowest, slowest_name = 0.0, ""
    verdicts: Counter[str] = Counter()
    problems: list[str] = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    started = time.perf_counter()
    try:
        for seed_name, data in seeds:
            heavy = len(data) > 64 * 1024
            for variant, mutated in _variants(data, rng, heavy):
                name = f"{seed_name}:{variant}"
                signal.setitimer(signal.ITIMER_REAL, limit)
                t0 = time.perf_counter()
                try:
                    report = check_bytes(mutated, seed_name, options)
                except _Overtime:
                    problems.append(f"{name}: no report within {limit} s")
                    continue
                except Exception as exc:  # check_bytes must never raise
                    problems.append(f"{name}: raised {type(exc).__name__}: {exc}")
                    continue
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                elapsed = time.perf_counter() - t0
                tried += 1
                if elapsed > slowest:
                    slowest, slowest_name = elapsed, name
                verdicts[report.verdict] += 1
                if report.verdict not in VERDICTS:
                    problems.append(f"{name}: unknown verdict {report.verdict!r}")
                if report.verdict == "error":
                    if report.error is None or not report.error.kind or not report.error.message:
                        problems.append(f"{name}: error without kind and message")
                    elif report.error.kind == "internal-error":
                        problems.append(f"{name}: internal error: {report.error.message}")
                bugs = [i.message for i in report.issues if any(s in i.message for s in WALKER_BUG)]
                if bugs:
                    problems.append(f"{name}: a container walker raised: {bugs[0]}")
                if report.verdict == "error" or tried % 25 == 0:
                    document = json.loads(json.dumps(report.to_dict(verbose=True)))
                    errors = [e.message for e in schema_validator.iter_errors(report.to_dict())]
                    if errors or document["path"] != seed_name:
                        problems.append(f"{name}: report does not match the schema: {errors[:2]}")
    finally:
        signal.signal(signal.SIGALRM, previous)
    total = time.perf_counter() - started
    SWEEP_STATS.update(
        inputs=tried,
        seeds=len(seeds),
        total=total,
        slowest=slowest,
        slowest_name=slowest_name,
        verdicts=dict(verdicts),
    )
    print(f"\nsweep: {tried} inputs from {len(seeds)} files in {total:.1f} s; slowest {slowest:.3f} s ({slowest_name})")
    assert not problems, "\n".join(problems[:20])
    assert tried > 3000
    assert slowest < limit
    # The sweep must exercise both outcomes: files that survive damage and files that do not.
    assert verdicts["error"] and sum(v for k, v in verdicts.items() if k != "error")


@pytest.mark.parametrize(
    "path", [FIXTURES / "c2pa-rs" / "C.jpg", SAMPLES / "c2pa_capture.jpg", SAMPLES / "c2pa_ai_edited.png"]
)
def test_cut_manifest_store_is_never_valid(path: Path) -> None:
    """A C2PA file cut inside or after its manifest store is never reported valid, trusted or captured."""
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    data = path.read_bytes()
    start = data.find(b"jumb")
    assert start > 0
    cuts = [*range(start + 8, min(len(data), start + 6000), 89), len(data) - 1, len(data) - 40]
    for at in cuts:
        report = check_bytes(data[:at], path.name)
        assert report.credentials.state not in ("valid", "trusted"), at
        assert report.verdict != "captured", at


#: Length lies each media format must get (the issue's list: huge box sizes,
#: EBML lengths of 8 bytes, ID3 unsynchronisation...).
_LIES_BY_SUFFIX = {
    ".mp4": ("bmff-len@", "bmff-large@"),
    ".mov": ("bmff-len@", "bmff-large@"),
    ".m4a": ("bmff-len@", "bmff-large@"),
    ".webm": ("ebml-len@", "=8-byte"),
    ".mkv": ("ebml-len@", "=8-byte"),
    ".wav": ("riff-len@",),
    ".avi": ("riff-len@",),
    ".mp3": ("id3-size@", "id3-frame-size@", "id3-unsync@", "id3-unsync-frames@"),
    ".flac": ("flac-len@", "id3-size@"),
}


@pytest.mark.parametrize("path", media_sources(), ids=lambda p: p.name)
def test_media_seeds_are_cut_along_their_structure(path: Path) -> None:
    """Each video/audio seed is split into its boxes/elements/chunks/frames (nested ones too), so the
    sweep's cuts, header flips and length lies land on the walkers' size fields."""
    data = path.read_bytes()
    parts = builders.blocks(data)
    assert builders.media_structure(data) is not None
    assert len(parts) >= 4, parts
    assert parts[0][0] == 0 and parts[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts)), "the blocks must tile the file"
    names = [name for name, _ in builders.length_lies(data)]
    for wanted in _LIES_BY_SUFFIX[path.suffix.lower()]:
        assert any(wanted in name for name in names), (wanted, names[:10])
