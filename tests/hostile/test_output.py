"""Hostile metadata in the output: JSON stays valid, HTML is escaped, the terminal is not driven by the file.

Metadata values (a model name, a signer's name, a PNG text key) are chosen
by whoever made the file. In JSON they are data; in HTML they must be
escaped; in the terminal they must neither be read as Rich markup nor
reach the terminal as escape sequences (which could clear the screen or
rewrite the verdict line above them).
"""

from __future__ import annotations

import html
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES, png_bytes
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


# --- Every class of hostile text, through every renderer for people ----------------------
#
# A file name is any bytes but "/" and NUL; a metadata value any text, lone surrogates from
# JSON escapes included. Each renderer must finish for the whole batch, and nothing in its
# output may drive a terminal or reorder text: no C0/C1 control (but newline, tab), no DEL,
# no bidirectional control, no lone surrogate. What was escaped is shown as the escape.

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: File names, as bytes: each class of control, bidi, and undecodable bytes.
HOSTILE_NAMES = [
    b"clear\x1b[2J.png",
    b"osc52\x1b]52;c;cHduZWQ=\x07.png",
    b"bell\x07.png",
    b"c1csi\xc2\x9b31m.png",  # U+009B, the 8-bit CSI
    b"rawc1\x9b31m.png",  # the byte 0x9B alone: not UTF-8
    b"invoice\xe2\x80\xaegnp.exe.png",  # U+202E: would read "invoice" + "png.exe" reversed
    b"iso\xe2\x81\xa6late\xe2\x81\xa9.png",  # U+2066, U+2069
    b"marks\xe2\x80\x8f\xd8\x9c.png",  # U+200F, U+061C
    b"del\x7f.png",
    b"cr\rreturn.png",
    b"new\nline.png",
    b"bad\xff\xfe.png",
    b"lone\xed\xa0\x80.png",  # a UTF-8-encoded surrogate: invalid, three undecodable bytes
]
#: Metadata values: the same classes, plus a lone surrogate from a JSON escape.
HOSTILE_VALUES = [
    "m\x1b[2Jx",
    "m\x1b]52;c;cHduZWQ=\x07x",
    "m\x07\x08x",
    "m\x9b31mx",
    "m\u202egnp.exex",
    "m\u2066\u2069\u200e\u061cx",
    "m\x7f\rx",
    "m\x00x",
]


WIDE = {**os.environ, "COLUMNS": "200"}


def unsafe(text: str, newlines: bool = True) -> list[str]:
    """What in ``text`` must never reach a terminal or a page."""
    allowed = "\n\t" if newlines else ""
    return [
        ch
        for ch in text
        if (ord(ch) < 0x20 and ch not in allowed)
        or 0x7F <= ord(ch) <= 0x9F
        or 0xD800 <= ord(ch) <= 0xDFFF
        or ch in BIDI
    ]


def shown(name: bytes) -> str:
    """How a name must appear in output for people."""
    from provenance.render.safe import visible_line

    return visible_line(os.fsdecode(name))


