"""Test helpers: a numpy/PyWavelets ``dwtDct`` encoder and benign test pictures.

The encoder mirrors ``imwatermark.maxDct.EmbedMaxDct.encode`` on the
``uint8`` path that CompVis' ``put_watermark`` uses, operation for operation:

* BGR -> YUV with OpenCV's 8-bit fixed-point formula (checked against
  ``cv2.cvtColor`` over all 2**24 colours while writing this file);
* one haar level on U cropped to ``rows//4*4 x cols//4*4``;
* per 4x4 block of cA, the largest-magnitude coefficient among flat
  positions 1..15 gets ``sign * (|v|//36 + 0.25 + 0.5*bit) * 36``;
* ``pywt.idwt2`` with the H and V detail bands swapped (an upstream quirk),
  written back into the ``uint8`` plane by plain numpy assignment;
* YUV -> BGR with OpenCV's 8-bit fixed-point formula.

The picture generators only draw gradients, noise, shapes and text.
Everything is deterministic for a given seed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import pywt
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from provenance.read.watermark import PAYLOADS, Payload

U8 = NDArray[np.uint8]

_SHIFT = 14
_HALF = 1 << (_SHIFT - 1)
SCALE = 36
BLOCK = 4

PAYLOAD_BY_KEY: dict[str, Payload] = {p.key: p for p in PAYLOADS}


# --------------------------------------------------------------------------
# OpenCV colour conversions for uint8 (COLOR_BGR2YUV / COLOR_YUV2BGR)
# --------------------------------------------------------------------------


def bgr_to_yuv(bgr: U8) -> U8:
    """``cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)`` for ``uint8`` input."""
    b = bgr[..., 0].astype(np.int32)
    g = bgr[..., 1].astype(np.int32)
    r = bgr[..., 2].astype(np.int32)
    y = (b * 1868 + g * 9617 + r * 4899 + _HALF) >> _SHIFT
    u = ((b - y) * 8061 + (128 << _SHIFT) + _HALF) >> _SHIFT
    v = ((r - y) * 14369 + (128 << _SHIFT) + _HALF) >> _SHIFT
    return np.clip(np.stack([y, u, v], axis=-1), 0, 255).astype(np.uint8)


def yuv_to_bgr(yuv: U8) -> U8:
    """``cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)`` for ``uint8`` input."""
    y = yuv[..., 0].astype(np.int32)
    u = yuv[..., 1].astype(np.int32) - 128
    v = yuv[..., 2].astype(np.int32) - 128
    b = y + ((u * 33292 + _HALF) >> _SHIFT)
    g = y + ((u * -6472 + v * -9519 + _HALF) >> _SHIFT)
    r = y + ((v * 18678 + _HALF) >> _SHIFT)
    return np.clip(np.stack([b, g, r], axis=-1), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------
# Encoder
# --------------------------------------------------------------------------


def _embed_frame(c_a: NDArray[np.float64], bits: Sequence[int]) -> None:
    """Quantise one coefficient per 4x4 block of ``c_a`` in place."""
    rows, cols = c_a.shape
    nbr, nbc = rows // BLOCK, cols // BLOCK
    if nbr == 0 or nbc == 0:
        return
    view = c_a[: nbr * BLOCK, : nbc * BLOCK]
    blocks = view.reshape(nbr, BLOCK, nbc, BLOCK).transpose(0, 2, 1, 3)
    flat = blocks.reshape(-1, BLOCK * BLOCK).copy()
    pos = np.abs(flat[:, 1:]).argmax(axis=1) + 1
    rows_idx = np.arange(flat.shape[0])
    val = flat[rows_idx, pos]
    wm = np.asarray(bits, dtype=np.float64)[rows_idx % len(bits)]
    mag = (np.floor_divide(np.abs(val), SCALE) + 0.25 + 0.5 * wm) * SCALE
    flat[rows_idx, pos] = np.where(val >= 0.0, mag, -1.0 * mag)
    blocks_out = flat.reshape(nbr, nbc, BLOCK, BLOCK).transpose(0, 2, 1, 3)
    view[...] = blocks_out.reshape(nbr * BLOCK, nbc * BLOCK)


def embed_dwtdct(rgb: U8, bits: Sequence[int], swap: bool = False) -> U8:
    """Return a copy of ``rgb`` carrying ``bits`` as the ``dwtDct`` mark.

    ``swap=False``: the CompVis way (RGB flipped to BGR, encoded, flipped
    back). ``swap=True``: the RGB array is handed over as if it were BGR, the
    way diffusers does it (on the ``uint8`` path here).
    """
    bgr = rgb if swap else rgb[..., ::-1]
    rows, cols = bgr.shape[:2]
    if rows * cols < 256 * 256:
        raise ValueError("the reference encoder refuses images below 256x256")
    yuv = bgr_to_yuv(bgr)
    r4, c4 = rows // 4 * 4, cols // 4 * 4
    c_a, (h1, v1, d1) = pywt.dwt2(yuv[:r4, :c4, 1], "haar")
    _embed_frame(c_a, bits)
    # Plain assignment of the float result into the uint8 plane, as upstream.
    yuv[:r4, :c4, 1] = pywt.idwt2((c_a, (v1, h1, d1)), "haar")
    out = yuv_to_bgr(yuv)
    return np.ascontiguousarray(out if swap else out[..., ::-1])


def embed_dwtdct_float(rgb: U8, bits: Sequence[int], swap: bool = True) -> U8:
    """Embed the way the real SDXL code calls the encoder: float32 pixels.

    ``swap=True`` mimics diffusers' ``StableDiffusionXLWatermarker`` (RGB
    float32 handed over as if BGR); ``swap=False`` mimics Stability's
    ``WatermarkEmbedder`` (flipped to BGR first). ``cv2.cvtColor`` on float
    input uses offset 0.5 instead of 128 and does not round; the result is
    rounded to ``uint8`` at the end, as the pipelines' post-processing does.
    Not bit-exact with OpenCV's float code (that is not needed: the file
    keeps only the rounded pixels).
    """
    arr = (rgb if swap else rgb[..., ::-1]).astype(np.float32)
    b, g, r = arr[..., 0], arr[..., 1], arr[..., 2]
    y = np.float32(0.299) * r + np.float32(0.587) * g + np.float32(0.114) * b
    u = (b - y) * np.float32(0.492) + np.float32(0.5)
    v = (r - y) * np.float32(0.877) + np.float32(0.5)
    rows, cols = u.shape
    r4, c4 = rows // 4 * 4, cols // 4 * 4
    c_a, (h1, v1, d1) = pywt.dwt2(u[:r4, :c4], "haar")
    c_a = c_a.astype(np.float64)
    _embed_frame(c_a, bits)
    u = u.copy()
    u[:r4, :c4] = pywt.idwt2((c_a.astype(np.float32), (v1, h1, d1)), "haar")
    b2 = y + (u - np.float32(0.5)) * np.float32(2.032)
    g2 = y + (u - np.float32(0.5)) * np.float32(-0.395) + (v - np.float32(0.5)) * np.float32(-0.581)
    r2 = y + (v - np.float32(0.5)) * np.float32(1.140)
    out = np.clip(np.rint(np.stack([b2, g2, r2], axis=-1)), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out if swap else out[..., ::-1])


def embed_payload(rgb: U8, key: str, swap: bool = False, *, float_input: bool = False) -> U8:
    """Embed one of the published payloads (``sdxl``, ``sdv1``, ``sdv2``)."""
    if float_input:
        return embed_dwtdct_float(rgb, PAYLOAD_BY_KEY[key].bits, swap)
    return embed_dwtdct(rgb, PAYLOAD_BY_KEY[key].bits, swap)


# --------------------------------------------------------------------------
# Benign synthetic pictures
# --------------------------------------------------------------------------


def _u8(a: NDArray[np.floating] | NDArray[np.integer]) -> U8:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def linear_gradient(h: int, w: int, rng: np.random.Generator) -> U8:
    """A two-colour gradient at a random angle."""
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    t = xx * np.cos(angle) + yy * np.sin(angle)
    t = (t - t.min()) / max(float(np.ptp(t)), 1.0)
    return _u8(c0 + (c1 - c0) * t[..., None])


def white_noise(h: int, w: int, rng: np.random.Generator) -> U8:
    """Gaussian RGB noise around a random grey level."""
    sigma = rng.uniform(5, 60)
    return _u8(rng.normal(rng.uniform(60, 200), sigma, (h, w, 3)))


def value_noise(h: int, w: int, rng: np.random.Generator) -> U8:
    """Random colour lattice enlarged with bicubic interpolation."""
    cell = int(rng.choice([4, 8, 16, 32, 64]))
    small = rng.integers(0, 256, (max(2, h // cell), max(2, w // cell), 3))
    img = Image.fromarray(small.astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(img, dtype=np.uint8).copy()


def pink_noise(h: int, w: int, rng: np.random.Generator) -> U8:
    """Photo-like 1/f colour noise."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = 1.0 / f ** rng.uniform(0.8, 1.4)
    amp[0, 0] = 0.0
    chans = []
    for _ in range(3):
        spec = amp * np.exp(2j * np.pi * rng.random(amp.shape))
        chan = np.fft.irfft2(spec, s=(h, w))
        chans.append(chan / (chan.std() + 1e-9))
    mix = rng.normal(0, 1, (3, 3)) * 0.3 + np.eye(3)
    img = np.stack(chans, -1) @ mix.T
    return _u8(rng.uniform(90, 160) + rng.uniform(20, 50) * img)


