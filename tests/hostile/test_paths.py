"""Hostile folders through the CLI: loops, permissions, FIFOs, devices, vanishing files, odd names.

Every test parses the CLI's JSON or JSONL output and checks that each file
appears once, with a verdict or an ``error`` kind, and that nothing was
written next to the inputs or changed in them.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provenance.api import check
from provenance.paths import walk
from tests.conftest import REPO, png_bytes
from tests.hostile.conftest import Snapshot, cli, is_root

A1111 = "a cube\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512"
AI_PNG = png_bytes(size=(16, 16), text={"parameters": A1111})
PLAIN_PNG = png_bytes(size=(16, 16))


def reports_from(result: subprocess.CompletedProcess[bytes], fmt: str) -> list[dict[str, Any]]:
    text = result.stdout.decode("utf-8")
    if fmt == "json":
        data = json.loads(text)
        assert isinstance(data, list)
        return data
    lines = text.split("\n")
    assert lines[-1] == "", "JSONL ends with a newline"
    return [json.loads(line) for line in lines[:-1]]


def by_path(reports: list[dict[str, Any]]) -> dict[bytes, dict[str, Any]]:
    """Reports keyed by the path's original bytes (undecodable bytes come back as surrogates)."""
    keyed = {os.fsencode(r["path"]): r for r in reports}
    assert len(keyed) == len(reports), "each file appears once"
    return keyed


@pytest.fixture()
def world_dir() -> Iterator[Path]:
    """A folder every user can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="provenance-hostile-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for root, dirs, _ in os.walk(path):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(path)


# --- Names --------------------------------------------------------------------

ODD_NAMES = [
    b"with space.png",
    b"new\nline.png",
    b"tab\there.png",
    b"carriage\rreturn.png",
    b'quote"and\\backslash.png',
    b"-leading-dash.png",
    b"-",
    b"\xff\xfe invalid utf-8.png",
    b"caf\xc3\xa9 \xe2\x9c\x93.png",
    b"\x1b[31mescape.png",
    b"x" * 200 + b".png",
]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_odd_file_names(tmp_path: Path, fmt: str) -> None:
    folder = os.fsencode(tmp_path)
    for name in ODD_NAMES:
        Path(os.fsdecode(os.path.join(folder, name))).write_bytes(AI_PNG)
    snap = Snapshot.of([tmp_path])
    result = cli("check", "--format", fmt, "--jobs", "2", str(tmp_path))
    assert result.returncode == 1, result.stderr.decode()
    reports = reports_from(result, fmt)
    if fmt == "jsonl":
        assert result.stdout.count(b"\n") == len(ODD_NAMES), "one line per file, names escaped"
    got = by_path(reports)
    assert set(got) == {os.path.join(folder, n) for n in ODD_NAMES}
    assert {r["verdict"] for r in reports} == {"ai-generated"}
    snap.assert_unchanged()


def test_odd_names_given_explicitly(tmp_path: Path) -> None:
    names = [os.path.join(os.fsencode(tmp_path), n) for n in ODD_NAMES if n != b"-"]
    for name in names:
        Path(os.fsdecode(name)).write_bytes(PLAIN_PNG)
    result = cli("check", "--format", "jsonl", *[os.fsdecode(n) for n in names])
    assert result.returncode == 0, result.stderr.decode()
    assert set(by_path(reports_from(result, "jsonl"))) == set(names)


def test_text_output_survives_odd_names(tmp_path: Path) -> None:
    for name in ODD_NAMES:
        Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), name))).write_bytes(AI_PNG)
    result = cli("check", "--format", "text", str(tmp_path), env={**os.environ, "COLUMNS": "100"})
    assert result.returncode == 1, result.stderr.decode()[-2000:]
    assert b"Traceback" not in result.stderr
    assert result.stdout.count(b"ai-generated") >= len(ODD_NAMES)


# --- Links, special files -----------------------------------------------------


def test_symlink_loops_and_special_files(tmp_path: Path) -> None:
    (tmp_path / "real.png").write_bytes(AI_PNG)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "inner.png").write_bytes(PLAIN_PNG)
    (tmp_path / "loop").symlink_to(".")  # a directory link back to the top
    (sub / "up").symlink_to("..")
    (tmp_path / "self.png").symlink_to("self.png")
    (tmp_path / "a.png").symlink_to("b.png")
    (tmp_path / "b.png").symlink_to("a.png")
    (tmp_path / "gone.png").symlink_to("nowhere.png")
    (tmp_path / "alias.png").symlink_to("real.png")
    os.mkfifo(tmp_path / "fifo.png")
    snap = Snapshot.of([tmp_path / "real.png", sub / "inner.png"])
    result = cli("check", "--format", "json", str(tmp_path), timeout=60)
    assert result.returncode == 2, result.stderr.decode()
    got = {Path(r["path"]).relative_to(tmp_path).as_posix(): r for r in reports_from(result, "json")}
    assert set(got) == {"real.png", "alias.png", "sub/inner.png", "self.png", "a.png", "b.png", "gone.png", "fifo.png"}
    assert got["real.png"]["verdict"] == got["alias.png"]["verdict"] == "ai-generated"
    assert got["sub/inner.png"]["verdict"] == "no-evidence"
    for name in ("self.png", "a.png", "b.png"):
        assert got[name]["error"]["kind"] == "link-loop"
    assert got["gone.png"]["error"]["kind"] == "broken-link"
    assert got["fifo.png"]["error"]["kind"] == "special-file"
    snap.assert_unchanged()


def test_fifo_and_devices_named_explicitly_are_not_read(tmp_path: Path) -> None:
    """A FIFO nobody writes to, and /dev/zero, would block or never end if opened and read."""
    fifo = tmp_path / "named.fifo"
    os.mkfifo(fifo)
    args = [str(fifo), "/dev/zero", "/dev/null"]
    if os.path.exists("/dev/urandom"):
        args.append("/dev/urandom")
    t0 = time.monotonic()
    result = cli("check", "--format", "jsonl", *args, timeout=60)
    assert time.monotonic() - t0 < 30
    assert result.returncode == 2
    reports = reports_from(result, "jsonl")
    assert [r["path"] for r in reports] == args
    assert all(r["error"]["kind"] == "special-file" for r in reports)


def test_link_out_of_tree_is_not_followed(tmp_path: Path) -> None:
    inside = tmp_path / "in"
    inside.mkdir()
    (tmp_path / "secret.png").write_bytes(AI_PNG)
    (inside / "leak.png").symlink_to(tmp_path / "secret.png")
    result = cli("check", "--format", "json", str(inside))
    (report,) = reports_from(result, "json")
    assert report["error"]["kind"] == "link-outside-tree"
    assert report["sha256"] is None


# --- Permissions (as root: drop privileges in the child) ----------------------

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _drop_dac_capabilities() -> None:
    """Child side: root without the capabilities that bypass file permissions."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def unprivileged(probe: Path) -> dict[str, Any]:
    """subprocess arguments that make a child unable to read ``probe`` (mode 000), or skip.

    The plain way is ``user=65534``; when the interpreter lives where nobody
    may enter (e.g. under /root), the child stays root but loses the
    capabilities that bypass permission checks, which has the same effect.
    """
    if not is_root():
        pytest.skip("needs root to drop privileges")
    check_read = [sys.executable, "-c", f"open({str(probe)!r}, 'rb')"]
    candidates: list[dict[str, Any]] = [
        {"user": 65534, "group": 65534, "extra_groups": []},
        {"preexec_fn": _drop_dac_capabilities},
    ]
    for option in candidates:
        try:
            done = subprocess.run(check_read, capture_output=True, timeout=30, cwd=probe.parent, **option)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode != 0 and b"PermissionError" in done.stderr:
            return option
    pytest.skip("cannot drop privileges here")


