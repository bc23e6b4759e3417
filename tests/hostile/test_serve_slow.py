"""``serve`` against clients that trickle: a request it has already answered cannot keep the connection.

SECURITY.md: a client gets 10 s to send each request's headers and 10 s between two pieces of a
body (300 s for a whole body); then the connection is closed. A body the server never reads (the
request was refused before it, with 403 say) was not covered: a client without the token could
trickle one byte every few seconds and hold a connection for ever, and with 64 of them (the
connection cap) lock the page's owner out.
"""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from tests.report.test_serve_upload import _closed_within, running


def _refused_with_a_body(port: int, body: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    head = f"POST /check HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 100000\r\n\r\n"
    sock.sendall(head.encode() + body)
    return sock


def test_an_unread_body_cannot_be_trickled_for_ever() -> None:
    with running(header_timeout=1.0, body_idle_timeout=1.0) as server:
        sock = _refused_with_a_body(server.port)
        # A byte every 0.25 s: never idle for 1 s, yet the request was answered (403) at once.
        assert _closed_within(sock, 8, trickle=b"a" * 64) < 4
        sock.close()


def test_after_an_unread_body_the_next_request_head_has_a_deadline() -> None:
    with running(header_timeout=1.0, body_idle_timeout=1.0) as server:
        sock = socket.create_connection(("127.0.0.1", server.port))
        head = f"POST /check HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Length: 5\r\n\r\n"
        sock.sendall(head.encode())
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 403")
        sock.sendall(b"aaaaa")  # the body, after the answer: the connection is ready for the next request
        next_head = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Slow: ".encode() + b"a" * 64
        assert _closed_within(sock, 8, trickle=next_head) < 4
        sock.close()


def test_a_quick_refused_client_still_reads_its_answer() -> None:
    with running(header_timeout=1.0, body_idle_timeout=1.0) as server:
        sock = _refused_with_a_body(server.port, b"a" * 1000)
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 403")
        sock.close()
