"""Build the benign synthetic corpus that ``bench_scan.py`` times.

Every image is made here from gradients and pseudo-random noise (a fixed
seed, so two runs give the same files). The mix is meant to look like a
moderation queue, metadata-wise:

* formats: about 45% JPEG, 35% PNG, 20% WebP; sides from 256 to 2048 px;
* about 40% carry camera EXIF (make, model, exposure), 10% an XMP packet
  with an IPTC digital source type, 10% A1111-style generator parameters
  (PNG ``parameters`` text, or an EXIF UserComment in UTF-16BE), and 5%
  are signed with C2PA by a throwaway certificate chain made on the spot.

Noise makes the files large (they compress badly): each image has a band
of noise whose height is chosen so that the whole corpus comes close to
``--target-mb``. Usage::

    python benchmarks/make_corpus.py                 # 2,000 files, ~1.4 GB
    python benchmarks/make_corpus.py --count 200 --target-mb 140 --out /tmp/c

Images go to ``<out>/images/``; beside that folder go ``MANIFEST.tsv`` (one line a file: name, format, size
in pixels, what metadata it carries, bytes) and ``c2pa-root.pem`` (the
throwaway root, for ``--trust-anchors`` if you want trusted signatures).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

HERE = Path(__file__).resolve().parent
NOISE = 24  # amplitude of the uniform noise added in the noisy band

FORMATS = (("jpeg", 0.45), ("png", 0.35), ("webp", 0.20))
EXT = {"jpeg": "jpg", "png": "png", "webp": "webp"}
MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

CAMERAS = (
    ("Canon", "EOS R6"),
    ("NIKON CORPORATION", "NIKON Z 6"),
    ("SONY", "ILCE-7M3"),
    ("FUJIFILM", "X-T4"),
    ("Apple", "iPhone 13"),
)
SOURCE_TYPES = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
    "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
)
A1111 = (
    "a {subject} on a table, studio light\n"
    "Negative prompt: blurry, low quality\n"
    "Steps: {steps}, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: {seed}, "
    "Size: {w}x{h}, Model hash: 0a1b2c3d4e, Model: exampleModel_v1, Version: v1.10.1"
)
SUBJECTS = ("red cube", "blue sphere", "green cone", "yellow torus")


@dataclass(frozen=True)
class Plan:
    """What one corpus file will be."""

    index: int
    fmt: str
    width: int
    height: int
    camera: bool
    xmp: bool
    params: bool
    c2pa: bool

    @property
    def name(self) -> str:
        return f"img{self.index:05d}.{EXT[self.fmt]}"

    @property
    def tags(self) -> str:
        kinds = [k for k in ("camera", "xmp", "params", "c2pa") if getattr(self, k)]
        return ",".join(kinds) or "plain"


def plan(count: int, seed: int) -> list[Plan]:
    rng = random.Random(seed)
    plans = []
    for index in range(count):
        fmt = rng.choices([f for f, _ in FORMATS], [w for _, w in FORMATS])[0]
        plans.append(
            Plan(
                index=index,
                fmt=fmt,
                width=rng.randint(256, 2048),
                height=rng.randint(256, 2048),
                camera=rng.random() < 0.40,
                xmp=rng.random() < 0.10,
                params=rng.random() < 0.10,
                c2pa=rng.random() < 0.05,
            )
        )
    return plans


# --- pixels ------------------------------------------------------------------


def pixels(width: int, height: int, band: float, seed: int) -> Image.Image:
    """A colour gradient with a band of noise covering ``band`` of the rows."""
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    base = np.empty((height, width, 3), dtype=np.int16)
    base[..., 0] = x[None, :]
    base[..., 1] = y
    base[..., 2] = (x[None, :] + y) / 2
    rows = round(height * max(0.0, min(1.0, band)))
    if rows:
        rng = np.random.default_rng(seed)
        base[:rows] += rng.integers(-NOISE, NOISE + 1, size=(rows, width, 3), dtype=np.int16)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **extra: Any) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=90, **extra)
    elif fmt == "png":
        image.save(out, "PNG", compress_level=1, **extra)
    else:
        image.save(out, "WEBP", quality=85, method=0, **extra)
    return out.getvalue()


def calibrate() -> dict[str, float]:
    """Bytes per pixel of a fully noisy image, per format."""
    image = pixels(512, 512, 1.0, 0)
    return {fmt: len(encode(image, fmt)) / (512 * 512) for fmt, _ in FORMATS}


def bands(plans: list[Plan], full: dict[str, float], target: float) -> float:
    """The bytes-per-pixel cap that makes the planned corpus weigh ``target`` bytes."""
    lo, hi = 0.0, max(full.values())
    for _ in range(60):
        mid = (lo + hi) / 2
        total = sum(p.width * p.height * min(full[p.fmt], mid) for p in plans)
        lo, hi = (mid, hi) if total < target else (lo, mid)
    return (lo + hi) / 2


# --- metadata ----------------------------------------------------------------


def camera_exif(rng: random.Random, params: str | None) -> bytes:
    exif = Image.Exif()
    make, model = rng.choice(CAMERAS)
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0132] = "2024:05:01 10:00:00"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = f"2024:05:{rng.randint(1, 28):02d} {rng.randint(6, 20):02d}:00:00"
    sub[0x829A] = (1, rng.choice((60, 125, 250, 500, 1000)))
    sub[0x829D] = (rng.choice((18, 28, 40, 56, 80)), 10)
    sub[0x8827] = rng.choice((100, 200, 400, 800, 1600))
    sub[0x920A] = (rng.choice((24, 35, 50, 85)), 1)
    if params is not None:
        sub[0x9286] = b"UNICODE\x00" + params.encode("utf-16-be")
    return exif.tobytes()


def params_exif(params: str) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + params.encode("utf-16-be")
    return exif.tobytes()


def xmp_packet(source_type: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{source_type}"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


# --- C2PA signing with a throwaway chain --------------------------------------


def make_chain() -> tuple[bytes, bytes, bytes]:
    """A throwaway ES256 chain (root, intermediate, signer), made by the samples script.

    Returns ``(signing chain PEM: end entity then intermediate, private key
    PEM, root PEM)``. Nothing here is trusted by anyone: the C2PA reader
    reports such signatures as valid but untrusted.
    """
    sys.path.insert(0, str(HERE.parent / "samples_benign"))
    from make_samples import make_pki

    pki = make_pki()
    return pki.chain_pem, pki.key_pem, pki.root_pem


def manifest(title: str, ai: bool) -> dict[str, object]:
    """The benchmark's manifest: one ``c2pa.created`` action, AI-generated or a capture."""
    source = "trainedAlgorithmicMedia" if ai else "digitalCapture"
    return {
        "claim_generator_info": [{"name": "provenance-benchmark-corpus", "version": "1"}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": f"http://cv.iptc.org/newscodes/digitalsourcetype/{source}",
                        }
                    ]
                },
            }
        ],
    }


