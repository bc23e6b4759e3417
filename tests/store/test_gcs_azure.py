"""Scanning objects from GCS and Azure Blob storage, against local emulators (see emulators.py).

Each test runs against fake-gcs-server (``gs://``) and Azurite (``az://``):
listings paged and consumed lazily, the walk's file filter, deleted and
rewritten objects as per-file errors (the fetch is conditional on the
listed generation or ETag, so a rewrite of the same size is caught), large
objects through a temporary file, and records equal to the same files
scanned locally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SAMPLES, png_bytes
from tests.store.conftest import start_server, stop_server
from tests.store.emulators import BUCKET, Emulated, point_here

#: Fields that differ between an object and the same file on disk.
WHERE = ("path", "mtime", "etag", "version")


def without_where(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in WHERE}


def listed(store: Emulated, prefix: str) -> list[Any]:
    from provenance import storage
    from provenance.batch import Task

    return [Task(i, e.path, remote=e.remote) for i, e in enumerate(storage.entries(store.url(prefix)))]


def test_listing_is_paged_lazy_and_takes_what_a_walk_takes(
    emulated_here: Emulated, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """25 objects below the prefix (and 5 a walk passes over), 10 a page: three listing requests, the first
    object given out after the first; the requests are seen on their way to the emulator."""
    from provenance import storage

    store = emulated_here
    names = [f"listing/img{i:02}.png" for i in range(25)] + ["listing/sub/deeper.jpg"]
    skipped = ["listing/.hidden.png", "listing/.cache/x.png", "listing/notes.txt", "listing2/x.png"]
    for key in names + skipped:
        store.put(key, b"x" * (len(key) % 7 + 1))
    monkeypatch.setattr(storage, "PAGE_SIZE", 10)
    log = tmp_path / "requests.log"
    proxy, proxy_port = start_server(dict(os.environ), "delay.py", str(store.port), "0", str(log))
    try:
        point_here(store, proxy_port, monkeypatch)
        listing = storage.entries(store.url("listing/"))
        first = next(listing)
        requests = log.read_text().splitlines()
        # The first object is given out after one page, before the rest is asked for.
        assert [r for r in requests if r.startswith(store.listing_request)] == requests, requests
        assert len(requests) == 1, requests
        assert first.path == store.url("listing/img00.png")
        rest = list(listing)
    finally:
        stop_server(proxy)
    requests = log.read_text().splitlines()
    # 30 objects below the prefix "listing/" (listing2/ is not below it), 10 a page: no request per object.
    assert len(requests) == 3 and all(r.startswith(store.listing_request) for r in requests), requests
    entries = [first, *rest]
    assert sorted(e.path for e in entries) == sorted(store.url(k) for k in names)
    for entry in entries:
        remote = entry.remote
        assert remote is not None and entry.error_kind is None
        assert remote.url == entry.path
        assert remote.size == len(entry.path.split(f"{BUCKET}/", 1)[1]) % 7 + 1
        assert remote.etag  # the generation (GCS) or the ETag (Azure)
        assert remote.mtime is not None and remote.mtime > 1.6e9


def test_a_named_object_and_missing_ones(emulated_here: Emulated) -> None:
    from provenance import storage

    store = emulated_here
    store.put("named/readme.txt", b"hello")
    (entry,) = storage.entries(store.url("named/readme.txt"))
    assert entry.remote is not None and entry.remote.size == 5 and entry.remote.etag
    (missing,) = storage.entries(store.url("no/such/object.jpg"))
    assert missing.error_kind == "not-found"
    (bucket,) = storage.entries(f"{store.scheme}://no-such-bucket-here/")
    assert bucket.error_kind == "not-found"


@pytest.mark.parametrize("large", [False, True], ids=["in-memory", "temporary-file"])
def test_objects_deleted_or_rewritten_after_the_listing_are_per_file_errors(
    emulated_here: Emulated, large: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rewrite of the same size is caught too: the fetch asks for the listed generation or ETag.
    A large object goes to a temporary file (from GCS in ranges of 1 KiB here, each on the same condition)."""
    from provenance import storage
    from provenance.api import Options, check
    from provenance.batch import check_task, prefetch
    from provenance.limits import Limits

    store = emulated_here
    prefix = f"race-{int(large)}/"
    sample = SAMPLES / "c2pa_ai_created.jpg"
    store.put(f"{prefix}gone.png", png_bytes(text={"name": "gone"}))
    store.put(f"{prefix}kept.jpg", sample.read_bytes())
    store.put(f"{prefix}swapped.png", png_bytes(text={"name": "one"}))
    tasks = listed(store, prefix)
    store.delete(f"{prefix}gone.png")
    store.put(f"{prefix}swapped.png", png_bytes(text={"name": "two"}))  # the same size, other bytes
    assert [t.remote.size for t in listed(store, f"{prefix}swapped.png")] == [t.remote.size for t in tasks[2:]]
    options = Options(limits=replace(Limits(), large_file_bytes=100 if large else Limits().large_file_bytes))
    monkeypatch.setattr(storage, "GCS_CHUNK", 1024)
    assert sample.stat().st_size > 3 * 1024
    fetched = prefetch(tasks, options)
    assert all((t.fetched.file is not None) == large for t in fetched if t.fetched.error is None)
    reports = {r.path.rsplit("/", 1)[-1]: r for r in (check_task(t, options) for t in fetched)}
    assert reports["gone.png"].error is not None and reports["gone.png"].error.kind == "not-found"
    swapped = reports["swapped.png"]
    assert swapped.error is not None and swapped.error.kind == "changed-during-scan", swapped.error
    kept = reports["kept.jpg"]
    assert kept.error is None and kept.etag == tasks[1].remote.etag and kept.path == store.url(f"{prefix}kept.jpg")
    assert without_where(kept.to_dict()) == without_where(check(sample, options).to_dict())


