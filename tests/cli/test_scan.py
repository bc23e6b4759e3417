"""``provenance scan``: streaming output, resume after a kill, lists, CSV, exit codes, signals."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provenance.render.csv import COLUMNS
from provenance.report import Report
from provenance.scan import Previous, ScanConfig, ScanError, load_previous, parse_fail_on, read_list, run_scan
from tests.conftest import REPO, jpeg_bytes, png_bytes, run_cli

# Synthetic A1111 infotext (shared/markers/generator-parameters.md §1 grammar).
A1111 = (
    "a red cube on a table, studio light\nNegative prompt: blurry\n"
    "Steps: 24, Sampler: DPM++ 2M, CFG scale: 6.5, Seed: {seed}, Size: 64x64, Model: exampleModel_v1"
)


def _folder(root: Path, count: int, flagged_every: int = 7) -> Path:
    """``count`` small gradients (PNG and JPEG); every ``flagged_every``-th PNG carries A1111 parameters."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sub = root / f"part{i % 3}"
        sub.mkdir(exist_ok=True)
        if i % 2:
            (sub / f"img{i:04d}.jpg").write_bytes(jpeg_bytes((48 + i % 16, 48), exif={0x010F: "Canon"}))
        else:
            text = {"parameters": A1111.format(seed=i)} if i % flagged_every == 0 else None
            (sub / f"img{i:04d}.png").write_bytes(png_bytes((48 + i % 16, 48), text=text))
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("scan") / "images", 300)


