"""``provenance serve``: a private page on this computer to check images by dropping them.

The page is the HTML report (:mod:`provenance.render.html`) with an upload form
on top. It listens on loopback only unless told otherwise, and every request
must carry the access token printed at start: ``?token=`` once, which
redirects to a per-run path ``/s/<secret>/`` and sets an HttpOnly,
SameSite=Strict cookie scoped to that path, or an ``Authorization: Bearer``
header. Cookies are not port-scoped, so a cookie for ``/`` would reach every
other server on 127.0.0.1 the browser visits; a cookie for a random path is
only ever sent to that path, which no other server knows.
The Host header must name this server by a loopback name, which defeats DNS
rebinding. Uploads are read into memory under a size cap and parsed here, so
nothing is ever written to disk (Starlette's own form parser spools files
over 1 MB to temporary files); each image is checked in a worker process
(:class:`provenance.batch.LocalPool`) with the per-file time limit of
``scan``, killed when over it, and nothing is kept after the response. A few
uploads are checked at once (more get 503 with Retry-After), and a client
slow to send its request headers or body is disconnected.
The server makes no outgoing request.

Needs the optional extra: ``pip install 'provenance[serve]'``.
"""

from __future__ import annotations

import html
import ipaddress
import re
import secrets
import socket
import sys
import threading
import webbrowser
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provenance.api import Options
from provenance.batch import LocalPool, Task, default_jobs, failed
from provenance.render.html import content_security_policy, render_document
from provenance.render.preview import Preview, previews_of

TITLE = "provenance: check images on this computer"
#: Longest a header block of one multipart part may be, and most parts in one upload.
MAX_PART_HEADER_BYTES = 16 * 1024
MAX_PARTS = 1000
#: An upload over the limit is read and thrown away up to this many bytes, so the
#: browser gets to show the 413 page rather than a reset connection.
MAX_DRAIN_BYTES = 1024**3
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: Uploads checked at once; more are refused with 503 and Retry-After.
MAX_CONCURRENT_UPLOADS = 2
#: Connections held at once (uvicorn answers 503 beyond).
MAX_CONNECTIONS = 64


class UploadError(ValueError):
    """A request body that is not the multipart form this page sends."""


@dataclass(frozen=True, slots=True)
class Upload:
    """One file of an upload, in memory."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Settings:
    """What the app needs to know: its real port, token, limits and check options."""

    port: int
    token: str
    max_upload_bytes: int
    options: Options
    thumbnails: bool = False
    extra_hosts: bool = False  # bound beyond loopback on request: IP-literal Host headers are accepted too
    #: The per-run path the page lives under; the cookie is scoped to it.
    session: str = dataclass_field(default_factory=lambda: secrets.token_urlsafe(18))
    max_concurrent: int = MAX_CONCURRENT_UPLOADS
    jobs: int = 0  # worker processes per upload; 0: every core
    header_timeout: float = 10.0  # seconds to send a request's headers
    body_idle_timeout: float = 10.0  # seconds between two pieces of a request body
    body_timeout: float = 300.0  # seconds to send a whole request body

    @property
    def cookie(self) -> str:
        # Cookies are shared by every port of a host: name this server's own.
        return f"provenance_token_{self.port}"

    @property
    def prefix(self) -> str:
        """The per-run path of the page: only ever sent to this server, never taken from a request."""
        return f"/s/{self.session}/"

    def host_allowed(self, host: str) -> bool:
        host = host.strip().lower()
        if host in {f"{name}:{self.port}" for name in LOOPBACK_NAMES}:
            return True
        if not self.extra_hosts:
            return False
        name, _, port = host.rpartition(":")
        if port != str(self.port):
            return False
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return False  # a DNS name: could be rebound to this machine
        return True

    def origin_allowed(self, origin: str) -> bool:
        parts = urlsplit(origin)
        return parts.scheme == "http" and not parts.path and self.host_allowed(parts.netloc)


def security_headers(images: bool) -> dict[str, str]:
    policy = content_security_policy(images, form_action="'self'") + "; frame-ancestors 'none'"
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


class Guard:
    """ASGI middleware: Host check, token check, security headers on every response."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in security_headers(settings.thumbnails).items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in self.headers}
                existing = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": existing + self.headers}
            await send(message)

        refusal = self._refuse(request)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        prefix = self.settings.prefix
        path = str(scope.get("path", ""))
        if path.startswith(prefix):
            # The app's routes are the same under the per-run path and at the root.
            rest = "/" + path[len(prefix) :]
            scope = {**scope, "path": rest, "raw_path": rest.encode("latin-1", "replace")}
        await self.app(scope, receive, send_with_headers)

    def _same_origin(self, request: Request) -> bool:
        """Whether a state-changing request comes from this page, by what the browser says.

        With ``Referrer-Policy: no-referrer`` a browser sends ``Origin: null``
        even for our own form, so ``null`` passes here; the SameSite=Strict
        cookie and the token keep other sites out, and ``Sec-Fetch-Site``
        (sent by current browsers) must say same-origin.
        """
        origin = request.headers.get("origin")
        if origin is not None and origin != "null" and not self.settings.origin_allowed(origin):
            return False
        site = request.headers.get("sec-fetch-site")
        return site is None or site in ("same-origin", "none")

    def _token_ok(self, value: str | None) -> bool:
        return value is not None and secrets.compare_digest(value.encode("utf-8"), self.settings.token.encode("utf-8"))

    def _refuse(self, request: Request) -> Response | None:
        settings = self.settings
        if not settings.host_allowed(request.headers.get("host", "")):
            return PlainTextResponse("Bad Host header: open this page as 127.0.0.1, localhost or [::1].\n", 400)
        if request.method not in ("GET", "HEAD") and not self._same_origin(request):
            return PlainTextResponse("Cross-origin request refused.\n", 403)
        query = request.query_params.get("token")
        if self._token_ok(query):
            if request.method in ("GET", "HEAD"):
                # Set the cookie and drop the token from the address bar and history. The
                # address is always the page's own path, never one taken from the request.
                response = RedirectResponse(settings.prefix, status_code=303)
                response.set_cookie(
                    settings.cookie, settings.token, httponly=True, samesite="strict", path=settings.prefix
                )
                return response
            return None
        authorization = request.headers.get("authorization", "")
        bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
        if self._token_ok(bearer):
            return None
        if request.url.path.startswith(settings.prefix) and self._token_ok(request.cookies.get(settings.cookie)):
            return None
        return PlainTextResponse("Forbidden: open the address that `provenance serve` printed, with its token.\n", 403)


