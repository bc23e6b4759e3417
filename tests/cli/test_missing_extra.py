"""--watermarks without its extra: refused before any file is read, never "ran and found no mark".

Each test runs provenance in a fresh interpreter in which the extra's modules
cannot be imported (``sys.modules[name] = None`` makes ``import name`` raise
ImportError, as in an install without ``provenance[watermarks]``). Nothing of
provenance itself is replaced.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, png_bytes

FIX = "pip install 'provenance[watermarks]'"


def run_blocked(blocked: tuple[str, ...], code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    prelude = f"import sys\nfor _name in {blocked!r}:\n    sys.modules[_name] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, cwd=REPO, timeout=timeout
    )


def cli_blocked(blocked: tuple[str, ...], *args: str) -> subprocess.CompletedProcess[str]:
    return run_blocked(blocked, f"sys.argv = ['provenance', *{list(args)!r}]\nfrom provenance.cli import main\nmain()")


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    path = tmp_path / "picture.png"
    path.write_bytes(png_bytes((300, 300)))
    return path


@pytest.mark.parametrize("blocked", [("numpy",), ("pywt",), ("cryptography",), ("numpy", "pywt")])
@pytest.mark.parametrize("command", ["check", "scan"])
def test_watermarks_without_the_extra_exit_2_before_reading(
    image: Path, tmp_path: Path, blocked: tuple[str, ...], command: str
) -> None:
    out = tmp_path / "out.jsonl"
    args = ["check", "--format", "json", "--watermarks", str(image)]
    if command == "scan":
        args = ["scan", "--watermarks", "--out", str(out), str(image)]
    done = cli_blocked(blocked, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert FIX in done.stderr
    assert "--watermarks" in done.stderr
    assert done.stdout == ""  # no report: nothing was checked
    assert not out.exists() or out.read_text() == ""


def test_config_watermarks_true_without_the_extra_exits_2(image: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("watermarks = true\n")
    done = cli_blocked(("pywt",), "check", "--format", "json", "--config", str(config), str(image))
    assert done.returncode == 2 and FIX in done.stderr and done.stdout == ""


def test_serve_watermarks_without_the_extra_exits_2() -> None:
    pytest.importorskip("starlette")
    done = cli_blocked(("numpy",), "serve", "--watermarks", "--port", "0")
    assert done.returncode == 2 and FIX in done.stderr


def test_without_watermarks_the_same_install_checks_files(image: Path) -> None:
    done = cli_blocked(("numpy", "pywt"), "check", "--format", "json", str(image))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)[0]
    assert "watermark" not in report["readers"]
    assert "was not run (--watermarks)" in report["summary"]


def test_library_raises_a_typed_error_with_the_same_words(image: Path) -> None:
    code = f"""
import provenance
from provenance import MissingExtraError, Options, check, check_bytes, make_options
assert issubclass(MissingExtraError, ImportError)
data = open({str(image)!r}, "rb").read()
for call in (
    lambda: make_options(watermarks=True),
    lambda: check_bytes(data, "picture.png", Options(watermarks=True)),
    lambda: check({str(image)!r}, Options(watermarks=True)),
):
    try:
        call()
    except MissingExtraError as exc:
        print("raised:", exc)
    else:
        print("no error")
print("plain:", check_bytes(data, "picture.png").verdict)
"""
    done = run_blocked(("pywt",), code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len([line for line in lines if line.startswith("raised:") and FIX in line]) == 3, lines
    assert "PyWavelets" in done.stdout
    assert "no error" not in done.stdout
    assert "plain: no-evidence" in lines