@pytest.mark.needs_root
def test_permission_denied_files_and_folders(world_dir: Path) -> None:
    readable = world_dir / "readable.png"
    readable.write_bytes(AI_PNG)
    readable.chmod(0o644)
    secret = world_dir / "secret.png"
    secret.write_bytes(AI_PNG)
    secret.chmod(0o000)
    locked = world_dir / "locked"
    locked.mkdir()
    (locked / "hidden.png").write_bytes(AI_PNG)
    locked.chmod(0o000)
    listable = world_dir / "listable"  # r-- : names can be listed but not opened or stat'ed
    listable.mkdir()
    (listable / "inside.png").write_bytes(AI_PNG)
    listable.chmod(0o444)
    option = unprivileged(secret)
    snap = Snapshot.of([readable])
    command = [sys.executable, "-m", "provenance", "check", "--format", "jsonl", str(world_dir), str(secret)]
    result = subprocess.run(command, capture_output=True, timeout=120, cwd=world_dir, env=_env(), **option)
    assert result.returncode == 2, result.stderr.decode()
    reports = reports_from(result, "jsonl")
    got = {os.path.relpath(r["path"], world_dir): r for r in reports}
    assert got["readable.png"]["verdict"] == "ai-generated"
    assert got["secret.png"]["error"]["kind"] == "permission-denied"
    assert got["locked"]["error"]["kind"] == "permission-denied"
    assert got["listable/inside.png"]["error"]["kind"] == "permission-denied"
    assert len(reports) == 5  # the secret file twice: once in the walk, once named
    snap.assert_unchanged()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["HOME"] = "/nonexistent"
    env.pop("XDG_CONFIG_HOME", None)
    return env