def on_terminal(*args: str, stream: str = "stdout", env: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """Run the CLI with ``stream`` on a pseudo-terminal 200 columns wide: (exit code, what the terminal got, the
    other stream)."""
    import fcntl
    import pty
    import struct
    import subprocess
    import sys
    import termios
    import threading

    from tests.conftest import REPO

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    streams = {"stdout": follower, "stderr": subprocess.PIPE} if stream == "stdout" else {"stdout": subprocess.PIPE}
    if stream == "stderr":
        streams["stderr"] = follower
    try:
        process = subprocess.run(
            [sys.executable, "-m", "provenance", *args],
            cwd=REPO,
            timeout=180,
            env={**os.environ, "COLUMNS": "200", "LINES": "60", "TERM": "xterm", **(env or {})},
            **streams,  # type: ignore[arg-type]
        )
    finally:
        os.close(follower)
        reader.join(30)
        os.close(leader)
    other = process.stderr if stream == "stdout" else process.stdout
    raw = b"".join(chunks).replace(b"\r\n", b"\n")
    return process.returncode, raw.decode("utf-8", "surrogateescape"), other


def _terminal_text(raw: str) -> str:
    """What a terminal shows, less the styling and cursor work of rich itself (colours, the progress bar)."""
    import re

    return re.sub(r"\x1b\[\??[0-9;]*[A-Za-z]", "", raw).replace("\r", "")


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    """For each hostile name: an AI-generated PNG whose model name is hostile, and a broken PNG."""
    folder = tmp_path_factory.mktemp("hostile-names")
    names: list[bytes] = []
    for number, name in enumerate(HOSTILE_NAMES):
        model = HOSTILE_VALUES[number % len(HOSTILE_VALUES)]
        good = os.path.join(os.fsencode(folder), name)
        Path(os.fsdecode(good)).write_bytes(png_bytes(size=(8, 8), text={"parameters": INFOTEXT.format(model=model)}))
        broken = os.path.join(os.fsencode(folder), b"broken-" + name)
        Path(os.fsdecode(broken)).write_bytes(b"\x89PNG\r\n\x1a\n")
        names += [good, broken]
    return folder, sorted(names)


def _assert_names_shown(output: str, names: list[bytes], escape_html: bool = False) -> None:
    output = without_breaks(output)
    for name in names:
        base = shown(os.path.basename(name))
        assert (html.escape(base, quote=True) if escape_html else base) in output, base


def test_hostile_names_and_values_on_a_terminal(hostile_tree: tuple[Path, list[bytes]]) -> None:
    folder, names = hostile_tree
    code, out, err = on_terminal("check", "--verbose", str(folder))
    assert code == 2, err.decode(errors="replace")[-2000:]
    assert b"internal error" not in err and b"Traceback" not in err
    text = _terminal_text(out)
    assert not unsafe(text), unsafe(text)
    _assert_names_shown(text, names)
    assert "m\\x1b[2Jx" in text and "m\\u202egnp.exex" in text and "m\\x9b31mx" in text


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_hostile_names_and_values_in_files(hostile_tree: tuple[Path, list[bytes]], tmp_path: Path, fmt: str) -> None:
    folder, names = hostile_tree
    out = tmp_path / f"out.{fmt}"
    result = cli("check", "--format", fmt, "--verbose", "--out", str(out), str(folder), env=WIDE)
    assert result.returncode == 2, result.stderr.decode(errors="replace")[-2000:]
    text = out.read_bytes().decode("utf-8")  # strict: no lone surrogate was written either
    assert not unsafe(text), unsafe(text)
    _assert_names_shown(text, names, escape_html=fmt == "html")
    assert text.count("AI-GENERATED" if fmt == "text" else 'data-v="ai-generated"') >= len(HOSTILE_NAMES)


@pytest.mark.parametrize("where", ["stdout", "out", "terminal"])
def test_hostile_names_and_values_in_csv(hostile_tree: tuple[Path, list[bytes]], tmp_path: Path, where: str) -> None:
    import csv
    import io

    from provenance.render.csv import COLUMNS, csv_path

    folder, names = hostile_tree
    if where == "terminal":
        code, raw, _ = on_terminal("scan", "--format", "csv", str(folder))
        text = _terminal_text(raw)
    else:
        args = ["scan", "--format", "csv", str(folder)] + (["--out", str(tmp_path / "o.csv")] if where == "out" else [])
        result = cli(*args)
        code = result.returncode
        data = (tmp_path / "o.csv").read_bytes() if where == "out" else result.stdout
        text = data.decode("utf-8")
    assert code == 2
    assert not unsafe(text.replace("\n", "")), unsafe(text)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 1 + len(names), "one line per file"
    by_path = {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    assert set(by_path) == {csv_path(os.fsdecode(n)) for n in names}
    for name in names:
        row = by_path[csv_path(os.fsdecode(name))]
        if os.path.basename(name).startswith(b"broken-"):
            assert row["verdict"] == "error" and row["error"].startswith("truncated:")
        else:
            assert row["verdict"] == "ai-generated" and "WebUI m" in row["generator"], row


@pytest.mark.parametrize("terminal", [False, True])
def test_scan_error_lines_escape_names(hostile_tree: tuple[Path, list[bytes]], tmp_path: Path, terminal: bool) -> None:
    folder, names = hostile_tree
    broken = [n for n in names if os.path.basename(n).startswith(b"broken-")]
    out = tmp_path / "o.jsonl"
    if terminal:
        code, raw, _ = on_terminal("scan", "--out", str(out), str(folder), stream="stderr")
        text = _terminal_text(raw)
    else:
        result = cli("scan", "--out", str(out), str(folder))
        code, text = result.returncode, result.stderr.decode("utf-8")
    assert code == 2
    assert not unsafe(text), unsafe(text)
    for name in broken:
        assert f"provenance: error: {shown(name)}: truncated:" in text.replace("\n", ""), shown(name)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {os.fsencode(r["path"]) for r in records} == set(names), "JSON keeps the exact names"


def test_csv_resume_matches_escaped_names(hostile_tree: tuple[Path, list[bytes]], tmp_path: Path) -> None:
    folder, names = hostile_tree
    out, summary = tmp_path / "o.csv", tmp_path / "summary.json"
    assert cli("scan", "--format", "csv", "--out", str(out), str(folder)).returncode == 2
    again = cli("scan", "--format", "csv", "--resume", "--out", str(out), "--summary-json", str(summary), str(folder))
    assert again.returncode == 2
    counts = json.loads(summary.read_text())
    good = len(names) // 2
    assert (counts["resumed"], counts["checked"]) == (good, len(names) - good), "only the errors are checked again"
    assert len(out.read_text().splitlines()) == 1 + len(names), "each file once"


def test_text_on_a_terminal_that_cannot_encode_everything(tmp_path: Path) -> None:
    path = tmp_path / "caf\u00e9 \u2713.png"
    path.write_bytes(png_bytes(size=(8, 8), text={"parameters": INFOTEXT.format(model="mod\u00e8le \u2600")}))
    samples = [str(SAMPLES / "c2pa_ai_edited.png")] if (SAMPLES / "c2pa_ai_edited.png").is_file() else []
    result = cli(
        "check", "--format", "text", "--verbose", str(path), *samples, env={**os.environ, "PYTHONIOENCODING": "ascii"}
    )
    assert result.returncode == 1, result.stderr.decode(errors="replace")[-2000:]
    assert b"internal error" not in result.stderr
    assert b"caf\\xe9 \\u2713.png" in result.stdout and b"mod\\xe8le \\u2600" in result.stdout


# --- One lone surrogate in metadata (a JSON \ud800 escape) must not cost a batch its output ----


COMFY_PROMPT = (
    '{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "evil\\ud800.safetensors"}}, '
    '"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}}}'
)
SHOWN_MODEL = "evil\\ud800.safetensors"


@pytest.fixture(scope="module")
def surrogate_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ComfyUI PNG whose checkpoint name decodes to a lone surrogate, one whose name is not UTF-8, and a
    plain one."""
    folder = tmp_path_factory.mktemp("surrogates")
    (folder / "comfy.png").write_bytes(png_bytes(size=(8, 8), text={"prompt": COMFY_PROMPT}))
    bad = os.path.join(os.fsencode(folder), b"name \xff\xfe.png")
    Path(os.fsdecode(bad)).write_bytes(png_bytes(size=(8, 8), text={"parameters": INFOTEXT.format(model="m1")}))
    (folder / "plain.png").write_bytes(png_bytes(size=(8, 8)))
    return folder


def without_breaks(page: str) -> str:
    """The page's text without the ``<wbr>`` break points long tokens get: the words a reader sees."""
    return page.replace("<wbr>", "")


def _all_three(text: str) -> None:
    text = without_breaks(text)
    assert SHOWN_MODEL in text, "the checkpoint name, with its surrogate escaped"
    assert "name \\xff\\xfe.png" in text, "the name, its undecodable bytes escaped"
    assert "plain.png" in text


def test_surrogate_in_metadata_text_on_a_terminal(surrogate_tree: Path) -> None:
    code, out, err = on_terminal("check", str(surrogate_tree))
    assert code == 1, err.decode(errors="replace")
    assert b"internal error" not in err
    text = _terminal_text(out)
    _all_three(text)
    assert text.count("AI-GENERATED") == 2 and "NO-EVIDENCE" in text


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_surrogate_in_metadata_text_and_html_files(surrogate_tree: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"o.{fmt}"
    result = cli("check", "--format", fmt, "--out", str(out), str(surrogate_tree), env=WIDE)
    assert result.returncode == 1, result.stderr.decode(errors="replace")
    text = out.read_bytes().decode("utf-8")
    _all_three(text)
    piped = cli("check", "--format", fmt, str(surrogate_tree), env=WIDE)
    assert piped.returncode == 1 and piped.stdout.decode("utf-8") != ""
    _all_three(piped.stdout.decode("utf-8"))


def test_surrogate_in_metadata_json_keeps_the_path_exact(surrogate_tree: Path) -> None:
    result = cli("check", "--format", "json", str(surrogate_tree))
    reports = {os.fsencode(r["path"]): r for r in json.loads(result.stdout)}
    assert os.path.join(os.fsencode(surrogate_tree), b"name \xff\xfe.png") in reports
    comfy = reports[os.fsencode(surrogate_tree / "comfy.png")]
    assert comfy["verdict"] == "ai-generated"
    assert comfy["findings"][0]["model"] == SHOWN_MODEL
    json.dumps(comfy, ensure_ascii=False).encode("utf-8")  # strict: every string is valid Unicode


def test_surrogate_in_metadata_report_page(surrogate_tree: Path, tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_bytes(cli("check", "--format", "jsonl", str(surrogate_tree)).stdout)
    page = tmp_path / "page.html"
    result = cli("report", str(results), "--out", str(page))
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    _all_three(page.read_text(encoding="utf-8"))
    # Results written by an older version (or by hand) may hold the lone surrogate itself.
    old = tmp_path / "old.jsonl"
    record = json.loads(results.read_text().splitlines()[0])
    record["summary"] = "model evil\ud800 \x1b[2J\u202e"
    old.write_text(json.dumps(record) + "\n" + results.read_text(), encoding="ascii")
    result = cli("report", str(old))
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    text = result.stdout.decode("utf-8")
    assert "model evil\\ud800 \\x1b[2J\\u202e" in text
    _all_three(text)


def test_surrogate_in_metadata_scan_csv(surrogate_tree: Path) -> None:
    import csv
    import io

    result = cli("scan", "--format", "csv", str(surrogate_tree))
    assert result.returncode == 1, result.stderr.decode(errors="replace")
    rows = {os.path.basename(r[0]): r for r in csv.reader(io.StringIO(result.stdout.decode("utf-8"), newline=""))}
    assert rows["comfy.png"][1] == "ai-generated" and rows["comfy.png"][7] == ""
    assert rows["comfy.png"][5] == f"ComfyUI {SHOWN_MODEL}"
    assert rows["name \\xff\\xfe.png"][1] == "ai-generated"


def _asgi_post(app: Any, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """One request through the ASGI app, in process, as the server would make it."""
    import anyio

    async def go() -> list[dict[str, Any]]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8123),
        }
        given = False
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent

    # In a thread of its own: a browser test's sync Playwright may keep an event loop running in this one.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as thread:
        messages = thread.submit(anyio.run, go).result()
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def test_surrogate_in_metadata_and_hostile_names_in_serve(surrogate_tree: Path) -> None:
    pytest.importorskip("starlette")
    from provenance.api import Options
    from provenance.serve import Settings, create_app

    settings = Settings(port=8123, token="tok", max_upload_bytes=10**7, options=Options())
    comfy = (surrogate_tree / "comfy.png").read_bytes()
    boundary = "----hostile"
    body = b""
    for name in ["comfy.png", "x\u202egnp.exe", "clear\x1b[2J.png", "plain.png"]:
        data = comfy if name != "plain.png" else (surrogate_tree / "plain.png").read_bytes()
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                "Content-Type: image/png\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    headers = {
        "host": "127.0.0.1:8123",
        "authorization": "Bearer tok",
        "origin": "http://127.0.0.1:8123",
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": str(len(body)),
    }
    status, page = _asgi_post(create_app(settings), "/check", headers, body)
    assert status == 200
    text = without_breaks(page.decode("utf-8"))
    assert not unsafe(text), unsafe(text)
    assert text.count(SHOWN_MODEL) >= 3 and "plain.png" in text
    assert "x\\u202egnp.exe" in text and "clear\\x1b[2J.png" in text


# --- A report a renderer cannot draw costs only itself --------------------------------------


class _Unprintable:
    """A value whose text cannot be made (stands for any renderer bug met on one record)."""

    def __str__(self) -> str:
        raise RuntimeError("cannot draw this")


def test_one_card_the_page_cannot_draw_costs_only_itself() -> None:
    from provenance.api import check_bytes
    from provenance.render.html import render_html

    good = check_bytes(png_bytes(size=(8, 8), text={"parameters": INFOTEXT.format(model="m1")}), "good.png").to_dict()
    other = check_bytes(png_bytes(size=(8, 8)), "other.png").to_dict()
    bad = {**good, "path": "bad\x1b[2J.png", "confidence": _Unprintable(), "summary": _Unprintable()}
    page = without_breaks(render_html([good, bad, other]))
    assert page.count("good.png") >= 2 and page.count("other.png") >= 2, "the row and the card of the others"
    assert "bad\\x1b[2J.png" in page and "could not be shown (RuntimeError); its verdict is ai-generated" in page
    assert not unsafe(page)


def test_one_panel_the_terminal_cannot_draw_costs_only_itself(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import provenance.render.text as text_renderer
    from provenance.cli import app

    real = text_renderer.render

    def failing_on_b(report: Any, console: Any, verbose: bool = False) -> None:
        if report.path.endswith("b\x1b[2J.png"):
            raise RuntimeError("cannot draw this")
        real(report, console, verbose)

    monkeypatch.setattr(text_renderer, "render", failing_on_b)
    paths = []
    for name in ("a.png", "b\x1b[2J.png", "c.png"):
        (tmp_path / name).write_bytes(png_bytes(size=(8, 8), text={"parameters": INFOTEXT.format(model=name[0])}))
        paths.append(str(tmp_path / name))
    out = tmp_path / "out.txt"
    result = CliRunner().invoke(app, ["check", "--format", "text", "--jobs", "1", "--out", str(out), *paths])
    assert result.exit_code == 1, result.output
    text = out.read_text(encoding="utf-8")
    assert "a.png" in text and "c.png" in text and text.count("AI-GENERATED") == 2
    assert "b\\x1b[2J.png: verdict ai-generated, but its report could not be shown (RuntimeError" in text
    assert not unsafe(text)


# --- Lone surrogates from every JSON carrier end as visible escapes in the report ------------

SURROGATE_ESCAPES = ["\\ud800", "\\udfff", "\\udc80", "\\ud83d", "\\ude00\\ud83d", "\\uDBFF\\u0041"]


def _carriers(escape: str) -> dict[str, bytes]:
    from PIL import Image, PngImagePlugin

    from tests.conftest import jpeg_bytes

    comfy = (
        '{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m' + escape + '.safetensors", '
        '"k' + escape + '": 1}}, "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}}}'
    )
    fooocus = '{"base_model": "m' + escape + '", "version": "Fooocus v2.5.5", "k' + escape + '": ["' + escape + '"]}'
    itxt = PngImagePlugin.PngInfo()
    itxt.add_itxt("parameters", fooocus)
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG", pnginfo=itxt)
    return {
        "png-text comfyui": png_bytes(size=(8, 8), text={"prompt": comfy}),
        "png-text fooocus": png_bytes(size=(8, 8), text={"parameters": fooocus}),
        "png-itxt fooocus": out.getvalue(),
        "jpeg-comment fooocus": jpeg_bytes(comment=fooocus.encode()),
        "exif-usercomment fooocus": jpeg_bytes(exif={0x9286: b"ASCII\0\0\0" + fooocus.encode()}),
    }


@pytest.mark.parametrize("escape", SURROGATE_ESCAPES)
def test_lone_surrogates_from_every_json_carrier_are_escaped(escape: str, schema_validator: Any) -> None:
    from provenance.api import check_bytes

    name = os.fsdecode(b"n\xff\x1b.png")
    for carrier, data in _carriers(escape).items():
        report = check_bytes(data, name)
        assert report.verdict == "ai-generated", (carrier, report.summary)
        data_out = report.to_dict(verbose=True)
        assert data_out["path"] == name, "the path stays exact"
        del data_out["path"]
        text = json.dumps(data_out, ensure_ascii=False)
        text.encode("utf-8")  # strict: no lone surrogate anywhere else
        model = next((f.model for f in report.findings if f.model), "")
        assert model.startswith("m\\u") or model.startswith("m\\x"), (carrier, model)
        assert model.encode("utf-8").decode("ascii"), "the surrogate is shown as an ASCII escape"
        schema_validator.validate(report.to_dict(verbose=True))


# --- Signed Content Credentials whose certificate name, claim generator and title are hostile ----

SIGNED_HOSTILE = "\x1b[2J\x1b]52;c;aGk=\x07\x9b31m\u202egnp.exe"
SIGNED_SHOWN = "\\x1b[2J\\x1b]52;c;aGk=\\x07\\x9b31m\\u202egnp.exe"


@pytest.fixture(scope="module")
def hostile_signed(samples_module: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A C2PA-signed AI image: the signer's certificate CN, the claim generator, the title and the
    software agent all carry terminal escapes and a right-to-left override."""
    from cryptography import x509

    real = x509.NameAttribute

    def hostile_cn(oid: Any, value: str, *args: Any, **kwargs: Any) -> Any:
        if value == "provenance TEST signer":
            value = "signer" + SIGNED_HOSTILE
        return real(oid, value, *args, **kwargs)

    x509.NameAttribute = hostile_cn  # type: ignore[misc]
    try:
        pki = samples_module.make_pki()  # the throwaway test chain, its signer named as above
    finally:
        x509.NameAttribute = real  # type: ignore[misc]
    creds = samples_module.Credentials(pki)
    dst = samples_module.DST + "trainedAlgorithmicMedia"
    manifest = {
        "claim_generator_info": [{"name": "Gen" + SIGNED_HOSTILE, "version": "1.0"}],
        "title": "T" + SIGNED_HOSTILE,
        "assertions": [
            samples_module.actions(
                {"action": "c2pa.created", "digitalSourceType": dst, "softwareAgent": {"name": "A" + SIGNED_HOSTILE}}
            )
        ],
    }
    picture = samples_module.encode(samples_module.picture(3, (64, 48)), "JPEG", quality=85)
    path = tmp_path_factory.mktemp("signed") / "signed\u202egpj.exe.jpg"
    path.write_bytes(creds.sign(manifest, "image/jpeg", picture))
    return path


def test_hostile_credentials_through_every_renderer(hostile_signed: Path, tmp_path: Path) -> None:
    import csv

    report = json.loads(cli("check", "--format", "json", str(hostile_signed)).stdout)[0]
    assert report["credentials"]["signer"] == "signer" + SIGNED_HOSTILE, "JSON keeps the exact value"
    assert report["verdict"] == "ai-generated" and report["credentials"]["state"] == "valid"

    code, raw, err = on_terminal("check", "--verbose", str(hostile_signed))
    assert code == 1, err.decode(errors="replace")
    text = _terminal_text(raw)
    for shown_value in ("signer" + SIGNED_SHOWN, "Gen" + SIGNED_SHOWN, "signed\\u202egpj.exe.jpg"):
        assert shown_value in text, shown_value
    assert not unsafe(text), unsafe(text)

    page_file = tmp_path / "page.html"
    assert cli("check", "--format", "html", "--out", str(page_file), str(hostile_signed)).returncode == 1
    page = without_breaks(page_file.read_text(encoding="utf-8"))
    assert not unsafe(page), unsafe(page)
    for shown_value in ("signer" + SIGNED_SHOWN, "Gen" + SIGNED_SHOWN, "T" + SIGNED_SHOWN, "signed\\u202egpj.exe.jpg"):
        assert html.escape(shown_value, quote=True) in page, shown_value

    code, raw, _ = on_terminal("scan", "--format", "csv", str(hostile_signed))
    text = _terminal_text(raw)
    assert not unsafe(text.replace("\n", "")), unsafe(text)
    (row,) = list(csv.DictReader(io.StringIO(text, newline="")))
    assert row["signer"] == "signer" + SIGNED_SHOWN and row["path"].endswith("signed\\u202egpj.exe.jpg")


@pytest.mark.parametrize("fmt", ["json", "jsonl", "html"])
def test_one_report_that_cannot_be_converted_costs_only_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fmt: str, schema_validator: Any
) -> None:
    from typer.testing import CliRunner

    from provenance.cli import app
    from provenance.report import Report

    real = Report.to_dict

    def failing_on_b(self: Report, verbose: bool = False) -> dict[str, Any]:
        if self.path.endswith("b.png") and self.findings:  # something in what was found, say
            raise RuntimeError("cannot convert this")
        return real(self, verbose)

    monkeypatch.setattr(Report, "to_dict", failing_on_b)
    paths = []
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes(png_bytes(size=(8, 8), text={"parameters": INFOTEXT.format(model=name[0])}))
        paths.append(str(tmp_path / name))
    out = tmp_path / f"out.{fmt}"
    result = CliRunner().invoke(app, ["check", "--format", fmt, "--jobs", "1", "--out", str(out), *paths])
    assert result.exit_code == 2, result.output
    text = out.read_text(encoding="utf-8")
    if fmt == "html":
        assert text.count('data-v="ai-generated"') >= 4 and "its verdict was ai-generated" in text
        return
    records = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert [Path(r["path"]).name for r in records] == ["a.png", "b.png", "c.png"]
    assert [r["verdict"] for r in records] == ["ai-generated", "error", "ai-generated"]
    assert records[1]["error"]["kind"] == "internal-error" and "its verdict was ai-generated" in records[1]["summary"]
    for record in records:
        schema_validator.validate(record)


def test_the_table_splits_a_name_from_its_folder_before_escaping() -> None:
    from provenance.api import check_bytes
    from provenance.render.html import render_html

    path = os.fsdecode(b"/data/in\x1b[2J/bad\xff.png")
    page = without_breaks(render_html([check_bytes(png_bytes(size=(8, 8)), path).to_dict()]))
    assert '<a href="#f0">bad\\xff.png</a><span class="x">/data/in\\x1b[2J/</span>' in page