@pytest.fixture()
def mixed(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ai.png").write_bytes(png_bytes(text={"parameters": A1111.format(seed=1)}))
    (folder / "plain.png").write_bytes(png_bytes())
    (folder / "camera.jpg").write_bytes(jpeg_bytes(exif={0x010F: "Canon", 0x0110: "EOS"}))
    return folder


def _popen(*args: str, stdin: int | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "provenance", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[bytes], limit: float = 60) -> int:
    """Wait until ``path`` holds ``count`` complete records (each starts with its path)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_bytes().count(b'{"path": ')
            if lines >= count:
                return lines
        if process.poll() is not None:
            break
        time.sleep(0.002)
    raise AssertionError(f"{path} never reached {count} lines (exit {process.poll()})")


def _all_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def test_resume_after_sigkill_checks_every_file_exactly_once(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    process = _popen("scan", str(corpus), "--out", str(out), "--jobs", "1")
    done_at_kill = _wait_for_lines(out, 20, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    expected = _all_files(corpus)
    assert done_at_kill < len(expected), "the scan was killed before the end"
    killed = out.read_bytes()
    assert killed.count(b"\n") < len(expected)

    result = run_cli("scan", str(corpus), "--out", str(out), "--resume", "--summary-json", str(tmp_path / "s.json"))
    assert result.returncode == 1, result.stderr.decode()  # some files carry A1111 parameters
    assert result.stderr == b""
    reports = _jsonl(out)  # every line parses
    paths = [r["path"] for r in reports]
    assert sorted(paths) == expected, "every file exactly once"
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["files"] == len(expected) and summary["resumed"] + summary["checked"] == len(expected)
    assert summary["resumed"] >= killed.count(b"\n") - 2  # at most a line in flight was cut
    flagged = {Path(str(r["path"])).name for r in reports if r["verdict"] == "ai-generated"}
    assert flagged == {f"img{i:04d}.png" for i in range(0, 300, 14)}

    # Nothing left to do: a second resume checks nothing and changes nothing.
    before = out.read_bytes()
    again = run_cli("scan", str(corpus), "--out", str(out), "--resume", "--summary-json", str(tmp_path / "s.json"))
    assert again.returncode == 1
    assert out.read_bytes() == before
    assert json.loads((tmp_path / "s.json").read_text())["checked"] == 0


def test_resume_rechecks_changed_files_and_drops_partial_records(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    options = _options()
    run_scan(ScanConfig(paths=(str(mixed),), out=out), options, stderr=io.StringIO())
    # A killed run can leave half a record at the end.
    with open(out, "ab") as fh:
        fh.write(b'{"path": "cut sh')
    changed = mixed / "plain.png"
    changed.write_bytes(png_bytes((40, 40), text={"parameters": A1111.format(seed=9)}))
    os.utime(changed, (1_000_000_000, 1_000_000_000))
    summary = run_scan(ScanConfig(paths=(str(mixed),), out=out, resume=True), options, stderr=io.StringIO())
    assert (summary.resumed, summary.checked) == (2, 1)
    reports = {Path(str(r["path"])).name: r for r in _jsonl(out)}
    assert sorted(reports) == ["ai.png", "camera.jpg", "plain.png"]
    assert reports["plain.png"]["verdict"] == "ai-generated" and reports["plain.png"]["mtime"] == 1_000_000_000


def test_resume_leaves_a_foreign_file_alone(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "notes.jsonl"
    out.write_text("these are my notes\nnot a report\n")
    result = run_cli("scan", str(mixed), "--out", str(out), "--resume")
    assert result.returncode == 2 and b"not a provenance report" in result.stderr
    assert out.read_text() == "these are my notes\nnot a report\n"


def test_load_previous_keeps_only_unchanged_successful_records(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    run_scan(ScanConfig(paths=(str(mixed),), out=out, fmt="json"), _options(), stderr=io.StringIO())
    assert len(json.loads(out.read_text())) == 3
    (mixed / "camera.jpg").unlink()
    previous = load_previous(out, "json")
    assert isinstance(previous, Previous)
    assert sorted(Path(p).name for p in previous.done) == ["ai.png", "plain.png"]
    assert previous.dropped == 1
    # The file is left open-ended, ready for more records and a closing bracket.
    assert json.loads(out.read_text() + "\n]") and not out.read_text().rstrip().endswith("]")


def test_resume_does_not_write_through_a_planted_link(mixed: Path, tmp_path: Path) -> None:
    """A link planted where --resume once wrote its temporary file (``<out>.resume-tmp``) is not written through."""
    out = tmp_path / "out.jsonl"
    run_scan(ScanConfig(paths=(str(mixed),), out=out), _options(), stderr=io.StringIO())
    gone = json.loads(out.read_bytes().splitlines()[0])
    gone["path"] = str(mixed / "deleted.png")  # a first record to drop: --resume must rewrite, not just truncate
    out.write_bytes(json.dumps(gone).encode() + b"\n" + out.read_bytes())
    out.chmod(0o640)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    planted = tmp_path / "out.jsonl.resume-tmp"
    planted.symlink_to(victim)
    before = sorted(os.listdir(tmp_path))

    result = run_cli("scan", str(mixed), "--out", str(out), "--resume")
    assert result.returncode == 1, result.stderr.decode()
    assert victim.read_bytes() == b"precious\n"
    assert planted.is_symlink() and os.readlink(planted) == str(victim)
    assert sorted(os.listdir(tmp_path)) == before, "no temporary file left behind"
    assert sorted(Path(str(r["path"])).name for r in _jsonl(out)) == ["ai.png", "camera.jpg", "plain.png"]
    assert not out.is_symlink() and out.stat().st_mode & 0o777 == 0o640, "the output keeps its permissions"


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_resume_drops_a_deeply_nested_last_line(mixed: Path, tmp_path: Path, fmt: str) -> None:
    """A last line nested past the JSON parser's recursion limit is a record cut short, not an internal error."""
    out = tmp_path / f"out.{fmt}"
    run_scan(ScanConfig(paths=(str(mixed),), out=out, fmt=fmt), _options(), stderr=io.StringIO())
    lines = [line.rstrip(b",") for line in out.read_bytes().splitlines() if line.startswith(b"{")]
    kept = [line for line in lines if b"camera.jpg" not in line]
    assert len(kept) == 2
    deep = b'{"path": "' + str(mixed / "camera.jpg").encode() + b'", "raw": ' + b"[" * 100_000
    if fmt == "jsonl":
        out.write_bytes(b"".join(line + b"\n" for line in kept) + deep)
    else:
        out.write_bytes(b"[\n" + b",\n".join([*kept, deep]))
    result = run_cli(
        "scan", str(mixed), "--out", str(out), "--format", fmt, "--resume", "--summary-json", str(tmp_path / "s.json")
    )
    assert result.returncode == 1, result.stderr.decode()
    assert b"internal error" not in result.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["resumed"], summary["checked"]) == (2, 1), "the file whose record was cut is checked again"
    records = _jsonl(out) if fmt == "jsonl" else json.loads(out.read_text())
    assert sorted(Path(str(r["path"])).name for r in records) == ["ai.png", "camera.jpg", "plain.png"]