NAMES = (
    "c2pa_ai_created.jpg",
    "c2pa_ai_video.mp4",
    "a1111_parameters.png",
    "c2pa_tampered.jpg",
    "broken_truncated.png",
    "c2pa_ai_audio.flac",
)


def test_a_scan_of_objects_equals_the_same_files_scanned_locally(
    emulated: Emulated, tmp_path: Path, schema_validator: Any
) -> None:
    names = list(NAMES)
    local = tmp_path / "local"
    local.mkdir()
    for name in names:
        body = (SAMPLES / name).read_bytes()
        emulated.put(f"same/{name}", body)
        (local / name).write_bytes(body)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    codes = []
    for where, target in (("remote", emulated.url("same/")), ("local", str(local))):
        out = tmp_path / f"{where}.jsonl"
        done = subprocess.run(
            [sys.executable, "-m", "provenance", "scan", target, "--out", str(out), "--jobs", "2"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=emulated.env(),
            timeout=120,
        )
        assert done.returncode in (0, 1, 2), done.stderr
        codes.append(done.returncode)
        lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        results[where] = {r["path"].rsplit("/", 1)[-1]: r for r in lines}
    assert codes[0] == codes[1]
    remote, here = results["remote"], results["local"]
    assert sorted(remote) == sorted(here) == sorted(names)
    for name, record in remote.items():
        schema_validator.validate(record)
        assert record["path"] == emulated.url(f"same/{name}") and record["etag"] and record["mtime"], record
        assert without_where(record) == without_where(here[name]), name
    assert remote["c2pa_ai_video.mp4"]["verdict"] == "ai-generated"


def test_resume_keys_objects_by_what_the_listing_says(emulated: Emulated, tmp_path: Path) -> None:
    """The record's ETag or generation is the listing's form of it: a second scan fetches nothing unchanged."""
    for name in ("a.png", "b.png"):
        emulated.put(f"resume/{name}", png_bytes(text={"name": name}))
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"

    def scan(*args: str) -> dict[str, int]:
        given = ["--out", str(out), "--summary-json", str(summary), *args]
        done = subprocess.run(
            [sys.executable, "-m", "provenance", "scan", emulated.url("resume/"), *given],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=emulated.env(),
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        counts: dict[str, int] = json.loads(summary.read_text())
        return counts

    assert scan()["checked"] == 2
    again = scan("--resume")
    assert (again["checked"], again["resumed"]) == (0, 2)
    emulated.put("resume/b.png", png_bytes(text={"name": "B"}))  # rewritten, the same size
    third = scan("--resume")
    assert (third["checked"], third["resumed"]) == (1, 1)
