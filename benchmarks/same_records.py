"""Check that a change left every ``provenance scan`` record byte-identical.

Scans the corpus with the code of a git revision (``--base``, extracted with
``git archive`` into a temporary folder and put first on ``PYTHONPATH``) and
with the working tree, both as JSONL, then compares the two outputs as sorted
lists of lines (records come in completion order, so only the order may
differ). Paths, mtimes and version stamps are the same in both runs (same
files, same package version), so every byte of every record must match::

    python benchmarks/same_records.py --base 11b5a48
    python benchmarks/same_records.py --base 11b5a48 --jobs 1 --corpus samples_benign

Prints the number of records and exits 1 on any difference (showing the
first few differing records), 0 when the sorted outputs are identical.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def scan(source: Path, corpus: Path, out: Path, jobs: int | None) -> list[bytes]:
    """Run ``provenance scan`` with the package found in ``source``; the sorted records."""
    env = dict(os.environ, PYTHONPATH=str(source))
    command = [sys.executable, "-m", "provenance", "scan", str(corpus), "--out", str(out)]
    if jobs:
        command += ["--jobs", str(jobs)]
    done = subprocess.run(command, env=env, cwd=source, capture_output=True)
    if done.returncode not in (0, 1, 2):
        raise SystemExit(f"scan with {source} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    check = subprocess.run(
        [sys.executable, "-c", "import provenance, sys; sys.stdout.write(provenance.__file__)"],
        env=env,
        cwd=source,
        capture_output=True,
        text=True,
    )
    if not check.stdout.startswith(str(source)):
        raise SystemExit(f"expected the package from {source}, got {check.stdout}")
    return sorted(out.read_bytes().splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to compare with (e.g. main)")
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus" / "images")
    parser.add_argument("--jobs", type=int, help="workers for both scans (default: every core)")
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = Path(tmp) / "base.tar"
        with open(archive, "wb") as fh:
            subprocess.run(["git", "archive", args.base], cwd=REPO, stdout=fh, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(base, filter="data")
        old = scan(base, corpus, Path(tmp) / "old.jsonl", args.jobs)
        new = scan(REPO, corpus, Path(tmp) / "new.jsonl", args.jobs)
    print(f"{len(old)} records with {args.base}, {len(new)} with the working tree")
    if old == new:
        print("identical (sorted, byte for byte)")
        return 0
    gone = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    print(f"DIFFERENT: {len(gone)} records only in {args.base}, {len(added)} only in the working tree")
    for line in gone[:3]:
        print(f"- {line[:600]!r}")
    for line in added[:3]:
        print(f"+ {line[:600]!r}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
