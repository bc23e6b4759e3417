"""What a new user meets first: closing counts, errors that name the format, options, help, the terminal panel."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from provenance.api import check_bytes
from provenance.read import container
from provenance.render.text import DECISIVE_NOTE, render, shorten
from provenance.scan import ScanError, read_list
from tests.conftest import REPO, png_bytes, run_cli

A1111 = "a cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: exampleModel"


def _run(*args: str, stdin: bytes | None = None, columns: int = 400) -> subprocess.CompletedProcess[bytes]:
    """``python -m provenance`` with a wide terminal width, so that no line is wrapped."""
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb"}
    command = [sys.executable, "-m", "provenance", *args]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=300, cwd=REPO, env=env)


@pytest.fixture()
def mixed(tmp_path: Path) -> Path:
    (tmp_path / "ai.png").write_bytes(png_bytes(text={"parameters": A1111}))
    (tmp_path / "plain.png").write_bytes(png_bytes())
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "random.jpg").write_bytes(bytes((i * 73 + 11) % 256 for i in range(512)))
    return tmp_path


# --- 1. check on several files ends with a line of counts ------------------------------------------


def test_check_on_several_files_ends_with_counts(mixed: Path) -> None:
    result = _run("check", "--format", "text", str(mixed))
    assert result.returncode == 2
    last = result.stdout.decode().rstrip().splitlines()[-1]
    assert last == "4 files: 1 ai-generated, 1 no-evidence; 1 flagged; 2 errors (empty 1, not-an-image 1)"


def test_check_on_one_file_has_no_counts_and_json_is_untouched(mixed: Path) -> None:
    one = _run("check", "--format", "text", str(mixed / "ai.png"))
    assert one.returncode == 1 and "files:" not in one.stdout.decode()
    as_json = _run("check", "--format", "json", str(mixed))
    assert len(json.loads(as_json.stdout)) == 4  # the whole output is the JSON array
    as_jsonl = _run("check", "--format", "jsonl", str(mixed))
    assert [json.loads(line)["verdict"] for line in as_jsonl.stdout.decode().splitlines()] == [
        "ai-generated",
        "error",
        "no-evidence",
        "error",
    ]


# --- 2. README quick start ---------------------------------------------------------------------------


def test_readme_quick_start_says_the_samples_exit_2_and_lists_the_formats() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Set up and run", 1)[1].split("## Sample output", 1)[0]
    assert "exits with code 2, on purpose" in quick
    broken = sorted(p.name for p in (REPO / "samples_benign").iterdir() if p.name.startswith("broken_"))
    assert broken and all(f"`{name}`" in quick for name in broken), "every broken sample is named"
    for code in ("`0`", "`1`", "`2`"):
        assert code in quick
    assert container.SUPPORTED_FORMATS in quick.replace("**", "").replace("TIFF (and\nBigTIFF, DNG)", "TIFF")
    assert "`unsupported-format`" in quick
    # The promise holds: the bundled samples give exit code 2.
    result = run_cli("check", "--format", "json", str(REPO / "samples_benign"))
    assert result.returncode == 2
    assert {r["path"].rsplit("/", 1)[-1] for r in json.loads(result.stdout) if r["verdict"] == "error"} == set(broken)


def test_supported_formats_sentence_matches_what_sniff_reads() -> None:
    samples = {
        "JPEG": b"\xff\xd8\xff\xe0",
        "PNG": b"\x89PNG\r\n\x1a\n",
        "GIF": b"GIF89a",
        "WebP": b"RIFF\0\0\0\0WEBPVP8 ",
        "TIFF": b"II*\0",
        "JPEG XL": b"\xff\x0a",
        "AVIF": b"\0\0\0\x1cftypavif",
        "HEIC/HEIF": b"\0\0\0\x1cftypheic",
        "BMP": b"BM" + b"\0" * 30,
        "SVG": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
    }
    for name, data in samples.items():
        assert name in container.SUPPORTED_FORMATS
        assert container.sniff(data) is not None, name


# --- 3. known but unsupported formats are named, never dumped ------------------------------------------

UNSUPPORTED = [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "a PDF document: not an image"),
    (b"\0\0\0\x14ftyp3gp5\0\0\0\0isom", "a 3GP video: not supported yet"),
    (b"FLV\x01\x05" + b"\0" * 16, "a Flash (FLV) video: not supported yet"),
    (b"PK\x03\x04\x14\0\0\0\x08\0", "a ZIP archive: not an image"),
]

#: Video and audio headers that used to be "not supported yet": now read as media (issue 12).
MEDIA_HEADERS = [
    (b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41", "video/mp4"),
    (b"\0\0\0\x14ftypqt  \0\0\0\0qt  ", "video/quicktime"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm", "video/webm"),
    (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
    (b"ID3\x04\0\0\0\0\0\x10" + b"\0" * 16, "audio/mpeg"),
    (b"\xff\xfb\x90\x64" + b"\0" * 400, "audio/mpeg"),
    (b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0", "audio/wav"),
    (b"RIFF\x24\0\0\0AVI LIST", "video/x-msvideo"),
    (b"fLaC\0\0\0\x22", "audio/flac"),
    (b"OggS\0\x02" + b"\0" * 20, "audio/ogg"),
]


@pytest.mark.parametrize(("data", "media_type"), MEDIA_HEADERS, ids=[m for _, m in MEDIA_HEADERS])
def test_video_and_audio_are_read_not_unsupported(data: bytes, media_type: str, schema_validator) -> None:  # type: ignore[no-untyped-def]
    report = check_bytes(data + b"\0" * 64, "upload")
    assert report.media_type == media_type
    assert report.error is None or report.error.kind != "unsupported-format"
    assert not list(schema_validator.iter_errors(report.to_dict()))


@pytest.mark.parametrize(("data", "said"), UNSUPPORTED, ids=[s.split(":")[0] for _, s in UNSUPPORTED])
def test_unsupported_format_is_named_without_bytes(data: bytes, said: str, schema_validator) -> None:  # type: ignore[no-untyped-def]
    report = check_bytes(data + b"\0" * 64, "upload")
    assert report.verdict == "error" and report.error is not None
    assert report.error.kind == "unsupported-format"
    assert report.error.message.startswith(said)
    assert container.SUPPORTED_FORMATS in report.error.message
    _no_bytes(report.error.message + report.summary, data)
    assert not list(schema_validator.iter_errors(report.to_dict()))


def _no_bytes(text: str, data: bytes) -> None:
    """No hex dump of the file's first bytes, in any spacing."""
    compact = text.replace(" ", "").lower()
    assert data[:4].hex() not in compact and "firstbytes" not in compact, text