def sign(data: bytes, fmt: str, title: str, chain: bytes, key: bytes, ai: bool) -> bytes:
    """Embed a C2PA manifest (a ``c2pa.created`` action) signed with the throwaway chain."""
    import c2pa

    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
    out = io.BytesIO()
    with c2pa.Builder(manifest(title, ai)) as builder:
        builder.sign(signer, MIME[fmt], io.BytesIO(data), out)
    return out.getvalue()


# --- one file ----------------------------------------------------------------


def build(job: tuple[Plan, float, float, str, bytes, bytes, int]) -> tuple[str, int]:
    p, cap, full, folder, chain, key, seed = job
    rng = random.Random(seed * 1_000_003 + p.index)
    image = pixels(p.width, p.height, cap / full, seed * 7919 + p.index)
    params = (
        A1111.format(
            subject=rng.choice(SUBJECTS), steps=rng.randint(12, 40), seed=rng.randint(1, 2**31), w=p.width, h=p.height
        )
        if p.params
        else None
    )
    extra: dict[str, Any] = {}
    if p.camera:
        extra["exif"] = camera_exif(rng, params if p.fmt != "png" else None)
    elif params is not None and p.fmt != "png":
        extra["exif"] = params_exif(params)
    xmp = xmp_packet(rng.choice(SOURCE_TYPES)) if p.xmp else None
    if p.fmt == "png":
        info = PngImagePlugin.PngInfo()
        if params is not None:
            info.add_text("parameters", params)
        if xmp is not None:
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
        extra["pnginfo"] = info
    elif xmp is not None:
        extra["xmp"] = xmp
    data = encode(image, p.fmt, **extra)
    if p.c2pa:
        data = sign(data, p.fmt, p.name, chain, key, ai=rng.random() < 0.5)
    path = Path(folder) / p.name
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return p.name, len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "corpus", help="folder to fill (default benchmarks/corpus)")
    parser.add_argument("--count", type=int, default=2000, help="number of images (default 2000)")
    parser.add_argument("--target-mb", type=float, default=1400.0, help="approximate total size in MB (default 1400)")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    images = args.out / "images"
    images.mkdir(parents=True, exist_ok=True)
    plans = plan(args.count, args.seed)
    full = calibrate()
    cap = bands(plans, full, args.target_mb * 1e6)
    chain, key, root = make_chain()
    (args.out / "c2pa-root.pem").write_bytes(root)
    jobs = [(p, min(cap, full[p.fmt]), full[p.fmt], str(images), chain, key, args.seed) for p in plans]
    started = time.monotonic()
    sizes: dict[str, int] = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for done, (name, size) in enumerate(pool.map(build, jobs, chunksize=4), 1):
            sizes[name] = size
            if done % 200 == 0 or done == len(jobs):
                print(f"{done}/{len(jobs)} files, {sum(sizes.values()) / 1e6:.0f} MB", file=sys.stderr)
    lines = ["name\tformat\twidth\theight\tmetadata\tbytes"]
    lines += [f"{p.name}\t{p.fmt}\t{p.width}\t{p.height}\t{p.tags}\t{sizes[p.name]}" for p in plans]
    (args.out / "MANIFEST.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = sum(sizes.values())
    print(
        f"{len(sizes)} images, {total / 1e6:.0f} MB in {images} ({time.monotonic() - started:.0f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
