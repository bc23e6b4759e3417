"""The read stage: sniff the format, walk the container once, run each reader.

Readers are listed explicitly in :data:`READERS`; each returns values
(evidence, issues, raw fields) and never raises for bad input.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, cast

from provenance.evidence import Credentials, Evidence, RawField, ReadIssue, ReadResult
from provenance.limits import DEFAULT_LIMITS, Limits
from provenance.read import container, exif, media, text, xmp
from provenance.read.c2pa import TrustSettings, default_trust_lists
from provenance.unicode import has_lone_surrogate, valid, valid_text

#: Every reader, by the name the report lists under ``readers``.
READERS = ("container", "xmp", "exif", "text", "c2pa", "watermark", "stealth")

#: Image formats the C2PA library cannot embed a manifest into (``Reader.get_supported_mime_types()``).
_NOT_EMBEDDABLE = frozenset({"image/bmp"})

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
    #: For video and audio: what the container walk says about the file (None for images).
    media: MediaFacts | None = None


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the judge and the renderers need to know of a video or audio file's layout."""

    kind: str  # video | audio
    can_carry_c2pa: bool = True
    init_segment: bool = False
    fragmented: bool = False
    fragments: int = 0  # fragments validated with an init segment (--fragments)


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
        return ReadIssue(
            "unsupported-format",
            f"{name}: {why} (provenance reads {container.SUPPORTED_FORMATS} images, and the video and audio "
            "formats listed in its README)",
        )
    what = "plain text" if container.looks_like_text(data) else "unknown format"
    return ReadIssue("not-an-image", f"not a recognised image format ({size}; {what})")


def read(data: bytes, name: str, options: ReadOptions) -> Extracted:
    """Run every applicable reader over the bytes of one file.

    Every string in the result is valid Unicode: a lone surrogate (from a
    JSON ``\\ud800`` escape in metadata, or an undecodable byte of ``name``)
    is replaced by a visible escape (:mod:`provenance.unicode`). JSON found in
    metadata is made valid where it is parsed (``jsontext``, the C2PA store,
    stealth payloads); the rest is checked here, once.
    """
    if data and container.sniff(data) is None:
        stream = io.BytesIO(data)
        media_type = media.sniff_stream(stream, len(data))
        if media_type is not None:
            return read_media(stream, len(data), name, options, media_type)
    return _valid(_read(data, name, options))


def read_media(
    source: BinaryIO,
    size: int,
    name: str,
    options: ReadOptions,
    media_type: str | None = None,
    fragments: Callable[[], list[BinaryIO]] | None = None,
) -> Extracted:
    """Read a video or audio file from a seekable stream of ``size`` bytes, never whole.

    The container walker reads headers and tag payloads only; the C2PA
    library reads the stream itself. When the file is a DASH/CMAF init
    segment, ``fragments`` (if given) opens its ``.m4s`` fragments, which the
    library then validates with it.
    """
    return _valid(_read_media(source, size, name, options, media_type, fragments))


