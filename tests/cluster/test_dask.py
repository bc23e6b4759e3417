"""``provenance scan --scheduler dask://HOST:PORT`` on a real Dask cluster (see conftest.py).

The scan through Dask must give what ``--jobs 1`` gives, record for record
(completion order aside), and keep the local pool's promises on failures:
a hung file is reported ``timeout`` and a file whose checking process dies
``crash`` (also when it takes its whole Dask worker with it), every other
file exactly once; Ctrl-C exits 130 with valid output and leaves the
user's cluster running.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.conftest import another_cluster, checker_processes
from tests.conftest import REPO, SAMPLES, png_bytes, run_cli
from tests.hostile import builders

A1111 = "a cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512"
CHUNKS = 5_000_000
SLOW_BYTES = 12 * CHUNKS


def _slow_png(chunks: int = CHUNKS) -> bytes:
    """A PNG with ``chunks`` empty private chunks before its image data: over a second of walking (60 MB)."""
    empty = struct.pack(">I", 0) + b"prIv" + struct.pack(">I", zlib.crc32(b"prIv"))
    return builders.png_with(empty * chunks)


def scan_cli(cluster: Any, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``provenance scan`` on the test cluster, as a user runs it."""
    return run_cli("scan", "--scheduler", cluster.scheduler_address.replace("tcp://", "dask://"), *args, timeout=120)


def _records(text: bytes) -> dict[str, dict[str, Any]]:
    records = [json.loads(line) for line in text.decode().splitlines()]
    paths = [r["path"] for r in records]
    assert len(paths) == len(set(paths)), "a file came back twice"
    return {r["path"]: r for r in records}


def _folder(tmp_path: Path, count: int = 6, slow: int = 1) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(count):
        text = {"parameters": A1111} if i % 2 else None
        (folder / f"file-{i}.png").write_bytes(png_bytes((40 + i, 32), text=text))
    for i in range(slow):
        (folder / f"slow{i or ''}.png").write_bytes(_slow_png())
    return folder


@pytest.mark.parametrize("where", ["samples", "fixtures"])
def test_dask_scan_equals_jobs_1(cluster: Any, where: str, request: pytest.FixtureRequest) -> None:
    folder = SAMPLES if where == "samples" else request.getfixturevalue("shared_fixtures")
    local = run_cli("scan", "--jobs", "1", str(folder))
    dask = run_cli("scan", "--scheduler", cluster.scheduler_address.replace("tcp://", "dask://"), str(folder))
    assert dask.returncode == local.returncode, dask.stderr.decode()
    assert local.stdout and local.stdout.count(b"\n") > 20
    assert _records(dask.stdout) == _records(local.stdout)
    # The same per-file errors on stderr, whichever order they came in.
    assert sorted(dask.stderr.decode().splitlines()) == sorted(local.stderr.decode().splitlines())


def test_scheduler_file_csv_and_summary(cluster: Any, tmp_path: Path) -> None:
    scheduler_file = tmp_path / "scheduler.json"
    scheduler_file.write_text(json.dumps({"address": cluster.scheduler_address}))
    out, summary = tmp_path / "out.csv", tmp_path / "summary.json"
    local_summary = tmp_path / "local.json"
    done = run_cli(
        "scan", "--dask-scheduler-file", str(scheduler_file), "--format", "csv", "--out", str(out),
        "--summary-json", str(summary), str(SAMPLES),
    )  # fmt: skip
    local = run_cli("scan", "--jobs", "1", "--format", "csv", "--summary-json", str(local_summary), str(SAMPLES))
    assert done.returncode == local.returncode == 2  # samples_benign holds broken files on purpose
    lines = out.read_bytes().splitlines()
    assert lines[0] == local.stdout.splitlines()[0]  # the header, once
    assert sorted(lines[1:]) == sorted(local.stdout.splitlines()[1:])
    ours, theirs = json.loads(summary.read_text()), json.loads(local_summary.read_text())
    for key in ("elapsed_seconds", "files_per_second"):
        ours.pop(key, None), theirs.pop(key, None)
    assert ours == theirs


