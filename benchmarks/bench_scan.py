"""Time ``provenance scan`` against ExifTool and against the read+hash floor.

Over the same warm files (``make_corpus.py`` builds them), in one run:

* ``provenance scan CORPUS --out <tmp>.jsonl`` (every core);
* ``exiftool -j -r -fast2 CORPUS`` (output to /dev/null), the usual tool
  for metadata at scale; installed from Debian's ``libimage-exiftool-perl``
  when missing (``--no-install`` to skip instead);
* ``benchmarks/floor.py CORPUS``: read and SHA-256 every file, a process
  per core, nothing else;

each ``--runs`` times in rotating order, and reports the medians and two
ratios: throughput against ExifTool (target >= 5x) and time against the
floor (target <= 2x). Then the peak memory of a scan of N and 10 N files
(the same files listed ten times through ``--files-from``), as the largest
sum of RSS over the process tree and the largest single process; and the
latency of ``provenance check one.jpg`` as a fresh process.

    python benchmarks/make_corpus.py        # once: ~1.4 GB in benchmarks/corpus/
    python benchmarks/bench_scan.py --runs 7 --json benchmarks/results.json --append
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Time the tools as installed ones run: with compiled bytecode (pip writes it
# at install time; an editable checkout under PYTHONDONTWRITEBYTECODE has none).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def ensure_exiftool(install: bool) -> str | None:
    found = shutil.which("exiftool")
    if found or not install:
        return found
    print("installing ExifTool (libimage-exiftool-perl)...", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    command = ["apt-get", "install", "-y", "-q", "libimage-exiftool-perl"]
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(command, env=env, capture_output=True)
    return shutil.which("exiftool")


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def warm(files: list[Path]) -> None:
    """Read every file once so that every tool starts from the page cache."""
    for path in files:
        with open(path, "rb") as fh:
            while fh.read(1 << 22):
                pass


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], stdout: Any = subprocess.DEVNULL) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, CPU seconds of it and every process it waited for)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, cwd=REPO, env=ENV)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command[:4]} failed ({result.returncode}): {result.stderr.decode()[-2000:]}")
    return elapsed, _children_cpu() - cpu


def alternate(
    commands: dict[str, list[str]], runs: int
) -> tuple[dict[str, dict[str, Any]], dict[str, float], dict[str, float]]:
    """Run each command ``runs`` times, rotating their order each round, after one untimed scan
    (bytecode and page cache in place): per command its timings, and the median wall and CPU seconds."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    timed(commands["scan"])
    for run in range(runs):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            wall, cpu = timed(commands[name])
            times[name].append(round(wall, 3))
            cpus[name].append(round(cpu, 3))
        print(f"run {run + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in names), file=sys.stderr)
    median = {name: statistics.median(values) for name, values in times.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpus.items()}
    seconds = {
        name: {
            "median": round(median[name], 3),
            "min": min(times[name]),
            "cpu_median": round(median_cpu[name], 3),
            "runs": times[name],
        }
        for name in names
    }
    return seconds, median, median_cpu


def _pss(pid: int) -> int:
    """Proportional set size in bytes (shared pages split between the processes sharing them)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_memory(root: int) -> tuple[int, int, int]:
    """(sum of RSS, largest RSS, sum of PSS) in bytes over ``root`` and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * page
    total = biggest = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        biggest = max(biggest, rss.get(pid, 0))
        pss += _pss(pid)
        todo.extend(children.get(pid, []))
    return total, biggest, pss


def peak_memory(command: list[str]) -> dict[str, float]:
    """Run ``command``, sampling its process tree every 20 ms; peaks in MB and the time taken."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, env=ENV)
    peaks = [0, 0, 0]

    def sample() -> None:
        while process.poll() is None:
            for i, value in enumerate(_tree_memory(process.pid)):
                peaks[i] = max(peaks[i], value)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, err = process.communicate()
    sampler.join()
    if process.returncode not in (0, 1):
        raise SystemExit(f"scan failed: {err.decode()[-2000:]}")
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "peak_tree_rss_mb": round(peaks[0] / 1e6, 1),
        "peak_process_rss_mb": round(peaks[1] / 1e6, 1),
        "peak_tree_pss_mb": round(peaks[2] / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus" / "images")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rss-factor", type=int, default=10, help="the large memory run lists the files N times")
    parser.add_argument("--latency-runs", type=int, default=9)
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install ExifTool when missing")
    parser.add_argument("--skip", action="append", default=[], choices=["exiftool", "rss", "latency"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--append", action="store_true", help="add this run to the list of runs in --json")
    parser.add_argument("--note", help="a remark stored with the run (the machine was shared, say)")
    args = parser.parse_args(argv)

    files = files_under(args.corpus)
    if not files:
        raise SystemExit(f"no files under {args.corpus}: run benchmarks/make_corpus.py first")
    total_bytes = sum(p.stat().st_size for p in files)
    python = sys.executable
    exiftool = None if "exiftool" in args.skip else ensure_exiftool(not args.no_install)
    if exiftool is None and "exiftool" not in args.skip:
        print("ExifTool not available: skipping that comparison", file=sys.stderr)
    warm(files)
    subprocess.run([python, "-m", "compileall", "-q", str(REPO / "provenance")], capture_output=True, env=ENV)

    results: dict[str, Any] = {
        "files": len(files),
        "bytes": total_bytes,
        "cores": len(os.sched_getaffinity(0)),
        "load_average_at_start": os.getloadavg()[0],
        "python": sys.version.split()[0],
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scan.jsonl"
        commands: dict[str, list[str]] = {
            "floor": [python, str(HERE / "floor.py"), str(args.corpus)],
            "scan": [python, "-m", "provenance", "scan", str(args.corpus), "--out", str(out)],
        }
        if exiftool:
            commands["exiftool"] = [exiftool, "-j", "-r", "-fast2", str(args.corpus)]
        results["seconds"], median, median_cpu = alternate(commands, args.runs)
        names = list(commands)
        results["files_per_second"] = {name: round(len(files) / median[name], 1) for name in names}
        results["scan_vs_floor_time"] = round(median["scan"] / median["floor"], 2)
        results["scan_vs_floor_cpu"] = round(median_cpu["scan"] / median_cpu["floor"], 2)
        if "exiftool" in median:
            results["scan_vs_exiftool_throughput"] = round(median["exiftool"] / median["scan"], 2)
            results["scan_vs_exiftool_cpu"] = round(median_cpu["exiftool"] / median_cpu["scan"], 2)

        if "rss" not in args.skip:
            small = Path(tmp) / "small.txt"
            large = Path(tmp) / "large.txt"
            listing = "".join(f"{p}\n" for p in files)
            small.write_text(listing, encoding="utf-8")
            large.write_text(listing * args.rss_factor, encoding="utf-8")
            memory = {}
            for label, listed in ((len(files), small), (len(files) * args.rss_factor, large)):
                command = [python, "-m", "provenance", "scan", "--files-from", str(listed), "--out", str(out)]
                memory[str(label)] = peak_memory(command)
                print(f"memory, {label} files: {memory[str(label)]}", file=sys.stderr)
            results["peak_memory"] = memory

        if "latency" not in args.skip:
            one = min(files, key=lambda p: (p.suffix != ".jpg", p.stat().st_size))
            script = Path(python).parent / "provenance"
            launcher = [str(script)] if script.exists() else [python, "-m", "provenance"]
            command = [*launcher, "check", "--format", "json", str(one)]
            timed(command)
            latencies = [timed(command)[0] for _ in range(args.latency_runs)]
            results["check_one_file_seconds"] = {
                "median": round(statistics.median(latencies), 3),
                "min": round(min(latencies), 3),
                "file": str(one.name),
                "bytes": one.stat().st_size,
            }

    results["load_average_at_end"] = os.getloadavg()[0]
    if args.note:
        results["note"] = args.note
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        if args.append:
            earlier = json.loads(args.json.read_text(encoding="utf-8")) if args.json.exists() else []
            text = json.dumps([*(earlier if isinstance(earlier, list) else [earlier]), results], indent=2)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
