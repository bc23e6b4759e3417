"""Video and audio through the whole pipeline: sniffing, streaming, C2PA, notes, renderers.

Every file here is a real container written by the test (``wave`` for WAV,
boxes and EBML elements by hand), signed by the real C2PA library with the
throwaway test chain where credentials are needed.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tracemalloc
import wave
from pathlib import Path
from typing import Any

import pytest

from provenance import api
from provenance.api import Options, check, check_bytes
from provenance.evidence import Credentials, StatusCode
from provenance.judge import judge
from provenance.read import MediaFacts, media
from provenance.read.media import MediaLayout, Tag
from provenance.render import html, text
from provenance.render.preview import MEDIA, thumbnails_for

AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


# --- real containers, written here -------------------------------------------------------------------


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4(payload: bytes = b"\x11" * 4096, brand: bytes = b"isom") -> bytes:
    """ftyp, moov with an mvhd, and an mdat: the smallest MP4 the C2PA library signs."""
    ftyp = box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"iso2mp41")
    mvhd = box(
        b"mvhd",
        b"\x00" * 12
        + struct.pack(">II", 1000, 1000)
        + b"\x00\x01\x00\x00\x01\x00"
        + b"\x00" * 70
        + struct.pack(">I", 2),
    )
    return ftyp + box(b"moov", mvhd) + box(b"mdat", payload)


def wav(frames: int = 4000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes((i * 7) % 256 for i in range(frames * 2)))
    return out.getvalue()


def ebml(element_id: bytes, body: bytes) -> bytes:
    """An EBML element with an 8-byte size (0x01 then 7 bytes)."""
    return element_id + b"\x01" + len(body).to_bytes(7, "big") + body


def webm(doctype: bytes = b"webm") -> bytes:
    header = ebml(b"\x1a\x45\xdf\xa3", b"\x42\x86\x81\x01" + b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype)
    info = ebml(b"\x15\x49\xa9\x66", b"\x2a\xd7\xb1\x83\x0f\x42\x40")
    cluster = ebml(b"\x1f\x43\xb6\x75", b"\xe7\x81\x00" + b"\xa3\x85\x81\x00\x00\x80\x00")
    return header + ebml(b"\x18\x53\x80\x67", info + cluster)


def manifest(title: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "provenance media test", "version": "1.0"}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": AI}]}}
        ],
    }


@pytest.fixture(scope="module")
def signed(signer: Any) -> dict[str, bytes]:
    return {
        "mp4": signer.sign(manifest("clip.mp4"), "video/mp4", mp4()),
        "wav": signer.sign(manifest("tone.wav"), "audio/wav", wav()),
    }


def flip_in(data: bytes, marker: bytes, offset: int) -> bytes:
    """``data`` with one bit flipped ``offset`` bytes after the first ``marker`` (a box or chunk type)."""
    out = bytearray(data)
    at = data.find(marker)
    assert at > 0
    out[at + offset] ^= 0x01
    return bytes(out)


def _panel(report: Any) -> str:
    from rich.console import Console

    console = Console(record=True, width=160, file=io.StringIO())
    text.render(report, console)
    return console.export_text()


@pytest.fixture(scope="module")
def signer() -> Any:
    """``make_samples.Credentials`` over a throwaway test chain (the real C2PA library signs)."""
    from tests.hostile.conftest import _make_samples

    module = _make_samples()
    return module.Credentials(module.make_pki())


def _valid(report: Any, schema_validator: Any) -> dict[str, Any]:
    out: dict[str, Any] = report.to_dict()
    errors = [e.message for e in schema_validator.iter_errors(out)]
    assert not errors, errors
    return out


# --- sniffing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (mp4()[:64], "video/mp4"),
        (mp4(brand=b"mp42")[:64], "video/mp4"),
        (mp4(brand=b"dash")[:64], "video/mp4"),
        (mp4(brand=b"qt  ")[:64], "video/quicktime"),
        (mp4(brand=b"M4A ")[:64], "audio/mp4"),
        (mp4(brand=b"M4V ")[:64], "video/x-m4v"),
        (wav()[:64], "audio/wav"),
        (b"RIFF\x24\0\0\0AVI LIST", "video/x-msvideo"),
        (webm()[:64], "video/webm"),
        (webm(b"matroska")[:64], "video/x-matroska"),
        (b"ID3\x04\0\0\0\0\0\x10" + b"\0" * 16, "audio/mpeg"),
        (b"ID3\x04\0\0\0\0\0\x04" + b"\0" * 4 + b"fLaC\0\0\0\x22", "audio/flac"),
        (b"\xff\xfb\x90\x64" + b"\0" * 60, "audio/mpeg"),
        (b"fLaC\0\0\0\x22", "audio/flac"),
        (b"OggS\0\x02" + b"\0" * 20, "audio/ogg"),
        (b"\0\0\0\x14ftypheic\0\0\0\0heic", None),  # an image: the image path reads it
        (b"%PDF-1.7\n", None),
    ],
)
def test_media_types_are_sniffed_from_magic_bytes(head: bytes, expected: str | None) -> None:
    assert media.sniff(head) == expected


def test_a_flac_behind_a_long_id3_tag_is_sniffed_from_the_stream() -> None:
    tag_size = 100_000  # past the 64 KiB read first
    syncsafe = bytes([(tag_size >> 21) & 0x7F, (tag_size >> 14) & 0x7F, (tag_size >> 7) & 0x7F, tag_size & 0x7F])
    data = b"ID3\x04\0\0" + syncsafe + b"\0" * tag_size + b"fLaC\0\0\0\x22" + b"\0" * 40
    assert media.sniff(data[:65536]) == "audio/mpeg"  # the head alone cannot tell
    assert media.sniff_stream(io.BytesIO(data), len(data)) == "audio/flac"


@pytest.mark.parametrize(
    "data",
    [b"\0\0\0\x14ftyp3gp5\0\0\0\0isom", b"FLV\x01\x05" + b"\0" * 20, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"],
    ids=["3gp", "flv", "pdf"],
)
def test_formats_still_not_read_stay_unsupported(data: bytes) -> None:
    report = check_bytes(data + b"\0" * 64, "upload")
    assert report.error is not None and report.error.kind == "unsupported-format"


# --- AI-declared, tampered: MP4 and WAV, through check() (a file stream) -----------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "media_type", "noun"),
    [("mp4", "clip.mp4", "video/mp4", "video"), ("wav", "tone.wav", "audio/wav", "audio file")],
)
def test_ai_declared_media_is_ai_generated_with_valid_credentials(  # type: ignore[no-untyped-def]
    signed: dict[str, bytes], tmp_path: Path, kind: str, name: str, media_type: str, noun: str, schema_validator
) -> None:
    path = tmp_path / name
    path.write_bytes(signed[kind])
    report = check(path)
    out = _valid(report, schema_validator)
    assert out["media_type"] == media_type and out["verdict"] == "ai-generated", out["summary"]
    assert out["credentials"]["state"] == "valid" and out["credentials"]["embeddable"] is True
    assert "IPTC-010" in out["decisive"]
    assert f"this {noun} was generated by AI" in out["summary"] and "image" not in out["summary"]
    assert out["sha256"] == hashlib.sha256(signed[kind]).hexdigest() and out["size"] == len(signed[kind])
    assert "c2pa" in out["readers"] and "watermark" not in out["readers"]
    # The same bytes in memory (stdin, serve uploads) give the same report.
    in_memory = check_bytes(signed[kind], str(path)).to_dict()
    assert {k: in_memory[k] for k in ("verdict", "summary", "credentials")} == {
        k: out[k] for k in ("verdict", "summary", "credentials")
    }


@pytest.mark.parametrize(
    ("kind", "marker", "offset", "media_type", "code"),
    [
        ("mp4", b"mdat", 100, "video/mp4", "assertion.bmffHash.mismatch"),
        ("wav", b"data", 100, "audio/wav", "assertion.dataHash.mismatch"),
    ],
)
def test_a_flipped_byte_in_the_media_data_is_invalid_content_changed(  # type: ignore[no-untyped-def]
    signed: dict[str, bytes],
    tmp_path: Path,
    kind: str,
    marker: bytes,
    offset: int,
    media_type: str,
    code: str,
    schema_validator,
) -> None:
    path = tmp_path / f"tampered.{kind}"
    path.write_bytes(flip_in(signed[kind], marker, offset))
    report = check(path)
    out = _valid(report, schema_validator)
    assert out["media_type"] == media_type
    assert out["credentials"]["state"] == "invalid" and out["credentials"]["family"] == "content-changed"
    assert code in [v["code"] for v in out["credentials"]["validation"]]
    assert "changed after signing" in out["summary"] and "pixels" not in out["summary"]
    assert "content changed after signing" in _panel(report)


def test_a_media_file_is_hashed_and_read_without_holding_it_in_memory(tmp_path: Path) -> None:
    size = 48 * 1024 * 1024
    path = tmp_path / "big.mp4"
    with path.open("wb") as f:
        head = mp4(b"")
        f.write(head[:-8] + struct.pack(">I", 8 + size) + b"mdat")
        block = b"\x5a" * (1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    tracemalloc.start()
    try:
        report = check(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.error is None and report.media_type == "video/mp4" and report.sha256 == expected
    assert peak < 12 * 1024 * 1024, f"peak {peak} bytes of Python memory for a {size}-byte video"


# --- formats that cannot carry C2PA ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "media_type"),
    [(webm(), "clip.webm", "video/webm"), (webm(b"matroska"), "clip.mkv", "video/x-matroska")],
)
def test_webm_and_mkv_cannot_carry_credentials_and_every_renderer_says_so(  # type: ignore[no-untyped-def]
    tmp_path: Path, data: bytes, name: str, media_type: str, schema_validator
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    report = check(path)
    out = _valid(report, schema_validator)
    assert out["media_type"] == media_type
    assert out["credentials"]["state"] == "none" and out["credentials"]["embeddable"] is False
    assert "cannot carry embedded Content Credentials" in out["summary"]
    assert "c2pa" in out["readers"]
    page = html.render_html([out])
    assert "this format cannot carry embedded Content Credentials" in page
    assert "<dt>Kind</dt><dd>video" in page
    assert "this format cannot carry embedded Content Credentials" in _panel(report)


def test_an_mp4_without_credentials_is_not_said_to_be_unable_to_carry_them(tmp_path: Path) -> None:
    path = tmp_path / "plain.mp4"
    path.write_bytes(mp4())
    out = check(path).to_dict()
    assert out["credentials"]["state"] == "none" and out["credentials"]["embeddable"] is True
    assert "cannot carry" not in out["summary"] and "the video is real" in out["summary"]


def test_a_bmp_cannot_carry_credentials(schema_validator) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((16, 16)).save(buffer, "BMP")
    out = _valid(check_bytes(buffer.getvalue(), "pic.bmp"), schema_validator)
    assert out["media_type"] == "image/bmp" and out["credentials"]["embeddable"] is False
    assert "This format cannot carry embedded Content Credentials" in out["summary"]
    png = check_bytes(_png(), "pic.png").to_dict()
    assert png["credentials"]["embeddable"] is True and "cannot carry" not in png["summary"]


def _png() -> bytes:
    from tests.conftest import png_bytes

    return png_bytes()


# --- tags into evidence ------------------------------------------------------------------------------------


def test_tags_become_evidence_with_parsed_json_and_raw_fields() -> None:
    graph = json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 1}}})
    layout = MediaLayout(
        "video/mp4",
        "video",
        tags=[
            Tag("bmff", "prompt", graph, "moov/udta/meta/ilst (mdta key 1)"),
            Tag("bmff", "©too", "Lavf61.7.100" + "x" * 10_000, "moov/udta/©too"),
        ],
        has_media_data=True,
    )
    result = media.to_result(layout, "clip.mov", Options().limits)
    by_field = {e.field: e for e in result.evidence}
    assert by_field["prompt"].data == json.loads(graph) and by_field["prompt"].source == "bmff"
    assert by_field["prompt"].location == "moov/udta/meta/ilst (mdta key 1)"
    assert len(by_field["©too"].value) == Options().limits.max_value_chars
    assert by_field["extension-mismatch"].value == "the name ends in .mov but the content is video/mp4"
    assert {(r.source, r.field) for r in result.raw} >= {
        ("bmff", "prompt"),
        ("bmff", "©too"),
        ("container", "media-kind"),
    }


# --- the judge: init segments, watermarks ---------------------------------------------------------------


def _content_changed() -> Credentials:
    code = "assertion.bmffHash.mismatch"
    return Credentials(
        state="invalid",
        validation=(StatusCode(code, "failure", "the content changed", family="content-changed"),),
    )


def test_an_init_segment_alone_is_never_called_changed() -> None:
    alone = judge([], _content_changed(), media=MediaFacts("video", init_segment=True, fragmented=True))
    assert "fragments" in alone.summary and "which by itself does not show that the content changed" in alone.summary
    assert "changed after signing" not in alone.summary and "tampered" not in alone.summary
    whole = judge([], _content_changed(), media=MediaFacts("video"))
    assert "init segment" not in whole.summary


def test_watermarks_requested_on_media_are_said_not_to_apply() -> None:
    asked = judge([], Credentials(), media=MediaFacts("audio"), watermarks_requested=True)
    assert "does not apply to video or audio" in asked.summary and "the audio file is real" in asked.summary
    quiet = judge([], Credentials(), media=MediaFacts("audio"))
    assert "watermark" not in quiet.summary
    image = judge([], Credentials())
    assert "The pixel watermark check was not run (--watermarks)." in image.summary


def test_watermarks_switch_on_a_video_runs_no_pixel_reader(tmp_path: Path) -> None:
    pytest.importorskip("pywt")
    path = tmp_path / "plain.mp4"
    path.write_bytes(mp4())
    out = check(path, api.make_options(watermarks=True)).to_dict()
    assert "watermark" not in out["readers"] and "stealth" not in out["readers"]
    assert "does not apply to video or audio" in out["summary"]


# --- reports: no previews of media ---------------------------------------------------------------------


def test_no_preview_is_made_of_video_or_audio(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4())
    report = check(path).to_dict()
    previews = thumbnails_for([report], jobs=1)
    assert previews[str(path)].uri is None and previews[str(path)].why_not == MEDIA
    from provenance.render.preview import previews_of

    uploads = previews_of([("clip.mp4", mp4()), ("tone.wav", wav()), ("pic.png", _png())], jobs=1)
    assert uploads["clip.mp4"].why_not == MEDIA and uploads["tone.wav"].why_not == MEDIA
    assert uploads["pic.png"].uri is not None


# --- time allowance for large files; DASH fragments beside an init segment --------------------------------


def test_a_large_file_gets_more_time_by_its_size(tmp_path: Path) -> None:
    from provenance.batch import LocalPool, Task, time_limit

    limits = Options().limits
    assert time_limit(10, 1000, limits) == 10
    assert time_limit(10, 2 * 1024**3 - 1, limits) == 30
    sparse = tmp_path / "long.mp4"
    with sparse.open("wb") as f:
        f.truncate(1536 * 1024**2)  # 1.5 GiB, no blocks written
    pool = LocalPool(Options(), jobs=1, timeout=2)
    assert pool._limit(Task(0, str(sparse))) == 2 + 15
    assert pool._limit(Task(1, str(tmp_path / "gone.mp4"))) == 2


def test_fragments_are_the_m4s_files_of_the_folder_never_through_a_link(tmp_path: Path) -> None:
    import os

    for name in ("seg-2.m4s", "seg-1.m4s", "notes.txt", ".hidden.m4s"):
        (tmp_path / name).write_bytes(b"\0\0\0\x08moof")
    outside = tmp_path.parent / f"{tmp_path.name}-secret.m4s"
    outside.write_bytes(b"secret")
    os.symlink(outside, tmp_path / "seg-3.m4s")
    opened = api.open_fragments(str(tmp_path), Options().limits)
    try:
        assert len(opened) == 2, "seg-1 and seg-2; not the link, the hidden file or the notes"
        assert [f.read() for f in opened] == [b"\0\0\0\x08moof"] * 2
    finally:
        for f in opened:
            f.close()
    from provenance.paths import wanted_in_walk

    assert not wanted_in_walk("seg-1.m4s") and wanted_in_walk("init.mp4") and wanted_in_walk("clip.webm")


def test_check_and_scan_take_the_fragments_switch(signed: dict[str, bytes], tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "clip.mp4").write_bytes(signed["mp4"])
    (tmp_path / "seg-1.m4s").write_bytes(b"\0\0\0\x08moof")
    for command in ("check", "scan"):
        done = subprocess.run(
            [sys.executable, "-m", "provenance", command, "--fragments", "--format", "json", str(tmp_path)],
            capture_output=True,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        lines = done.stdout.decode()
        reports = json.loads(lines)
        assert [(Path(r["path"]).name, r["verdict"]) for r in reports] == [("clip.mp4", "ai-generated")]


def test_a_report_is_never_written_over_a_video(tmp_path: Path) -> None:
    from provenance.paths import output_clash

    named = tmp_path / "clip.mp4"
    named.write_bytes(mp4())
    assert output_clash(str(named), []) is not None
    renamed = tmp_path / "report.jsonl"
    renamed.write_bytes(wav())
    assert (
        output_clash(str(renamed), [])
        == f"--out {renamed} already holds a video or audio file (its content is audio/wav); "
        "refusing to overwrite it"
    )


@pytest.mark.parametrize(("kind", "media_type"), [("mp4", "video/mp4"), ("wav", "audio/wav")])
def test_state_and_codes_agree_with_the_library(
    signed: dict[str, bytes], signer: Any, kind: str, media_type: str
) -> None:
    marker = b"mdat" if kind == "mp4" else b"data"
    for data in (signed[kind], flip_in(signed[kind], marker, 100)):
        state, failures = signer.state(media_type, data, trusted=False)
        out = check_bytes(data, f"x.{kind}").to_dict()
        assert out["credentials"]["state"] == state.lower()
        ours = [v["code"] for v in out["credentials"]["validation"] if v["kind"] == "failure"]
        assert sorted(set(ours)) == sorted(set(failures))


# --- the dispatch with a walker (a tiny one of the tests, on real WAV bytes) ---------------------------------


def wav_with_info(tags: dict[bytes, bytes]) -> bytes:
    """A WAV with a LIST/INFO chunk after its data chunk, the RIFF size patched."""
    body = b"".join(
        k + struct.pack("<I", len(v) + 1) + v + b"\0" + (b"\0" if (len(v) + 1) & 1 else b"") for k, v in tags.items()
    )
    listing = b"LIST" + struct.pack("<I", 4 + len(body)) + b"INFO" + body
    data = wav() + listing
    return data[:4] + struct.pack("<I", len(data) - 8) + data[8:]


@pytest.fixture()
def tiny_walker(monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.read import tiny_walker as module

    monkeypatch.setitem(media.MEDIA_TYPES, "audio/wav", ("audio", "tests.read.tiny_walker", True))
    module.MODE["mode"] = ""
    yield module
    module.MODE["mode"] = ""


RULE = """family = "test-media"
description = "a rule on a RIFF INFO field, for the media tests"

