"""Scanning objects straight from an S3-compatible store (moto's server on loopback: see conftest.py).

Listing (paged, lazy, the walk's file filter), fetching (concurrent; deleted,
changed and refused objects as per-file errors; the size limit; large
objects through a temporary file), reports equal to the same files checked
locally, resume keyed by ETag, credentials never printed, the missing extra,
and a scan inside a private network namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SAMPLES, jpeg_bytes, png_bytes
from tests.store.conftest import BUCKET, HERE, Store, start_server, stop_server

#: Fields that differ between an object and the same file on disk.
WHERE = ("path", "mtime", "etag", "version")


def scan(store: Store, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provenance", "scan", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env or store.env(),
        timeout=120,
    )


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["path"].rsplit("/", 1)[-1]: item for item in items}


def without_where(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in WHERE}


# --- listing ------------------------------------------------------------------------------


def test_listing_is_paged_lazy_and_takes_what_a_walk_takes(in_process: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from provenance import storage

    names = [f"listing/img{i:02}.png" for i in range(25)] + ["listing/sub/deeper.jpg"]
    skipped = ["listing/.hidden.png", "listing/.cache/x.png", "listing/notes.txt", "listing/sub/", "listing2/x.png"]
    for key in names + skipped:
        in_process.put(key, b"x" * (len(key) % 7))
    monkeypatch.setattr(storage, "PAGE_SIZE", 10)
    fs = storage.filesystem("s3://")
    calls: list[str] = []
    real = fs._call_s3

    async def counting(method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(method)
        return await real(method, *args, **kwargs)

    monkeypatch.setattr(fs, "_call_s3", counting)
    listing = storage.entries(f"s3://{BUCKET}/listing/")
    first = next(listing)
    # The first object is given out after one page, before the rest is asked for.
    assert calls == ["list_objects_v2"]
    assert first.path == f"s3://{BUCKET}/listing/img00.png"
    rest = list(listing)
    assert calls == ["list_objects_v2"] * 3  # 30 keys below the prefix, 10 a page
    entries = [first, *rest]
    assert sorted(e.path for e in entries) == sorted(f"s3://{BUCKET}/{k}" for k in names)
    for entry in entries:
        remote = entry.remote
        assert remote is not None and entry.error_kind is None
        key = entry.path.split(f"{BUCKET}/", 1)[1]
        assert remote.url == entry.path
        assert remote.size == len(key) % 7
        assert remote.etag and remote.etag.startswith('"')
        assert remote.mtime is not None and remote.mtime > 1.6e9
    # No request per object: listing pages only.
    assert set(calls) == {"list_objects_v2"}


def test_a_named_object_is_checked_whatever_its_name_and_a_missing_one_is_an_error(in_process: Store) -> None:
    from provenance import storage

    in_process.put("named/readme.txt", b"hello")
    in_process.put("named/picture.png", png_bytes())
    (entry,) = storage.entries(f"s3://{BUCKET}/named/readme.txt")
    assert entry.remote is not None and entry.remote.size == 5
    # A prefix named without its slash is listed, and the listing passes over the notes as a walk does.
    (folder,) = storage.entries(f"s3://{BUCKET}/named")
    assert folder.path == f"s3://{BUCKET}/named/picture.png" and folder.remote is not None
    (missing,) = storage.entries(f"s3://{BUCKET}/no/such/object.jpg")
    assert missing.error_kind == "not-found"
    (bucket,) = storage.entries("s3://no-such-bucket-here/")
    assert bucket.error_kind == "not-found"


# --- fetching -----------------------------------------------------------------------------


def listed(prefix: str) -> list[Any]:
    from provenance import storage
    from provenance.batch import Task

    return [Task(i, e.path, remote=e.remote) for i, e in enumerate(storage.entries(f"s3://{BUCKET}/{prefix}"))]


def test_objects_deleted_changed_or_refused_after_the_listing_are_per_file_errors(in_process: Store) -> None:
    from provenance.api import Options
    from provenance.batch import check_task, prefetch

    for name in ("gone.png", "kept.png", "swapped.png"):
        in_process.put(f"race/{name}", png_bytes(text={"name": name}))
    in_process.put("denied/secret.png", png_bytes())
    tasks = listed("race/") + [t for t in listed("denied/")]
    in_process.client.delete_object(Bucket=BUCKET, Key="race/gone.png")
    in_process.put("race/swapped.png", png_bytes(text={"name": "another"}))
    options = Options()
    reports = {r.path.rsplit("/", 1)[-1]: r for r in (check_task(t, options) for t in prefetch(tasks, options))}
    assert reports["gone.png"].verdict == "error"
    assert reports["gone.png"].error is not None and reports["gone.png"].error.kind == "not-found"
    assert reports["swapped.png"].error is not None and reports["swapped.png"].error.kind == "changed-during-scan"
    assert reports["secret.png"].error is not None and reports["secret.png"].error.kind == "permission-denied"
    kept = reports["kept.png"]
    assert kept.error is None and kept.etag == tasks[1].remote.etag and kept.size == tasks[1].remote.size
    assert kept.path == f"s3://{BUCKET}/race/kept.png"


def test_a_batch_is_fetched_concurrently_in_a_worker(in_process: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind a delay line of 0.25 s a response, 12 objects one by one would take 3 s or more."""
    import s3fs

    from provenance.api import Options
    from provenance.batch import LocalPool, Task

    for i in range(12):
        in_process.put(f"slow/{i:02}.png", png_bytes(text={"n": str(i)}))
    tasks = listed("slow/")
    port = in_process.endpoint.rsplit(":", 1)[1]
    proxy, proxy_port = start_server(dict(os.environ), "delay.py", port, "0.25")
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy_port}")
        s3fs.S3FileSystem.clear_instance_cache()
        pool = LocalPool(Options(), jobs=1, timeout=30)
        started = time.monotonic()
        reports = [r for _, r in pool.run(Task(t.index, t.path, remote=t.remote) for t in tasks)]
        took = time.monotonic() - started
    finally:
        stop_server(proxy)
    assert len(reports) == 12 and all(r.error is None and r.etag for r in reports)
    assert took < 2.0, f"{took:.2f} s for 12 objects: fetched one by one?"


