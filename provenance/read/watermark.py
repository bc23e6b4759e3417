"""Offline reader for the ``invisible-watermark`` ``dwtDct`` pixel mark.

Stable Diffusion 1.x, 2.x and SDXL reference code stamp their output with
the ``dwtDct`` method of the ``invisible-watermark`` package (import name
``imwatermark``). This module recovers those bits with numpy and PyWavelets
only: no OpenCV, no torch, no model weights.

How the mark is read, step for step as the reference decoder does it:

1. The picture is seen as a BGR ``uint8`` array (OpenCV's convention) and
   turned into YUV the way ``cv2.cvtColor(..., COLOR_BGR2YUV)`` does for
   8-bit data: 14-bit fixed-point coefficients, rounding by adding half and
   shifting. Only U (channel 1) carries the mark.
2. U is cropped to ``rows//4*4`` by ``cols//4*4`` and given one level of the
   haar DWT; only the approximation band cA is used.
3. cA is cut into 4x4 blocks in row-major order; block ``k`` votes for bit
   ``k mod L``. In each block the coefficient of largest magnitude among flat
   positions 1..15 votes 1 when ``|v| mod 36 > 18``.
4. The votes of each bit are averaged; the bit is 1 when ``mean*255 > 127``.

The blocks are processed in horizontal strips (the haar transform is local to
2x2 pixels), so memory stays bounded and no Python loop runs per block.

Two channel orders are tried: ``bgr`` is the file as ``cv2.imread`` hands it
to the reference decoder, ``rgb`` is the RGB array passed as if it were BGR,
which is what the diffusers SDXL pipeline does when it embeds the mark.
The recovered bits are compared with the three published payloads.

Beyond the reference: both SDXL code bases hand the encoder float32 pixels,
for which OpenCV centres chroma on 0 instead of 128, so the mark is
quantised on other values than the uint8 decoder looks at. Two extra
"float-path" readings of the SDXL payload (see FLOAT_READINGS) recover
those marks; they are reported with ``decoder: "float"``.

numpy, PyWavelets and Pillow are imported inside the functions so that
importing this module stays cheap.
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from provenance.evidence import Evidence, RawField, ReadIssue, ReadResult

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL import Image

__all__ = [
    "PAYLOADS",
    "Payload",
    "Score",
    "binomial_tail",
    "bits_from_votes",
    "block_votes",
    "decode_dwtdct",
    "read",
    "score_image",
]

SOURCE: Final = "watermark"
FIELD: Final = "dwtDct"
LOCATION: Final = "pixels (U channel, haar DWT)"

#: Quantisation step of the mark in cA units (``scales=[0, 36, 36]``).
SCALE: Final = 36
#: Side of the cA blocks; one block covers 8x8 pixels.
BLOCK: Final = 4
#: The encoder and the decoder refuse pictures with fewer pixels than this.
MIN_PIXELS: Final = 256 * 256
#: Pixel rows handled at once; a multiple of 8 (one block row).
STRIP_ROWS: Final = 256

#: Channel orders tried: (name, swap). See the module docstring.
CHANNEL_ORDERS: Final = (("bgr", False), ("rgb", True))

# OpenCV's 8-bit BGR->YUV constants (``yuv_shift`` = 14): Y weights for R, G,
# B and the U weight 0.492 * 2**14, rounded.
_SHIFT: Final = 14
_R2Y: Final = 4899
_G2Y: Final = 9617
_B2Y: Final = 1868
_B2U: Final = 8061
_HALF: Final = 1 << (_SHIFT - 1)
_U_DELTA: Final = 128 << _SHIFT


def _bytes_to_bits(data: bytes) -> tuple[int, ...]:
    """Bits of ``data``, most significant bit of each byte first (np.unpackbits)."""
    return tuple((byte >> (7 - i)) & 1 for byte in data for i in range(8))


def _int_to_bits(value: int, width: int) -> tuple[int, ...]:
    """The ``width`` lowest bits of ``value``, most significant first."""
    return tuple((value >> (width - 1 - i)) & 1 for i in range(width))


@dataclass(frozen=True, slots=True)
class Payload:
    """A published watermark payload and the decision bands used for it.

    ``strong`` and ``weak`` are minimum counts of matching bits (out of
    ``len(bits)``) for the two bands; below ``weak`` nothing is reported
    except a raw field.
    """

    key: str
    label: str
    bits: tuple[int, ...]
    strong: int
    weak: int

    @property
    def length(self) -> int:
        return len(self.bits)


# Decision bands.
#
# The reference decoder has no sync, checksum or error correction, so
# whether a mark is present is a question of how many bits agree with a known
# payload. Under "no mark, bits are fair coins" the count is Binomial(n, 1/2)
# and :func:`binomial_tail` gives its tail. Every picture is compared TRIALS
# (= 8) times: 2 channel orders x 3 payloads, plus 2 float-path SDXL
# readings, so the chance for the picture as a whole is up to 8x the
# per-comparison tail (reported as ``chance_probability_any_trial``).
#
# Unmarked pictures are NOT fair coins. Flat areas make every bit equal;
# content that repeats along the block grid (gratings, tilings, halftones)
# makes the bits periodic with period d = gcd(L, period in blocks), and the
# payloads themselves are structured (ASCII bytes all start with 0b01). The
# best a d-periodic bit string can match, over all patterns:
#     SDXL (48):  d=16 -> 38, d=24 -> 37, d<=12 -> <=33
#     SD v1 (136): d=8 -> 98, d=34 -> 94, d=68 -> 104
#     SD 2 (32):  d=8, 16 -> 25
# Measured (benchmarks/watermark_rates.py, 12,000 unmarked synthetic pictures
# 256-1024 px: noise, 1/f noise, gradients, shapes, text, flat colours,
# gratings, camera-like scenes, a quarter resampled and half JPEG-re-encoded
# at q50-q95), the highest best-of-all-readings scores were 37/48 (SDXL;
# 36 already on camera-like, shapes and textured pictures), 98/136 (SD v1, on
# gratings: the d=8 bound reached) and 26/32 (SD 2).
#
# So the bands sit above both the measured maxima and the periodic bounds:
# * SDXL: strong >= 42 (per-picture chance 8 x 5.0e-8 = 4e-7), weak 38-41.
#   The reference detector calls 36+ "very likely" and 34-35 "likely"; our
#   synthetic unmarked pictures reach 37, so those are not used as claims.
# * SD v1: strong >= 106 (per-picture chance 1.5e-10), weak 100-105 (above the d=8
#   bound that gratings reach; below the d=68 bound of 104 nothing is safe).
# * SD 2: strong >= 30 (chance 8 x 1.2e-7 = 1e-6), weak 28-29. Only 32 bits:
#   the weakest of the three.
# Marked photo-like pictures of 512 px and more almost always score
# 46-48/48, 120-136/136 and 31-32/32, so the margins cost little recall
# (misses are mostly total: the reference encoder itself fails on flat,
# smooth or saturated content).
PAYLOADS: Final = (
    Payload(
        key="sdxl",
        label="SDXL 48-bit mark",
        bits=_int_to_bits(0xB3EC907BB19E, 48),
        strong=42,
        weak=38,
    ),
    Payload(
        key="sdv1",
        label="Stable Diffusion v1 mark 'StableDiffusionV1'",
        bits=_bytes_to_bits(b"StableDiffusionV1"),
        strong=106,
        weak=100,
    ),
    Payload(
        key="sdv2",
        label="Stable Diffusion 2 mark 'SDV2'",
        bits=_bytes_to_bits(b"SDV2"),
        strong=30,
        weak=28,
    ),
)

#: Extra readings for encoders fed float32 pixels: (channel order, swap,
#: payload keys). Both SDXL code bases hand the encoder float32 arrays:
#: diffusers' pipelines pass RGB as if it were BGR, Stability's
#: ``WatermarkEmbedder`` flips to BGR first. The reference (uint8) decoder
#: does not read the diffusers mark at all (fixture
#: ``sdxl_768_floatpath_diffusers.png``: 27/48) and reads Stability's only on
#: some pictures; these readings do (48/48 on both float fixtures).
FLOAT_READINGS: Final = (("rgb", True, ("sdxl",)), ("bgr", False, ("sdxl",)))

#: Number of (reading, payload) comparisons made per image.
TRIALS: Final = len(CHANNEL_ORDERS) * len(PAYLOADS) + sum(len(keys) for _, _, keys in FLOAT_READINGS)


def binomial_tail(matched: int, total: int) -> float:
    """P(X >= matched) for X ~ Binomial(total, 1/2), computed exactly."""
    if matched <= 0:
        return 1.0
    if matched > total:
        return 0.0
    hits = sum(math.comb(total, k) for k in range(matched, total + 1))
    return hits / (1 << total)


def _u_channel(rgb: NDArray[np.uint8], swap: bool) -> NDArray[np.int32]:
    """U plane of ``COLOR_BGR2YUV`` for an RGB ``uint8`` array.

    ``swap=False`` feeds the decoder the true BGR picture (``rgb[..., ::-1]``);
    ``swap=True`` feeds it the RGB array as if it were BGR.
    """
    import numpy as np

    blue = rgb[..., 0 if swap else 2].astype(np.int32)
    green = rgb[..., 1].astype(np.int32)
    red = rgb[..., 2 if swap else 0].astype(np.int32)
    luma = blue * _B2Y
    luma += green * _G2Y
    luma += red * _R2Y
    luma += _HALF
    luma >>= _SHIFT
    u = blue
    u -= luma
    u *= _B2U
    u += _U_DELTA + _HALF
    u >>= _SHIFT
    # cv2 saturates to 0..255; with these constants U never leaves that range,
    # the clip only keeps the mirror of the reference complete.
    np.clip(u, 0, 255, out=u)
    return u


def _votes_from_ca(c_a: NDArray[np.float64]) -> NDArray[np.bool_]:
    """One vote per full 4x4 block of an approximation band, row-major."""
    import numpy as np

    rows, cols = c_a.shape
    rows, cols = rows - rows % BLOCK, cols - cols % BLOCK
    grid = c_a[:rows, :cols].reshape(rows // BLOCK, BLOCK, cols // BLOCK, BLOCK)
    blocks = grid.transpose(0, 2, 1, 3).reshape(-1, BLOCK * BLOCK)
    mags = np.abs(blocks[:, 1:])
    pos = mags.argmax(axis=1)
    vals = np.take_along_axis(mags, pos[:, None], axis=1)[:, 0]
    votes: NDArray[np.bool_] = np.remainder(vals, SCALE) > SCALE * 0.5
    return votes


@functools.lru_cache(maxsize=1)
def _numpy_haar_is_exact() -> bool:
    """Whether :func:`_haar_ca_numpy` gives pywt's bits on this platform.

    pywt's C loop computes ``h*x0 + h*x1`` with two separate roundings on
    the platforms checked (x86-64 wheels); a build that fused the multiply
    and add would differ in the last bit, which matters here (see
    _strip_votes). Checked once per process on a probe whose first pass sees
    every pair of uint8 values; if it differs, pywt itself is used.
    """
    import numpy as np
    import pywt

    i, j = np.mgrid[0:256, 0:256]
    probe = np.empty((512, 256), dtype=np.int32)
    probe[0::2] = j
    probe[1::2] = (j + i) % 256
    expected = pywt.dwt2(probe, "haar", mode="symmetric")[0]
    return bool(np.array_equal(_haar_ca_numpy(probe), expected))


def _haar_ca_numpy(u: NDArray[np.int32]) -> NDArray[np.float64]:
    """cA of one haar level, replicating pywt's arithmetic step for step."""
    import numpy as np

    half = 0.7071067811865476  # pywt.Wavelet("haar").dec_lo[0] == dec_lo[1]
    x = u.astype(np.float64)
    rows = x[0::2] * half
    rows += x[1::2] * half
    c_a: NDArray[np.float64] = rows[:, 0::2] * half
    c_a += rows[:, 1::2] * half
    return c_a


