"""Coverage-guided fuzz target (atheris) for the metadata readers.

Each input is read as an image: the format is sniffed from its magic bytes
(or, when none matches, forced from the first byte, with the magic bytes
prepended), the container is walked, and the XMP, EXIF and text readers run
on what the walk found; the whole input is also given to the XMP parser as
a packet. Any exception other than the readers' own typed errors, or a
broken limit, is a crash. ``PROVENANCE_FUZZ_C2PA=1`` also runs the full
check (with the native C2PA library) on every input: slower, wider.

Run (see fuzz/README.md)::

    python fuzz/fuzz_readers.py -max_total_time=600 -timeout=10 /tmp/corpus samples_benign fuzz/corpus/regressions

:func:`test_one_input` needs no atheris; the regression test replays
``fuzz/corpus/regressions/`` through it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: Magic bytes prepended when the input is not already an image.
MAGIC = (
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/gif", b"GIF89a"),
    ("image/webp", b"RIFF\x00\x00\x00\x00WEBP"),
    ("image/tiff", b"II*\x00"),
    ("image/tiff", b"MM\x00*"),
    ("image/avif", b"\x00\x00\x00\x1cftypavif"),
    ("image/heic", b"\x00\x00\x00\x18ftypheic"),
    ("image/svg+xml", b"<svg "),
    ("image/jxl", b"\xff\x0a"),
)
ISSUE_KINDS = frozenset({"truncated", "malformed", "limit-exceeded"})
#: Audio/video walkers (module in provenance/read, media type) and the magic
#: bytes that force an input into each when it does not start with them.
MEDIA = (
    ("ebml", "video/webm", b"\x1a\x45\xdf\xa3"),
    ("ebml", "video/x-matroska", b"\x1a\x45\xdf\xa3"),
    ("riffav", "audio/wav", b"RIFF\xf0\xff\xff\xffWAVE"),
    ("riffav", "video/x-msvideo", b"RIFF\xf0\xff\xff\xffAVI "),
    ("id3", "audio/mpeg", b"ID3"),
    ("flac", "audio/flac", b"fLaC"),
    ("flac", "audio/ogg", b"OggS"),
    ("bmff", "video/mp4", b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom"),
    ("bmff", "video/quicktime", b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  "),
)
WITH_C2PA = os.environ.get("PROVENANCE_FUZZ_C2PA") == "1"


def as_image(data: bytes) -> tuple[str, bytes]:
    """The media type to walk ``data`` as, and the bytes to walk."""
    from provenance.read.container import sniff

    media_type = sniff(data)
    if media_type is not None or not data:
        return media_type or "image/png", data
    media_type, magic = MAGIC[data[0] % len(MAGIC)]
    return media_type, magic + data[1:]


def test_one_input(data: bytes) -> None:
    """Run the readers on one input; raise ``AssertionError`` (or anything) on a bug."""
    from provenance.limits import DEFAULT_LIMITS as limits
    from provenance.read import container, exif, text, xmp

    media_type, image = as_image(data)
    layout = container.walk(image, media_type, limits)
    kinds = {issue.kind for issue in layout.issues}
    assert kinds <= ISSUE_KINDS, kinds
    assert len(layout.texts) <= container.MAX_TEXT_ITEMS
    assert len(layout.comments) <= container.MAX_TEXT_ITEMS
    assert sum(len(t.value) for t in layout.texts) <= limits.max_text_bytes + len(image)
    if layout.xmp:
        xmp.read(layout.xmp, limits)
    if layout.exif:
        exif.read(layout.exif, limits)
    if layout.texts or layout.comments:
        text.read(layout, limits)
    container.to_result(layout, "fuzz." + media_type.rsplit("/", 1)[-1])
    try:
        fields = xmp.parse(data, limits)
    except xmp.XmpError as exc:
        assert exc.kind in {"malformed", "xml-unsafe", "limit-exceeded"}, exc.kind
    else:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields)
    test_media_input(data)
    if WITH_C2PA:
        from provenance.api import check_bytes

        report = check_bytes(image, "fuzz")
        assert report.error is None or report.error.kind != "internal-error", report.error


def test_media_input(data: bytes) -> None:
    """Walk ``data`` as audio or video (sniffed, else chosen by its first byte); the walkers never raise."""
    import importlib
    import io

    from provenance.limits import DEFAULT_LIMITS as limits
    from provenance.read.container import MAX_TEXT_ITEMS

    from provenance.read import media

    if not data:
        return
    own = media.sniff_stream(io.BytesIO(data), len(data))
    if own is not None:  # a real video or audio file (a seed, or a mutation that kept its magic)
        name, media_type, blob = media.MEDIA_TYPES[own][1], own, data
    else:
        name, media_type, magic = MEDIA[data[0] % len(MEDIA)]
        # BMFF starts with a box size, then ``ftyp``: an input with its own ftyp box keeps it.
        already = data[4:8] == magic[4:8] if name == "bmff" else data.startswith(magic[:4])
        blob = data if already else magic + data[1:]
    walker = importlib.import_module(f"provenance.read.{name}")
    layout = walker.walk(io.BytesIO(blob), len(blob), media_type, limits)
    kinds = {issue.kind for issue in layout.issues}
    assert kinds <= ISSUE_KINDS, kinds
    # The walkers' catch-all turns a bug into an issue; under the fuzzer it is a crash.
    assert not any("could not be walked" in issue.message for issue in layout.issues), layout.issues
    assert len(layout.tags) <= MAX_TEXT_ITEMS
    assert sum(len(t.value.encode("utf-8", "replace")) for t in layout.tags) <= limits.max_text_bytes
    assert sum(len(x) for x in layout.xmp) <= len(blob)


def main() -> None:
    import atheris

    with atheris.instrument_imports(include=["provenance", "exifread", "defusedxml"]):
        import provenance.read.bmff
        import provenance.read.container
        import provenance.read.ebml
        import provenance.read.exif
        import provenance.read.flac
        import provenance.read.id3
        import provenance.read.jsontext
        import provenance.read.riffav
        import provenance.read.text
        import provenance.read.xmp

        if WITH_C2PA:
            import provenance.api
    # A fifth of the product's EXIF work limit: the limit is still hit and
    # tested, and inputs that reach it stay cheap under instrumentation.
    provenance.read.exif.MAX_READ_CALLS = 10_000
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
