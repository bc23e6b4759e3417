"""Bounds on the work done for one file, shared by every stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Size and time limits; every one is documented in SECURITY.md.

    ``max_file_bytes``: files larger than this are hashed but not parsed.
    ``max_text_bytes``: total PNG text and each inflated zTXt/iTXt chunk.
    ``max_xmp_bytes``: one XMP packet (extended XMP included).
    ``max_scan_bytes``: how far a byte search for XMP goes in formats we do
    not walk box by box. ``max_value_chars``: a value kept in a finding.
    ``timeout``: seconds per file before the batch gives up on it (and
    before an HTML report gives up on one file's preview).
    ``max_preview_pixels``: an HTML preview is made only of an image with at
    most this many pixels (after a JPEG's reduced-scale decode).
    ``max_decode_pixels``: pixels a watermark or stealth check may decode.
    ``max_c2pa_manifests`` / ``max_c2pa_ingredients``: manifests and
    ingredient assertions in a C2PA store, counted before it is validated.
    ``timeout_per_gib``: seconds added to ``timeout`` per GiB of a file of at
    least ``large_file_bytes`` (a video: streamed SHA-256 and the C2PA
    library's own hash of the media data).
    """

    max_file_bytes: int = 2 * 1024**3
    max_text_bytes: int = 8 * 1024**2
    max_xmp_bytes: int = 4 * 1024**2
    max_scan_bytes: int = 64 * 1024**2
    max_value_chars: int = 4096
    timeout: float = 10.0
    max_preview_pixels: int = 40_000_000
    max_decode_pixels: int = 4096 * 4096
    max_c2pa_manifests: int = 256
    max_c2pa_ingredients: int = 256
    timeout_per_gib: float = 10.0
    large_file_bytes: int = 64 * 1024**2


DEFAULT_LIMITS = Limits()
