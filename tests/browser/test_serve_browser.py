"""``provenance serve`` as a user meets it: a subprocess on a free port, a browser, and bad requests.

Every request goes to 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import A1111, Watched, screenshot, watch
from tests.conftest import REPO, SAMPLES, png_bytes, run_cli, stop_process

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

UPLOAD_LIMIT_MB = 2


@dataclass(frozen=True)
class Server:
    url: str  # with the token
    base: str  # http://127.0.0.1:PORT/
    port: int
    token: str
    scratch: Path  # the server's TMPDIR and working folder: must stay empty


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    scratch = tmp_path_factory.mktemp("serve-scratch")
    env = dict(os.environ, TMPDIR=str(scratch), PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "provenance", "serve", "--port", "0", "--thumbnails"]
    command += ["--max-upload-mb", str(UPLOAD_LIMIT_MB)]
    # Unbuffered, so that select() sees each line the server prints.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=scratch, env=env, bufsize=0
    )
    assert process.stdout is not None
    lines: list[str] = []
    url = ""
    deadline = time.monotonic() + 60
    try:
        while not url and time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                line = process.stdout.readline().decode()
                lines.append(line)
                if line.strip().startswith("http://"):
                    url = line.strip()
        assert url, f"serve did not print its address: {lines}"  # type: ignore[union-attr]
        base, _, token = url.partition("?token=")
        port = int(base.rstrip("/").rsplit(":", 1)[1])
        assert base == f"http://127.0.0.1:{port}/" and port > 0, "bound to loopback, real port printed"
        yield Server(url, base, port, token, scratch)
    finally:
        stop_process(process)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())


def request(
    url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    assert url.startswith("http://127.0.0.1:"), "tests talk to this machine only"
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with OPENER.open(req, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def multipart(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    boundary = "----provenance-test-boundary"
    body = b""
    for name, data in files:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return f"multipart/form-data; boundary={boundary}", body + f"--{boundary}--\r\n".encode()


def noise_png(megabytes: float) -> bytes:
    """A PNG of random noise, which does not compress: about ``megabytes`` in size."""
    from PIL import Image

    side = int((megabytes * 1024**2 / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def verdicts(page: Any) -> dict[str, dict[str, str]]:
    found = page.eval_on_selector_all(
        "#ft tbody tr[data-x]",
        "rows => rows.map(r => [r.cells[0].textContent,"
        " {v: r.dataset.v, c: r.dataset.c, error: r.cells[7].textContent}])",
    )
    return dict(found)


def open_page(browser: Any, server: Server) -> Watched:
    context = browser.new_context(viewport={"width": 1100, "height": 760}, device_scale_factor=1)
    watched = watch(context)
    watched.page.goto(server.url)
    page_url = watched.page.url
    assert page_url.startswith(server.base + "s/") and server.token not in page_url, "the token leaves the address bar"
    watched.page.wait_for_selector("html[data-ready='1'], #upload")
    return watched


def test_upload_through_the_page(browser: Any, server: Server, tmp_path: Path) -> None:
    files = {
        "prompt.png": png_bytes((96, 64), text={"parameters": A1111}),
        "plain.png": png_bytes((96, 64)),
        "notes.txt": b"just some text, not an image\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    chosen = [tmp_path / name for name in files]
    if (SAMPLES / "c2pa_ai_edited.png").is_file():
        chosen.insert(0, SAMPLES / "c2pa_ai_edited.png")  # first, so that the screenshot shows a chain
    watched = open_page(browser, server)
    page = watched.page
    page.set_input_files("#upload-files", [str(p) for p in chosen])
    with page.expect_navigation():
        page.click("#upload button[type=submit]")
    page.wait_for_selector("html[data-ready='1']")
    found = verdicts(page)
    assert found["prompt.png"]["v"] == "ai-generated"
    assert found["plain.png"]["v"] == "no-evidence"
    assert found["notes.txt"]["v"] == "error"
    if len(chosen) == 4:
        assert found["c2pa_ai_edited.png"]["v"] == "ai-edited" and found["c2pa_ai_edited.png"]["c"] == "valid"

    cli = json.loads(run_cli("check", "--format", "json", str(tmp_path / "notes.txt")).stdout)[0]
    assert found["notes.txt"]["error"] == f"{cli['error']['kind']}: {cli['error']['message']}", "same error as the CLI"

    outside = [r for r in watched.requests if not r.startswith((server.base, "data:", "about:"))]
    assert outside == [], f"the page made requests elsewhere: {outside}"
    assert not [m for m in watched.console if "Content Security Policy" in m or m.startswith("pageerror")]
    assert "blur" in page.locator(".thumb img").first.evaluate("i => getComputedStyle(i).filter")
    page.locator(".thumb input").first.check()
    page.set_viewport_size({"width": 1100, "height": 1500})
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "serve.png", "serve.png")
    assert list(server.scratch.iterdir()) == [], "nothing was written to disk"
    watched.page.context.close()


def test_drop_a_file_on_the_page(browser: Any, server: Server) -> None:
    watched = open_page(browser, server)
    page = watched.page
    data = base64.b64encode(png_bytes((48, 48), text={"parameters": A1111})).decode()
    transfer = page.evaluate_handle(
        """data => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
            return transfer;
        }""",
        data,
    )
    page.dispatch_event("#drop", "dragenter", {"dataTransfer": transfer})
    assert "over" in (page.get_attribute("#drop", "class") or "")
    with page.expect_navigation():
        page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("html[data-ready='1']")
    assert verdicts(page) == {"dropped.png": {"v": "ai-generated", "c": "none", "error": ""}}
    watched.page.context.close()


def test_token_is_required_on_every_request(server: Server) -> None:
    for url in (server.base, server.base + "?token=wrong", server.base + "check", server.base + "favicon.ico"):
        status, _, body = request(url)
        assert status == 403 and b"token" in body, url
    status, _, _ = request(server.base + "check", data=b"x", headers={"Cookie": f"provenance_token_{server.port}=no"})
    assert status == 403

    status, headers, _ = request(server.url)
    page = headers["location"]
    assert status == 303 and page.startswith("/s/") and page.endswith("/") and server.token not in page
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"provenance_token_{server.port}={server.token};")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and f"Path={page}" in cookie
    # The cookie counts under the page's own path only (it is only ever sent there).
    assert request(server.base, headers={"Cookie": cookie.split(";", 1)[0]})[0] == 403

    own = server.base.rstrip("/") + page
    bearer = {"Authorization": f"Bearer {server.token}"}
    for url, auth in ((own, {"Cookie": cookie.split(";", 1)[0]}), (server.base, bearer)):
        status, headers, body = request(url, headers=auth)
        assert status == 200 and b'id="upload"' in body
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "connect-src" not in policy


def test_host_and_origin_are_checked(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.token}"}
    for host in (
        f"evil.example:{server.port}",
        f"127.0.0.1:{server.port + 1}",
        "localhost",
        f"127.0.0.1.nip.io:{server.port}",
    ):
        status, _, body = request(server.url, headers={**auth, "Host": host})
        assert status == 400 and b"Host" in body, host
    for host in (f"localhost:{server.port}", f"[::1]:{server.port}"):
        assert request(server.base, headers={**auth, "Host": host})[0] == 200
    content_type, body = multipart([("a.png", png_bytes())])
    status, _, _ = request(
        server.base + "check",
        data=body,
        headers={**auth, "Content-Type": content_type, "Origin": "http://evil.example"},
    )
    assert status == 403
    status, _, _ = request(
        server.base + "check", data=body, headers={**auth, "Content-Type": content_type, "Sec-Fetch-Site": "cross-site"}
    )
    assert status == 403
    status, _, page = request(
        server.base + "check", data=body, headers={**auth, "Content-Type": content_type, "Origin": "null"}
    )
    assert status == 200 and b'data-v="no-evidence"' in page, "our own form sends Origin: null (no-referrer)"


def test_uploads_over_the_limit_are_refused_and_nothing_touches_disk(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.token}"}
    big = noise_png(UPLOAD_LIMIT_MB + 0.5)
    content_type, body = multipart([("big.png", big)])
    status, _, page = request(server.base + "check", data=body, headers={**auth, "Content-Type": content_type})
    assert status == 413 and f"over the limit of {UPLOAD_LIMIT_MB} MB".encode() in page

    fits = noise_png(1.5)  # over the 1 MB at which Starlette's own parser would spool to a temporary file
    content_type, body = multipart([("noise.png", fits), ("broken.jpg", b"\xff\xd8\xff")])
    status, _, page = request(server.base + "check", data=body, headers={**auth, "Content-Type": content_type})
    assert status == 200 and b'data-v="no-evidence"' in page and b'data-v="error"' in page
    assert list(server.scratch.iterdir()) == [], "the upload never went to disk"

    status, _, page = request(server.base + "check", data=b"{}", headers={**auth, "Content-Type": "application/json"})
    assert status == 400 and b"not a multipart form" in page


def test_no_other_server_on_this_machine_gets_the_token(browser: Any, server: Server) -> None:
    """Cookies are not port-scoped: what the page sets must not reach another port the browser visits."""
    import http.server
    import threading

    seen: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.path}\n{self.headers}")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<p>another server</p>")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        watched = open_page(browser, server)
        page = watched.page
        session = page.url[len(server.base) :]
        other = f"http://127.0.0.1:{httpd.server_address[1]}"
        for path in ("/", "/check", "/s/", "/favicon.ico"):
            page.goto(other + path)
        assert len(seen) >= 4
        for request_seen in seen:
            assert server.token not in request_seen and session not in request_seen
            assert "cookie" not in request_seen.lower(), request_seen
        page.goto(server.base + session)  # the page still opens with its cookie
        page.wait_for_selector("#upload")
        watched.page.context.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
