"""The batch around hostile files: the per-file time limit, and standard input.

Work on one file is linear in its size, but a large file built of millions
of tiny chunks still takes seconds; the per-file time limit (``--timeout``,
default ``Limits.timeout``) turns it into an ``error`` of kind ``timeout``
while the rest of the batch goes on.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from provenance.limits import DEFAULT_LIMITS
from tests.conftest import png_bytes
from tests.hostile import builders
from tests.hostile.conftest import Snapshot, cli

A1111 = "a cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512"


def _slow_png(chunks: int) -> bytes:
    """A PNG with ``chunks`` empty private chunks before its image data (12 bytes each)."""
    empty = struct.pack(">I", 0) + b"prIv" + struct.pack(">I", zlib.crc32(b"prIv"))
    return builders.png_with(empty * chunks)


def test_time_limit_reports_the_slow_file_and_goes_on(tmp_path: Path) -> None:
    slow = tmp_path / "b-slow.png"
    slow.write_bytes(_slow_png(5_000_000))  # 60 MB of empty chunks: ~1.7 s of walking, well past the limit
    first, last = tmp_path / "a-ai.png", tmp_path / "c-plain.png"
    first.write_bytes(png_bytes(text={"parameters": A1111}))
    last.write_bytes(png_bytes())
    snap = Snapshot.of([tmp_path])
    result = cli("check", "--format", "jsonl", "--timeout", "0.5", "--jobs", "2", str(tmp_path), timeout=120)
    assert result.returncode == 2, result.stderr.decode()
    reports = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.decode().splitlines())}
    assert list(reports) == ["a-ai.png", "b-slow.png", "c-plain.png"]
    assert reports["b-slow.png"]["error"]["kind"] == "timeout"
    assert "0.5 s" in reports["b-slow.png"]["error"]["message"]
    assert reports["a-ai.png"]["verdict"] == "ai-generated"
    assert reports["c-plain.png"]["verdict"] == "no-evidence"
    snap.assert_unchanged()


def test_every_limit_is_documented_with_its_value() -> None:
    """SECURITY.md lists each field of ``Limits`` with its default, and the reader constants."""
    import dataclasses

    from provenance import api
    from provenance.read import container, exif, xmp

    security = (Path(__file__).resolve().parents[2] / "SECURITY.md").read_text(encoding="utf-8")
    for limit in dataclasses.fields(DEFAULT_LIMITS):
        value = getattr(DEFAULT_LIMITS, limit.name)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert f"| `{limit.name}` | {shown} " in security, limit.name
    constants = {
        "MAX_TEXT_ITEMS": container.MAX_TEXT_ITEMS,
        "MAX_READ_CALLS": exif.MAX_READ_CALLS,
        "MAX_READ_BYTES": exif.MAX_READ_BYTES,
        "_MAX_DEPTH": xmp._MAX_DEPTH,
        "_MAX_FIELDS": xmp._MAX_FIELDS,
        "MAX_ITEMS_PER_SOURCE": api.MAX_ITEMS_PER_SOURCE,
        "MAX_ISSUES": api.MAX_ISSUES,
    }
    for name, value in constants.items():
        assert f"`{name}` | {value} " in security, name


def test_hostile_input_on_stdin() -> None:
    bomb = builders.png_with(builders.png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(bytes(64 << 20), 9)))
    result = cli("check", "--format", "json", "-", input=bomb, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    (report,) = json.loads(result.stdout)
    assert report["path"] == "-" and report["verdict"] == "no-evidence"
    assert any(i["kind"] == "limit-exceeded" for i in report["issues"])
