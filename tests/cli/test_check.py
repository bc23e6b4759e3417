"""The check command as users run it: formats, exit codes, broken files, stdin."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import jpeg_bytes, png_bytes, run_cli, xmp_packet

A1111 = "a cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: exampleModel"


@pytest.fixture()
def batch(tmp_path: Path) -> Path:
    (tmp_path / "ai.png").write_bytes(png_bytes(text={"parameters": A1111}))
    (tmp_path / "plain.png").write_bytes(png_bytes())
    (tmp_path / "camera.jpg").write_bytes(jpeg_bytes(exif={0x010F: "Canon", 0x0110: "EOS"}))
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "one.png").write_bytes(b"\x89")
    (tmp_path / "random.bin").write_bytes(bytes((i * 73 + 11) % 256 for i in range(4096)))
    return tmp_path


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_batch_with_broken_files_completes_and_exits_2(batch: Path, schema_validator) -> None:  # type: ignore[no-untyped-def]
    before = _digests(batch)
    result = run_cli("check", "--format", "json", str(batch))
    assert result.returncode == 2, result.stderr.decode()
    reports = {Path(r["path"]).name: r for r in json.loads(result.stdout)}
    assert set(reports) == set(before), "every input appears in the output"
    assert reports["ai.png"]["verdict"] == "ai-generated"
    assert reports["plain.png"]["verdict"] == "no-evidence"
    assert reports["camera.jpg"]["verdict"] == "captured" and reports["camera.jpg"]["confidence"] == "low"
    for name, kind in (("empty.jpg", "empty"), ("one.png", "not-an-image"), ("random.bin", "not-an-image")):
        assert reports[name]["verdict"] == "error"
        assert reports[name]["error"]["kind"] == kind and reports[name]["error"]["message"]
    for report in reports.values():
        assert not list(schema_validator.iter_errors(report))
    assert _digests(batch) == before, "no input is modified"
    assert sorted(p.name for p in batch.iterdir()) == sorted(before), "nothing is written next to inputs"


def test_exit_codes(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    plain.write_bytes(png_bytes())
    assert run_cli("check", "--format", "json", str(plain)).returncode == 0
    ai = tmp_path / "ai.png"
    ai.write_bytes(png_bytes(text={"parameters": A1111}))
    assert run_cli("check", "--format", "json", str(ai)).returncode == 1
    assert run_cli("check", "--format", "json", str(ai), str(tmp_path / "missing.png")).returncode == 2
    assert run_cli("check", "--format", "nope", str(ai)).returncode == 2
    assert run_cli("check", "--format", "json", "--trust-anchors", str(tmp_path / "no.pem"), str(ai)).returncode == 2


def test_jsonl_is_one_object_per_line_in_sorted_order(tmp_path: Path) -> None:
    for name in ("b.png", "a.png", "c.png"):
        (tmp_path / name).write_bytes(png_bytes())
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "d.png").write_bytes(png_bytes())
    result = run_cli("check", "--format", "jsonl", str(tmp_path))
    lines = result.stdout.decode().splitlines()
    names = [Path(json.loads(line)["path"]).name for line in lines]
    assert names == ["a.png", "b.png", "c.png", "d.png"]


def test_stdin(tmp_path: Path) -> None:
    data = png_bytes(text={"parameters": A1111})
    result = run_cli("check", "--format", "json", "-", stdin=data)
    (report,) = json.loads(result.stdout)
    assert report["path"] == "-" and report["verdict"] == "ai-generated"
    assert report["sha256"] == hashlib.sha256(data).hexdigest()


def test_text_output_explains(tmp_path: Path) -> None:
    jpeg = jpeg_bytes()
    packet = xmp_packet(
        {
            "Iptc4xmpExt:DigitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            "Iptc4xmpExt:AISystemUsed": "ExampleGen 2",
        }
    )
    app1 = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    path = tmp_path / "declared.jpg"
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + jpeg[2:])
    result = run_cli("check", "--format", "text", "--verbose", str(path))
    out = " ".join(result.stdout.decode().replace("│", " ").split())  # words, wherever the panel wraps them
    assert result.returncode == 1
    for needle in ("AI-GENERATED", "IPTC-010", "IPTCAI-001", "ExampleGen 2", "Metadata fields read", "not proof"):
        assert needle in out, needle


def test_version_and_module_entry_point() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    out = result.stdout.decode()
    assert out.startswith("provenance ") and "c2pa library" in out


def test_rules_listing_json() -> None:
    result = run_cli("rules", "--format", "json")
    rules = json.loads(result.stdout)
    ids = {r["id"] for r in rules}
    assert {"A1111-001", "COMFYUI-001", "IPTC-010", "CAMERA-001"} <= ids
    assert all({"id", "indicates", "strength", "title"} <= set(r) for r in rules)


def test_folder_walk_passes_over_documents_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(png_bytes())
    (tmp_path / "notes.md").write_text("# notes")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    hidden = tmp_path / ".git"
    hidden.mkdir()
    (hidden / "x.png").write_bytes(png_bytes())
    result = run_cli("check", "--format", "json", str(tmp_path))
    assert [Path(r["path"]).name for r in json.loads(result.stdout)] == ["img.png"]
    assert result.returncode == 0
    named = run_cli("check", "--format", "json", str(tmp_path / "notes.md"))
    (report,) = json.loads(named.stdout)
    assert report["error"]["kind"] == "not-an-image" and named.returncode == 2
