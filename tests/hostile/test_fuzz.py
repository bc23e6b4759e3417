"""The fuzz target: a short coverage-guided run, and the regression corpus replayed.

``fuzz/corpus/regressions/`` holds inputs that once crashed, hung or blew
up memory (see its README); each must now pass the fuzz target's checks
and get a small, fast report. The atheris run is skipped when atheris is
not installed (``pip install atheris``).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from provenance.api import MAX_ISSUES, check_bytes
from tests.conftest import REPO, SAMPLES

FUZZ = REPO / "fuzz"
REGRESSIONS = FUZZ / "corpus" / "regressions"


def _target() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_readers", FUZZ / "fuzz_readers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _regressions() -> list[Path]:
    return sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.name != "README.md")


def test_regression_corpus_is_described() -> None:
    readme = (REGRESSIONS / "README.md").read_text(encoding="utf-8")
    files = _regressions()
    assert files
    for path in files:
        assert f"`{path.name}`" in readme, f"{path.name} is not described in the regressions README"


@pytest.mark.parametrize("path", _regressions(), ids=lambda p: p.name)
def test_regression_input(path: Path) -> None:
    data = path.read_bytes()
    target = _target()
    t0 = time.perf_counter()
    target.test_one_input(data)
    report = check_bytes(data, path.name)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5, f"{path.name} took {elapsed:.1f} s"
    assert report.error is None or report.error.kind != "internal-error", report.error
    assert len(report.issues) <= MAX_ISSUES + 8


def test_fuzz_target_on_samples() -> None:
    """The target accepts every benign sample (a regression in the target itself shows here)."""
    target = _target()
    files = [p for p in SAMPLES.glob("*") if p.is_file()] if SAMPLES.is_dir() else []
    for path in files:
        target.test_one_input(path.read_bytes())
    target.test_one_input(b"")
    target.test_one_input(b"\x00")


@pytest.mark.fuzz
def test_short_fuzz_run(tmp_path: Path) -> None:
    """About a minute of coverage-guided fuzzing (``FUZZ_SECONDS`` to change); any crash fails."""
    pytest.importorskip("atheris")
    import os

    seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    seeds = [str(REGRESSIONS)] + ([str(SAMPLES)] if SAMPLES.is_dir() else [])
    command = [
        sys.executable,
        str(FUZZ / "fuzz_readers.py"),
        f"-max_total_time={seconds}",
        "-timeout=10",
        "-rss_limit_mb=3072",
        f"-artifact_prefix={artifacts}/",
        str(corpus),
        *seeds,
    ]
    done = subprocess.run(command, capture_output=True, timeout=seconds + 120, cwd=tmp_path)
    log = done.stderr.decode(errors="replace")
    crashes = sorted(p.name for p in artifacts.iterdir())
    if crashes:
        keep = REPO / "artifacts" / "fuzz"
        keep.mkdir(parents=True, exist_ok=True)
        for name in crashes:
            shutil.copy(artifacts / name, keep / name)
    assert done.returncode == 0 and not crashes, f"fuzzing found {crashes} (copied to artifacts/fuzz/):\n{log[-4000:]}"
    assert "Done" in log and " runs in " in log
    runs = int(log.rsplit("Done ", 1)[1].split(" runs", 1)[0])
    assert runs > 100, log[-2000:]
