"""Reader for "stealth" generation metadata hidden in pixel LSBs.

NovelAI (always), the AUTOMATIC1111 ``stealth-pnginfo`` extension, reForge
and SwarmUI can copy the generation parameters into the least significant
bits of the pixels, where they survive metadata stripping (but not lossy
re-encoding or resizing). Layout:

* bit source: the alpha channel's LSB, one bit per pixel (``alpha`` mode),
  or the LSBs of R, G and B in that order, three bits per pixel (``rgb``);
* pixel order: column-major (down the first column, then the next);
* bits form bytes most significant bit first;
* a 15-byte magic: ``stealth_pnginfo`` / ``stealth_pngcomp`` (alpha, plain /
  gzip) or ``stealth_rgbinfo`` / ``stealth_rgbcomp`` (rgb);
* a 32-bit big-endian payload length counted in bits;
* the payload: UTF-8 text (``...info``) or a gzip stream (``...comp``).
  NovelAI writes gzip of a JSON object whose ``Comment`` value is itself a
  JSON string; it may append error-correction data after the payload, which
  is ignored here.

NovelAI's ``Comment`` carries ``signed_hash``, an Ed25519 signature that
NovelAI publishes a verifier and public key for (``nai_sig.py`` in the
public repository NovelAI/novelai-image-metadata). The signed message is the
RGB bytes of the picture (row-major, 3 bytes per pixel, alpha left out)
followed by ``json.dumps(comment)`` of the parsed Comment object with
``signed_hash`` removed (Python's default separators and ASCII escaping,
keys in their original order). :func:`verify_novelai_signature` checks it
with the ``cryptography`` package when that is installed.

numpy and Pillow are imported inside the functions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from provenance.evidence import Evidence, RawField, ReadIssue, ReadResult
from provenance.unicode import valid_json

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL import Image

__all__ = [
    "MAGICS",
    "NOVELAI_PUBLIC_KEY",
    "extract_bits",
    "read",
    "verify_novelai_signature",
]

SOURCE: Final = "watermark"
FIELD: Final = "alpha-lsb"
SIGNATURE_FIELD: Final = "novelai-signature"

#: magic -> (bit source, gzip-compressed)
MAGICS: Final[Mapping[bytes, tuple[str, bool]]] = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
MAGIC_BITS: Final = 15 * 8
HEADER_BITS: Final = MAGIC_BITS + 32

#: Largest decompressed (or plain) payload read, in bytes.
MAX_PAYLOAD_BYTES: Final = 1024 * 1024
#: Longest text kept in an Evidence value, in UTF-8 bytes.
MAX_VALUE_BYTES: Final = 64 * 1024

#: NovelAI's Ed25519 public key (base64), as published in nai_sig.py.
NOVELAI_PUBLIC_KEY: Final = "Y2JcQAOhLwzwSDUJPNgL04nS0Tbqm7cSRc4xk0vRMic="

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------
# Format gate
# --------------------------------------------------------------------------


def _webp_chunks(data: bytes) -> set[bytes]:
    """FourCCs of the top-level chunks of a RIFF/WebP file."""
    found: set[bytes] = set()
    pos = 12
    while pos + 8 <= len(data) and len(found) < 64:
        fourcc = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        found.add(fourcc)
        pos += 8 + size + (size & 1)
    return found


def _modes_for(data: bytes) -> tuple[str, ...]:
    """Bit sources that can survive in this file's format (empty: none)."""
    if data.startswith(_PNG_SIGNATURE):
        return ("alpha", "rgb")
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        chunks = _webp_chunks(data)
        if b"VP8L" in chunks:
            return ("alpha", "rgb")
        if b"ALPH" in chunks:
            # Lossy colour with a (normally lossless) alpha plane.
            return ("alpha",)
    return ()


# --------------------------------------------------------------------------
# Bit extraction
# --------------------------------------------------------------------------


