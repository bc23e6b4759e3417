"""Hostile metadata in the output: JSON stays valid, HTML is escaped, the terminal is not driven by the file.

Metadata values (a model name, a signer's name, a PNG text key) are chosen
by whoever made the file. In JSON they are data; in HTML they must be
escaped; in the terminal they must neither be read as Rich markup nor
reach the terminal as escape sequences (which could clear the screen or
rewrite the verdict line above them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import png_bytes
from tests.hostile.conftest import cli

INFOTEXT = "a cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: {model}"
ESCAPES = "\x1b]0;fake title\x07\x1b[2J\x1b[1A\x1b[2KCAPTURED\x9b31m"


def _hostile_png(folder: Path, name: str, model: str, key: str = "[/]") -> Path:
    path = folder / name
    path.write_bytes(png_bytes(size=(8, 8), text={"parameters": INFOTEXT.format(model=model), key: ESCAPES}))
    return path


def test_json_and_jsonl_carry_hostile_values_as_data(tmp_path: Path) -> None:
    path = _hostile_png(tmp_path, "h.png", "[/] " + ESCAPES)
    for fmt in ("json", "jsonl"):
        result = cli("check", "--format", fmt, "--verbose", str(path))
        assert result.returncode == 1, result.stderr.decode()
        assert b"\x1b" not in result.stdout and b"\x07" not in result.stdout
        text = result.stdout.decode()
        report = json.loads(text)[0] if fmt == "json" else json.loads(text)
        assert report["verdict"] == "ai-generated"
        assert any(ESCAPES in field["value"] for field in report["raw"]), "values are kept exactly, escaped in JSON"


def test_html_escapes_hostile_values(tmp_path: Path) -> None:
    path = _hostile_png(tmp_path, "h<script>x.png", "<img src=x onerror=alert(1)>")
    result = cli("check", "--format", "html", "--verbose", str(path))
    assert result.returncode == 1, result.stderr.decode()
    page = result.stdout.decode()
    assert "<img src=x" not in page and "<script>x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_text_output_is_not_rich_markup(tmp_path: Path) -> None:
    path = _hostile_png(tmp_path, "markup.png", "[/]")
    result = cli("check", "--format", "text", "--verbose", str(path), env={**os.environ, "TERM": "dumb"})
    assert b"Traceback" not in result.stderr and b"MarkupError" not in result.stderr
    assert result.returncode == 1
    assert b"[/]" in result.stdout


def test_text_output_does_not_pass_escape_sequences(tmp_path: Path) -> None:
    path = _hostile_png(tmp_path, "escapes.png", "model " + ESCAPES, key="Comment")
    result = cli("check", "--format", "text", "--verbose", str(path), env={**os.environ, "TERM": "dumb"})
    assert result.returncode == 1, result.stderr.decode()[-2000:]
    assert b"CAPTURED" in result.stdout
    assert b"\x1b" not in result.stdout and b"\x07" not in result.stdout and "\x9b".encode() not in result.stdout
