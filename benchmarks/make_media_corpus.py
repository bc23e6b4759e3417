"""Build the benign synthetic video/audio corpus that ``bench_media.py`` times.

Every file is an ffmpeg test pattern (``testsrc``, ``testsrc2``,
``smptebars``, plain colours, with noise where the file must be large) or a
sine tone; a fixed seed decides the mix, so two runs give the same names and
the same unsigned files (ffmpeg runs bit-exact and single-threaded). The
default corpus, in ``<out>/files/`` (231 files, ~430 MB, video-heavy):

* 180 small files of 2 to 5 seconds: about 25% MP4, 10% MOV, 15% WebM,
  10% Matroska, 10% M4A, 10% WAV, 12% MP3, 8% FLAC. About 20% of the videos
  carry ComfyUI-style tags (VideoHelperSuite's old single ``comment`` tag,
  or separate ``prompt`` and ``workflow`` tags: ``mdta`` keys in MP4/MOV,
  SimpleTags in Matroska/WebM), and about 15% of the files of a format the
  C2PA library can sign (MP4, MOV, M4A, WAV, MP3, FLAC) are signed with a
  throwaway ES256 chain made on the spot (``samples_benign/make_samples.py``),
  half of them declaring ``trainedAlgorithmicMedia``;
* 8 videos of ~10 MB (640x360 noisy test pattern at 8 Mbit/s, 10 s): MP4,
  MOV, Matroska, WebM; two of them signed;
* 3 videos of ~100 MB (the same pattern looped with ``-c copy``): an MP4, a
  signed MP4 and a MOV;
* 40 images from ``make_corpus.py`` (JPEG/PNG/WebP, ~30 MB, the same mix of
  camera EXIF, XMP source types, generator parameters and C2PA as there).

Usage::

    python benchmarks/make_media_corpus.py            # ~1 min on 2 cores
    python benchmarks/make_media_corpus.py --quick    # 30 small files, a smoke run

Beside ``files/`` go ``MANIFEST.tsv`` (name, kind, what it carries, bytes)
and ``c2pa-root.pem`` (the throwaway root). ``corpus-media/`` is git-ignored.
``make_big_mp4`` (used by ``bench_media.py`` for its 1 GB file) is here too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "samples_benign"))

import make_corpus  # noqa: E402  (the image corpus builder)

SMALL = (
    ("mp4", 0.25),
    ("mov", 0.10),
    ("webm", 0.15),
    ("mkv", 0.10),
    ("m4a", 0.10),
    ("wav", 0.10),
    ("mp3", 0.12),
    ("flac", 0.08),
)
VIDEO = {"mp4", "mov", "webm", "mkv"}
SIGNABLE = {"mp4", "mov", "m4a", "wav", "mp3", "flac"}
MIME = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "m4a": "audio/mp4",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
}
SOURCES = ("testsrc", "testsrc2", "smptebars", "color=c=teal", "color=c=orange")
BITEXACT = ("-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1")
H264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p", "-threads", "1")
VP8 = ("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k", "-threads", "1")
# The large videos (8 Mbit/s; noise keeps the bitrate at what the encoder is asked for).
H264_8M = ("-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-maxrate", "8M", "-bufsize", "4M",
           "-pix_fmt", "yuv420p", "-threads", "1")  # fmt: skip
VP8_8M = ("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "8M", "-threads", "1")


def noisy(seed: int) -> tuple[str, ...]:
    return ("-vf", f"noise=alls=30:allf=t:all_seed={seed}")


@dataclass(frozen=True)
class Plan:
    """What one corpus file will be."""

    name: str
    fmt: str
    seconds: int
    source: str
    comfy: str  # "", "comment" (one JSON tag) or "keys" (prompt and workflow tags)
    signed: str  # "", "ai" or "capture"
    size: str  # "small", "10mb" or "100mb"

    @property
    def tags(self) -> str:
        kinds = [f"comfyui-{self.comfy}"] if self.comfy else []
        if self.signed:
            kinds.append(f"c2pa-{self.signed}")
        return ",".join(kinds) or "plain"


def plan(small: int, medium: int, large: int, seed: int) -> list[Plan]:
    rng = random.Random(seed)
    plans = []
    for index in range(small):
        fmt = rng.choices([f for f, _ in SMALL], [w for _, w in SMALL])[0]
        comfy = rng.choice(("comment", "keys")) if fmt in VIDEO and rng.random() < 0.20 else ""
        signed = rng.choice(("ai", "capture")) if fmt in SIGNABLE and rng.random() < 0.15 else ""
        plans.append(
            Plan(f"media{index:04d}.{fmt}", fmt, rng.randint(2, 5), rng.choice(SOURCES), comfy, signed, "small")
        )
    medium_formats = ("mp4", "mov", "mkv", "webm", "mp4", "mov", "webm", "mp4")
    for index in range(medium):
        fmt = medium_formats[index % len(medium_formats)]
        signed = "ai" if fmt in ("mp4", "mov") and index in (0, 1) else ""
        comfy = "keys" if index == 2 else ""
        source = ("testsrc2", "testsrc", "smptebars")[index % 3]
        plans.append(Plan(f"video10mb_{index:02d}.{fmt}", fmt, 10, source, comfy, signed, "10mb"))
    large_kinds = (("mp4", ""), ("mp4", "ai"), ("mov", ""))
    for index in range(large):
        fmt, signed = large_kinds[index % len(large_kinds)]
        plans.append(Plan(f"video100mb_{index:02d}.{fmt}", fmt, 100, "testsrc2", "", signed, "100mb"))
    return plans


# --- ffmpeg ----------------------------------------------------------------------


def ffmpeg(args: list[str], out: Path) -> None:
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args, str(out)]
    subprocess.run(command, check=True)


def comfy_tags(p: Plan) -> list[str]:
    from make_samples import COMFY_VIDEO_PROMPT, COMFY_VIDEO_WORKFLOW

    prompt, workflow = json.dumps(COMFY_VIDEO_PROMPT), json.dumps(COMFY_VIDEO_WORKFLOW)
    if p.comfy == "comment":
        return ["-metadata", "comment=" + json.dumps({"prompt": COMFY_VIDEO_PROMPT, "workflow": COMFY_VIDEO_WORKFLOW})]
    if p.comfy == "keys":
        extra = ["-movflags", "use_metadata_tags"] if p.fmt in ("mp4", "mov") else []
        return [*extra, "-metadata", f"prompt={prompt}", "-metadata", f"workflow={workflow}"]
    return []


def video_input(source: str, size: str, rate: int, seconds: int) -> list[str]:
    separator = ":" if "=" in source else "="
    return ["-f", "lavfi", "-i", f"{source}{separator}size={size}:rate={rate}:duration={seconds}"]


def tone(frequency: int, seconds: int, rate: int = 44100) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={rate}:duration={seconds}"]


def small_args(p: Plan, frequency: int) -> list[str]:
    video = video_input(p.source, "320x240", 25, p.seconds)
    audio = tone(frequency, p.seconds)
    if p.fmt in ("mp4", "mov"):
        return [*video, *audio, *BITEXACT, *H264, "-c:a", "aac", "-b:a", "64k", "-ac", "1", *comfy_tags(p)]
    if p.fmt == "webm":
        return [*video, *audio, *BITEXACT, *VP8, "-c:a", "libopus", "-b:a", "48k", *comfy_tags(p)]
    if p.fmt == "mkv":
        return [*video, *audio, *BITEXACT, *H264, "-c:a", "flac", *comfy_tags(p)]
    codec = {"m4a": ["aac", "-b:a", "96k"], "wav": ["pcm_s16le"], "mp3": ["libmp3lame", "-b:a", "128k"],
             "flac": ["flac"]}[p.fmt]  # fmt: skip
    return [*audio, *BITEXACT, "-c:a", *codec]


def medium_args(p: Plan) -> list[str]:
    video = video_input(p.source, "640x360", 25, p.seconds)
    codec = VP8_8M if p.fmt == "webm" else H264_8M
    seed = sum(p.name.encode()) * 7919 % 1_000_003
    return [*video, *noisy(seed), *BITEXACT, *codec, *comfy_tags(p)]


def loop_copy(base: Path, times: int, out: Path) -> None:
    """``base`` played ``times`` times, remuxed without re-encoding (fast, I/O bound)."""
    ffmpeg(["-stream_loop", str(times - 1), "-i", str(base), "-c", "copy", *BITEXACT], out)


# --- C2PA ------------------------------------------------------------------------


def sign_file(source: Path, out: Path, fmt: str, title: str, chain: bytes, key: bytes, ai: bool) -> None:
    """Sign ``source`` into ``out`` through file streams (a 1 GB video never sits in memory whole)."""
    import c2pa

    context = c2pa.Context(settings=c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)
    with (
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(make_corpus.manifest(title, ai), context=context) as builder,
        open(source, "rb") as src,
        open(out, "w+b") as dst,
    ):
        builder.sign(signer, MIME[fmt], src, dst)


def make_big_mp4(out: Path, megabytes: int, chain: bytes | None = None, key: bytes | None = None) -> int:
    """A ~``megabytes`` MB MP4 (a 10 MB noisy pattern looped), signed if ``chain``/``key`` are given."""
    with tempfile.TemporaryDirectory(prefix="media-corpus-", dir=out.parent) as tmp:
        base = Path(tmp) / "base.mp4"
        ffmpeg([*video_input("testsrc2", "640x360", 25, 10), *noisy(1), *BITEXACT, *H264_8M], base)
        times = max(1, round(megabytes * 1e6 / base.stat().st_size))
        looped = Path(tmp) / "looped.mp4"
        loop_copy(base, times, looped)
        base.unlink()
        if chain is not None and key is not None:
            sign_file(looped, Path(tmp) / "signed.mp4", "mp4", out.name, chain, key, ai=True)
            looped.unlink()
            looped = Path(tmp) / "signed.mp4"
        os.replace(looped, out)
    return out.stat().st_size


# --- one file --------------------------------------------------------------------


def build(job: tuple[Plan, str, bytes, bytes, int]) -> tuple[str, int]:
    p, folder, chain, key, seed = job
    rng = random.Random(f"{seed}:{p.name}")
    target = Path(folder) / p.name
    with tempfile.TemporaryDirectory(prefix="media-corpus-", dir=folder) as tmp:
        made = Path(tmp) / f"made.{p.fmt}"
        if p.size == "small":
            ffmpeg(small_args(p, rng.choice((262, 330, 392, 440, 523, 659))), made)
        elif p.size == "10mb":
            ffmpeg(medium_args(p), made)
        else:
            base = Path(tmp) / f"base.{p.fmt}"
            ffmpeg(medium_args(replace(p, seconds=10)), base)
            loop_copy(base, 10, made)
        if p.signed:
            signed = Path(tmp) / f"signed.{p.fmt}"
            sign_file(made, signed, p.fmt, p.name, chain, key, ai=p.signed == "ai")
            made = signed
        os.replace(made, target)
    return p.name, target.stat().st_size


def build_image(job: tuple[make_corpus.Plan, float, float, str, bytes, bytes, int]) -> tuple[str, int]:
    return make_corpus.build(job)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "corpus-media", help="default benchmarks/corpus-media")
    parser.add_argument("--small", type=int, default=180, help="small video/audio files (default 180)")
    parser.add_argument("--medium", type=int, default=8, help="~10 MB videos (default 8)")
    parser.add_argument("--large", type=int, default=3, help="~100 MB videos (default 3)")
    parser.add_argument("--images", type=int, default=40, help="images from make_corpus.py (default 40)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 24 small, 2 medium, 0 large, 4 images")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if args.quick:
        args.small, args.medium, args.large, args.images = 24, 2, 0, 4
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg not found: apt-get install -y ffmpeg")

    media = args.out / "files" / "media"
    images = args.out / "files" / "images"
    media.mkdir(parents=True, exist_ok=True)
    images.mkdir(parents=True, exist_ok=True)
    chain, key, root = make_corpus.make_chain()
    (args.out / "c2pa-root.pem").write_bytes(root)
    plans = plan(args.small, args.medium, args.large, args.seed)
    image_plans = make_corpus.plan(args.images, args.seed)
    full = make_corpus.calibrate()
    cap = make_corpus.bands(image_plans, full, args.images * 0.75e6)
    started = time.monotonic()
    sizes: dict[str, int] = {}
    # The large files first, so that the small ones fill the other core meanwhile.
    order = sorted(plans, key=lambda p: {"100mb": 0, "10mb": 1, "small": 2}[p.size])
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        jobs = [(p, str(media), chain, key, args.seed) for p in order]
        for done, (name, size) in enumerate(pool.map(build, jobs), 1):
            sizes[name] = size
            if done % 40 == 0 or done == len(jobs):
                print(f"{done}/{len(jobs)} media files, {sum(sizes.values()) / 1e6:.0f} MB", file=sys.stderr)
        image_jobs = [(p, min(cap, full[p.fmt]), full[p.fmt], str(images), chain, key, args.seed) for p in image_plans]
        image_sizes = dict(pool.map(build_image, image_jobs, chunksize=4))
    lines = ["name\tkind\tseconds\tmetadata\tbytes"]
    lines += [f"media/{p.name}\t{p.fmt}\t{p.seconds}\t{p.tags}\t{sizes[p.name]}" for p in plans]
    lines += [f"images/{p.name}\t{p.fmt}\t\t{p.tags}\t{image_sizes[p.name]}" for p in image_plans]
    (args.out / "MANIFEST.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = sum(sizes.values()) + sum(image_sizes.values())
    print(
        f"{len(sizes) + len(image_sizes)} files, {total / 1e6:.0f} MB in {args.out / 'files'} "
        f"({time.monotonic() - started:.0f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
