"""The committed benign samples (samples_benign/): verdicts, credentials, coverage, read-only access.

The samples and ``expected.json`` are made by ``samples_benign/make_samples.py``;
these tests run the real library and CLI over the committed files.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.api import check, make_options
from provenance.judge import VERDICTS
from provenance.match import builtin_rules_dir
from provenance.report import Report

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples_benign"
EXPECTED: dict[str, dict[str, str]] = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
SUPPORT_FILES = {"README.md", "expected.json", "make_samples.py", "test-ca.pem"}
SIGNED = sorted(name for name, want in EXPECTED.items() if want["state"] == "valid")
TAMPERED = sorted(name for name, want in EXPECTED.items() if want["state"] == "invalid")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    return {name: check(SAMPLES / name) for name in sorted(EXPECTED)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_verdict_and_credentials_state(name: str) -> None:
    report = check(SAMPLES / name)
    want = EXPECTED[name]
    got = {"verdict": report.verdict, "state": report.credentials.state}
    assert got == want, f"{name}: {report.summary} findings={[f.rule for f in report.findings]}"


def test_folder_holds_exactly_the_listed_samples() -> None:
    present = {p.name for p in SAMPLES.iterdir() if p.is_file()} - SUPPORT_FILES
    assert present == set(EXPECTED)
    assert len(EXPECTED) >= 20
    assert sum(p.stat().st_size for p in SAMPLES.iterdir() if p.is_file()) < 3 * 1024 * 1024


def test_samples_cover_every_verdict_and_format(reports: dict[str, Report]) -> None:
    assert {want["verdict"] for want in EXPECTED.values()} == set(VERDICTS)
    media_types = {r.media_type for r in reports.values()}
    assert {"image/jpeg", "image/png", "image/webp", "image/tiff", "image/gif"} <= media_types
    assert any(r.credentials.state == "valid" and r.media_type == "image/jpeg" for r in reports.values())
    assert any(r.credentials.state == "valid" and r.media_type == "image/png" for r in reports.values())


def test_every_rule_family_but_watermark_fires_on_some_sample(reports: dict[str, Report]) -> None:
    families: dict[str, set[str]] = {}  # family -> rule ids
    for path in sorted(builtin_rules_dir().glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        family = str(doc.get("family", path.stem))
        families.setdefault(family, set()).update(rule["id"] for rule in doc["rule"])
    families.pop("watermark", None)
    fired = {finding.rule for report in reports.values() for finding in report.findings}
    silent = sorted(family for family, ids in families.items() if not ids & fired)
    assert not silent, f"no sample fires a rule of: {silent}"


def test_misnamed_file_keeps_its_verdict_and_notes_the_extension(reports: dict[str, Report]) -> None:
    report = reports["misnamed_png.jpg"]
    assert report.media_type == "image/png"
    assert "CONTAINER-001" in {f.rule for f in report.findings}
    assert report.verdict == EXPECTED["misnamed_png.jpg"]["verdict"]


def test_checking_leaves_sample_bytes_unchanged() -> None:
    before = {name: _sha256(SAMPLES / name) for name in EXPECTED}
    anchored = make_options(trust_anchors=[SAMPLES / "test-ca.pem"])
    for name in EXPECTED:
        plain = check(SAMPLES / name)
        check(SAMPLES / name, anchored)
        if (SAMPLES / name).stat().st_size:
            assert plain.sha256 == before[name], name
    after = {name: _sha256(SAMPLES / name) for name in EXPECTED}
    assert after == before


def test_cli_trusts_signed_samples_with_the_test_anchor(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))  # no user config file
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "provenance",
            "check",
            "samples_benign/",
            "--format",
            "json",
            "--trust-anchors",
            "samples_benign/test-ca.pem",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr  # the broken samples are errors
    by_name = {Path(entry["path"]).name: entry for entry in json.loads(proc.stdout)}
    assert set(EXPECTED) <= set(by_name)
    assert SIGNED and TAMPERED
    for name in SIGNED:
        credentials = by_name[name]["credentials"]
        assert credentials["state"] == "trusted", name
        assert "test-ca.pem" in (credentials["trust_list"] or ""), name
    for name in TAMPERED:
        credentials = by_name[name]["credentials"]
        assert credentials["state"] == "invalid", name
        failures = [v for v in credentials["validation"] if v["kind"] == "failure"]
        assert any(v["code"] == "assertion.dataHash.mismatch" and v["meaning"].strip() for v in failures), failures
    errors = {name for name, entry in by_name.items() if entry["verdict"] == "error"}
    assert errors & set(EXPECTED) == {name for name, want in EXPECTED.items() if want["verdict"] == "error"}