def _haar_ca(u: NDArray[np.int32]) -> NDArray[np.float64]:
    """cA of ``pywt.dwt2(u, 'haar')``, bit for bit, computed the fastest safe way."""
    if _numpy_haar_is_exact():
        return _haar_ca_numpy(u)
    import pywt

    # Row pairs first, then column pairs, as pywt.dwt2 does.
    c_a = pywt.dwt(u, "haar", mode="symmetric", axis=0)[0]
    result: NDArray[np.float64] = pywt.dwt(c_a, "haar", mode="symmetric", axis=1)[0]
    return result


def _strip_votes(rgb: NDArray[np.uint8], swap: bool) -> NDArray[np.bool_]:
    """Reference (uint8) votes for a strip whose sides are multiples of 8.

    cA must be bit-identical to the reference's: it is a multiple of 0.5,
    so ``|v| mod 36`` lands exactly on 18 in about one block in 144 and the
    last bit of the float decides the vote.
    """
    return _votes_from_ca(_haar_ca(_u_channel(rgb, swap)))


def _float_strip_votes(rgb: NDArray[np.uint8], swap: bool) -> NDArray[np.bool_]:
    """Votes as an encoder fed float32 pixels placed them (diffusers, sgm).

    For float input ``cv2.cvtColor`` computes U = 0.492*(B - Y) + 0.5 with
    no 128 offset and no rounding, so the mark was quantised on centred
    chroma. The file itself holds rounded pixels, so exact float replication
    is moot; cA is taken as half the 2x2 sum, which is what haar gives.
    """
    import numpy as np

    pairs = rgb[0::2].astype(np.uint16)
    pairs += rgb[1::2]
    sums = pairs[:, 0::2] + pairs[:, 1::2]
    blue = sums[..., 0 if swap else 2].astype(np.float64)
    green = sums[..., 1].astype(np.float64)
    red = sums[..., 2 if swap else 0].astype(np.float64)
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    # cA of U: half the 2x2 sum of 0.492*(B - Y) + 0.5.
    c_a = 0.246 * (blue - luma) + 1.0
    return _votes_from_ca(c_a)


