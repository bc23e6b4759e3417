"""The upload parser of ``provenance serve``, without a server."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from provenance.serve import Settings, UploadError, boundary_of, is_loopback, parse_multipart


def form(boundary: str, parts: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for disposition, data in parts:
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: image/png\r\n\r\n".encode()
        out += data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_files_come_out_byte_for_byte() -> None:
    tricky = b"\r\n--not-the-boundary\r\n\r\n" + bytes(range(256)) * 10
    body = form(
        "----b0undary",
        [
            ('form-data; name="files"; filename="a.png"', tricky),
            ('form-data; name="files"; filename="dir\\\\sub/q\\"uote.png"', b"x"),
            ('form-data; name="other"', b"ignored"),
            ('form-data; name="files"; filename=""', b""),
        ],
    )
    uploads = parse_multipart(body, boundary_of('multipart/form-data; boundary="----b0undary"'))
    assert [(u.name, u.data) for u in uploads] == [("a.png", tricky), ('q"uote.png', b"x")]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "multipart/form-data", "multipart/form-data; boundary=" + "x" * 71, "text/plain; boundary=a"],
)
def test_other_bodies_are_refused(content_type: str) -> None:
    with pytest.raises(UploadError):
        boundary_of(content_type)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"--b\r\nContent-Disposition: form-data; name=files; filename=a\r\n\r\nno closing delimiter",
        b"--b\r\nContent-Disposition: form-data; name=files; filename=a" + b"x" * 20000,
    ],
)
def test_broken_forms_are_refused(body: bytes) -> None:
    with pytest.raises(UploadError):
        parse_multipart(body, b"b")


def test_only_loopback_names_pass_the_host_check() -> None:
    from provenance.api import Options

    settings = Settings(port=8123, token="t", max_upload_bytes=1, options=Options())
    for host in ("127.0.0.1:8123", "LOCALHOST:8123", "[::1]:8123"):
        assert settings.host_allowed(host)
    for host in ("127.0.0.1:8124", "evil.example:8123", "127.0.0.1", "localhost.evil.example:8123", ""):
        assert not settings.host_allowed(host)
    assert settings.origin_allowed("http://localhost:8123")
    assert not settings.origin_allowed("http://evil.example:8123") and not settings.origin_allowed("null")
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1") and not is_loopback("example.org")


def test_serve_refuses_an_address_other_computers_can_reach() -> None:
    from tests.conftest import run_cli

    result = run_cli("serve", "--host", "0.0.0.0", timeout=60)
    assert result.returncode == 2
    assert b"refusing to listen on 0.0.0.0" in result.stderr and b"--allow-non-loopback" in result.stderr
    assert run_cli("serve", "--max-upload-mb", "0", timeout=60).returncode == 2


@pytest.mark.parametrize("thumbnails", [False, True])
def test_the_empty_page_speaks_of_uploading(thumbnails: bool) -> None:
    import re

    from provenance.api import Options
    from provenance.serve import _page

    settings = Settings(port=8123, token="t", max_upload_bytes=1, options=Options(), thumbnails=thumbnails)
    page = _page(settings, [], {}, "")
    text = re.sub(r"<[^>]+>", " ", page.split("<style>")[0] + page.split("</style>", 1)[1])
    assert "choose or drop them below" in text and "No image checked yet" in text
    for report_words in ("--thumbnails", "this report holds", "Previews are off", "0 files", "no network request"):
        assert report_words not in text, report_words
    assert ("blurred until" in text) is thumbnails