def _read_media(
    source: BinaryIO,
    size: int,
    name: str,
    options: ReadOptions,
    media_type: str | None,
    fragments: Callable[[], list[BinaryIO]] | None,
) -> Extracted:
    if size == 0:
        return Extracted(None, fatal=ReadIssue("empty", "the file is empty (0 bytes)"))
    media_type = media_type or media.sniff_stream(source, size)
    if media_type is None:
        source.seek(0)
        return Extracted(None, fatal=_unreadable(source.read(65536)))
    limits = options.limits
    layout = media.walk(source, size, media_type, limits)
    streams = tuple(fragments()) if fragments is not None and layout.init_segment else ()
    facts = MediaFacts(layout.kind, layout.can_carry_c2pa, layout.init_segment, layout.fragmented, len(streams))
    if not layout.has_media_data and not layout.init_segment:
        reason = "; ".join(i.message for i in layout.issues) or f"no {layout.kind} data found"
        return Extracted(
            media_type,
            issues=tuple(layout.issues),
            fatal=ReadIssue("truncated", f"{media_type} file unusable: {reason}"),
            media=facts,
        )
    results: list[ReadResult] = [media.to_result(layout, name, limits)]
    readers = _Readers(results)
    ran, failed, run = readers.ran, readers.failed, readers.run

    stopped = next((i for i in layout.issues if i.kind in ("truncated", "malformed", "limit-exceeded")), None)
    unread = next((i for i in layout.issues if i.kind == "not-read"), None)
    if unread is not None:
        failed.append(_failed("container", unread.message))
    elif stopped is not None:
        failed.append(_failed("container", f"{stopped.message}; metadata after that point may not have been read"))
    else:
        ran.append("container")
    run("xmp", lambda: xmp.read(layout.xmp, limits) if layout.xmp else ReadResult())
    credentials = Credentials()
    remote_hint = next(
        (ev.value for r in results for ev in r.evidence if ev.source == "xmp" and ev.field == "dcterms:provenance"),
        None,
    )
    if not layout.can_carry_c2pa:
        credentials = Credentials(state="none", embeddable=False, note=media.CANNOT_CARRY)
        ran.append("c2pa")
    elif layout.c2pa is not False or remote_hint is not None:
        from provenance.read import c2pa

        credentials = readers.run_c2pa(
            lambda: c2pa.read_stream(source, media_type, options.trust, limits, remote_hint, streams)
        )
    else:
        ran.append("c2pa")
    if layout.init_segment and not streams:
        credentials = _fragments_needed(credentials)
    ran = readers.completed()
    return Extracted(
        media_type=media_type,
        evidence=tuple(ev for r in results for ev in r.evidence),
        issues=tuple(i for r in results for i in r.issues) + tuple(failed),
        raw=tuple(f for r in results for f in r.raw),
        credentials=credentials,
        readers=tuple(ran),
        media=facts,
    )


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
    found = extracted.credentials
    plain = not found.validation and not found.manifests  # no manifest (most files): its own texts only
    if plain:
        texts += [t for t in (found.state, found.active_manifest, found.trust_list, found.remote_url) if t]
        texts += [t for t in (found.error, found.note) if t]
    credentials = found if plain else valid(found)
    if credentials is found and not has_lone_surrogate("".join(texts)):
        return extracted
    credentials = valid(found)
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
    # already told them whether their blocks are present. A reader that could
    # not finish is left out of ``readers`` and named in a ``reader-failed`` issue.
    readers = _Readers(results)
    ran, failed, run = readers.ran, readers.failed, readers.run

    walk_failure = _walk_failure(layout)
    if walk_failure is None:
        ran.append("container")
    else:
        failed.append(_failed("container", walk_failure))
    xmp_skipped = [i for i in layout.issues if i.source == "xmp"]
    if xmp_skipped:  # a packet the walk left out (over a limit)
        failed.append(_failed("xmp", xmp_skipped[0].message))
    run("xmp", lambda: xmp.read(layout.xmp, limits) if layout.xmp else ReadResult())
    run("exif", lambda: exif.read(layout.exif, limits) if layout.exif else ReadResult())
    text_skipped = [
        i for i in layout.issues if i.source == "png-text" or (i.source == "container" and i.kind == "limit-exceeded")
    ]
    if text_skipped:  # a chunk or comment the walk could not read or left out
        failed.append(_failed("text", text_skipped[0].message))
    run("text", lambda: text.read(layout, limits) if layout.texts or layout.comments else ReadResult())
    credentials = Credentials()
    remote_hint = next(
        (ev.value for r in results for ev in r.evidence if ev.source == "xmp" and ev.field == "dcterms:provenance"),
        None,
    )
    if layout.c2pa_embedded is not False or remote_hint is not None:
        from provenance.read import c2pa

        store = c2pa.check_store(data, media_type, limits)
        if store.too_big is not None:
            return Extracted(
                media_type,
                issues=tuple(layout.issues),
                fatal=ReadIssue("limit-exceeded", store.too_big, "c2pa"),
            )
        credentials = readers.run_c2pa(
            lambda: c2pa.read(data, media_type, options.trust, limits, remote_hint, store.certificate_boxes)
        )
    else:
        ran.append("c2pa")
    if options.watermarks:
        from provenance.read import watermark

        pixel_readers: list[tuple[str, Any]] = [("watermark", watermark)]
        if media_type in _LOSSLESS:
            from provenance.read import stealth

            pixel_readers.append(("stealth", stealth))
        for reader, module in pixel_readers:
            # Over the pixel limit or undecodable, a pixel reader says so in an
            # issue and reports that it did not finish.
            completed: list[bool] = []

            def pixels(module: Any = module, completed: list[bool] = completed) -> ReadResult:
                result, done = module.read_checked(data, media_type, max_pixels=limits.max_decode_pixels)
                completed.append(bool(done))
                return cast(ReadResult, result)

            run(reader, pixels, True)
            if completed and not completed[0] and all(issue.source != reader for issue in failed):
                failed.append(_failed(reader, "the pixels were not decoded"))
    if media_type in _NOT_EMBEDDABLE and credentials.state == "none" and not credentials.error:
        credentials = replace(credentials, embeddable=False, note=media.CANNOT_CARRY)
    ran = readers.completed()
    return Extracted(
        media_type=media_type,
        evidence=tuple(ev for r in results for ev in r.evidence),
        issues=tuple(i for r in results for i in r.issues) + tuple(failed),
        raw=tuple(f for r in results for f in r.raw),
        credentials=credentials,
        readers=tuple(ran),
    )