def extract_bits(plane: NDArray[np.uint8], start: int, count: int) -> bytes:
    """Bytes formed from LSBs ``start .. start+count`` of a pixel plane.

    ``plane`` is HxW (alpha mode: one bit per pixel) or HxWx3 (rgb mode:
    the R, G and B bits of each pixel in turn); pixels are taken in
    column-major order and bits grouped MSB first. ``count`` must be a
    multiple of 8 and the bits must exist.
    """
    import numpy as np

    height = plane.shape[0]
    per_pixel = 1 if plane.ndim == 2 else plane.shape[2]
    per_column = height * per_pixel
    end = start + count
    columns = -(-end // per_column)
    if plane.ndim == 2:
        seq = plane[:, :columns].T.reshape(-1)
    else:
        seq = plane[:, :columns, :].transpose(1, 0, 2).reshape(-1)
    bits = seq[start:end] & 1
    return bytes(np.packbits(bits).tobytes())


def _capacity(plane: NDArray[np.uint8]) -> int:
    return int(plane.size)


# --------------------------------------------------------------------------
# Payload decoding
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Payload:
    magic: str
    mode: str
    text: str | None
    issues: tuple[ReadIssue, ...]


def _gunzip(raw: bytes, limit: int) -> tuple[bytes, list[ReadIssue]]:
    """Inflate a gzip stream, never producing more than ``limit`` bytes."""
    issues: list[ReadIssue] = []
    if not raw.startswith(b"\x1f\x8b"):
        issues.append(ReadIssue("stealth-invalid", "stealth payload marked compressed is not gzip", SOURCE))
        return b"", issues
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        issues.append(ReadIssue("stealth-invalid", f"stealth payload does not inflate: {exc}", SOURCE))
        return b"", issues
    if len(out) > limit:
        issues.append(
            ReadIssue(
                "limit-exceeded",
                f"stealth payload inflates to more than {limit} bytes; only the first {limit} were read",
                SOURCE,
            )
        )
        return out[:limit], issues
    if not inflater.eof:
        issues.append(ReadIssue("truncated", "stealth gzip stream ends early; text may be incomplete", SOURCE))
    return out, issues


def _decode_payload(plane: NDArray[np.uint8], magic: bytes, limit: int) -> _Payload:
    """Read the length field and payload after a matched magic."""
    mode, compressed = MAGICS[magic]
    name = magic.decode("ascii")
    issues: list[ReadIssue] = []
    header = extract_bits(plane, MAGIC_BITS, 32)
    declared_bits = int.from_bytes(header, "big")
    available = (_capacity(plane) - HEADER_BITS) // 8
    nbytes = declared_bits // 8
    if nbytes > available:
        issues.append(
            ReadIssue(
                "truncated",
                f"{name} declares {declared_bits} bits but the picture holds only {available * 8} more",
                SOURCE,
            )
        )
        nbytes = available
    # A compressed payload cannot be larger than the picture; a plain one is
    # the text itself and is capped like the inflated text.
    if not compressed and nbytes > limit:
        issues.append(
            ReadIssue("limit-exceeded", f"{name} text is {nbytes} bytes; only the first {limit} were read", SOURCE)
        )
        nbytes = limit
    raw = extract_bits(plane, HEADER_BITS, nbytes * 8) if nbytes > 0 else b""
    if compressed:
        raw, more = _gunzip(raw, limit)
        issues.extend(more)
        if not raw and more:
            return _Payload(name, mode, None, tuple(issues))
    return _Payload(name, mode, raw.decode("utf-8", errors="replace"), tuple(issues))


def _find_payload(image: Image.Image, modes: tuple[str, ...], limit: int) -> tuple[_Payload | None, Image.Image]:
    """Try the alpha source, then the rgb source; stop at the first magic."""
    import numpy as np

    rgba = image
    if "alpha" in modes:
        if image.mode not in ("RGBA", "LA", "PA") and "transparency" in image.info:
            rgba = image.convert("RGBA")
        if "A" in rgba.getbands():
            alpha = np.asarray(rgba.getchannel("A"), dtype=np.uint8)
            found = _match_magic(alpha, "alpha")
            if found is not None:
                return _decode_payload(alpha, found, limit), rgba
    if "rgb" in modes and image.mode not in ("1", "L", "LA", "I", "I;16", "F"):
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
        found = _match_magic(rgb, "rgb")
        if found is not None:
            return _decode_payload(rgb, found, limit), rgba
    return None, rgba


def _match_magic(plane: NDArray[np.uint8], mode: str) -> bytes | None:
    """The magic of ``mode`` found at the start of ``plane``, if any."""
    if _capacity(plane) < HEADER_BITS:
        return None
    head = extract_bits(plane, 0, MAGIC_BITS)
    entry = MAGICS.get(head)
    if entry is None or entry[0] != mode:
        return None
    return head


# --------------------------------------------------------------------------
# NovelAI JSON and signature
# --------------------------------------------------------------------------


def _parse_json_object(text: str) -> dict[str, Any] | None:
    """The text as a JSON object, or None."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _novelai_comment(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The parsed NovelAI ``Comment`` object (one nesting level unwrapped).

    Mirrors nai_sig.py: if the parsed Comment has a ``Comment`` key of its
    own, that inner string is the object that was signed.
    """
    comment = obj.get("Comment")
    if not isinstance(comment, str):
        return None
    parsed = _parse_json_object(comment)
    if parsed is not None and isinstance(parsed.get("Comment"), str):
        inner = _parse_json_object(parsed["Comment"])
        if inner is not None:
            return inner
    return parsed


def signed_message(rgb_bytes: bytes, comment: Mapping[str, Any]) -> bytes:
    """The bytes NovelAI signs: RGB pixels, then the Comment JSON without the signature."""
    unsigned = {k: v for k, v in comment.items() if k != "signed_hash"}
    return rgb_bytes + json.dumps(unsigned).encode("utf-8")


def verify_novelai_signature(
    rgb_bytes: bytes, comment: Mapping[str, Any], public_key: str = NOVELAI_PUBLIC_KEY
) -> bool | None:
    """Check ``comment['signed_hash']`` over the picture and the Comment.

    ``rgb_bytes``: the picture's RGB bytes, row-major, 3 per pixel.
    Returns True (valid), False (invalid or malformed signature), or None
    when the ``cryptography`` package is not installed.
    """
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    signature_text = comment.get("signed_hash")
    if not isinstance(signature_text, str):
        return False
    try:
        signature = base64.b64decode(signature_text.encode("utf-8"))
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(signature, signed_message(rgb_bytes, comment))
    except (InvalidSignature, ValueError):
        return False
    return True


def _signature_result(payload: _Payload, image: Image.Image, comment: Mapping[str, Any]) -> Evidence | RawField:
    location = f"alpha channel LSB ({payload.magic}), Comment.signed_hash"
    if image.mode != "RGBA":
        return RawField(SOURCE, SIGNATURE_FIELD, f"not checked: picture mode is {image.mode}, NovelAI signs RGBA")
    rgb_bytes = image.convert("RGB").tobytes()
    public_key = NOVELAI_PUBLIC_KEY
    verdict = verify_novelai_signature(rgb_bytes, comment, public_key)
    if verdict is None:
        return RawField(SOURCE, SIGNATURE_FIELD, "not checked: the 'cryptography' package is not installed")
    return Evidence(
        source=SOURCE,
        field=SIGNATURE_FIELD,
        value="verified" if verdict else "failed",
        location=location,
        data={
            "algorithm": "Ed25519",
            "public_key": public_key,
            "signed": "RGB pixel bytes + json.dumps(Comment without signed_hash)",
            "message_sha256": hashlib.sha256(signed_message(rgb_bytes, comment)).hexdigest(),
        },
    )


# --------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def _open(data: bytes, max_pixels: int | None) -> tuple[Image.Image | None, ReadIssue | None]:
    """Open and fully decode the picture under Pillow's bomb guard."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if Image.MAX_IMAGE_PIXELS is not None and limit is not None:
        limit = min(limit, Image.MAX_IMAGE_PIXELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if limit is not None and width * height > limit:
                image.close()
                return None, ReadIssue(
                    "limit-exceeded",
                    f"image too large to decode: {width}x{height} over {limit} pixels; stealth check not run",
                    SOURCE,
                )
            try:
                image.load()
            except Exception:
                image.close()
                raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            return None, ReadIssue("limit-exceeded", f"stealth check not run: {exc}", SOURCE)
    return image, None


def _evidence_for(payload: _Payload, text: str, image: Image.Image) -> list[Evidence | RawField]:
    """Evidence for recovered text: the text, its JSON, the NovelAI signature."""
    where = "alpha channel LSB" if payload.mode == "alpha" else "RGB LSB"
    out: list[Evidence | RawField] = [
        RawField(SOURCE, FIELD, f"{payload.magic}: {len(text.encode('utf-8'))} bytes of text")
    ]
    data: dict[str, Any] | None = _parse_json_object(text)
    comment = None
    if data is not None:
        comment = _novelai_comment(data)
        if comment is not None:
            data["Comment_json"] = comment
    out.insert(
        0,
        Evidence(
            source=SOURCE,
            field=FIELD,
            value=_truncate_utf8(text, MAX_VALUE_BYTES),
            location=f"{where} ({payload.magic})",
            data=valid_json(data, text),  # a copy if it changes: the signature is checked on what was read
        ),
    )
    if comment is not None and "signed_hash" in comment and payload.mode == "alpha":
        out.append(_signature_result(payload, image, comment))
    return out


def read(
    data: bytes, media_type: str, *, max_pixels: int | None = None, max_payload: int = MAX_PAYLOAD_BYTES
) -> ReadResult:
    """Recover stealth metadata: :func:`read_checked` without the completion flag."""
    return read_checked(data, media_type, max_pixels=max_pixels, max_payload=max_payload)[0]


def read_checked(
    data: bytes, media_type: str, *, max_pixels: int | None = None, max_payload: int = MAX_PAYLOAD_BYTES
) -> tuple[ReadResult, bool]:
    """Recover stealth LSB metadata from a PNG or lossless WebP picture.

    Returns an Evidence item (field ``alpha-lsb``) with the recovered text,
    its parsed JSON object in ``data`` (plus ``Comment_json``, the parsed
    NovelAI Comment), and for NovelAI payloads a ``novelai-signature``
    item. Other formats give an empty result; problems become ReadIssues.
    The flag says whether the pixels were looked at: ``False`` when they
    were not decoded (over the pixel limit, undecodable), which an issue says.
    """
    del media_type  # the format is sniffed from the bytes
    modes = _modes_for(data)
    if not modes:
        return ReadResult(), True
    try:
        image, issue = _open(data, max_pixels)
        if image is None:
            return ReadResult(issues=(issue,) if issue is not None else ()), False
        with image:
            payload, pixels = _find_payload(image, modes, max_payload)
            if payload is None:
                return ReadResult(), True
            items = _evidence_for(payload, payload.text, pixels) if payload.text is not None else []
    except Exception as exc:  # a reader never raises
        return ReadResult(
            issues=(ReadIssue("watermark-error", f"stealth check failed: {type(exc).__name__}: {exc}", SOURCE),)
        ), False
    evidence = tuple(i for i in items if isinstance(i, Evidence))
    raw = tuple(i for i in items if isinstance(i, RawField))
    if payload.text is None:
        raw += (RawField(SOURCE, FIELD, f"{payload.magic}: header found, payload unreadable"),)
    return ReadResult(evidence=evidence, issues=payload.issues, raw=raw), True