@pytest.mark.parametrize("nul", [False, True])
def test_files_from_stdin(mixed: Path, tmp_path: Path, nul: bool) -> None:
    odd = mixed / ("new\nline.png" if nul else "with space.png")
    odd.write_bytes(png_bytes())
    names = [str(mixed / "ai.png"), str(odd), str(mixed / "missing.png"), str(mixed / "camera.jpg")]
    sep = "\0" if nul else "\n"
    listing = (sep.join(names) + sep).encode()
    args = ["scan", "--files-from", "-"] + (["-0"] if nul else [])
    result = run_cli(*args, stdin=listing)
    assert result.returncode == 2  # the missing file is an error
    reports = {str(r["path"]): r for r in map(json.loads, result.stdout.decode().splitlines())}
    assert sorted(reports) == sorted(names)
    assert reports[str(mixed / "ai.png")]["verdict"] == "ai-generated"
    assert reports[str(odd)]["verdict"] == "no-evidence"
    assert reports[str(mixed / "missing.png")]["error"]["kind"] == "not-found"
    assert b"missing.png: not-found" in result.stderr  # errors still go to stderr


def test_read_list_splits_lazily_across_chunks() -> None:
    data = b"a.png\r\nb c.png\n\n-\n" + b"d" * 100 + b".png"
    assert list(read_list(io.BytesIO(data), chunk=3)) == ["a.png", "b c.png", "./-", "d" * 100 + ".png"]
    assert list(read_list(io.BytesIO(b"x\ny\0z\0"), nul=True, chunk=2)) == ["x\ny", "z"]


