"""Hostile folders through the CLI: loops, permissions, FIFOs, devices, vanishing files, odd names.

Every test parses the CLI's JSON or JSONL output and checks that each file
appears once, with a verdict or an ``error`` kind, and that nothing was
written next to the inputs or changed in them.
"""

from __future__ import annotations

import ctypes
import io
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


# --- Links named in a list (scan --files-from) ----------------------------------

SECRET_PNG = png_bytes(size=(24, 24), text={"parameters": A1111 + ", Model: privateSecret"})
SECRET_TEXT = b"root:x:0:0:SECRET-MARKER-7f3a:/root:/bin/bash\n"


def _secret_world(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """``tree/`` holding one plain image and links of every kind; secrets beside it, outside."""
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(SECRET_TEXT)
    (outside / "private.png").write_bytes(SECRET_PNG)
    (tree / "real.png").write_bytes(PLAIN_PNG)
    (tree / "x.png").symlink_to(outside / "passwd")  # the attack of the issue
    (tree / "y.png").symlink_to(outside / "private.png")
    (tree / "rel.png").symlink_to("../outside/private.png")
    (tree / "alias.png").symlink_to("real.png")  # inside the tree
    (tree / "dirlink").symlink_to(outside)
    (tree / "sub" / "up.png").symlink_to("../../outside/private.png")
    (tree / "gone.png").symlink_to("nowhere.png")
    (tree / "loop.png").symlink_to("loop.png")
    secrets = {"passwd": SECRET_TEXT, "private.png": SECRET_PNG}
    return tree, outside, secrets


def _find_print0(top: Path) -> bytes:
    """What ``find top -print0`` prints: the folder itself, every folder and file and link under it."""
    names = [str(top)]
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        names += [os.path.join(dirpath, n) for n in sorted(dirnames + filenames)]
    return b"".join(os.fsencode(n) + b"\0" for n in names)


def _assert_no_secret(result: subprocess.CompletedProcess[bytes], secrets: dict[str, bytes]) -> None:
    import hashlib

    for data in secrets.values():
        digest = hashlib.sha256(data).hexdigest().encode()
        assert digest not in result.stdout and digest not in result.stderr
    assert b"SECRET-MARKER" not in result.stdout + result.stderr
    assert b"privateSecret" not in result.stdout + result.stderr
    assert b"726f6f74" not in result.stdout + result.stderr and b"72 6f 6f 74" not in result.stdout + result.stderr


def test_files_from_does_not_follow_links_out_of_the_tree(tmp_path: Path) -> None:
    """The README's recipe, ``find tree -print0 | provenance scan --files-from - -0``, reads no secret."""
    tree, _, secrets = _secret_world(tmp_path)
    listing = _find_print0(tree)
    result = cli("scan", "--files-from", "-", "-0", "--jobs", "1", input=listing)
    assert result.returncode == 2, result.stderr.decode()
    _assert_no_secret(result, secrets)
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    named = {Path(r["path"]).name: r for r in records if r["error"] and r["error"]["kind"] == "symlink-not-followed"}
    # Every link named in the list is refused, in the tree or out of it, to a file or a folder.
    assert set(named) == {"x.png", "y.png", "rel.png", "alias.png", "dirlink", "up.png", "gone.png", "loop.png"}
    for record in named.values():
        assert record["sha256"] is None and record["size"] is None
        assert "not followed" in record["error"]["message"] and "--follow-links" in record["error"]["message"]
    # The folder walk (``tree`` is in find's output too) still keeps links inside it, and only those.
    walked = [r for r in records if r["verdict"] != "error" or r["error"]["kind"] != "symlink-not-followed"]
    kinds = {Path(r["path"]).name: (r["error"] or {}).get("kind") for r in walked}
    assert kinds["x.png"] == kinds["y.png"] == kinds["rel.png"] == kinds["up.png"] == "link-outside-tree"
    assert kinds["alias.png"] is None and kinds["real.png"] is None


@pytest.mark.parametrize("name", ["x.png", "y.png", "rel.png", "sub/up.png"])
def test_a_listed_link_is_followed_only_with_follow_links(tmp_path: Path, name: str) -> None:
    import hashlib

    tree, _, secrets = _secret_world(tmp_path)
    listing = os.fsencode(tree / name) + b"\n"
    refused = cli("scan", "--files-from", "-", input=listing)
    assert refused.returncode == 2
    _assert_no_secret(refused, secrets)
    (record,) = [json.loads(line) for line in refused.stdout.decode().splitlines()]
    assert record["error"]["kind"] == "symlink-not-followed"
    followed = cli("scan", "--files-from", "-", "--follow-links", input=listing)
    (record,) = [json.loads(line) for line in followed.stdout.decode().splitlines()]
    target = (tree / name).resolve().read_bytes()
    assert record["sha256"] == hashlib.sha256(target).hexdigest(), "asked for, the link is followed"


def test_links_named_on_the_command_line_are_followed(tmp_path: Path) -> None:
    """A path the user typed is followed, for check and scan alike (SECURITY.md, Files and folders)."""
    tree, _, _ = _secret_world(tmp_path)
    for command in (["check", "--format", "jsonl"], ["scan"]):
        result = cli(*command, str(tree / "y.png"))
        (record,) = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert record["verdict"] == "ai-generated", command


# --- Files swapped between the walk and the check ---------------------------------


def _swap_link(path: Path, target: Path) -> None:
    """Replace ``path`` (file, link or folder) by a symbolic link to ``target``, atomically."""
    staged = path.with_name(path.name + ".new")
    staged.symlink_to(target)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    os.replace(staged, path)


SWAPS = {
    # what is swapped after the walk: (entry checked, change, expected error kind or None for the walked file)
    "file-for-link": ("plain.png", lambda t, o: _swap_link(t / "plain.png", o / "private.png"), "changed-during-scan"),
    "link-target-for-link": (
        "alias.png",
        lambda t, o: _swap_link(t / "real.png", o / "private.png"),
        "changed-during-scan",
    ),
    "link-retargeted": ("alias.png", lambda t, o: _swap_link(t / "alias.png", o / "private.png"), None),
    "folder-for-link": ("sub/inner.png", lambda t, o: _swap_link(t / "sub", o / "sub"), "changed-during-scan"),
    "file-rewritten": (
        "plain.png",
        lambda t, o: os.replace(o / "private.png", t / "plain.png"),
        "changed-during-scan",
    ),
}


@pytest.mark.parametrize("swap", sorted(SWAPS))
def test_file_swapped_after_the_walk_is_not_read(tmp_path: Path, swap: str) -> None:
    """Walk, then swap a file, link or folder, then check the walked entries: the swapped-in file is never read.

    Deterministic form of the race the issue won 1 run in 6: the entries are
    made by the same code the CLI uses (``tasks_for``) and checked by the
    same function every worker runs (``check_task``).
    """
    import hashlib

    from provenance.api import Options
    from provenance.batch import check_task
    from provenance.cli import tasks_for

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "private.png").write_bytes(SECRET_PNG)
    (outside / "sub" / "inner.png").write_bytes(SECRET_PNG)
    (tree / "plain.png").write_bytes(PLAIN_PNG)
    (tree / "real.png").write_bytes(AI_PNG)
    (tree / "alias.png").symlink_to("real.png")
    (tree / "sub" / "inner.png").write_bytes(PLAIN_PNG)
    secret = hashlib.sha256(SECRET_PNG).hexdigest()

    tasks, early = tasks_for([str(tree)], 1 << 30)
    assert not early
    name, change, kind = SWAPS[swap]
    change(tree, outside)
    options = Options()
    reports = {Path(t.path).relative_to(tree).as_posix(): check_task(t, options) for t in tasks}
    assert all(r.sha256 != secret for r in reports.values()), "the swapped-in file was read"
    assert all("privateSecret" not in json.dumps(r.to_dict()) for r in reports.values())
    report = reports[name]
    if kind is None:  # the link now leads elsewhere; what the walk resolved (real.png) is what was read
        assert report.sha256 == hashlib.sha256(AI_PNG).hexdigest()
    else:
        assert report.error is not None and report.error.kind == kind, report
        assert report.sha256 is None


