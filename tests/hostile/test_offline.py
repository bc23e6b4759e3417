"""Offline by default: no connection attempt, from Python or from the native C2PA library.

Three independent proofs:

1. the CLI in a network namespace with no interfaces (``unshare -n``)
   completes every check, and files that point at a remote manifest say
   ``remote`` with the URL;
2. with Python's socket functions replaced by tripwires (in the CLI process
   and its forked workers) no Python code tries to connect or resolve;
3. in a namespace with only loopback, where ``/etc/resolv.conf`` points at a
   listener of ours and ``localhost:5000`` (the URL inside
   ``libpng-test_with_url.png``) is ours too, nothing arrives by default,
   and something does with ``--allow-network`` (the only switch that
   permits a request), so the listeners would have seen a leak.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REPO, SAMPLES
from tests.hostile.conftest import Snapshot, can_unshare_net, cli, is_root

REMOTE = {
    "cloud.jpg": "https://cai-manifests.adobe.com/manifests/adobe-urn-uuid-5f37e182-3687-462e-a7fb-573462780391",
    "libpng-test_with_url.png": "http://localhost:5000/libpng-test.c2pa",
}


def _inputs() -> list[Path]:
    c2pa = FIXTURES / "c2pa-rs"
    if not all((c2pa / name).is_file() for name in REMOTE):
        pytest.skip("../shared/fixtures is not present")
    files = [c2pa / name for name in REMOTE] + [c2pa / "cloudx.jpg", c2pa / "ocsp.jpg", c2pa / "C.jpg"]
    files += sorted(f for f in SAMPLES.glob("c2pa_*") if f.suffix != ".m4s")  # segments: with --fragments only
    return [f for f in files if f.is_file()]


def _reports(stdout: bytes) -> dict[str, dict[str, Any]]:
    return {Path(r["path"]).name: r for r in map(json.loads, stdout.decode().splitlines())}


def _assert_remote_not_fetched(reports: dict[str, dict[str, Any]]) -> None:
    for name, url in REMOTE.items():
        creds = reports[name]["credentials"]
        assert creds["state"] == "remote", (name, creds)
        assert creds["remote_url"] == url
        assert "not fetched" in reports[name]["summary"]


@pytest.mark.needs_unshare
def test_cli_in_a_namespace_without_network() -> None:
    if not can_unshare_net():
        pytest.skip("cannot create a network namespace (needs root or user namespaces)")
    inputs = _inputs()
    snap = Snapshot.of(inputs)
    result = cli("check", "--format", "jsonl", "--jobs", "2", *map(str, inputs), prefix=["unshare", "-n"], timeout=120)
    assert result.returncode in (1, 2), result.stderr.decode()
    reports = _reports(result.stdout)
    assert set(reports) == {p.name for p in inputs}
    assert all(r["verdict"] != "error" for r in reports.values()), result.stdout.decode()
    _assert_remote_not_fetched(reports)
    snap.assert_unchanged()


TRIPWIRE = textwrap.dedent(
    """
    import os, socket, sys

    LOG = os.environ["PROVENANCE_TRIPWIRE_LOG"]

    def _trip(name):
        def refuse(*args, **kwargs):
            with open(LOG, "a") as log:
                log.write(f"{os.getpid()} {name} {args[1:] if name.startswith('socket.') else args!r}\\n")
            raise OSError(101, f"network use refused by the test ({name})")
        return refuse

    for name in ("connect", "connect_ex", "sendto", "sendmsg"):
        setattr(socket.socket, name, _trip(f"socket.{name}"))
    for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(socket, name, _trip(name))

    sys.argv = ["provenance", *sys.argv[1:]]
    from provenance.cli import main
    main()
    """
)


def test_no_python_socket_use(tmp_path: Path) -> None:
    inputs = _inputs() + sorted(p for p in SAMPLES.glob("*.*") if p.suffix in {".png", ".jpg", ".webp", ".gif"})
    log = tmp_path / "tripwire.log"
    env = {**os.environ, "PROVENANCE_TRIPWIRE_LOG": str(log)}
    command = [sys.executable, "-c", TRIPWIRE, "check", "--format", "jsonl", "--jobs", "2", *map(str, inputs)]
    result = subprocess.run(command, capture_output=True, timeout=180, cwd=REPO, env=env)
    assert result.returncode in (1, 2), result.stderr.decode()[-2000:]
    assert not log.exists(), log.read_text()
    reports = _reports(result.stdout)
    assert len(reports) == len({p.name for p in inputs})
    _assert_remote_not_fetched(reports)
    # The tripwire works: a deliberate resolution in the same wrapper is logged.
    probe = TRIPWIRE.replace("from provenance.cli import main\nmain()", "socket.getaddrinfo('example.org', 80)")
    subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60, env=env)
    assert "getaddrinfo" in log.read_text()


LISTENERS = textwrap.dedent(
    """
    import json, os, socket, subprocess, sys, tempfile, threading, time

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    folder = tempfile.mkdtemp()
    resolv = os.path.join(folder, "resolv.conf")
    with open(resolv, "w") as fh:
        fh.write("nameserver 127.0.0.1\\noptions timeout:1 attempts:1\\n")
    dns_ok = subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"]).returncode == 0
    seen = []

    def tcp(port):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(16)
        while True:
            conn, _ = server.accept()
            conn.settimeout(2)
            try:
                request = conn.recv(4096)
            except OSError:
                request = b""
            seen.append(("tcp", port, request.split(b"\\r\\n", 1)[0].decode("latin-1")))
            conn.sendall(b"HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n")
            conn.close()

    def udp(port):
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        server.bind(("127.0.0.1", port))
        while True:
            data, peer = server.recvfrom(4096)
            seen.append(("dns", port, data[12:].decode("latin-1")))
            # Answer NXDOMAIN at once, so that the allowed run does not wait for timeouts.
            server.sendto(data[:2] + b"\\x81\\x83" + data[4:6] + bytes(6) + data[12:], peer)

    for target, port in ((tcp, 5000), (tcp, 80), (tcp, 443), (udp, 53)):
        threading.Thread(target=target, args=(port,), daemon=True).start()
    time.sleep(0.2)
    out = {"dns_redirected": dns_ok}
    for mode, extra in (("default", []), ("allow", ["--allow-network"])):
        del seen[:]
        done = subprocess.run(
            [sys.executable, "-m", "provenance", "check", "--format", "jsonl", *extra, *sys.argv[1:]],
            capture_output=True, timeout=120,
        )
        time.sleep(0.3)
        out[mode] = {"rc": done.returncode, "stdout": done.stdout.decode(), "seen": list(seen)}
    print(json.dumps(out))
    """
)


@pytest.mark.needs_unshare
@pytest.mark.needs_root
def test_native_library_makes_no_request_unless_allowed() -> None:
    if not (is_root() and can_unshare_net() and shutil.which("ip")):
        pytest.skip("needs root, `unshare -n -m` and `ip` to build a loopback-only namespace")
    inputs = _inputs()
    done = subprocess.run(
        ["unshare", "-n", "-m", sys.executable, "-c", LISTENERS, *map(str, inputs)],
        capture_output=True,
        timeout=300,
        cwd=REPO,
    )
    if done.returncode != 0:
        pytest.skip(f"could not set up the namespace: {done.stderr.decode()[-500:]}")
    out = json.loads(done.stdout)
    default, allowed = out["default"], out["allow"]
    assert default["seen"] == [], f"a connection or DNS query without --allow-network: {default['seen']}"
    reports = _reports(default["stdout"].encode())
    assert set(reports) == {p.name for p in inputs}
    _assert_remote_not_fetched(reports)
    # The listeners were live: the allowed run reached them.
    assert ["tcp", 5000, "GET /libpng-test.c2pa HTTP/1.1"] in allowed["seen"], allowed["seen"]
    if out["dns_redirected"]:
        assert any(kind == "dns" and "adobe" in query for kind, _, query in allowed["seen"]), allowed["seen"]
    allowed_reports = _reports(allowed["stdout"].encode())
    assert set(allowed_reports) == {p.name for p in inputs}
    assert allowed_reports["libpng-test_with_url.png"]["credentials"]["state"] in ("remote", "invalid")


def test_no_inet_connect_syscalls() -> None:
    """strace over a default run: no connect() to an IPv4/IPv6 address (skipped without strace)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    inputs = _inputs()
    command = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", "/dev/stderr"]
    command += [sys.executable, "-m", "provenance", "check", "--format", "jsonl", "--jobs", "2", *map(str, inputs)]
    result = subprocess.run(command, capture_output=True, timeout=180, cwd=REPO)
    trace = result.stderr.decode(errors="replace")
    if "ptrace" in trace and "Operation not permitted" in trace:
        pytest.skip("strace cannot trace here")
    inet = [line for line in trace.splitlines() if "AF_INET" in line]
    assert not inet, inet
    _assert_remote_not_fetched(_reports(result.stdout))
