"""``provenance scan s3://...`` throughput from an S3 server on loopback, with 30 ms added per response.

Not a test: nothing here runs in CI. The pieces, all on this machine:

* moto's S3 server (``tests/store/server.py``) on 127.0.0.1, holding the
  first ``--count`` files of the benchmark corpus (``make_corpus.py``);
* a delay line in front of it (``tests/store/delay.py``): a small asyncio
  TCP proxy that hands each chunk of every response to the client
  ``--latency-ms`` after it arrived from the server (order kept, throughput
  not limited: a delay, like ``tc qdisc ... netem delay``, which this
  machine's kernel does not have);
* ``provenance scan s3://bench/corpus/ --jobs W`` for each W of ``--jobs``
  (and ``--scheduler S`` passed through when given, for the Dask scheduler),
  timed from start to exit, through the delay line and, for comparison,
  straight to the server and on the same files on local disk;
* with ``--dask``, the same scans on a Dask ``LocalCluster`` of W workers
  (one thread each, ``provenance.cluster.WORKER_CONFIG``) started for each
  row with the store's endpoint and credentials in the workers'
  environment, as an instance role would give them (not timed).

Usage::

    python benchmarks/make_corpus.py --count 500 --target-mb 350 --out /tmp/s3corpus
    python benchmarks/bench_s3.py --corpus /tmp/s3corpus/images --json /tmp/s3.json
    python benchmarks/bench_s3.py --scheduler dask://127.0.0.1:8786   # workers given the endpoint themselves
    python benchmarks/bench_s3.py --dask --json /tmp/s3-dask.json     # clusters started here, W = 1 and 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUCKET = "bench"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench-key", "AWS_SECRET_ACCESS_KEY": "bench-secret"}


# --- the parts ---------------------------------------------------------------------------


def start(args: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    process.terminate()
    process.wait(timeout=10)


def environment(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(CREDENTIALS)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def _client(endpoint: str) -> Any:
    """A boto3 S3 client for the server at ``endpoint``, with the benchmark's credentials."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def upload(endpoint: str, files: list[Path]) -> int:
    client = _client(endpoint)
    client.create_bucket(Bucket=BUCKET)

    def put(path: Path) -> int:
        data = path.read_bytes()
        client.put_object(Bucket=BUCKET, Key=f"corpus/{path.name}", Body=data)
        return len(data)

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(put, files))


def request_latency(endpoint: str, count: int = 20) -> float:
    """Median seconds of one small GetObject through ``endpoint`` (a connection kept open, as s3fs keeps it)."""
    client = _client(endpoint)
    client.put_object(Bucket=BUCKET, Key="probe/tiny", Body=b"x")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client.get_object(Bucket=BUCKET, Key="probe/tiny")["Body"].read()
        times.append(time.perf_counter() - started)
    return statistics.median(times[2:])


