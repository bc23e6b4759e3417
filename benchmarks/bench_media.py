"""Time ``provenance scan`` on a video-heavy corpus; peak memory of 100 MB and 1 GB MP4s.

Over the warm files of ``make_media_corpus.py`` (``corpus-media/files/``),
in one run and ``--runs`` times in rotating order, as ``bench_scan.py`` does
for images (its helpers are reused):

* ``provenance scan CORPUS --jobs 2 --out <tmp>.jsonl``;
* ``benchmarks/floor.py CORPUS``: read and SHA-256 every file, a process per
  core, nothing else (target: the scan takes at most 1.5x its time here,
  where hashing the large videos dominates);
* ``exiftool -j -r -fast2 CORPUS`` (output to /dev/null), installed from
  Debian's ``libimage-exiftool-perl`` when missing.

Then peak memory, under ``/usr/bin/time -v`` (the largest single process)
while sampling the whole process tree every 20 ms: ``provenance check`` of
a signed 100 MB MP4 of the corpus and of a signed 1 GiB MP4 made for the
purpose in ``--big-dir`` (default /tmp, deleted afterwards), and
``provenance scan --jobs 2`` over two files of each size. The figures are
set beside the documented limits (SECURITY.md: ``max_file_bytes``,
``timeout``/``timeout_per_gib``, the C2PA library's 256 MB hash buffer).

    python benchmarks/make_media_corpus.py      # once: ~430 MB in benchmarks/corpus-media/
    python benchmarks/bench_media.py --runs 7 --json benchmarks/results-media.json --append   # 3 times
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_scan  # noqa: E402
import make_media_corpus  # noqa: E402
from bench_scan import ENV, REPO, alternate, ensure_exiftool, files_under, warm  # noqa: E402


def measured(command: list[str], stdout: Any = subprocess.PIPE) -> dict[str, Any]:
    """Run ``command`` under ``/usr/bin/time -v`` while sampling its process tree; the peaks in MB."""
    started = time.perf_counter()
    process = subprocess.Popen(
        ["/usr/bin/time", "-v", *command], stdout=stdout, stderr=subprocess.PIPE, cwd=REPO, env=ENV
    )
    peaks = [0, 0, 0]

    def sample() -> None:
        while process.poll() is None:
            for i, value in enumerate(bench_scan._tree_memory(process.pid)):
                peaks[i] = max(peaks[i], value)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = process.communicate()
    sampler.join()
    text = err.decode(errors="replace")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if process.returncode not in (0, 1) or found is None:
        raise SystemExit(f"{command[:4]} failed ({process.returncode}): {text[-2000:]}")
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "max_rss_one_process_mb": round(int(found.group(1)) * 1024 / 1e6, 1),
        "peak_tree_rss_mb": round(peaks[0] / 1e6, 1),
        "peak_tree_pss_mb": round(peaks[2] / 1e6, 1),
        "stdout": out.decode(errors="replace") if out else "",
    }


def outcome(record: dict[str, Any]) -> str:
    """What the report said, briefly: verdict, credentials state, error kind if any."""
    error = record.get("error")
    credentials = (record.get("credentials") or {}).get("state")
    text = f"{record.get('verdict')}, credentials {credentials}"
    if error:
        text += f", error {error.get('kind') if isinstance(error, dict) else error}"
    return text


def memory_runs(python: str, hundred: Path, big_dir: Path, gib: float) -> dict[str, Any]:
    from provenance.batch import time_limit
    from provenance.limits import DEFAULT_LIMITS

    launcher = [python, "-m", "provenance"]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-media-", dir=big_dir) as tmp:
        folder = Path(tmp)
        chain, key, _ = make_media_corpus.make_corpus.make_chain()
        big = folder / "one_gib_signed.mp4"
        started = time.perf_counter()
        make_media_corpus.make_big_mp4(big, round(gib * 1024**3 / 1e6), chain, key)
        print(
            f"made {big} ({big.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s", file=sys.stderr
        )
        big_copy = folder / "one_gib_signed_copy.mp4"
        shutil.copyfile(big, big_copy)
        hundred_copy = folder / "hundred_copy.mp4"
        shutil.copyfile(hundred, hundred_copy)
        warm([hundred, hundred_copy, big, big_copy])
        cases = (
            ("check_100mb", [hundred]),
            ("check_1gib", [big]),
            ("scan_jobs2_two_100mb", [hundred, hundred_copy]),
            ("scan_jobs2_two_1gib", [big, big_copy]),
        )
        for label, paths in cases:
            if label.startswith("check"):
                run = measured([*launcher, "check", "--format", "json", str(paths[0])])
                printed = json.loads(run.pop("stdout"))
                records = printed if isinstance(printed, list) else [printed]
            else:
                out = folder / "scan.jsonl"
                run = measured([*launcher, "scan", "--jobs", "2", *map(str, paths), "--out", str(out)])
                run.pop("stdout")
                records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
            run["bytes_per_file"] = paths[0].stat().st_size
            run["time_limit_per_file_s"] = time_limit(DEFAULT_LIMITS.timeout, paths[0].stat().st_size, DEFAULT_LIMITS)
            run["reports"] = [outcome(r) for r in records]
            results[label] = run
            print(f"{label}: {run}", file=sys.stderr)
        results["limits"] = {
            "max_file_bytes": DEFAULT_LIMITS.max_file_bytes,
            "timeout": DEFAULT_LIMITS.timeout,
            "timeout_per_gib": DEFAULT_LIMITS.timeout_per_gib,
            "c2pa_hash_buffer_mb": 256,
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus-media" / "files")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-dir", type=Path, default=Path(tempfile.gettempdir()), help="where the 1 GiB MP4 goes")
    parser.add_argument("--big-gib", type=float, default=1.0)
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install ExifTool when missing")
    parser.add_argument("--skip", action="append", default=[], choices=["exiftool", "rss"])
    parser.add_argument("--keep-jsonl", type=Path, help="copy the last scan's JSONL here (to compare records)")
    parser.add_argument("--note", default="", help="free text stored with the results (e.g. machine load)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--append", action="store_true", help="add this run to the list of runs in --json")
    args = parser.parse_args(argv)

    files = files_under(args.corpus)
    if not files:
        raise SystemExit(f"no files under {args.corpus}: run benchmarks/make_media_corpus.py first")
    total_bytes = sum(p.stat().st_size for p in files)
    python = sys.executable
    exiftool = None if "exiftool" in args.skip else ensure_exiftool(not args.no_install)
    if exiftool is None and "exiftool" not in args.skip:
        print("ExifTool not available: skipping that comparison", file=sys.stderr)
    warm(files)
    subprocess.run([python, "-m", "compileall", "-q", str(REPO / "provenance")], capture_output=True, env=ENV)

    sizes = sorted(p.stat().st_size for p in files)
    results: dict[str, Any] = {
        "files": len(files),
        "bytes": total_bytes,
        "files_of_at_least_10mb": sum(s >= 10_000_000 for s in sizes),
        "files_of_at_least_100mb": sum(s >= 100_000_000 for s in sizes),
        "bytes_in_files_of_at_least_10mb": sum(s for s in sizes if s >= 10_000_000),
        "cores": len(os.sched_getaffinity(0)),
        "load_average_at_start": os.getloadavg()[0],
        "python": sys.version.split()[0],
        "note": args.note,
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scan.jsonl"
        commands: dict[str, list[str]] = {
            # One file at a time: in chunks of 8 one process may get all the 100 MB files.
            "floor": [python, str(HERE / "floor.py"), "--chunksize", "1", str(args.corpus)],
            "scan": [python, "-m", "provenance", "scan", str(args.corpus), "--jobs", "2", "--out", str(out)],
        }
        if exiftool:
            commands["exiftool"] = [exiftool, "-j", "-r", "-fast2", str(args.corpus)]
        results["seconds"], median, median_cpu = alternate(commands, args.runs)
        names = list(commands)
        results["files_per_second"] = {name: round(len(files) / median[name], 1) for name in names}
        results["mb_per_second"] = {name: round(total_bytes / 1e6 / median[name], 1) for name in names}
        results["scan_vs_floor_time"] = round(median["scan"] / median["floor"], 2)
        results["scan_vs_floor_cpu"] = round(median_cpu["scan"] / median_cpu["floor"], 2)
        if "exiftool" in median:
            results["scan_vs_exiftool_throughput"] = round(median["exiftool"] / median["scan"], 2)
            results["scan_vs_exiftool_cpu"] = round(median_cpu["exiftool"] / median_cpu["scan"], 2)
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
        results["scan_verdicts"] = dict(sorted(_count(str(r.get("verdict")) for r in records).items()))
        results["scan_errors"] = sum(1 for r in records if r.get("error"))
        if args.keep_jsonl:
            shutil.copyfile(out, args.keep_jsonl)

    if "rss" not in args.skip:
        candidates = [p for p in files if p.suffix == ".mp4" and p.stat().st_size >= 50_000_000]
        signed = [p for p in candidates if "video100mb_01" in p.name]
        if candidates:
            results["peak_memory"] = memory_runs(python, (signed or candidates)[0], args.big_dir, args.big_gib)
        else:
            print("no 100 MB MP4 in the corpus: skipping the memory runs", file=sys.stderr)

    results["load_average_at_end"] = os.getloadavg()[0]
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        if args.append:
            earlier = json.loads(args.json.read_text(encoding="utf-8")) if args.json.exists() else []
            text = json.dumps([*(earlier if isinstance(earlier, list) else [earlier]), results], indent=2)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


if __name__ == "__main__":
    sys.exit(main())