def test_csv_columns_and_quoting(mixed: Path, tmp_path: Path) -> None:
    (mixed / 'odd, "name".png').write_bytes(png_bytes())
    (mixed / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run_cli("scan", "--format", "csv", str(mixed))
    assert result.returncode == 2
    rows = list(csv.reader(io.StringIO(result.stdout.decode(), newline="")))
    assert tuple(rows[0]) == COLUMNS
    by_name = {Path(row[0]).name: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    assert sorted(by_name) == sorted(["ai.png", "plain.png", "camera.jpg", 'odd, "name".png', "broken.png"])
    ai = by_name["ai.png"]
    assert (ai["verdict"], ai["credentials_state"], ai["error"]) == ("ai-generated", "none", "")
    assert ai["top_finding"].startswith("A1111-") and ai["generator"]
    assert by_name["camera.jpg"]["verdict"] == "captured"
    assert by_name["broken.png"]["verdict"] == "error" and by_name["broken.png"]["error"].startswith("truncated:")
    assert by_name['odd, "name".png']["verdict"] == "no-evidence"


def test_exit_codes_and_fail_on(mixed: Path, tmp_path: Path) -> None:
    plain, camera, ai = (str(mixed / n) for n in ("plain.png", "camera.jpg", "ai.png"))
    assert run_cli("scan", plain, camera).returncode == 0
    assert run_cli("scan", plain, ai).returncode == 1
    assert run_cli("scan", plain, ai, str(mixed / "missing.png")).returncode == 2
    assert run_cli("scan", "--fail-on", "captured", plain, camera).returncode == 1
    assert run_cli("scan", "--fail-on", "ai-edited,invalid", ai).returncode == 0
    assert run_cli("scan", "--fail-on", "no-evidence", plain).returncode == 1
    assert run_cli("scan", "--fail-on", "ai-edited", ai, str(mixed / "missing.png")).returncode == 2
    bad = run_cli("scan", "--fail-on", "ai-made", plain)
    assert bad.returncode == 2 and b"unknown ai-made" in bad.stderr
    assert run_cli("scan").returncode == 2
    assert run_cli("scan", "--resume", plain).returncode == 2  # --resume needs --out
    with pytest.raises(ScanError):
        parse_fail_on("error")


def test_only_flagged_writes_flagged_but_counts_all(mixed: Path, tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    result = run_cli("scan", "--only-flagged", "--summary-json", str(summary_file), str(mixed))
    assert result.returncode == 1
    names = [Path(json.loads(line)["path"]).name for line in result.stdout.decode().splitlines()]
    assert names == ["ai.png"]
    summary = json.loads(summary_file.read_text())
    assert summary["files"] == 3 and summary["written"] == 1 and summary["flagged"] == 1
    assert summary["verdicts"] == {"ai-generated": 1, "ai-edited": 0, "captured": 1, "no-evidence": 1, "error": 0}
    assert summary["credentials"]["none"] == 3 and summary["exit_code"] == 1


def test_quiet_when_stderr_is_not_a_terminal(mixed: Path) -> None:
    for args in ((str(mixed / "plain.png"),), (str(mixed),)):
        result = run_cli("scan", *args)
        assert result.returncode in (0, 1)
        assert result.stderr == b"", result.stderr.decode()


def test_progress_and_summary_on_a_terminal(mixed: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "provenance", "scan", str(mixed)],
            stdout=subprocess.PIPE,
            stderr=follower,
            cwd=REPO,
            timeout=120,
            env={**os.environ, "COLUMNS": "160"},
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    assert process.returncode == 1
    assert len(process.stdout.decode().splitlines()) == 3  # records still go to stdout
    for needle in ("files/s", "flagged", "ai-generated", "no-evidence", "credentials", "3 files"):
        assert needle in screen, needle


def _comparable(output: bytes) -> list[dict[str, object]]:
    timing = {"elapsed", "elapsed_seconds", "duration"}
    reports = [{k: v for k, v in json.loads(line).items() if k not in timing} for line in output.splitlines()]
    return sorted(reports, key=lambda r: str(r["path"]))


def test_jobs_1_and_jobs_2_give_identical_results(corpus: Path) -> None:
    one = run_cli("scan", "--jobs", "1", str(corpus))
    two = run_cli("scan", "--jobs", "2", str(corpus))
    assert one.returncode == two.returncode == 1
    first, second = _comparable(one.stdout), _comparable(two.stdout)
    assert len(first) == 300
    assert first == second


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_ctrl_c_leaves_valid_output(mixed: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    process = _popen("scan", "--files-from", "-", "--format", fmt, "--out", str(out), stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(f"{mixed / 'ai.png'}\n{mixed / 'plain.png'}\n".encode())
    process.stdin.flush()
    _wait_for_lines(out, 2, process)
    time.sleep(0.1)
    process.send_signal(signal.SIGINT)  # the scan is waiting for more paths
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"Traceback" not in err and b"interrupted" in err
    text = out.read_text()
    records = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert sorted(Path(r["path"]).name for r in records) == ["ai.png", "plain.png"]


@pytest.mark.parametrize(("only_flagged", "expected"), [(False, 31), (True, 1)])
def test_listed_files_are_checked_and_written_while_the_list_waits(
    mixed: Path, tmp_path: Path, only_flagged: bool, expected: int
) -> None:
    # Every path already in a piped list is checked, and its record written and flushed, while the list
    # stays open: the input thread hands over what it holds while it waits for the next line, and records
    # whose results arrive together get their flush after the last of them, written or not
    # (--only-flagged leaves out the plain ones).
    for n in range(30):
        (mixed / f"plain{n:02}.png").write_bytes((mixed / "plain.png").read_bytes())
    names = [mixed / f"plain{n:02}.png" for n in range(10)] + [mixed / "ai.png"]
    names += [mixed / f"plain{n:02}.png" for n in range(10, 30)]
    out = tmp_path / "out.jsonl"
    args = ["--files-from", "-", "--jobs", "1", "--out", str(out)] + (["--only-flagged"] if only_flagged else [])
    process = _popen("scan", *args, stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write("".join(f"{name}\n" for name in names).encode())
    process.stdin.flush()
    try:
        assert _wait_for_lines(out, expected, process, limit=20) == expected  # the list is still open
    finally:
        process.communicate(timeout=60)  # closes the list
    assert process.returncode == 1
    records = [Path(str(r["path"])).name for r in _jsonl(out)]
    assert len(records) == expected and "ai.png" in records


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_while_busy(corpus: Path, tmp_path: Path, signum: int, code: int) -> None:
    out = tmp_path / "out.json"
    summary = tmp_path / "summary.json"
    process = _popen(
        "scan", str(corpus), "--jobs", "1", "--format", "json", "--out", str(out), "--summary-json", str(summary)
    )
    _wait_for_lines(out, 5, process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == code, err.decode()
    assert b"Traceback" not in err
    records = json.loads(out.read_text())
    assert 4 <= len(records) < 300
    assert len({r["path"] for r in records}) == len(records)
    data = json.loads(summary.read_text())
    assert data["interrupted"] is True and data["checked"] == len(records)


def _options():  # type: ignore[no-untyped-def]
    from provenance.api import make_options

    return make_options()


def test_rule_index_gives_the_same_findings(corpus: Path, mixed: Path) -> None:
    """match() tries only the rules indexed under each item's field (a speed-up): no finding may change."""
    from provenance.api import _builtin_rules
    from provenance.match import cross_check, match, matches
    from provenance.read import ReadOptions, read
    from tests.conftest import FIXTURES, SAMPLES

    files = sorted(p for p in corpus.rglob("*") if p.is_file())[:90] + sorted(mixed.iterdir())
    for extra in (SAMPLES, FIXTURES):
        if extra.is_dir():
            files += sorted(p for p in extra.rglob("*") if p.is_file() and p.stat().st_size < 8 << 20)
    rules, options = _builtin_rules(), ReadOptions()
    fired = set()
    for path in files:
        evidence = read(path.read_bytes(), str(path), options).evidence
        every_pair = [(rule.id, ev) for ev in evidence for rule in rules.rules if matches(rule, ev)]
        found = match(evidence, rules)
        plain = [f for f in found if f.rule != "CONFLICT-001"]
        expected: dict[tuple[str, ...], tuple[str, str, str, str]] = {}
        for rule_id, ev in every_pair:  # one finding per fact: items sharing ev.fact count once per rule
            key = (rule_id, ev.fact) if ev.fact else (rule_id, ev.field, ev.value, ev.location)
            expected.setdefault(key, (rule_id, ev.field, ev.value, ev.location))
        assert [(f.rule, f.field, f.value, f.location) for f in plain] == list(expected.values()), path
        assert [f for f in found if f.rule == "CONFLICT-001"] == list(cross_check(plain)), path
        fired.update(f.rule for f in found)
    assert len(fired) >= 3  # the comparison saw real findings, not only empty ones


def test_killed_workers_lose_and_repeat_nothing(corpus: Path) -> None:
    """A time limit no check can meet: workers are killed again and again, queued files go elsewhere."""
    files = _all_files(corpus)[:40]
    result = run_cli("scan", "--timeout", "0.0005", "--files-from", "-", stdin="\n".join(files).encode())
    assert result.returncode == 2
    reports = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert sorted(r["path"] for r in reports) == sorted(files)
    assert any(r["error"] and r["error"]["kind"] == "timeout" for r in reports)
    assert b": timeout: checking took longer than" in result.stderr


def test_workers_forked_after_a_check_still_validate_credentials() -> None:
    """c2pa-python refuses a Context made in another process: a pool forked after this
    process has checked a signed file must not report that file's credentials as invalid."""
    from provenance.api import Options, check
    from provenance.batch import LocalPool, Task
    from tests.conftest import SAMPLES

    signed = SAMPLES / "c2pa_ai_created.jpg"
    options = Options()
    here = check(signed, options)
    assert here.credentials.state == "valid"
    (_, there), *_ = list(LocalPool(options, jobs=1).run([Task(0, str(signed))]))
    assert there.credentials.state == here.credentials.state
    assert there.issues == here.issues


def _worker_pid(report: object) -> int:
    return os.getpid()


def test_large_files_go_to_idle_workers_not_into_one_queue(tmp_path: Path) -> None:
    """Workers take several files per message; a large file (``large_file_bytes`` or more) must not
    queue behind another in one worker while the other worker idles (two long videos would be
    checked one after the other, and the batch take twice as long)."""
    from provenance.api import Options
    from provenance.batch import LocalPool, Task
    from provenance.limits import Limits

    paths = []
    for i in range(2):
        path = tmp_path / f"large{i}.png"
        path.write_bytes(png_bytes((64 + i, 64)))
        paths.append(path)
    options = Options(limits=Limits(large_file_bytes=1))
    results = dict(LocalPool(options, jobs=2).run([Task(i, str(p)) for i, p in enumerate(paths)], _worker_pid))
    assert sorted(results) == [0, 1]
    assert results[0] != results[1]


def test_walked_files_are_sized_by_the_walk_for_their_time_limit(tmp_path: Path) -> None:
    """The walk keeps the size it saw (``Found.size``); the pool sizes a walked file's time limit and
    routing with it, without a second stat: large walked files still go to idle workers."""
    from provenance.api import Options
    from provenance.batch import LocalPool, Task, time_limit
    from provenance.limits import Limits
    from provenance.paths import walk

    for i in range(2):
        (tmp_path / f"large{i}.png").write_bytes(png_bytes((64 + i, 64)))
    entries = list(walk([str(tmp_path)]))
    assert [e.found.size if e.found else None for e in entries] == [
        (tmp_path / f"large{i}.png").stat().st_size for i in range(2)
    ]
    options = Options(limits=Limits(large_file_bytes=1))
    tasks = [Task(i, e.path, found=e.found) for i, e in enumerate(entries)]
    results = dict(LocalPool(options, jobs=2).run(tasks, _worker_pid))
    assert sorted(results) == [0, 1]
    assert results[0] != results[1]
    # The size the walk saw decides, as a stat at that moment would have.
    pool = LocalPool(Options(), jobs=1)
    found = entries[0].found
    assert found is not None
    big = Task(0, entries[0].path, found=found._replace(size=2 * 1024**3))
    assert pool._limit(big) == time_limit(pool.timeout, 2 * 1024**3, Options().limits)


def _with_large_payload(report: Report) -> tuple[str, str | None, bytes]:
    return report.verdict, report.sha256, b"\x00" * (3 << 20)


def test_walked_files_and_results_larger_than_the_pipe_cross_between_processes_whole(tmp_path: Path) -> None:
    """Tasks carry the walk's ``Found`` to the worker as a plain tuple and results come back through the
    parent's own reads of the pipe: a walked file is still opened as the walk saw it (its hash, not a
    ``changed-during-scan`` or internal error), and a result of several pipe buffers arrives whole."""
    from provenance.api import Options
    from provenance.batch import LocalPool, Task
    from provenance.paths import walk

    for i in range(3):
        (tmp_path / f"img{i}.png").write_bytes(png_bytes((32 + i, 32)))
    entries = list(walk([str(tmp_path)]))
    tasks = [Task(i, e.path, found=e.found) for i, e in enumerate(entries)]
    results = dict(LocalPool(Options(), jobs=2).run(tasks, _with_large_payload))
    assert sorted(results) == [0, 1, 2]
    for i, entry in enumerate(entries):
        verdict, digest, payload = results[i]
        assert verdict == "no-evidence"
        assert digest == hashlib.sha256(Path(entry.path).read_bytes()).hexdigest()
        assert payload == b"\x00" * (3 << 20)


def _children(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent (now init) has not reaped it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_exit_when_the_scan_is_killed_outright(corpus: Path, tmp_path: Path) -> None:
    """A worker holding the parent's end of its own pipe never sees the pipe close when the parent is
    SIGKILLed: it waited for tasks forever, holding the output file open."""
    out = tmp_path / "out.jsonl"
    process = _popen("scan", str(corpus), "--out", str(out), "--jobs", "2")
    _wait_for_lines(out, 5, process)
    workers = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert workers, "the scan had no worker processes"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.05)
    left = [pid for pid in workers if _running(pid)]
    for pid in left:  # do not leave them behind either way
        os.kill(pid, signal.SIGKILL)
    assert not left, "workers outlived the killed scan"