def test_size_limit_and_large_objects_through_a_temporary_file(in_process: Store, tmp_path: Path) -> None:
    from dataclasses import replace

    from provenance.api import Options, check
    from provenance.batch import check_task, prefetch
    from provenance.limits import Limits

    video = SAMPLES / "c2pa_ai_video.mp4"
    image = SAMPLES / "c2pa_ai_created.jpg"
    in_process.put("large/video.mp4", video.read_bytes())
    in_process.put("large/image.jpg", image.read_bytes())
    # Everything over 1000 bytes is "large": both go through a temporary file, never held in memory.
    options = Options(limits=replace(Limits(), large_file_bytes=1000))
    fetched = prefetch(listed("large/"), options)
    assert all(t.fetched is not None and t.fetched.file is not None and t.fetched.data is None for t in fetched)
    for task, local in zip(fetched, (image, video), strict=True):
        report = check_task(task, options)
        assert task.fetched.file.closed
        assert without_where(report.to_dict()) == without_where(check(local, options).to_dict())
    # Over the size limit: not fetched at all, the listed size named.
    small = Options(limits=replace(Limits(), max_file_bytes=2000))
    (over, _) = [t for t in prefetch(listed("large/"), small)]
    assert over.fetched is not None and over.fetched.error is not None
    report = check_task(over, small)
    assert report.error is not None and report.error.kind == "limit-exceeded"
    assert f"{image.stat().st_size} bytes" in report.error.message and report.sha256 is None


# --- the CLI --------------------------------------------------------------------------------