_BMFF_MISMATCH = "assertion.bmffHash.mismatch"


def _fragments_needed(credentials: Credentials) -> Credentials:
    """An init segment's credentials read alone: a BMFF hash mismatch there means the fragments are missing."""
    if credentials.state != "invalid" or not any(v.code == _BMFF_MISMATCH for v in credentials.validation):
        return credentials
    validation = tuple(
        replace(v, meaning=media.FRAGMENTS_MEANING) if v.code == _BMFF_MISMATCH else v for v in credentials.validation
    )
    return replace(credentials, validation=validation, note=media.FRAGMENTS_NEEDED)


#: How each reader is named in a sentence.
CHECK_NAMES = {
    "container": "file-structure",
    "xmp": "XMP",
    "exif": "EXIF",
    "text": "PNG text and JPEG comment",
    "c2pa": "Content Credentials",
    "watermark": "invisible-watermark",
    "stealth": "stealth-metadata",
}

#: Issues after which a reader has still done its work (it reports them itself).
_COMPLETED_WITH = frozenset({"c2pa-invalid-manifest"})


_OWN_PREFIX = re.compile(r"^\w+ check (?:failed|skipped): ")


def _failed(reader: str, reason: str, kind: str = "") -> ReadIssue:
    verb = "could not run" if kind == "too-small" else "failed"
    reason = _OWN_PREFIX.sub("", reason)
    return ReadIssue("reader-failed", f"the {CHECK_NAMES[reader]} check {verb} on this file: {reason}", reader)


class _Readers:
    """The readers run on one file: each result in ``results``, which completed, which failed and why."""

    def __init__(self, results: list[ReadResult]) -> None:
        self.results = results
        self.ran: list[str] = []
        self.failed: list[ReadIssue] = []

    def run(self, reader: str, call: Callable[[], ReadResult], needs_output: bool = False) -> ReadResult | None:
        """Run one reader; a reader bug or a library failure fails this reader only."""
        try:
            result = call()
        except Exception as exc:
            result = ReadResult(issues=(ReadIssue("reader-error", f"{type(exc).__name__}: {exc}", reader),))
        self.results.append(result)
        why = _failure(reader, result, needs_output)
        if why is None:
            self.ran.append(reader)
            return result
        self.failed.append(why)
        return None

    def completed(self) -> list[str]:
        """The readers that ran and finished, once each, in :data:`READERS` order."""
        gone = {issue.source for issue in self.failed}
        return sorted((r for r in set(self.ran) if r not in gone), key=READERS.index)

    def run_c2pa(self, call: Callable[[], tuple[Credentials, ReadResult]]) -> Credentials:
        """Run the C2PA reader: its credentials, or none "not checked" with the reason when it failed."""
        found: list[Credentials] = []

        def read() -> ReadResult:
            credentials, result = call()
            found.append(credentials)
            return result

        self.run("c2pa", read)
        return found[0] if found else Credentials(state="none", error=f"not checked: {self.failed[-1].message}")


def _failure(reader: str, result: ReadResult, needs_output: bool) -> ReadIssue | None:
    """Why ``reader`` did not complete on this file, or None.

    The pixel readers report a raw field (or evidence) whenever they finish;
    an issue without either means they stopped. The metadata readers finish
    with partial results: any issue of theirs means a block went unread.
    """
    issues = [i for i in result.issues if i.kind not in _COMPLETED_WITH]
    if not issues:
        return None
    if needs_output and (result.raw or result.evidence):
        return None
    if reader == "c2pa" and all(i.kind not in ("c2pa-error", "c2pa-unsupported", "reader-error") for i in issues):
        return None
    return _failed(reader, issues[0].message, issues[0].kind)


def _walk_failure(layout: container.Layout) -> str | None:
    """Why the structure walk stopped before the end of the file, or None."""
    for issue in layout.issues:
        if issue.source != "container":
            continue
        # A JPEG walk that skips stray bytes goes on; every other problem stops it.
        if issue.kind == "truncated" or (issue.kind == "malformed" and "stray bytes" not in issue.message):
            return f"{issue.message}; metadata after that point was not read"
    return None
