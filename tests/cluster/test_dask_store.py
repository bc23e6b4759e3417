"""A Dask scan straight from an object store: the parts of issue 13 together.

A cluster whose workers hold the store's credentials (in their environment,
as an instance role would give them), the moto S3 server on loopback
(tests/store/conftest.py) behind a delay line of no delay that logs every
request: records equal to the same files checked on disk, and every object
fetched exactly once, whether a batch's objects are fetched together in the
Dask worker or a large one by the checking process on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")
pytest.importorskip("s3fs")

from tests.cluster.conftest import another_cluster
from tests.conftest import REPO, SAMPLES
from tests.store import conftest as stores
from tests.store.conftest import BUCKET, Store, start_server, stop_server

store = stores.store  # the S3 server fixture, shared with tests/store

NAMES = (
    "a1111_parameters.png",
    "c2pa_ai_created.jpg",
    "c2pa_tampered.jpg",
    "c2pa_ai_video.mp4",
    "c2pa_ai_audio.wav",
    "comfyui_tags.mp4",
    "plain.mp4",
)
WHERE = ("path", "mtime", "etag", "version")


@pytest.fixture()
def logged(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Store, Path, str]]:
    """The store behind a logging delay line; this process's environment pointed at it (for the workers)."""
    import s3fs

    for name in NAMES:
        store.put(f"dask/{name}", (SAMPLES / name).read_bytes())
    log = tmp_path / "requests.log"
    port = store.endpoint.rsplit(":", 1)[1]
    proxy, proxy_port = start_server(dict(os.environ), "delay.py", port, "0", str(log))
    endpoint = f"http://127.0.0.1:{proxy_port}"
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in store.env(AWS_ENDPOINT_URL=endpoint).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield store, log, endpoint
    finally:
        stop_server(proxy)
        s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture()
def store_cluster(logged: tuple[Store, Path, str]) -> Iterator[Any]:
    """Two workers started with the store's credentials in their environment (spawned: they inherit it)."""
    from provenance.cluster import WORKER_CONFIG

    with another_cluster({**WORKER_CONFIG, "distributed.logging.distributed": "error"}, n_workers=2) as local:
        yield local


def _gets(log: Path) -> Counter[str]:
    """Objects fetched (GET requests that are not listings), by name."""
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(
        line.split(" ", 1)[1].split("?")[0].rsplit("/", 1)[-1]
        for line in lines
        if line.startswith("GET ") and not line.startswith(f"GET /{BUCKET}?")
    )


def test_a_dask_scan_of_objects_equals_the_local_scan_and_fetches_each_object_once(
    logged: tuple[Store, Path, str], store_cluster: Any, tmp_path: Path
) -> None:
    store, log, endpoint = logged
    out = tmp_path / "dask.jsonl"
    address = store_cluster.scheduler_address.replace("tcp://", "dask://")
    env = store.env(AWS_ENDPOINT_URL=endpoint)
    command = [sys.executable, "-m", "provenance", "scan", f"s3://{BUCKET}/dask/", "--scheduler", address]
    done = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 1, done.stderr  # AI found
    assert _gets(log) == Counter(NAMES)  # each object once: fetched in the Dask worker, never again in the child

    local = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", *(str(SAMPLES / n) for n in NAMES), "--jobs", "1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    here = {Path(r["path"]).name: r for r in map(json.loads, local.stdout.splitlines())}
    there = {r["path"].rsplit("/", 1)[-1]: r for r in map(json.loads, out.read_text().splitlines())}
    assert sorted(there) == sorted(NAMES)
    for name, record in there.items():
        assert record["path"] == f"s3://{BUCKET}/dask/{name}" and record["etag"]
        assert {k: v for k, v in record.items() if k not in WHERE} == {
            k: v for k, v in here[name].items() if k not in WHERE
        }, name


def test_large_objects_are_fetched_once_by_the_checking_process(
    logged: tuple[Store, Path, str], store_cluster: Any
) -> None:
    from provenance import storage
    from provenance.api import Options, check
    from provenance.batch import Task
    from provenance.cluster import DaskScheduler
    from provenance.limits import Limits

    _, log, _ = logged
    # Everything of 8 KB or more is "large" here: the videos go to the checking process unfetched,
    # which fetches each into a temporary file; the rest are fetched together in the Dask worker.
    options = Options(limits=replace(Limits(), large_file_bytes=8000))
    tasks = [Task(i, e.path, remote=e.remote) for i, e in enumerate(storage.entries(f"s3://{BUCKET}/dask/"))]
    assert any(t.remote is not None and t.remote.size >= 8000 for t in tasks)
    assert any(t.remote is not None and t.remote.size < 8000 for t in tasks)
    log.write_text("")
    scheduler = DaskScheduler(options, address=store_cluster.scheduler_address)
    try:
        reports = dict(scheduler.run(tasks))
    finally:
        scheduler.close()
    assert _gets(log) == Counter(NAMES)
    for task in tasks:
        report = reports[task.index]
        local = check(SAMPLES / task.path.rsplit("/", 1)[-1], options)
        assert report.error is None, (task.path, report.error)
        assert (report.verdict, report.sha256, report.summary) == (local.verdict, local.sha256, local.summary)
