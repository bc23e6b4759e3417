"""The read stage: sniff the format, walk the container once, run each reader.

Readers are listed explicitly in :data:`READERS`; each returns values
(evidence, issues, raw fields) and never raises for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from provenance.evidence import Credentials, Evidence, RawField, ReadIssue, ReadResult
from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import container, exif, text, xmp
from provenance.read.c2pa import TrustSettings, default_trust_lists
from provenance.unicode import has_lone_surrogate, valid, valid_text

#: Every reader, by the name the report lists under ``readers``.
READERS = ("container", "xmp", "exif", "text", "c2pa", "watermark", "stealth")

_LOSSLESS = ("image/png", "image/webp", "image/tiff", "image/gif", "image/bmp")


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What to read and with which limits and trust anchors."""

    trust: TrustSettings = field(default_factory=lambda: TrustSettings(default_trust_lists()))
    limits: Limits = DEFAULT_LIMITS
    watermarks: bool = False


@dataclass(frozen=True, slots=True)
class Extracted:
    """Everything the read stage found in one file."""

    media_type: str | None
    evidence: tuple[Evidence, ...] = ()
    issues: tuple[ReadIssue, ...] = ()
    raw: tuple[RawField, ...] = ()
    credentials: Credentials = field(default_factory=Credentials)
    readers: tuple[str, ...] = ()
    fatal: ReadIssue | None = None


def preload() -> None:
    """Load the readers' heavy libraries now: exifread and the native C2PA library.

    Worker processes forked afterwards share them. Loaded lazily, each
    worker maps and relocates its own copy of the native library and builds
    its own module objects: on the benchmark corpus that cost the two
    workers about 0.2 s of a 1.8 s scan, against 0.07 s here.
    """
    import exifread  # noqa: F401

    try:
        import c2pa  # noqa: F401
    except Exception:  # the native library failed to load: each check says so itself
        pass


def read(data: bytes, name: str, options: ReadOptions) -> Extracted:
    """Run every applicable reader over the bytes of one file.

    Every string in the result is valid Unicode: a lone surrogate (from a
    JSON ``\\ud800`` escape in metadata, or an undecodable byte of ``name``)
    is replaced by a visible escape (:mod:`provenance.unicode`). JSON found in
    metadata is made valid where it is parsed (``jsontext``, the C2PA store,
    stealth payloads); the rest is checked here, once.
    """
    return _valid(_read(data, name, options))


def _valid(extracted: Extracted) -> Extracted:
    """``extracted`` with no lone surrogate in any string; the same object in the usual case, cheaply.

    Evidence ``data`` is not walked: parsed JSON was made valid when parsed,
    and other data is the text the value came from, which decoders made.
    """
    texts = [t for e in extracted.evidence for t in (e.source, e.field, e.value, e.location, e.scope)]
    texts += [t for r in extracted.raw for t in (r.source, r.field, r.value)]
    texts += [t for i in extracted.issues for t in (i.kind, i.message, i.source)]
    texts += extracted.readers
    if extracted.media_type:
        texts.append(extracted.media_type)
    if extracted.fatal:
        texts += (extracted.fatal.kind, extracted.fatal.message)
    credentials = valid(extracted.credentials)
    if credentials is extracted.credentials and not has_lone_surrogate("".join(texts)):
        return extracted
    return replace(
        extracted,
        evidence=tuple(
            replace(
                e,
                source=valid_text(e.source),
                field=valid_text(e.field),
                value=valid_text(e.value),
                location=valid_text(e.location),
                scope=valid_text(e.scope),
            )
            for e in extracted.evidence
        ),
        issues=valid(extracted.issues),
        raw=valid(extracted.raw),
        credentials=credentials,
        readers=valid(extracted.readers),
        media_type=valid(extracted.media_type),
        fatal=valid(extracted.fatal),
    )


def _read(data: bytes, name: str, options: ReadOptions) -> Extracted:
    if not data:
        return Extracted(None, fatal=ReadIssue("empty", "the file is empty (0 bytes)"))
    media_type = container.sniff(data)
    if media_type is None:
        head = data[:8].hex(" ")
        return Extracted(
            None,
            fatal=ReadIssue(
                "not-an-image",
                f"not a recognised image format ({len(data)} bytes; first bytes: {head})",
            ),
        )
    limits = options.limits
    layout = container.walk(data, media_type, limits)
    if not layout.has_image_data:
        reason = "; ".join(i.message for i in layout.issues) or "no image data found"
        return Extracted(
            media_type,
            issues=tuple(layout.issues),
            fatal=ReadIssue("truncated", f"{media_type} file unusable: {reason}"),
        )
    results: list[ReadResult] = [container.to_result(layout, name)]
    # The metadata readers all look at every file: the structure walk has
    # already told them whether their blocks are present.
    ran = ["container", "xmp", "exif", "text", "c2pa"]
    if layout.xmp:
        results.append(xmp.read(layout.xmp, limits))
    if layout.exif:
        results.append(exif.read(layout.exif, limits))
    if layout.texts or layout.comments:
        results.append(text.read(layout, limits))
    credentials = Credentials()
    remote_hint = any(
        ev.source == "xmp" and ev.field == "dcterms:provenance" for result in results for ev in result.evidence
    )
    if layout.c2pa_embedded is not False or remote_hint:
        from provenance.read import c2pa

        credentials, c2pa_result = c2pa.read(data, media_type, options.trust, limits)
        results.append(c2pa_result)
    if options.watermarks:
        from provenance.read import watermark

        results.append(watermark.read(data, media_type))
        ran.append("watermark")
        if media_type in _LOSSLESS:
            from provenance.read import stealth

            results.append(stealth.read(data, media_type))
            ran.append("stealth")
    return Extracted(
        media_type=media_type,
        evidence=tuple(ev for r in results for ev in r.evidence),
        issues=tuple(i for r in results for i in r.issues),
        raw=tuple(f for r in results for f in r.raw),
        credentials=credentials,
        readers=tuple(ran),
    )
