"""Tests for the stealth LSB metadata reader (NovelAI / A1111 stealth-pnginfo).

All pictures are synthetic; the stealth encoder below follows the published
layout (column-major, MSB first, 15-byte magic, 32-bit length in bits).
"""

from __future__ import annotations

import base64
import gzip
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from provenance.read import stealth

A1111_PARAMETERS = (
    "a watercolour lighthouse at dusk, soft light\n"
    "Negative prompt: blurry\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: 512x512, "
    "Model hash: 0123456789, Model: testmodel, Version: v1.9.4"
)


def novelai_like(signed_hash: str | None = None, extra: dict[str, object] | None = None) -> dict[str, object]:
    comment: dict[str, object] = {
        "prompt": "a paper boat on a pond",
        "steps": 28,
        "height": 320,
        "width": 256,
        "scale": 5.0,
        "seed": 42,
        "sampler": "k_euler_ancestral",
        "uc": "lowres",
        "request_type": "PromptGenerateRequest",
    }
    comment.update(extra or {})
    if signed_hash is not None:
        comment["signed_hash"] = signed_hash
    return {
        "Description": "a paper boat on a pond",
        "Software": "NovelAI",
        "Source": "NovelAI Diffusion V4.5 4BDE2A90",
        "Generation time": "3.2",
        "Comment": json.dumps(comment),
    }


# --------------------------------------------------------------------------
# A stealth encoder (test side)
# --------------------------------------------------------------------------


def stealth_embed(pixels: np.ndarray, payload: bytes, magic: str, nai_style: bool = True) -> np.ndarray:
    """Write ``magic + len_bits + payload`` into the LSBs, column-major, MSB first.

    ``pixels`` is HxWx4 for the alpha magics (NovelAI style: data pixels
    become 0xFE|bit, the rest 0xFF) or HxWx3/4 for the rgb magics.
    """
    out = pixels.copy()
    header = magic.encode("ascii") + (len(payload) * 8).to_bytes(4, "big")
    bits = np.unpackbits(np.frombuffer(header + payload, dtype=np.uint8))
    h, w = out.shape[:2]
    if magic.startswith("stealth_png"):
        seq = out[..., 3].T.reshape(-1).copy()
        assert bits.size <= seq.size, "picture too small for the payload"
        if nai_style:
            seq[:] = 0xFF
            seq[: bits.size] = 0xFE | bits
        else:
            seq[: bits.size] = (seq[: bits.size] & 0xFE) | bits
        out[..., 3] = seq.reshape(w, h).T
    else:
        seq = out[..., :3].transpose(1, 0, 2).reshape(-1).copy()
        assert bits.size <= seq.size, "picture too small for the payload"
        seq[: bits.size] = (seq[: bits.size] & 0xFE) | bits
        out[..., :3] = seq.reshape(w, h, 3).transpose(1, 0, 2)
    return out


def picture(h: int = 320, w: int = 256, channels: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256], -1)
    rgb = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    if channels == 3:
        return rgb
    return np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=-1)


def encode(pixels: np.ndarray, fmt: str = "PNG", **save: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt, **save)
    return buf.getvalue()


def the_text(result: stealth.ReadResult) -> str:
    (evidence,) = [e for e in result.evidence if e.field == "alpha-lsb"]
    return evidence.value


# --------------------------------------------------------------------------
# Recovery
# --------------------------------------------------------------------------


@pytest.mark.parametrize("magic", ["stealth_pnginfo", "stealth_pngcomp", "stealth_rgbinfo", "stealth_rgbcomp"])
def test_a1111_parameters_round_trip(magic: str) -> None:
    payload = A1111_PARAMETERS.encode("utf-8")
    if magic.endswith("comp"):
        payload = gzip.compress(payload)
    channels = 4 if magic.startswith("stealth_png") else 3
    data = encode(stealth_embed(picture(channels=channels), payload, magic))
    result = stealth.read(data, "image/png")
    assert result.issues == ()
    (evidence,) = result.evidence
    assert evidence.source == "watermark" and evidence.field == "alpha-lsb"
    assert evidence.value == A1111_PARAMETERS
    where = "alpha channel LSB" if channels == 4 else "RGB LSB"
    assert evidence.location == f"{where} ({magic})"
    assert evidence.data is None


def test_rgb_magic_in_rgba_picture() -> None:
    data = encode(stealth_embed(picture(), gzip.compress(b"hello rgb"), "stealth_rgbcomp"))
    assert the_text(stealth.read(data, "image/png")) == "hello rgb"