def shapes(h: int, w: int, rng: np.random.Generator) -> U8:
    """Flat rectangles and ellipses on a gradient."""
    img = Image.fromarray(linear_gradient(h, w, rng))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 15))):
        x0, x1 = sorted(rng.integers(0, w, 2).tolist())
        y0, y1 = sorted(rng.integers(0, h, 2).tolist())
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    return np.asarray(img, dtype=np.uint8).copy()


def text_card(h: int, w: int, rng: np.random.Generator) -> U8:
    """Rendered text over a gradient with mild noise."""
    base = linear_gradient(h, w, rng).astype(np.float64)
    base += rng.normal(0, rng.uniform(0, 8), base.shape)
    img = Image.fromarray(_u8(base))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=float(rng.integers(12, 48)))
    words = ["provenance", "gradient", "test card", "hello", "0123456789", "shapes"]
    for _ in range(int(rng.integers(3, 12))):
        pos = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.text(pos, str(rng.choice(words)), fill=colour, font=font)
    return np.asarray(img, dtype=np.uint8).copy()


def flat(h: int, w: int, rng: np.random.Generator) -> U8:
    """One flat colour."""
    return np.broadcast_to(rng.integers(0, 256, 3).astype(np.uint8), (h, w, 3)).copy()


def camera_like(h: int, w: int, rng: np.random.Generator) -> U8:
    """Blurred scene-like content plus sensor noise and a vignette."""
    base = pink_noise(h, w, rng).astype(np.float64) * 0.6
    base += shapes(h, w, rng).astype(np.float64) * 0.4
    img = Image.fromarray(_u8(base)).filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 2.5))))
    arr = np.asarray(img, dtype=np.float64)
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((yy - h / 2) / h) ** 2 + ((xx - w / 2) / w) ** 2
    arr = arr * (1.0 - rng.uniform(0, 0.6) * r2)[..., None]
    arr += rng.normal(0, rng.uniform(0.5, 4), arr.shape)
    return _u8(arr)