def test_listed_and_named_files_swapped_after_the_walk_are_not_read(tmp_path: Path) -> None:
    import hashlib

    from provenance.api import Options
    from provenance.batch import Task, check_task
    from provenance.scan import iter_entries

    (tmp_path / "private.png").write_bytes(SECRET_PNG)
    for name in ("listed.png", "named.png"):
        (tmp_path / name).write_bytes(PLAIN_PNG)
    listing = io.BytesIO(os.fsencode(tmp_path / "listed.png") + b"\n")
    entries = list(iter_entries([str(tmp_path / "named.png")], "-", False, listing))
    assert [e.error_kind for e in entries] == [None, None]
    for name in ("listed.png", "named.png"):
        _swap_link(tmp_path / name, tmp_path / "private.png")
    options = Options()
    for index, entry in enumerate(entries):
        task = Task(index, entry.path, found=getattr(entry, "found", None))
        report = check_task(task, options)
        assert report.sha256 != hashlib.sha256(SECRET_PNG).hexdigest(), entry.path
        assert report.error is not None and report.error.kind == "changed-during-scan"


# --- A file that grows while it is read -----------------------------------------


def test_bounded_read_stops_one_byte_past_the_limit(tmp_path: Path) -> None:
    """A real descriptor whose file grows after ``fstat``: the read stops at limit + 1 bytes."""
    from provenance.api import read_bounded

    path = tmp_path / "growing.png"
    path.write_bytes(PLAIN_PNG)
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        with open(path, "ab") as grow:
            grow.write(b"\0" * 100_000)
        data = read_bounded(fd, size, 5000)
        assert len(data) == 5001
        assert data == (PLAIN_PNG + b"\0" * 100_000)[:5001]
    finally:
        os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    try:  # a file that did not grow is read whole, limit or not
        assert read_bounded(fd, os.fstat(fd).st_size, 1 << 30) == path.read_bytes()
    finally:
        os.close(fd)