def test_novelai_json_payload_is_parsed() -> None:
    meta = novelai_like()
    data = encode(stealth_embed(picture(), gzip.compress(json.dumps(meta).encode()), "stealth_pngcomp"))
    result = stealth.read(data, "image/png")
    (evidence,) = result.evidence
    assert evidence.location == "alpha channel LSB (stealth_pngcomp)"
    assert evidence.data["Software"] == "NovelAI"
    assert evidence.data["Comment"] == meta["Comment"]
    assert evidence.data["Comment_json"]["sampler"] == "k_euler_ancestral"
    assert json.loads(evidence.value) == meta


def test_lossless_webp_round_trip() -> None:
    pixels = stealth_embed(picture(), gzip.compress(A1111_PARAMETERS.encode()), "stealth_pngcomp")
    data = encode(pixels, "WEBP", lossless=True, exact=True)
    assert the_text(stealth.read(data, "image/webp")) == A1111_PARAMETERS


def test_lossy_formats_are_skipped() -> None:
    pixels = stealth_embed(picture(channels=3), A1111_PARAMETERS.encode(), "stealth_rgbinfo")
    assert stealth.read(encode(pixels, "JPEG", quality=100), "image/jpeg") == stealth.ReadResult()
    assert stealth.read(encode(pixels, "WEBP", quality=90), "image/webp") == stealth.ReadResult()


def test_no_magic_gives_nothing() -> None:
    assert stealth.read(encode(picture()), "image/png") == stealth.ReadResult()
    assert stealth.read(encode(picture(channels=3)), "image/png") == stealth.ReadResult()
    grey = Image.fromarray(picture(channels=3)).convert("L")
    buf = io.BytesIO()
    grey.save(buf, "PNG")
    assert stealth.read(buf.getvalue(), "image/png") == stealth.ReadResult()


def test_palette_with_transparency_and_la() -> None:
    pixels = stealth_embed(picture(64, 64), b"tiny", "stealth_pnginfo")
    la = Image.fromarray(pixels).convert("LA")
    arr = np.asarray(la).copy()
    arr[..., 1] = pixels[..., 3]
    buf = io.BytesIO()
    Image.fromarray(arr, "LA").save(buf, "PNG")
    assert the_text(stealth.read(buf.getvalue(), "image/png")) == "tiny"


def test_long_text_is_truncated_in_the_value() -> None:
    text = "x" * (100 * 1024)
    data = encode(stealth_embed(picture(512, 512), gzip.compress(text.encode()), "stealth_pngcomp"))
    result = stealth.read(data, "image/png")
    assert len(the_text(result).encode()) == stealth.MAX_VALUE_BYTES
    assert result.issues == ()


# --------------------------------------------------------------------------
# Hostile input
# --------------------------------------------------------------------------


def test_declared_length_beyond_picture() -> None:
    pixels = stealth_embed(picture(64, 64), b"short text", "stealth_pnginfo")
    # Rewrite the length field (bits 120..151) to 0xFFFFFFFF.
    seq = pixels[..., 3].T.reshape(-1).copy()
    seq[120:152] |= 1
    pixels[..., 3] = seq.reshape(64, 64).T
    result = stealth.read(encode(pixels), "image/png")
    assert "truncated" in [i.kind for i in result.issues]
    assert the_text(result).startswith("short text")