def textured(h: int, w: int, rng: np.random.Generator) -> U8:
    """Gradient with fine texture: the kind of content the mark survives in."""
    base = linear_gradient(h, w, rng).astype(np.float64) * 0.5
    base += value_noise(h, w, rng).astype(np.float64) * 0.5
    base += rng.normal(0, rng.uniform(4, 12), base.shape)
    return _u8(base)


def gratings(h: int, w: int, rng: np.random.Generator) -> U8:
    """Sums of sinusoidal gratings (fabric, blinds, brick-like textures)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    acc = np.zeros((h, w, 3))
    for _ in range(int(rng.integers(1, 4))):
        period = rng.choice([rng.uniform(2, 64), float(rng.choice([4, 8, 16, 32]))])
        angle = rng.choice([0.0, np.pi / 2, rng.uniform(0, np.pi)])
        phase = xx * np.cos(angle) + yy * np.sin(angle)
        wave = np.sin(2 * np.pi * phase / period + rng.uniform(0, 2 * np.pi))
        acc += wave[..., None] * rng.uniform(-60, 60, 3)
    return _u8(rng.uniform(80, 170, 3) + acc)


Generator = Callable[[int, int, np.random.Generator], U8]

GENERATORS: dict[str, Generator] = {
    "gradient": linear_gradient,
    "white_noise": white_noise,
    "value_noise": value_noise,
    "pink_noise": pink_noise,
    "shapes": shapes,
    "text": text_card,
    "flat": flat,
    "camera": camera_like,
    "textured": textured,
    "gratings": gratings,
}


def jpeg_roundtrip(rgb: U8, quality: int, subsampling: int = 2) -> U8:
    """Encode as JPEG in memory with Pillow and decode again."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return np.asarray(Image.open(buf).convert("RGB"), dtype=np.uint8).copy()