def test_file_grown_between_fstat_and_read_is_limit_exceeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file grows right after ``check`` measured it: reported over the limit, never read whole."""
    import hashlib
    from dataclasses import replace

    import provenance.api as api
    from provenance.limits import DEFAULT_LIMITS

    path = tmp_path / "grows.png"
    path.write_bytes(PLAIN_PNG)
    grown = PLAIN_PNG + b"\0" * 200_000
    ident = (path.stat().st_dev, path.stat().st_ino)
    real_fstat = os.fstat
    reads: list[int] = []
    real_read = os.read

    def fstat_then_grow(fd: int) -> os.stat_result:
        info = real_fstat(fd)
        if (info.st_dev, info.st_ino) == ident and info.st_size < len(grown):
            with open(path, "ab") as fh:
                fh.write(grown[info.st_size :])
        return info

    def counting_read(fd: int, n: int) -> bytes:
        block = real_read(fd, n)
        reads.append(len(block))
        return block

    monkeypatch.setattr(api.os, "fstat", fstat_then_grow)
    options = api.Options(limits=replace(DEFAULT_LIMITS, max_file_bytes=10_000))
    monkeypatch.setattr(api.os, "read", counting_read)
    report = api.check(path, options)
    monkeypatch.undo()
    assert report.error is not None and report.error.kind == "limit-exceeded", report.to_dict()
    assert "10000-byte" in report.error.message
    assert report.size == len(grown) and report.sha256 == hashlib.sha256(grown).hexdigest()
    assert max(reads) <= 1 << 20, "hashed in blocks, never held whole"


# --- An output never overwrites an input ----------------------------------------


def _out_world(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "in.png").write_bytes(AI_PNG)
    (folder / "in3.png").write_bytes(PLAIN_PNG)
    (folder / "data.bin").write_bytes(b"not an image, but the walk checks it\n")
    (folder / "notes.dat").write_bytes(b"a file named on the command line\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "img.png").write_bytes(PLAIN_PNG)
    (other / "noext").write_bytes(PLAIN_PNG)  # an image by content only
    (tmp_path / "list.txt").write_bytes(os.fsencode(folder / "in.png") + b"\n")
    (tmp_path / "list-notes.txt").write_bytes(os.fsencode(folder / "notes.dat") + b"\n")
    (tmp_path / "list-folder.txt").write_bytes(os.fsencode(folder) + b"\n")
    report = cli("check", "--format", "jsonl", str(folder / "in.png"))
    (tmp_path / "r.jsonl").write_bytes(report.stdout)
    return {"folder": folder, "other": other, "root": tmp_path}


OUT_CLASHES = {
    "check-same-file": ["check", "{folder}/in.png", "--out", "{folder}/in.png"],
    "check-same-file-other-name": ["check", "{folder}/in.png", "--out", "{folder}/../in/in.png"],
    "check-named-non-image": ["check", "{folder}/notes.dat", "--out", "{folder}/notes.dat"],
    "check-file-in-folder": ["check", "{folder}", "--format", "json", "--out", "{folder}/in3.png"],
    "scan-file-in-folder": ["scan", "{folder}", "--out", "{folder}/in3.png"],
    "scan-walked-non-image": ["scan", "{folder}", "--out", "{folder}/data.bin"],
    "scan-image-from-list": ["scan", "--files-from", "{root}/list.txt", "--out", "{other}/img.png"],
    "scan-image-by-content": ["scan", "--files-from", "{root}/list.txt", "--out", "{other}/noext"],
    "scan-the-list": ["scan", "--files-from", "{root}/list.txt", "--out", "{root}/list.txt"],
    # A file or folder named in the list is an input like one named on the command line.
    "scan-non-image-from-list": ["scan", "--files-from", "{root}/list-notes.txt", "--out", "{folder}/notes.dat"],
    "scan-walked-from-list": ["scan", "--files-from", "{root}/list-folder.txt", "--out", "{folder}/data.bin"],
    "scan-summary-json": ["scan", "{folder}", "--out", "{root}/ok.jsonl", "--summary-json", "{folder}/in.png"],
    "scan-resume": ["scan", "{folder}", "--resume", "--out", "{folder}/in3.png"],
    "report-its-input": ["report", "{root}/r.jsonl", "--out", "{root}/r.jsonl"],
    "report-over-an-image": ["report", "{root}/r.jsonl", "--out", "{other}/img.png"],
}


@pytest.mark.parametrize("case", sorted(OUT_CLASHES))
def test_out_that_would_overwrite_an_input_is_refused(tmp_path: Path, case: str) -> None:
    world = _out_world(tmp_path)
    snap = Snapshot.of([world["folder"], world["other"], world["root"]])
    args = [a.format(**{k: str(v) for k, v in world.items()}) for a in OUT_CLASHES[case]]
    result = cli(*args)
    assert result.returncode == 2, (result.stdout.decode(), result.stderr.decode())
    assert b"provenance: error:" in result.stderr
    assert b"overwrite" in result.stderr or b"destroy" in result.stderr
    assert result.stdout == b""
    snap.assert_unchanged()  # nothing truncated, nothing written, not even the --out of scan-summary-json


STDIN_CLASHES = {
    "check-stdin-image": (["check", "-", "--format", "json", "--out", "{folder}/notes.dat"], "notes.dat"),
    "scan-stdin-image": (["scan", "-", "--out", "{folder}/notes.dat"], "notes.dat"),
    "scan-stdin-list": (["scan", "--files-from", "-", "--out", "{folder}/notes.dat"], "list-notes.txt"),
}


@pytest.mark.parametrize("case", sorted(STDIN_CLASHES))
def test_out_that_is_the_file_standard_input_reads_is_refused(tmp_path: Path, case: str) -> None:
    # ``provenance check - --out notes.dat < notes.dat`` read the file, then wrote its report over it.
    world = _out_world(tmp_path)
    args, source = STDIN_CLASHES[case]
    snap = Snapshot.of([world["folder"], world["other"], world["root"]])
    source_path = world["root"] / source if source.startswith("list") else world["folder"] / source
    with open(source_path, "rb") as stdin:
        result = cli(*[a.format(**{k: str(v) for k, v in world.items()}) for a in args], stdin=stdin)
    assert result.returncode == 2, (result.stdout.decode(), result.stderr.decode())
    assert b"destroy" in result.stderr
    snap.assert_unchanged()


def test_a_list_on_standard_input_is_still_read_whole_after_the_check(tmp_path: Path) -> None:
    world = _out_world(tmp_path)
    with open(world["root"] / "list.txt", "rb") as stdin:
        result = cli("scan", "--files-from", "-", "--out", str(world["root"] / "r.jsonl"), stdin=stdin)
    assert result.returncode == 1, result.stderr.decode()
    assert [json.loads(line)["verdict"] for line in (world["root"] / "r.jsonl").read_text().splitlines()] == [
        "ai-generated"
    ]


def test_out_beside_the_inputs_is_still_allowed(tmp_path: Path) -> None:
    """Names the walk passes over (.jsonl, .json, .csv, hidden) and new files may sit inside a checked folder."""
    world = _out_world(tmp_path)
    folder = world["folder"]
    for _ in range(2):  # the second time, the outputs exist already
        scan = cli("scan", str(folder), "--out", str(folder / "results.jsonl"))
        assert scan.returncode == 2, scan.stderr.decode()  # data.bin and notes.dat are not images
        assert len((folder / "results.jsonl").read_bytes().splitlines()) == 4
        check = cli("check", str(folder / "in.png"), "--out", str(folder / ".hidden.out"))
        assert check.returncode == 1, check.stderr.decode()
    fresh = cli("check", str(folder / "in.png"), "--out", str(folder / "new.png"))
    assert fresh.returncode == 1 and json.loads((folder / "new.png").read_text())[0]["verdict"] == "ai-generated"
