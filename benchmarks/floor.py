"""The floor: read and SHA-256 every file, one process per core, nothing else.

``provenance scan`` must at least read every byte and hash it (reports
carry ``sha256``), so no scanner written in Python can beat this by much.
``bench_scan.py`` reports scan time as a multiple of it. Usage::

    python benchmarks/floor.py benchmarks/corpus/images
    python benchmarks/floor.py --files-from list.txt
    python benchmarks/floor.py --chunksize 1 benchmarks/corpus-media/files

Files go to the processes ``--chunksize`` at a time (default 8, cheap for
thousands of small images); for a corpus with a few very large files use 1,
or one process may get all the large ones in one chunk while the other idles.

Prints one line of JSON: files, bytes, seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from multiprocessing import get_context


def _files(paths: list[str]) -> Iterator[str]:
    for given in paths:
        if os.path.isdir(given):
            for folder, dirs, names in os.walk(given):
                dirs.sort()
                for name in sorted(names):
                    yield os.path.join(folder, name)
        else:
            yield given


def _hash(path: str) -> int:
    with open(path, "rb") as fh:
        data = fh.read()
    hashlib.sha256(data).hexdigest()
    return len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--files-from", help="a newline-separated list of paths")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--chunksize", type=int, default=8, help="files handed to a process at a time")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    files = list(_files(args.paths))
    if args.files_from:
        with open(args.files_from, encoding="utf-8") as fh:
            files += [line.rstrip("\n") for line in fh if line.strip()]
    with get_context("fork").Pool(args.jobs) as pool:
        total = sum(pool.imap_unordered(_hash, files, chunksize=max(1, args.chunksize)))
    seconds = time.perf_counter() - started
    print(json.dumps({"files": len(files), "bytes": total, "seconds": round(seconds, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