def resample(rgb: U8, factor: float) -> U8:
    """Rescale with Lanczos (what a re-post or a thumbnailer does)."""
    h, w = rgb.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS), dtype=np.uint8)


def png_bytes(rgb: U8, mode: str = "RGB") -> bytes:
    """PNG file bytes for an RGB array (optionally converted to ``mode``)."""
    buf = io.BytesIO()
    Image.fromarray(rgb).convert(mode).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def unmarked_picture(index: int, seed: int, sizes: Sequence[tuple[int, int]]) -> tuple[str, U8]:
    """Unmarked picture number ``index``: generators in turn, some post-processed.

    A quarter are drawn larger and resampled down; about half go through a
    JPEG round trip (q50-q95, 4:2:0 or 4:4:4). Deterministic per (seed, index).
    """
    rng = np.random.default_rng([seed, index])
    names = list(GENERATORS)
    name = names[index % len(names)]
    h, w = sizes[int(rng.integers(len(sizes)))]
    variant = int(rng.integers(4))
    if variant == 3:
        big = GENERATORS[name](int(h * 1.5), int(w * 1.5), rng)
        img = np.asarray(Image.fromarray(big).resize((w, h), Image.LANCZOS))
        label = f"{name}+resample"
    else:
        img = GENERATORS[name](h, w, rng)
        label = name
    if variant in (1, 3) or (variant == 2 and rng.random() < 0.5):
        quality = int(rng.choice([50, 65, 75, 85, 90, 95]))
        img = jpeg_roundtrip(img, quality, int(rng.choice([0, 2])))
        label += f"+jpeg{quality}"
    return label, np.ascontiguousarray(img, dtype=np.uint8)


def unmarked_corpus(count: int, seed: int, sizes: Sequence[tuple[int, int]]) -> list[tuple[str, U8]]:
    """``count`` unmarked pictures (see :func:`unmarked_picture`)."""
    return [unmarked_picture(i, seed, sizes) for i in range(count)]


def deterministic_picture(h: int, w: int, salt: int) -> U8:
    """A textured picture from integer arithmetic only (no RNG, no Pillow).

    Stable across numpy versions, so tests can pin digests of encoder output.
    """
    yy, xx = np.mgrid[0:h, 0:w].astype(np.int64)
    chans = []
    for c in range(3):
        k = salt * 7919 + c * 104729
        hashed = (xx * 73856093) ^ (yy * 19349663) ^ k
        hashed = (hashed * 2654435761) % 4294967296
        noise = (hashed >> 11) % 97
        smooth = (xx * (c + 1) * 255 // max(w, 1) + yy * (3 - c) * 255 // max(h, 1)) // 3
        chans.append((smooth + noise + 40) % 256)
    return np.stack(chans, axis=-1).astype(np.uint8)