def test_unknown_bytes_and_text_are_not_an_image_without_bytes() -> None:
    noise = bytes((i * 73 + 11) % 256 for i in range(4096))
    report = check_bytes(noise, "noise.jpg")
    assert report.error is not None and report.error.kind == "not-an-image"
    assert report.error.message == "not a recognised image format (4096 bytes; unknown format)"
    _no_bytes(report.summary, noise)
    text = check_bytes(b"# notes\nsee photo.jpg\n", "notes.md")
    assert text.error is not None and text.error.message == "not a recognised image format (22 bytes; plain text)"
    one = check_bytes(b"\0", "one")
    assert one.error is not None and "(1 byte;" in one.error.message


def test_truncated_chunk_messages_name_the_chunk_type_only_when_it_is_one() -> None:
    data = png_bytes()
    named = check_bytes(data[: 33 + 8 + 10], "cut.png")  # IHDR, then 10 bytes into the next chunk
    assert named.error is not None and named.error.kind == "truncated"
    assert re.search(r"PNG chunk '[A-Za-z]{4}' at byte 33", named.error.message), named.error.message
    garbage = bytearray(data[: 33 + 8 + 10])
    garbage[37:41] = b"\x01\x02\xff\x00"
    report = check_bytes(bytes(garbage), "cut.png")
    assert report.error is not None and report.error.kind == "truncated"
    assert "PNG chunk of no valid type at byte 33" in report.error.message
    assert "\\x" not in report.error.message and "\\x" not in report.summary