def block_votes(rgb: NDArray[np.uint8], swap: bool = False, *, float_path: bool = False) -> NDArray[np.bool_]:
    """One vote per 4x4 cA block, in the reference's row-major block order."""
    import numpy as np

    # A block of cA covers 8x8 pixels; rows//4*4 cropping then keeps
    # exactly rows//8 full block rows (likewise for columns).
    block_rows = rgb.shape[0] // 8
    block_cols = rgb.shape[1] // 8
    if block_rows == 0 or block_cols == 0:
        return np.zeros(0, dtype=np.bool_)
    width = block_cols * 8
    strip = _float_strip_votes if float_path else _strip_votes
    parts = []
    for top in range(0, block_rows * 8, STRIP_ROWS):
        bottom = min(top + STRIP_ROWS, block_rows * 8)
        parts.append(strip(rgb[top:bottom, :width], swap))
    return np.concatenate(parts)


def bits_from_votes(votes: NDArray[np.bool_], nbits: int) -> NDArray[np.bool_]:
    """Average the votes per bit index and threshold as the reference does.

    Block ``k`` votes for bit ``k % nbits``; the bit is ``mean*255 > 127``.
    A bit without any vote has a NaN mean and therefore reads as 0, as in
    the reference.
    """
    import numpy as np

    index = np.arange(votes.size) % nbits
    sums = np.bincount(index, weights=votes.astype(np.float64), minlength=nbits)
    counts = np.bincount(index, minlength=nbits)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    bits: NDArray[np.bool_] = means * 255 > 127
    return bits


