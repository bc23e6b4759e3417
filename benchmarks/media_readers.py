"""Container metadata of video and audio: our walkers against libraries, measured.

For each file given (default: the media samples of ``samples_benign/``),
and each reader that is installed:

* ``walkers``: ``provenance.read.media.sniff_stream`` + ``media.walk`` (ours);
* ``pymediainfo``: ``MediaInfo.parse`` (MIT wrapper of MediaArea's
  libmediainfo, BSD-2-Clause; its Linux wheels bundle the library);
* ``ffprobe``: ``ffprobe -show_format -show_streams -of json`` as a
  subprocess (FFmpeg: LGPL-2.1+, GPL when built with GPL parts);
* ``mutagen`` and ``hachoir``: GPL-2.0, measured for reference only;

it prints the median time per file (``--runs`` runs, in process except
ffprobe), whether the ``mdta`` key names that ffmpeg writes with
``-movflags use_metadata_tags`` come back as names (``prompt``) or as
numbers (``0x00000001``), whether Matroska ``SimpleTag``s are read, and
whether a C2PA manifest box/chunk is noticed. ``--big FILE`` measures the
peak RSS of each reader, in a fresh process, on one (sparse) file.

    python benchmarks/media_readers.py --runs 20 --json /tmp/media.json
    python benchmarks/media_readers.py --big /tmp/sparse-1g.mp4

Not a project dependency: ``pip install pymediainfo mutagen hachoir`` in a
scratch venv to measure them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MEDIA_SUFFIXES = (".mp4", ".mov", ".m4a", ".webm", ".mkv", ".wav", ".avi", ".mp3", ".flac")
#: What each reader's output is searched for.
MARKERS = ("prompt", "workflow")


def walkers(path: Path) -> str:
    from provenance.limits import DEFAULT_LIMITS
    from provenance.read import media

    size = path.stat().st_size
    with open(path, "rb") as fh:
        media_type = media.sniff_stream(fh, size)
        if media_type is None:
            return "not media"
        layout = media.walk(fh, size, media_type, DEFAULT_LIMITS)
    tags = [f"{t.field}={t.value}" for t in layout.tags]
    return "\n".join([*tags, f"embedded-manifest={layout.c2pa}"])


def pymediainfo(path: Path) -> str:
    from pymediainfo import MediaInfo

    info = MediaInfo.parse(str(path))
    return json.dumps([track.to_data() for track in info.tracks], default=str)


def ffprobe(path: Path) -> str:
    command = ["ffprobe", "-v", "quiet", "-show_format", "-show_streams", "-of", "json", str(path)]
    return subprocess.run(command, capture_output=True, timeout=60).stdout.decode("utf-8", "replace")


def mutagen(path: Path) -> str:
    import mutagen as mg

    try:
        found = mg.File(str(path))
    except Exception as exc:  # mutagen raises on formats it half-knows
        return f"error {type(exc).__name__}"
    if found is None:
        return "not read"
    return "\n".join(f"{k!r}={v}" for k, v in (found.tags or {}).items()) if found.tags is not None else "no tags"


def hachoir(path: Path) -> str:
    from hachoir.core import config
    from hachoir.metadata import extractMetadata
    from hachoir.parser import createParser

    config.quiet = True
    parser = createParser(str(path))
    if parser is None:
        return "not read"
    with parser:
        try:
            meta = extractMetadata(parser)
        except Exception as exc:
            return f"error {type(exc).__name__}"
        names = []
        try:  # the parser's own field tree: does it name the C2PA box?
            for field in parser:
                tag = field["tag"].value if field.is_field_set and "tag" in field else ""
                names.append(f"{field.name}:{tag}")
        except Exception:
            pass
    text = "\n".join(meta.exportPlaintext()) if meta else "no metadata"
    return text + "\nfields: " + " ".join(names[:200])


READERS: dict[str, Callable[[Path], str]] = {
    "walkers": walkers,
    "pymediainfo": pymediainfo,
    "ffprobe": ffprobe,
    "mutagen": mutagen,
    "hachoir": hachoir,
}


def available(name: str) -> bool:
    if name == "ffprobe":
        return shutil.which("ffprobe") is not None
    if name == "walkers":
        return True
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def findings(output: str, path: Path) -> dict[str, Any]:
    """What a reader's output shows (the file's own name, which may say "c2pa", taken out first)."""
    low = output.replace(str(path), "").replace(path.name, "").replace(path.stem, "").lower()
    return {
        "names": all(m in low for m in MARKERS),
        "numbered_keys": "0x00000001" in low or "\\x00\\x00\\x00\\x01" in low,
        "c2pa": "c2pa" in low or "d8fec3d6" in low or "embedded-manifest=true" in low,
        "chars": len(output),
    }


def time_one(reader: Callable[[Path], str], path: Path, runs: int) -> tuple[float, str]:
    output = reader(path)  # warm (imports, page cache)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        reader(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, output


def peak_rss(name: str, path: Path) -> dict[str, Any]:
    """Peak RSS (MB) of a fresh process that imports the reader, then reads ``path``."""
    code = (
        "import resource, sys, time; sys.path.insert(0, sys.argv[1]); "
        "from benchmarks import media_readers as m; from pathlib import Path; "
        "r = m.READERS[sys.argv[2]]; "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; t0 = time.perf_counter(); "
        "out = r(Path(sys.argv[3])); t = time.perf_counter() - t0; "
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        "print(base, peak, t, m.findings(out, Path(sys.argv[3]))['names']); "
        "print('children', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)"
    )
    warm = {
        "ffprobe": "",
        "walkers": "import provenance.read.media, provenance.read.bmff; ",
        "pymediainfo": "from pymediainfo import MediaInfo; MediaInfo.can_parse(); ",
        "mutagen": "import mutagen, mutagen.mp4; ",
        "hachoir": "import hachoir.parser, hachoir.metadata; ",
    }[name]
    result = subprocess.run(
        [sys.executable, "-c", warm + code, str(REPO), name, str(path)], capture_output=True, timeout=600, text=True
    )
    base, peak, seconds, names = result.stdout.split()
    if name == "ffprobe":  # the peak of the ffprobe process itself, not of this Python
        peak, base = result.stderr.strip().rsplit(" ", 1)[-1], "0"
    return {"peak_mb": int(peak) / 1024, "import_mb": int(base) / 1024, "seconds": float(seconds), "names": names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--big", type=Path, help="measure peak RSS on this one file")
    args = parser.parse_args()
    names = [n for n in READERS if available(n)]
    if args.big:
        for name in names:
            print(name, json.dumps(peak_rss(name, args.big)))
        return
    files = args.files or sorted(p for p in (REPO / "samples_benign").iterdir() if p.suffix in MEDIA_SUFFIXES)
    table: dict[str, dict[str, Any]] = {}
    for path in files:
        for name in names:
            ms, output = time_one(READERS[name], path, args.runs)
            row = {"ms": round(ms, 3), **findings(output, path)}
            table.setdefault(path.name, {})[name] = row
            print(f"{path.name:32} {name:12} {ms:9.3f} ms  {row}")
    for name in names:
        print(f"median over files, {name}: {statistics.median(t[name]['ms'] for t in table.values()):.3f} ms")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
