"""The read stage: sniff the format, walk the container once, run each reader.

Readers are listed explicitly in :data:`READERS`; each returns values
(evidence, issues, raw fields) and never raises for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from provenance.evidence import Credentials, Evidence, RawField, ReadIssue, ReadResult
from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import container, exif, text, xmp
from provenance.read.c2pa import TrustSettings, default_trust_lists

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


def _unreadable(data: bytes) -> ReadIssue:
    """Why bytes that are no supported image cannot be read: the format's name, never the bytes."""
    size = f"{len(data)} byte{'' if len(data) == 1 else 's'}"
    known = container.identify(data)
    if known is not None:
        name, why = known
        return ReadIssue("unsupported-format", f"{name}: {why} (provenance reads {container.SUPPORTED_FORMATS} images)")
    what = "plain text" if container.looks_like_text(data) else "unknown format"
    return ReadIssue("not-an-image", f"not a recognised image format ({size}; {what})")


def read(data: bytes, name: str, options: ReadOptions) -> Extracted:
    """Run every applicable reader over the bytes of one file."""
    if not data:
        return Extracted(None, fatal=ReadIssue("empty", "the file is empty (0 bytes)"))
    media_type = container.sniff(data)
    if media_type is None:
        return Extracted(None, fatal=_unreadable(data))
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
    remote_hint = next(
        (ev.value for r in results for ev in r.evidence if ev.source == "xmp" and ev.field == "dcterms:provenance"),
        None,
    )
    if layout.c2pa_embedded is not False or remote_hint is not None:
        from provenance.read import c2pa

        too_big = c2pa.store_over_limit(data, media_type, limits)
        if too_big is not None:
            return Extracted(
                media_type,
                issues=tuple(layout.issues),
                fatal=ReadIssue("limit-exceeded", too_big, "c2pa"),
            )
        credentials, c2pa_result = c2pa.read(data, media_type, options.trust, limits, remote_hint)
        results.append(c2pa_result)
    if options.watermarks:
        from provenance.read import watermark

        # A pixel reader that did not finish (over the pixel limit, a decoder
        # error) says so in an issue and is not listed as having run.
        result, completed = watermark.read_checked(data, media_type, max_pixels=limits.max_decode_pixels)
        results.append(result)
        if completed:
            ran.append("watermark")
        if media_type in _LOSSLESS:
            from provenance.read import stealth

            result, completed = stealth.read_checked(data, media_type, max_pixels=limits.max_decode_pixels)
            results.append(result)
            if completed:
                ran.append("stealth")
    return Extracted(
        media_type=media_type,
        evidence=tuple(ev for r in results for ev in r.evidence),
        issues=tuple(i for r in results for i in r.issues),
        raw=tuple(f for r in results for f in r.raw),
        credentials=credentials,
        readers=tuple(ran),
    )