def test_hung_file_is_a_timeout_and_the_rest_come_back(cluster: Any, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    done = scan_cli(cluster, "--timeout", "0.5", str(folder))
    assert done.returncode == 2, done.stderr
    records = _records(done.stdout)
    assert len(records) == 7
    slow = records[str(folder / "slow.png")]
    assert slow["verdict"] == "error" and slow["error"]["kind"] == "timeout"
    assert "0.5 s" in slow["error"]["message"]
    for i in range(6):
        record = records[str(folder / f"file-{i}.png")]
        assert record["verdict"] == ("ai-generated" if i % 2 else "no-evidence"), record


def _kill_while_scanning(
    cluster: Any, folder: Path, victim: Callable[[Any], list[Any]], *args: str
) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """Scan ``folder``; each time a checker has read the slow file, SIGKILL ``victim(checker)``."""
    import psutil

    command = [sys.executable, "-m", "provenance", "scan", "--scheduler", cluster.scheduler_address, *args, str(folder)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed: set[int] = set()  # checkers already dealt with (a killed one lingers until it is reaped)
    kills = 0

    def watch() -> None:
        nonlocal kills
        while process.poll() is None:
            for checker in checker_processes():
                if checker.pid in killed:
                    continue
                try:
                    reading = checker.io_counters().read_chars >= SLOW_BYTES
                    targets = victim(checker) if reading else []
                except psutil.Error:
                    continue
                for target in targets:
                    try:
                        target.send_signal(signal.SIGKILL)
                    except psutil.Error:
                        continue
                if targets:
                    killed.add(checker.pid)
                    kills += 1
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, stderr = process.communicate(timeout=120)
    watcher.join()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), kills


def test_a_checker_killed_on_a_file_reports_crash_and_every_other_file_once(cluster: Any, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    done, kills = _kill_while_scanning(cluster, folder, lambda checker: [checker])
    assert kills == 1
    assert done.returncode == 2, done.stderr
    records = _records(done.stdout)
    assert set(records) == {str(p) for p in folder.iterdir()}
    slow = records[str(folder / "slow.png")]
    assert slow["error"]["kind"] == "crash", slow
    assert "died on this file" in slow["error"]["message"]
    assert [r for r in records.values() if r["verdict"] == "error"] == [slow]


def test_a_file_that_kills_its_dask_worker_is_isolated_and_reported_crash(cluster: Any, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    # The Dask worker (the checker's parent) dies each time the file is checked; its checker with it.
    done, kills = _kill_while_scanning(cluster, folder, lambda checker: [checker.parent(), checker])
    assert kills >= 2  # the batch of 7, then smaller and smaller parts holding the file
    assert done.returncode == 2, done.stderr
    records = _records(done.stdout)
    assert set(records) == {str(p) for p in folder.iterdir()}
    slow = records[str(folder / "slow.png")]
    assert slow["error"]["kind"] == "crash", slow
    assert "Dask worker" in slow["error"]["message"]
    assert [r for r in records.values() if r["verdict"] == "error"] == [slow]


def test_files_queued_beside_the_killing_file_are_not_reported_crash(tmp_path: Path) -> None:
    # One worker with one thread: the batches in flight all wait on it, so each time the slow file
    # takes the worker down, the batches queued beside it die too (the scheduler charges every task
    # it had sent there). Only the file that kills its worker when tried alone is a crash.
    from provenance.cluster import WORKER_CONFIG

    folder = _folder(tmp_path, count=3)  # four files: halves of two, then single files side by side
    # First in the walk: each batch holding it starts with it, while the rest of the batch and the
    # batches after it wait on the same worker.
    (folder / "slow.png").rename(folder / "0-slow.png")
    with another_cluster({**WORKER_CONFIG, "distributed.scheduler.allowed-failures": 0}) as local:
        done, kills = _kill_while_scanning(local, folder, lambda checker: [checker.parent(), checker])
    assert kills >= 2
    assert done.returncode == 2, done.stderr
    records = _records(done.stdout)
    assert set(records) == {str(p) for p in folder.iterdir()}
    slow = records[str(folder / "0-slow.png")]
    assert slow["error"]["kind"] == "crash" and "Dask worker" in slow["error"]["message"], slow
    for i in range(3):
        record = records[str(folder / f"file-{i}.png")]
        assert record["verdict"] == ("ai-generated" if i % 2 else "no-evidence"), record


def test_standard_input_and_a_files_from_list_go_through_the_cluster(cluster: Any, tmp_path: Path) -> None:
    image = png_bytes((48, 48), text={"parameters": A1111})
    piped = run_cli("scan", "--scheduler", cluster.scheduler_address, "-", stdin=image)
    assert piped.returncode == 1, piped.stderr  # flagged
    (record,) = _records(piped.stdout).values()
    assert record["path"] == "-" and record["verdict"] == "ai-generated"
    assert record == json.loads(run_cli("scan", "--jobs", "1", "-", stdin=image).stdout)
    listed = [str(p) for p in sorted(SAMPLES.iterdir()) if p.suffix in (".png", ".jpg")][:12]
    listing = "\n".join(listed).encode()
    through = run_cli("scan", "--scheduler", cluster.scheduler_address, "--files-from", "-", stdin=listing)
    local = run_cli("scan", "--jobs", "1", "--files-from", "-", stdin=listing)
    assert through.returncode == local.returncode
    assert _records(through.stdout) == _records(local.stdout) and len(_records(local.stdout)) == len(listed)


def test_listed_files_are_checked_while_the_list_waits(cluster: Any, tmp_path: Path) -> None:
    # Every path already in a piped list goes to the cluster while the list stays open: the input thread
    # hands over what it holds while it waits for the next line.
    folder = tmp_path / "listed"
    folder.mkdir()
    names = []
    for n in range(30):
        (folder / f"plain{n:02}.png").write_bytes(png_bytes(size=(16 + n, 16)))
        names.append(folder / f"plain{n:02}.png")
    out = tmp_path / "out.jsonl"
    command = [
        sys.executable, "-m", "provenance", "scan", "--scheduler", cluster.scheduler_address,
        "--files-from", "-", "--out", str(out),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write("".join(f"{name}\n" for name in names).encode())
    process.stdin.flush()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (out.read_bytes().count(b'{"path"') if out.exists() else 0) < 30:
            assert process.poll() is None
            time.sleep(0.05)
        assert out.read_bytes().count(b'{"path"') == 30  # the list is still open
    finally:
        _, stderr = process.communicate(timeout=60)  # closes the list
    assert process.returncode == 0, stderr.decode()
    assert sorted(_records(out.read_bytes())) == sorted(str(n) for n in names)


def test_resume_with_the_dask_scheduler(cluster: Any, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i}.png").write_bytes(png_bytes((32 + i, 32)))
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    first = scan_cli(cluster, "--out", str(out), str(folder))
    assert first.returncode == 0, first.stderr
    (folder / "new.png").write_bytes(png_bytes((50, 50), text={"parameters": A1111}))
    os.utime(folder / "0.png", (1_000_000, 1_000_000))  # changed since: checked again
    again = scan_cli(cluster, "--resume", "--out", str(out), "--summary-json", str(summary), str(folder))
    assert again.returncode == 1, again.stderr  # the new file is flagged
    counts = json.loads(summary.read_text())
    assert counts["resumed"] == 3 and counts["checked"] == 2
    records = _records(out.read_bytes())
    assert set(records) == {str(p) for p in folder.iterdir()}
    assert records[str(folder / "0.png")]["mtime"] == 1_000_000


def _scan_under_way(address: str, folder: Path, out: Path) -> subprocess.Popen[bytes]:
    """A JSON scan of ``folder`` on the cluster at ``address``, once it has written its first record
    (and is still running: ``folder`` holds slow files)."""
    command = [
        sys.executable, "-m", "provenance", "scan", "--scheduler", address, "--format", "json", "--out", str(out),
        str(folder),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and b'"path"' not in (out.read_bytes() if out.exists() else b""):
        time.sleep(0.05)
    assert process.poll() is None, "the scan ended before it was under way"
    return process


def test_ctrl_c_exits_130_with_valid_output_and_the_cluster_lives_on(cluster: Any, client: Any, tmp_path: Path) -> None:
    folder = _folder(tmp_path, count=40, slow=2)
    out = tmp_path / "out.json"
    process = _scan_under_way(cluster.scheduler_address, folder, out)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    records = json.loads(out.read_text())  # a whole JSON array
    assert 1 <= len(records) < 42
    assert str(folder / "slow.png") not in {r["path"] for r in records}
    assert len({r["path"] for r in records}) == len(records)
    assert b"interrupted" in stderr
    # The cluster is still there, and our plugin is gone from its workers.
    assert client.submit(sum, [1, 2], pure=False).result(timeout=30) == 3
    plugins = client.run(lambda dask_worker: list(dask_worker.plugins))
    assert len(plugins) == 2
    assert not [name for names in plugins.values() for name in names if name.startswith("provenance-")]
    _no_checkers_left()


def _no_checkers_left(within: float = 5.0) -> None:
    """The checking processes a scan started on the workers are all gone (soon after it ended)."""
    deadline = time.monotonic() + within
    while checker_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not checker_processes()


def _scan_plugins(client: Any) -> list[str]:
    names = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
    return [name for name in names if name.startswith("provenance-scan-")]


def test_a_scan_killed_outright_leaves_a_plugin_that_the_next_scan_removes(
    cluster: Any, client: Any, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, count=2)
    command = [sys.executable, "-m", "provenance", "scan", "--scheduler", cluster.scheduler_address, str(folder)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not _scan_plugins(client) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.kill()  # no clean-up at all
    process.wait(timeout=30)
    assert _scan_plugins(client), "the killed scan's plugin should still be there"
    small = tmp_path / "small"
    small.mkdir()
    (small / "a.png").write_bytes(png_bytes())
    done = scan_cli(cluster, str(small))
    assert done.returncode == 0, done.stderr
    assert _scan_plugins(client) == []
    _no_checkers_left()


def test_daemonic_workers_are_refused_with_the_setting_to_change(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    out = tmp_path / "out.jsonl"
    with another_cluster({"distributed.worker.daemon": True}) as local:
        done = run_cli("scan", "--scheduler", local.scheduler_address, "--out", str(out), str(image))
    assert done.returncode == 2
    assert b"distributed.worker.daemon" in done.stderr and b"False" in done.stderr
    assert not out.exists()  # refused before the output was opened


def test_workers_with_the_nanny_malloc_setting_get_a_note_and_the_same_records() -> None:
    # Not daemonic, but with the nanny's default MALLOC_TRIM_THRESHOLD_ (the session cluster's setting undone).
    nanny_default = {
        "distributed.worker.daemon": False,
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536,
    }
    with another_cluster(nanny_default) as local:
        done = run_cli("scan", "--scheduler", local.scheduler_address, str(SAMPLES))
    plain = run_cli("scan", "--jobs", "1", str(SAMPLES))
    assert done.returncode == plain.returncode == 2
    assert b"note: the Dask workers run with MALLOC_TRIM_THRESHOLD_=65536" in done.stderr
    assert _records(done.stdout) == _records(plain.stdout)


def test_losing_the_scheduler_stops_the_scan_with_exit_2_and_valid_output(tmp_path: Path) -> None:
    from provenance.cluster import WORKER_CONFIG

    folder = _folder(tmp_path, count=40, slow=2)
    out = tmp_path / "out.json"
    with another_cluster(WORKER_CONFIG) as local:
        process = _scan_under_way(local.scheduler_address, folder, out)
        local.close()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr.decode()
    assert b"lost the Dask scheduler" in stderr and b"the output is valid up to the files done" in stderr
    records = json.loads(out.read_text())  # a whole JSON array
    assert 1 <= len(records) < 42 and len({r["path"] for r in records}) == len(records)


def test_scheduler_addresses() -> None:
    from provenance.scan import ScanError, parse_scheduler

    assert parse_scheduler("local") is None
    assert parse_scheduler("dask://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert parse_scheduler("tcp://[::1]:8786/") == "tcp://[::1]:8786"
    assert parse_scheduler("tls://scheduler.internal:8786") == "tls://scheduler.internal:8786"
    for bad in ("dask://nowhere", "http://h:1", "dask://:8786", "tcp://h:port", "Local"):
        with pytest.raises(ScanError):
            parse_scheduler(bad)


def test_bad_scheduler_values_are_usage_errors(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    done = run_cli("scan", "--scheduler", "dask:/nowhere", str(image))
    assert done.returncode == 2 and b"--scheduler" in done.stderr and not done.stdout
    done = run_cli("scan", "--scheduler", "dask://127.0.0.1:1", "--dask-scheduler-file", "x.json", str(image))
    assert done.returncode == 2 and b"not both" in done.stderr and not done.stdout


@pytest.mark.parametrize("blocked", [("distributed",), ("dask", "distributed")])
def test_without_the_dask_extra_exit_2_before_reading(tmp_path: Path, blocked: tuple[str, ...]) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes())
    out = tmp_path / "out.jsonl"
    prelude = f"import sys\nfor _name in {blocked!r}:\n    sys.modules[_name] = None\n"
    argv = ["provenance", "scan", "--scheduler", "dask://127.0.0.1:8786", "--out", str(out), str(image)]
    code = prelude + f"sys.argv = {argv!r}\nfrom provenance.cli import main\nmain()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "pip install 'provenance[dask]'" in done.stderr
    assert done.stdout == "" and not out.exists()


def test_batches_are_cut_by_count_and_bytes_and_a_larger_file_goes_alone() -> None:
    pytest.importorskip("distributed")
    from provenance.batch import Remote, Task
    from provenance.cluster import _Intake

    def remote(index: int, size: int) -> Task:
        return Task(index, f"s3://bucket/{index}", remote=Remote(f"s3://bucket/{index}", size))

    mib = 1 << 20
    sizes = [10, 10, 100 * mib, 10, 50 * mib, 20 * mib, 1, *[5] * 300]
    intake = _Intake((remote(i, n) for i, n in enumerate(sizes)), chunks=4)
    batches = []
    while batch := intake.take(256, 64 * mib, wait=1.0):
        batches.append([t.index for t in batch])
    assert batches[:3] == [[0, 1], [2], [3, 4]]  # cut before the 100 MiB file, which goes alone
    assert batches[3][:2] == [5, 6]
    assert all(len(b) <= 256 and (len(b) == 1 or sum(sizes[i] for i in b) <= 64 * mib) for b in batches)
    assert [i for b in batches for i in b] == list(range(len(sizes)))  # each once, in order
    assert intake.finished and intake.remaining == 0


def test_local_files_are_batched_by_count_and_a_large_one_alone() -> None:
    """A local file is read by the checking process, one at a time: only a large one (a video) counts bytes."""
    pytest.importorskip("distributed")
    from provenance.batch import Task
    from provenance.cluster import _Intake
    from provenance.paths import Found

    mib = 1 << 20
    sizes = [700_000] * 300 + [100 * mib] + [700_000] * 10

    def local(index: int, size: int) -> Task:
        return Task(index, f"/data/{index}.jpg", found=Found("/data", f"{index}.jpg", 1, index, False, size))

    intake = _Intake((local(i, n) for i, n in enumerate(sizes)), chunks=8, large=64 * mib)
    batches = []
    while batch := intake.take(256, 64 * mib, wait=1.0):
        batches.append([t.index for t in batch])
    assert [len(b) for b in batches] == [256, 44, 1, 10]  # 180 MB of images in one batch; the video alone
    assert batches[2] == [300]


def test_an_input_that_fails_is_raised_to_the_scan_after_what_came_before() -> None:
    pytest.importorskip("distributed")
    from provenance.batch import Task
    from provenance.cluster import _Intake

    def listing() -> Any:
        yield Task(0, "a.png")
        yield Task(1, "b.png")
        raise OSError(5, "Input/output error", "list.txt")

    intake = _Intake(listing(), chunks=2)
    got: list[int] = []
    with pytest.raises(OSError, match="Input/output error"):
        for _ in range(100):  # the thread may hand the tasks over one at a time: take until the error comes
            got += [t.index for t in intake.take(256, 1 << 30, wait=1.0)]
    assert got == [0, 1]  # every task before the failure, in order, before it is raised


def test_the_readme_recipe_with_dask_scheduler_and_dask_worker_processes(tmp_path: Path) -> None:
    """The worker settings exactly as the README gives them, to `dask worker` as users start it."""
    distributed = pytest.importorskip("distributed")
    dask_command = Path(sys.executable).parent / "dask"
    if not dask_command.exists():
        pytest.skip("no dask command beside this Python")
    section = (REPO / "README.md").read_text(encoding="utf-8").split("### On a Dask cluster", 1)[1]
    recipe = section.split("provenance-workers.yaml <<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    config = tmp_path / "dask-config"
    config.mkdir()
    (config / "provenance-workers.yaml").write_text(recipe + "\n", encoding="utf-8")
    scheduler_file = tmp_path / "scheduler.json"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    common = ["--host", "127.0.0.1", "--dashboard-address", ":0"]
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(
            subprocess.Popen(
                [str(dask_command), "scheduler", "--port", "0", "--scheduler-file", str(scheduler_file), *common],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        started.append(
            subprocess.Popen(
                [str(dask_command), "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1", *common],
                env={**env, "DASK_CONFIG": str(config)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        with distributed.Client(scheduler_file=str(scheduler_file), timeout=60, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
        done = run_cli("scan", "--dask-scheduler-file", str(scheduler_file), str(SAMPLES))
    finally:
        for process in reversed(started):
            process.terminate()
            process.wait(timeout=30)
    plain = run_cli("scan", "--jobs", "1", str(SAMPLES))
    assert done.returncode == plain.returncode == 2, done.stderr
    assert b"note:" not in done.stderr  # MALLOC_TRIM_THRESHOLD_ is gone from the workers
    assert _records(done.stdout) == _records(plain.stdout)


def test_checking_processes_leave_when_their_dask_worker_is_killed_outright() -> None:
    """Two runners in one process (a worker with two threads); the process gets SIGKILL: no orphan stays."""
    pytest.importorskip("distributed")
    import psutil

    code = (
        "import time\n"
        "from provenance.api import Options\n"
        "from provenance.cluster import _Runner\n"
        "from provenance.scan import Render\n"
        "runners = [_Runner(Options(), Render('jsonl')) for _ in range(2)]\n"
        "for runner in runners:\n"
        "    runner.start()\n"
        "print(*(runner._process.pid for runner in runners), flush=True)\n"
        "time.sleep(120)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE)
    assert worker.stdout is not None
    children = [psutil.Process(int(pid)) for pid in worker.stdout.readline().split()]
    assert len(children) == 2 and all(child.is_running() for child in children)
    worker.kill()
    worker.wait(timeout=30)

    def alive(child: Any) -> bool:  # an exited child not yet reaped by whoever adopted it counts as gone
        try:
            return bool(child.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 10
    while any(alive(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(child) for child in children), "a checking process outlived its worker"