def same_records(store: Store, tmp_path: Path, root: Path, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``root`` uploaded under ``label/`` and scanned from the store, and scanned on disk: records by relative path."""
    for path in root.rglob("*"):
        if path.is_file():
            store.put(f"{label}/{path.relative_to(root).as_posix()}", path.read_bytes())
    remote_out, local_out = tmp_path / "remote.jsonl", tmp_path / "local.jsonl"
    done = scan(store, f"s3://{BUCKET}/{label}/", "--out", str(remote_out), "--jobs", "2")
    assert done.returncode in (1, 2), done.stderr
    assert scan(store, str(root), "--out", str(local_out), "--jobs", "1").returncode == done.returncode
    prefix = f"s3://{BUCKET}/{label}/"
    remote = {r["path"][len(prefix) :]: r for r in records(remote_out)}
    here = {Path(r["path"]).relative_to(root).as_posix(): r for r in records(local_out)}
    return remote, here


def test_a_scan_of_objects_equals_the_same_files_scanned_locally(
    store: Store, tmp_path: Path, schema_validator: Any
) -> None:
    """Every benign sample (videos, audio, signed and tampered images, broken files), record for record."""
    remote, here = same_records(store, tmp_path, SAMPLES, "same")
    assert sorted(remote) == sorted(here)
    assert len(remote) > 60 and "README.md" not in remote  # what a walk of the folder takes
    for name, record in remote.items():
        schema_validator.validate(record)
        assert record["etag"] and record["version"] is None and record["mtime"]
        assert here[name]["etag"] is None and here[name]["version"] is None
        assert without_where(record) == without_where(here[name]), name
    assert remote["c2pa_ai_video.mp4"]["media_type"] == "video/mp4"
    assert remote["c2pa_ai_video.mp4"]["verdict"] == "ai-generated"
    assert remote["c2pa_ai_created.jpg"]["credentials"]["state"] in ("valid", "trusted")


def test_the_shared_fixtures_from_the_store_equal_their_local_scan(
    store: Store, tmp_path: Path, shared_fixtures: Path
) -> None:
    remote, here = same_records(store, tmp_path, shared_fixtures, "fixtures")
    assert sorted(remote) == sorted(here) and len(remote) > 50
    for name, record in remote.items():
        assert without_where(record) == without_where(here[name]), name


def test_resume_keys_objects_by_etag_and_size(store: Store, tmp_path: Path) -> None:
    bodies = {
        "a.png": (SAMPLES / "a1111_parameters.png").read_bytes(),
        "b.png": png_bytes(text={"Comment": "first"}),
        "c.jpg": jpeg_bytes(),
        "bad.jpg": b"\xff\xd8\xff not really",
    }
    for name, body in bodies.items():
        store.put(f"resume/{name}", body)
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    url = f"s3://{BUCKET}/resume/"
    first = scan(store, url, "--out", str(out))
    assert first.returncode == 2, first.stderr  # bad.jpg
    before = by_name(records(out))
    assert before["bad.jpg"]["verdict"] == "error"
    lines = {json.loads(line)["path"]: line for line in out.read_text().splitlines()}

    # Unchanged again: nothing is fetched but the error, which is checked again. The requests are
    # seen on their way to the server, through a delay line of no delay that logs them.
    log = tmp_path / "requests.log"
    port = store.endpoint.rsplit(":", 1)[1]
    proxy, proxy_port = start_server(dict(os.environ), "delay.py", port, "0", str(log))
    try:
        env = store.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy_port}")
        again = scan(store, url, "--out", str(out), "--resume", "--summary-json", str(summary), env=env)
    finally:
        stop_server(proxy)
    assert again.returncode == 2, again.stderr
    counts = json.loads(summary.read_text())
    assert (counts["checked"], counts["resumed"], counts["files"]) == (1, 3, 4)
    requests = log.read_text().splitlines()
    fetched = sorted(r.split("?")[0].rsplit("/", 1)[-1] for r in requests if not r.startswith(f"GET /{BUCKET}?"))
    assert fetched == ["bad.jpg"], requests  # the listing, and one GET: the file that was an error

    # b.png rewritten (new ETag), c.jpg deleted: b is checked again, c's record goes, a's stays as it was.
    store.put("resume/b.png", png_bytes(text={"Comment": "second, longer"}))
    store.client.delete_object(Bucket=BUCKET, Key="resume/c.jpg")
    third = scan(store, url, "--out", str(out), "--resume", "--summary-json", str(summary))
    assert third.returncode == 2, third.stderr
    counts = json.loads(summary.read_text())
    assert (counts["checked"], counts["resumed"], counts["files"]) == (2, 1, 3)
    after = by_name(records(out))
    assert sorted(after) == ["a.png", "b.png", "bad.jpg"]
    assert after["b.png"]["sha256"] != before["b.png"]["sha256"]
    assert after["b.png"]["etag"] != before["b.png"]["etag"]
    text = out.read_text()
    assert text.count(f"{url}a.png") == 1 and lines[f"{url}a.png"] in text.splitlines()


def test_credentials_never_appear_in_any_output(store: Store, tmp_path: Path) -> None:
    store.put("secrets/fine.png", png_bytes())
    store.put("denied/cred/refused.png", png_bytes())
    out, summary, page = tmp_path / "out.jsonl", tmp_path / "summary.json", tmp_path / "page.html"
    # The store's generated secret, with an object the user's policy refuses.
    done = scan(store, f"s3://{BUCKET}/secrets/", f"s3://{BUCKET}/denied/cred/", "--out", str(out))
    assert done.returncode == 2
    kinds = {r["path"].rsplit("/", 1)[-1]: (r["error"] or {}).get("kind") for r in records(out)}
    assert kinds == {"fine.png": None, "refused.png": "permission-denied"}
    rendered = subprocess.run(
        [sys.executable, "-m", "provenance", "report", str(out), "--thumbnails", "--out", str(page)],
        capture_output=True,
        cwd=REPO,
    )
    assert rendered.returncode == 0
    # No local file to preview, and none fetched: the page says so rather than "no longer there".
    assert page.read_text().count("an object in a store, which is not fetched again for a preview") == 2
    texts = [done.stdout, done.stderr, out.read_text(), page.read_text()]
    assert not any(store.secret in t for t in texts)
    # A distinctive fake secret: every request is refused (the listing itself).
    fake = "FAKEsecretKEY/provenance+must+never+print+it+0042"
    env = store.env(AWS_SECRET_ACCESS_KEY=fake, AWS_SESSION_TOKEN="FAKEsessionTOKEN-provenance-0042")
    refused = scan(store, f"s3://{BUCKET}/secrets/", "--out", str(out), "--summary-json", str(summary), env=env)
    assert refused.returncode == 2
    (record,) = records(out)
    assert record["error"]["kind"] == "permission-denied"
    for text in (refused.stdout, refused.stderr, out.read_text(), summary.read_text()):
        assert fake not in text and "FAKEsessionTOKEN" not in text and store.secret not in text


def _run_without(blocked: tuple[str, ...], *args: str) -> subprocess.CompletedProcess[str]:
    """``provenance ARGS`` with the modules ``blocked`` missing (an extra not installed) and no AWS settings."""
    prelude = f"import sys\nfor _name in {blocked!r}:\n    sys.modules[_name] = None\n"
    code = f"sys.argv = {['provenance', *args]!r}\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code + "from provenance.cli import main\nmain()"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        timeout=60,
    )


@pytest.mark.parametrize("command", ["scan", "check"])
def test_missing_extra_exits_2_before_reading(tmp_path: Path, command: str) -> None:
    out = tmp_path / "out.jsonl"
    for blocked in (("s3fs",), ("fsspec", "s3fs")):
        done = _run_without(blocked, command, "s3://bucket/photos/", "--out", str(out))
        assert done.returncode == 2, done.stderr
        assert "pip install 'provenance[s3]'" in done.stderr
        assert done.stdout == "" and not out.exists()


def test_a_listed_url_without_its_extra_is_an_error_record_naming_it(tmp_path: Path) -> None:
    listing, out = tmp_path / "list.txt", tmp_path / "out.jsonl"
    local = tmp_path / "here.png"
    local.write_bytes(png_bytes())
    listing.write_text(f"s3://bucket/photo.jpg\n{local}\n")
    done = _run_without(("s3fs",), "scan", "--files-from", str(listing), "--out", str(out))
    assert done.returncode == 2, done.stderr
    got = {r["path"]: r for r in records(out)}
    assert "pip install 'provenance[s3]'" in got["s3://bucket/photo.jpg"]["error"]["message"]
    assert got[str(local)]["error"] is None  # the rest of the list is checked


def test_urls_other_than_object_stores_are_refused(tmp_path: Path) -> None:
    """A scan reads the user's store, never the web: http(s):// is refused even though fsspec could read it."""
    out = tmp_path / "out.jsonl"
    given = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "https://example.invalid/a.jpg", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert given.returncode == 2 and "https:// URLs are not read" in given.stderr
    listing = tmp_path / "list.txt"
    listing.write_text("http://example.invalid/b.png\n")
    listed = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "--files-from", str(listing), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert listed.returncode == 2
    (record,) = records(out)
    assert record["error"]["kind"] == "unreadable" and "not read" in record["error"]["message"]


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.network
def test_a_scan_inside_a_private_network_namespace(tmp_path: Path) -> None:
    """Only loopback exists: the server and the scan share it, so the scan reached nothing else."""
    if not _can_unshare():
        pytest.skip("unshare -n is not permitted here")
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        ["unshare", "-n", sys.executable, str(HERE / "netns_scan.py"), str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    got = by_name(records(out))
    assert sorted(got) == ["c2pa_ai_created.jpg", "c2pa_ai_video.mp4"]
    assert got["c2pa_ai_video.mp4"]["verdict"] == "ai-generated"
    assert all(r["error"] is None and r["etag"] for r in got.values())


def test_files_from_lists_urls_and_may_itself_be_a_url(store: Store, tmp_path: Path) -> None:
    store.put("listed/one.png", (SAMPLES / "a1111_parameters.png").read_bytes())
    store.put("listed/two.jpg", jpeg_bytes())
    store.put("listed/deeper/three.png", png_bytes())
    local = tmp_path / "local.png"
    local.write_bytes(png_bytes())
    names = [
        f"s3://{BUCKET}/listed/one.png",
        str(local),
        f"s3://{BUCKET}/listed/missing.png",
        f"s3://{BUCKET}/listed/two.jpg",
        f"s3://{BUCKET}/listed/deeper/",
    ]
    listing = tmp_path / "inventory.txt"
    listing.write_text("\n".join(names) + "\n")
    store.put("lists/inventory.txt", listing.read_bytes())
    for source in (str(listing), f"s3://{BUCKET}/lists/inventory.txt"):
        out = tmp_path / "out.jsonl"
        done = scan(store, "--files-from", source, "--out", str(out), "--jobs", "2")
        assert done.returncode == 2, done.stderr  # the missing object
        got = {r["path"]: r for r in records(out)}
        assert sorted(got) == sorted([*names[:4], f"s3://{BUCKET}/listed/deeper/three.png"])
        assert got[names[2]]["error"]["kind"] == "not-found"
        assert got[names[0]]["verdict"] == "ai-generated" and got[names[0]]["etag"]
        assert got[str(local)]["etag"] is None and got[str(local)]["error"] is None


def test_any_fsspec_store_through_the_generic_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """fsspec's in-memory store (no ETag, a sync implementation): listed folder by folder, fetched in threads."""
    from dataclasses import replace

    import fsspec

    from provenance import storage
    from provenance.api import Options, check
    from provenance.batch import Task, check_task, prefetch
    from provenance.limits import Limits

    # Only object stores are read (never http:// and the like); fsspec's memory store stands in for
    # one here, read through the same code as gs:// and az:// (the "s3" extra's modules are installed).
    monkeypatch.setitem(storage.EXTRAS, "memory", "s3")
    memory = fsspec.filesystem("memory")
    names = ["c2pa_ai_video.mp4", "c2pa_ai_created.jpg", "a1111_parameters.png"]
    for name in names:
        memory.pipe(f"/provenance-generic/in/{name}", (SAMPLES / name).read_bytes())
    memory.pipe("/provenance-generic/in/notes.txt", b"notes")
    memory.pipe("/provenance-generic/in/.hidden/x.png", png_bytes())
    memory.pipe("/provenance-generic/in/sub/changed.png", png_bytes())
    try:
        entries = list(storage.entries("memory://provenance-generic/in/"))
        assert sorted(e.path.rsplit("/", 1)[-1] for e in entries) == sorted([*names, "changed.png"])
        tasks = [Task(i, e.path, remote=e.remote) for i, e in enumerate(entries)]
        memory.pipe("/provenance-generic/in/sub/changed.png", png_bytes((64, 64)))  # another size
        options = Options(limits=replace(Limits(), large_file_bytes=10_000))  # the video goes through a file
        for task in prefetch(tasks, options):
            report = check_task(task, options)
            name = task.path.rsplit("/", 1)[-1]
            if name == "changed.png":
                assert report.error is not None and report.error.kind == "changed-during-scan"
                continue
            assert report.etag is None
            assert without_where(report.to_dict()) == without_where(check(SAMPLES / name, options).to_dict())
    finally:
        memory.rm("/provenance-generic", recursive=True)


def test_the_local_pool_sizes_a_remote_task_by_its_listing_without_a_stat() -> None:
    from provenance.api import Options
    from provenance.batch import LocalPool, Remote, Task

    pool = LocalPool(Options(), jobs=1, timeout=10)
    gib = 1024**3
    # No such path exists to stat: the size is the listed one, and the transfer gets its own allowance.
    large = Task(0, "s3://bucket/video.mp4", remote=Remote("s3://bucket/video.mp4", 3 * gib, '"e"'))
    assert pool._sized(large) == (10 + 30 + 30, True)
    small = Task(1, "s3://bucket/a.jpg", remote=Remote("s3://bucket/a.jpg", 1000, '"e"'))
    assert pool._sized(small) == (10, False)


def test_check_reads_a_url_too(store: Store) -> None:
    store.put("check/signed.jpg", (SAMPLES / "c2pa_ai_created.jpg").read_bytes())
    url = f"s3://{BUCKET}/check/signed.jpg"
    args = ["check", "--format", "json", url, str(SAMPLES / "c2pa_ai_created.jpg")]
    done = subprocess.run(
        [sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=REPO, env=store.env()
    )
    assert done.returncode == 1, done.stderr  # ai-generated: flagged
    remote, local = json.loads(done.stdout)
    assert remote["path"] == url and remote["etag"] and local["etag"] is None
    assert without_where(remote) == without_where(local)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_resume_in_json_and_csv_output(store: Store, tmp_path: Path, fmt: str) -> None:
    for name in ("x.png", "y.jpg"):
        store.put(f"resume-{fmt}/{name}", png_bytes() if name.endswith("png") else jpeg_bytes())
    url = f"s3://{BUCKET}/resume-{fmt}/"
    out, summary = tmp_path / f"out.{fmt}", tmp_path / "summary.json"
    assert scan(store, url, "--format", fmt, "--out", str(out)).returncode == 0
    first = out.read_text()
    store.put(f"resume-{fmt}/z.png", png_bytes((48, 48)))
    done = scan(store, url, "--format", fmt, "--out", str(out), "--resume", "--summary-json", str(summary))
    assert done.returncode == 0, done.stderr
    counts = json.loads(summary.read_text())
    assert (counts["checked"], counts["resumed"]) == (1, 2)
    if fmt == "json":
        paths = sorted(r["path"] for r in json.loads(out.read_text()))  # still one valid array
    else:
        import csv

        rows = list(csv.reader(out.read_text().splitlines()))
        assert rows[0][0] == "path" and out.read_text().startswith(first)
        paths = sorted(r[0] for r in rows[1:])
    assert paths == [f"{url}x.png", f"{url}y.jpg", f"{url}z.png"]


def test_a_url_with_credentials_in_it_is_refused_without_repeating_them(store: Store, tmp_path: Path) -> None:
    secret = "URLsecretNEVERprinted0042"
    url = f"s3://AKIAEXAMPLE:{secret}@{BUCKET}/secrets/"
    out = tmp_path / "out.jsonl"
    given = scan(store, url, "--out", str(out))
    assert given.returncode == 2 and "credentials" in given.stderr
    assert secret not in given.stderr + given.stdout and (not out.exists() or secret not in out.read_text())
    listing = tmp_path / "list.txt"
    listing.write_text(f"{url}fine.png\n")
    listed = scan(store, "--files-from", str(listing), "--out", str(out))
    assert listed.returncode == 2
    (record,) = records(out)
    assert record["path"] == f"s3://{BUCKET}/secrets/fine.png" and record["error"]["kind"] == "unreadable"
    assert secret not in listed.stderr + listed.stdout + out.read_text()


def test_a_listing_of_more_than_one_page_is_checked_as_it_comes(store: Store, tmp_path: Path) -> None:
    """1,030 objects: two pages of ListObjectsV2 (1,000 keys each at most); objects of the first page are
    fetched before the second page is asked for, as the requests on their way to the server show."""
    from concurrent.futures import ThreadPoolExecutor

    tiny = png_bytes((1, 1))
    keys = [f"pages/{i:04}.png" for i in range(1030)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: store.put(key, tiny), keys))
    log, out, summary = tmp_path / "requests.log", tmp_path / "out.jsonl", tmp_path / "summary.json"
    port = store.endpoint.rsplit(":", 1)[1]
    proxy, proxy_port = start_server(dict(os.environ), "delay.py", port, "0", str(log))
    try:
        env = store.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy_port}")
        done = scan(store, f"s3://{BUCKET}/pages/", "--out", str(out), "--summary-json", str(summary), env=env)
    finally:
        stop_server(proxy)
    assert done.returncode == 0, done.stderr
    assert json.loads(summary.read_text())["files"] == 1030
    assert sorted(r["path"] for r in records(out)) == [f"s3://{BUCKET}/{k}" for k in keys]
    requests = log.read_text().splitlines()
    listings = [i for i, r in enumerate(requests) if r.startswith(f"GET /{BUCKET}?")]
    assert len(listings) == 2 and "continuation-token=" in requests[listings[1]]
    fetched_first = [r for r in requests[: listings[1]] if r.startswith(f"GET /{BUCKET}/pages/")]
    assert fetched_first, "the second page was asked for before any object of the first was fetched"


def test_workers_forked_while_the_listing_runs_keep_working(in_process: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers recycled every 3 files are forked while the parent lists (fsspec's I/O thread running):
    each child makes its own connection and every object comes back checked."""
    from provenance import storage
    from provenance.api import Options
    from provenance.batch import LocalPool, Task

    for i in range(40):
        in_process.put(f"fork/{i:03}.png", png_bytes((4, 4)))
    monkeypatch.setattr(storage, "PAGE_SIZE", 7)
    tasks = (Task(i, e.path, remote=e.remote) for i, e in enumerate(storage.entries(f"s3://{BUCKET}/fork/")))
    pool = LocalPool(Options(), jobs=2, recycle=3, timeout=30)
    reports = [r for _, r in pool.run(tasks)]
    assert len(reports) == 40 and all(r.error is None and r.etag for r in reports)


def test_a_store_that_cannot_be_reached_is_one_error_line_and_no_library_noise(store: Store, tmp_path: Path) -> None:
    """The store libraries log their retries and tracebacks (request details included) when nobody set up
    logging: the scan's stderr carries the one error line of each unreadable input, nothing of theirs."""
    import socket

    with socket.socket() as probe:  # a port on loopback that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    env = store.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed}", AWS_MAX_ATTEMPTS="2", AWS_RETRY_MODE="standard")
    out = tmp_path / "out.jsonl"
    done = scan(store, f"s3://{BUCKET}/unreachable/", f"s3://{BUCKET}/unreachable/one.png", "--out", str(out), env=env)
    assert done.returncode == 2, done.stderr
    got = records(out)
    assert [r["error"]["kind"] for r in got] == ["unreadable", "unreadable"]
    assert all("could not connect to the store" in r["error"]["message"] for r in got), got
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("provenance: error: s3://") for line in lines), done.stderr
    assert "Traceback" not in done.stderr and store.secret not in done.stderr


def test_the_store_libraries_log_nothing_to_stderr(store: Store) -> None:
    """gcsfs, s3fs, botocore ... log retries and tracebacks through their own loggers (gcsfs: "_request out
    of retries on exception", with the request's host, after ~30 s of retries to an unreachable store):
    once a store is used, those records go nowhere; the failure reaches the user as the file's error."""
    store.put("quiet/a.png", png_bytes())
    code = (
        "import logging\n"
        "from provenance import storage\n"
        f"entries = list(storage.entries('s3://{BUCKET}/quiet/'))\n"
        "assert [e.remote is not None for e in entries] == [True], entries\n"
        "for name in storage._LIBRARY_LOGGERS:\n"
        "    logging.getLogger(name + '.core').error('request to https://host/?X-Amz-Signature=secret failed')\n"
        "logging.getLogger('provenance-test').error('an unrelated logger still prints')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=store.env())
    assert done.returncode == 0, done.stderr
    assert done.stderr == "an unrelated logger still prints\n"