# --- multipart/form-data, parsed in memory ---------------------------------------------

_PARAM = re.compile(r';\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _params(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, raw in _PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        out[key.lower()] = raw
    return out


def boundary_of(content_type: str) -> bytes:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        raise UploadError("the upload is not a multipart form")
    boundary = _params(content_type).get("boundary", "")
    if not 1 <= len(boundary) <= 70:
        raise UploadError("the multipart form has no usable boundary")
    return boundary.encode("latin-1", "replace")


def parse_multipart(body: bytes, boundary: bytes) -> list[Upload]:
    """The files of a ``multipart/form-data`` body (RFC 7578), read from memory only."""
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start < 0:
        raise UploadError("the multipart form is empty")
    pos = start + len(delimiter)
    uploads: list[Upload] = []
    for _ in range(MAX_PARTS + 1):
        if body.startswith(b"--", pos):
            return uploads
        line_end = body.find(b"\r\n", pos)
        if line_end < 0 or body[pos:line_end].strip(b" \t"):
            raise UploadError("the multipart form is malformed")
        pos = line_end + 2
        if body.startswith(b"\r\n", pos):
            raw_headers, data_start = b"", pos + 2
        else:
            head_end = body.find(b"\r\n\r\n", pos, pos + MAX_PART_HEADER_BYTES)
            if head_end < 0:
                raise UploadError("a part of the multipart form has no end to its headers")
            raw_headers, data_start = body[pos:head_end], head_end + 4
        end = body.find(b"\r\n" + delimiter, data_start)
        if end < 0:
            raise UploadError("the multipart form is cut short")
        disposition = ""
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
        params = _params(";" + disposition.split(";", 1)[-1]) if ";" in disposition else {}
        filename = params.get("filename")
        if params.get("name") == "files" and filename is not None:
            data = body[data_start:end]
            if filename or data:
                name = filename.replace("\\", "/").rsplit("/", 1)[-1] or "unnamed upload"
                uploads.append(Upload(name, data))
        pos = end + 2 + len(delimiter)
    raise UploadError(f"the upload has more than {MAX_PARTS} parts")


class SlowBody(Exception):
    """The client sent its request body too slowly."""


async def read_body(request: Request, limit: int, idle: float = 10.0, total: float = 300.0) -> bytes | None:
    """The request body, or ``None`` once it passes ``limit`` bytes (the rest is drained, not kept).

    Raises :class:`SlowBody` when no byte comes for ``idle`` seconds or the
    whole body takes longer than ``total``.
    """
    declared = request.headers.get("content-length", "")
    too_big = declared.isdigit() and int(declared) > limit
    buffer = bytearray()
    seen = 0
    deadline = anyio.current_time() + total
    stream = request.stream().__aiter__()
    while True:
        wait = min(idle, deadline - anyio.current_time())
        chunk = None
        with anyio.move_on_after(max(wait, 0)):
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
        if chunk is None:
            raise SlowBody
        seen += len(chunk)
        if too_big or seen > limit:
            too_big = True
            buffer.clear()
            if seen > MAX_DRAIN_BYTES:
                break
            continue
        buffer += chunk
    return None if too_big else bytes(buffer)


# --- the app ------------------------------------------------------------------------------


def upload_form(settings: Settings, message: str = "") -> str:
    limit = settings.max_upload_bytes / 1024**2
    alert = f'<p class="err" role="alert">{html.escape(message)}</p>' if message else ""
    return (
        '<form id="upload" class="upload" method="post" action="check" enctype="multipart/form-data">'
        '<label id="drop" class="drop" for="upload-files"><strong>Drop images here</strong>, or choose them: '
        '<input type="file" id="upload-files" name="files" multiple></label>'
        f"<p>Each image is checked in memory on this computer, up to {limit:g} MB per upload. Nothing is written "
        "to disk or kept after this page is sent, and nothing leaves this computer.</p>"
        '<p><button type="submit">Check the images</button> <span id="upload-status" role="status" '
        'aria-live="polite"></span></p>'
        f"{alert}</form>"
    )


def _page(
    settings: Settings, reports: list[dict[str, Any]], thumbnails: Mapping[str, Preview | str] | None, message: str
) -> str:
    return render_document(
        reports,
        thumbnails=thumbnails if settings.thumbnails else None,
        title=TITLE,
        form=upload_form(settings, message),
        form_action="'self'",
        empty_message="No image checked yet: choose or drop images above to check them.",
        cards_first=True,
        notice=_NOTICE_PREVIEWS if settings.thumbnails else _NOTICE,
    )


_NOTICE = (
    "Check images here: choose or drop them below, and their reports appear on this page, with the verdict "
    "and exactly why."
)
_NOTICE_PREVIEWS = (
    _NOTICE + " Each report shows a small preview of the image you sent, when one can be made, blurred until "
    "you choose \u201cUnblur preview\u201d. Images can be disturbing; unblur only what you need to see."
)


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    taken.add(candidate)
    return candidate


def check_uploads(uploads: list[tuple[str, bytes]], options: Options, jobs: int = 0) -> list[dict[str, Any]]:
    """Check each ``(name, data)`` in a worker process with the per-file time limit; reports in input order.

    A file over the limit is killed with its worker and reported as kind
    ``timeout`` (``crash`` if the worker dies), as ``scan`` reports it: no
    thread is left behind in this process.
    """
    pool = LocalPool(options, jobs=min(len(uploads), jobs or default_jobs()))
    tasks = [Task(i, name, data) for i, (name, data) in enumerate(uploads)]
    found = dict(pool.run(tasks, _as_dict))
    lost = "no result came back from the checker process"
    return [found.get(i) or _as_dict(failed(name, "crash", lost)) for i, (name, _) in enumerate(uploads)]


def _as_dict(report: Any) -> dict[str, Any]:
    result: dict[str, Any] = report.to_dict()
    return result


def create_app(settings: Settings) -> ASGIApp:
    """The ASGI app: ``GET /`` shows the form, ``POST /check`` checks what was uploaded."""
    busy = [0]  # uploads being read or checked; the event loop is one thread, so a plain counter will do

    async def index(request: Request) -> Response:
        return HTMLResponse(_page(settings, [], {}, ""))

    async def check(request: Request) -> Response:
        if busy[0] >= settings.max_concurrent:
            message = "Busy: other uploads are being checked. Nothing was checked or kept; try again in a moment."
            with anyio.move_on_after(settings.body_idle_timeout):
                try:
                    await read_body(request, 0, settings.body_idle_timeout, settings.body_timeout)
                except SlowBody:
                    pass
            return HTMLResponse(_page(settings, [], {}, message), 503, headers={"Retry-After": "5"})
        busy[0] += 1
        try:
            return await _check(request)
        except SlowBody:
            return PlainTextResponse(
                "Request body too slow: the upload was not checked.\n", 408, headers={"Connection": "close"}
            )
        finally:
            busy[0] -= 1

    async def _check(request: Request) -> Response:
        idle, total = settings.body_idle_timeout, settings.body_timeout
        try:
            boundary = boundary_of(request.headers.get("content-type", ""))
        except UploadError as exc:
            await read_body(request, 0, idle, total)
            return HTMLResponse(_page(settings, [], {}, f"Upload refused: {exc}."), 400)
        body = await read_body(request, settings.max_upload_bytes, idle, total)
        if body is None:
            limit = settings.max_upload_bytes / 1024**2
            message = (
                f"Upload refused: it is over the limit of {limit:g} MB per upload "
                "(start the server with --max-upload-mb to change it). Nothing was checked or kept."
            )
            return HTMLResponse(_page(settings, [], {}, message), 413)
        try:
            uploads = parse_multipart(body, boundary)
        except UploadError as exc:
            return HTMLResponse(_page(settings, [], {}, f"Upload refused: {exc}."), 400)
        del body
        if not uploads:
            return HTMLResponse(_page(settings, [], {}, "Choose at least one image to check."), 400)
        previews: dict[str, Preview | str] = {}
        taken: set[str] = set()
        named = [(_unique(upload.name, taken), upload.data) for upload in uploads]
        # Worker processes, each file under the per-file time limit; this thread only waits for them.
        reports = await anyio.to_thread.run_sync(check_uploads, named, settings.options, settings.jobs)
        if settings.thumbnails:
            # Decoding pixels amplifies: worker processes, each preview under the per-file time limit.
            limits = settings.options.limits
            previews.update(await anyio.to_thread.run_sync(previews_of, named, settings.jobs or None, limits))
        uploads.clear()
        named.clear()
        return HTMLResponse(_page(settings, reports, previews, ""))

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Not found.\n", 404)

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET", "HEAD"]),
            Route("/check", check, methods=["POST"]),
            Route("/favicon.ico", favicon, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )
    app.router.redirect_slashes = False  # no redirect built from the request's own path
    return Guard(app, settings)


def _protocol(settings: Settings) -> type[Any]:
    """uvicorn's h11 protocol with a deadline on each request's headers, and on a body never read.

    uvicorn times out idle keep-alive connections but not a client that
    opens a connection and sends its headers a byte at a time; this one is
    closed ``header_timeout`` seconds after the connection opens (or the
    previous response ends, or the next request starts) unless a whole
    request head has arrived. A request answered before its body was read
    (refused: no token, say) leaves the rest of that body
    ``body_idle_timeout`` seconds, however it trickles; then the connection
    is closed.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    limit = settings.header_timeout
    unread_limit = settings.body_idle_timeout

    class HeaderDeadline(H11Protocol):
        _deadline: Any = None
        _unread: Any = None

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(limit, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def _cut_unread(self, cycle: Any) -> None:
            self._unread = None
            # Still the answered request's body (not a later request's, which the app may be reading).
            if self.cycle is cycle and self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()
            elif self._deadline is None and not self.transport.is_closing():
                # The next request began after a body that came in once its answer was sent.
                self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.transport.is_closing():
                return
            if self.conn.their_state is h11.IDLE:
                self._arm()
            elif self.conn.their_state is h11.SEND_BODY and self._unread is None:
                self._unread = self.loop.call_later(unread_limit, self._cut_unread, self.cycle)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._unread is not None:
                self._unread.cancel()
                self._unread = None
            super().connection_lost(exc)

    return HeaderDeadline


# --- starting it ----------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; ``localhost`` means 127.0.0.1, never whatever it resolves to."""
    address = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_host(sock: socket.socket) -> str:
    address = str(sock.getsockname()[0])
    if address in ("0.0.0.0", "::"):
        return "127.0.0.1" if address == "0.0.0.0" else "[::1]"
    return f"[{address}]" if ":" in address else address


def make_server(settings: Settings) -> Any:
    """The uvicorn server for ``settings`` (not started)."""
    import uvicorn

    config = uvicorn.Config(
        create_app(settings),
        http=_protocol(settings),
        log_level="warning",
        access_log=False,  # the log would record the token in request lines
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
    )
    return uvicorn.Server(config)


def run(
    sock: socket.socket,
    options: Options,
    *,
    max_upload_bytes: int,
    thumbnails: bool = False,
    open_browser: bool = False,
    non_loopback: bool = False,
) -> None:
    """Serve on ``sock`` until interrupted, after printing the address with its token."""
    port = int(sock.getsockname()[1])
    settings = Settings(
        port=port,
        token=secrets.token_urlsafe(32),
        max_upload_bytes=max_upload_bytes,
        options=options,
        thumbnails=thumbnails,
        extra_hosts=non_loopback,
    )
    address = f"http://{url_host(sock)}:{port}/"
    url = f"{address}?token={settings.token}"
    print(f"provenance serve: listening on {sock.getsockname()[0]} port {port}", flush=True)
    print("Open this address (it holds the access token):", flush=True)
    print(f"    {url}", flush=True)
    print("Press Ctrl+C to stop. Uploads are checked in memory; nothing is written to disk.", flush=True)
    server = make_server(settings)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        sys.stdout.flush()