def server_ceiling(endpoint: str, files: list[Path], concurrency: int = 32) -> float:
    """Objects a second the server delivers to s3fs fetching ``concurrency`` at a time, nothing checked."""
    code = (
        "import sys, time, s3fs\n"
        # max_concurrency=1: whole-object GETs, without the HEAD s3fs makes first to split large ones
        f"fs = s3fs.S3FileSystem(max_concurrency=1, config_kwargs={{'max_pool_connections': {max(concurrency, 10)}}})\n"
        f"names = [f'{BUCKET}/corpus/{{n}}' for n in sys.argv[1:]]\n"
        "started = time.perf_counter()\n"
        f"fs.cat(names, batch_size={concurrency})\n"
        "print(len(names) / (time.perf_counter() - started))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *(p.name for p in files)],
        env=environment(endpoint),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def timed_scan(target: str, jobs: int, env: dict[str, str], scheduler: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out, summary = Path(tmp) / "out.jsonl", Path(tmp) / "summary.json"
        command = [sys.executable, "-m", "provenance", "scan", target, "--jobs", str(jobs), "--out", str(out)]
        command += ["--summary-json", str(summary), "--fail-on", "invalid"]
        if scheduler:
            command += ["--scheduler", scheduler]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - started
        counts = json.loads(summary.read_text()) if summary.is_file() else {}
        if done.returncode not in (0, 1):
            print(done.stderr[-2000:], file=sys.stderr)
    files = counts.get("files", 0)
    return {
        "jobs": jobs,
        "exit": done.returncode,
        "files": files,
        "errors": counts.get("errors"),
        "wall_s": round(wall, 2),
        "files_per_s": round(files / wall, 1) if wall else 0.0,
    }


@contextlib.contextmanager
def dask_cluster(workers: int | None, env: dict[str, str]) -> Iterator[str | None]:
    """A LocalCluster of ``workers`` whose workers run in ``env`` (its address), or ``None`` for no cluster."""
    if workers is None:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    from provenance.cluster import WORKER_CONFIG

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # spawned workers inherit this process's environment
    try:
        with dask.config.set({**WORKER_CONFIG, "distributed.logging.distributed": "error"}):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
            )
        with cluster, Client(cluster.scheduler_address, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=60)
            yield str(cluster.scheduler_address)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus" / "images")
    parser.add_argument("--count", type=int, default=500, help="files of the corpus to upload (default 500)")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=1, help="scans per setting (the median is reported)")
    parser.add_argument("--scheduler", help="passed to provenance scan --scheduler (e.g. a Dask scheduler address)")
    parser.add_argument("--dask", action="store_true", help="scan on a LocalCluster of W workers started per row")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.dask and args.scheduler:
        parser.error("--dask starts its own clusters: give it or --scheduler, not both")
    files = sorted(p for p in args.corpus.iterdir() if p.is_file())[: args.count]
    if not files:
        parser.error(f"no files in {args.corpus}: run benchmarks/make_corpus.py first")
    server, port = start([sys.executable, str(REPO / "tests" / "store" / "server.py")])
    proxy = None
    try:
        direct = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        size = upload(direct, files)
        print(f"uploaded {len(files)} files, {size / 1e6:.0f} MB, in {time.perf_counter() - started:.1f} s")
        delay_line = [sys.executable, str(REPO / "tests" / "store" / "delay.py"), str(port), str(args.latency_ms / 1e3)]
        proxy, proxy_port = start(delay_line)
        delayed = f"http://127.0.0.1:{proxy_port}"
        latency = {"direct_ms": request_latency(direct) * 1000, "delayed_ms": request_latency(delayed) * 1000}
        print(f"one small GetObject: {latency['direct_ms']:.1f} ms direct, {latency['delayed_ms']:.1f} ms delayed")
        ceiling = {
            "direct": server_ceiling(direct, files),
            "delayed": server_ceiling(delayed, files),
            "delayed_one_by_one": server_ceiling(delayed, files[:100], concurrency=1),
        }
        print(
            f"fetch only, nothing checked: {ceiling['direct']:.0f} files/s direct and {ceiling['delayed']:.0f} "
            f"delayed (32 at a time), {ceiling['delayed_one_by_one']:.0f} delayed one by one"
        )
        with tempfile.TemporaryDirectory() as local:
            for path in files:
                try:
                    os.link(path, Path(local) / path.name)  # a walk does not follow links out of its folder
                except OSError:
                    shutil.copy(path, Path(local) / path.name)
            results: dict[str, Any] = {
                "files": len(files),
                "bytes": size,
                "latency": latency,
                "fetch_only_files_per_s": ceiling,
                "scheduler": "dask LocalCluster(n_workers=W)" if args.dask else args.scheduler or "local",
                "rows": [],
            }
            settings = [(f"s3 +{args.latency_ms:g} ms", f"s3://{BUCKET}/corpus/", environment(delayed))]
            settings.append(("s3 direct", f"s3://{BUCKET}/corpus/", environment(direct)))
            settings.append(("local disk", local, environment(direct)))
            for label, target, env in settings:
                for jobs in args.jobs:
                    with dask_cluster(jobs if args.dask else None, env) as address:
                        runs = [timed_scan(target, jobs, env, address or args.scheduler) for _ in range(args.runs)]
                    row = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
                    row["setting"] = label
                    results["rows"].append(row)
                    print(f"{label:>12}  jobs {jobs}: {row['files_per_s']:>7} files/s  ({row['wall_s']} s, {row})")
    finally:
        if proxy is not None:
            stop(proxy)
        stop(server)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
