"""Recovery and false-positive rates of the ``dwtDct`` reader on synthetic pictures.

Run from the repository root::

    python benchmarks/watermark_rates.py                 # defaults: 12,000 unmarked
    python benchmarks/watermark_rates.py --fp-count 2000 --recovery-seeds 1

False positives: unmarked pictures (noise, 1/f noise, gradients, shapes,
text, flat colours, gratings, camera-like scenes; some resampled, about half
re-encoded as JPEG at q50-q95) are read and every finding counts. Recovery:
the same kinds of pictures are marked with the test encoder (a bit-exact
mirror of the reference encoder, ``tests/read/watermark_encoder.py``) for
each payload and channel order, plus the float32 path of the SDXL code, and
a strong finding naming the right payload counts as recovered.

Everything is generated in memory; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "read"))

import numpy as np  # noqa: E402
import watermark_encoder as enc  # noqa: E402

from provenance.read import watermark as wm  # noqa: E402

FP_SIZES = ((256, 256), (256, 320), (320, 256), (384, 384), (512, 512), (480, 640), (768, 768), (1024, 1024))
RECOVERY_SIZES = ((256, 256), (512, 512), (768, 768), (1024, 1024), (1216, 832))
#: Picture kinds on which the reference algorithm itself is known to work
#: (textured content); the others are smooth or synthetic, where the
#: reference encoder loses bits even without any attack (fixture README),
#: or strong white noise, where many pixels sit at 0 or 255 and the
#: encoder's float-to-uint8 write-back wraps around.
PHOTO_LIKE = ("camera", "pink_noise", "value_noise", "textured")


def _fp_one(args: tuple[int, int]) -> tuple[str, tuple[int, int], list[tuple[str, int, str]]]:
    index, seed = args
    label, img = enc.unmarked_picture(index, seed, FP_SIZES)
    scores = wm.score_image(img)
    return label, img.shape[:2], [(s.payload.key, s.matched, s.band) for s in scores]


def _recovery_cases(seeds: int) -> list[tuple[str, tuple[int, int], str, bool, bool, int]]:
    cases = []
    for seed in range(seeds):
        for gen in enc.GENERATORS:
            for size in RECOVERY_SIZES:
                for key in ("sdxl", "sdv1", "sdv2"):
                    for swap in (False, True):
                        cases.append((gen, size, key, swap, False, seed))
                        if key == "sdxl":
                            cases.append((gen, size, key, swap, True, seed))
    return cases


def _recovery_one(case: tuple[str, tuple[int, int], str, bool, bool, int]) -> tuple[str, int, str, str, int, bool]:
    gen, (h, w), key, swap, float_input, seed = case
    rng = np.random.default_rng([seed, h, w, len(key), int(swap), int(float_input), sum(map(ord, gen))])
    img = enc.GENERATORS[gen](h, w, rng)
    marked = enc.embed_payload(img, key, swap, float_input=float_input)
    score = {s.payload.key: s for s in wm.score_image(marked)}[key]
    path = ("float-" if float_input else "") + ("rgb" if swap else "bgr")
    return gen, min(h, w), key, path, score.matched, score.band == "strong"


def _pool_map(func, items: Iterable, jobs: int):  # type: ignore[no-untyped-def]
    items = list(items)
    if jobs <= 1:
        return [func(i) for i in items]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return pool.map(func, items, chunksize=16)


def false_positives(count: int, seed: int, jobs: int) -> None:
    start = time.perf_counter()
    results = _pool_map(_fp_one, [(i, seed) for i in range(count)], jobs)
    elapsed = time.perf_counter() - start
    bands: collections.Counter[str] = collections.Counter()
    maxima: dict[str, tuple[int, str]] = {}
    hist: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    per_kind_max: dict[tuple[str, str], int] = {}
    for label, (h, w), scores in results:
        worst = "none"
        for key, matched, band in scores:
            hist[key][matched] += 1
            if key not in maxima or matched > maxima[key][0]:
                maxima[key] = (matched, f"{label} {w}x{h}")
            kind = label.split("+")[0]
            per_kind_max[(key, kind)] = max(per_kind_max.get((key, kind), 0), matched)
            if band == "strong" or (band == "weak" and worst == "none"):
                worst = band
        bands[worst] += 1
    print(f"== false positives: {count} unmarked pictures, {elapsed:.1f} s ==")
    print(f"strong findings: {bands['strong']} ({bands['strong'] / count:.4%})")
    print(f"weak findings:   {bands['weak']} ({bands['weak'] / count:.4%})")
    for payload in wm.PAYLOADS:
        matched, where = maxima[payload.key]
        tail = sorted(hist[payload.key].items())[-6:]
        print(
            f"  {payload.key}: highest {matched}/{payload.length} ({where}); "
            f"bands weak>={payload.weak} strong>={payload.strong}; top of histogram {tail}"
        )
    for payload in wm.PAYLOADS:
        kinds = {kind: m for (key, kind), m in per_kind_max.items() if key == payload.key}
        print(f"  {payload.key} highest per kind: {dict(sorted(kinds.items()))}")


def recovery(seeds: int, jobs: int) -> None:
    start = time.perf_counter()
    results = _pool_map(_recovery_one, _recovery_cases(seeds), jobs)
    elapsed = time.perf_counter() - start
    print(f"== recovery: {len(results)} marked pictures, {elapsed:.1f} s ==")
    groups: dict[str, list[bool]] = collections.defaultdict(list)
    for gen, side, key, path, _matched, ok in results:
        photo = "photo-like" if gen in PHOTO_LIKE else "smooth/synthetic/saturated"
        big = ">=512" if side >= 512 else "256"
        groups[f"{photo} {big}"].append(ok)
        groups[f"{photo} {big} {key} {path}"].append(ok)
        groups[f"kind {gen} {big}"].append(ok)
    for name in sorted(groups):
        oks = groups[name]
        print(f"  {name:42s} {sum(oks):4d}/{len(oks):4d} = {sum(oks) / len(oks):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fp-count", type=int, default=12000, help="unmarked pictures to read")
    parser.add_argument("--recovery-seeds", type=int, default=2, help="repetitions of the recovery grid")
    parser.add_argument("--seed", type=int, default=20240501, help="seed of the unmarked corpus")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.recovery_seeds > 0:
        recovery(args.recovery_seeds, args.jobs)
    if args.fp_count > 0:
        false_positives(args.fp_count, args.seed, args.jobs)


if __name__ == "__main__":
    main()