def test_truncated_gzip() -> None:
    payload = gzip.compress(A1111_PARAMETERS.encode() * 20)
    pixels = stealth_embed(picture(), payload[: len(payload) // 2], "stealth_pngcomp")
    result = stealth.read(encode(pixels), "image/png")
    assert "truncated" in [i.kind for i in result.issues]


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip.compress(b"A" * (20 * 1024 * 1024), 9)  # ~20 KB that inflates to 20 MiB
    pixels = stealth_embed(picture(512, 512), bomb, "stealth_pngcomp")
    result = stealth.read(encode(pixels), "image/png")
    assert [i.kind for i in result.issues] == ["limit-exceeded"]
    assert len(the_text(result)) == stealth.MAX_VALUE_BYTES


def test_compressed_magic_with_garbage() -> None:
    for payload in (b"not gzip at all", b"\x1f\x8b\x08\x00" + b"\xff" * 40):
        pixels = stealth_embed(picture(), payload, "stealth_pngcomp")
        result = stealth.read(encode(pixels), "image/png")
        assert "stealth-invalid" in [i.kind for i in result.issues]
        assert result.evidence == ()
        assert result.raw


def test_pixel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(stealth_embed(picture(), b"x", "stealth_pnginfo"))
    assert [i.kind for i in stealth.read(data, "image/png", max_pixels=100).issues] == ["limit-exceeded"]
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 320 * 256 - 1)
    assert [i.kind for i in stealth.read(data, "image/png").issues] == ["limit-exceeded"]


def test_broken_png_becomes_an_issue() -> None:
    data = encode(stealth_embed(picture(), b"x", "stealth_pnginfo"))
    result = stealth.read(data[: len(data) // 3], "image/png")
    assert [i.kind for i in result.issues] == ["watermark-error"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.binary(min_size=0, max_size=64),
    st.sampled_from([None, "stealth_pnginfo", "stealth_pngcomp", "stealth_rgbinfo", "stealth_rgbcomp"]),
    st.integers(0, 2**32 - 1),
    st.randoms(use_true_random=False),
)
def test_random_rgba_never_crashes(h: int, w: int, tail: bytes, magic: str | None, length: int, rnd: object) -> None:
    rng = np.random.default_rng(rnd.getrandbits(32))  # type: ignore[attr-defined]
    pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    if magic is not None:
        bits = np.unpackbits(np.frombuffer(magic.encode() + length.to_bytes(4, "big") + tail, dtype=np.uint8))
        if magic.startswith("stealth_png"):
            seq = pixels[..., 3].T.reshape(-1).copy()
            n = min(bits.size, seq.size)
            seq[:n] = (seq[:n] & 0xFE) | bits[:n]
            pixels[..., 3] = seq.reshape(w, h).T
        else:
            seq = pixels[..., :3].transpose(1, 0, 2).reshape(-1).copy()
            n = min(bits.size, seq.size)
            seq[:n] = (seq[:n] & 0xFE) | bits[:n]
            pixels[..., :3] = seq.reshape(w, h, 3).transpose(1, 0, 2)
    result = stealth.read(encode(pixels), "image/png")
    assert isinstance(result, stealth.ReadResult)
    assert all(i.source == "watermark" for i in result.issues)
    assert "watermark-error" not in [i.kind for i in result.issues]


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    for prefix in (b"", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8L"):
        assert isinstance(stealth.read(prefix + data, "image/png"), stealth.ReadResult)


# --------------------------------------------------------------------------
# NovelAI signature
# --------------------------------------------------------------------------

ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")


def signed_picture(key: object, tamper: bool = False) -> bytes:
    """A NovelAI-style picture whose Comment is signed with ``key``."""
    pixels = picture(seed=3)
    meta = novelai_like()
    comment = json.loads(meta["Comment"])  # type: ignore[arg-type]
    message = pixels[:, :, :3].tobytes() + json.dumps(comment).encode("utf-8")
    comment["signed_hash"] = base64.b64encode(key.sign(message)).decode()  # type: ignore[attr-defined]
    meta["Comment"] = json.dumps(comment)
    if tamper:
        pixels[10, 10, 0] ^= 0x10
    return encode(stealth_embed(pixels, gzip.compress(json.dumps(meta).encode()), "stealth_pngcomp"))


def public_b64(key: object) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)  # type: ignore[attr-defined]
    return base64.b64encode(raw).decode()


def signature(result: stealth.ReadResult) -> str:
    (evidence,) = [e for e in result.evidence if e.field == "novelai-signature"]
    return evidence.value


def test_novelai_signature_verifies_with_matching_key(monkeypatch: pytest.MonkeyPatch) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    monkeypatch.setattr(stealth, "NOVELAI_PUBLIC_KEY", public_b64(key))
    result = stealth.read(signed_picture(key), "image/png")
    assert signature(result) == "verified"
    assert stealth.read(signed_picture(key, tamper=True), "image/png").evidence[-1].value == "failed"


def test_novelai_signature_from_another_key_fails() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    result = stealth.read(signed_picture(key), "image/png")
    assert signature(result) == "failed"
    (sig,) = [e for e in result.evidence if e.field == "novelai-signature"]
    assert sig.data["public_key"] == "Y2JcQAOhLwzwSDUJPNgL04nS0Tbqm7cSRc4xk0vRMic="


def test_malformed_signature_fails() -> None:
    for bad in ("", "!!!", base64.b64encode(b"short").decode()):
        comment = {"prompt": "x", "signed_hash": bad}
        assert stealth.verify_novelai_signature(b"\x00" * 12, comment) is False


def test_signed_message_layout() -> None:
    comment = {"b": 1, "signed_hash": "zz", "a": "é"}
    assert stealth.signed_message(b"RGB", comment) == b'RGB{"b": 1, "a": "\\u00e9"}'


def test_nested_comment_is_unwrapped() -> None:
    inner = {"prompt": "y", "signed_hash": "abc"}
    outer = {"Comment": json.dumps({"Comment": json.dumps(inner)})}
    assert stealth._novelai_comment(outer) == inner