[[rule]]
id = "TESTMEDIA-001"
title = "A test generator in RIFF INFO ISFT"
indicates = "ai-generated"
strength = "strong"
reference = "https://example.invalid/test"
description = "test only"
message = "Test generator named in {field}"
where = [{ source = "riff-info", field = "ISFT" }]
[rule.match]
regex = '^Test Tone Generator'
"""


def test_walker_tags_become_findings_raw_fields_and_json_data(  # type: ignore[no-untyped-def]
    tiny_walker: Any, signer: Any, tmp_path: Path, schema_validator
) -> None:
    from provenance.read import ReadOptions, read_media

    graph = json.dumps({"1": {"class_type": "KSampler"}}).encode()
    data = signer.sign(
        manifest("tone.wav"), "audio/wav", wav_with_info({b"ISFT": b"Test Tone Generator 2", b"ICMT": graph})
    )
    extracted = read_media(io.BytesIO(data), len(data), "tone.wav", ReadOptions())
    by_field = {e.field: e for e in extracted.evidence if e.source == "riff-info"}
    assert by_field["ISFT"].value == "Test Tone Generator 2" and by_field["ICMT"].data == json.loads(graph)
    assert extracted.readers == ("container", "xmp", "c2pa") and extracted.credentials.state == "valid"
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "test.toml").write_text(RULE, encoding="utf-8")
    path = tmp_path / "tone.wav"
    path.write_bytes(data)
    report = check(path, api.make_options(rules_dirs=[tmp_path / "rules"]))
    out = _valid(report, schema_validator)
    finding = next(f for f in out["findings"] if f["rule"] == "TESTMEDIA-001")
    assert finding["source"] == "riff-info" and finding["field"] == "ISFT"
    raw = report.to_dict(verbose=True)["raw"]
    assert ("riff-info", "ISFT", "Test Tone Generator 2") in [(r["source"], r["field"], r["value"]) for r in raw]


def test_a_walker_that_fails_leaves_the_credentials_checked(tiny_walker: Any, signed: dict[str, bytes]) -> None:
    tiny_walker.MODE["mode"] = "raise"
    out = check_bytes(signed["wav"], "tone.wav").to_dict()
    assert out["credentials"]["state"] == "valid" and out["verdict"] == "ai-generated"
    assert "container" not in out["readers"] and "c2pa" in out["readers"]
    assert any(i["kind"] == "reader-failed" and "walker bug" in i["message"] for i in out["issues"])
    assert "file-structure check failed" in out["summary"]


def test_no_media_data_is_truncated_but_an_init_segment_is_read(tiny_walker: Any, signed: dict[str, bytes]) -> None:
    tiny_walker.MODE["mode"] = "no-data"
    out = check_bytes(signed["wav"], "tone.wav").to_dict()
    assert out["verdict"] == "error" and out["error"]["kind"] == "truncated"
    tiny_walker.MODE["mode"] = "init"
    out = check_bytes(signed["wav"], "tone.wav").to_dict()
    assert out["verdict"] == "ai-generated" and out["credentials"]["state"] == "valid"


def test_a_walker_that_reports_truncation_fails_the_structure_check(tiny_walker: Any) -> None:
    data = wav()
    cut = data[:4] + struct.pack("<I", len(data) + 92) + data[8:] + b"LIST" + struct.pack("<I", 100) + b"INFO"
    out = check_bytes(cut, "tone.wav").to_dict()
    assert "container" not in out["readers"]
    assert any(i["source"] == "container" and i["kind"] == "reader-failed" for i in out["issues"])


def test_an_init_segment_read_alone_says_the_fragments_are_needed_in_every_renderer(  # type: ignore[no-untyped-def]
    tiny_walker: Any, signed: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, schema_validator
) -> None:
    monkeypatch.setitem(media.MEDIA_TYPES, "video/mp4", ("video", "tests.read.tiny_walker", True))
    tiny_walker.MODE["mode"] = "init"
    report = check_bytes(flip_in(signed["mp4"], b"mdat", 100), "init.mp4")
    out = _valid(report, schema_validator)
    assert out["credentials"]["state"] == "invalid" and out["credentials"]["note"] == media.FRAGMENTS_NEEDED
    mismatch = next(v for v in out["credentials"]["validation"] if v["code"] == "assertion.bmffHash.mismatch")
    assert mismatch["meaning"] == media.FRAGMENTS_MEANING
    assert "fragments" in out["summary"] and "changed after signing" not in out["summary"]
    panel = _panel(report)
    assert "not validated: the fragments are needed" in panel and "content changed after signing" not in panel
    page = html.render_html([out])
    assert "changed after signing" not in page and "its hash covers them" in page
    tiny_walker.MODE["mode"] = ""  # the same bytes as a whole file: the content did change
    whole = check_bytes(flip_in(signed["mp4"], b"mdat", 100), "clip.mp4").to_dict()
    assert whole["credentials"]["note"] is None and "changed after signing" in whole["summary"]


@pytest.mark.parametrize("kind", ["mp4", "wav"])
def test_cut_and_flipped_media_always_give_a_report(signed: dict[str, bytes], kind: str, schema_validator) -> None:  # type: ignore[no-untyped-def]
    data = signed[kind]
    inputs = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 97))]
    for at in range(0, len(data), max(1, len(data) // 61)):
        flipped = bytearray(data)
        flipped[at] ^= 0xFF
        inputs.append(bytes(flipped))
    for sample in inputs:
        out = check_bytes(sample, f"x.{kind}").to_dict()
        assert out["verdict"] in ("ai-generated", "no-evidence", "error", "ai-edited", "captured")
        assert (out["error"] or {}).get("kind") != "internal-error", out["error"]
        assert not list(schema_validator.iter_errors(out))


def test_a_damaged_header_of_a_read_format_is_not_called_unsupported() -> None:
    from provenance.api import check_bytes

    for data in (b"\x1a\x45\xdf\xa3\x80", b"\x00\x00\x00\x10ftypM4A \x00\x00\x00\x00", b"ID3\x04"):
        report = check_bytes(data, "damaged")
        assert report.verdict == "error" and report.error is not None
        assert "not supported yet" not in report.error.message, report.error.message
    wav = check_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk", "damaged.wav")
    assert wav.error is not None and "has no data chunk" in wav.error.message