def test_folder_walk_passes_over_pdf_like_txt_but_a_named_pdf_is_reported(tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(png_bytes())
    (tmp_path / "notes.txt").write_text("notes")
    (tmp_path / "brief.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    (tmp_path / "clip.mp4").write_bytes(b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41" + b"\0" * 64)
    walked = _run("check", "--format", "json", str(tmp_path))
    reports = {Path(r["path"]).name: r for r in json.loads(walked.stdout)}
    assert sorted(reports) == ["clip.mp4", "img.png"], "a PDF is passed over like .txt; a video is reported"
    assert reports["clip.mp4"]["media_type"] == "video/mp4"
    assert (reports["clip.mp4"]["error"] or {}).get("kind") != "unsupported-format"
    named = _run("check", "--format", "text", str(tmp_path / "brief.pdf"))
    assert named.returncode == 2
    out = named.stdout.decode()
    assert "error kind: unsupported-format" in out and "a PDF document: not an image" in out
    scanned = _run("scan", str(tmp_path))
    assert [Path(json.loads(line)["path"]).name for line in scanned.stdout.decode().splitlines()] in (
        ["clip.mp4", "img.png"],
        ["img.png", "clip.mp4"],
    )


# --- 4. options validated alike; help; --files-from - -0 with lines ---------------------------------------


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_jobs_below_one_is_refused_alike_by_check_and_scan(tmp_path: Path, jobs: str) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    said = []
    for command in ("check", "scan"):
        result = _run(command, "--jobs", jobs, str(image))
        assert result.returncode == 2 and result.stdout == b""
        said.append(result.stderr.decode())
    expected = f"provenance: error: --jobs must be at least 1 (got {jobs}); leave it out to use every core\n"
    assert said[0] == said[1] == expected


def test_config_jobs_below_one_is_refused_alike(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    config = tmp_path / "config.toml"
    config.write_text("jobs = 0\n")
    for command in ("check", "scan"):
        result = _run(command, "--config", str(config), str(image))
        assert result.returncode == 2, command
        assert "config setting jobs must be a whole number of at least 1 (got 0)" in result.stderr.decode()
    config.write_text("jobs = 1\n")
    assert _run("check", "--format", "json", "--config", str(config), str(image)).returncode == 0


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf"])
def test_timeout_not_a_positive_number_is_refused_alike(tmp_path: Path, timeout: str) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    said = []
    for command in ("check", "scan"):
        result = _run(command, f"--timeout={timeout}", str(image))
        assert result.returncode == 2 and result.stdout == b""
        said.append(result.stderr.decode())
    assert said[0] == said[1] and "--timeout must be a positive number of seconds" in said[0]
    config = tmp_path / "config.toml"
    config.write_text('timeout = "ten"\n')
    for command in ("check", "scan"):
        result = _run(command, "--config", str(config), str(image))
        assert result.returncode == 2 and "internal error" not in result.stderr.decode()
        assert "config setting timeout must be a number of seconds" in result.stderr.decode()


@pytest.mark.parametrize("command", ["check", "scan"])
def test_help_lists_exit_codes_defaults_and_the_watermarks_extra(command: str) -> None:
    result = _run(command, "--help", columns=100)
    assert result.returncode == 0
    text = " ".join(result.stdout.decode().split())
    for needle in (
        "Exit codes:",
        "0 every file analysed, none flagged",
        "1 at least one file flagged",
        "2 usage error, or at least one file could not be analysed",
        "Seconds allowed per file (default: 10)",
        "pip install 'provenance[watermarks]'",
        "Worker processes, at least 1 (default: every core)",
    ):
        assert needle in text, needle


def test_files_from_stdin_with_nul_but_newline_separated_input_says_so(tmp_path: Path) -> None:
    images = []
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(png_bytes())
        images.append(str(tmp_path / name))
    listing = ("\n".join(images) + "\n").encode()
    result = _run("scan", "--files-from", "-", "-0", stdin=listing)
    assert result.returncode == 2
    assert "drop -0, or make the list with find -print0" in result.stderr.decode()
    assert result.stdout == b"", "nothing was checked"
    fine = _run("scan", "--files-from", "-", stdin=listing)
    assert fine.returncode == 0 and len(fine.stdout.splitlines()) == 2


def test_read_list_refuses_lines_under_nul_early_and_keeps_real_nul_lists() -> None:
    with pytest.raises(ScanError, match="no NUL byte"):
        list(read_list(io.BytesIO(b"a.png\n"), nul=True))
    long_list = io.BytesIO(b"".join(f"img{i:05d}.png\n".encode() for i in range(20000)))
    taken = read_list(long_list, nul=True, chunk=1024)
    with pytest.raises(ScanError):
        next(taken)
    assert long_list.tell() < 20000 * 13, "refused before the whole list was read"
    assert list(read_list(io.BytesIO(b"x\ny\0z\0"), nul=True, chunk=2)) == ["x\ny", "z"]
    assert list(read_list(io.BytesIO(b"single.png"), nul=True)) == ["single.png"]


# --- 5. the terminal panel ---------------------------------------------------------------------------------


def _panel(data: bytes, name: str, width: int = 300) -> str:
    out = io.StringIO()
    render(check_bytes(data, name), Console(file=out, width=width, color_system=None), verbose=False)
    return out.getvalue()


def test_decisive_mark_is_explained_under_the_table() -> None:
    text = _panel(png_bytes(text={"parameters": A1111}), "ai.png")
    assert "A1111-001*" in text and DECISIVE_NOTE in text
    plain = _panel(png_bytes(text={"Software": "GIMP 2.10"}), "plain.png")
    assert "*" not in plain and DECISIVE_NOTE not in plain


def test_long_finding_messages_are_cut_at_a_word_boundary() -> None:
    words = " ".join(f"step{i}=upscaled" for i in range(60))
    text = _panel(png_bytes(text={"parameters": A1111, "postprocessing": words}), "long.png", width=1000)
    (row,) = [line for line in text.splitlines() if "A1111-005" in line]
    shown = re.search(r"Post-processed in a Stable Diffusion WebUI: (.*?)\.\.\.", row)
    assert shown is not None, row
    kept = shown.group(1).split(" ")
    assert kept == words.split(" ")[: len(kept)], "only whole words are kept"
    assert len("Post-processed in a Stable Diffusion WebUI: " + shown.group(1)) <= 237


def test_shorten_cuts_at_words_but_not_a_single_long_token() -> None:
    assert shorten("short", 240) == "short"
    cut = shorten("alpha beta gamma delta " * 20, 50)
    assert cut == "alpha beta gamma delta alpha beta gamma delta..."
    token = "x" * 300
    assert shorten(token, 240) == "x" * 237 + "..."


def test_error_panel_states_its_message_once_and_no_confidence() -> None:
    text = _panel(b"%PDF-1.7\n" + b"\0" * 64, "brief.pdf")
    assert text.count("a PDF document: not an image") == 1
    assert "confidence" not in text and "error kind: unsupported-format" in text
    truncated = (REPO / "samples_benign" / "broken_truncated.jpg").read_bytes()
    text = _panel(truncated, "cut.jpg")
    assert text.count("the file ends inside the JPEG header") == 1, text
    assert f"image/jpeg, {len(truncated)} bytes" in text and "confidence" not in text


def test_one_byte_not_one_bytes() -> None:
    text = _panel(b"\0", "one.bin")
    assert "(1 byte;" in text and "1 bytes" not in text