def decode_dwtdct(
    rgb: NDArray[np.uint8], bits: int, swap: bool = False, *, float_path: bool = False
) -> NDArray[np.bool_]:
    """Decode ``bits`` bits of the ``dwtDct`` mark from an RGB ``uint8`` array.

    With ``swap=False`` the result equals ``WatermarkDecoder('bits', bits)
    .decode(cv2.imread(path), 'dwtDct')`` for the same pixels. Unlike the
    reference it does not refuse pictures below 256x256; :func:`read` does.
    ``float_path=True`` reads the mark as an encoder fed float32 pixels
    placed it (see :func:`_float_strip_votes`); the reference cannot.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 array, got shape {rgb.shape}")
    if bits <= 0:
        raise ValueError("bits must be positive")
    return bits_from_votes(block_votes(rgb, swap, float_path=float_path), bits)


def _to_rgb_array(image: Image.Image) -> NDArray[np.uint8]:
    """RGB ``uint8`` pixels of a Pillow image, whatever its mode."""
    import numpy as np

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit grey: keep the high byte, as Pillow does for 16-bit RGB.
        grey = (np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("I", "F"):
        values = np.asarray(image)
        if values.size and float(values.max()) > 255:
            values = values / 256.0
        grey = np.clip(values, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    # RGBA and LA drop alpha without compositing, as cv2.IMREAD_COLOR does;
    # palette, grey, CMYK and YCbCr go through Pillow's own conversion.
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _pixel_limit(max_pixels: int | None) -> int | None:
    """The pixel limit in force: Pillow's guard, or a stricter caller's one."""
    from PIL import Image

    pillow = Image.MAX_IMAGE_PIXELS
    if max_pixels is None:
        return pillow
    if pillow is None:
        return max_pixels
    return min(max_pixels, pillow)


@dataclass(frozen=True, slots=True)
class Score:
    """How well the bits read one way match one payload."""

    payload: Payload
    order: str
    float_path: bool
    matched: int

    @property
    def chance(self) -> float:
        """Binomial tail of this one comparison (bits taken as fair coins)."""
        return binomial_tail(self.matched, self.payload.length)

    @property
    def band(self) -> str:
        if self.matched >= self.payload.strong:
            return "strong"
        if self.matched >= self.payload.weak:
            return "weak"
        return "none"

    @property
    def decoder(self) -> str:
        return "float" if self.float_path else "uint8"

    def describe(self) -> str:
        how = f"channel order {self.order}"
        if self.float_path:
            origin = "diffusers" if self.order == "rgb" else "Stability's SDXL code"
            how += f", float-input encoder as in {origin}"
        return (
            f"{self.payload.label}: {self.matched}/{self.payload.length} bits matched ({how}), chance {self.chance:.1e}"
        )


def _matches(bits: NDArray[np.bool_], payload: Payload) -> int:
    import numpy as np

    return int(np.count_nonzero(bits == np.array(payload.bits, dtype=np.bool_)))


def score_image(rgb: NDArray[np.uint8]) -> list[Score]:
    """Best score per payload over all ways of reading (ties keep the first)."""
    best: dict[str, Score] = {}

    def offer(score: Score) -> None:
        current = best.get(score.payload.key)
        if current is None or score.matched > current.matched:
            best[score.payload.key] = score

    for order, swap in CHANNEL_ORDERS:
        votes = block_votes(rgb, swap)
        for payload in PAYLOADS:
            offer(Score(payload, order, False, _matches(bits_from_votes(votes, payload.length), payload)))
    for order, swap, keys in FLOAT_READINGS:
        votes = block_votes(rgb, swap, float_path=True)
        for payload in PAYLOADS:
            if payload.key in keys:
                offer(Score(payload, order, True, _matches(bits_from_votes(votes, payload.length), payload)))
    return [best[p.key] for p in PAYLOADS]


def _evidence(score: Score) -> Evidence:
    """The Evidence item for a score in the weak or strong band."""
    return Evidence(
        source=SOURCE,
        field=FIELD,
        value=score.describe(),
        location=LOCATION,
        data={
            "payload": score.payload.key,
            "payload_label": score.payload.label,
            "bits_matched": score.matched,
            "bits_total": score.payload.length,
            "channel_order": score.order,
            "decoder": score.decoder,
            "chance_probability": score.chance,
            # Bonferroni bound over every comparison made for this image.
            "chance_probability_any_trial": min(1.0, TRIALS * score.chance),
            "band": score.band,
        },
    )


def _load(data: bytes, max_pixels: int | None) -> tuple[NDArray[np.uint8] | None, ReadIssue | None]:
    """Decode ``data`` to RGB pixels, or say why not."""
    from PIL import Image

    limit = _pixel_limit(max_pixels)
    with warnings.catch_warnings():
        # Pillow warns between MAX_IMAGE_PIXELS and twice that; treat the
        # warning as the limit it is.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if limit is not None and width * height > limit:
                    return None, ReadIssue(
                        "limit-exceeded",
                        f"image too large to decode: {width}x{height} over {limit} pixels; watermark check not run",
                        SOURCE,
                    )
                if width * height < MIN_PIXELS:
                    return None, ReadIssue(
                        "too-small",
                        f"image is {width}x{height}; the dwtDct mark needs at least 256x256 pixels in total",
                        SOURCE,
                    )
                image.seek(0)
                return _to_rgb_array(image), None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            return None, ReadIssue("limit-exceeded", f"watermark check not run: {exc}", SOURCE)


def read(data: bytes, media_type: str, *, max_pixels: int | None = None) -> ReadResult:
    """Look for the dwtDct mark: :func:`read_checked` without the completion flag."""
    return read_checked(data, media_type, max_pixels=max_pixels)[0]


def read_checked(data: bytes, media_type: str, *, max_pixels: int | None = None) -> tuple[ReadResult, bool]:
    """Look for the SD v1 / SD 2 / SDXL ``dwtDct`` mark in an encoded image.

    ``media_type`` is informative only (it names the format in messages):
    Pillow sniffs the format itself.
    Returns one Evidence item per payload whose best score reaches its weak
    band, a RawField per payload in every case, and ReadIssue values instead
    of exceptions; and whether the check was made: ``False`` when the pixels
    were not decoded (over the pixel limit, undecodable), which the issue
    says. A picture too small to hold the mark counts as checked.
    """
    from PIL import UnidentifiedImageError

    try:
        rgb, issue = _load(data, max_pixels)
        if issue is not None or rgb is None:
            checked = issue is not None and issue.kind == "too-small"
            return ReadResult(issues=(issue,) if issue is not None else ()), checked
        scores = score_image(rgb)
    except UnidentifiedImageError:
        message = f"the pixels of this format ({media_type}) cannot be decoded by the image library in use"
        return ReadResult(issues=(ReadIssue("watermark-error", message, SOURCE),)), False
    except Exception as exc:
        return ReadResult(
            issues=(
                ReadIssue(
                    "watermark-error",
                    f"watermark check failed: {type(exc).__name__}: {exc}",
                    SOURCE,
                ),
            )
        ), False
    evidence = tuple(_evidence(s) for s in scores if s.band != "none")
    raw = tuple(RawField(SOURCE, FIELD, f"{s.describe()}; band {s.band}") for s in scores)
    return ReadResult(evidence=evidence, raw=raw), True
