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


# --- A real server on a free port, in this process ---------------------------------------------------

import http.client  # noqa: E402
import http.cookiejar  # noqa: E402
import http.server  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, ClassVar  # noqa: E402

from provenance import serve  # noqa: E402
from provenance.api import Options, make_options  # noqa: E402
from provenance.limits import Limits  # noqa: E402
from tests.conftest import png_bytes  # noqa: E402


@dataclass(frozen=True)
class Running:
    settings: Settings
    base: str  # http://127.0.0.1:PORT/

    @property
    def port(self) -> int:
        return self.settings.port


@contextmanager
def running(options: Options | None = None, **overrides: Any) -> Iterator[Running]:
    sock = serve.bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    overrides.setdefault("max_upload_bytes", 2 * 1024**2)
    settings = Settings(port=port, token=secrets.token_urlsafe(32), options=options or Options(), **overrides)
    server = serve.make_server(settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield Running(settings, f"http://127.0.0.1:{port}/")
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def upload_body(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    boundary = "----provenance-test"
    parts = [
        (f'form-data; name="files"; filename="{name}"', data)  # the form() helper above writes the parts
        for name, data in files
    ]
    return f"multipart/form-data; boundary={boundary}", form(boundary, parts)


def post(server: Running, files: list[tuple[str, bytes]], timeout: float = 60) -> tuple[int, dict[str, str], str]:
    content_type, body = upload_body(files)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    headers = {"Authorization": f"Bearer {server.settings.token}", "Content-Type": content_type}
    connection.request("POST", "/check", body=body, headers=headers)
    response = connection.getresponse()
    page = response.read().decode()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, page


class Recorder(http.server.BaseHTTPRequestHandler):
    """Another web server on this machine: remembers every request line and header it is sent."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.seen.append(f"{self.path}\n{self.headers}")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"another server\n")

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def another_server() -> Iterator[int]:
    Recorder.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- Item 8: the token never reaches another server on this machine --------------------------------


def test_the_cookie_is_never_sent_to_another_port() -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(jar))
    with running() as server, another_server() as other:
        settings = server.settings
        with opener.open(f"{server.base}?token={settings.token}", timeout=30) as response:
            assert response.status == 200 and 'id="upload"' in response.read().decode()
            assert response.url == f"http://127.0.0.1:{server.port}{settings.prefix}", "the token left the address"
        assert [c.path for c in jar] == [settings.prefix]
        # The page works with the cookie alone, under its own path only.
        content_type, body = upload_body([("a.png", png_bytes())])
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}{settings.prefix}check", data=body, headers={"Content-Type": content_type}
        )
        with opener.open(request, timeout=60) as response:
            assert response.status == 200 and 'data-v="no-evidence"' in response.read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(server.base, timeout=30)
        assert refused.value.code == 403
        # The same browser (cookie jar) visits another local server, at every path it could guess.
        for path in ("/", "/check", "/s/", "/favicon.ico", "/?token=x", f"/s/{'x' * len(settings.session)}/"):
            with opener.open(f"http://127.0.0.1:{other}{path}", timeout=30) as response:
                response.read()
        assert len(Recorder.seen) == 6
        for seen in Recorder.seen:
            assert settings.token not in seen and settings.session not in seen
            assert "cookie" not in seen.lower(), seen


# --- Item 14: no redirect to an address taken from the request; slow clients are cut off -------------


@pytest.mark.parametrize("path", ["//evil.example/", "//evil.example/x", "/\\evil.example/", "/%2F%2Fevil.example/"])
def test_the_token_redirect_goes_to_the_page_only(path: str) -> None:
    with running() as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("GET", f"{path}?token={server.settings.token}")
        response = connection.getresponse()
        response.read()
        assert response.status == 303
        assert response.getheader("location") == server.settings.prefix
        # No other redirect is built from the request either (Starlette's trailing-slash one is off).
        for other in ("/check/", "//evil.example/check/", "/favicon.ico/"):
            connection.request("GET", other, headers={"Authorization": f"Bearer {server.settings.token}"})
            response = connection.getresponse()
            response.read()
            assert response.status == 404 and response.getheader("location") is None, other
        connection.close()


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float:
    """Seconds until the server closes ``sock`` (sending ``trickle`` a byte at a time meanwhile)."""
    started = time.monotonic()
    sock.settimeout(0.25)
    pending = list(trickle)
    while time.monotonic() - started < seconds:
        if pending:
            try:
                sock.send(bytes([pending.pop(0)]))
            except OSError:
                return time.monotonic() - started
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
        if not data:
            return time.monotonic() - started
    raise AssertionError(f"the server kept the connection open for {seconds} s")


def test_slow_request_headers_are_cut_off() -> None:
    with running(header_timeout=1.0) as server:
        silent = socket.create_connection(("127.0.0.1", server.port))
        assert _closed_within(silent, 5) < 3
        slow = socket.create_connection(("127.0.0.1", server.port))
        head = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Slow: ".encode() + b"a" * 200
        assert _closed_within(slow, 6, trickle=head) < 3, "a byte at a time does not keep it open"
        silent.close()
        slow.close()
        # A quick client on a kept-alive connection is not affected.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for _ in range(2):
            connection.request("GET", "/", headers={"Authorization": f"Bearer {server.settings.token}"})
            response = connection.getresponse()
            assert response.status == 200
            response.read()
        connection.close()


def _stalled_upload(server: Running, sent: bytes = b"--x\r\n") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"POST /check HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {server.settings.token}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n"
    )
    sock.sendall(head.encode() + sent)
    return sock


def test_a_stalled_request_body_is_cut_off() -> None:
    with running(body_idle_timeout=1.0) as server:
        sock = _stalled_upload(server)
        sock.settimeout(5)
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        assert time.monotonic() - started < 3
        assert answer.startswith(b"HTTP/1.1 408")
        sock.close()


# --- Item 11: checks run in killable worker processes; uploads checked at once are capped ------------


def test_concurrent_uploads_are_capped() -> None:
    with running() as server:
        held = [_stalled_upload(server) for _ in range(serve.MAX_CONCURRENT_UPLOADS)]
        time.sleep(0.3)
        status, headers, page = post(server, [("a.png", png_bytes())])
        assert status == 503 and headers.get("retry-after") == "5" and "Busy" in page
        for sock in held:
            sock.close()
        time.sleep(0.3)
        status, _, page = post(server, [("a.png", png_bytes())])
        assert status == 200 and 'data-v="no-evidence"' in page


def _slow_manifest() -> bytes:
    """A valid store of 2,000 signed ingredients: seconds of native work once allowed past the count."""
    pytest.importorskip("c2pa")
    pytest.importorskip("cryptography")
    from tests.hostile.conftest import _make_samples

    samples = _make_samples()
    signer = samples.Credentials(samples.make_pki())
    part = bytes(samples.c2pa_capture(signer))
    manifest = {
        "claim_generator_info": [{"name": "Synthetic Test Editor", "version": "1.0"}],
        "title": "many.jpg",
        "assertions": [
            samples.actions({"action": "c2pa.created", "digitalSourceType": samples.DST + "digitalCapture"})
        ],
    }
    parts = [({"title": f"part-{i}.jpg", "relationship": "componentOf"}, "image/jpeg", part) for i in range(2000)]
    asset = samples.encode(samples.picture(1, (64, 48)), "JPEG", quality=80)
    return bytes(signer.sign(manifest, "image/jpeg", asset, parts))


def _children() -> set[str]:
    """This process's child processes (a browser test's Playwright driver may be one, started earlier)."""
    return {pid for p in Path(f"/proc/{os.getpid()}/task").glob("*/children") for pid in p.read_text().split()}


def test_a_slow_file_is_killed_with_its_worker_not_left_running() -> None:
    slow = _slow_manifest()
    limits = Limits(timeout=1.0, max_c2pa_ingredients=10**6)  # let the library at it: about 3 s of work
    with running(make_options(limits=limits), max_upload_bytes=64 * 1024**2) as server:
        before, children = threading.active_count(), _children()
        started = time.monotonic()
        status, _, page = post(server, [("slow.jpg", slow), ("quick.png", png_bytes())])
        assert status == 200
        assert time.monotonic() - started < 10
        assert "checking took longer than the 1 s limit" in page
        assert 'data-v="no-evidence"' in page, "the other file is still checked"
        cpu = time.process_time()
        time.sleep(2.0)
        assert time.process_time() - cpu < 0.3, "something kept checking after the response"
        assert threading.active_count() <= before + 1
        assert not _children() - children, "a worker process outlived the upload"


def test_upload_previews_are_made_in_killable_workers_under_the_time_limit() -> None:
    from tests.hostile.test_pixel_limits import zeros_png

    slow = zeros_png(9000, 9000)  # 81 megapixels of RGBA: over 1 s to decode here, 315 KB to send
    limits = Limits(timeout=0.4, max_preview_pixels=10**9)  # checking either file takes milliseconds
    with running(make_options(limits=limits), thumbnails=True, max_upload_bytes=64 * 1024**2) as server:
        children = _children()
        started = time.monotonic()
        status, _, page = post(server, [("zeros.png", slow), ("quick.png", png_bytes())])
        assert status == 200
        assert time.monotonic() - started < 15
        assert "making it took longer than the 0.4 s limit" in page
        assert page.count("data:image/jpeg;base64,") == 1, "the quick file still gets its preview"
        cpu = time.process_time()
        time.sleep(1.0)
        assert time.process_time() - cpu < 0.3, "something kept decoding after the response"
        assert not _children() - children, "a preview worker outlived the upload"