# --- Files that vanish ----------------------------------------------------------


def test_file_vanishing_between_walk_and_check(tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / f"f{i}.png").write_bytes(PLAIN_PNG)
    entries = walk([str(tmp_path)])
    first = next(entries)
    (tmp_path / "f2.png").unlink()
    rest = list(entries)
    listed = {Path(e.path).name: e.error_kind for e in [first, *rest]}
    assert listed == {"f0.png": None, "f1.png": None, "f2.png": "not-found", "f3.png": None}
    (tmp_path / "f3.png").unlink()
    report = check(rest[-1].path)
    assert report.verdict == "error" and report.error is not None and report.error.kind == "not-found"


def test_folder_vanishing_mid_walk(tmp_path: Path) -> None:
    for sub in ("a", "b", "c"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.png").write_bytes(PLAIN_PNG)
    entries = walk([str(tmp_path)])
    first = next(entries)
    shutil.rmtree(tmp_path / "b")
    names = [Path(e.path).relative_to(tmp_path).as_posix() for e in [first, *entries]]
    assert names[0] == "a/x.png" and "c/x.png" in names and "b/x.png" not in names


def test_batch_while_files_vanish(tmp_path: Path) -> None:
    """Files deleted after the walk, while the CLI checks them: each is checked or ``not-found``."""
    keep = {f"keep{i:03d}.png" for i in range(40)}
    doomed = [f"doomed{i:03d}.png" for i in range(600)]
    for name in keep:
        (tmp_path / name).write_bytes(AI_PNG)
    for name in doomed:
        (tmp_path / name).write_bytes(PLAIN_PNG)
    errors = tmp_path.parent / f"{tmp_path.name}.stderr"
    with open(errors, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "provenance", "check", "--format", "jsonl", "--jobs", "2", str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=REPO,
        )
        assert process.stdout is not None
        first = process.stdout.readline()  # the walk is over and checking has begun
        for name in reversed(doomed[1:]):
            (tmp_path / name).unlink()
        out = process.stdout.read()  # through the same buffer as readline (communicate() would skip it)
        process.wait(timeout=120)
    assert process.returncode == 2, errors.read_text()
    reports = [json.loads(line) for line in (first + out).decode().splitlines()]
    names = [Path(r["path"]).name for r in reports]
    assert names == sorted(set(names)) and set(names) == keep | set(doomed), "every walked file is reported once"
    vanished = 0
    for report in reports:
        if Path(report["path"]).name in keep:
            assert report["verdict"] == "ai-generated"
        elif report["verdict"] == "error":
            assert report["error"]["kind"] == "not-found"
            vanished += 1
        else:
            assert report["verdict"] == "no-evidence"
    assert vanished, "some files vanished between the walk and their check"


# --- The read-only promise, on the real sample folders --------------------------


def test_checking_the_sample_folders_changes_nothing() -> None:
    from tests.conftest import FIXTURES, SAMPLES

    folders = [p for p in (SAMPLES, FIXTURES / "c2pa-rs") if p.is_dir()]
    if not folders:
        pytest.skip("no sample folders")
    snap = Snapshot.of(folders)
    result = cli("check", "--format", "jsonl", "--jobs", "2", *map(str, folders), timeout=300)
    assert result.returncode in (1, 2), result.stderr.decode()
    reports = reports_from(result, "jsonl")
    assert len(reports) >= len([p for f in folders for p in f.glob("*.*") if p.suffix in {".jpg", ".png"}])
    snap.assert_unchanged()


def test_inputs_are_opened_read_only(tmp_path: Path) -> None:
    """strace: every open() of an input is O_RDONLY (skipped without strace or ptrace)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    target = tmp_path / "input.png"
    target.write_bytes(AI_PNG)
    log = tmp_path / "trace.log"
    command = ["strace", "-f", "-qq", "-e", "trace=open,openat,creat,truncate,utimensat,rename,unlink", "-o", str(log)]
    result = subprocess.run(
        [*command, sys.executable, "-m", "provenance", "check", "--format", "json", str(target)],
        capture_output=True,
        timeout=120,
        cwd=REPO,
    )
    if not log.exists() or b"ptrace" in result.stderr:
        pytest.skip("strace cannot trace here")
    calls = [line for line in log.read_text(errors="replace").splitlines() if str(target) in line]
    assert calls, "the input was opened"
    for line in calls:
        assert "O_RDONLY" in line and "O_WRONLY" not in line and "O_RDWR" not in line, line
        assert not line.split(" ", 1)[1].startswith(("creat", "truncate", "utimensat", "rename", "unlink")), line
    assert stat.S_ISREG(target.stat().st_mode) and target.read_bytes() == AI_PNG
