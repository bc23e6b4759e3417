"""Fixtures for the hostile-input suite: privileges, namespaces, signing, input snapshots.

Markers (registered here, not in pyproject.toml):

* ``needs_root``: drops privileges or creates namespaces; skipped when not root.
* ``needs_unshare``: runs the CLI in a network namespace; skipped without ``unshare -n``.
* ``fuzz``: runs the atheris fuzz target for about a minute; skipped without atheris.

The truncation/mutation sweep records how many inputs it tried and the
slowest one; they are printed in the terminal summary.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import FIXTURES, REPO, SAMPLES

#: Filled by the sweep, printed by :func:`pytest_terminal_summary`.
SWEEP_STATS: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_root: needs root (drops privileges, makes namespaces)")
    config.addinivalue_line("markers", "needs_unshare: needs `unshare -n` to cut the network")
    config.addinivalue_line("markers", "fuzz: runs the atheris fuzz target (skipped without atheris)")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SWEEP_STATS:
        s = SWEEP_STATS
        terminalreporter.write_sep("-", "hostile input sweep")
        terminalreporter.write_line(
            f"{s['inputs']} inputs from {s['seeds']} files in {s['total']:.1f} s; "
            f"slowest {s['slowest']:.3f} s ({s['slowest_name']}); verdicts {s['verdicts']}"
        )


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def can_unshare_net() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def image_sources() -> list[Path]:
    """Benign images to mutate: ``samples_benign/``, else the shared C2PA fixtures."""
    suffixes = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff"}
    found = [p for p in sorted(SAMPLES.glob("*")) if p.suffix.lower() in suffixes and p.stat().st_size > 0]
    if not found and (FIXTURES / "c2pa-rs").is_dir():
        found = [p for p in sorted((FIXTURES / "c2pa-rs").glob("*")) if p.suffix.lower() in suffixes]
    return found


#: Video and audio samples swept like the images (``.m4s`` fragments are read with their init segment).
MEDIA_SUFFIXES = frozenset({".mp4", ".mov", ".m4a", ".webm", ".mkv", ".wav", ".avi", ".mp3", ".flac"})


def media_sources() -> list[Path]:
    """Benign videos and audio files to mutate, from ``samples_benign/``."""
    return [p for p in sorted(SAMPLES.glob("*")) if p.suffix.lower() in MEDIA_SUFFIXES and p.stat().st_size > 0]


# --- Inputs must not change -------------------------------------------------


@dataclass
class Snapshot:
    """Hash, size and mtime of every input, and the listing of their folders."""

    files: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    listings: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, paths: Iterable[Path]) -> Snapshot:
        snap = cls()
        for path in paths:
            if path.is_dir():
                snap.listings[str(path)] = sorted(os.listdir(path))
                for child in sorted(path.rglob("*")):
                    if child.is_file() and not child.is_symlink():
                        snap.files[str(child)] = _fingerprint(child)
            elif path.is_file():
                snap.files[str(path)] = _fingerprint(path)
                snap.listings.setdefault(str(path.parent), sorted(os.listdir(path.parent)))
        return snap

    def assert_unchanged(self) -> None:
        after = Snapshot.of(Path(p) for p in list(self.files) + list(self.listings))
        changed = [p for p, fp in self.files.items() if after.files.get(p) != fp]
        assert not changed, f"inputs changed (content or mtime): {changed}"
        grown = {d: sorted(set(after.listings.get(d, [])) - set(names)) for d, names in self.listings.items()}
        assert not any(grown.values()), f"files written next to the inputs: {grown}"


def _fingerprint(path: Path) -> tuple[str, int, int]:
    info = path.stat()
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return digest, info.st_size, info.st_mtime_ns


# --- Running the CLI ------------------------------------------------------


def cli(
    *args: str, prefix: Iterable[str] = (), timeout: float = 120, **kwargs: Any
) -> subprocess.CompletedProcess[bytes]:
    """``python -m provenance`` with optional wrappers (``unshare -n``, ...)."""
    command = [*prefix, sys.executable, "-m", "provenance", *args]
    return subprocess.run(command, capture_output=True, timeout=timeout, cwd=REPO, **kwargs)


# --- Signing with a throwaway test CA ------------------------------------------


def _make_samples() -> ModuleType:
    path = SAMPLES / "make_samples.py"
    if not path.is_file():
        pytest.skip("samples_benign/make_samples.py is not present")
    spec = importlib.util.spec_from_file_location("provenance_make_samples", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def samples_module() -> ModuleType:
    pytest.importorskip("cryptography")
    pytest.importorskip("c2pa")
    return _make_samples()


@pytest.fixture(scope="session")
def signer(samples_module: ModuleType) -> Any:
    """``make_samples.Credentials`` over a test chain made in memory for this session."""
    return samples_module.Credentials(samples_module.make_pki())
